//! Event lines in their usual shape, read without serde's generic path: one object
//! whose `id`, `type`, `user` and `at` are strings with nothing escaped, and whose
//! `data` is an object (parsed by `serde_json`, unless empty). That is how recorded
//! events are written, and a replay reads millions of them; through serde each key
//! was matched and each string scanned several times, a fifth of a replay's time.
//!
//! A line in any other shape (escapes, other keys, other types, anything malformed) is
//! not read here: the caller reads it with serde, which accepts it or says what is
//! wrong. A property test holds the two together: whatever this reads, serde reads the
//! same way.

use crate::input::{self, EventText};
use camp_plan::literal::DateTimeLit;
use serde_json::Map;
use std::borrow::Cow;

/// The top-level values of an event line, as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Flat<'a> {
    id: &'a str,
    kind: &'a str,
    user: &'a str,
    at: &'a str,
    /// The `data` object's text, if given.
    data: Option<&'a str>,
}

impl<'a> Flat<'a> {
    /// Splits a line in the usual shape into its values; `None` for any other line.
    pub(super) fn scan(line: &'a str) -> Option<Self> {
        let mut c = Cursor { s: line, i: 0 };
        let (mut id, mut kind, mut user, mut at, mut data) = (None, None, None, None, None);
        c.ws();
        c.eat(b'{')?;
        c.ws();
        if c.eat(b'}').is_none() {
            loop {
                let key = c.key()?;
                c.ws();
                c.eat(b':')?;
                c.ws();
                let slot = match key {
                    Key::Id => &mut id,
                    Key::Type => &mut kind,
                    Key::User => &mut user,
                    Key::At => &mut at,
                    Key::Data => &mut data,
                };
                if slot.is_some() {
                    return None;
                }
                *slot = Some(if key == Key::Data {
                    c.object()?
                } else {
                    c.plain()?
                });
                c.ws();
                if c.eat(b',').is_some() {
                    c.ws();
                    continue;
                }
                c.eat(b'}')?;
                break;
            }
        }
        c.ws();
        if c.i != line.len() {
            return None;
        }
        Some(Flat {
            id: id?,
            kind: kind?,
            user: user?,
            at: at?,
            data,
        })
    }

    /// The `at` of a line in the usual shape, read without the rest: the keys before it
    /// are skipped, those after it not read. `None` for any other line (and for some
    /// lines in the usual shape: the caller then reads the line with serde).
    pub(super) fn at_text(line: &'a str) -> Option<&'a str> {
        let mut c = Cursor { s: line, i: 0 };
        c.ws();
        c.eat(b'{')?;
        loop {
            c.ws();
            let key = c.key()?;
            c.ws();
            c.eat(b':')?;
            c.ws();
            match key {
                Key::At => return c.plain(),
                Key::Id | Key::Type | Key::User => {
                    c.plain()?;
                }
                Key::Data => {
                    c.object()?;
                }
            }
            c.ws();
            c.eat(b',')?;
        }
    }

    /// Its `at`, if it reads as one.
    pub(super) fn at(&self) -> Option<DateTimeLit> {
        input::parse_at(self.at).ok()
    }

    /// The event, if its instant and data read.
    pub(super) fn event(&self) -> Option<EventText<'a>> {
        let data = match self.data {
            None => Map::new(),
            Some(d) if is_empty_object(d) => Map::new(),
            Some(d) => serde_json::from_str(d).ok()?,
        };
        Some(EventText {
            id: Cow::Borrowed(self.id),
            kind: Cow::Borrowed(self.kind),
            user: Cow::Borrowed(self.user),
            at: self.at()?,
            data,
        })
    }
}

/// `{}`, with any whitespace inside.
fn is_empty_object(d: &str) -> bool {
    d.strip_prefix('{')
        .and_then(|d| d.strip_suffix('}'))
        .is_some_and(|inner| {
            inner
                .trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
                .is_empty()
        })
}

/// The keys of an event line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Id,
    Type,
    User,
    At,
    Data,
}

/// Each key as written, quotes and all (a key written any other way, with escapes,
/// is not read here).
const KEYS: [(&[u8], Key); 5] = [
    (b"\"id\"", Key::Id),
    (b"\"type\"", Key::Type),
    (b"\"user\"", Key::User),
    (b"\"at\"", Key::At),
    (b"\"data\"", Key::Data),
];

/// A position in a line.
struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    /// JSON's whitespace.
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek() == Some(c)).then(|| self.i += 1)
    }

    /// One of the event line's keys.
    fn key(&mut self) -> Option<Key> {
        let rest = self.s.as_bytes().get(self.i..)?;
        let &(written, key) = KEYS.iter().find(|(k, _)| rest.starts_with(k))?;
        self.i += written.len();
        Some(key)
    }

    /// A string with nothing escaped (and no control characters, which JSON forbids
    /// raw): its text.
    fn plain(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let rest = self.s.as_bytes().get(start..)?;
        let len = crate::replay::plain::special(rest)?;
        if rest.get(len) != Some(&b'"') {
            return None;
        }
        self.i = start + len + 1;
        self.s.get(start..start + len)
    }

    /// An object, skipped to its closing brace (strings, escapes and nesting
    /// respected): its text. Whether it is valid JSON is for serde to say.
    fn object(&mut self) -> Option<&'a str> {
        let start = self.i;
        self.eat(b'{')?;
        let mut depth = 1usize;
        while depth > 0 {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    loop {
                        match self.peek()? {
                            b'"' => break,
                            b'\\' => self.i += 2,
                            _ => self.i += 1,
                        }
                    }
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth -= 1,
                _ => {}
            }
            self.i += 1;
        }
        self.s.get(start..self.i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn serde(line: &str) -> Option<(String, String, String, DateTimeLit, String)> {
        let e: EventText = serde_json::from_str(line).ok()?;
        Some((
            e.id.into_owned(),
            e.kind.into_owned(),
            e.user.into_owned(),
            e.at,
            serde_json::to_string(&e.data).ok()?,
        ))
    }

    fn fast(line: &str) -> Option<(String, String, String, DateTimeLit, String)> {
        let e = Flat::scan(line)?.event()?;
        Some((
            e.id.into_owned(),
            e.kind.into_owned(),
            e.user.into_owned(),
            e.at,
            serde_json::to_string(&e.data).ok()?,
        ))
    }

    #[test]
    fn the_usual_lines_are_read_here() {
        for line in [
            "{\"id\":\"e1\",\"type\":\"checkin\",\"user\":\"u1\",\"at\":\"2027-03-01T00:00:00Z\",\"data\":{}}\n",
            r#"{"id":"e2","type":"invite","user":"u1","at":"2027-03-01T08:00:00+08:00","data":{"invitee":"u2","n":[1,{"x":"}"}]}}"#,
            r#" { "at" : "2027-03-01T00:00:00Z" , "user":"u1", "type":"t", "id":"中文" } "#,
            r#"{"data":{ },"id":"e","type":"t","user":"u","at":"2027-03-01T00:00:00Z"}"#,
        ] {
            assert!(fast(line).is_some(), "{line}");
            assert_eq!(fast(line), serde(line), "{line}");
        }
    }

    #[test]
    fn other_lines_are_left_to_serde() {
        for line in [
            r#"{"id":"e\u0031","type":"t","user":"u","at":"2027-03-01T00:00:00Z"}"#,
            r#"{"id":"e","type":"t","user":"u","at":"2027-03-01T00:00:00Z","extra":1}"#,
            r#"{"id":"e","id":"f","type":"t","user":"u","at":"2027-03-01T00:00:00Z"}"#,
            r#"{"id":"e","type":"t","user":"u","at":"2027-03-01T00:00:00Z",}"#,
            r#"{"id":"e","type":"t","user":"u","at":"2027-03-01T00:00:00Z"} x"#,
            r#"{"id":"e","type":"t","user":"u","at":"2027-03-01T00:00:00Z","data":{"a":tru}}"#,
            r#"{"id":"e","type":"t","user":"u","at":"yesterday"}"#,
            r#"{"id":5,"type":"t","user":"u","at":"2027-03-01T00:00:00Z"}"#,
            r#"{"id":"e","type":"t","user":"u"}"#,
            r#"{"id":"e","type":"t","user":"u","at":"2027-03-01T00:00:00Z","data":null}"#,
            "{\"id\":\"e\t\",\"type\":\"t\",\"user\":\"u\",\"at\":\"2027-03-01T00:00:00Z\"}",
            r#"{"id":"e","type":"t","user":"u","at":"2027-03-01T00:00:00Z","data":{"a":"\"}"#,
            "",
            "{",
        ] {
            assert_eq!(fast(line), None, "{line}");
        }
    }

    /// Pieces of event lines, well and badly formed.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("\"id\":\"e1\"".to_string()),
            Just("\"type\":\"checkin\"".to_string()),
            Just("\"user\":\"u1\"".to_string()),
            Just("\"at\":\"2027-03-01T00:00:00Z\"".to_string()),
            Just("\"at\":\"2027-02-30T00:00:00Z\"".to_string()),
            Just("\"at\":\"2027-03-01T08:00:00+08:00\"".to_string()),
            Just("\"data\":{}".to_string()),
            Just("\"data\":{\"invitee\":\"u\\\"2\",\"n\":[1,2,{\"k\":null}]}".to_string()),
            Just("\"data\":{\"a\":}".to_string()),
            Just("\"data\":[]".to_string()),
            Just("\"data\":{{}}".to_string()),
            Just("\"data\":{ \u{a0} }".to_string()),
            Just("\"id\":\"e\\n\"".to_string()),
            Just("\"x\":1".to_string()),
            "[a-z\" :{},\\[\\]\\\\]{0,8}",
        ]
    }

    /// A string value: plain text (read here), or with escapes or control characters
    /// (left to serde).
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            12 => "[a-z0-9_]{1,10}".prop_map(|s| format!("\"{s}\"")),
            1 => Just("\"中文 ü\"".to_string()),
            1 => Just("\"e\\u0031\"".to_string()),
            1 => Just("\"a\\\"b\"".to_string()),
            1 => Just("5".to_string()),
        ]
    }

    /// An `at` value: fixed instants, local times, impossible dates.
    fn at_value() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => (0u32..28, 0u32..24, 0u32..60).prop_map(|(d, h, m)| format!("\"2027-03-{:02}T{h:02}:{m:02}:00Z\"", d + 1)),
            1 => (0u32..24).prop_map(|h| format!("\"2027-03-01T{h:02}:30:00+08:00\"")),
            1 => (0u32..24).prop_map(|h| format!("\"2027-03-01T{h:02}:30\"")),
            1 => Just("\"2027-02-30T00:00:00Z\"".to_string()),
        ]
    }

    /// A `data` object.
    fn data() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("{}".to_string()),
            Just("{ }".to_string()),
            "[a-z]{1,6}".prop_map(|k| format!("{{\"{k}\":\"v\",\"n\":[1,{{\"x\":\"}}\"}}]}}")),
            Just("{\"amount\":\"5 CNY\"}".to_string()),
        ]
    }

    /// An event line: the four keys and maybe `data`, in any order, spaced any way;
    /// then, sometimes, one byte removed, inserted or changed.
    fn line() -> BoxedStrategy<String> {
        let fields = (
            value(),
            value(),
            value(),
            at_value(),
            prop::option::of(data()),
        );
        let spaces = prop::collection::vec(prop_oneof![Just(""), Just(" "), Just("\n")], 12);
        let mutation = (0usize..8, any::<prop::sample::Index>(), any::<u8>());
        (fields, spaces, mutation)
            .prop_flat_map(|((id, kind, user, at, data), spaces, mutation)| {
                let mut pairs = vec![
                    format!("\"id\":{id}"),
                    format!("\"type\":{kind}"),
                    format!("\"user\":{user}"),
                    format!("\"at\":{at}"),
                ];
                pairs.extend(data.map(|d| format!("\"data\":{d}")));
                Just(pairs)
                    .prop_shuffle()
                    .prop_map(move |pairs| mutate(spaced(&pairs, &spaces), mutation))
            })
            .boxed()
    }

    /// `{pairs}` with the given spaces around the braces, commas and pairs.
    fn spaced(pairs: &[String], spaces: &[&str]) -> String {
        let sp = |i: usize| spaces.get(i % spaces.len().max(1)).copied().unwrap_or("");
        let mut line = format!("{}{{", sp(0));
        for (i, p) in pairs.iter().enumerate() {
            if i > 0 {
                line.push_str(sp(i));
                line.push(',');
            }
            line.push_str(sp(i + 5));
            line.push_str(p);
        }
        line.push_str(sp(11));
        line.push('}');
        line
    }

    /// Removes (0), inserts (1) or changes (2) one byte of `line`; otherwise leaves it.
    fn mutate(line: String, (how, place, byte): (usize, prop::sample::Index, u8)) -> String {
        const BYTES: &[u8; 8] = b" ,:{}\"x\\";
        let mut bytes = line.into_bytes();
        let at = place.index(bytes.len().max(1));
        let new = BYTES[usize::from(byte) % BYTES.len()];
        match how {
            0 if at < bytes.len() => {
                bytes.remove(at);
            }
            1 => bytes.insert(at.min(bytes.len()), new),
            2 if at < bytes.len() => bytes[at] = new,
            _ => {}
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The generator reaches the fast path: over a quarter of its lines are read here
    /// (about 30%), and serde alone reads others (the two are compared on both).
    #[test]
    fn the_line_generator_reaches_the_fast_path() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = line();
        let (mut here, mut serde_only, total) = (0, 0, 2000);
        for _ in 0..total {
            let l = strategy.new_tree(&mut runner).unwrap().current();
            match (fast(&l).is_some(), serde(&l).is_some()) {
                (true, _) => here += 1,
                (false, true) => serde_only += 1,
                _ => {}
            }
        }
        assert!(
            here * 4 > total,
            "the fast path read {here} of {total} lines"
        );
        assert!(
            serde_only * 20 > total,
            "serde alone read {serde_only} of {total}"
        );
    }

    proptest! {
        /// Whatever line is read here, serde reads it the same.
        #[test]
        fn what_is_read_here_serde_reads_the_same(
            pieces in prop::collection::vec(piece(), 0..7),
            seps in prop::collection::vec(prop_oneof![Just(","), Just(" , "), Just(",\n"), Just(""), Just(";")], 7),
            open in prop_oneof![Just("{"), Just(" {"), Just("")],
            close in prop_oneof![Just("}"), Just("} "), Just("}\n"), Just("}}"), Just("")],
        ) {
            let mut line = open.to_string();
            for (i, p) in pieces.iter().enumerate() {
                if i > 0 {
                    line.push_str(seps.get(i).copied().unwrap_or(","));
                }
                line.push_str(p);
            }
            line.push_str(close);
            if let Some(f) = fast(&line) {
                prop_assert_eq!(Some(f), serde(&line), "{}", line);
            }
            // A line serde reads: its `at`, when read alone here, is serde's.
            if let (Some(at), Some(whole)) = (Flat::at_text(&line), serde(&line)) {
                prop_assert_eq!(input::parse_at(at).ok(), Some(whole.3));
            }
        }

        /// Well-formed lines (keys in any order, spaces, escapes, local and fixed
        /// instants, nested data), some mutated: whatever is read here, serde reads the
        /// same, and what serde reads, here is either the same or left to serde.
        #[test]
        fn well_formed_and_mutated_lines_read_as_serde_reads_them(line in line()) {
            let (here, there) = (fast(&line), serde(&line));
            if here.is_some() {
                prop_assert_eq!(&here, &there, "{}", line);
            }
        }

        /// Any text at all: never a panic.
        #[test]
        fn any_text_scans_without_panicking(line in any::<String>()) {
            if let Some(f) = Flat::scan(&line) {
                let _ = f.event();
            }
        }
    }
}
