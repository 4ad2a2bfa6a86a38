//! Replay: recorded users and events run through the engine with a simulated clock,
//! each event at its own `at`, in `at` order (a stable sort: input order breaks ties).
//! The edge that reads JSON Lines; the engine does the rest.
//!
//! A file of events already in order is streamed (two passes: one to check the order,
//! one to run), so a replay's memory is the engine's state, not the input's size. A
//! file out of order is indexed by time and read back in order.

use crate::engine::effect::Effect;
use crate::engine::input::{self, EventLine, EventRef, EventText, UserLine};
use crate::engine::state::State;
use crate::engine::{Engine, Output};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};

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
        if line.trim().is_empty() {
            continue;
        }
        let result = serde_json::from_str::<UserLine>(&line)
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
) {
    if let Until::At(t) = until {
        if at > t {
            return;
        }
    }
    engine.event(state, line, at, out);
}

/// Ends a replay: fires what is left by `until`.
pub fn finish(engine: &Engine, state: &mut State, until: Until, out: &mut Output) {
    match until {
        Until::End => engine.finish(state, out),
        Until::At(t) => engine.advance(state, t, out),
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
    order.sort_by_key(|e| e.at.with_timezone(&Utc));
    let mut out = Output::default();
    for e in order {
        feed(engine, state, e.into(), e.at.to_utc(), until, &mut out);
    }
    finish(engine, state, until, &mut out);
    out
}

/// How many events a replay reads, warms and then takes at a time.
const WINDOW: usize = 32;

/// Lines of one window in one buffer: (line number, end offset) per line.
#[derive(Default)]
struct Window {
    text: String,
    ends: Vec<(usize, usize)>,
}

impl Window {
    fn push(&mut self, n: usize, line: &str) {
        self.text.push_str(line);
        self.ends.push((n, self.text.len()));
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn lines(&self) -> impl Iterator<Item = (usize, &str)> {
        let starts = std::iter::once(0).chain(self.ends.iter().map(|&(_, end)| end));
        self.ends
            .iter()
            .zip(starts)
            .map(|(&(n, end), start)| (n, self.text.get(start..end).unwrap_or("")))
    }

    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }
}

/// Just the time of an event line, read without building the rest.
#[derive(Deserialize)]
struct AtOnly {
    #[serde(deserialize_with = "input::instant")]
    at: DateTime<chrono::FixedOffset>,
}

/// Reads `file` from where it stands, line by line through one reused buffer, handing
/// each line to `each` with its number (from 1) and its byte offset.
fn each_line<R: Read>(
    file: &mut R,
    each: &mut dyn FnMut(usize, u64, &str) -> io::Result<()>,
) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut buf = String::new();
    let (mut offset, mut n) = (0u64, 0usize);
    loop {
        buf.clear();
        let len = reader.read_line(&mut buf)?;
        if len == 0 {
            return Ok(());
        }
        n += 1;
        each(n, offset, &buf)?;
        offset += len as u64;
    }
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
    // Pass 1: is the file in order?
    let mut errors = Vec::new();
    let mut sorted = true;
    let mut last: Option<DateTime<Utc>> = None;
    each_line(&mut file, &mut |n, _, line| {
        if line.trim().is_empty() {
            return Ok(());
        }
        match serde_json::from_str::<AtOnly>(line) {
            Ok(a) => {
                let at = a.at.with_timezone(&Utc);
                if last.is_some_and(|l| at < l) {
                    sorted = false;
                }
                last = Some(at);
            }
            Err(e) => errors.push(LineError {
                line: n,
                message: e.to_string(),
            }),
        }
        Ok(())
    })?;
    file.seek(SeekFrom::Start(0))?;
    let mut out = Output::default();
    // Lines without a readable `at` were reported in pass 1; pass 2 reports the rest of
    // the malformed ones (no `id`, unknown keys, ...).
    let unread = errors.len();
    let mut take = |state: &mut State,
                    n: usize,
                    parsed: Result<EventText, serde_json::Error>,
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
                feed(engine, state, line, e.at.to_utc(), until, out)
            }
            Err(e) => {
                let reported = errors
                    .get(..unread)
                    .is_some_and(|r| r.binary_search_by_key(&n, |x| x.line).is_ok());
                if !reported {
                    errors.push(LineError {
                        line: n,
                        message: e.to_string(),
                    });
                }
            }
        }
        if !out.effects.is_empty() || !out.problems.is_empty() {
            emit(out)?;
            out.effects.clear();
            out.problems.clear();
        }
        Ok(())
    };
    if sorted {
        // Events go in windows: read and parse a window, warm what its events will
        // touch (see `Engine::warm`), then take them in order. A window's lines share
        // one buffer, kept from window to window.
        let mut window = Window::default();
        let mut flush = |state: &mut State,
                         window: &mut Window,
                         out: &mut Output,
                         errors: &mut Vec<LineError>| {
            let parsed: Vec<(usize, Result<EventText, serde_json::Error>)> = window
                .lines()
                .map(|(n, line)| (n, serde_json::from_str::<EventText>(line)))
                .collect();
            let users: Vec<&str> = parsed
                .iter()
                .filter_map(|(_, e)| e.as_ref().ok())
                .map(|e| &*e.user)
                .collect();
            let mut found = Vec::with_capacity(users.len());
            std::hint::black_box(engine.warm(state, &users, &mut found));
            let mut found = found.into_iter();
            for (n, e) in parsed {
                let number = if e.is_ok() {
                    found.next().flatten()
                } else {
                    None
                };
                take(state, n, e, number, out, errors)?;
            }
            window.clear();
            io::Result::Ok(())
        };
        each_line(&mut file, &mut |n, _, line| {
            if line.trim().is_empty() {
                return Ok(());
            }
            window.push(n, line);
            if window.len() == WINDOW {
                flush(state, &mut window, &mut out, &mut errors)?;
            }
            Ok(())
        })?;
        flush(state, &mut window, &mut out, &mut errors)?;
    } else {
        // Index every line by time, sort stably, read each back.
        let mut index: Vec<(DateTime<Utc>, u64, usize)> = Vec::new();
        each_line(&mut file, &mut |n, offset, line| {
            if let Ok(a) = serde_json::from_str::<AtOnly>(line) {
                index.push((a.at.with_timezone(&Utc), offset, n));
            }
            Ok(())
        })?;
        index.sort_by_key(|(at, _, _)| *at);
        let mut buf = String::new();
        for (_, offset, n) in index {
            file.seek(SeekFrom::Start(offset))?;
            buf.clear();
            BufReader::new(&mut file).read_line(&mut buf)?;
            take(
                state,
                n,
                serde_json::from_str(&buf),
                None,
                &mut out,
                &mut errors,
            )?;
        }
    }
    finish(engine, state, until, &mut out);
    if !out.effects.is_empty() || !out.problems.is_empty() {
        emit(&mut out)?;
    }
    errors.sort_by_key(|e| e.line);
    Ok(errors)
}

/// Writes effects as JSON Lines.
pub fn write_effects(w: &mut impl io::Write, effects: &[Effect]) -> io::Result<()> {
    for e in effects {
        serde_json::to_writer(&mut *w, e)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}
