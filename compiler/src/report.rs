//! Diagnostics as plain data for machines: the JSON document of `camp check --format
//! json` and GitHub annotations. (Human rendering is the binary's, with miette.)

use crate::source::SourceMap;
use camp_dsl::diag::{Diagnostic, Label, Severity};
use serde::Serialize;

/// A span in bytes.
#[derive(Debug, Serialize)]
pub struct JsonSpan {
    /// Byte offset.
    pub offset: u32,
    /// Length in bytes.
    pub length: u32,
}

/// One label.
#[derive(Debug, Serialize)]
pub struct JsonLabel {
    /// What it says.
    pub message: String,
    /// The file, when it differs from the diagnostic's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column in characters.
    pub column: usize,
    /// Bytes.
    pub span: JsonSpan,
}

/// One diagnostic.
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic {
    /// `E0102`.
    pub code: String,
    /// `error` or `warning`.
    pub severity: Severity,
    /// The message.
    pub message: String,
    /// The file of the primary label.
    pub file: String,
    /// Line of the primary label.
    pub line: usize,
    /// Column of the primary label.
    pub column: usize,
    /// Bytes of the primary label.
    pub span: JsonSpan,
    /// Primary label first, then related ones.
    pub labels: Vec<JsonLabel>,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// The document `camp check --format json` prints.
#[derive(Debug, Serialize)]
pub struct JsonReport {
    /// The files checked (as named on the command line).
    pub files: Vec<String>,
    /// How many errors.
    pub errors: usize,
    /// How many warnings.
    pub warnings: usize,
    /// Every diagnostic.
    pub diagnostics: Vec<JsonDiagnostic>,
}

fn label(sources: &SourceMap, l: &Label, primary_file: &str) -> JsonLabel {
    let (line, column) = sources
        .get(l.loc.file)
        .map_or((1, 1), |f| f.line_col(l.loc.span.start));
    let file = sources.name(l.loc.file);
    JsonLabel {
        message: l.message.clone(),
        file: (file != primary_file).then(|| file.to_string()),
        line,
        column,
        span: JsonSpan {
            offset: l.loc.span.start,
            length: l.loc.span.len(),
        },
    }
}

/// One diagnostic as JSON data.
pub fn json_diagnostic(sources: &SourceMap, d: &Diagnostic) -> JsonDiagnostic {
    let file = sources.name(d.primary.loc.file).to_string();
    let primary = label(sources, &d.primary, &file);
    let mut labels = vec![label(sources, &d.primary, &file)];
    labels.extend(d.secondary.iter().map(|l| label(sources, l, &file)));
    JsonDiagnostic {
        code: d.code.as_str().to_string(),
        severity: d.severity(),
        message: d.message.clone(),
        line: primary.line,
        column: primary.column,
        span: primary.span,
        file,
        labels,
        help: d.help.clone(),
    }
}

/// A GitHub Actions annotation line: `::error file=F,line=L,col=C,title=E0102::message`.
pub fn github_annotation(sources: &SourceMap, d: &Diagnostic) -> String {
    let (line, col) = sources
        .get(d.primary.loc.file)
        .map_or((1, 1), |f| f.line_col(d.primary.loc.span.start));
    let level = match d.severity() {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut message = d.message.clone();
    if let Some(h) = &d.help {
        message.push('\n');
        message.push_str(h);
    }
    format!(
        "::{level} file={},line={line},col={col},title={}::{}",
        escape_property(sources.name(d.primary.loc.file)),
        d.code,
        escape_data(&message)
    )
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}
