//! What the engine is fed: users and events as `camp run` reads them (JSON Lines) and
//! the daemon receives them, typed against the Plan's declarations.
//!
//! A user line: `{"id": "u1", "attrs": {"nickname": "Lin", "level": 6}}`.
//! An event line: `{"id": "e1", "type": "checkin", "user": "u1",
//! "at": "2027-01-26T08:00:00+08:00", "data": {}}`.

use crate::effect::RejectReason;
use crate::state::attrs::Attrs;
use camp_plan::calendar::Calendar;
use camp_plan::literal::{self, DateTimeLit, Number};
use camp_plan::{Attr, Plan, Value, ValueType};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Map;
use std::borrow::Cow;
use std::str::FromStr;

/// A user as read: an id and raw attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserLine {
    /// The user's id.
    pub id: String,
    /// Attributes; only declared ones are kept.
    #[serde(default)]
    pub attrs: Map<String, serde_json::Value>,
}

/// An event as read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventLine {
    /// Unique per campaign; a repeated id is a duplicate.
    pub id: String,
    /// The event type's name.
    #[serde(rename = "type")]
    pub kind: String,
    /// The user's id.
    pub user: String,
    /// When it happened: with any offset, or local to the campaign's time zone.
    #[serde(deserialize_with = "instant", serialize_with = "write_instant")]
    pub at: DateTimeLit,
    /// The fields.
    #[serde(default)]
    pub data: Map<String, serde_json::Value>,
}

/// An event line read in place: the same shape as [`EventLine`], borrowing its strings
/// from the line where it can. Replay reads millions of these, so it allocates only
/// for `data`'s fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventText<'a> {
    /// Unique per campaign.
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    /// The event type's name.
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    /// The user's id.
    #[serde(borrow)]
    pub user: Cow<'a, str>,
    /// When it happened: with any offset, or local to the campaign's time zone.
    #[serde(deserialize_with = "instant")]
    pub at: DateTimeLit,
    /// The fields.
    #[serde(default)]
    pub data: Map<String, serde_json::Value>,
}

/// What the engine reads of an event: borrowed, so any form of event line (owned, read
/// in place, logged by the daemon) feeds it without a copy. The instant is the step's,
/// not the line's.
#[derive(Debug, Clone, Copy)]
pub struct EventRef<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its type's name.
    pub kind: &'a str,
    /// The user's id.
    pub user: &'a str,
    /// The fields as given.
    pub data: &'a Map<String, serde_json::Value>,
    /// The user's number, if the caller already looked it up (see
    /// [`crate::Engine::warm`]). It is checked against `user`: a wrong one costs a
    /// lookup, never the wrong user.
    pub user_number: Option<u32>,
}

impl<'a> From<&'a EventLine> for EventRef<'a> {
    fn from(e: &'a EventLine) -> Self {
        EventRef {
            id: &e.id,
            kind: &e.kind,
            user: &e.user,
            data: &e.data,
            user_number: None,
        }
    }
}

impl<'a> From<&'a EventText<'_>> for EventRef<'a> {
    fn from(e: &'a EventText<'_>) -> Self {
        EventRef {
            id: &e.id,
            kind: &e.kind,
            user: &e.user,
            data: &e.data,
            user_number: None,
        }
    }
}

/// An event's `at` (see [`parse_at`]), for serde.
pub fn instant<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTimeLit, D::Error> {
    let s = <Cow<'de, str>>::deserialize(d)?;
    parse_at(&s).map_err(serde::de::Error::custom)
}

/// An event's `at` as it was read: RFC 3339 with its offset, or local without one.
pub fn write_instant<S: serde::Serializer>(at: &DateTimeLit, s: S) -> Result<S::Ok, S::Error> {
    match at {
        DateTimeLit::Fixed(t) => s.serialize_str(&t.to_rfc3339()),
        DateTimeLit::Local(t) => s.collect_str(&t.format("%Y-%m-%dT%H:%M:%S")),
    }
}

/// An event's `at`: an RFC 3339 instant ([`parse_instant`]), or a date and time without
/// an offset (`2027-01-26T08:00`), local to the campaign's time zone as in `.camp` files.
pub fn parse_at(s: &str) -> Result<DateTimeLit, String> {
    match parse_instant(s) {
        Ok(t) => Ok(DateTimeLit::Fixed(t)),
        Err(e) => literal::parse_datetime(s).map_err(|_| {
            format!("`{s}` is not a date and time like 2027-01-26T08:00:00+08:00, or 2027-01-26T08:00 in the campaign's time zone ({e})")
        }),
    }
}

/// An RFC 3339 instant. Whole seconds in UTC (`2027-03-01T05:00:00Z`, how recorded
/// events are usually written) are read directly; anything else by chrono's dedicated
/// RFC 3339 parser (several times faster than its general one, which serde's default
/// uses), and what only the general parser accepts is still accepted.
pub fn parse_instant(s: &str) -> Result<DateTime<FixedOffset>, chrono::ParseError> {
    if let Some(t) = utc_seconds(s.as_bytes()) {
        return Ok(t);
    }
    DateTime::parse_from_rfc3339(s).or_else(|_| DateTime::<FixedOffset>::from_str(s))
}

/// An event's `at` as a key that orders as instants do: seconds since the epoch, then
/// nanoseconds (a leap second's above a billion, as chrono keeps them); a local time is
/// read in `calendar`'s zone. Whole seconds in UTC are read without building the instant.
pub fn instant_key(s: &str, calendar: &Calendar) -> Result<(i64, u32), String> {
    if let Some(secs) = utc_epoch_seconds(s.as_bytes()) {
        return Ok((secs, 0));
    }
    parse_at(s).map(|at| key(calendar.resolve(at)))
}

/// An instant's ordering key: seconds since the epoch, then nanoseconds.
pub fn key(t: DateTime<Utc>) -> (i64, u32) {
    (t.timestamp(), t.timestamp_subsec_nanos())
}

/// `YYYY-MM-DDTHH:MM:SSZ` exactly, or `None`.
fn utc_seconds(s: &[u8]) -> Option<DateTime<FixedOffset>> {
    DateTime::from_timestamp(utc_epoch_seconds(s)?, 0).map(|t| t.fixed_offset())
}

/// `YYYY-MM-DDTHH:MM:SSZ` exactly, as seconds since the epoch, or `None`.
fn utc_epoch_seconds(s: &[u8]) -> Option<i64> {
    let b: &[u8; 20] = s.try_into().ok()?;
    let seps = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'Z'),
    ];
    if seps.iter().any(|&(i, c)| b.get(i) != Some(&c)) {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        b.get(from..to)?.iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if d < 1 || d > month_days || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
    // `days_from_civil`): eras of 400 years, each year from March.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((mo + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + sec)
}

/// Why a user line's attributes do not fit the declarations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("attribute `{attr}`: {problem}")]
pub struct AttrError {
    /// Which attribute.
    pub attr: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Types a user's attributes: declared attributes are converted (an ill-typed one is
/// an error), undeclared ones are ignored.
pub fn user_attrs(plan: &Plan, raw: &Map<String, serde_json::Value>) -> Result<Attrs, AttrError> {
    let mut out = Vec::with_capacity(plan.attrs.len());
    for a in &plan.attrs {
        let v = match raw.get(&a.name) {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(typed(a, v).map_err(|problem| AttrError {
                attr: a.name.clone(),
                problem,
            })?),
        };
        out.push(v);
    }
    Ok(Attrs::new(&out))
}

/// Types the fields of an event whose type is already resolved to `index`, in the
/// order the plan declares them: `bad_field` when one is missing or ill-typed.
pub fn fields_of(
    plan: &Plan,
    index: u32,
    data: &Map<String, serde_json::Value>,
) -> Result<Vec<Value>, RejectReason> {
    let ty = plan
        .events
        .get(index as usize)
        .ok_or(RejectReason::UnknownType)?;
    let mut fields = Vec::with_capacity(ty.fields.len());
    for f in &ty.fields {
        match data.get(&f.name) {
            None | Some(serde_json::Value::Null) => return Err(RejectReason::BadField),
            Some(v) => fields.push(typed(f, v).map_err(|_| RejectReason::BadField)?),
        }
    }
    Ok(fields)
}

/// A JSON value as the declared type.
fn typed(decl: &Attr, v: &serde_json::Value) -> Result<Value, String> {
    use serde_json::Value as J;
    let want = |what: &str| format!("expected {what}, found {v}");
    Ok(match (decl.ty, v) {
        (ValueType::Int, J::Number(n)) => Value::Int(n.as_i64().ok_or_else(|| {
            if n.is_f64() && n.as_f64().is_some_and(|f| f.fract() == 0.0) {
                // JSON keeps no integers this large: the number read back is a float,
                // so say what is wrong rather than show it.
                "expected a whole number from -9223372036854775808 to 9223372036854775807, \
                 found one out of that range"
                    .to_string()
            } else {
                want("a whole number")
            }
        })?),
        (ValueType::Int, _) => return Err(want("a whole number")),
        (ValueType::Decimal, J::Number(n)) => {
            Value::Decimal(Decimal::from_str(&n.to_string()).map_err(|_| want("a number"))?)
        }
        (ValueType::Decimal, J::String(s)) => {
            Value::Decimal(Decimal::from_str(s).map_err(|_| want("a number"))?)
        }
        (ValueType::Decimal, _) => return Err(want("a number")),
        (ValueType::Bool, J::Bool(b)) => Value::Bool(*b),
        (ValueType::Bool, _) => return Err(want("true or false")),
        (ValueType::String, J::String(s)) => Value::String(s.clone()),
        (ValueType::String, _) => return Err(want("a string")),
        // A user id; whether the campaign knows it is checked where that is known.
        (ValueType::User, J::String(s)) => Value::String(s.clone()),
        (ValueType::User, _) => return Err(want("a user id (a string)")),
        (ValueType::Date, J::String(s)) => Value::Date(
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| want("a date like \"2027-01-20\""))?,
        ),
        (ValueType::Date, _) => return Err(want("a date like \"2027-01-20\"")),
        (ValueType::Datetime, J::String(s)) => Value::Datetime(
            DateTime::parse_from_rfc3339(s)
                .map_err(|_| want("an RFC 3339 date and time"))?
                .with_timezone(&Utc),
        ),
        (ValueType::Datetime, _) => return Err(want("an RFC 3339 date and time")),
        (ValueType::Money, J::String(s)) => {
            Value::Money(literal::parse_money_exact(s).map_err(|e| e.message)?)
        }
        (ValueType::Money, _) => return Err(want("money like \"20 CNY\"")),
        (ValueType::Duration, J::String(s)) => match literal::parse_number(s) {
            Ok(Number::Duration(d)) => Value::Duration(d),
            _ => return Err(want("a duration like \"1d12h\"")),
        },
        (ValueType::Duration, _) => return Err(want("a duration like \"1d12h\"")),
        (ValueType::ListString, J::Array(items)) => Value::List(
            items
                .iter()
                .map(|i| match i {
                    J::String(s) => Ok(Value::String(s.clone())),
                    _ => Err(want("a list of strings")),
                })
                .collect::<Result<_, _>>()?,
        ),
        (ValueType::ListString, _) => return Err(want("a list of strings")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use camp_compiler::{compile_file, MemoryLoader};
    use std::path::Path;

    fn plan() -> Plan {
        let src = r#"
campaign c {
  timezone "Asia/Shanghai"
  start    2027-01-20T00:00
  budget   1_000 CNY
}
user {
  nickname: string
  level:    int
  vip:      bool
  birthday: date
  tags:     list<string>
}
event purchase { amount: money, sku: string }
reward pts = points 10
phase main for 3d {
  task buy {
    on purchase where event.amount >= 10 CNY and user.level > 1 and user.vip and "a" in user.tags
    grant pts
  }
  task bday {
    on birthday
  }
}
"#;
        compile_file(&MemoryLoader::with(&[("c.camp", src)]), Path::new("c.camp"))
            .unwrap()
            .plan
            .unwrap()
    }

    fn line(json: &str) -> EventLine {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn money_in_data_is_exact_and_large_integers_are_not_called_floats() {
        let p = plan();
        let fields = |amount: &str| {
            let data: Map<String, serde_json::Value> =
                serde_json::from_str(&format!(r#"{{"amount": "{amount}", "sku": "a"}}"#)).unwrap();
            fields_of(&p, 0, &data).map(|_| ())
        };
        assert_eq!(fields("12.5 CNY"), Ok(()));
        for bad in ["5 XXX", " 5 CNY", "5  CNY", "0.0000000001 CNY", "0.001 CNY"] {
            assert_eq!(fields(bad), Err(RejectReason::BadField), "{bad}");
        }
        let raw: Map<String, serde_json::Value> =
            serde_json::from_str(r#"{"level": 99999999999999999999}"#).unwrap();
        let e = user_attrs(&p, &raw).unwrap_err();
        assert!(
            !e.problem.contains("e19") && !e.problem.contains("e20"),
            "{}",
            e.problem
        );
        assert!(e.problem.contains("out of that range"), "{}", e.problem);
    }

    /// An event's fields typed as the engine types them, its type resolved by name.
    fn event(p: &Plan, line: &EventLine) -> Result<Vec<Value>, RejectReason> {
        let kind = p
            .events
            .iter()
            .position(|e| e.name == line.kind)
            .ok_or(RejectReason::UnknownType)?;
        fields_of(p, u32::try_from(kind).unwrap(), &line.data)
    }

    #[test]
    fn events_are_typed_or_rejected_with_the_first_reason() {
        let p = plan();
        let purchase = line(
            r#"{"id":"e1","type":"purchase","user":"u1","at":"2027-01-20T09:00:00+08:00","data":{"amount":"20 CNY","sku":"x"}}"#,
        );
        assert_eq!(
            utc().resolve(purchase.at).to_rfc3339(),
            "2027-01-20T01:00:00+00:00"
        );
        let ok = event(&p, &purchase).unwrap();
        assert_eq!(ok.first(), Some(&Value::Money("20 CNY".parse().unwrap())));
        let unknown = line(
            r#"{"id":"e2","type":"refund","user":"u1","at":"2027-01-20T09:00:00Z","data":{}}"#,
        );
        assert_eq!(event(&p, &unknown), Err(RejectReason::UnknownType));
        let missing = line(
            r#"{"id":"e3","type":"purchase","user":"u1","at":"2027-01-20T09:00:00Z","data":{"sku":"x"}}"#,
        );
        assert_eq!(event(&p, &missing), Err(RejectReason::BadField));
        let ill = line(
            r#"{"id":"e4","type":"purchase","user":"u1","at":"2027-01-20T09:00:00Z","data":{"amount":20,"sku":"x"}}"#,
        );
        assert_eq!(event(&p, &ill), Err(RejectReason::BadField));
        let bad_money = line(
            r#"{"id":"e5","type":"purchase","user":"u1","at":"2027-01-20T09:00:00Z","data":{"amount":"20 cny","sku":"x"}}"#,
        );
        assert_eq!(event(&p, &bad_money), Err(RejectReason::BadField));
    }

    /// The calendar of UTC.
    fn utc() -> Calendar {
        Calendar::new(chrono_tz::Tz::UTC)
    }

    #[test]
    fn a_local_at_is_read_in_the_campaign_time_zone() {
        let json = r#"{"id":"e1","type":"x","user":"u","at":"2027-03-01T10:00"}"#;
        let shanghai = Calendar::new(chrono_tz::Tz::Asia__Shanghai);
        assert_eq!(
            shanghai.resolve(line(json).at).to_rfc3339(),
            "2027-03-01T02:00:00+00:00"
        );
        let text: EventText = serde_json::from_str(json).unwrap();
        assert_eq!(text.at, line(json).at);
        assert_eq!(
            instant_key("2027-03-01T10:00:30", &shanghai),
            Ok((1_803_866_430, 0))
        );
        // Written back as read.
        assert!(serde_json::to_string(&line(json))
            .unwrap()
            .contains(r#""at":"2027-03-01T10:00:00""#));
        let bad = parse_at("2027-03-01 10:00").unwrap_err();
        assert!(
            bad.contains("2027-01-26T08:00 in the campaign's time zone"),
            "{bad}"
        );
    }

    #[test]
    fn instants_only_the_general_parser_reads_are_still_read() {
        // An offset without a colon is not RFC 3339, but chrono's general parser (the
        // one serde used before) reads it: still accepted, in owned and in-place lines.
        let json = r#"{"id":"e1","type":"x","user":"u","at":"2027-01-20T09:00:00+0800"}"#;
        assert_eq!(
            utc().resolve(line(json).at).to_rfc3339(),
            "2027-01-20T01:00:00+00:00"
        );
        let text: EventText = serde_json::from_str(json).unwrap();
        assert_eq!(text.at, line(json).at);
        assert!(serde_json::from_str::<EventText>(
            r#"{"id":"e1","type":"x","user":"u","at":"2027-01-20"}"#
        )
        .is_err());
    }

    proptest::proptest! {
        /// Whole seconds in UTC, read directly, read as chrono reads them, and what
        /// chrono refuses (the 30th of February, hour 24) is refused.
        #[test]
        fn instants_read_directly_agree_with_chrono(
            y in 0i64..10_000, mo in 0i64..14, d in 0i64..33, h in 0i64..25, mi in 0i64..61, s in 0i64..61,
        ) {
            let text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z");
            let direct = utc_seconds(text.as_bytes());
            let chrono = DateTime::parse_from_rfc3339(&text).ok().filter(|t| t.timestamp_subsec_nanos() == 0);
            proptest::prop_assert_eq!(direct, chrono, "{}", text);
            proptest::prop_assert_eq!(parse_instant(&text).ok(), DateTime::parse_from_rfc3339(&text).ok());
            let key = |t: DateTime<FixedOffset>| (t.timestamp(), t.timestamp_subsec_nanos());
            proptest::prop_assert_eq!(instant_key(&text, &utc()).ok(), DateTime::parse_from_rfc3339(&text).ok().map(key));
        }
    }

    #[test]
    fn instants_in_other_forms_go_to_chrono() {
        for s in [
            "2027-01-20T09:00:00+08:00",
            "2027-01-20T09:00:00.5Z",
            "2027-01-20t09:00:00z",
            "2027-12-31T23:59:60Z",
        ] {
            assert_eq!(utc_seconds(s.as_bytes()), None, "{s}");
            assert_eq!(
                parse_instant(s).ok(),
                DateTime::parse_from_rfc3339(s).ok(),
                "{s}"
            );
        }
        assert!(parse_instant("2027-02-29T00:00:00Z").is_err());
        assert!(parse_instant("2028-02-29T00:00:00Z").is_ok());
    }

    #[test]
    fn malformed_lines_do_not_parse() {
        assert!(serde_json::from_str::<EventLine>(
            r#"{"id":"e1","type":"x","user":"u","at":"yesterday"}"#
        )
        .is_err());
        assert!(serde_json::from_str::<EventLine>(
            r#"{"id":"e1","type":"x","user":"u","at":"2027-01-20T09:00:00Z","extra":1}"#
        )
        .is_err());
        assert!(serde_json::from_str::<UserLine>(r#"{"attrs":{}}"#).is_err());
    }

    #[test]
    fn user_attributes_are_typed() {
        let p = plan();
        let raw: Map<String, serde_json::Value> =
            serde_json::from_str(r#"{"nickname":"Lin","level":6,"vip":true,"birthday":"1990-05-01","tags":["a","b"],"unknown":1}"#).unwrap();
        let attrs = user_attrs(&p, &raw).unwrap();
        assert_eq!(attrs.values().len(), 5);
        assert_eq!(attrs.get(1), Some(Value::Int(6)));
        let raw: Map<String, serde_json::Value> =
            serde_json::from_str(r#"{"level":"six"}"#).unwrap();
        let err = user_attrs(&p, &raw).unwrap_err();
        assert_eq!(err.attr, "level");
        let raw: Map<String, serde_json::Value> =
            serde_json::from_str(r#"{"nickname":null}"#).unwrap();
        assert_eq!(user_attrs(&p, &raw).unwrap().get(0), None);
    }
}
