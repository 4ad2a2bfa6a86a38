//! A user's declared attributes, packed: every known user carries them, so they are one
//! small byte string (a tag byte per attribute, then its value) instead of a list of
//! 32-byte values each with its own allocations. `N123456` and a level take 14 bytes,
//! where the unpacked form took about a hundred.
//!
//! Values are decoded when a condition, a template or a birthday check reads them; those
//! are rare next to the events that never look.

use camp_plan::literal::{Currency, Duration, Money};
use camp_plan::Value;
use chrono::{DateTime, NaiveDate, NaiveTime, Timelike};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thin_vec::ThinVec;

/// Declared attributes by attribute index; `None` where one is not given (or `null`).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Attrs(ThinVec<u8>);

mod tag {
    pub const NONE: u8 = 0;
    pub const INT: u8 = 1;
    pub const DECIMAL: u8 = 2;
    pub const PERCENT: u8 = 3;
    pub const MONEY: u8 = 4;
    pub const STRING: u8 = 5;
    pub const FALSE: u8 = 6;
    pub const TRUE: u8 = 7;
    pub const DATE: u8 = 8;
    pub const DATETIME: u8 = 9;
    pub const TIME: u8 = 10;
    pub const DURATION: u8 = 11;
    pub const LIST: u8 = 12;
}

impl Attrs {
    /// Packs attribute values, by attribute index.
    pub fn new(values: &[Option<Value>]) -> Self {
        let mut out = Vec::with_capacity(values.len() * 4);
        for v in values {
            match v {
                None => out.push(tag::NONE),
                Some(v) => put(&mut out, v),
            }
        }
        Attrs(ThinVec::from(out))
    }

    /// The packed values, borrowed.
    pub fn as_packed(&self) -> AttrsRef<'_> {
        AttrsRef(&self.0)
    }

    /// The attribute at `index`, if given.
    pub fn get(&self, index: usize) -> Option<Value> {
        self.as_packed().get(index)
    }

    /// Every attribute, by index.
    pub fn values(&self) -> Vec<Option<Value>> {
        self.as_packed().values()
    }
}

/// Packed attributes, borrowed from wherever they are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttrsRef<'a>(&'a [u8]);

impl<'a> AttrsRef<'a> {
    /// Reads these bytes as packed attributes (bytes [`Attrs`] did not write read as
    /// missing values).
    pub fn new(bytes: &'a [u8]) -> Self {
        AttrsRef(bytes)
    }

    /// The packed bytes.
    pub fn bytes(self) -> &'a [u8] {
        self.0
    }

    /// The attribute at `index`, if given.
    pub fn get(self, index: usize) -> Option<Value> {
        let mut r = Reader(self.0);
        for _ in 0..index {
            r.skip()?;
        }
        r.value().flatten()
    }

    /// Every attribute, by index.
    pub fn values(self) -> Vec<Option<Value>> {
        let mut r = Reader(self.0);
        let mut out = Vec::new();
        while !r.0.is_empty() {
            match r.value() {
                Some(v) => out.push(v),
                None => break,
            }
        }
        out
    }
}

impl std::fmt::Debug for Attrs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.values()).finish()
    }
}

/// Snapshots write the values, not the packing.
impl Serialize for Attrs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.values().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Attrs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Attrs::new(&Vec::<Option<Value>>::deserialize(d)?))
    }
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    put_varint(out, n as u64);
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    // LEB128: lengths and most numbers take a byte or two.
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn put(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Int(i) => {
            out.push(tag::INT);
            // Zigzag, so small negative numbers are short too.
            put_varint(out, ((i << 1) ^ (i >> 63)) as u64);
        }
        Value::Decimal(d) => {
            out.push(tag::DECIMAL);
            out.extend_from_slice(&d.serialize());
        }
        Value::Percent(d) => {
            out.push(tag::PERCENT);
            out.extend_from_slice(&d.serialize());
        }
        Value::Money(m) => {
            out.push(tag::MONEY);
            out.extend_from_slice(&m.amount.serialize());
            out.extend_from_slice(m.currency.code().as_bytes());
        }
        Value::String(s) => {
            out.push(tag::STRING);
            put_str(out, s);
        }
        Value::Bool(b) => out.push(if *b { tag::TRUE } else { tag::FALSE }),
        Value::Date(d) => {
            out.push(tag::DATE);
            out.extend_from_slice(&d.to_epoch_days().to_le_bytes());
        }
        Value::Datetime(t) => {
            out.push(tag::DATETIME);
            out.extend_from_slice(&t.timestamp().to_le_bytes());
            out.extend_from_slice(&t.timestamp_subsec_nanos().to_le_bytes());
        }
        Value::Time(t) => {
            out.push(tag::TIME);
            out.extend_from_slice(&t.num_seconds_from_midnight().to_le_bytes());
            out.extend_from_slice(&t.nanosecond().to_le_bytes());
        }
        Value::Duration(d) => {
            out.push(tag::DURATION);
            out.extend_from_slice(&d.days.to_le_bytes());
            out.extend_from_slice(&d.minutes.to_le_bytes());
        }
        Value::List(items) => {
            out.push(tag::LIST);
            put_len(out, items.len());
            for i in items {
                put(out, i);
            }
        }
    }
}

/// Reads packed values front to back. Every read is checked: a byte string this module
/// did not write reads as missing values, never as a panic.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn bytes<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let [b] = self.bytes::<1>()?;
            n |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }

    fn len(&mut self) -> Option<usize> {
        usize::try_from(self.varint()?).ok()
    }

    fn int(&mut self) -> Option<i64> {
        let z = self.varint()?;
        Some(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    fn str(&mut self) -> Option<String> {
        let n = self.len()?;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }

    /// Skips one attribute without decoding it.
    fn skip(&mut self) -> Option<()> {
        let [t] = self.bytes::<1>()?;
        let size = match t {
            tag::NONE | tag::FALSE | tag::TRUE => 0,
            tag::INT => {
                self.varint()?;
                0
            }
            tag::DECIMAL | tag::PERCENT => 16,
            tag::MONEY => 19,
            tag::DATE => 4,
            tag::DATETIME => 12,
            tag::TIME | tag::DURATION => 8,
            tag::STRING => self.len()?,
            tag::LIST => {
                for _ in 0..self.len()? {
                    self.skip()?;
                }
                0
            }
            _ => return None,
        };
        self.take(size).map(|_| ())
    }

    /// One attribute: `Some(None)` when it is not given, `None` when the bytes end.
    fn value(&mut self) -> Option<Option<Value>> {
        let [t] = self.bytes::<1>()?;
        Some(Some(match t {
            tag::NONE => return Some(None),
            tag::INT => Value::Int(self.int()?),
            tag::DECIMAL => Value::Decimal(Decimal::deserialize(self.bytes()?)),
            tag::PERCENT => Value::Percent(Decimal::deserialize(self.bytes()?)),
            tag::MONEY => {
                let amount = Decimal::deserialize(self.bytes()?);
                let code = self.bytes::<3>()?;
                let currency = Currency::new(std::str::from_utf8(&code).ok()?)?;
                Value::Money(Money { amount, currency })
            }
            tag::STRING => Value::String(self.str()?),
            tag::FALSE => Value::Bool(false),
            tag::TRUE => Value::Bool(true),
            tag::DATE => Value::Date(NaiveDate::from_epoch_days(i32::from_le_bytes(
                self.bytes()?,
            ))?),
            tag::DATETIME => {
                let secs = i64::from_le_bytes(self.bytes()?);
                let nanos = u32::from_le_bytes(self.bytes()?);
                Value::Datetime(DateTime::from_timestamp(secs, nanos)?)
            }
            tag::TIME => {
                let secs = u32::from_le_bytes(self.bytes()?);
                let nanos = u32::from_le_bytes(self.bytes()?);
                Value::Time(NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos)?)
            }
            tag::DURATION => Value::Duration(Duration {
                days: u32::from_le_bytes(self.bytes()?),
                minutes: u32::from_le_bytes(self.bytes()?),
            }),
            tag::LIST => {
                let n = self.len()?;
                let mut items = Vec::with_capacity(n.min(self.0.len()));
                for _ in 0..n {
                    items.push(self.value()??);
                }
                Value::List(items)
            }
            _ => return None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(Value::Int),
            (any::<i64>(), 0u32..28).prop_map(|(m, s)| Value::Decimal(Decimal::new(m, s))),
            (any::<i32>(), 0u32..4).prop_map(|(m, s)| Value::Percent(Decimal::new(m.into(), s))),
            (
                any::<i64>(),
                prop::sample::select(vec!["CNY", "USD", "JPY"])
            )
                .prop_map(|(m, c)| {
                    Value::Money(Money {
                        amount: Decimal::new(m, 2),
                        currency: Currency::new(c).unwrap_or_else(|| unreachable!()),
                    })
                }),
            ".{0,200}".prop_map(Value::String),
            any::<bool>().prop_map(Value::Bool),
            (-700_000i32..3_000_000)
                .prop_map(|d| Value::Date(NaiveDate::from_epoch_days(d).unwrap_or_default())),
            (
                -1_000_000_000_000i64..1_000_000_000_000,
                0u32..1_000_000_000
            )
                .prop_map(|(s, n)| {
                    Value::Datetime(DateTime::from_timestamp(s, n).unwrap_or_default())
                }),
            (0u32..86_400, 0u32..1_000_000_000).prop_map(|(s, n)| Value::Time(
                NaiveTime::from_num_seconds_from_midnight_opt(s, n).unwrap_or_default()
            )),
            (any::<u32>(), any::<u32>())
                .prop_map(|(days, minutes)| Value::Duration(Duration { days, minutes })),
        ];
        leaf.prop_recursive(2, 16, 4, |inner| {
            prop::collection::vec(inner, 0..4).prop_map(Value::List)
        })
    }

    proptest! {
        #[test]
        fn packed_values_read_back_equal(values in prop::collection::vec(prop::option::of(value()), 0..6)) {
            let attrs = Attrs::new(&values);
            prop_assert_eq!(attrs.values(), values.clone());
            for (i, v) in values.iter().enumerate() {
                prop_assert_eq!(&attrs.get(i), v);
            }
            prop_assert_eq!(attrs.get(values.len()), None);
        }

        #[test]
        fn foreign_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let attrs = Attrs(ThinVec::from(bytes));
            let _ = attrs.values();
            let _ = attrs.get(3);
        }
    }

    #[test]
    fn a_typical_user_is_small() {
        let attrs = Attrs::new(&[Some(Value::String("N123456".into())), Some(Value::Int(6))]);
        assert_eq!(attrs.0.len(), 1 + 1 + 7 + 1 + 1);
        let negative = Attrs::new(&[Some(Value::Int(-3)), Some(Value::Int(i64::MIN))]);
        assert_eq!(negative.get(0), Some(Value::Int(-3)));
        assert_eq!(negative.get(1), Some(Value::Int(i64::MIN)));
    }

    #[test]
    fn snapshots_hold_values() {
        let attrs = Attrs::new(&[None, Some(Value::Bool(true))]);
        let json = serde_json::to_string(&attrs).unwrap_or_default();
        assert_eq!(json, r#"[null,{"type":"bool","value":true}]"#);
        let back: Attrs = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, attrs);
    }
}
