//! Replay: recorded users and events run through the engine with a simulated clock,
//! each event at its own `at`, in `at` order (a stable sort: input order breaks ties).
//! The edge that reads JSON Lines; the engine does the rest.
//!
//! A file of events already in order is streamed (two passes: one to check the order,
//! one to run), so a replay's memory is the engine's state, not the input's size. A
//! file out of order is indexed by time and read back in order.

use crate::effect::Effect;

use crate::engine::{Engine, Output, Spill};
use crate::input::{self, EventLine, EventRef, EventText, UserLine};
use crate::state::State;
use camp_plan::calendar::Calendar;
use camp_plan::literal::DateTimeLit;
use chrono::{DateTime, Utc};
use flat::Flat;
use serde::Deserialize;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};

pub mod effect_line;
mod flat;
mod lines;
pub(crate) mod plain;

/// A line of input that is not a well-formed user or event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LineError {
    /// From 1.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

/// Reads users (JSON Lines) into the state. Malformed lines and ill-typed attributes are
/// reported and skipped; blank lines are ignored.
pub fn load_users(
    engine: &Engine,
    state: &mut State,
    reader: impl BufRead,
) -> io::Result<Vec<LineError>> {
    let mut errors = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line?;
        let line = match n {
            0 => line.strip_prefix('\u{feff}').unwrap_or(&line),
            _ => &line,
        };
        if line.trim().is_empty() {
            continue;
        }
        let result = serde_json::from_str::<UserLine>(line)
            .map_err(|e| e.to_string())
            .and_then(|u| engine.user(state, &u).map_err(|e| e.to_string()));
        if let Err(message) = result {
            errors.push(LineError {
                line: n + 1,
                message,
            });
        }
    }
    Ok(errors)
}

/// Where a replay stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Fire every time-driven step left after the last event: the campaign's end and
    /// any deferred sends.
    End,
    /// Take events up to this instant (inclusive) and fire the steps due by then.
    At(DateTime<Utc>),
}

/// Takes one event at its own time, unless it is past `until`.
fn feed(
    engine: &Engine,
    state: &mut State,
    line: EventRef<'_>,
    at: DateTime<Utc>,
    until: Until,
    out: &mut Output,
    spill: Option<Spill<'_>>,
) {
    if let Until::At(t) = until {
        if at > t {
            return;
        }
    }
    engine.event_spilling(state, line, at, out, spill);
}

/// Ends a replay: fires what is left by `until`.
pub fn finish(engine: &Engine, state: &mut State, until: Until, out: &mut Output) {
    finish_spilling(engine, state, until, out, None);
}

/// [`finish`], handing effects to `spill` as they gather ([`Spill`]).
fn finish_spilling(
    engine: &Engine,
    state: &mut State,
    until: Until,
    out: &mut Output,
    spill: Option<Spill<'_>>,
) {
    match until {
        Until::End => engine.finish_spilling(state, out, spill),
        Until::At(t) => engine.advance_spilling(state, t, out, spill),
    }
}

/// Replays events held in memory (scenario tests): sorted by `at`, stably.
pub fn run_events(
    engine: &Engine,
    state: &mut State,
    events: &[EventLine],
    until: Until,
) -> Output {
    let mut order: Vec<&EventLine> = events.iter().collect();
    let calendar = engine.calendar();
    order.sort_by_key(|e| calendar.resolve(e.at));
    let mut out = Output::default();
    for e in order {
        feed(
            engine,
            state,
            e.into(),
            calendar.resolve(e.at),
            until,
            &mut out,
            None,
        );
    }
    finish(engine, state, until, &mut out);
    out
}

/// How many events a replay reads, warms and then takes at a time.
const WINDOW: usize = 32;

/// Just the time of an event line, read without building the rest.
#[derive(Deserialize)]
struct AtOnly {
    #[serde(deserialize_with = "input::instant")]
    at: DateTimeLit,
}

/// An event line, read: in the usual shape directly ([`flat`]), otherwise by serde.
fn parse(text: &str) -> Result<EventText<'_>, String> {
    match Flat::scan(text).and_then(|f| f.event()) {
        Some(e) => Ok(e),
        None => serde_json::from_str(text).map_err(|e| e.to_string()),
    }
}

/// An event line's instant as a key that orders as instants do (see
/// [`input::instant_key`]), read without building the rest of the line.
fn instant(text: &str, calendar: &Calendar) -> Result<(i64, u32), String> {
    if let Some(key) = Flat::at_text(text).and_then(|at| input::instant_key(at, calendar).ok()) {
        return Ok(key);
    }
    serde_json::from_str::<AtOnly>(text)
        .map(|a| input::key(calendar.resolve(a.at)))
        .map_err(|e| e.to_string())
}

/// Replays a JSON Lines file of events, handing each step's output to `emit` as it is
/// produced. Returns the malformed lines (reported, skipped).
pub fn run_file<R: Read + Seek>(
    engine: &Engine,
    state: &mut State,
    mut file: R,
    until: Until,
    emit: &mut dyn FnMut(&mut Output) -> io::Result<()>,
) -> io::Result<Vec<LineError>> {
    // Pass 1: is the file in order? Lines without a readable `at` are reported here.
    let calendar = engine.calendar();
    let mut errors = Vec::new();
    let mut sorted = true;
    let mut last: Option<(i64, u32)> = None;
    lines::each_block(&mut file, &mut |block| {
        for line in block.lines() {
            let at = line.text().and_then(|t| {
                if t.trim().is_empty() {
                    Ok(None)
                } else {
                    instant(t, calendar).map(Some)
                }
            });
            match at {
                Ok(None) => {}
                Ok(Some(at)) => {
                    if last.is_some_and(|l| at < l) {
                        sorted = false;
                    }
                    last = Some(at);
                }
                Err(message) => errors.push(LineError {
                    line: line.n,
                    message,
                }),
            }
        }
        Ok(())
    })?;
    file.seek(SeekFrom::Start(0))?;
    let mut out = Output::default();
    // Every effect goes to `emit` through here, between events and, in a step that
    // reaches many users, while it runs; the first write error ends the replay.
    let failed = std::cell::Cell::new(None);
    let mut spill = |effects: &mut Vec<Effect>| {
        if !effects.is_empty() {
            let mut o = Output {
                effects: std::mem::take(effects),
                unmatched: Vec::new(),
            };
            if let Err(e) = emit(&mut o) {
                failed.set(Some(e));
            }
            *effects = o.effects;
            effects.clear();
        }
    };
    // Pass 2 reports the rest of the malformed lines (no `id`, unknown keys, ...).
    let unread = errors.len();
    let mut take = |state: &mut State,
                    n: usize,
                    parsed: Result<EventText, String>,
                    user_number: Option<u32>,
                    out: &mut Output,
                    errors: &mut Vec<LineError>|
     -> io::Result<()> {
        match parsed {
            Ok(e) => {
                let line = EventRef {
                    user_number,
                    ..(&e).into()
                };
                feed(
                    engine,
                    state,
                    line,
                    calendar.resolve(e.at),
                    until,
                    out,
                    Some(&mut spill),
                )
            }
            Err(message) => {
                let reported = errors
                    .get(..unread)
                    .is_some_and(|r| r.binary_search_by_key(&n, |x| x.line).is_ok());
                if !reported {
                    errors.push(LineError { line: n, message });
                }
            }
        }
        spill(&mut out.effects);
        failed.take().map_or(Ok(()), Err)
    };
    if sorted {
        // Events go in windows: parse a window's lines, warm what its events will touch
        // (see `Engine::warm`), then take them in order.
        let mut found = Vec::with_capacity(WINDOW);
        lines::each_block(&mut file, &mut |block| {
            let mut events = block
                .lines()
                .filter(|l| l.text.is_none_or(|t| !t.trim().is_empty()))
                .peekable();
            let mut parsed: Vec<(usize, Result<EventText, String>)> = Vec::with_capacity(WINDOW);
            while events.peek().is_some() {
                parsed.clear();
                parsed.extend(
                    events
                        .by_ref()
                        .take(WINDOW)
                        .map(|l| (l.n, l.text().and_then(parse))),
                );
                let users: Vec<&str> = parsed
                    .iter()
                    .filter_map(|(_, e)| e.as_ref().ok())
                    .map(|e| &*e.user)
                    .collect();
                found.clear();
                std::hint::black_box(engine.warm(state, &users, &mut found));
                let mut numbers = found.iter().copied();
                for (n, e) in parsed.drain(..) {
                    let number = if e.is_ok() {
                        numbers.next().flatten()
                    } else {
                        None
                    };
                    take(state, n, e, number, &mut out, &mut errors)?;
                }
            }
            Ok(())
        })?;
    } else {
        // Index every line by time, sort stably, read each back.
        let mut index: Vec<((i64, u32), u64, usize)> = Vec::new();
        lines::each_block(&mut file, &mut |block| {
            for line in block.lines() {
                if let Ok(at) = line.text().and_then(|t| instant(t, calendar)) {
                    index.push((at, line.offset, line.n));
                }
            }
            Ok(())
        })?;
        index.sort_by_key(|(at, _, _)| *at);
        let mut buf = String::new();
        for (_, offset, n) in index {
            file.seek(SeekFrom::Start(offset))?;
            buf.clear();
            let parsed = match BufReader::new(&mut file).read_line(&mut buf) {
                Ok(_) => parse(&buf),
                Err(e) => Err(e.to_string()),
            };
            take(state, n, parsed, None, &mut out, &mut errors)?;
        }
    }
    finish_spilling(engine, state, until, &mut out, Some(&mut spill));
    spill(&mut out.effects);
    if let Some(e) = failed.take() {
        return Err(e);
    }
    errors.sort_by_key(|e| e.line);
    Ok(errors)
}

/// Writes effects as JSON Lines ([`effect_line`]) through a buffer of its own, handed
/// to the writer a megabyte at a time.
pub struct EffectLines<W: io::Write> {
    out: W,
    buf: Vec<u8>,
    writer: effect_line::Writer,
}

/// How much [`EffectLines`] gathers before it writes.
const FLUSH_AT: usize = 1 << 20;

impl<W: io::Write> EffectLines<W> {
    /// Lines to `out`.
    pub fn new(out: W) -> Self {
        EffectLines {
            out,
            buf: Vec::with_capacity(FLUSH_AT + 4096),
            writer: effect_line::Writer::default(),
        }
    }

    /// Writes these effects, a line each.
    pub fn write(&mut self, effects: &[Effect]) -> io::Result<()> {
        for e in effects {
            self.writer.write(e, &mut self.buf);
        }
        if self.buf.len() >= FLUSH_AT {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// The writer, once flushed.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Writes what is gathered and flushes the writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()
    }
}
