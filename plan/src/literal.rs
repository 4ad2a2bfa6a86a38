//! Values and their written forms: numbers, percents, money, durations, dates and
//! times. The language (`.camp` literals, where a malformed one is an E0002) and the
//! runtime (event and user data, `"5 SGD"`) read them with the same functions.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An amount in an ISO 4217 currency. In JSON it is the string `"20 CNY"`, as in
/// templates and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Money {
    /// The amount.
    pub amount: Decimal,
    /// The currency.
    pub currency: Currency,
}

impl fmt::Display for Money {
    /// `20 CNY`, `4.99 USD`: the amount without trailing zeros, then the code.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount.normalize(), self.currency)
    }
}

impl Money {
    /// One of `recipients` equal shares of this amount, rounded down to the currency's
    /// minor unit (the remainder is not paid out); zero for no recipients.
    pub fn share(&self, recipients: u64) -> Money {
        let amount = match recipients {
            0 => Decimal::ZERO,
            n => self
                .amount
                .checked_div(Decimal::from(n))
                .unwrap_or(Decimal::ZERO)
                .round_dp_with_strategy(self.currency.minor_digits(), RoundingStrategy::ToZero),
        };
        Money {
            amount,
            currency: self.currency,
        }
    }
}

impl std::str::FromStr for Money {
    type Err = LiteralError;

    /// Parses `"20 CNY"` (the amount, one space, the code).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().split_once(' ') {
            Some((n, code)) => parse_money(n.trim(), code.trim()),
            None => Err(LiteralError::new(
                format!("`{s}` is not an amount of money"),
                Some("write it like `20 CNY`"),
            )),
        }
    }
}

impl From<Money> for String {
    fn from(m: Money) -> String {
        m.to_string()
    }
}

impl TryFrom<String> for Money {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse::<Money>().map_err(|e| e.message)
    }
}

impl schemars::JsonSchema for Money {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Money".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^-?[0-9]+(\\.[0-9]+)? [A-Z]{3}$",
            "description": "An amount and an ISO 4217 currency code, like \"20 CNY\""
        })
    }
}

impl schemars::JsonSchema for Currency {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Currency".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "pattern": "^[A-Z]{3}$" })
    }
}

/// A three-letter ISO 4217 currency code, known to be valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// The code if it is an ISO 4217 currency.
    pub fn new(code: &str) -> Option<Currency> {
        iso_currency::Currency::from_code(code)?;
        let b = code.as_bytes();
        match b {
            [a, b, c] => Some(Currency([*a, *b, *c])),
            _ => None,
        }
    }

    /// The code.
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// How many decimal places its minor unit has (ISO 4217: 2 for CNY, USD and EUR,
    /// 0 for JPY and KRW, 3 for KWD); 0 for a code without a minor unit (`XAU`), whose
    /// amounts are counted in whole units.
    pub fn minor_digits(&self) -> u32 {
        iso_currency::Currency::from_code(self.code())
            .and_then(|c| c.exponent())
            .map_or(0, u32::from)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Currency::new(&s).ok_or_else(|| format!("unknown currency code `{s}`"))
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.code().to_string()
    }
}

/// A duration written `<n>w <n>d <n>h <n>m` together (`1d12h`).
///
/// Weeks and days are calendar days in the campaign time zone; hours and minutes are
/// elapsed time, so the parts are kept apart.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Duration {
    /// Calendar days (weeks folded in as 7 days).
    pub days: u32,
    /// Elapsed minutes (hours folded in as 60 minutes).
    pub minutes: u32,
}

impl Duration {
    /// Whether the duration is zero.
    pub fn is_zero(&self) -> bool {
        self.days == 0 && self.minutes == 0
    }

    /// An upper bound of the length in hours, counting a calendar day as 25 hours.
    pub fn max_hours(&self) -> u64 {
        u64::from(self.days) * 25 + u64::from(self.minutes).div_ceil(60)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0m");
        }
        if self.days > 0 {
            write!(f, "{}d", self.days)?;
        }
        let (h, m) = (self.minutes / 60, self.minutes % 60);
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if m > 0 {
            write!(f, "{m}m")?;
        }
        Ok(())
    }
}

/// A date and time as written: local to the campaign time zone, or with an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DateTimeLit {
    /// `2027-01-20T09:00`: in the campaign's time zone.
    Local(NaiveDateTime),
    /// `2027-01-20T09:00Z` or `...+08:00`.
    Fixed(DateTime<FixedOffset>),
}

/// What a number-like token turned out to be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// `50_000`.
    Int(i64),
    /// `12.5`.
    Decimal(Decimal),
    /// `15%` (the 15).
    Percent(Decimal),
    /// `1d12h`.
    Duration(Duration),
}

/// Why a literal is invalid: the message of an E0002 and an optional hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiteralError {
    /// What is wrong, in the user's words.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

impl LiteralError {
    fn new(message: impl Into<String>, help: Option<&str>) -> Self {
        LiteralError {
            message: message.into(),
            help: help.map(str::to_string),
        }
    }
}

fn digits_ok(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        && !s.starts_with('_')
        && !s.ends_with('_')
        && !s.contains("__")
}

fn plain_decimal(s: &str) -> Option<Decimal> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    if !digits_ok(int) {
        return None;
    }
    let mut text: String = int.chars().filter(|c| *c != '_').collect();
    if let Some(f) = frac {
        if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.push('.');
        text.push_str(f);
    }
    Decimal::from_str(&text).ok()
}

/// Classifies a number-like token (`50_000`, `12.5`, `15%`, `1d12h`).
pub fn parse_number(text: &str) -> Result<Number, LiteralError> {
    if let Some(body) = text.strip_suffix('%') {
        return plain_decimal(body).map(Number::Percent).ok_or_else(|| {
            LiteralError::new(
                format!("`{text}` is not a valid percent"),
                Some("write a percent as a number and `%`, like `15%` or `0.5%`"),
            )
        });
    }
    if digits_ok(text) {
        let clean: String = text.chars().filter(|c| *c != '_').collect();
        return clean.parse::<i64>().map(Number::Int).map_err(|_| {
            LiteralError::new(
                format!("`{text}` is too large"),
                Some("whole numbers go up to 9_223_372_036_854_775_807"),
            )
        });
    }
    if text.contains('.') {
        return plain_decimal(text).map(Number::Decimal).ok_or_else(|| {
            LiteralError::new(
                format!("`{text}` is not a valid number"),
                Some("write decimals like `12.5`"),
            )
        });
    }
    parse_duration(text).map(Number::Duration)
}

/// Parses `<n>w<n>d<n>h<n>m`: each unit at most once, largest first.
fn parse_duration(text: &str) -> Result<Duration, LiteralError> {
    let bad = |why: &str| {
        LiteralError::new(
            format!("`{text}` is not a valid duration: {why}"),
            Some("write durations as numbers with units w, d, h, m, largest first: `14d`, `1d12h`, `30m`"),
        )
    };
    let units = ['w', 'd', 'h', 'm'];
    let mut last_unit: Option<usize> = None;
    let mut weeks: u64 = 0;
    let mut days: u64 = 0;
    let mut hours: u64 = 0;
    let mut minutes: u64 = 0;
    let mut num = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        if c == '_' {
            continue;
        }
        let Some(idx) = units.iter().position(|u| *u == c) else {
            return Err(bad(&format!("`{c}` is not a unit")));
        };
        if num.is_empty() {
            return Err(bad(&format!("`{c}` needs a number before it")));
        }
        if last_unit.is_some_and(|l| l >= idx) {
            return Err(bad("units must each appear once, largest first"));
        }
        last_unit = Some(idx);
        let n: u64 = num.parse().map_err(|_| bad("the number is too large"))?;
        num.clear();
        match idx {
            0 => weeks = n,
            1 => days = n,
            2 => hours = n,
            _ => minutes = n,
        }
    }
    if !num.is_empty() {
        return Err(bad("the last number has no unit"));
    }
    let total_days = weeks.checked_mul(7).and_then(|w| w.checked_add(days));
    let total_minutes = hours.checked_mul(60).and_then(|h| h.checked_add(minutes));
    match (
        total_days.and_then(|d| u32::try_from(d).ok()),
        total_minutes.and_then(|m| u32::try_from(m).ok()),
    ) {
        (Some(days), Some(minutes)) if days <= 36_600 => Ok(Duration { days, minutes }),
        _ => Err(bad("it is too long")),
    }
}

/// Reads money as runtime data gives it (event fields, user attributes): exactly
/// `<amount> <CODE>`, one space, no other; the amount plain digits with an optional
/// `-` and decimals, at most as many decimals as the currency has minor digits
/// (`4.99 USD`, `500 JPY`); the code a currency with a minor unit (not `XXX`, `XAU`).
/// Nothing is rounded or trimmed: `" 5 SGD"` and `"0.001 USD"` are refused.
pub fn parse_money_exact(text: &str) -> Result<Money, LiteralError> {
    let bad = |why: &str| {
        LiteralError::new(
            format!("`{text}` is not an amount of money: {why}"),
            Some("write it like `4.99 USD`: the amount, one space, the currency code"),
        )
    };
    let (amount, code) = text
        .split_once(' ')
        .ok_or_else(|| bad("no space before the currency code"))?;
    let digits = amount.strip_prefix('-').unwrap_or(amount);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let plain = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !plain(int) || !plain(frac) || (digits.contains('.') && frac.is_empty()) {
        return Err(bad("the amount is not a plain number"));
    }
    let currency = Currency::new(code).ok_or_else(|| bad("not a currency code"))?;
    let minor = iso_currency::Currency::from_code(code)
        .and_then(|c| c.exponent())
        .ok_or_else(|| bad("that code is not a currency with a minor unit"))?;
    if frac.len() > usize::from(minor) {
        return Err(bad(&format!(
            "{code} has {minor} decimal place(s), the amount has {}",
            frac.len()
        )));
    }
    let amount = Decimal::from_str(amount).map_err(|_| bad("the amount is too large"))?;
    Ok(Money { amount, currency })
}

/// Validates a money literal's number and currency code.
pub fn parse_money(number: &str, code: &str) -> Result<Money, LiteralError> {
    let amount = match parse_number(number)? {
        Number::Int(i) => Decimal::from(i),
        Number::Decimal(d) => d,
        _ => {
            return Err(LiteralError::new(
                format!("`{number} {code}` is not a valid amount of money"),
                Some("write money as a number and a currency code, like `20 CNY`"),
            ))
        }
    };
    match Currency::new(code) {
        Some(currency) => Ok(Money { amount, currency }),
        None => {
            let upper = code.to_ascii_uppercase();
            let help = if Currency::new(&upper).is_some() {
                format!("currency codes are written in capitals: `{number} {upper}`")
            } else {
                "use an ISO 4217 currency code such as CNY, USD or EUR".to_string()
            };
            Err(LiteralError {
                message: format!("`{code}` is not a currency code"),
                help: Some(help),
            })
        }
    }
}

fn split_nums(s: &str, sep: char) -> Option<Vec<u32>> {
    s.split(sep).map(|p| p.parse::<u32>().ok()).collect()
}

/// Validates `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<NaiveDate, LiteralError> {
    let bad = || {
        LiteralError::new(
            format!("`{text}` is not a valid date"),
            Some("dates are written YYYY-MM-DD, like `2027-01-20`"),
        )
    };
    let parts = split_nums(text, '-').ok_or_else(bad)?;
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    if !(1..=12).contains(m) {
        return Err(LiteralError::new(
            format!("`{text}` is not a valid date: there is no month {m}"),
            Some("months go from 01 to 12"),
        ));
    }
    let y = i32::try_from(*y).map_err(|_| bad())?;
    NaiveDate::from_ymd_opt(y, *m, *d).ok_or_else(|| {
        LiteralError::new(
            format!("`{text}` is not a valid date: that month has no day {d}"),
            None,
        )
    })
}

/// Validates `HH:MM` or `HH:MM:SS`.
pub fn parse_time(text: &str) -> Result<NaiveTime, LiteralError> {
    let bad = |why: String| {
        LiteralError::new(
            format!("`{text}` is not a valid time of day{why}"),
            Some("times are written HH:MM from 00:00 to 23:59"),
        )
    };
    let parts = split_nums(text, ':').ok_or_else(|| bad(String::new()))?;
    let (h, m, s) = match parts.as_slice() {
        [h, m] => (*h, *m, 0),
        [h, m, s] => (*h, *m, *s),
        _ => return Err(bad(String::new())),
    };
    if h > 23 {
        return Err(bad(format!(": there is no hour {h}")));
    }
    if m > 59 || s > 59 {
        return Err(bad(": minutes and seconds go up to 59".to_string()));
    }
    NaiveTime::from_hms_opt(h, m, s).ok_or_else(|| bad(String::new()))
}

/// Validates `YYYY-MM-DDTHH:MM[:SS]` with an optional `Z` or `±HH:MM`.
pub fn parse_datetime(text: &str) -> Result<DateTimeLit, LiteralError> {
    let Some((date, rest)) = text.split_once('T') else {
        return Err(LiteralError::new(
            format!("`{text}` is not a valid date and time"),
            None,
        ));
    };
    let date = parse_date(date).map_err(|e| LiteralError {
        message: format!(
            "`{text}` is not a valid date and time: {}",
            e.message.split(": ").nth(1).unwrap_or("impossible date")
        ),
        help: e.help,
    })?;
    let (time, offset) = if let Some(t) = rest.strip_suffix('Z') {
        (t, Some(0))
    } else if let Some(pos) = rest.find(['+', '-']) {
        let (t, off) = rest.split_at(pos);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let hm = off.get(1..).and_then(|o| split_nums(o, ':'));
        match hm.as_deref() {
            Some([h, m]) if *h <= 14 && *m <= 59 => (
                t,
                Some(sign * (i32::try_from(*h * 3600 + *m * 60).unwrap_or(0))),
            ),
            _ => {
                return Err(LiteralError::new(
                    format!("`{text}` has an invalid offset"),
                    Some("offsets are written `Z`, `+08:00` or `-05:00`"),
                ))
            }
        }
    } else {
        (rest, None)
    };
    let time = parse_time(time)?;
    let naive = date.and_time(time);
    match offset {
        None => Ok(DateTimeLit::Local(naive)),
        Some(secs) => {
            let off = FixedOffset::east_opt(secs).ok_or_else(|| {
                LiteralError::new(format!("`{text}` has an invalid offset"), None)
            })?;
            naive
                .and_local_timezone(off)
                .single()
                .map(DateTimeLit::Fixed)
                .ok_or_else(|| {
                    LiteralError::new(format!("`{text}` is not a valid date and time"), None)
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_round_down_to_the_minor_unit() {
        let m = |s: &str| Money::from_str(s).unwrap();
        assert_eq!(m("100 CNY").share(3).to_string(), "33.33 CNY");
        assert_eq!(m("100 JPY").share(3).to_string(), "33 JPY");
        assert_eq!(m("1 KWD").share(3).to_string(), "0.333 KWD");
        assert_eq!(m("5_000_000 CNY").share(7).to_string(), "714285.71 CNY");
        assert_eq!(m("0.05 USD").share(10).to_string(), "0 USD");
        assert_eq!(m("10 USD").share(1).to_string(), "10 USD");
        assert_eq!(m("10 USD").share(0).to_string(), "0 USD");
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("50_000"), Ok(Number::Int(50_000)));
        assert_eq!(
            parse_number("12.5"),
            Ok(Number::Decimal(Decimal::new(125, 1)))
        );
        assert_eq!(
            parse_number("0.5%"),
            Ok(Number::Percent(Decimal::new(5, 1)))
        );
        assert_eq!(
            parse_number("1d12h"),
            Ok(Number::Duration(Duration {
                days: 1,
                minutes: 720
            }))
        );
        assert_eq!(
            parse_number("2w"),
            Ok(Number::Duration(Duration {
                days: 14,
                minutes: 0
            }))
        );
        assert!(parse_number("3x").is_err());
        assert!(parse_number("12h1d").is_err());
        assert!(parse_number("1.2.3").is_err());
        assert!(parse_number("5__0").is_err());
    }

    #[test]
    fn dates_and_times() {
        assert!(parse_date("2027-02-30").is_err());
        assert!(parse_date("2028-02-29").is_ok());
        assert!(parse_time("25:00").is_err());
        assert!(parse_time("20:00").is_ok());
        assert!(matches!(
            parse_datetime("2027-01-20T09:00"),
            Ok(DateTimeLit::Local(_))
        ));
        assert!(matches!(
            parse_datetime("2027-01-20T09:00+08:00"),
            Ok(DateTimeLit::Fixed(_))
        ));
        assert!(parse_datetime("2027-01-20T24:00").is_err());
    }

    #[test]
    fn money_as_data_is_exact() {
        for ok in ["5 SGD", "4.99 USD", "-3.5 EUR", "500 JPY", "0.001 BHD"] {
            assert_eq!(parse_money_exact(ok).unwrap().to_string(), ok, "{ok}");
        }
        for bad in [
            "5 XXX",
            " 5 SGD",
            "5  SGD",
            "5 SGD ",
            "0.0000000001 SGD",
            "0.001 USD",
            "1.5 JPY",
            "5 sgd",
            "5",
            "+5 SGD",
            "5. SGD",
            ".5 SGD",
            "1e3 SGD",
            "1_000 SGD",
            "99999999999999999999999999999999 SGD",
        ] {
            assert!(parse_money_exact(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn money() {
        let m = parse_money("4.990", "USD");
        assert_eq!(m.map(|m| m.to_string()), Ok("4.99 USD".to_string()));
        let err = parse_money("20", "cny");
        assert!(err.is_err_and(|e| e.help.is_some_and(|h| h.contains("20 CNY"))));
        assert!(parse_money("20", "XQZ").is_err());
    }
}
