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
                    "`{url}` is not an http:// or https:// URL (webhook:https://example.com/hook)"
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
    /// Attempts each send once; one result per send, in order.
    fn deliver(&mut self, sends: &[Pending]) -> Vec<Result<(), Failure>>;
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
    fn deliver(&mut self, sends: &[Pending]) -> Vec<Result<(), Failure>> {
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
    agent: ureq::Agent,
}

impl WebhookSink {
    /// A client with a 10 s timeout that treats every status as a result, not an error.
    pub fn new(url: String) -> WebhookSink {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .build()
            .new_agent();
        WebhookSink { url, agent }
    }
}

impl Sink for WebhookSink {
    fn deliver(&mut self, sends: &[Pending]) -> Vec<Result<(), Failure>> {
        sends
            .iter()
            .map(|s| {
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
                            error: format!("{} answered {}", self.url, r.status()),
                            permanent: (400..500).contains(&code) && code != 408 && code != 429,
                        })
                    }
                    Err(e) => Err(Failure {
                        error: format!("{}: {e}", self.url),
                        permanent: false,
                    }),
                }
            })
            .collect()
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
}
