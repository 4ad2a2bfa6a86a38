//! Human rendering of diagnostics with miette's graphical reports. Only the binary
//! renders; the library crates hand over data.

use camp_compiler::{Diagnostic, Severity, SourceMap};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use std::fmt;

/// One diagnostic prepared for miette: the source of its primary file and its labels.
struct Report {
    code: String,
    message: String,
    severity: Severity,
    help: Option<String>,
    labels: Vec<LabeledSpan>,
    source: NamedSource<String>,
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
}

/// Renders diagnostics as text: colours when `color`, lines wrapped at `width`.
pub struct DiagnosticPrinter {
    handler: GraphicalReportHandler,
}

impl DiagnosticPrinter {
    /// A renderer; `color` for a terminal.
    pub fn new(color: bool) -> Self {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        DiagnosticPrinter {
            handler: GraphicalReportHandler::new_themed(theme)
                .with_width(100)
                .with_links(false),
        }
    }

    /// One diagnostic as a graphical report.
    pub fn render(&self, sources: &SourceMap, d: &Diagnostic) -> String {
        let file = d.primary.loc.file;
        let (name, text) = sources
            .get(file)
            .map_or(("<unknown>".to_string(), String::new()), |f| {
                (f.name.clone(), f.text.clone())
            });
        // A byte-order mark is not shown: without it, miette's columns on the first
        // line match the report's, and the snippet holds no invisible character.
        let (text, skip) = match text.strip_prefix('\u{FEFF}') {
            Some(rest) => (rest.to_string(), '\u{FEFF}'.len_utf8()),
            None => (text, 0),
        };
        let span = |s: camp_compiler::Label| {
            let start = (s.loc.span.start as usize).saturating_sub(skip);
            let end = (s.loc.span.end as usize).saturating_sub(skip);
            SourceSpan::new(start.into(), end.saturating_sub(start))
        };
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            Some(d.primary.message.clone()),
            span(d.primary.clone()),
        )];
        let mut elsewhere = Vec::new();
        for l in &d.secondary {
            if l.loc.file == file {
                labels.push(LabeledSpan::new_with_span(
                    Some(l.message.clone()),
                    span(l.clone()),
                ));
            } else if let Some(other) = sources.get(l.loc.file) {
                let (line, col) = other.line_col(l.loc.span.start);
                elsewhere.push(format!("{} at {}:{line}:{col}", l.message, other.name));
            }
        }
        let mut help = d.help.clone();
        if !elsewhere.is_empty() {
            let note = elsewhere.join("; ");
            help = Some(match help {
                Some(h) => format!("{h}\n{note}"),
                None => note,
            });
        }
        let report = Report {
            code: d.code.to_string(),
            message: d.message.clone(),
            severity: d.severity(),
            help,
            labels,
            source: NamedSource::new(name, text).with_language("camp"),
        };
        let mut out = String::new();
        if self.handler.render_report(&mut out, &report).is_err() {
            out = format!("{}: {}\n", d.code, d.message);
        }
        out
    }
}
