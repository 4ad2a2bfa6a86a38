//! Source text to AST. Parsing never fails: it returns the items it could build and a
//! diagnostic for everything it could not, recovering at the next item.

use crate::ast::*;
use crate::diag::{Code, Diagnostic};
use crate::grammar::{friendly, CampParser, Rule};
use crate::lex;
use crate::literal::{self, Number};
use crate::span::{FileId, Loc, Span};
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use pest::Parser;
use std::sync::LazyLock;

/// How deeply brackets may nest; deeper input is refused before pest sees it. With
/// the operator limits below, this bounds every recursion over the syntax tree.
const MAX_NESTING: usize = 64;
/// How many `not`/`-` may stand in a row.
const MAX_PREFIX_RUN: usize = 16;
/// How many binary operators one expression may have (a chain builds a tree this deep).
const MAX_OPERATORS: usize = 1024;

/// The result of parsing one file.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// Everything that could be built.
    pub file: File,
    /// Syntax errors, invalid literals and unterminated strings (E0001–E0003).
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses one `.camp` source. Never panics; never fails.
pub fn parse(src: &str, file: FileId) -> Parsed {
    let mut b = Builder {
        file,
        src,
        diags: Vec::new(),
        base: 0,
        unread: Vec::new(),
    };
    let scan = lex::scan(src);
    if src.len() >= u32::MAX as usize {
        b.error(
            Code::E0001,
            Span::new(0, 0),
            "the file is too large (over 4 GiB)",
            "here",
        );
        return Parsed {
            file: File::default(),
            diagnostics: b.diags,
        };
    }
    if let Some(at) = too_deep(src) {
        b.error(
            Code::E0001,
            Span::new(at, at + 1),
            format!("brackets nest more than {MAX_NESTING} deep"),
            "too deep",
        );
        return Parsed {
            file: File {
                items: Vec::new(),
                comments: scan.comments,
                unread: vec![Span::new(0, src.len())],
            },
            diagnostics: b.diags,
        };
    }
    // An unclosed `/*` or `"""` swallows the rest of the file: parse only what precedes
    // it, and say where it opens.
    let src = match scan.open_to_end {
        Some(open) => {
            if let Some((span, what)) = scan.unterminated.last() {
                b.unterminated(*span, what);
            }
            b.unread.push(Span::new(open as usize, src.len()));
            src.get(..open as usize).unwrap_or(src)
        }
        None => src,
    };
    b.src = src;
    if src.len() >= CHUNKED_FROM && scan.open_to_end.is_none() {
        if let Some(items) = parse_chunked(src, file, &scan) {
            return Parsed {
                file: File {
                    items,
                    comments: scan.comments,
                    unread: b.unread,
                },
                diagnostics: b.diags,
            };
        }
    }
    let mut items = Vec::new();
    b.parse_text(src, &mut items, &scan.unterminated);
    b.unread.sort_by_key(|s| s.start);
    Parsed {
        file: File {
            items,
            comments: scan.comments,
            unread: b.unread,
        },
        diagnostics: b.diags,
    }
}

/// Files at least this large are parsed in chunks, on several threads.
const CHUNKED_FROM: usize = 256 * 1024;
/// The size a chunk aims for: small enough that pest's token queue stays in cache.
const CHUNK_TARGET: usize = 64 * 1024;

/// Parses a large file as independent chunks split where an item starts, on as many
/// threads as there are cores. Returns `None` if any chunk reports a problem: the
/// whole-file parse then runs, so diagnostics never depend on where chunks were cut.
fn parse_chunked(src: &str, file: FileId, scan: &lex::Scan) -> Option<Vec<Item>> {
    let bounds = chunk_bounds(src, scan);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let per_thread = bounds.len().div_ceil(threads).max(1);
    let groups: Vec<&[(usize, usize)]> = bounds.chunks(per_thread).collect();
    let results: Vec<Option<Vec<Item>>> = std::thread::scope(|s| {
        let handles: Vec<_> = groups
            .iter()
            .map(|group| {
                s.spawn(move || {
                    let mut items = Vec::new();
                    for &(start, end) in *group {
                        let chunk = src.get(start..end)?;
                        let base = u32::try_from(start).ok()?;
                        let mut b = Builder {
                            file,
                            src,
                            diags: Vec::new(),
                            base,
                            unread: Vec::new(),
                        };
                        b.parse_text(chunk, &mut items, &[]);
                        if !b.diags.is_empty() {
                            return None;
                        }
                    }
                    Some(items)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    let mut items = Vec::new();
    for r in results {
        items.extend(r?);
    }
    Some(items)
}

/// Cut points about every [`CHUNK_TARGET`] bytes, each at the start of a line that
/// begins an item (its doc comment included), outside any multi-line string or comment.
fn chunk_bounds(src: &str, scan: &lex::Scan) -> Vec<(usize, usize)> {
    let mut cuts = vec![0usize];
    let mut at = CHUNK_TARGET;
    while at < src.len() {
        let Some(cut) = next_item_line(src, scan, at) else {
            break;
        };
        // Move up over the doc comment lines that belong to this item.
        let mut start = cut;
        while start > 0 {
            let prev = src
                .get(..start - 1)
                .and_then(|s| s.rfind('\n'))
                .map_or(0, |i| i + 1);
            let is_doc = src.get(prev..).is_some_and(|l| l.starts_with("///"));
            if !is_doc || scan.inside_multiline(u32::try_from(prev).unwrap_or(u32::MAX)) {
                break;
            }
            start = prev;
        }
        if start > *cuts.last().unwrap_or(&0) {
            cuts.push(start);
        }
        at = cut + CHUNK_TARGET;
    }
    let mut out = Vec::with_capacity(cuts.len());
    for (i, start) in cuts.iter().enumerate() {
        let end = cuts.get(i + 1).copied().unwrap_or(src.len());
        out.push((*start, end));
    }
    out
}

/// The first line start at or after `from` that begins with an item keyword followed
/// by a space or `{`, outside any multi-line string or comment.
fn next_item_line(src: &str, scan: &lex::Scan, from: usize) -> Option<usize> {
    const KEYWORDS: &[&[u8]] = &[
        b"import",
        b"campaign",
        b"user",
        b"event",
        b"reward",
        b"segment",
        b"message",
        b"phase",
        b"tiers",
        b"kpi",
        b"group",
    ];
    // Bytes, not `str` slices: `from` may fall inside a multi-byte character, but the
    // byte after a `\n` always starts one.
    let bytes = src.as_bytes();
    let mut pos = from;
    loop {
        let nl = bytes.get(pos..)?.iter().position(|b| *b == b'\n')?;
        let line = pos + nl + 1;
        let rest = bytes.get(line..)?;
        let starts_item = KEYWORDS.iter().any(|k| {
            rest.strip_prefix(*k)
                .and_then(|r| r.first())
                .is_some_and(|c| matches!(c, b' ' | b'\t' | b'{'))
        });
        if starts_item && !scan.inside_multiline(u32::try_from(line).unwrap_or(u32::MAX)) {
            return Some(line);
        }
        pos = line;
    }
}

fn too_deep(src: &str) -> Option<usize> {
    let bytes = src.as_bytes();
    let rest = |i: usize| src.get(i..).unwrap_or("");
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        // Brackets inside strings and comments are text, not nesting: skip past them.
        // One left open runs to the end of the file (reported as E0003, or harmless).
        let skip = match c {
            b'/' if bytes.get(i + 1) == Some(&b'/') => Some(rest(i).find('\n').map(|n| i + n)),
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                Some(rest(i + 2).find("*/").map(|n| i + n + 4))
            }
            b'"' if rest(i).starts_with("\"\"\"") => {
                Some(rest(i + 3).find("\"\"\"").map(|n| i + n + 6))
            }
            b'"' => {
                let mut j = i + 1;
                while let Some(&b) = bytes.get(j) {
                    match b {
                        b'\\' => j += 2,
                        b'"' | b'\n' => break,
                        _ => j += 1,
                    }
                }
                Some(Some(j + 1))
            }
            _ => None,
        };
        match skip {
            Some(Some(next)) => {
                i = next;
                continue;
            }
            Some(None) => return None,
            None => {}
        }
        match c {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(i);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::op_or, Assoc::Left))
        .op(Op::infix(Rule::op_and, Assoc::Left))
        .op(Op::prefix(Rule::op_not))
        .op(Op::infix(Rule::op_eq, Assoc::Left)
            | Op::infix(Rule::op_ne, Assoc::Left)
            | Op::infix(Rule::op_lt, Assoc::Left)
            | Op::infix(Rule::op_le, Assoc::Left)
            | Op::infix(Rule::op_gt, Assoc::Left)
            | Op::infix(Rule::op_ge, Assoc::Left)
            | Op::infix(Rule::op_in, Assoc::Left))
        .op(Op::infix(Rule::op_add, Assoc::Left) | Op::infix(Rule::op_sub, Assoc::Left))
        .op(Op::infix(Rule::op_mul, Assoc::Left) | Op::infix(Rule::op_div, Assoc::Left))
        .op(Op::prefix(Rule::op_neg))
});

/// The parse tree had a shape the builder did not expect (a grammar/builder mismatch).
struct Broken(Span);

type Built<T> = Result<T, Broken>;

/// The span of a pair, without the whitespace pest's implicit skipping leaves at the
/// end of a rule that ends in an optional or repeated part.
fn span_at(base: u32, p: &Pair<'_, Rule>) -> Span {
    let s = p.as_span();
    let trimmed = s.as_str().trim_end_matches([' ', '\t', '\r', '\n']).len();
    Span::new(s.start(), s.start() + trimmed).shift(base)
}

/// Whether a rule is punctuation: named only for error messages, skipped when building.
fn is_punct(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::lbrace
            | Rule::rbrace
            | Rule::colon
            | Rule::equals
            | Rule::comma
            | Rule::lparen
            | Rule::rparen
            | Rule::lbracket
            | Rule::rbracket
            | Rule::langle
            | Rule::rangle
    )
}

fn not_punct(p: &Pair<'_, Rule>) -> bool {
    !is_punct(p.as_rule())
}

/// Children of a pair without punctuation.
type Meaningful<'i> =
    std::iter::Peekable<std::iter::Filter<Pairs<'i, Rule>, fn(&Pair<'i, Rule>) -> bool>>;

/// Walks the children of one pair, punctuation skipped, without ever panicking.
struct Children<'i> {
    pairs: Meaningful<'i>,
    parent: Span,
}

impl<'i> Children<'i> {
    fn of(p: Pair<'i, Rule>) -> Self {
        let parent = span_at(0, &p);
        let keep: fn(&Pair<'i, Rule>) -> bool = not_punct;
        Children {
            pairs: p.into_inner().filter(keep).peekable(),
            parent,
        }
    }

    fn next(&mut self) -> Built<Pair<'i, Rule>> {
        self.pairs.next().ok_or(Broken(self.parent))
    }

    fn next_if(&mut self, rule: Rule) -> Option<Pair<'i, Rule>> {
        if self.pairs.peek().is_some_and(|p| p.as_rule() == rule) {
            self.pairs.next()
        } else {
            None
        }
    }

    /// Skips keyword tokens and returns the next pair of `rule`.
    fn find(&mut self, rule: Rule) -> Built<Pair<'i, Rule>> {
        for p in self.pairs.by_ref() {
            if p.as_rule() == rule {
                return Ok(p);
            }
        }
        Err(Broken(self.parent))
    }
}

struct Builder<'s> {
    file: FileId,
    src: &'s str,
    diags: Vec<Diagnostic>,
    /// Where the text pest is parsing starts in the file (chunks start mid-file).
    base: u32,
    /// Text that could not be read (see [`File::unread`]).
    unread: Vec<Span>,
}

impl<'s> Builder<'s> {
    fn loc(&self, span: Span) -> Loc {
        Loc::new(self.file, span)
    }

    fn sp(&self, p: &Pair<'_, Rule>) -> Span {
        span_at(self.base, p)
    }

    fn type_ref(&self, pair: Pair<'_, Rule>) -> Built<TypeRef> {
        let span = self.sp(&pair);
        let inner = Children::of(pair).next()?;
        match inner.as_rule() {
            Rule::list_type => {
                let elem = TypeRef::Named(self.ident(Children::of(inner).find(Rule::ident)?));
                Ok(TypeRef::List(Box::new(elem), span))
            }
            _ => Ok(TypeRef::Named(self.ident(inner))),
        }
    }

    fn ident(&self, pair: Pair<'_, Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: self.sp(&pair),
        }
    }

    fn error(
        &mut self,
        code: Code,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
    ) {
        let d = Diagnostic::new(code, self.loc(span), message, label);
        self.diags.push(d);
    }

    fn unterminated(&mut self, open: Span, what: &str) {
        let d = Diagnostic::new(Code::E0003, self.loc(open), format!("this {what} is never closed"), format!("the {what} starts here"))
            .with_help(match what {
                "comment" => "close the comment with `*/`",
                _ => "close the string with a matching quote; a `\"...\"` string must end on its line (use `\"\"\"...\"\"\"` for several lines)",
            });
        self.diags.push(d);
    }

    fn broken(&mut self, Broken(span): Broken) {
        // Internal errors only; a chunked parse with any diagnostic is redone whole
        // (base 0), so this span is exact where it is reported.
        self.error(
            Code::E0001,
            span,
            "this part of the file could not be read (an internal parser error; please report it)",
            "here",
        );
    }

    /// Parses `text` (the whole file, or a chunk of it starting at `self.base`) and
    /// appends its items.
    fn parse_text(
        &mut self,
        text: &str,
        items: &mut Vec<Item>,
        unterminated: &[(Span, &'static str)],
    ) {
        match CampParser::parse(Rule::file, text) {
            Ok(mut pairs) => {
                let children = pairs.next().map(|p| p.into_inner());
                for pair in children.into_iter().flatten() {
                    match pair.as_rule() {
                        Rule::item => {
                            if let Some(item) = self.item(pair) {
                                items.push(item);
                            }
                        }
                        Rule::junk => self.junk(&pair, unterminated),
                        _ => {}
                    }
                }
            }
            Err(e) => {
                self.unread.push(Span::new(0, text.len()).shift(self.base));
                self.pest_error(&e, self.base, unterminated);
            }
        }
    }

    fn junk(&mut self, pair: &Pair<'_, Rule>, unterminated: &[(Span, &'static str)]) {
        let span = self.sp(pair);
        self.unread.push(span);
        // An item that stops at an unterminated string leaves the rest of its line as
        // junk (`reward r = points 10 { label "x }`): the string is the problem, not
        // where the parser gave up.
        if let Some((open, what)) = unterminated
            .iter()
            .find(|(s, _)| s.start >= span.start && s.start < span.end)
        {
            self.unterminated(*open, what);
            return;
        }
        let chunk = pair.as_str();
        match CampParser::parse(Rule::item_only, chunk) {
            Err(e) => self.pest_error(&e, span.start, unterminated),
            Ok(_) => self.error(
                Code::E0001,
                span,
                "this text is not part of any item",
                "unexpected text",
            ),
        }
    }

    /// Reports a pest error found in the text starting at `base`, preferring an
    /// unterminated string or comment at or before the failure (E0003).
    fn pest_error(
        &mut self,
        e: &pest::error::Error<Rule>,
        base: u32,
        unterminated: &[(Span, &'static str)],
    ) {
        let pos = match e.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((s, _)) => s,
        };
        let at = base.saturating_add(u32::try_from(pos).unwrap_or(u32::MAX));
        if let Some((open, what)) = unterminated
            .iter()
            .find(|(s, _)| s.start >= base && s.start <= at)
        {
            if (open.start as usize) < self.src.len() {
                self.unterminated(*open, what);
            }
            return;
        }
        let expected = match &e.variant {
            pest::error::ErrorVariant::ParsingError { positives, .. } => {
                let mut names: Vec<&'static str> = Vec::new();
                for r in positives {
                    let n = friendly(*r);
                    if !names.contains(&n) {
                        names.push(n);
                    }
                }
                names
            }
            pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
        };
        let found = self.token_at(at as usize);
        let message = match expected.as_slice() {
            [] => format!("unexpected {found}"),
            names => format!("expected {}, found {found}", or_list(names)),
        };
        let end = at as usize + self.token_len(at as usize);
        let d = Diagnostic::new(
            Code::E0001,
            self.loc(Span::new(at as usize, end)),
            message,
            "unexpected here",
        )
        .with_help_opt(self.line_help(at as usize).map(str::to_string));
        self.diags.push(d);
    }

    /// How the statement on the line of `at` is written, for the statements whose shape
    /// is easy to get wrong.
    fn line_help(&self, at: usize) -> Option<&'static str> {
        let before = self.src.get(..at)?;
        let start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = self.src.get(start..)?.trim_start();
        let first = line
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .next()?;
        // The item the line stands in: the last line before it that starts a top-level
        // item (unindented, not a closing brace or a comment).
        let item = before
            .get(..start)?
            .lines()
            .rev()
            .find(|l| l.starts_with(|c: char| c.is_alphabetic()))?;
        match first {
            "variants" if item.starts_with("experiment") => Some(
                "write each variant as a name and its share, separated by commas: `variants control 50%, bold 50%`",
            ),
            _ => None,
        }
    }

    fn token_at(&self, at: usize) -> String {
        let rest = self.src.get(at..).unwrap_or("");
        let len = self.token_len(at);
        match rest.get(..len) {
            None | Some("") => "the end of the file".to_string(),
            Some(t) => format!("`{t}`"),
        }
    }

    fn token_len(&self, at: usize) -> usize {
        let rest = self.src.get(at..).unwrap_or("");
        let mut chars = rest.char_indices();
        match chars.next() {
            None => 0,
            Some((_, c)) if c.is_alphanumeric() || c == '_' => {
                let word = rest
                    .char_indices()
                    .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
                    .map_or(rest.len(), |(i, _)| i);
                // At most 40 bytes, cut between characters (a CJK word is 3 bytes a char).
                let mut len = word.min(40);
                while !rest.is_char_boundary(len) {
                    len -= 1;
                }
                len
            }
            Some((_, c)) => c.len_utf8(),
        }
    }

    // ------------------------------------------------------------ items

    fn item(&mut self, pair: Pair<'_, Rule>) -> Option<Item> {
        let span = self.sp(&pair);
        match self.item_inner(pair, span) {
            Ok(item) => Some(item),
            Err(b) => {
                self.unread.push(span);
                self.broken(b);
                None
            }
        }
    }

    fn item_inner(&mut self, pair: Pair<'_, Rule>, span: Span) -> Built<Item> {
        let mut c = Children::of(pair);
        let docs = docs(&mut c);
        let body = c.next()?;
        let kind = match body.as_rule() {
            Rule::import => {
                let mut c = Children::of(body);
                ItemKind::Import(Import {
                    path: self.string(c.find(Rule::string)?),
                })
            }
            Rule::campaign => ItemKind::Campaign(self.campaign(body)?),
            Rule::user_block => {
                let mut c = Children::of(body);
                let keyword = self.sp(&c.next()?);
                let fields = self.fields(c)?;
                ItemKind::User(UserBlock { keyword, fields })
            }
            Rule::event_def => {
                let mut c = Children::of(body);
                let name = self.ident(c.find(Rule::ident)?);
                let fields = self.fields(c)?;
                ItemKind::Event(EventDef { name, fields })
            }
            Rule::reward_def => ItemKind::Reward(self.reward(body)?),
            Rule::segment_def => {
                let mut c = Children::of(body);
                let name = self.ident(c.find(Rule::ident)?);
                let condition = self.expr(c.find(Rule::expr)?)?;
                ItemKind::Segment(SegmentDef { name, condition })
            }
            Rule::message_def => ItemKind::Message(self.message(body)?),
            Rule::phase_def => ItemKind::Phase(self.phase(body)?),
            Rule::tiers_def => ItemKind::Tiers(self.tiers(body)?),
            Rule::kpi_def => ItemKind::Kpi(self.kpi(body)?),
            Rule::group_def => ItemKind::Group(self.group(body)?),
            Rule::experiment_def => ItemKind::Experiment(self.experiment(body)?),
            _ => return Err(Broken(self.sp(&body))),
        };
        Ok(Item { docs, kind, span })
    }

    fn campaign(&mut self, pair: Pair<'_, Rule>) -> Built<Campaign> {
        let mut c = Children::of(pair);
        let name = self.ident(c.find(Rule::ident)?);
        let mut settings = Vec::new();
        for s in c.pairs {
            if s.as_rule() != Rule::setting {
                continue;
            }
            let span = self.sp(&s);
            let inner = Children::of(s).next()?;
            let rule = inner.as_rule();
            let mut c = Children::of(inner);
            let kw = c.next()?;
            let key = self.ident(kw);
            let value = match rule {
                Rule::set_name => SettingValue::Name(self.string(c.next()?)),
                Rule::set_timezone => SettingValue::Timezone(self.string(c.next()?)),
                Rule::set_start => SettingValue::Start(self.literal(c.next()?)?),
                Rule::set_locales => {
                    SettingValue::Locales(c.pairs.map(|p| self.ident(p)).collect())
                }
                Rule::set_budget => SettingValue::Budget(self.literal(c.next()?)?),
                Rule::set_audience => SettingValue::Audience(self.expr(c.next()?)?),
                Rule::set_holdout => SettingValue::Holdout(self.literal(c.next()?)?),
                Rule::set_cap => SettingValue::Cap(self.literal(c.next()?)?),
                Rule::set_quiet => {
                    let a = self.literal(c.find(Rule::literal)?)?;
                    let b = self.literal(c.find(Rule::literal)?)?;
                    SettingValue::Quiet(a, b)
                }
                Rule::set_enroll => SettingValue::Enroll(self.ident(c.find(Rule::ident)?)),
                _ => return Err(Broken(span)),
            };
            settings.push(Setting { key, value, span });
        }
        Ok(Campaign { name, settings })
    }

    fn fields(&mut self, c: Children<'_>) -> Built<Vec<Field>> {
        let mut out = Vec::new();
        for f in c.pairs.filter(|p| p.as_rule() == Rule::field) {
            let mut c = Children::of(f);
            let docs = docs(&mut c);
            let name = self.ident(c.find(Rule::ident)?);
            let ty = self.type_ref(c.find(Rule::type_ref)?)?;
            out.push(Field { docs, name, ty });
        }
        Ok(out)
    }

    fn reward(&mut self, pair: Pair<'_, Rule>) -> Built<RewardDef> {
        let mut c = Children::of(pair);
        let name = self.ident(c.find(Rule::ident)?);
        let kind_pair = Children::of(c.find(Rule::reward_kind)?).next()?;
        let kind_rule = kind_pair.as_rule();
        let mut k = Children::of(kind_pair);
        let kind_span = self.sp(&k.next()?);
        let mut props = Vec::new();
        let kind = match kind_rule {
            Rule::points_kind => RewardKind::Points(self.literal(k.find(Rule::literal)?)?),
            Rule::coupon_kind => RewardKind::Coupon,
            Rule::item_kind => RewardKind::Item(self.string(k.find(Rule::string)?)),
            Rule::badge_kind => RewardKind::Badge(self.string(k.find(Rule::string)?)),
            Rule::draw_kind => {
                let mut entries = Vec::new();
                while let Some(e) = k.next_if(Rule::draw_entry) {
                    let mut e = Children::of(e);
                    let weight = self.literal(e.next()?)?;
                    let reward = self.ident(e.next()?);
                    entries.push(DrawEntry { weight, reward });
                }
                RewardKind::Draw(entries)
            }
            Rule::pool_kind => RewardKind::Pool(self.literal(k.find(Rule::literal)?)?),
            _ => return Err(Broken(kind_span)),
        };
        if let Some(p) = k.next_if(Rule::reward_props) {
            for prop in Children::of(p).pairs {
                let span = self.sp(&prop);
                let inner = Children::of(prop).next()?;
                let rule = inner.as_rule();
                let mut c = Children::of(inner);
                let key = self.ident(c.next()?);
                let v = c.next()?;
                let value = match rule {
                    Rule::prop_stock => PropValue::Stock(self.literal(v)?),
                    Rule::prop_stock_day => PropValue::StockPerDay(self.literal(v)?),
                    Rule::prop_per_user => PropValue::PerUser(self.literal(v)?),
                    Rule::prop_label => PropValue::Label(self.string(v)),
                    Rule::prop_value => PropValue::Value(self.literal(v)?),
                    Rule::prop_expires => PropValue::Expires(self.literal(v)?),
                    Rule::prop_cost => PropValue::Cost(self.literal(v)?),
                    _ => return Err(Broken(span)),
                };
                props.push(RewardProp { key, value, span });
            }
        }
        Ok(RewardDef {
            name,
            kind,
            kind_span,
            props,
        })
    }

    fn message(&mut self, pair: Pair<'_, Rule>) -> Built<MessageDef> {
        let mut c = Children::of(pair);
        let name = self.ident(c.find(Rule::ident)?);
        let channel = self.ident(c.find(Rule::ident)?);
        let experiment = match c.next_if(Rule::message_by) {
            Some(by) => Some(self.ident(Children::of(by).find(Rule::ident)?)),
            None => None,
        };
        let mut entries = Vec::new();
        let mut variants = Vec::new();
        for e in c.pairs {
            match e.as_rule() {
                Rule::message_entry => entries.push(self.message_entry(e)?),
                Rule::variant_body => {
                    let span = self.tight(&e);
                    let mut v = Children::of(e);
                    let name = self.ident(v.find(Rule::ident)?);
                    let mut entries = Vec::new();
                    for e in v.pairs.filter(|p| p.as_rule() == Rule::message_entry) {
                        entries.push(self.message_entry(e)?);
                    }
                    variants.push(VariantBody {
                        name,
                        entries,
                        span,
                    });
                }
                _ => {}
            }
        }
        Ok(MessageDef {
            name,
            channel,
            experiment,
            entries,
            variants,
        })
    }

    fn message_entry(&mut self, e: Pair<'_, Rule>) -> Built<MessageEntry> {
        let inner = Children::of(e).next()?;
        let subject = inner.as_rule() == Rule::subject_entry;
        let mut c = Children::of(inner);
        let locale = self.ident(c.find(Rule::locale)?);
        let text = self.string(c.find(Rule::string)?);
        Ok(MessageEntry {
            subject,
            locale,
            text,
        })
    }

    fn experiment(&mut self, pair: Pair<'_, Rule>) -> Built<ExperimentDef> {
        let mut c = Children::of(pair);
        let name = self.ident(c.find(Rule::ident)?);
        let keyword = self.sp(&c.find(Rule::kw_variants)?);
        let mut variants = Vec::new();
        for v in c.pairs.filter(|p| p.as_rule() == Rule::variant_weight) {
            let mut v = Children::of(v);
            let name = self.ident(v.find(Rule::ident)?);
            let weight = self.literal(v.find(Rule::literal)?)?;
            variants.push(VariantWeight { name, weight });
        }
        Ok(ExperimentDef {
            name,
            keyword,
            variants,
        })
    }

    fn phase(&mut self, pair: Pair<'_, Rule>) -> Built<PhaseDef> {
        let mut c = Children::of(pair);
        let name = self.ident(c.find(Rule::ident)?);
        let timing_pair = Children::of(c.find(Rule::phase_timing)?).next()?;
        let timing = match timing_pair.as_rule() {
            Rule::for_timing => {
                PhaseTiming::For(self.literal(Children::of(timing_pair).find(Rule::literal)?)?)
            }
            _ => {
                let mut t = Children::of(timing_pair);
                let a = self.literal(t.find(Rule::literal)?)?;
                let b = self.literal(t.find(Rule::literal)?)?;
                PhaseTiming::Window(a, b)
            }
        };
        let mut until = None;
        let mut stmts = Vec::new();
        for p in c.pairs {
            match p.as_rule() {
                Rule::until_clause => {
                    let mut u = Children::of(p);
                    let _kw = u.next()?;
                    let v = u.next()?;
                    until = Some(match v.as_rule() {
                        Rule::budget_exhausted => Until::BudgetExhausted(self.sp(&v)),
                        _ => Until::Condition(self.expr(v)?),
                    });
                }
                Rule::phase_stmt => stmts.push(self.phase_stmt(p)?),
                _ => {}
            }
        }
        Ok(PhaseDef {
            name,
            timing,
            until,
            stmts,
        })
    }

    fn phase_stmt(&mut self, pair: Pair<'_, Rule>) -> Built<PhaseStmt> {
        let span = self.sp(&pair);
        let mut c = Children::of(pair);
        let docs = docs(&mut c);
        let body = c.next()?;
        let rule = body.as_rule();
        let mut b = Children::of(body);
        let kind = match rule {
            Rule::task_def => {
                let name = self.ident(b.find(Rule::ident)?);
                let mut stmts = Vec::new();
                for s in b.pairs {
                    stmts.push(self.task_stmt(s)?);
                }
                PhaseStmtKind::Task(TaskDef { name, stmts })
            }
            Rule::leaderboard_def => {
                let name = self.ident(b.find(Rule::ident)?);
                let (mut score, mut show, mut every) = (None, None, None);
                let mut repeated = Vec::new();
                for s in b.pairs {
                    let rule = s.as_rule();
                    let span = self.sp(&s);
                    let mut s = Children::of(s);
                    match rule {
                        Rule::score_clause => {
                            let expr = self.expr(s.find(Rule::expr)?)?;
                            if score.is_none() {
                                score = Some(expr);
                            } else {
                                let span = Span::new(span.start as usize, expr.span.end as usize);
                                repeated.push(LeaderboardLine::Score { span, expr });
                            }
                        }
                        Rule::board_every => {
                            let lit = self.literal(s.find(Rule::literal)?)?;
                            if every.is_none() {
                                every = Some(lit);
                            } else {
                                let span = Span::new(span.start as usize, lit.span.end as usize);
                                repeated.push(LeaderboardLine::Every { span, every: lit });
                            }
                        }
                        _ => {
                            let top = self.literal(s.find(Rule::literal)?)?;
                            if show.is_none() {
                                show = Some(top);
                            } else {
                                let span = Span::new(span.start as usize, top.span.end as usize);
                                repeated.push(LeaderboardLine::Show { span, top });
                            }
                        }
                    }
                }
                PhaseStmtKind::Leaderboard(LeaderboardDef {
                    name,
                    score,
                    show,
                    every,
                    repeated,
                })
            }
            Rule::award_stmt => {
                let leaderboard = self.ident(b.find(Rule::ident)?);
                let range = b.find(Rule::rank_range)?;
                let range_span = self.sp(&range);
                let mut r = Children::of(range);
                let from = self.number(r.next()?);
                let to = match r.find(Rule::number_lit) {
                    Ok(p) => Some(self.number(p)),
                    Err(_) => None,
                };
                let actions = self.actions(b.find(Rule::actions)?)?;
                PhaseStmtKind::Award(AwardStmt {
                    leaderboard,
                    from,
                    to,
                    range_span,
                    actions,
                })
            }
            Rule::goal_stmt => {
                let name = self.ident(b.find(Rule::ident)?);
                let condition = self.expr(b.find(Rule::expr)?)?;
                let actions = self.actions(b.find(Rule::actions)?)?;
                PhaseStmtKind::Goal(GoalStmt {
                    name,
                    condition,
                    actions,
                })
            }
            Rule::send_stmt => {
                let message = self.ident(b.find(Rule::ident)?);
                let trig = Children::of(b.find(Rule::send_trigger)?).next()?;
                let trig_rule = trig.as_rule();
                let mut t = Children::of(trig);
                let trigger = match trig_rule {
                    Rule::send_at => {
                        let _at = t.next()?;
                        let times = self.times(&mut t)?;
                        let daily = t.next_if(Rule::kw_daily).is_some();
                        SendTrigger::At { times, daily }
                    }
                    Rule::send_on => {
                        let _on = t.next()?;
                        let w = t.next()?;
                        if w.as_rule() == Rule::kw_enter {
                            SendTrigger::OnEnter(self.sp(&w))
                        } else {
                            SendTrigger::OnEnroll(self.sp(&w))
                        }
                    }
                    Rule::send_timer => {
                        let delay = self.literal(t.find(Rule::literal)?)?;
                        let _after = t.find(Rule::kw_after)?;
                        let from = self.ident(t.find(Rule::ident)?);
                        SendTrigger::After { delay, from }
                    }
                    _ => SendTrigger::Inactive(self.literal(t.find(Rule::literal)?)?),
                };
                let (to, condition) = self.recipients_and_if(&mut b)?;
                PhaseStmtKind::Send(SendStmt {
                    message,
                    trigger,
                    to,
                    condition,
                })
            }
            Rule::grant_stmt => {
                let reward = self.ident(b.find(Rule::ident)?);
                let when = Children::of(b.find(Rule::grant_when)?).next()?;
                let at = when.as_rule() == Rule::grant_at;
                let mut w = Children::of(when);
                let (on, on_span, times) = if at {
                    let kw = w.next()?;
                    (GrantOn::At, self.sp(&kw), self.times(&mut w)?)
                } else {
                    let _on = w.next()?;
                    let word = w.next()?;
                    let on = if word.as_rule() == Rule::kw_enter {
                        GrantOn::Enter
                    } else {
                        GrantOn::Enroll
                    };
                    (on, self.sp(&word), Vec::new())
                };
                let (to, condition) = self.recipients_and_if(&mut b)?;
                PhaseStmtKind::Grant(GrantStmt {
                    reward,
                    on,
                    on_span,
                    times,
                    to,
                    condition,
                })
            }
            Rule::raffle_stmt => {
                let name = self.ident(b.find(Rule::ident)?);
                let at = self.sp(&b.find(Rule::kw_at)?);
                let times = self.times(&mut b)?;
                let daily = b.next_if(Rule::kw_daily).is_some();
                let _pick = b.find(Rule::kw_pick)?;
                let pick = self.literal(b.find(Rule::literal)?)?;
                let from = match b.next_if(Rule::kw_from) {
                    Some(_) => Some(self.ident(b.find(Rule::ident)?)),
                    None => None,
                };
                let filter = match b.next_if(Rule::kw_where) {
                    Some(_) => Some(self.expr(b.find(Rule::expr)?)?),
                    None => None,
                };
                let actions = self.actions(b.find(Rule::actions)?)?;
                PhaseStmtKind::Raffle(RaffleStmt {
                    name,
                    at,
                    times,
                    daily,
                    pick,
                    from,
                    filter,
                    actions,
                })
            }
            _ => return Err(Broken(span)),
        };
        Ok(PhaseStmt { docs, kind, span })
    }

    fn task_stmt(&mut self, pair: Pair<'_, Rule>) -> Built<TaskStmt> {
        let inner = Children::of(pair).next()?;
        let rule = inner.as_rule();
        if rule == Rule::action {
            return Ok(TaskStmt::Action(self.action(inner)?));
        }
        let mut c = Children::of(inner);
        let keyword = self.sp(&c.next()?);
        Ok(match rule {
            Rule::on_clause => {
                let event = self.ident(c.find(Rule::ident)?);
                let filter = match c.find(Rule::expr) {
                    Ok(e) => Some(self.expr(e)?),
                    Err(_) => None,
                };
                TaskStmt::On {
                    keyword,
                    event,
                    filter,
                }
            }
            Rule::limit_clause => {
                let count = self.literal(c.find(Rule::literal)?)?;
                let period_pair = Children::of(c.find(Rule::period)?).next()?;
                let period_span = self.sp(&period_pair);
                let period = match period_pair.as_rule() {
                    Rule::kw_day => Period::Day,
                    Rule::kw_user => Period::User,
                    Rule::kw_phase => Period::Phase,
                    _ => Period::Field(self.target(period_pair)),
                };
                TaskStmt::Limit {
                    keyword,
                    count,
                    period,
                    period_span,
                }
            }
            Rule::within_clause => {
                let duration = self.literal(c.find(Rule::literal)?)?;
                let _of = c.find(Rule::kw_of)?;
                let of = self.ident(c.find(Rule::ident)?);
                TaskStmt::Within {
                    keyword,
                    duration,
                    of,
                }
            }
            Rule::streak_clause => {
                let days = self.literal(c.find(Rule::literal)?)?;
                let actions = self.actions(c.find(Rule::actions)?)?;
                TaskStmt::Streak {
                    keyword,
                    days,
                    actions,
                }
            }
            Rule::after_clause => {
                let count = self.literal(c.find(Rule::literal)?)?;
                let actions = self.actions(c.find(Rule::actions)?)?;
                TaskStmt::After {
                    keyword,
                    count,
                    actions,
                }
            }
            Rule::every_clause => {
                let count = self.literal(c.find(Rule::literal)?)?;
                let actions = self.actions(c.find(Rule::actions)?)?;
                TaskStmt::Every {
                    keyword,
                    count,
                    actions,
                }
            }
            _ => return Err(Broken(keyword)),
        })
    }

    /// The optional `to RECIPIENTS` and `if EXPR` ending a phase-level send or grant.
    fn recipients_and_if(&mut self, c: &mut Children<'_>) -> Built<(Option<Ident>, Option<Expr>)> {
        let to = match c.next_if(Rule::send_to) {
            Some(p) => Some(self.ident(Children::of(p).find(Rule::ident)?)),
            None => None,
        };
        let condition = match c.next_if(Rule::send_if) {
            Some(p) => Some(self.expr(Children::of(p).find(Rule::expr)?)?),
            None => None,
        };
        Ok((to, condition))
    }

    /// The comma-separated literals of an `at` (the keyword already taken).
    fn times(&mut self, c: &mut Children<'_>) -> Built<Vec<Lit>> {
        let mut times = Vec::new();
        while let Some(l) = c.next_if(Rule::literal) {
            times.push(self.literal(l)?);
        }
        if times.is_empty() {
            return Err(Broken(c.parent));
        }
        Ok(times)
    }

    /// One action, or several in braces.
    fn actions(&mut self, pair: Pair<'_, Rule>) -> Built<Actions> {
        let span = self.tight(&pair);
        let inner = Children::of(pair).next()?;
        let mut list = Vec::new();
        if inner.as_rule() == Rule::action_block {
            for a in Children::of(inner).pairs {
                list.push(self.action(a)?);
            }
        } else {
            list.push(self.action(inner)?);
        }
        Ok(Actions { list, span })
    }

    fn action(&mut self, pair: Pair<'_, Rule>) -> Built<Action> {
        let span = self.tight(&pair);
        let inner = Children::of(pair).next()?;
        let rule = inner.as_rule();
        let mut c = Children::of(inner);
        let _keyword = c.next()?;
        let kind = match rule {
            Rule::act_grant => ActionKind::Grant {
                reward: self.ident(c.find(Rule::ident)?),
                to: self.target_after(&mut c, Rule::action_to)?,
            },
            Rule::act_send => ActionKind::Send {
                message: self.ident(c.find(Rule::ident)?),
                to: self.target_after(&mut c, Rule::action_to)?,
            },
            Rule::act_use => {
                let (units, count) = self.units(c.find(Rule::units)?)?;
                ActionKind::Use { units, count }
            }
            Rule::act_give => {
                let (units, count) = self.units(c.find(Rule::units)?)?;
                let to = self
                    .target_after(&mut c, Rule::action_to)?
                    .ok_or(Broken(span))?;
                ActionKind::Give { units, count, to }
            }
            Rule::act_revoke => {
                let (units, count) = self.units(c.find(Rule::units)?)?;
                let from = self.target_after(&mut c, Rule::action_from)?;
                ActionKind::Revoke { units, count, from }
            }
            Rule::act_open => ActionKind::Open {
                group: self.ident(c.find(Rule::ident)?),
                key: self.target(c.find(Rule::group_key)?),
            },
            Rule::act_join => ActionKind::Join {
                group: self.ident(c.find(Rule::ident)?),
                key: self.target(c.find(Rule::group_key)?),
            },
            _ => return Err(Broken(span)),
        };
        Ok(Action { kind, span })
    }

    /// `to TARGET` or `from TARGET`, when the next child is that `clause`.
    fn target_after(&mut self, c: &mut Children<'_>, clause: Rule) -> Built<Option<Target>> {
        match c.next_if(clause) {
            Some(p) => Ok(Some(self.target(Children::of(p).find(Rule::target)?))),
            None => Ok(None),
        }
    }

    /// What `use`, `give` and `revoke` move, and how many.
    fn units(&mut self, pair: Pair<'_, Rule>) -> Built<(Units, Option<Lit>)> {
        let inner = Children::of(pair).next()?;
        let rule = inner.as_rule();
        let mut c = Children::of(inner);
        Ok(match rule {
            Rule::units_points => {
                let count = self.number(c.find(Rule::number_lit)?);
                let points = self.sp(&c.find(Rule::kw_points)?);
                (Units::Points(points), Some(count))
            }
            _ => {
                let reward = self.ident(c.find(Rule::ident)?);
                let count = c.next_if(Rule::number_lit).map(|n| self.number(n));
                (Units::Reward(reward), count)
            }
        })
    }

    /// A dotted path: an action's target, a group's key or a limit's field. The rule
    /// is atomic (no inner pairs), so the parts are cut at the dots.
    fn target(&self, pair: Pair<'_, Rule>) -> Target {
        let span = self.sp(&pair);
        let mut path = Vec::new();
        let mut start = span.start as usize;
        for part in pair.as_str().split('.') {
            path.push(Ident {
                name: part.to_string(),
                span: Span::new(start, start + part.len()),
            });
            start += part.len() + 1;
        }
        Target { path, span }
    }

    /// The span of a pair up to the end of its last token: unlike [`span_at`], without
    /// the comments pest's implicit skipping leaves after a rule that ends in an
    /// optional part.
    fn tight(&self, pair: &Pair<'_, Rule>) -> Span {
        let start = pair.as_span().start();
        let end = pair
            .clone()
            .into_inner()
            .flatten()
            .last()
            .map_or(pair.as_span().end(), |p| p.as_span().end());
        Span::new(start, end.max(start)).shift(self.base)
    }

    fn group(&mut self, pair: Pair<'_, Rule>) -> Built<GroupDef> {
        let mut c = Children::of(pair);
        let name = self.ident(c.find(Rule::ident)?);
        let mut lines = Vec::new();
        for line in c.pairs.filter(|p| p.as_rule() == Rule::group_line) {
            let inner = Children::of(line).next()?;
            let rule = inner.as_rule();
            let mut c = Children::of(inner);
            let keyword = self.sp(&c.next()?);
            lines.push(match rule {
                Rule::group_size => GroupLine::Size {
                    keyword,
                    size: self.literal(c.find(Rule::literal)?)?,
                },
                Rule::group_within => GroupLine::Within {
                    keyword,
                    within: self.literal(c.find(Rule::literal)?)?,
                },
                Rule::group_filled => GroupLine::Filled {
                    keyword,
                    actions: self.actions(c.find(Rule::actions)?)?,
                },
                Rule::group_expired => GroupLine::Expired {
                    keyword,
                    actions: self.actions(c.find(Rule::actions)?)?,
                },
                _ => return Err(Broken(keyword)),
            });
        }
        Ok(GroupDef { name, lines })
    }

    fn tiers(&mut self, pair: Pair<'_, Rule>) -> Built<TiersDef> {
        let mut c = Children::of(pair);
        let keyword = self.sp(&c.next()?);
        let mut tiers = Vec::new();
        for t in c.pairs {
            let mut t = Children::of(t);
            let docs = docs(&mut t);
            let name = self.ident(t.find(Rule::ident)?);
            let threshold = self.literal(t.find(Rule::literal)?)?;
            let actions = match t.find(Rule::actions) {
                Ok(a) => Some(self.actions(a)?),
                Err(_) => None,
            };
            tiers.push(TierDef {
                docs,
                name,
                threshold,
                actions,
            });
        }
        Ok(TiersDef { keyword, tiers })
    }

    fn kpi(&mut self, pair: Pair<'_, Rule>) -> Built<KpiDef> {
        let mut c = Children::of(pair);
        let name = self.ident(c.find(Rule::ident)?);
        let formula = self.expr(c.find(Rule::expr)?)?;
        let op_pair = Children::of(c.find(Rule::compare_op)?).next()?;
        let op = compare_op(op_pair.as_rule()).ok_or(Broken(self.sp(&op_pair)))?;
        let target = self.literal(c.find(Rule::literal)?)?;
        let by = match c.next_if(Rule::kpi_by) {
            Some(by) => Some(self.ident(Children::of(by).find(Rule::ident)?)),
            None => None,
        };
        Ok(KpiDef {
            name,
            formula,
            op,
            target,
            by,
        })
    }

    // ------------------------------------------------------------ literals

    fn string(&mut self, pair: Pair<'_, Rule>) -> StrLit {
        let span = self.sp(&pair);
        let inner = pair.into_inner().next();
        let (rule, text) = match &inner {
            Some(p) => (p.as_rule(), p.as_str()),
            None => (Rule::plain_string, "\"\""),
        };
        if rule == Rule::multi_string {
            let body = text.get(3..text.len().saturating_sub(3)).unwrap_or("");
            let (value, _) = crate::strings::dedent(body);
            return StrLit {
                value,
                span,
                multiline: true,
            };
        }
        let body = text.get(1..text.len().saturating_sub(1)).unwrap_or("");
        match crate::strings::unescape(body) {
            Ok(value) => StrLit {
                value,
                span,
                multiline: false,
            },
            Err((at, msg)) => {
                let start = span.start as usize + 1 + at;
                let len = body
                    .get(at..)
                    .and_then(|r| r.chars().nth(1))
                    .map_or(1, |c| 1 + c.len_utf8());
                self.error(
                    Code::E0002,
                    Span::new(start, start + len),
                    format!("invalid escape in a string: {msg}"),
                    "this escape",
                );
                StrLit {
                    value: body.to_string(),
                    span,
                    multiline: false,
                }
            }
        }
    }

    fn literal(&mut self, pair: Pair<'_, Rule>) -> Built<Lit> {
        let span = self.sp(&pair);
        let inner = match pair.as_rule() {
            Rule::literal => Children::of(pair).next()?,
            _ => pair,
        };
        let text = inner.as_str();
        let result = match inner.as_rule() {
            Rule::datetime_lit => literal::parse_datetime(text).map(LitKind::DateTime),
            Rule::date_lit => literal::parse_date(text).map(LitKind::Date),
            Rule::time_lit => literal::parse_time(text).map(LitKind::Time),
            Rule::money_lit => {
                let mut c = Children::of(inner);
                let num = c.next()?.as_str();
                let code = c.next()?.as_str();
                literal::parse_money(num, code).map(LitKind::Money)
            }
            _ => literal::parse_number(text).map(number_kind),
        };
        Ok(match result {
            Ok(kind) => Lit { kind, span },
            Err(e) => {
                let d = Diagnostic::new(Code::E0002, self.loc(span), e.message, "invalid value")
                    .with_help_opt(e.help);
                self.diags.push(d);
                Lit {
                    kind: LitKind::Invalid,
                    span,
                }
            }
        })
    }

    fn number(&mut self, pair: Pair<'_, Rule>) -> Lit {
        let span = self.sp(&pair);
        match literal::parse_number(pair.as_str()) {
            Ok(n) => Lit {
                kind: number_kind(n),
                span,
            },
            Err(e) => {
                let d = Diagnostic::new(Code::E0002, self.loc(span), e.message, "invalid value")
                    .with_help_opt(e.help);
                self.diags.push(d);
                Lit {
                    kind: LitKind::Invalid,
                    span,
                }
            }
        }
    }

    // ------------------------------------------------------------ expressions

    fn expr(&mut self, pair: Pair<'_, Rule>) -> Built<Expr> {
        let span = self.sp(&pair);
        let pairs = pair.into_inner();
        let (mut run, mut longest, mut operators) = (0usize, 0usize, 0usize);
        for p in pairs.clone() {
            match p.as_rule() {
                Rule::op_not | Rule::op_neg => {
                    run += 1;
                    longest = longest.max(run);
                }
                r if is_primary(r) => run = 0,
                _ => operators += 1,
            }
        }
        if longest > MAX_PREFIX_RUN || operators > MAX_OPERATORS {
            let what = if longest > MAX_PREFIX_RUN {
                format!("more than {MAX_PREFIX_RUN} `not` or `-` in a row")
            } else {
                format!("this expression has more than {MAX_OPERATORS} operators")
            };
            self.error(Code::E0001, span, what, "too complex");
            return Ok(Expr {
                kind: ExprKind::Error,
                span,
            });
        }
        // The Pratt parser's closures cannot borrow `self` mutably more than once, so
        // primaries are built first into a queue and the operators only combine them.
        let mut built: Vec<Option<Expr>> = Vec::new();
        for p in pairs.clone() {
            if is_primary(p.as_rule()) {
                built.push(Some(self.primary(p)?));
            }
        }
        let mut next = 0usize;
        let result = PRATT
            .map_primary(|p| {
                let e = built.get_mut(next).and_then(Option::take);
                next += 1;
                e.ok_or(Broken(self.sp(&p)))
            })
            .map_prefix(|op, rhs| {
                let rhs = rhs?;
                let un = if op.as_rule() == Rule::op_not {
                    UnOp::Not
                } else {
                    UnOp::Neg
                };
                let span = self.sp(&op).to(rhs.span);
                Ok(Expr {
                    kind: ExprKind::Unary(un, Box::new(rhs)),
                    span,
                })
            })
            .map_infix(|lhs, op, rhs| {
                let (lhs, rhs) = (lhs?, rhs?);
                let bin = bin_op(op.as_rule()).ok_or(Broken(self.sp(&op)))?;
                let span = lhs.span.to(rhs.span);
                Ok(Expr {
                    kind: ExprKind::Binary(bin, Box::new(lhs), Box::new(rhs)),
                    span,
                })
            })
            .parse(pairs);
        result.map_err(|Broken(s)| Broken(if s.is_empty() { span } else { s }))
    }

    fn primary(&mut self, pair: Pair<'_, Rule>) -> Built<Expr> {
        let span = self.sp(&pair);
        let kind = match pair.as_rule() {
            Rule::paren => {
                let inner = self.expr(Children::of(pair).find(Rule::expr)?)?;
                ExprKind::Paren(Box::new(inner))
            }
            Rule::list => {
                let mut items = Vec::new();
                for e in Children::of(pair).pairs {
                    items.push(self.expr(e)?);
                }
                ExprKind::List(items)
            }
            Rule::literal => ExprKind::Lit(self.literal(pair)?.kind),
            Rule::string => ExprKind::Str(self.string(pair).value),
            Rule::call => {
                let mut c = Children::of(pair);
                let name = self.ident(c.next()?);
                let mut args: Vec<Expr> = Vec::new();
                for a in c.pairs {
                    if a.as_rule() == Rule::call_where {
                        let filter = self.expr(Children::of(a).find(Rule::expr)?)?;
                        let subject = args.pop().ok_or(Broken(span))?;
                        let span = subject.span.to(filter.span);
                        args.push(Expr {
                            kind: ExprKind::Where(Box::new(subject), Box::new(filter)),
                            span,
                        });
                    } else {
                        args.push(self.expr(a)?);
                    }
                }
                ExprKind::Call(name, args)
            }
            Rule::path => ExprKind::Path(Children::of(pair).pairs.map(|p| self.ident(p)).collect()),
            _ => return Err(Broken(span)),
        };
        Ok(Expr { kind, span })
    }
}

fn is_primary(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::paren | Rule::list | Rule::literal | Rule::string | Rule::call | Rule::path
    )
}

fn number_kind(n: Number) -> LitKind {
    match n {
        Number::Int(i) => LitKind::Int(i),
        Number::Decimal(d) => LitKind::Decimal(d),
        Number::Percent(p) => LitKind::Percent(p),
        Number::Duration(d) => LitKind::Duration(d),
    }
}

fn compare_op(rule: Rule) -> Option<CompareOp> {
    Some(match rule {
        Rule::op_eq => CompareOp::Eq,
        Rule::op_ne => CompareOp::Ne,
        Rule::op_lt => CompareOp::Lt,
        Rule::op_le => CompareOp::Le,
        Rule::op_gt => CompareOp::Gt,
        Rule::op_ge => CompareOp::Ge,
        _ => return None,
    })
}

fn bin_op(rule: Rule) -> Option<BinOp> {
    Some(match rule {
        Rule::op_or => BinOp::Or,
        Rule::op_and => BinOp::And,
        Rule::op_in => BinOp::In,
        Rule::op_add => BinOp::Add,
        Rule::op_sub => BinOp::Sub,
        Rule::op_mul => BinOp::Mul,
        Rule::op_div => BinOp::Div,
        other => BinOp::Compare(compare_op(other)?),
    })
}

fn docs(c: &mut Children<'_>) -> Docs {
    let mut lines = Vec::new();
    while let Some(d) = c.next_if(Rule::doc_comment) {
        let text = d.as_str().trim_start_matches('/');
        let text = text.strip_prefix(' ').unwrap_or(text);
        lines.push(text.trim_end().to_string());
    }
    Docs { lines }
}

/// Joins names as "a, b or c".
pub(crate) fn or_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cut_even_when_the_target_falls_inside_a_character() {
        // Items full of multi-byte text, so most byte offsets are inside a character.
        let item = "message m via push {\n  zh-CN \"新春签到节开始啦新春签到节开始啦新春签到节开始啦\"\n}\n\n";
        let src = item.repeat(CHUNK_TARGET * 6 / item.len());
        let scan = lex::scan(&src);
        let bounds = chunk_bounds(&src, &scan);
        assert!(bounds.len() >= 5, "only {} chunks", bounds.len());
        assert!(bounds.iter().all(|(a, b)| b - a < 2 * CHUNK_TARGET));
    }

    #[test]
    fn text_after_a_syntax_error_is_kept_as_unread() {
        let src = "reward a = points 1\nphase p for 1d {\n  goal g when x => notify m\n}\nreward b = points 2\nmessage m via push { en \"unclosed }\n";
        let parsed = parse(src, FileId::default());
        let unread: Vec<&str> = parsed
            .file
            .unread
            .iter()
            .map(|s| &src[s.start as usize..s.end as usize])
            .collect();
        assert_eq!(parsed.file.items.len(), 2, "{unread:?}");
        assert_eq!(unread.len(), 2, "{unread:?}");
        assert!(unread[0].starts_with("phase p") && unread[0].contains("notify m"));
        assert!(unread[1].starts_with("message m"));
        assert!(parse("reward a = points 1\n", FileId::default())
            .file
            .unread
            .is_empty());
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_nest() {
        // Unbalanced brackets in text (an emoticon in each of many messages, ASCII art
        // in a comment) are not nesting: the file must still parse.
        let mut src = String::from(
            "campaign c {\n  timezone \"UTC\"\n  locales en\n}\n// ((((((((\n/* [[[[ */\n",
        );
        for i in 0..70 {
            src.push_str(&format!(
                "message m{i} via push {{ en \"oh no :( [{{\" }}\n"
            ));
        }
        src.push_str(
            "message long via email {\n  subject en \"(\"\n  en \"\"\"\n    ((((\n  \"\"\"\n}\n",
        );
        let parsed = parse(&src, FileId::default());
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        assert_eq!(parsed.file.items.len(), 72);
        assert!(too_deep(&"(".repeat(MAX_NESTING + 1)).is_some());
    }
}
