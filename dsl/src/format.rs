//! The canonical layout of a `.camp` file: what `camp fmt` writes.
//!
//! The formatter prints the AST, re-emitting every literal and string from its source
//! text, so a formatted file means exactly what the original meant (the same AST, spans
//! aside) and keeps every comment, in order. A file with syntax errors is never
//! formatted: [`format`] returns [`FormatError`] instead.
//!
//! Layout, in short (the spec's examples are the model):
//! - two spaces per block level; a block with nothing in it is `{}`;
//! - one blank line between top-level items, except that consecutive one-line items of
//!   the same kind (imports, rewards, segments, KPIs, one-line events) stay together
//!   when they were written together; inside a phase a blank line is kept where the
//!   user had one; elsewhere there are none;
//! - alignment: campaign setting values, `name: type` fields of a multi-line block,
//!   the `=` of consecutive rewards, segments and KPIs, the `target` of consecutive
//!   KPIs, tier names, and the strings of one-line message entries (subjects and bodies
//!   each among themselves);
//! - rewards and KPIs on one line; an expression on one line, except that a line break
//!   the user made before (or after) an `and`/`or` is kept, the continuation starting
//!   under the expression's first character;
//! - after `=>`, one action on the same line (`=> grant b`); a block in braces on one
//!   line, two spaces between actions (`=> { grant b  send m }`), when it was written on
//!   one line, else one action per line and `}` on a line of its own; a line break the
//!   user made before (or after) `=>` is kept, `=>` starting the next line two spaces
//!   deeper than its statement;
//! - a group's values start one column after `within` and its outcomes' `=>` one
//!   column after `expired`, as in `size   3` and `filled  => ...`;
//! - `"""` strings re-indented two spaces deeper than their line, with the same value;
//! - an own-line comment stays on its own line before what follows it; a comment after
//!   code on a line stays at the end of that line, two spaces after it; a comment in the
//!   middle of a line that gets joined moves to the end of that line.

use crate::ast::*;
use crate::diag::Code;
use crate::parse::parse;
use crate::span::{FileId, Span};

/// Why a file could not be formatted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum FormatError {
    /// The file has syntax errors, invalid literals or unterminated strings or comments
    /// (E0001–E0003). A broken file is left alone rather than guessed at.
    #[error("{}", syntax_message(*count))]
    #[diagnostic(help("run `camp check` on the file to see them, fix them, then format again"))]
    Syntax {
        /// How many such problems the parser reported.
        count: usize,
    },
}

fn syntax_message(count: usize) -> String {
    if count == 1 {
        "the file has a syntax error, so it was not formatted".to_string()
    } else {
        format!("the file has {count} syntax errors, so it was not formatted")
    }
}

/// Formats one `.camp` source into its canonical layout.
///
/// Returns [`FormatError::Syntax`] when parsing reports any E0001, E0002 or E0003.
/// Formatting is idempotent: `format(format(x)) == format(x)`.
pub fn format(src: &str) -> Result<String, FormatError> {
    let parsed = parse(src, FileId(0));
    let count = parsed
        .diagnostics
        .iter()
        .filter(|d| matches!(d.code, Code::E0001 | Code::E0002 | Code::E0003))
        .count();
    if count > 0 {
        return Err(FormatError::Syntax { count });
    }
    let mut printer = Printer::new(src, &parsed.file.comments);
    printer.file(&parsed.file);
    Ok(printer.finish())
}

/// The column a group's values start at, after its keyword: `within ` is the longest
/// setting; an outcome's `=>` comes one column later, after `expired `.
const GROUP_WIDTH: usize = "within ".len();

/// Spaces between code and a comment at the end of its line.
const TRAILING_GAP: &str = "  ";

/// How the space before the next element of a sequence is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gap {
    /// The first element of a file or block: no blank line before it.
    Open,
    /// Blank lines (at most one in a row) where the source had them.
    Keep,
    /// As `Keep`, but at least one blank line.
    Separate,
    /// No blank lines at all.
    Tight,
    /// Before the end of a file or block: as `Keep`, but none right before the end.
    Close,
}

/// How an event's fields are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventLayout {
    /// `event checkin {}`.
    Empty,
    /// `event share { channel: string }`.
    OneLine,
    /// One field per line, types aligned.
    Block,
}

/// Column widths shared by a run of consecutive one-line items.
#[derive(Debug, Clone, Copy, Default)]
struct RunWidths {
    /// The longest name in the run.
    name: usize,
    /// The longest KPI formula in the run.
    formula: usize,
}

/// Builds the output line by line and places comments as it goes.
///
/// `src_pos` is the end of the last source text accounted for; a comment that follows
/// it on its source line, with only spaces (or a `{` or `,`) between, trails the line
/// being built.
struct Printer<'s> {
    src: &'s str,
    comments: Vec<Span>,
    /// The first comment not yet placed.
    next: usize,
    out: String,
    /// The line being built, indentation included.
    line: String,
    /// Comments to put at the end of the line being built.
    pending: Vec<Span>,
    src_pos: u32,
    indent: usize,
}

impl<'s> Printer<'s> {
    fn new(src: &'s str, comments: &[Comment]) -> Self {
        Printer {
            src,
            comments: comments.iter().map(|c| c.span).collect(),
            next: 0,
            out: String::with_capacity(src.len() + src.len() / 8),
            line: String::new(),
            pending: Vec::new(),
            src_pos: 0,
            indent: 0,
        }
    }

    fn finish(mut self) -> String {
        if !self.line.is_empty() || !self.pending.is_empty() {
            self.newline();
        }
        let trimmed = self.out.trim_end_matches('\n').len();
        self.out.truncate(trimmed);
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        self.out
    }

    // ------------------------------------------------------------ source text

    fn slice(&self, from: u32, to: u32) -> &'s str {
        self.src.get(from as usize..to as usize).unwrap_or("")
    }

    fn text(&self, span: Span) -> &'s str {
        self.slice(span.start, span.end)
    }

    fn comment_text(&self, c: Span) -> &'s str {
        let t = self.text(c);
        if t.starts_with("//") {
            t.trim_end()
        } else {
            t
        }
    }

    fn is_line_comment(&self, c: Span) -> bool {
        self.text(c).starts_with("//")
    }

    /// Where a node really ends. pest counts the spaces and comments after a rule's
    /// last token into its span when the rule ends in an optional or repeated part
    /// (`reward a = points 1 // note` spans the comment), so they are trimmed off.
    fn tight_end(&self, span: Span) -> u32 {
        let bytes = self.src.as_bytes();
        let mut end = span.end;
        loop {
            while end > span.start
                && bytes
                    .get(end as usize - 1)
                    .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            {
                end -= 1;
            }
            let k = self.comments.partition_point(|c| c.start < end);
            match k.checked_sub(1).and_then(|k| self.comments.get(k)) {
                Some(c) if c.end >= end && c.start >= span.start => end = c.start,
                _ => return end,
            }
        }
    }

    /// The comment covering byte `at`, if any.
    fn comment_around(&self, at: u32) -> Option<Span> {
        let k = self.comments.partition_point(|c| c.start <= at);
        k.checked_sub(1)
            .and_then(|k| self.comments.get(k))
            .copied()
            .filter(|c| at < c.end)
    }

    /// The end of keyword `word` when it is the next token after `pos`; else `pos`.
    fn after_word(&self, pos: u32, word: &str) -> u32 {
        let bytes = self.src.as_bytes();
        let mut at = pos;
        loop {
            if let Some(c) = self.comment_around(at) {
                at = c.end;
            } else if bytes
                .get(at as usize)
                .is_some_and(|b| b.is_ascii_whitespace())
            {
                at += 1;
            } else {
                break;
            }
        }
        match self.src.get(at as usize..) {
            Some(rest) if rest.starts_with(word) => {
                at.saturating_add(u32::try_from(word.len()).unwrap_or(0))
            }
            _ => pos,
        }
    }

    /// Whether any comment starts in `[from, to)`.
    fn has_comment_in(&self, from: u32, to: u32) -> bool {
        let k = self.comments.partition_point(|c| c.start < from);
        self.comments.get(k).is_some_and(|c| c.start < to)
    }

    /// Whether the source between two positions has a line break, and a blank line,
    /// outside comments.
    fn gap_shape(&self, from: u32, to: u32) -> (bool, bool) {
        let bytes = self.src.as_bytes();
        let (mut i, end) = (from as usize, to as usize);
        let mut k = self.comments.partition_point(|c| c.end <= from);
        let (mut newline, mut blank, mut content) = (false, false, false);
        while i < end {
            while self.comments.get(k).is_some_and(|c| (c.end as usize) <= i) {
                k += 1;
            }
            if let Some(c) = self.comments.get(k) {
                if (c.start as usize) <= i {
                    i = c.end as usize;
                    content = true;
                    continue;
                }
            }
            match bytes.get(i) {
                Some(b'\n') => {
                    if newline && !content {
                        blank = true;
                    }
                    newline = true;
                    content = false;
                }
                Some(b' ' | b'\t' | b'\r') => {}
                _ => content = true,
            }
            i += 1;
        }
        (newline, blank)
    }

    fn has_break(&self, from: u32, to: u32) -> bool {
        self.gap_shape(from, to).0
    }

    fn has_blank(&self, from: u32, to: u32) -> bool {
        self.gap_shape(from, to).1
    }

    /// Where the `///` lines before a node start (the node itself when it has none).
    fn doc_start(&self, after: u32, node: u32) -> u32 {
        let between = self.slice(after, node);
        for (i, _) in between.match_indices("///") {
            let at = after.saturating_add(u32::try_from(i).unwrap_or(u32::MAX));
            if self.comment_around(at).is_none() {
                return at;
            }
        }
        node
    }

    /// A literal as written, with the space inside money reduced to one.
    fn lit_src(&self, span: Span) -> String {
        self.text(span)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A string as written; a `"""` string spanning lines is re-indented two spaces
    /// deeper than the current line, keeping its value.
    fn string_src(&self, span: Span) -> String {
        let text = self.text(span);
        if !(text.starts_with("\"\"\"") && text.contains('\n')) {
            return text.to_string();
        }
        let body = text.get(3..text.len().saturating_sub(3)).unwrap_or("");
        let (value, _) = crate::strings::dedent(body);
        // With no non-blank line, dedent removes nothing: the lines go back unindented.
        let inner = if value.trim().is_empty() {
            String::new()
        } else {
            " ".repeat(self.indent + 2)
        };
        let mut out = String::from("\"\"\"\n");
        for line in value.split('\n') {
            if !line.is_empty() {
                out.push_str(&inner);
                out.push_str(line);
            }
            out.push('\n');
        }
        out.push_str(&" ".repeat(self.indent));
        out.push_str("\"\"\"");
        out
    }

    // ------------------------------------------------------------ output

    fn write(&mut self, s: &str) {
        if self.line.is_empty() {
            self.line.push_str(&" ".repeat(self.indent));
        }
        self.line.push_str(s);
    }

    /// The column the next character goes to.
    fn column(&self) -> usize {
        match self.line.rfind('\n') {
            Some(i) => self.line.get(i + 1..).map_or(0, |l| l.chars().count()),
            None if self.line.is_empty() => self.indent,
            None => self.line.chars().count(),
        }
    }

    fn touch(&mut self, end: u32) {
        self.src_pos = self.src_pos.max(end);
    }

    /// Ends the line being built, with the comments that trail it.
    fn newline(&mut self) {
        while let Some(&c) = self.comments.get(self.next) {
            // Trailing: after the line's last token with nothing but spaces (or the
            // `{` or `,` that ends the line) in between.
            let trails = c.start < self.src_pos
                || self
                    .slice(self.src_pos, c.start)
                    .bytes()
                    .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'{' | b','));
            if !trails {
                break;
            }
            self.pending.push(c);
            self.next += 1;
            self.touch(c.end);
        }
        let pending = std::mem::take(&mut self.pending);
        if self.line.is_empty() {
            for c in pending {
                self.out.push_str(&" ".repeat(self.indent));
                self.out.push_str(self.comment_text(c));
                self.out.push('\n');
            }
            return;
        }
        // A `//` comment must end its line: when one would be followed by another
        // comment, all but the last go on their own lines above.
        let split = pending
            .iter()
            .rev()
            .skip(1)
            .any(|c| self.is_line_comment(*c));
        let (above, trailing) = match (split, pending.split_last()) {
            (true, Some((last, rest))) => (rest.to_vec(), vec![*last]),
            _ => (Vec::new(), pending),
        };
        let lead = self.line.len() - self.line.trim_start_matches(' ').len();
        for c in above {
            self.out.push_str(&" ".repeat(lead));
            self.out.push_str(self.comment_text(c));
            self.out.push('\n');
        }
        self.out.push_str(&self.line);
        if !trailing.is_empty() {
            let texts: Vec<&str> = trailing.iter().map(|c| self.comment_text(*c)).collect();
            self.out.push_str(TRAILING_GAP);
            self.out.push_str(&texts.join(" "));
        }
        self.out.push('\n');
        self.line.clear();
    }

    fn blank(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    /// Places a comment on its own line (the line being built is empty).
    fn own_line(&mut self, c: Span) {
        self.next += 1;
        let text = self.comment_text(c);
        self.write(text);
        self.touch(c.end);
        self.newline();
    }

    /// Places the comments that come before `pos`: on their own lines at the start of a
    /// line, else at the end of the line being built.
    fn before(&mut self, pos: u32) {
        while let Some(&c) = self.comments.get(self.next) {
            if c.start >= pos {
                break;
            }
            if self.line.is_empty() {
                self.own_line(c);
            } else {
                self.pending.push(c);
                self.next += 1;
            }
        }
    }

    /// Lays out the space between the previous element (ending at `prev`) and the next
    /// one (starting at `next`): the comments in it and the blank lines around them.
    fn gap(&mut self, prev: Option<u32>, next: u32, mode: Gap) {
        let keep = matches!(mode, Gap::Open | Gap::Keep | Gap::Separate | Gap::Close);
        let force = mode == Gap::Separate && prev.is_some_and(|p| !self.has_blank(p, next));
        let mut cursor = prev;
        let mut first = true;
        while let Some(&c) = self.comments.get(self.next) {
            if c.start >= next {
                break;
            }
            if let Some(cur) = cursor {
                if (keep && self.has_blank(cur, c.start)) || (force && first) {
                    self.blank();
                }
                first = false;
            }
            self.own_line(c);
            cursor = Some(self.src_pos);
        }
        if mode == Gap::Close {
            return;
        }
        if let Some(cur) = cursor {
            if (keep && self.has_blank(cur, next)) || (force && first) {
                self.blank();
            }
        }
    }

    fn docs(&mut self, docs: &Docs) {
        for line in &docs.lines {
            if line.is_empty() {
                self.write("///");
            } else {
                self.write(&format!("/// {line}"));
            }
            self.newline();
        }
    }

    /// Opens a block after its header: `{}` when it holds nothing, else `{` and a
    /// deeper indentation. Returns whether the block has a body to print.
    fn open_block(&mut self, empty: bool, header_end: u32, end: u32) -> bool {
        if empty && !self.has_comment_in(header_end, end) {
            self.write(" {}");
            self.touch(end);
            self.newline();
            return false;
        }
        self.write(" {");
        self.newline();
        self.indent += 2;
        true
    }

    /// Places what is left inside a block, then its `}`.
    fn close_block(&mut self, prev: Option<u32>, end: u32, mode: Gap) {
        self.gap(prev, end, mode);
        self.indent = self.indent.saturating_sub(2);
        self.write("}");
        self.touch(end);
        self.newline();
    }

    // ------------------------------------------------------------ tokens

    fn ident(&mut self, id: &Ident) {
        self.before(id.span.start);
        self.write(&id.name);
        self.touch(id.span.end);
    }

    fn lit(&mut self, lit: &Lit) {
        self.before(lit.span.start);
        let text = self.lit_src(lit.span);
        self.write(&text);
        self.touch(lit.span.end);
    }

    fn string(&mut self, s: &StrLit) {
        self.before(s.span.start);
        let text = self.string_src(s.span);
        self.write(&text);
        self.touch(s.span.end);
    }

    fn padded(&mut self, text: &str, width: usize) {
        self.write(&format!("{text:<width$}"));
    }

    // ------------------------------------------------------------ expressions

    /// Prints an expression. With `cont`, a line break the user made around an `and` or
    /// `or` is kept, the next line starting at column `cont`.
    fn expr(&mut self, e: &Expr, cont: Option<usize>) {
        match &e.kind {
            ExprKind::Lit(_) => {
                self.before(e.span.start);
                let text = self.lit_src(e.span);
                self.write(&text);
            }
            ExprKind::Str(_) | ExprKind::Error => {
                self.before(e.span.start);
                let text = self.string_src(e.span);
                self.write(&text);
            }
            ExprKind::Path(parts) => {
                self.before(e.span.start);
                let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
                self.write(&names.join("."));
            }
            ExprKind::Call(name, args) => {
                self.ident(name);
                self.write("(");
                self.expr_list(args, cont);
                self.write(")");
            }
            ExprKind::Where(subject, filter) => {
                self.expr(subject, cont);
                self.write(" where ");
                self.expr(filter, cont);
            }
            ExprKind::List(items) => {
                self.before(e.span.start);
                self.write("[");
                self.expr_list(items, cont);
                self.write("]");
            }
            ExprKind::Binary(op, lhs, rhs) => {
                self.expr(lhs, cont);
                let breaks = matches!(op, BinOp::And | BinOp::Or)
                    && self.has_break(lhs.span.end, rhs.span.start);
                match cont {
                    Some(col) if breaks => {
                        self.newline();
                        let saved = self.indent;
                        self.indent = col;
                        self.before(rhs.span.start);
                        self.write(op.as_str());
                        self.write(" ");
                        self.indent = saved;
                    }
                    _ => self.write(&format!(" {} ", op.as_str())),
                }
                self.expr(rhs, cont);
            }
            ExprKind::Unary(op, inner) => {
                self.before(e.span.start);
                self.write(match op {
                    UnOp::Not => "not ",
                    UnOp::Neg => "-",
                });
                self.expr(inner, cont);
            }
            ExprKind::Paren(inner) => {
                self.before(e.span.start);
                self.write("(");
                self.expr(inner, cont);
                self.write(")");
            }
        }
        self.touch(e.span.end);
    }

    fn expr_list(&mut self, items: &[Expr], cont: Option<usize>) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.write(", ");
            }
            self.expr(item, cont);
        }
    }

    /// An expression printed on one line, for measuring.
    fn flat(&self, e: &Expr) -> String {
        match &e.kind {
            ExprKind::Lit(_) => self.lit_src(e.span),
            ExprKind::Str(_) | ExprKind::Error => self.string_src(e.span),
            ExprKind::Path(parts) => parts
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join("."),
            ExprKind::Call(name, args) => format!("{}({})", name.name, self.flat_list(args)),
            ExprKind::Where(subject, filter) => {
                format!("{} where {}", self.flat(subject), self.flat(filter))
            }
            ExprKind::List(items) => format!("[{}]", self.flat_list(items)),
            ExprKind::Binary(op, lhs, rhs) => {
                format!("{} {} {}", self.flat(lhs), op.as_str(), self.flat(rhs))
            }
            ExprKind::Unary(UnOp::Not, inner) => format!("not {}", self.flat(inner)),
            ExprKind::Unary(UnOp::Neg, inner) => format!("-{}", self.flat(inner)),
            ExprKind::Paren(inner) => format!("({})", self.flat(inner)),
        }
    }

    fn flat_list(&self, items: &[Expr]) -> String {
        items
            .iter()
            .map(|e| self.flat(e))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// An expression that may keep the user's `and`/`or` line breaks, continuing under
    /// its own first character.
    fn breakable(&mut self, e: &Expr) {
        let col = self.column();
        self.expr(e, Some(col));
    }

    // ------------------------------------------------------------ file and items

    fn file(&mut self, file: &File) {
        let items = &file.items;
        let mut grouped = vec![false; items.len()];
        for (i, pair) in items.windows(2).enumerate() {
            if let ([a, b], Some(slot)) = (pair, grouped.get_mut(i + 1)) {
                *slot = self.grouped(a, b);
            }
        }
        let widths = self.run_widths(items, &grouped);
        let mut prev: Option<u32> = None;
        for (i, item) in items.iter().enumerate() {
            let mode = match prev {
                None => Gap::Open,
                Some(_) if grouped.get(i).copied().unwrap_or(false) => Gap::Tight,
                Some(_) => Gap::Separate,
            };
            self.gap(prev, item.span.start, mode);
            self.item(item, widths.get(i).copied().unwrap_or_default());
            prev = Some(self.tight_end(item.span));
        }
        self.gap(
            prev,
            u32::try_from(self.src.len()).unwrap_or(u32::MAX),
            Gap::Close,
        );
    }

    /// Whether an item prints on one line and may sit right under one of its kind.
    fn groupable(&self, item: &Item) -> bool {
        match &item.kind {
            ItemKind::Import(_) | ItemKind::Reward(_) | ItemKind::Segment(_) | ItemKind::Kpi(_) => {
                true
            }
            ItemKind::Event(ev) => {
                self.event_layout(ev, self.tight_end(item.span)) != EventLayout::Block
            }
            _ => false,
        }
    }

    /// Whether `b` stays right under `a`, with no blank line.
    fn grouped(&self, a: &Item, b: &Item) -> bool {
        std::mem::discriminant(&a.kind) == std::mem::discriminant(&b.kind)
            && self.groupable(a)
            && self.groupable(b)
            && !self.has_blank(self.tight_end(a.span), b.span.start)
    }

    /// The alignment widths of each item, shared across each run of grouped items.
    fn run_widths(&self, items: &[Item], grouped: &[bool]) -> Vec<RunWidths> {
        let mut out = vec![RunWidths::default(); items.len()];
        let mut start = 0;
        while start < items.len() {
            let mut end = start + 1;
            while grouped.get(end).copied().unwrap_or(false) {
                end += 1;
            }
            let run = items.get(start..end).unwrap_or(&[]);
            let mut w = RunWidths::default();
            for item in run {
                let (name, formula) = match &item.kind {
                    ItemKind::Reward(r) => (r.name.name.chars().count(), 0),
                    ItemKind::Segment(s) => (s.name.name.chars().count(), 0),
                    ItemKind::Kpi(k) => (
                        k.name.name.chars().count(),
                        self.flat(&k.formula).chars().count(),
                    ),
                    _ => (0, 0),
                };
                w.name = w.name.max(name);
                w.formula = w.formula.max(formula);
            }
            for slot in out.get_mut(start..end).into_iter().flatten() {
                *slot = w;
            }
            start = end;
        }
        out
    }

    fn item(&mut self, item: &Item, widths: RunWidths) {
        self.touch(item.span.start);
        self.docs(&item.docs);
        let end = self.tight_end(item.span);
        match &item.kind {
            ItemKind::Import(import) => {
                self.before(import.path.span.start);
                self.write("import ");
                self.string(&import.path);
                self.end_line(end);
            }
            ItemKind::Campaign(c) => self.campaign(c, end),
            ItemKind::User(u) => {
                self.before(u.keyword.start);
                self.write("user");
                self.touch(u.keyword.end);
                if self.open_block(u.fields.is_empty(), u.keyword.end, end) {
                    self.field_block(&u.fields, u.keyword.end, end);
                }
            }
            ItemKind::Event(ev) => self.event(ev, end),
            ItemKind::Reward(r) => self.reward(r, widths.name, end),
            ItemKind::Segment(s) => {
                self.before(s.name.span.start);
                self.write("segment ");
                self.ident(&s.name);
                self.padded(
                    "",
                    widths.name.saturating_sub(s.name.name.chars().count()) + 1,
                );
                self.write("= ");
                self.breakable(&s.condition);
                self.end_line(end);
            }
            ItemKind::Message(m) => self.message(m, end),
            ItemKind::Phase(p) => self.phase(p, end),
            ItemKind::Tiers(t) => self.tiers(t, end),
            ItemKind::Group(g) => self.group(g, end),
            ItemKind::Experiment(x) => self.experiment(x, end),
            ItemKind::Kpi(k) => {
                self.before(k.name.span.start);
                self.write("kpi ");
                self.ident(&k.name);
                self.padded(
                    "",
                    widths.name.saturating_sub(k.name.name.chars().count()) + 1,
                );
                self.write("= ");
                self.expr(&k.formula, None);
                let used = self.flat(&k.formula).chars().count();
                self.padded("", widths.formula.saturating_sub(used) + 1);
                self.write(&format!("target {} ", k.op.as_str()));
                self.lit(&k.target);
                if let Some(by) = &k.by {
                    self.write(" by ");
                    self.ident(by);
                }
                self.end_line(end);
            }
        }
    }

    /// Ends a one-line construct that finishes at `end`.
    fn end_line(&mut self, end: u32) {
        self.touch(end);
        self.newline();
    }

    fn campaign(&mut self, c: &Campaign, end: u32) {
        self.before(c.name.span.start);
        self.write("campaign ");
        self.ident(&c.name);
        if !self.open_block(c.settings.is_empty(), c.name.span.end, end) {
            return;
        }
        let width = c
            .settings
            .iter()
            .map(|s| s.key.name.chars().count())
            .max()
            .unwrap_or(0)
            + 1;
        for s in &c.settings {
            self.gap(None, s.span.start, Gap::Tight);
            self.before(s.key.span.start);
            self.padded(&s.key.name, width);
            self.touch(s.key.span.end);
            match &s.value {
                SettingValue::Name(v) | SettingValue::Timezone(v) => self.string(v),
                SettingValue::Start(l) | SettingValue::Budget(l) | SettingValue::Holdout(l) => {
                    self.lit(l)
                }
                SettingValue::Locales(locales) => {
                    for (i, l) in locales.iter().enumerate() {
                        if i > 0 {
                            self.write(", ");
                        }
                        self.ident(l);
                    }
                }
                SettingValue::Audience(e) => self.breakable(e),
                SettingValue::Cap(l) => {
                    self.lit(l);
                    self.write(" messages per day");
                }
                SettingValue::Quiet(a, b) => {
                    self.lit(a);
                    self.write(" .. ");
                    self.lit(b);
                }
                SettingValue::Enroll(who) => self.ident(who),
            }
            let setting_end = self.tight_end(s.span);
            self.end_line(setting_end);
        }
        self.close_block(None, end, Gap::Tight);
    }

    /// The fields of a `user` or multi-line `event` block, one per line, types aligned.
    fn field_block(&mut self, fields: &[Field], header_end: u32, end: u32) {
        let width = fields
            .iter()
            .map(|f| f.name.name.chars().count() + 1)
            .max()
            .unwrap_or(0)
            + 1;
        let mut prev = header_end;
        for f in fields {
            let start = if f.docs.lines.is_empty() {
                f.name.span.start
            } else {
                self.doc_start(prev, f.name.span.start)
            };
            self.gap(None, start, Gap::Tight);
            self.touch(start);
            self.docs(&f.docs);
            self.before(f.name.span.start);
            self.padded(&format!("{}:", f.name.name), width);
            self.touch(f.name.span.end);
            self.type_ref(&f.ty);
            self.end_line(f.ty.span().end);
            prev = f.ty.span().end;
        }
        self.close_block(None, end, Gap::Tight);
    }

    fn type_ref(&mut self, ty: &TypeRef) {
        self.before(ty.span().start);
        let text = type_text(ty);
        self.write(&text);
        self.touch(ty.span().end);
    }

    /// How an event is laid out: as written on one line or several; `{}` when empty.
    fn event_layout(&self, ev: &EventDef, end: u32) -> EventLayout {
        let inner_comments = self.has_comment_in(ev.name.span.end, end);
        if ev.fields.is_empty() && !inner_comments {
            EventLayout::Empty
        } else if !self.slice(ev.name.span.start, end).contains('\n') {
            EventLayout::OneLine
        } else {
            EventLayout::Block
        }
    }

    fn event(&mut self, ev: &EventDef, end: u32) {
        self.before(ev.name.span.start);
        self.write("event ");
        self.ident(&ev.name);
        match self.event_layout(ev, end) {
            EventLayout::Empty => {
                self.write(" {}");
                self.end_line(end);
            }
            EventLayout::OneLine => {
                if ev.fields.is_empty() {
                    self.write(" {}");
                } else {
                    self.write(" { ");
                    for (i, f) in ev.fields.iter().enumerate() {
                        if i > 0 {
                            self.write(", ");
                        }
                        self.ident(&f.name);
                        self.write(": ");
                        self.type_ref(&f.ty);
                    }
                    self.write(" }");
                }
                self.end_line(end);
            }
            EventLayout::Block => {
                self.write(" {");
                self.newline();
                self.indent += 2;
                self.field_block(&ev.fields, ev.name.span.end, end);
            }
        }
    }

    fn reward(&mut self, r: &RewardDef, width: usize, end: u32) {
        self.before(r.name.span.start);
        self.write("reward ");
        self.ident(&r.name);
        self.padded("", width.saturating_sub(r.name.name.chars().count()) + 1);
        self.write("= ");
        self.before(r.kind_span.start);
        match &r.kind {
            RewardKind::Points(n) => {
                self.write("points ");
                self.lit(n);
            }
            RewardKind::Coupon => self.write("coupon"),
            RewardKind::Pool(amount) => {
                self.write("pool ");
                self.lit(amount);
            }
            RewardKind::Item(label) => {
                self.write("item ");
                self.string(label);
            }
            RewardKind::Badge(label) => {
                self.write("badge ");
                self.string(label);
            }
            RewardKind::Draw(entries) => {
                if entries.is_empty() {
                    self.write("draw {}");
                } else {
                    self.write("draw {");
                    for (i, e) in entries.iter().enumerate() {
                        self.write(if i == 0 { " " } else { "  " });
                        self.lit(&e.weight);
                        self.write(" ");
                        self.ident(&e.reward);
                    }
                    self.write(" }");
                }
            }
        }
        self.touch(r.kind_span.end);
        if !r.props.is_empty() {
            self.write(" {");
            for (i, p) in r.props.iter().enumerate() {
                self.write(if i == 0 { " " } else { "  " });
                self.ident(&p.key);
                self.write(" ");
                match &p.value {
                    PropValue::Label(s) => self.string(s),
                    PropValue::StockPerDay(l) => {
                        self.lit(l);
                        self.write(" per day");
                    }
                    PropValue::Stock(l)
                    | PropValue::PerUser(l)
                    | PropValue::Value(l)
                    | PropValue::Expires(l)
                    | PropValue::Cost(l) => self.lit(l),
                }
            }
            self.write(" }");
        }
        self.end_line(end);
    }

    fn message(&mut self, m: &MessageDef, end: u32) {
        self.before(m.name.span.start);
        self.write("message ");
        self.ident(&m.name);
        self.write(" via ");
        self.ident(&m.channel);
        let mut header_end = m.channel.span.end;
        if let Some(e) = &m.experiment {
            self.write(" by ");
            self.ident(e);
            header_end = e.span.end;
        }
        if !self.open_block(
            m.entries.is_empty() && m.variants.is_empty(),
            header_end,
            end,
        ) {
            return;
        }
        // Entries and variant blocks in the order written (only a campaign with an
        // error mixes them).
        let mut variants = m.variants.iter().peekable();
        let mut entries = m.entries.iter().peekable();
        let width = self.entry_widths(&m.entries);
        loop {
            let next_variant = variants.peek().map(|v| v.span.start);
            let next_entry = entries.peek().map(|e| e.locale.span.start);
            match (next_entry, next_variant) {
                (Some(e), v) if v.is_none_or(|v| e < v) => {
                    if let Some(entry) = entries.next() {
                        self.entry(entry, width);
                    }
                }
                (_, Some(_)) => {
                    if let Some(v) = variants.next() {
                        self.variant_body(v);
                    }
                }
                _ => break,
            }
        }
        self.close_block(None, end, Gap::Tight);
    }

    /// `variant NAME { entries }`, one entry a line.
    fn variant_body(&mut self, v: &VariantBody) {
        self.gap(None, v.span.start, Gap::Tight);
        self.before(v.span.start);
        self.write("variant ");
        self.ident(&v.name);
        if !self.open_block(v.entries.is_empty(), v.name.span.end, v.span.end) {
            return;
        }
        let width = self.entry_widths(&v.entries);
        for e in &v.entries {
            self.entry(e, width);
        }
        self.close_block(None, v.span.end, Gap::Tight);
    }

    /// Whether an entry's text is written on one line.
    fn one_line(&self, e: &MessageEntry) -> bool {
        !self
            .src
            .get(e.text.span.start as usize..e.text.span.end as usize)
            .unwrap_or("")
            .contains('\n')
    }

    /// The column widths of subject and body locales among one-line entries.
    fn entry_widths(&self, entries: &[MessageEntry]) -> (usize, usize) {
        let width = |subject: bool| {
            entries
                .iter()
                .filter(|e| e.subject == subject && self.one_line(e))
                .map(|e| e.locale.name.chars().count())
                .max()
                .unwrap_or(0)
                + 1
        };
        (width(true), width(false))
    }

    /// One body or subject line, its locale padded to `(subject, body)` widths.
    fn entry(&mut self, e: &MessageEntry, (subject_width, body_width): (usize, usize)) {
        self.gap(None, e.locale.span.start, Gap::Tight);
        if e.subject {
            self.write("subject ");
        }
        let w = match (self.one_line(e), e.subject) {
            (false, _) => 0,
            (true, true) => subject_width,
            (true, false) => body_width,
        };
        self.before(e.locale.span.start);
        self.padded(&e.locale.name, w.max(e.locale.name.chars().count() + 1));
        self.touch(e.locale.span.end);
        self.string(&e.text);
        self.end_line(e.text.span.end);
    }

    /// `experiment NAME { variants A 50%, B 50% }`, on three lines.
    fn experiment(&mut self, x: &ExperimentDef, end: u32) {
        self.before(x.name.span.start);
        self.write("experiment ");
        self.ident(&x.name);
        self.write(" {");
        self.newline();
        self.indent += 2;
        self.gap(None, x.keyword.start, Gap::Tight);
        self.before(x.keyword.start);
        self.write("variants ");
        self.touch(x.keyword.end);
        for (i, v) in x.variants.iter().enumerate() {
            if i > 0 {
                self.write(", ");
            }
            self.ident(&v.name);
            self.write(" ");
            self.lit(&v.weight);
        }
        self.newline();
        self.close_block(None, end, Gap::Tight);
    }

    fn phase(&mut self, p: &PhaseDef, end: u32) {
        self.before(p.name.span.start);
        self.write("phase ");
        self.ident(&p.name);
        let mut header_end = match &p.timing {
            PhaseTiming::For(d) => {
                self.write(" for ");
                self.lit(d);
                d.span.end
            }
            PhaseTiming::Window(a, b) => {
                self.write(" from ");
                self.lit(a);
                self.write(" to ");
                self.lit(b);
                b.span.end
            }
        };
        match &p.until {
            Some(Until::BudgetExhausted(span)) => {
                self.before(span.start);
                self.write(" until budget exhausted");
                self.touch(span.end);
                header_end = span.end;
            }
            Some(Until::Condition(e)) => {
                self.write(" until ");
                self.breakable(e);
                header_end = e.span.end;
            }
            None => {}
        }
        if !self.open_block(p.stmts.is_empty(), header_end, end) {
            return;
        }
        let mut prev: Option<u32> = None;
        for s in &p.stmts {
            self.gap(
                prev,
                s.span.start,
                if prev.is_none() { Gap::Open } else { Gap::Keep },
            );
            self.phase_stmt(s);
            prev = Some(self.tight_end(s.span));
        }
        self.close_block(prev, end, Gap::Close);
    }

    fn phase_stmt(&mut self, s: &PhaseStmt) {
        self.touch(s.span.start);
        self.docs(&s.docs);
        let end = self.tight_end(s.span);
        match &s.kind {
            PhaseStmtKind::Task(t) => {
                self.before(t.name.span.start);
                self.write("task ");
                self.ident(&t.name);
                if self.open_block(t.stmts.is_empty(), t.name.span.end, end) {
                    for ts in &t.stmts {
                        self.task_stmt(ts);
                    }
                    self.close_block(None, end, Gap::Tight);
                }
            }
            PhaseStmtKind::Leaderboard(lb) => {
                self.before(lb.name.span.start);
                self.write("leaderboard ");
                self.ident(&lb.name);
                if self.open_block(
                    lb.score.is_none()
                        && lb.show.is_none()
                        && lb.every.is_none()
                        && lb.repeated.is_empty(),
                    lb.name.span.end,
                    end,
                ) {
                    // Every line in source order, repeated ones included (they are an
                    // error, but formatting never drops what was written).
                    let mut lines: Vec<(u32, BoardLine<'_>)> = Vec::new();
                    lines.extend(lb.score.iter().map(|e| (e.span.start, BoardLine::Score(e))));
                    lines.extend(lb.show.iter().map(|n| (n.span.start, BoardLine::Show(n))));
                    lines.extend(lb.every.iter().map(|d| (d.span.start, BoardLine::Every(d))));
                    for r in &lb.repeated {
                        lines.push(match r {
                            LeaderboardLine::Score { span, expr } => {
                                (span.start, BoardLine::Score(expr))
                            }
                            LeaderboardLine::Show { span, top } => {
                                (span.start, BoardLine::Show(top))
                            }
                            LeaderboardLine::Every { span, every } => {
                                (span.start, BoardLine::Every(every))
                            }
                        });
                    }
                    lines.sort_by_key(|(start, _)| *start);
                    for (_, line) in lines {
                        match line {
                            BoardLine::Score(e) => self.score(Some(e)),
                            BoardLine::Show(n) => self.show(Some(n)),
                            BoardLine::Every(d) => self.board_every(d),
                        }
                    }
                    self.close_block(None, end, Gap::Tight);
                }
            }
            PhaseStmtKind::Award(a) => {
                self.before(a.leaderboard.span.start);
                self.write("award ");
                self.ident(&a.leaderboard);
                self.write(" rank ");
                self.lit(&a.from);
                if let Some(to) = &a.to {
                    self.write("..");
                    self.lit(to);
                }
                let header_end = a.to.as_ref().unwrap_or(&a.from).span.end;
                self.arrow(header_end, &a.actions);
                self.end_line(end);
            }
            PhaseStmtKind::Goal(g) => {
                self.before(g.name.span.start);
                self.write("goal ");
                self.ident(&g.name);
                self.write(" when ");
                self.breakable(&g.condition);
                self.arrow(g.condition.span.end, &g.actions);
                self.end_line(end);
            }
            PhaseStmtKind::Send(send) => {
                self.before(send.message.span.start);
                self.write("send ");
                self.ident(&send.message);
                match &send.trigger {
                    SendTrigger::At { times, daily } => {
                        self.write(" at");
                        self.times(times, *daily);
                    }
                    SendTrigger::OnEnter(span) => {
                        self.before(span.start);
                        self.write(" on enter");
                        self.touch(span.end);
                    }
                    SendTrigger::OnEnroll(span) => {
                        self.before(span.start);
                        self.write(" on enroll");
                        self.touch(span.end);
                    }
                    SendTrigger::Inactive(d) => {
                        self.write(" after ");
                        self.lit(d);
                        self.write(" inactive");
                    }
                    SendTrigger::After { delay, from } => {
                        self.write(" ");
                        self.lit(delay);
                        self.write(" after ");
                        self.ident(from);
                    }
                }
                self.recipients_and_if(send.to.as_ref(), send.condition.as_ref());
                self.end_line(end);
            }
            PhaseStmtKind::Grant(g) => {
                self.before(g.reward.span.start);
                self.write("grant ");
                self.ident(&g.reward);
                self.before(g.on_span.start);
                match g.on {
                    GrantOn::Enroll => self.write(" on enroll"),
                    GrantOn::Enter => self.write(" on enter"),
                    GrantOn::At => {
                        self.write(" at");
                        self.touch(g.on_span.end);
                        self.times(&g.times, false);
                    }
                }
                self.recipients_and_if(g.to.as_ref(), g.condition.as_ref());
                self.end_line(end);
            }
            PhaseStmtKind::Raffle(r) => {
                self.before(r.name.span.start);
                self.write("raffle ");
                self.ident(&r.name);
                self.before(r.at.start);
                self.write(" at");
                self.touch(r.at.end);
                self.times(&r.times, r.daily);
                self.write(" pick ");
                self.lit(&r.pick);
                let mut header_end = r.pick.span.end;
                if let Some(from) = &r.from {
                    self.write(" from ");
                    self.ident(from);
                    header_end = from.span.end;
                }
                if let Some(filter) = &r.filter {
                    self.write(" where ");
                    self.breakable(filter);
                    header_end = filter.span.end;
                }
                self.arrow(header_end, &r.actions);
                self.end_line(end);
            }
        }
    }

    /// ` 12:00, 20:00 daily`: the times of an `at`, the keyword already written.
    fn times(&mut self, times: &[Lit], daily: bool) {
        for (i, t) in times.iter().enumerate() {
            self.write(if i == 0 { " " } else { ", " });
            self.lit(t);
        }
        if daily {
            self.write(" daily");
        }
    }

    /// ` => ACTIONS` after a header that ends at `header_end`. A line break the user
    /// made between the header and the actions is kept: `=>` then starts the next line,
    /// two spaces deeper than the statement.
    fn arrow(&mut self, header_end: u32, actions: &Actions) {
        if self.has_break(header_end, actions.span.start) {
            self.touch(header_end);
            // A group's padded keyword leaves spaces at the end of the line.
            let kept = self.line.trim_end_matches(' ').len();
            self.line.truncate(kept);
            self.newline();
            self.indent += 2;
            self.before(actions.span.start);
            self.write("=> ");
            self.actions(actions);
            self.indent = self.indent.saturating_sub(2);
        } else {
            self.write(" => ");
            self.actions(actions);
        }
    }

    /// One action, or a block: `{ grant a  send m }` when written on one line, else one
    /// action per line and `}` on a line of its own.
    fn actions(&mut self, a: &Actions) {
        if !self.text(a.span).starts_with('{') {
            for action in &a.list {
                self.action(action);
            }
            return;
        }
        self.before(a.span.start);
        self.write("{");
        self.touch(a.span.start.saturating_add(1));
        if a.list.is_empty() || !self.has_break(a.span.start, a.span.end) {
            for (i, action) in a.list.iter().enumerate() {
                self.write(if i == 0 { " " } else { "  " });
                self.action(action);
            }
            self.before(a.span.end.saturating_sub(1));
            self.write(if a.list.is_empty() { "}" } else { " }" });
            self.touch(a.span.end);
            return;
        }
        self.newline();
        self.indent += 2;
        for action in &a.list {
            self.gap(None, action.span.start, Gap::Tight);
            self.action(action);
            self.newline();
        }
        self.close_block(None, a.span.end, Gap::Tight);
    }

    fn action(&mut self, a: &Action) {
        self.before(a.span.start);
        match &a.kind {
            ActionKind::Grant { reward, to } => {
                self.write("grant ");
                self.ident(reward);
                self.target_after(" to ", to.as_ref());
            }
            ActionKind::Send { message, to } => {
                self.write("send ");
                self.ident(message);
                self.target_after(" to ", to.as_ref());
            }
            ActionKind::Use { units, count } => {
                self.write("use ");
                self.units(units, count.as_ref());
            }
            ActionKind::Give { units, count, to } => {
                self.write("give ");
                self.units(units, count.as_ref());
                self.target_after(" to ", Some(to));
            }
            ActionKind::Revoke { units, count, from } => {
                self.write("revoke ");
                self.units(units, count.as_ref());
                self.target_after(" from ", from.as_ref());
            }
            ActionKind::Open { group, key } => {
                self.write("open ");
                self.ident(group);
                self.target_after(" by ", Some(key));
            }
            ActionKind::Join { group, key } => {
                self.write("join ");
                self.ident(group);
                self.target_after(" by ", Some(key));
            }
        }
        self.touch(a.span.end);
    }

    /// `REWARD [N]` or `N points`.
    fn units(&mut self, units: &Units, count: Option<&Lit>) {
        match units {
            Units::Reward(reward) => {
                self.ident(reward);
                if let Some(n) = count {
                    self.write(" ");
                    self.lit(n);
                }
            }
            Units::Points(points) => {
                if let Some(n) = count {
                    self.lit(n);
                    self.write(" ");
                }
                self.before(points.start);
                self.write("points");
                self.touch(points.end);
            }
        }
    }

    /// ` to TARGET` (or ` from`, ` by`) when there is a target.
    fn target_after(&mut self, word: &str, target: Option<&Target>) {
        if let Some(t) = target {
            self.write(word);
            self.target(t);
        }
    }

    fn target(&mut self, t: &Target) {
        self.before(t.span.start);
        let names: Vec<&str> = t.path.iter().map(|p| p.name.as_str()).collect();
        self.write(&names.join("."));
        self.touch(t.span.end);
    }

    fn score(&mut self, score: Option<&Expr>) {
        if let Some(e) = score {
            self.gap(None, e.span.start, Gap::Tight);
            self.write("score ");
            self.breakable(e);
            self.end_line(e.span.end);
        }
    }

    fn board_every(&mut self, every: &Lit) {
        self.gap(None, every.span.start, Gap::Tight);
        self.write("every ");
        self.lit(every);
        self.end_line(every.span.end);
    }

    fn show(&mut self, show: Option<&Lit>) {
        if let Some(n) = show {
            self.gap(None, n.span.start, Gap::Tight);
            self.write("show top ");
            self.lit(n);
            self.end_line(n.span.end);
        }
    }

    /// The `to RECIPIENTS` and `if EXPR` ending a phase-level send or grant.
    fn recipients_and_if(&mut self, to: Option<&Ident>, condition: Option<&Expr>) {
        if let Some(to) = to {
            self.write(" to ");
            self.ident(to);
        }
        if let Some(c) = condition {
            self.write(" if ");
            self.breakable(c);
        }
    }

    fn task_stmt(&mut self, s: &TaskStmt) {
        let keyword = match s {
            TaskStmt::On { keyword, .. }
            | TaskStmt::Limit { keyword, .. }
            | TaskStmt::Within { keyword, .. }
            | TaskStmt::Streak { keyword, .. }
            | TaskStmt::After { keyword, .. }
            | TaskStmt::Every { keyword, .. } => *keyword,
            TaskStmt::Action(a) => Span {
                start: a.span.start,
                end: a.span.start,
            },
        };
        self.gap(None, keyword.start, Gap::Tight);
        self.touch(keyword.end);
        match s {
            TaskStmt::On { event, filter, .. } => {
                self.write("on ");
                self.ident(event);
                if let Some(f) = filter {
                    self.write(" where ");
                    self.breakable(f);
                }
            }
            TaskStmt::Limit {
                count,
                period,
                period_span,
                ..
            } => {
                self.write("limit ");
                self.lit(count);
                self.before(period_span.start);
                match period {
                    Period::Day => self.write(" per day"),
                    Period::User => self.write(" per user"),
                    Period::Phase => self.write(" per phase"),
                    Period::Field(field) => {
                        self.write(" per ");
                        self.target(field);
                    }
                }
                self.touch(period_span.end);
            }
            TaskStmt::Within { duration, of, .. } => {
                self.write("within ");
                self.lit(duration);
                self.write(" of ");
                self.ident(of);
            }
            TaskStmt::Action(a) => self.action(a),
            TaskStmt::Streak { days, actions, .. } => {
                self.write("streak ");
                self.lit(days);
                self.write(" days");
                let days_end = self.after_word(days.span.end, "days");
                self.touch(days_end);
                self.arrow(days_end, actions);
            }
            TaskStmt::After { count, actions, .. } => {
                self.write("after ");
                self.lit(count);
                self.arrow(count.span.end, actions);
            }
            TaskStmt::Every { count, actions, .. } => {
                self.write("every ");
                self.lit(count);
                self.arrow(count.span.end, actions);
            }
        }
        self.newline();
    }

    fn tiers(&mut self, t: &TiersDef, end: u32) {
        self.before(t.keyword.start);
        self.write("tiers");
        self.touch(t.keyword.end);
        if !self.open_block(t.tiers.is_empty(), t.keyword.end, end) {
            return;
        }
        let width = t
            .tiers
            .iter()
            .map(|tier| tier.name.name.chars().count())
            .max()
            .unwrap_or(0)
            + 1;
        let mut prev = t.keyword.end;
        for tier in &t.tiers {
            let start = if tier.docs.lines.is_empty() {
                tier.name.span.start
            } else {
                self.doc_start(prev, tier.name.span.start)
            };
            self.gap(None, start, Gap::Tight);
            self.touch(start);
            self.docs(&tier.docs);
            self.before(tier.name.span.start);
            self.padded(&tier.name.name, width);
            self.touch(tier.name.span.end);
            self.write("at ");
            self.lit(&tier.threshold);
            self.write(" points");
            let points_end = self.after_word(tier.threshold.span.end, "points");
            self.touch(points_end);
            if let Some(actions) = &tier.actions {
                self.arrow(points_end, actions);
            }
            self.newline();
            prev = tier.actions.as_ref().map_or(points_end, |a| a.span.end);
        }
        self.close_block(None, end, Gap::Tight);
    }

    /// A group kind: `size` and `within` values aligned one column after `within`, the
    /// outcomes' `=>` one column after `expired` (as the spec writes them).
    fn group(&mut self, g: &GroupDef, end: u32) {
        self.before(g.name.span.start);
        self.write("group ");
        self.ident(&g.name);
        if !self.open_block(g.lines.is_empty(), g.name.span.end, end) {
            return;
        }
        for line in &g.lines {
            let keyword = match line {
                GroupLine::Size { keyword, .. }
                | GroupLine::Within { keyword, .. }
                | GroupLine::Filled { keyword, .. }
                | GroupLine::Expired { keyword, .. } => *keyword,
            };
            self.gap(None, keyword.start, Gap::Tight);
            self.before(keyword.start);
            self.touch(keyword.end);
            match line {
                GroupLine::Size { size: value, .. } | GroupLine::Within { within: value, .. } => {
                    let word = if matches!(line, GroupLine::Size { .. }) {
                        "size"
                    } else {
                        "within"
                    };
                    self.padded(word, GROUP_WIDTH);
                    self.lit(value);
                    self.end_line(value.span.end);
                }
                GroupLine::Filled { actions, .. } | GroupLine::Expired { actions, .. } => {
                    let word = if matches!(line, GroupLine::Filled { .. }) {
                        "filled"
                    } else {
                        "expired"
                    };
                    self.padded(word, GROUP_WIDTH);
                    self.arrow(keyword.end, actions);
                    self.end_line(actions.span.end);
                }
            }
        }
        self.close_block(None, end, Gap::Tight);
    }
}

fn type_text(ty: &TypeRef) -> String {
    match ty {
        TypeRef::Named(id) => id.name.clone(),
        TypeRef::List(inner, _) => format!("list<{}>", type_text(inner)),
    }
}

/// One line of a leaderboard, in the order written.
enum BoardLine<'a> {
    Score(&'a Expr),
    Show(&'a Lit),
    Every(&'a Lit),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(src: &str) -> String {
        match format(src) {
            Ok(out) => out,
            Err(e) => panic!("{e}: {src}"),
        }
    }

    /// Formats and checks the result is a fixed point.
    fn stable(src: &str) -> String {
        let once = fmt(src);
        assert_eq!(fmt(&once), once, "not idempotent; first pass:\n{once}");
        once
    }

    #[test]
    fn refuses_broken_files() {
        assert_eq!(
            format("rewrd a = points 10\n"),
            Err(FormatError::Syntax { count: 1 })
        );
        assert!(matches!(
            format("reward a = points 3x\nreward b = coupon { value 2 cny }\n"),
            Err(FormatError::Syntax { count: 2 })
        ));
        assert!(format("message m via push {\n  en \"open\n}\n").is_err());
        assert_eq!(
            FormatError::Syntax { count: 1 }.to_string(),
            "the file has a syntax error, so it was not formatted"
        );
    }

    #[test]
    fn empty_and_comment_only_files() {
        assert_eq!(stable(""), "");
        assert_eq!(stable("\n\n"), "");
        assert_eq!(
            stable("// only a comment\n\n\n/* and another */  \n"),
            "// only a comment\n\n/* and another */\n"
        );
    }

    #[test]
    fn aligns_settings_fields_and_rewards() {
        let src = "campaign c { name \"C\" timezone \"UTC\"\n locales en, de }\nuser { nickname : string\n  level: int }\n\
                   reward a = points 10\nreward long_name = coupon{value 20 CNY stock 5}\n";
        let want = "campaign c {\n  name     \"C\"\n  timezone \"UTC\"\n  locales  en, de\n}\n\n\
                    user {\n  nickname: string\n  level:    int\n}\n\n\
                    reward a         = points 10\nreward long_name = coupon { value 20 CNY  stock 5 }\n";
        assert_eq!(stable(src), want);
    }

    #[test]
    fn events_keep_their_shape() {
        let src = "event checkin {\n}\nevent share { channel: string }\nevent order {\n  amount: money,\n  sku_code: list<string>\n}\n";
        let want = "event checkin {}\nevent share { channel: string }\n\nevent order {\n  amount:   money\n  sku_code: list<string>\n}\n";
        assert_eq!(stable(src), want);
    }

    #[test]
    fn groups_only_what_was_written_together() {
        let src = "reward a = points 1\n\nreward bb = points 2\nreward c = points 3\nkpi k = count(x) target >= 1\n";
        let want = "reward a = points 1\n\nreward bb = points 2\nreward c  = points 3\n\nkpi k = count(x) target >= 1\n";
        assert_eq!(stable(src), want);
    }

    #[test]
    fn kpis_align_equals_and_target() {
        let src = "kpi reach = unique(a)/audience target >= 10%\nkpi cost_per_head = spend / participants target <= 5 CNY\n";
        let want = "kpi reach         = unique(a) / audience target >= 10%\n\
                    kpi cost_per_head = spend / participants target <= 5 CNY\n";
        assert_eq!(stable(src), want);
    }

    #[test]
    fn kpi_filters_and_arms() {
        let src = "kpi big = count(purchase   where event.amount>=100 CNY)/audience target >= 0.1   by   holdout\n";
        let want = "kpi big = count(purchase where event.amount >= 100 CNY) / audience target >= 0.1 by holdout\n";
        assert_eq!(stable(src), want);
    }

    #[test]
    fn messages_align_one_line_entries_and_reindent_multiline() {
        let src = "message m via email {\nsubject zh-CN \"主题\"\nsubject en \"Subject\"\n      en \"\"\"\n        Hi,\n          indented\n\n        bye\n        \"\"\"\n}\n";
        let want = "message m via email {\n  subject zh-CN \"主题\"\n  subject en    \"Subject\"\n  en \"\"\"\n    Hi,\n      indented\n\n    bye\n  \"\"\"\n}\n";
        let out = stable(src);
        assert_eq!(out, want);
        let value = |s: &str| {
            let p = parse(s, FileId(0));
            match p.file.items.first().map(|i| &i.kind) {
                Some(ItemKind::Message(m)) => m
                    .entries
                    .iter()
                    .map(|e| e.text.value.clone())
                    .collect::<Vec<_>>(),
                _ => Vec::new(),
            }
        };
        assert_eq!(value(src), value(&out));
    }

    #[test]
    fn multiline_string_values_never_change() {
        for body in [
            "\"\"\"\n\"\"\"",
            "\"\"\"\n   \n\"\"\"",
            "\"\"\"a\n  b\"\"\"",
            "\"\"\"\n\t\tx\n    y\n  \"\"\"",
            "\"\"\"\n  \n   a\n\"\"\"",
        ] {
            let src = format!("message m via push {{\n  en {body}\n}}\n");
            let out = stable(&src);
            let value = |s: &str| match parse(s, FileId(0))
                .file
                .items
                .first()
                .map(|i| i.kind.clone())
            {
                Some(ItemKind::Message(m)) => m.entries.first().map(|e| e.text.value.clone()),
                _ => None,
            };
            assert_eq!(value(&src), value(&out), "{src:?} became {out:?}");
        }
    }

    #[test]
    fn phases_tasks_and_statements() {
        let src = "phase main for 14d until budget exhausted {\n\n  /// Daily.\n  task daily { on checkin limit 1 per day grant p\n streak 7 days=>grant c }\n\n\n  leaderboard top { show top 10 score count(x) }\n  award top rank 2..10=>grant c\n  send m at 20:00 daily to audience\n  send n after 2d inactive\n  grant b on enroll\n  goal g when holds(a)>0 => grant c\n\n}\nphase p from 2027-01-01T00:00 to 2027-01-02T00:00 {}\n";
        let want = "phase main for 14d until budget exhausted {\n  /// Daily.\n  task daily {\n    on checkin\n    limit 1 per day\n    grant p\n    streak 7 days => grant c\n  }\n\n  leaderboard top {\n    show top 10\n    score count(x)\n  }\n  award top rank 2..10 => grant c\n  send m at 20:00 daily to audience\n  send n after 2d inactive\n  grant b on enroll\n  goal g when holds(a) > 0 => grant c\n}\n\nphase p from 2027-01-01T00:00 to 2027-01-02T00:00 {}\n";
        assert_eq!(stable(src), want);
    }

    #[test]
    fn expressions_keep_breaks_before_and_or() {
        let src = "segment s = holds(a) > 0 and\n  holds(b) > 0 or not (x.y in [1,2]) and -x < 3\nsegment t = a\n  + b\n";
        let want = "segment s = holds(a) > 0\n            and holds(b) > 0 or not (x.y in [1, 2]) and -x < 3\nsegment t = a + b\n";
        assert_eq!(stable(src), want);
    }

    #[test]
    fn tiers_align_names() {
        let src =
            "tiers {\n  bronze at 0 points\n  /// Top.\n  gold at 2_000 points => grant w\n}\n";
        let want =
            "tiers {\n  bronze at 0 points\n  /// Top.\n  gold   at 2_000 points => grant w\n}\n";
        assert_eq!(stable(src), want);
    }

    #[test]
    fn comments_stay_where_they_were() {
        let src = "// header\n\n\n/// Docs.\ncampaign c { // after brace\n  // before name\n  name \"C\"   // trailing\n  /* last */\n} // after block\nreward a = /* inside */ points 1 // end\n// between\nreward b = points 2\n";
        let want = "// header\n\n/// Docs.\ncampaign c {  // after brace\n  // before name\n  name \"C\"  // trailing\n  /* last */\n}  // after block\n\nreward a = points 1  /* inside */ // end\n// between\nreward b = points 2\n";
        assert_eq!(stable(src), want);
    }

    #[test]
    fn joined_line_comments_are_not_merged() {
        let src = "kpi k = count(a) // one\n  / participants // two\n  target >= 1\n";
        let out = stable(src);
        assert_eq!(
            out,
            "// one\nkpi k = count(a) / participants target >= 1  // two\n"
        );
    }

    #[test]
    fn comments_in_a_broken_expression_line() {
        let src = "segment s = a // why\n  // more\n  and b\n";
        let want = "segment s = a  // why\n            // more\n            and b\n";
        assert_eq!(stable(src), want);
    }

    #[test]
    fn a_comment_after_a_one_line_block_trails_its_closing_brace() {
        let src = "phase p for 1d { task t { on a grant b }  // after\n}\ntiers { gold at 1 points // gold\n  silver at 2 points\n}\n\
                   reward a = points 1 reward b = points 2 // on b\nevent e { f: int, // f\n g: int }\n";
        let want = "phase p for 1d {\n  task t {\n    on a\n    grant b\n  }  // after\n}\n\n\
                    tiers {\n  gold   at 1 points  // gold\n  silver at 2 points\n}\n\n\
                    reward a = points 1\nreward b = points 2  // on b\n\nevent e {\n  f: int  // f\n  g: int\n}\n";
        assert_eq!(stable(src), want);
    }

    #[test]
    fn windows_line_endings_and_a_byte_order_mark() {
        let src = "\u{FEFF}// c\r\nreward a = points 1  // t\r\n\r\nmessage m via push {\r\n  en \"\"\"\r\n    hi\r\n  \"\"\"\r\n}\r\n";
        let want = "// c\nreward a = points 1  // t\n\nmessage m via push {\n  en \"\"\"\n    hi\n  \"\"\"\n}\n";
        assert_eq!(stable(src), want);
    }

    #[test]
    fn a_repeated_leaderboard_line_is_kept() {
        let src = "phase p for 1d {\n  leaderboard l { show top 3 score points score count(e) show top 5 }\n}\n";
        let want = "phase p for 1d {\n  leaderboard l {\n    show top 3\n    score points\n    score count(e)\n    show top 5\n  }\n}\n";
        assert_eq!(stable(src), want);
    }

    #[test]
    fn empty_blocks() {
        let src = "campaign c {}\nuser {\n}\nmessage m via push { }\ntiers {\n  // none yet\n}\n";
        let want =
            "campaign c {}\n\nuser {}\n\nmessage m via push {}\n\ntiers {\n  // none yet\n}\n";
        assert_eq!(stable(src), want);
    }
}
