//! Effects written as JSON Lines, straight into a byte buffer: the same bytes
//! `serde_json` writes from [`Effect`]'s `Serialize` (a property test holds the two
//! together), without its generic path. A replay writes two or three effects per
//! event; through `serde_json` every key was escaped and every cause formatted anew,
//! a tenth of a replay's time. Keys here are constants, and a string with nothing to
//! escape (ids and names almost always) is copied as it is; any other string goes
//! through `serde_json`.

use crate::effect::{label, At, Cause, Effect, Name};
use serde::Serialize;

/// `,"name":` (names here never need escaping), of a constant length, which the
/// compiler copies without a call.
macro_rules! key {
    ($out:expr, $name:literal) => {
        $out.extend_from_slice(concat!(",\"", $name, "\":").as_bytes())
    };
}

/// Appends `e` as one JSON line (with its newline) to `out`.
pub fn write(e: &Effect, out: &mut Vec<u8>) {
    Writer::default().write(e, out);
}

/// Writes effects one after another, keeping the last instant's text: an event's
/// effects share their instant, and events in a row their day (only the time of day
/// is written anew).
#[derive(Debug, Default)]
pub struct Writer {
    last: Option<(At, Option<[u8; 20]>)>,
    /// A day (since the epoch) and a text of an instant on it.
    day: Option<(i64, [u8; 20])>,
}

impl Writer {
    /// Appends `e` as one JSON line (with its newline) to `out`.
    pub fn write(&mut self, e: &Effect, out: &mut Vec<u8>) {
        let at = e.at_field();
        let digits = match self.last {
            Some((last, digits)) if last == at => digits,
            _ => {
                let digits = self.digits(at);
                self.last = Some((at, digits));
                digits
            }
        };
        line(e, digits, out);
    }

    /// `at`'s text: from the day's when it is on the same day.
    fn digits(&mut self, at: At) -> Option<[u8; 20]> {
        let secs = at.0.timestamp();
        let (day, time) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let mut b = match self.day {
            Some((d, b)) if d == day => b,
            _ => {
                let b = at.digits()?;
                self.day = Some((day, b));
                return Some(b);
            }
        };
        for (at, n) in [(11, time / 3600), (14, time / 60 % 60), (17, time % 60)] {
            if let Some(x) = b.get_mut(at..at + 2) {
                x.copy_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]);
            }
        }
        Some(b)
    }
}

/// `e`'s line, its instant's text given (`None`: outside years 0 to 9999).
fn line(e: &Effect, digits: Option<[u8; 20]>, out: &mut Vec<u8>) {
    // `{"kind":"KIND","at":"…"` with constant lengths, which the compiler copies
    // without a call.
    macro_rules! head {
        ($kind:literal, $at:expr) => {{
            out.extend_from_slice(concat!("{\"kind\":\"", $kind, "\",\"at\":").as_bytes());
            match digits {
                Some(d) => {
                    let mut quoted = [b'"'; 22];
                    if let Some(x) = quoted.get_mut(1..21) {
                        x.copy_from_slice(&d);
                    }
                    out.extend_from_slice(&quoted);
                }
                None => string(out, &$at.text()),
            }
        }};
    }
    match e {
        Effect::Phase { at, from, to } => {
            head!("phase", at);
            key!(out, "from");
            maybe(out, from.as_deref());
            key!(out, "to");
            maybe(out, to.as_deref());
        }
        Effect::Enroll { at, user } => {
            head!("enroll", at);
            key!(out, "user");
            string(out, user);
        }
        Effect::Assign {
            at,
            user,
            experiment,
            variant,
        } => {
            head!("assign", at);
            key!(out, "user");
            string(out, user);
            key!(out, "experiment");
            string(out, experiment);
            key!(out, "variant");
            string(out, variant);
        }
        Effect::Complete {
            at,
            user,
            task,
            event,
        } => {
            head!("complete", at);
            key!(out, "user");
            string(out, user);
            key!(out, "task");
            string(out, task);
            key!(out, "event");
            maybe(out, event.as_deref());
        }
        Effect::Grant {
            at,
            user,
            reward,
            cause,
            event,
            by,
            drawn,
            value,
        } => {
            head!("grant", at);
            granted(out, user, reward, cause);
            key!(out, "event");
            maybe(out, event.as_deref());
            if let Some(by) = by {
                key!(out, "by");
                string(out, by);
            }
            if let Some(drawn) = drawn {
                key!(out, "drawn");
                maybe(out, drawn.as_deref());
            }
            if let Some(value) = value {
                key!(out, "value");
                string(out, &value.to_string());
            }
        }
        Effect::Deny {
            at,
            user,
            reward,
            cause,
            reason,
        } => {
            head!("deny", at);
            granted(out, user, reward, cause);
            key!(out, "reason");
            serialized(out, reason);
        }
        Effect::Tier { at, user, from, to } => {
            head!("tier", at);
            key!(out, "user");
            string(out, user);
            key!(out, "from");
            maybe(out, from.as_deref());
            key!(out, "to");
            string(out, to);
        }
        Effect::Send {
            at,
            user,
            message,
            channel,
            locale,
            body,
            subject,
        } => {
            head!("send", at);
            key!(out, "user");
            string(out, user);
            key!(out, "message");
            string(out, message);
            key!(out, "channel");
            string(out, channel);
            key!(out, "locale");
            string(out, locale);
            key!(out, "body");
            string(out, body);
            if let Some(subject) = subject {
                key!(out, "subject");
                string(out, subject);
            }
        }
        Effect::Suppress {
            at,
            user,
            message,
            reason,
            error,
        } => {
            head!("suppress", at);
            key!(out, "user");
            string(out, user);
            key!(out, "message");
            string(out, message);
            key!(out, "reason");
            serialized(out, reason);
            if let Some(error) = error {
                key!(out, "error");
                string(out, error);
            }
        }
        Effect::Use {
            at,
            user,
            reward,
            count,
            cause: c,
            event,
        }
        | Effect::Revoke {
            at,
            user,
            reward,
            count,
            cause: c,
            event,
        } => {
            if matches!(e, Effect::Use { .. }) {
                head!("use", at);
            } else {
                head!("revoke", at);
            }
            key!(out, "user");
            string(out, user);
            moved(out, reward.as_deref(), *count, c, event.as_deref());
        }
        Effect::Give {
            at,
            user,
            to,
            reward,
            count,
            cause: c,
            event,
        } => {
            head!("give", at);
            key!(out, "user");
            string(out, user);
            key!(out, "to");
            string(out, to);
            moved(out, reward.as_deref(), *count, c, event.as_deref());
        }
        Effect::Group {
            at,
            group,
            key: k,
            user,
            change,
        } => {
            head!("group", at);
            key!(out, "group");
            string(out, group);
            key!(out, "key");
            string(out, k);
            key!(out, "user");
            maybe(out, user.as_deref());
            key!(out, "change");
            serialized(out, change);
        }
        Effect::Reject { at, event, reason } => {
            head!("reject", at);
            key!(out, "event");
            string(out, event);
            key!(out, "reason");
            serialized(out, reason);
        }
    }
    out.extend_from_slice(b"}\n");
}

/// What a grant and a deny share: `user`, `reward`, `cause`.
fn granted(out: &mut Vec<u8>, user: &str, reward: &str, c: &Cause) {
    key!(out, "user");
    string(out, user);
    key!(out, "reward");
    string(out, reward);
    key!(out, "cause");
    cause(out, c);
}

/// What a use, a gift and a revoke share: `reward`, `count`, `cause`, `event`.
fn moved(out: &mut Vec<u8>, reward: Option<&str>, count: u64, c: &Cause, event: Option<&str>) {
    key!(out, "reward");
    maybe(out, reward);
    key!(out, "count");
    out.extend_from_slice(count.to_string().as_bytes());
    key!(out, "cause");
    cause(out, c);
    key!(out, "event");
    maybe(out, event);
}

/// Whether a string is written as it is: nothing in it for JSON to escape.
fn is_plain(s: &str) -> bool {
    crate::replay::plain::special(s.as_bytes()).is_none()
}

/// A JSON string: as it is when nothing in it needs escaping.
fn string(out: &mut Vec<u8>, s: &str) {
    if is_plain(s) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        serialized(out, s);
    }
}

fn maybe(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

fn cause(out: &mut Vec<u8>, c: &Cause) {
    let (prefix, name): (&str, Option<&Name>) = match c {
        Cause::Task(n) => ("task:", Some(n)),
        Cause::Streak(n) => ("streak:", Some(n)),
        Cause::After(n) => ("after:", Some(n)),
        Cause::Every(n) => ("every:", Some(n)),
        Cause::Group(n) => ("group:", Some(n)),
        Cause::Raffle(n) => ("raffle:", Some(n)),
        Cause::Award(n) => ("award:", Some(n)),
        Cause::Goal(n) => ("goal:", Some(n)),
        Cause::Tier(n) => ("tier:", Some(n)),
        Cause::Enroll => ("enroll", None),
        Cause::Enter => ("enter", None),
        Cause::At => ("at", None),
    };
    match name {
        None => string(out, prefix),
        Some(n) if is_plain(n) => {
            out.push(b'"');
            out.extend_from_slice(prefix.as_bytes());
            out.extend_from_slice(n.as_bytes());
            out.push(b'"');
        }
        Some(n) => serialized(out, &format!("{prefix}{n}")),
    }
}

/// Anything else through `serde_json` (reasons, and strings that need escaping).
fn serialized<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    if serde_json::to_writer(&mut *out, value).is_err() {
        // Only a custom `Serialize` can fail; these are strings and unit variants.
        string(out, &label(&value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effect::{DenyReason, EventId, RejectReason, SuppressReason};
    use chrono::DateTime;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9_]{0,12}",
            any::<String>(),
            Just("quote \" back \\ tab \t nul \u{0} del \u{7f} é 中".to_string()),
        ]
    }

    fn name() -> impl Strategy<Value = Name> {
        text().prop_map(Name::from)
    }

    fn cause() -> impl Strategy<Value = Cause> {
        (0u8..12, name()).prop_map(|(k, n)| match k {
            11 => Cause::At,
            8 => Cause::Every(n),
            9 => Cause::Group(n),
            10 => Cause::Raffle(n),
            0 => Cause::Task(n),
            1 => Cause::Streak(n),
            2 => Cause::After(n),
            3 => Cause::Award(n),
            4 => Cause::Goal(n),
            5 => Cause::Tier(n),
            6 => Cause::Enroll,
            _ => Cause::Enter,
        })
    }

    fn effect() -> impl Strategy<Value = Effect> {
        let at = prop_oneof![
            0i64..4_102_444_800,
            Just(1_800_000_000i64),
            Just(1_800_000_001i64),
            Just(1_800_007_259i64),
            Just(-62_135_596_800i64 - 86_400),
            Just(253_402_300_800i64),
        ]
        .prop_map(|s| At(DateTime::from_timestamp(s, 0).unwrap_or_default()));
        (
            0u8..14,
            at,
            text(),
            (name(), name(), name()),
            proptest::option::of(name()),
            proptest::option::of(proptest::option::of(name())),
            cause(),
            proptest::option::of(text()),
        )
            .prop_map(|(k, at, t, (a, b, c), maybe, drawn, cause, subject)| {
                let user = crate::effect::UserId::from(t.as_str());
                match k {
                    0 => Effect::Phase {
                        at,
                        from: maybe,
                        to: Some(a),
                    },
                    1 => Effect::Enroll { at, user },
                    2 => Effect::Complete {
                        at,
                        user,
                        task: a,
                        event: maybe.as_deref().map(EventId::from),
                    },
                    3 => Effect::Grant {
                        at,
                        user,
                        reward: a,
                        cause,
                        event: maybe.as_deref().map(EventId::from),
                        by: maybe.clone(),
                        value: drawn.is_none().then(|| "12.5 CNY".parse().ok()).flatten(),
                        drawn,
                    },
                    4 => Effect::Deny {
                        at,
                        user,
                        reward: a,
                        cause,
                        reason: DenyReason::Budget,
                    },
                    5 => Effect::Tier {
                        at,
                        user,
                        from: maybe,
                        to: a,
                    },
                    6 => Effect::Send {
                        at,
                        user,
                        message: a,
                        channel: b,
                        locale: c,
                        body: t,
                        subject,
                    },
                    7 => Effect::Suppress {
                        at,
                        user,
                        message: a,
                        reason: SuppressReason::Render,
                        error: subject,
                    },
                    9 => Effect::Use {
                        at,
                        user,
                        reward: maybe,
                        count: t.len() as u64,
                        cause,
                        event: Some(b),
                    },
                    10 => Effect::Give {
                        at,
                        user,
                        to: a,
                        reward: maybe,
                        count: u64::MAX,
                        cause,
                        event: None,
                    },
                    11 => Effect::Revoke {
                        at,
                        user,
                        reward: maybe.clone(),
                        count: 0,
                        cause,
                        event: maybe,
                    },
                    13 => Effect::Assign {
                        at,
                        user,
                        experiment: a,
                        variant: b,
                    },
                    12 => Effect::Group {
                        at,
                        group: a,
                        key: b,
                        user: maybe,
                        change: crate::effect::GroupChange::Join,
                    },
                    _ => Effect::Reject {
                        at,
                        event: EventId::from(&*a),
                        reason: RejectReason::UnknownUser,
                    },
                }
            })
    }

    proptest! {
        /// Byte for byte what `serde_json` writes, whatever the strings hold, one effect
        /// after another through one writer (which keeps the last instant's text).
        #[test]
        fn writes_what_serde_json_writes(effects in prop::collection::vec(effect(), 1..6)) {
            let mut writer = Writer::default();
            let (mut fast, mut want) = (Vec::new(), Vec::new());
            for e in &effects {
                writer.write(e, &mut fast);
                serde_json::to_writer(&mut want, e).unwrap_or_default();
                want.push(b'\n');
            }
            prop_assert_eq!(String::from_utf8_lossy(&fast), String::from_utf8_lossy(&want));
        }
    }
}
