//! Where sends go: `--sink file:PATH` (JSON Lines, fsynced) or `--sink webhook:URL` (an
//! HTTP POST per send with an `Idempotency-Key` header). A sink reports each attempt;
//! the outbox decides about retries.

use crate::store::Pending;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// Which sink, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkSpec {
    /// Append JSON Lines to a file.
    File(PathBuf),
    /// POST each send to a URL.
    Webhook(String),
}

impl std::str::FromStr for SinkSpec {
    type Err = String;

    /// `file:PATH` or `webhook:URL` (an `http://` or `https://` URL).
    fn from_str(s: &str) -> Result<SinkSpec, String> {
        if let Some(path) = s.strip_prefix("file:") {
            if path.is_empty() {
                return Err("`file:` needs a path, like file:sends.jsonl".into());
            }
            return Ok(SinkSpec::File(PathBuf::from(path)));
        }
        if let Some(url) = s.strip_prefix("webhook:") {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!(
                    "`{}` is not an http:// or https:// URL (webhook:https://example.com/hook)",
                    redact(url)
                ));
            }
            return Ok(SinkSpec::Webhook(url.to_string()));
        }
        Err(format!("`{s}` is not a sink: use file:PATH or webhook:URL"))
    }
}

/// Why one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What went wrong.
    pub error: String,
    /// Whether trying again cannot help (a 4xx other than 408 and 429).
    pub permanent: bool,
}

/// Delivers sends.
pub trait Sink: Send {
    /// Attempts sends once each, in order, while `go_on()` says so; returns one result
    /// per send attempted (a prefix of `sends`). A sink may also stop early after a
    /// failure that the sends after it would likely meet too (a receiver that is down);
    /// those are left for the next round.
    fn deliver(&mut self, sends: &[Pending], go_on: &dyn Fn() -> bool) -> Vec<Result<(), Failure>>;
}

/// `url` with its credentials hidden: the userinfo (`user:password@`) and every query
/// value become `***`. What logs, errors and dead letters show of a webhook.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_string(),
    };
    let (tail, fragment) = match tail.split_once('#') {
        Some((t, f)) => (t, Some(f)),
        None => (tail, None),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) => format!("{k}=***"),
                    None => pair.to_string(),
                })
                .collect();
            format!("{path}?{}", pairs.join("&"))
        }
        None => tail.to_string(),
    };
    let mut out = if scheme.is_empty() {
        String::new()
    } else {
        format!("{scheme}://")
    };
    out.push_str(&authority);
    out.push_str(&tail);
    if fragment.is_some() {
        out.push_str("#***");
    }
    out
}

/// The secret parts of `url` (its userinfo and query values, as written and decoded),
/// to scrub from any text that might quote them.
fn secrets(url: &str) -> Vec<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let mut found = Vec::new();
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        found.push(userinfo.to_string());
        found.extend(userinfo.split(':').map(str::to_string));
    }
    let query = tail.split('#').next().unwrap_or_default();
    if let Some((_, query)) = query.split_once('?') {
        found.extend(
            query
                .split('&')
                .filter_map(|p| p.split_once('=').map(|(_, v)| v.to_string())),
        );
    }
    found.retain(|s| !s.is_empty());
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found
}

/// Opens the sink a spec names.
pub fn open(spec: &SinkSpec) -> Result<Box<dyn Sink>, String> {
    match spec {
        SinkSpec::File(path) => Ok(Box::new(FileSink::open(path.clone())?)),
        SinkSpec::Webhook(url) => Ok(Box::new(WebhookSink::new(url.clone()))),
    }
}

/// JSON Lines appended to a file; a batch is synced to disk before it counts as
/// delivered.
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    file: File,
}

impl FileSink {
    /// Opens (creating) the file for appending.
    pub fn open(path: PathBuf) -> Result<FileSink, String> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("cannot open the sink {}: {e}", path.display()))?;
        Ok(FileSink { path, file })
    }
}

impl Sink for FileSink {
    /// Writes the whole batch at once (one sync), whatever `go_on` says.
    fn deliver(
        &mut self,
        sends: &[Pending],
        _go_on: &dyn Fn() -> bool,
    ) -> Vec<Result<(), Failure>> {
        let mut text = String::new();
        for s in sends {
            text.push_str(&s.body);
            text.push('\n');
        }
        let written = self
            .file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_data());
        let outcome = written.map_err(|e| Failure {
            error: format!("{}: {e}", self.path.display()),
            permanent: false,
        });
        sends.iter().map(|_| outcome.clone()).collect()
    }
}

/// One POST per send; the body is the send as JSON, the `Idempotency-Key` header its key.
#[derive(Debug)]
pub struct WebhookSink {
    url: String,
    /// The URL as errors and logs show it (credentials hidden).
    shown: String,
    /// Its secret parts, scrubbed from the client's error texts.
    secrets: Vec<String>,
    agent: ureq::Agent,
}

/// How long one webhook request may take.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

impl WebhookSink {
    /// A client with a 10 s timeout that treats every status as a result, not an error.
    pub fn new(url: String) -> WebhookSink {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(WEBHOOK_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .new_agent();
        WebhookSink {
            shown: redact(&url),
            secrets: secrets(&url),
            url,
            agent,
        }
    }

    fn scrub(&self, text: &str) -> String {
        let mut text = text.replace(&self.url, &self.shown);
        for s in &self.secrets {
            text = text.replace(s.as_str(), "***");
        }
        text
    }

    fn post(&self, s: &Pending) -> Result<(), Failure> {
        let response = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", &s.key)
            .send(s.body.as_str());
        match response {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => {
                let code = r.status().as_u16();
                Err(Failure {
                    error: format!("{} answered {}", self.shown, r.status()),
                    permanent: (400..500).contains(&code) && code != 408 && code != 429,
                })
            }
            Err(e) => Err(Failure {
                error: format!("{}: {}", self.shown, self.scrub(&e.to_string())),
                permanent: false,
            }),
        }
    }
}

impl Sink for WebhookSink {
    /// Stops at the first failure that is not permanent: the receiver is down or
    /// overloaded, and the sends after it would wait for a timeout each.
    fn deliver(&mut self, sends: &[Pending], go_on: &dyn Fn() -> bool) -> Vec<Result<(), Failure>> {
        let mut results = Vec::with_capacity(sends.len());
        for s in sends {
            if !go_on() {
                break;
            }
            let result = self.post(s);
            let transient = result.as_ref().is_err_and(|f| !f.permanent);
            results.push(result);
            if transient {
                break;
            }
        }
        results
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_specs_parse_or_explain() {
        assert_eq!(
            "file:out.jsonl".parse::<SinkSpec>(),
            Ok(SinkSpec::File(PathBuf::from("out.jsonl")))
        );
        assert_eq!(
            "webhook:https://example.com/h".parse::<SinkSpec>(),
            Ok(SinkSpec::Webhook("https://example.com/h".into()))
        );
        assert!("webhook:ftp://x".parse::<SinkSpec>().is_err());
        assert!("file:".parse::<SinkSpec>().is_err());
        assert!("kafka:topic".parse::<SinkSpec>().is_err());
    }

    #[test]
    fn webhook_credentials_never_show() {
        let url = "http://user:S3CRET@127.0.0.1:9/hook?token=T0KEN&x=1#frag";
        let shown = redact(url);
        assert_eq!(shown, "http://***@127.0.0.1:9/hook?token=***&x=***#***");
        assert_eq!(redact("https://example.com/h"), "https://example.com/h");
        let sink = WebhookSink::new(url.into());
        let pending = Pending {
            seq: 1,
            key: "k".into(),
            body: "{}".into(),
            attempts: 0,
        };
        let failure = sink.post(&pending).unwrap_err();
        assert!(!failure.permanent);
        for secret in ["S3CRET", "T0KEN", "user:"] {
            assert!(!failure.error.contains(secret), "{}", failure.error);
        }
        assert!(failure.error.starts_with("http://***@127.0.0.1:9/hook"));
        let scrubbed = sink.scrub(&format!("bad uri {url}; S3CRET"));
        assert!(
            !scrubbed.contains("S3CRET") && !scrubbed.contains("T0KEN"),
            "{scrubbed}"
        );
        let bad = "webhook:ftp://u:S3CRET@h/?token=T0KEN"
            .parse::<SinkSpec>()
            .unwrap_err();
        assert!(!bad.contains("S3CRET") && !bad.contains("T0KEN"), "{bad}");
    }
}
