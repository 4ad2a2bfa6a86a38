//! Diagnostics as data: a stable code, a message, labelled spans and help.
//!
//! Every crate of ours reports problems with [`Diagnostic`]; only the binary renders them.

use crate::span::Loc;
use serde::Serialize;
use std::fmt;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fails `camp check`.
    Error,
    /// Reported; fails `camp check` only with `--deny-warnings`.
    Warning,
}

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $sev:ident,)*) => {
        /// A stable diagnostic code (`E0102`, `W0404`, ...). Tests, CI filters and docs rely on them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($(#[$doc])* $name,)*
        }

        impl Code {
            /// Every code, in numeric order.
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            /// The code as written in reports: `E0102`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$name => stringify!($name),)* }
            }

            /// Whether this code is an error or a warning.
            pub fn severity(self) -> Severity {
                match self { $(Code::$name => Severity::$sev,)* }
            }
        }
    };
}

codes! {
    /// Syntax error.
    E0001 = Error,
    /// Invalid literal.
    E0002 = Error,
    /// Unterminated string or comment.
    E0003 = Error,
    /// A name defined twice.
    E0101 = Error,
    /// Unknown name.
    E0102 = Error,
    /// A campaign file without exactly one `campaign` block.
    E0103 = Error,
    /// A required setting missing.
    E0104 = Error,
    /// Import not found, or an import cycle.
    E0105 = Error,
    /// A segment that refers to itself, directly or through other segments.
    E0106 = Error,
    /// An attribute or event field named `id`, or a task named `enroll`.
    E0107 = Error,
    /// Type mismatch in an expression.
    E0201 = Error,
    /// Unknown attribute or event field.
    E0202 = Error,
    /// Money in a currency other than the campaign budget's.
    E0203 = Error,
    /// Unknown time zone.
    E0204 = Error,
    /// A target that is not a user, or `members`/`opener` outside a group's outcome.
    E0205 = Error,
    /// `open`/`join` by a field that is not a `string`; a task that both opens and joins.
    E0206 = Error,
    /// `counted(TASK)` of a task that is not an earlier one on the same event, or outside a task's `where`.
    E0207 = Error,
    /// Phases out of order, overlapping, reversed or empty.
    E0301 = Error,
    /// A streak longer than its phase can hold.
    E0302 = Error,
    /// An award whose leaderboard is not final when it fires.
    E0303 = Error,
    /// An `at DATETIME` outside its phase, or an `at HH:MM` that never falls inside it.
    E0304 = Error,
    /// A gap between phases.
    W0304 = Warning,
    /// An `at` send inside the quiet hours.
    W0305 = Warning,
    /// A periodic leaderboard scored by `holds()`, or an award of a periodic board
    /// outside the board's own phase.
    E0306 = Error,
    /// Draw weights over 100%.
    E0401 = Error,
    /// `per_user` over `stock`, or a zero or negative stock or value.
    E0402 = Error,
    /// A monetary reward with unlimited stock and no budget.
    E0403 = Error,
    /// Worst-case spend exceeds the budget.
    W0404 = Warning,
    /// Award ranks beyond `show top N`, or overlapping rank ranges.
    E0405 = Error,
    /// `use`, `give` or `revoke` of a draw; `use N points` with N ≤ 0.
    E0407 = Error,
    /// Experiment weights that do not total 100%; a variant named twice.
    E0409 = Error,
    /// Template syntax error.
    E0501 = Error,
    /// Unknown template variable or filter.
    E0502 = Error,
    /// A message missing a body or subject for a campaign locale.
    E0503 = Error,
    /// An SMS body longer than one segment.
    W0504 = Warning,
    /// A message's variant bodies that are not exactly its experiment's variants, or a
    /// variant missing a locale.
    E0505 = Error,
    /// A KPI target whose unit does not match its formula.
    E0601 = Error,
    /// A KPI over an unknown metric, event or field.
    E0602 = Error,
    /// A KPI target that can never be met.
    W0603 = Warning,
    /// Defined and never used.
    W0701 = Warning,
    /// A send to participants where no one can have enrolled yet.
    W0702 = Warning,
    /// A group no task opens or joins; a raffle no one can enter.
    W0703 = Warning,
    /// `on birthday` without a `birthday: date` user attribute.
    E0801 = Error,
    /// `to audience` on an inactivity or per-participant send.
    E0804 = Error,
    /// A group `size` under 2, or `within` of zero.
    E0805 = Error,
}

impl Code {
    /// Looks a code up by its text, case-insensitively (`e0102` works).
    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A secondary place a diagnostic points at ("first defined here").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub loc: Loc,
    /// What to say there.
    pub message: String,
}

/// One problem found in a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The stable code; also decides the severity.
    pub code: Code,
    /// One sentence in the campaign's words.
    pub message: String,
    /// The exact place, with a short label.
    pub primary: Label,
    /// Related places.
    pub secondary: Vec<Label>,
    /// How to fix it, when we know.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with a primary label.
    pub fn new(code: Code, loc: Loc, message: impl Into<String>, label: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            primary: Label {
                loc,
                message: label.into(),
            },
            secondary: Vec::new(),
            help: None,
        }
    }

    /// Adds a related label.
    pub fn with_label(mut self, loc: Loc, message: impl Into<String>) -> Self {
        self.secondary.push(Label {
            loc,
            message: message.into(),
        });
        self
    }

    /// Adds help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds help text when there is some.
    pub fn with_help_opt(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// Error or warning, from the code.
    pub fn severity(&self) -> Severity {
        self.code.severity()
    }
}
