//! What the engine does, as data: one [`Effect`] per line of `camp run`'s output and of
//! the daemon's answers, with exactly the fields and strings of the contract
//! (`cli-and-runtime.md`, "Effects").

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A name in an effect (a phase, task, reward, message...): inline when short, as the
/// plan's names almost always are, so every effect copies its names without
/// allocating or touching a shared count (an `Arc<str>` cost two atomic operations
/// per name per effect); a long name is shared.
pub type Name = smol_str::SmolStr;

/// A user's id in an effect: inline when short, so effects about a user copy it
/// without allocating or touching a shared count.
pub type UserId = smol_str::SmolStr;

/// An event's id in an effect: inline when short, as ids usually are, so the effects
/// of an event copy it without allocating.
pub type EventId = smol_str::SmolStr;

/// An instant written the way every effect writes it: `2027-03-01T05:00:00Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(transparent)]
pub struct At(pub DateTime<Utc>);

impl At {
    /// `2027-03-01T05:00:00Z`.
    pub fn text(&self) -> String {
        match self.digits() {
            Some(b) => String::from_utf8_lossy(&b).into_owned(),
            None => self.0.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }
    }

    /// The text in place, for years 0 to 9999, written digit by digit: every effect
    /// carries one, and chrono's general formatter was a tenth of a replay's time. The
    /// date comes from the day count by arithmetic (H. Hinnant's `civil_from_days`),
    /// not chrono's calendar fields, which decode the date once per field.
    pub(crate) fn digits(&self) -> Option<[u8; 20]> {
        let secs = self.0.timestamp();
        let (days, time) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        if !(0..=9999).contains(&year) {
            return None;
        }
        let mut b = *b"0000-00-00T00:00:00Z";
        let mut put = |at: usize, width: usize, mut n: i64| {
            for i in (at..at + width).rev() {
                if let Some(c) = b.get_mut(i) {
                    *c = b'0' + (n % 10) as u8;
                }
                n /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, month);
        put(8, 2, day);
        put(11, 2, time / 3600);
        put(14, 2, time / 60 % 60);
        put(17, 2, time % 60);
        Some(b)
    }
}

impl Serialize for At {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.digits() {
            Some(b) => s.serialize_str(std::str::from_utf8(&b).map_err(serde::ser::Error::custom)?),
            None => s.serialize_str(&self.text()),
        }
    }
}

/// The string a unit variant is written as in effects and reports (`per_user`,
/// `unknown_type`, `holdout`...): the serde name, so it can never drift from the JSON.
pub fn label<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Why a reward was granted or denied (or units used, given or revoked): `task:NAME`,
/// `streak:NAME`, `after:NAME`, `every:NAME`, `award:LEADERBOARD`, `goal:NAME`,
/// `tier:NAME`, `group:NAME`, `raffle:NAME`, `enroll` or `enter`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cause {
    /// A task's `grant`.
    Task(Name),
    /// A task's `streak N days =>`.
    Streak(Name),
    /// A task's `after N =>`.
    After(Name),
    /// A task's `every N =>`.
    Every(Name),
    /// A group's `filled` or `expired` outcome.
    Group(Name),
    /// A raffle's round.
    Raffle(Name),
    /// An award of a leaderboard.
    Award(Name),
    /// A goal reached.
    Goal(Name),
    /// A tier reached.
    Tier(Name),
    /// `grant R on enroll`.
    Enroll,
    /// `grant R on enter`.
    Enter,
    /// `grant R at TIME`.
    At,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Task(n) => write!(f, "task:{n}"),
            Cause::Streak(n) => write!(f, "streak:{n}"),
            Cause::After(n) => write!(f, "after:{n}"),
            Cause::Every(n) => write!(f, "every:{n}"),
            Cause::Group(n) => write!(f, "group:{n}"),
            Cause::Raffle(n) => write!(f, "raffle:{n}"),
            Cause::Award(n) => write!(f, "award:{n}"),
            Cause::Goal(n) => write!(f, "goal:{n}"),
            Cause::Tier(n) => write!(f, "tier:{n}"),
            Cause::Enroll => f.write_str("enroll"),
            Cause::Enter => f.write_str("enter"),
            Cause::At => f.write_str("at"),
        }
    }
}

impl Serialize for Cause {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cause {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let cause = match s.split_once(':') {
            Some(("task", n)) => Cause::Task(n.into()),
            Some(("streak", n)) => Cause::Streak(n.into()),
            Some(("after", n)) => Cause::After(n.into()),
            Some(("every", n)) => Cause::Every(n.into()),
            Some(("group", n)) => Cause::Group(n.into()),
            Some(("raffle", n)) => Cause::Raffle(n.into()),
            Some(("award", n)) => Cause::Award(n.into()),
            Some(("goal", n)) => Cause::Goal(n.into()),
            Some(("tier", n)) => Cause::Tier(n.into()),
            None if s == "enroll" => Cause::Enroll,
            None if s == "enter" => Cause::Enter,
            None if s == "at" => Cause::At,
            _ => {
                return Err(serde::de::Error::custom(format!(
                    "`{s}` is not a grant cause"
                )))
            }
        };
        Ok(cause)
    }
}

/// Why a grant was denied; the checks run in this order and the first that fails wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenyReason {
    /// The participant already holds `per_user` of it (a badge: one).
    PerUser,
    /// The stock is used up.
    Stock,
    /// Its cost would take spend over the budget.
    Budget,
    /// A grant directed at a user the campaign does not know.
    UnknownUser,
    /// A grant directed at a user outside the audience.
    Ineligible,
    /// A grant directed at a user in the control group.
    Holdout,
}

/// Why a send did not go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressReason {
    /// The user already got `cap` messages that local day.
    Cap,
    /// The user is in the control group.
    Holdout,
    /// A send directed at a user the campaign does not know.
    UnknownUser,
    /// A send directed at a user outside the audience.
    Ineligible,
    /// The template failed on this user's values (the effect carries the error).
    Render,
    /// The body rendered to nothing but white space.
    Empty,
    /// It fell due longer ago than the daemon's catch-up window (`camp serve
    /// --catch-up-window`): a send missed while the daemon was down is not sent late.
    Stale,
}

/// What happened to a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupChange {
    /// A participant opened it.
    Open,
    /// A participant joined it.
    Join,
    /// Its last member joined.
    Filled,
    /// Its time ran out (or the campaign ended) before it filled.
    Expired,
}

/// Why an event was rejected: the first that applies, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Not an event type of the campaign.
    UnknownType,
    /// A field missing or of the wrong type.
    BadField,
    /// No such user.
    UnknownUser,
    /// The user is not in the audience.
    Ineligible,
    /// No phase is running.
    Outside,
    /// The id was seen before.
    Duplicate,
}

/// One thing the engine did, at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Effect {
    /// The campaign moved from one phase to the next (`from` null at the start, `to`
    /// null at the end).
    Phase {
        /// When.
        at: At,
        /// The phase that ended.
        from: Option<Name>,
        /// The phase that started.
        to: Option<Name>,
    },
    /// A user became a participant.
    Enroll {
        /// When.
        at: At,
        /// Who.
        user: UserId,
    },
    /// A participant got their variant of an experiment, at enrollment (§11).
    Assign {
        /// When.
        at: At,
        /// Who.
        user: UserId,
        /// The experiment.
        experiment: Name,
        /// Their variant.
        variant: Name,
    },
    /// A task counted a completion.
    Complete {
        /// When.
        at: At,
        /// Who.
        user: UserId,
        /// Which task.
        task: Name,
        /// The event id; null for a birthday, which no event triggers.
        event: Option<EventId>,
    },
    /// A reward was issued.
    Grant {
        /// When.
        at: At,
        /// To whom.
        user: UserId,
        /// Which reward.
        reward: Name,
        /// Why.
        cause: Cause,
        /// The triggering event, if any.
        event: Option<EventId>,
        /// The participant whose completion caused it, when that is someone else.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<UserId>,
        /// For a draw: the reward won (null when nothing was won); absent otherwise.
        #[serde(default, skip_serializing_if = "Option::is_none", with = "drawn")]
        drawn: Option<Option<Name>>,
    },
    /// A grant that would break stock, `per_user` or the budget, not issued.
    Deny {
        /// When.
        at: At,
        /// To whom it would have gone.
        user: UserId,
        /// Which reward.
        reward: Name,
        /// Why it would have been granted.
        cause: Cause,
        /// Why it was not.
        reason: DenyReason,
    },
    /// A participant's tier changed (`from` null at enrollment).
    Tier {
        /// When.
        at: At,
        /// Who.
        user: UserId,
        /// The tier before.
        from: Option<Name>,
        /// The tier now.
        to: Name,
    },
    /// A message went out.
    Send {
        /// When.
        at: At,
        /// To whom.
        user: UserId,
        /// Which message.
        message: Name,
        /// Its channel.
        channel: Name,
        /// The locale rendered.
        locale: Name,
        /// The rendered body.
        body: String,
        /// The rendered subject (email only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
    },
    /// A message that did not go out.
    Suppress {
        /// When.
        at: At,
        /// To whom it would have gone.
        user: UserId,
        /// Which message.
        message: Name,
        /// Why not.
        reason: SuppressReason,
        /// With [`SuppressReason::Render`]: what the template engine said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// Held units (or points) consumed by a task's `use`.
    Use {
        /// When.
        at: At,
        /// Whose.
        user: UserId,
        /// Which reward; null for points.
        reward: Option<Name>,
        /// How many units, or points.
        count: u64,
        /// Why.
        cause: Cause,
        /// The triggering event, if any.
        event: Option<EventId>,
    },
    /// Held units (or points) moved from one user to another by `give`.
    Give {
        /// When.
        at: At,
        /// The giver.
        user: UserId,
        /// The receiver.
        to: UserId,
        /// Which reward; null for points.
        reward: Option<Name>,
        /// How many units, or points.
        count: u64,
        /// Why.
        cause: Cause,
        /// The triggering event, if any.
        event: Option<EventId>,
    },
    /// Units (or points) taken back by `revoke`.
    Revoke {
        /// When.
        at: At,
        /// From whom.
        user: UserId,
        /// Which reward; null for points.
        reward: Option<Name>,
        /// How many units, or points, were taken back.
        count: u64,
        /// Why.
        cause: Cause,
        /// The triggering event, if any.
        event: Option<EventId>,
    },
    /// A group opened, was joined, filled or expired.
    Group {
        /// When.
        at: At,
        /// The group kind.
        group: Name,
        /// The group's key.
        key: Name,
        /// Who opened or joined; null when the group as a whole filled or expired.
        user: Option<UserId>,
        /// What happened.
        change: GroupChange,
    },
    /// An event that was not accepted.
    Reject {
        /// When.
        at: At,
        /// The event id.
        event: EventId,
        /// Why.
        reason: RejectReason,
    },
}

/// `drawn` is present only for draws, and then a reward name or `null`.
mod drawn {
    use super::Name;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Option<Name>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => s.serialize_some(inner),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Name>>, D::Error> {
        Option::<Name>::deserialize(d).map(Some)
    }
}

impl Effect {
    /// When it happened.
    pub fn at(&self) -> DateTime<Utc> {
        self.at_field().0
    }

    /// When it happened, as written.
    pub fn at_field(&self) -> At {
        match self {
            Effect::Phase { at, .. }
            | Effect::Enroll { at, .. }
            | Effect::Complete { at, .. }
            | Effect::Grant { at, .. }
            | Effect::Deny { at, .. }
            | Effect::Tier { at, .. }
            | Effect::Assign { at, .. }
            | Effect::Send { at, .. }
            | Effect::Suppress { at, .. }
            | Effect::Use { at, .. }
            | Effect::Give { at, .. }
            | Effect::Revoke { at, .. }
            | Effect::Group { at, .. }
            | Effect::Reject { at, .. } => *at,
        }
    }

    /// Its `kind`, as written.
    pub fn kind(&self) -> &'static str {
        match self {
            Effect::Phase { .. } => "phase",
            Effect::Enroll { .. } => "enroll",
            Effect::Complete { .. } => "complete",
            Effect::Grant { .. } => "grant",
            Effect::Deny { .. } => "deny",
            Effect::Tier { .. } => "tier",
            Effect::Assign { .. } => "assign",
            Effect::Send { .. } => "send",
            Effect::Suppress { .. } => "suppress",
            Effect::Use { .. } => "use",
            Effect::Give { .. } => "give",
            Effect::Revoke { .. } => "revoke",
            Effect::Group { .. } => "group",
            Effect::Reject { .. } => "reject",
        }
    }

    /// The user it concerns (none for a phase change or a rejected event).
    pub fn user(&self) -> Option<&str> {
        match self {
            Effect::Enroll { user, .. }
            | Effect::Complete { user, .. }
            | Effect::Grant { user, .. }
            | Effect::Deny { user, .. }
            | Effect::Tier { user, .. }
            | Effect::Assign { user, .. }
            | Effect::Send { user, .. }
            | Effect::Suppress { user, .. }
            | Effect::Use { user, .. }
            | Effect::Give { user, .. }
            | Effect::Revoke { user, .. } => Some(user),
            Effect::Group { user, .. } => user.as_deref(),
            Effect::Phase { .. } | Effect::Reject { .. } => None,
        }
    }
}

/// Every effect kind with the fields it can carry besides `kind`, as the contract prints
/// them: what a scenario's expectation may name (a test holds this to [`Effect`]'s JSON).
pub const KINDS: &[(&str, &[&str])] = &[
    ("phase", &["at", "from", "to"]),
    ("enroll", &["at", "user"]),
    ("assign", &["at", "user", "experiment", "variant"]),
    ("complete", &["at", "user", "task", "event"]),
    (
        "grant",
        &["at", "user", "reward", "cause", "event", "by", "drawn"],
    ),
    ("deny", &["at", "user", "reward", "cause", "reason"]),
    ("tier", &["at", "user", "from", "to"]),
    (
        "send",
        &[
            "at", "user", "message", "channel", "locale", "body", "subject",
        ],
    ),
    ("suppress", &["at", "user", "message", "reason", "error"]),
    ("use", &["at", "user", "reward", "count", "cause", "event"]),
    (
        "give",
        &["at", "user", "to", "reward", "count", "cause", "event"],
    ),
    (
        "revoke",
        &["at", "user", "reward", "count", "cause", "event"],
    ),
    ("group", &["at", "group", "key", "user", "change"]),
    ("reject", &["at", "event", "reason"]),
];

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> At {
        At(Utc.with_ymd_and_hms(2027, 3, 1, 5, 0, 0).unwrap())
    }

    fn line(e: &Effect) -> String {
        serde_json::to_string(e).unwrap()
    }

    #[test]
    fn instants_are_written_like_chrono_writes_them() {
        let edges = [
            0i64,
            59,
            951_782_400,
            1_800_000_000,
            1_234_567_891,
            253_402_300_799,
        ];
        let edges = edges
            .into_iter()
            .chain([-62_167_219_200, -62_167_219_201, 253_402_300_800]);
        // Every day of four centuries (leap days, century years) at a varying time.
        let days = (0..146_097i64).map(|d| (d - 10_957) * 86_400 + d * 37 % 86_400);
        for secs in edges.chain(days) {
            let t = DateTime::from_timestamp(secs, 0).unwrap();
            assert_eq!(
                At(t).text(),
                t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "{secs}"
            );
        }
    }

    #[test]
    fn lines_are_exactly_the_contract() {
        assert_eq!(
            line(&Effect::Phase {
                at: at(),
                from: None,
                to: Some("warmup".into())
            }),
            r#"{"kind":"phase","at":"2027-03-01T05:00:00Z","from":null,"to":"warmup"}"#
        );
        assert_eq!(
            line(&Effect::Grant {
                at: at(),
                user: "u1".into(),
                reward: "points_10".into(),
                cause: Cause::Task("daily_checkin".into()),
                event: Some("e1".into()),
                by: None,
                drawn: None,
            }),
            r#"{"kind":"grant","at":"2027-03-01T05:00:00Z","user":"u1","reward":"points_10","cause":"task:daily_checkin","event":"e1"}"#
        );
        assert_eq!(
            line(&Effect::Grant {
                at: at(),
                user: "u1".into(),
                reward: "fu_draw".into(),
                cause: Cause::Enter,
                event: None,
                by: None,
                drawn: Some(None),
            }),
            r#"{"kind":"grant","at":"2027-03-01T05:00:00Z","user":"u1","reward":"fu_draw","cause":"enter","event":null,"drawn":null}"#
        );
        assert_eq!(
            line(&Effect::Deny {
                at: at(),
                user: "u1".into(),
                reward: "c".into(),
                cause: Cause::Streak("t".into()),
                reason: DenyReason::PerUser
            }),
            r#"{"kind":"deny","at":"2027-03-01T05:00:00Z","user":"u1","reward":"c","cause":"streak:t","reason":"per_user"}"#
        );
        assert_eq!(
            line(&Effect::Reject {
                at: at(),
                event: "e9".into(),
                reason: RejectReason::BadField
            }),
            r#"{"kind":"reject","at":"2027-03-01T05:00:00Z","event":"e9","reason":"bad_field"}"#
        );
        assert_eq!(
            line(&Effect::Suppress {
                at: at(),
                user: "u1".into(),
                message: "m".into(),
                reason: SuppressReason::Cap,
                error: None,
            }),
            r#"{"kind":"suppress","at":"2027-03-01T05:00:00Z","user":"u1","message":"m","reason":"cap"}"#
        );
    }

    #[test]
    fn effects_round_trip() {
        let all = vec![
            Effect::Enroll {
                at: at(),
                user: "u".into(),
            },
            Effect::Complete {
                at: at(),
                user: "u".into(),
                task: "t".into(),
                event: Some("e".into()),
            },
            Effect::Grant {
                at: at(),
                user: "u".into(),
                reward: "d".into(),
                cause: Cause::Award("lb".into()),
                event: None,
                by: Some("v".into()),
                drawn: Some(Some("x".into())),
            },
            Effect::Tier {
                at: at(),
                user: "u".into(),
                from: None,
                to: "bronze".into(),
            },
            Effect::Assign {
                at: at(),
                user: "u".into(),
                experiment: "copy".into(),
                variant: "bold".into(),
            },
            Effect::Send {
                at: at(),
                user: "u".into(),
                message: "m".into(),
                channel: "email".into(),
                locale: "en".into(),
                body: "b".into(),
                subject: Some("s".into()),
            },
        ];
        for e in all {
            let back: Effect = serde_json::from_str(&line(&e)).unwrap();
            assert!(line(&e).starts_with(&format!("{{\"kind\":\"{}\"", e.kind())));
            assert_eq!(back, e);
        }
        for c in [
            "task:a", "streak:a", "after:a", "every:a", "award:a", "goal:a", "tier:a", "group:a",
            "raffle:a", "enroll", "enter", "at",
        ] {
            let cause: Cause = serde_json::from_str(&format!("\"{c}\"")).unwrap();
            assert_eq!(cause.to_string(), c);
        }
        assert!(serde_json::from_str::<Cause>("\"bogus\"").is_err());
    }

    /// [`KINDS`] lists exactly the kinds and fields effects are written with.
    #[test]
    fn kinds_name_every_field_effects_carry() {
        let (u, n): (UserId, Name) = ("u".into(), "n".into());
        let full = [
            Effect::Phase {
                at: at(),
                from: Some(n.clone()),
                to: Some(n.clone()),
            },
            Effect::Enroll {
                at: at(),
                user: u.clone(),
            },
            Effect::Assign {
                at: at(),
                user: u.clone(),
                experiment: n.clone(),
                variant: n.clone(),
            },
            Effect::Complete {
                at: at(),
                user: u.clone(),
                task: n.clone(),
                event: Some("e".into()),
            },
            Effect::Grant {
                at: at(),
                user: u.clone(),
                reward: n.clone(),
                cause: Cause::Enroll,
                event: None,
                by: Some(u.clone()),
                drawn: Some(None),
            },
            Effect::Deny {
                at: at(),
                user: u.clone(),
                reward: n.clone(),
                cause: Cause::Enroll,
                reason: DenyReason::Stock,
            },
            Effect::Tier {
                at: at(),
                user: u.clone(),
                from: None,
                to: n.clone(),
            },
            Effect::Send {
                at: at(),
                user: u.clone(),
                message: n.clone(),
                channel: n.clone(),
                locale: n.clone(),
                body: "b".into(),
                subject: Some("s".into()),
            },
            Effect::Suppress {
                at: at(),
                user: u.clone(),
                message: n.clone(),
                reason: SuppressReason::Render,
                error: Some("x".into()),
            },
            Effect::Use {
                at: at(),
                user: u.clone(),
                reward: Some(n.clone()),
                count: 1,
                cause: Cause::Enroll,
                event: None,
            },
            Effect::Give {
                at: at(),
                user: u.clone(),
                to: u.clone(),
                reward: None,
                count: 1,
                cause: Cause::Enroll,
                event: None,
            },
            Effect::Revoke {
                at: at(),
                user: u.clone(),
                reward: None,
                count: 1,
                cause: Cause::Enroll,
                event: None,
            },
            Effect::Group {
                at: at(),
                group: n.clone(),
                key: n.clone(),
                user: None,
                change: GroupChange::Filled,
            },
            Effect::Reject {
                at: at(),
                event: "e".into(),
                reason: RejectReason::Duplicate,
            },
        ];
        assert_eq!(full.len(), KINDS.len());
        for (e, (kind, fields)) in full.iter().zip(KINDS) {
            let v = serde_json::to_value(e).unwrap();
            let obj = v.as_object().unwrap();
            assert_eq!(obj["kind"], *kind);
            let mut have: Vec<&str> = obj
                .keys()
                .map(String::as_str)
                .filter(|k| *k != "kind")
                .collect();
            let mut want = fields.to_vec();
            have.sort_unstable();
            want.sort_unstable();
            assert_eq!(have, want, "{kind}");
        }
    }
}
