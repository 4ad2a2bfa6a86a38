//! Messages: channels, a body (and subject) per campaign locale (E0503), a block per
//! variant of a message's experiment (E0505), template syntax (E0501), variables and
//! filters (E0502), SMS length (W0504). Template problems point at the character
//! inside the string.

use super::Ctx;
use crate::suggest;
use camp_dsl::ast::{Ident, MessageDef, MessageEntry, StrLit};
use camp_dsl::diag::{Code, Diagnostic};
use camp_dsl::span::{FileId, Loc, Span};
use minijinja::machinery::{tokenize, Token, WhitespaceConfig};
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, ErrorKind};
use std::collections::{BTreeSet, HashMap};

/// The channels a message can go through.
pub const CHANNELS: &[&str] = &["push", "sms", "email", "in_app", "wechat", "webhook"];

/// The filters camp adds to minijinja's built-ins.
pub const CAMP_FILTERS: &[&str] = &["date", "time", "money"];

/// The top-level template variables.
const ROOTS: &[&str] = &[
    "user",
    "campaign",
    "phase",
    "participant",
    "reward",
    "group",
];

/// What a template may say about a message's sender.
#[derive(Debug, Clone, Copy)]
struct Sender {
    /// Every send is from an action list that grants: `reward.*` has a value.
    reward: bool,
    /// Every send is from a group's outcome: `group.*` has a value.
    group: bool,
}

/// Where one message's problems are collected: checks of different messages share
/// nothing mutable, so they run on all cores.
struct Out<'c, 'a> {
    ctx: &'c Ctx<'a>,
    diags: Vec<Diagnostic>,
    filters: HashMap<String, bool>,
}

impl Out<'_, '_> {
    fn report(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }
}

pub(super) fn check(ctx: &mut Ctx<'_>) {
    let messages: Vec<_> = ctx.syms.messages.iter().copied().collect();
    let threads = if messages.len() < 64 {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 8)
    };
    let per_thread = messages.len().div_ceil(threads).max(1);
    let shared: &Ctx<'_> = ctx;
    let found: Vec<Vec<Diagnostic>> = std::thread::scope(|s| {
        let handles: Vec<_> = messages
            .chunks(per_thread)
            .map(|group| {
                s.spawn(move || {
                    let mut out = Out {
                        ctx: shared,
                        diags: Vec::new(),
                        filters: HashMap::new(),
                    };
                    for def in group {
                        message(&mut out, def.file, def.node);
                    }
                    out.diags
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    for d in found.into_iter().flatten() {
        ctx.report(d);
    }
}

fn message(ctx: &mut Out<'_, '_>, file: FileId, m: &MessageDef) {
    let channel = m.channel.name.as_str();
    if !CHANNELS.contains(&channel) {
        let help = suggest::did_you_mean(channel, CHANNELS.iter().copied())
            .unwrap_or_else(|| format!("channels are {}", CHANNELS.join(", ")));
        ctx.report(
            Diagnostic::new(
                Code::E0102,
                Loc::new(file, m.channel.span),
                format!("unknown channel `{channel}`"),
                "not a channel",
            )
            .with_help(help),
        );
    }
    let sender = Sender {
        reward: !ctx.ctx.used.messages_without_reward.contains(&m.name.name),
        group: !ctx.ctx.used.messages_without_group.contains(&m.name.name),
    };
    let Some(x) = &m.experiment else {
        let (bodies, subjects) = entries(ctx, file, m, &m.entries, sender);
        // Variant blocks without an experiment are reported below, once.
        if m.variants.is_empty() {
            missing(ctx, file, m, None, (&bodies, &subjects));
        }
        for v in &m.variants {
            ctx.report(
                Diagnostic::new(
                    Code::E0505,
                    Loc::new(file, v.name.span),
                    format!(
                        "the message `{}` has a body for the variant `{}`, but no experiment",
                        m.name.name, v.name.name
                    ),
                    "variant without an experiment",
                )
                .with_help(format!(
                    "name the experiment after the channel: `message {} via {} by EXPERIMENT {{ … }}`",
                    m.name.name, m.channel.name
                )),
            );
            entries(ctx, file, m, &v.entries, sender);
        }
        return;
    };
    // A message `by` an experiment: a `variant` block for each of its variants, and
    // no bodies outside them.
    for e in &m.entries {
        ctx.report(
            Diagnostic::new(
                Code::E0505,
                Loc::new(file, e.locale.span),
                format!(
                    "the message `{}` is by the experiment `{}`: its bodies go in `variant` blocks",
                    m.name.name, x.name
                ),
                "outside a variant block",
            )
            .with_help("move this line into a `variant NAME { … }` block, one for each variant"),
        );
    }
    let def = ctx.ctx.syms.experiments.get(&x.name).copied();
    let variants: Vec<&str> = def.map_or_else(Vec::new, |d| {
        d.node
            .variants
            .iter()
            .map(|v| v.name.name.as_str())
            .collect()
    });
    if def.is_none() {
        ctx.report(
            Diagnostic::new(
                Code::E0102,
                Loc::new(file, x.span),
                format!("unknown experiment `{}`", x.name),
                "not defined",
            )
            .with_help_opt(
                suggest::did_you_mean(&x.name, ctx.ctx.syms.experiments.names()).or_else(|| {
                    Some(format!(
                        "define it: `experiment {} {{ variants a 50%, b 50% }}`",
                        x.name
                    ))
                }),
            ),
        );
    }
    let mut blocks: HashMap<&str, Span> = HashMap::new();
    for v in &m.variants {
        let (bodies, subjects) = entries(ctx, file, m, &v.entries, sender);
        if def.is_none() {
            continue;
        }
        if let Some(first) = blocks.insert(&v.name.name, v.name.span) {
            ctx.report(
                Diagnostic::new(
                    Code::E0505,
                    Loc::new(file, v.name.span),
                    format!(
                        "the message `{}` has two blocks for the variant `{}`",
                        m.name.name, v.name.name
                    ),
                    "second block",
                )
                .with_label(Loc::new(file, first), "first block")
                .with_help("put all of a variant's bodies in one block"),
            );
            continue;
        }
        if !variants.contains(&v.name.name.as_str()) {
            let help = suggest::did_you_mean(&v.name.name, variants.iter().copied())
                .unwrap_or_else(|| {
                    format!(
                        "the variants of `{}` are {}",
                        x.name,
                        variants
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                });
            ctx.report(
                Diagnostic::new(
                    Code::E0505,
                    Loc::new(file, v.name.span),
                    format!(
                        "`{}` is not a variant of the experiment `{}`",
                        v.name.name, x.name
                    ),
                    "not a variant",
                )
                .with_help(help),
            );
            continue;
        }
        missing(ctx, file, m, Some(&v.name), (&bodies, &subjects));
    }
    let absent: Vec<String> = variants
        .iter()
        .filter(|v| !blocks.contains_key(*v))
        .map(|v| format!("`{v}`"))
        .collect();
    if def.is_some() && !absent.is_empty() {
        let email = m.channel.name == "email";
        ctx.report(
            Diagnostic::new(
                Code::E0505,
                Loc::new(file, m.name.span),
                format!(
                    "the message `{}` has no body for the variant{} {} of `{}`",
                    m.name.name,
                    if absent.len() == 1 { "" } else { "s" },
                    absent.join(", "),
                    x.name
                ),
                "a variant without a body",
            )
            .with_help(format!(
                "add a block for each: `variant {} {{ {} }}`",
                variants
                    .iter()
                    .find(|v| !blocks.contains_key(*v))
                    .copied()
                    .unwrap_or("NAME"),
                if email {
                    "subject LOCALE \"…\"  LOCALE \"…\""
                } else {
                    "LOCALE \"…\""
                }
            )),
        );
    }
}

/// Bodies and subjects by locale.
type ByLocale<'m> = HashMap<&'m str, Span>;

/// Checks one list of bodies and subjects (a message's, or one variant's): duplicates,
/// subjects off email, locales, templates, SMS length. Returns the locales with a body
/// and those with a subject.
fn entries<'m>(
    ctx: &mut Out<'_, '_>,
    file: FileId,
    m: &MessageDef,
    list: &'m [MessageEntry],
    sender: Sender,
) -> (ByLocale<'m>, ByLocale<'m>) {
    let channel = m.channel.name.as_str();
    let email = channel == "email";
    let locales = &ctx.ctx.settings.locales;
    let mut bodies: ByLocale<'m> = HashMap::new();
    let mut subjects: ByLocale<'m> = HashMap::new();
    for e in list {
        let loc_name = e.locale.name.as_str();
        let seen = if e.subject {
            &mut subjects
        } else {
            &mut bodies
        };
        if let Some(first) = seen.insert(loc_name, e.locale.span) {
            let what = if e.subject { "subject" } else { "body" };
            ctx.report(crate::symbols::duplicate(
                &format!("{what} for locale"),
                loc_name,
                Loc::new(file, e.locale.span),
                Loc::new(file, first),
            ));
            continue;
        }
        if e.subject && !email {
            ctx.report(
                Diagnostic::new(
                    Code::E0503,
                    Loc::new(file, e.locale.span),
                    format!(
                        "only email messages have a subject; `{}` goes via {channel}",
                        m.name.name
                    ),
                    "subject on a non-email message",
                )
                .with_help("remove the `subject` line"),
            );
        }
        if !locales.is_empty() && !locales.iter().any(|l| l == loc_name) {
            let help = suggest::did_you_mean(loc_name, locales.iter().map(String::as_str))
                .unwrap_or_else(|| format!("the campaign's locales are {}", locales.join(", ")));
            ctx.report(
                Diagnostic::new(
                    Code::E0503,
                    Loc::new(file, e.locale.span),
                    format!("`{loc_name}` is not one of the campaign's locales"),
                    "not a campaign locale",
                )
                .with_help(help),
            );
        }
        template(ctx, file, &e.text, sender);
        if channel == "sms" && !e.subject {
            sms_length(ctx, file, &e.text);
        }
    }
    (bodies, subjects)
}

/// Reports the campaign locales without a body (or, for email, a subject): E0503 for
/// a message, E0505 for one variant's block (`variant`).
fn missing(
    ctx: &mut Out<'_, '_>,
    file: FileId,
    m: &MessageDef,
    variant: Option<&Ident>,
    (bodies, subjects): (&ByLocale<'_>, &ByLocale<'_>),
) {
    let email = m.channel.name == "email";
    let mut missing: Vec<String> = Vec::new();
    for l in &ctx.ctx.settings.locales {
        if !bodies.contains_key(l.as_str()) {
            missing.push(format!("body for `{l}`"));
        }
        if email && !subjects.contains_key(l.as_str()) {
            missing.push(format!("subject for `{l}`"));
        }
    }
    if missing.is_empty() {
        return;
    }
    let d = match variant {
        None => Diagnostic::new(
            Code::E0503,
            Loc::new(file, m.name.span),
            format!(
                "the message `{}` has no {}",
                m.name.name,
                missing.join(", no ")
            ),
            "incomplete message",
        )
        .with_help(if email {
            "every campaign locale needs a body and, for email, a `subject LOCALE \"...\"` line"
        } else {
            "every campaign locale needs a body, like `en \"...\"`"
        }),
        Some(v) => Diagnostic::new(
            Code::E0505,
            Loc::new(file, v.span),
            format!(
                "the variant `{}` of the message `{}` has no {}",
                v.name,
                m.name.name,
                missing.join(", no ")
            ),
            "incomplete variant",
        )
        .with_help(if email {
            "each variant needs a body and a `subject LOCALE \"...\"` line for every campaign locale"
        } else {
            "each variant needs a body for every campaign locale, like `en \"...\"`"
        }),
    };
    ctx.report(d);
}

/// Maps an offset in the decoded string to a source span one character wide.
fn inner_span(ctx: &Ctx<'_>, file: FileId, s: &StrLit, range: std::ops::Range<usize>) -> Span {
    let raw = ctx
        .program
        .sources
        .get(file)
        .map_or("", |f| f.slice(s.span));
    let map = |d: usize| -> usize {
        if s.multiline {
            let body = raw.get(3..raw.len().saturating_sub(3)).unwrap_or("");
            let (text, starts) = camp_dsl::strings::dedent(body);
            // minijinja may point inside a multi-byte character: widen to its end.
            let mut d = d.min(text.len());
            while !text.is_char_boundary(d) {
                d += 1;
            }
            let before = text.get(..d).unwrap_or("");
            let line = before.matches('\n').count();
            let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1);
            3 + starts.get(line).copied().unwrap_or(0) + col
        } else {
            1 + plain_offset(raw.get(1..raw.len().saturating_sub(1)).unwrap_or(""), d)
        }
    };
    let start = s.span.start as usize + map(range.start);
    let end = s.span.start as usize + map(range.end.max(range.start + 1));
    Span::new(start, end.min(s.span.end as usize).max(start + 1))
}

/// The source offset (within a `"..."` body) of decoded byte `target`.
fn plain_offset(body: &str, target: usize) -> usize {
    let mut decoded = 0;
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if decoded >= target {
            return i;
        }
        if c == '\\' {
            let src_end = match chars.next() {
                Some((_, 'u')) => {
                    let mut end = i + 2;
                    for (j, c) in chars.by_ref() {
                        end = j + 1;
                        if c == '}' {
                            break;
                        }
                    }
                    end
                }
                Some((j, c)) => j + c.len_utf8(),
                None => i + 1,
            };
            let decoded_len = camp_dsl::strings::unescape(body.get(i..src_end).unwrap_or(""))
                .map_or(1, |s| s.len());
            decoded += decoded_len;
        } else {
            decoded += c.len_utf8();
        }
    }
    body.len()
}

fn template(ctx: &mut Out<'_, '_>, file: FileId, s: &StrLit, sender: Sender) {
    let src = s.value.as_str();
    let env = Environment::new();
    let tmpl = match env.template_from_str(src) {
        Ok(t) => t,
        Err(e) => {
            let range = e.range().unwrap_or(0..src.len());
            let span = inner_span(ctx.ctx, file, s, range);
            let detail = e
                .detail()
                .map_or_else(|| e.kind().to_string(), str::to_string);
            ctx.report(
                Diagnostic::new(Code::E0501, Loc::new(file, span), format!("template syntax error: {detail}"), "here")
                    .with_help("variables are written `{{ user.nickname }}`; filters `{{ campaign.start | date }}`"),
            );
            return;
        }
    };
    // Where each variable is first read, when the template's own walk could tell.
    let scope = super::template_scope::undeclared(src);
    let set_somewhere = scope
        .as_ref()
        .map(|u| u.set_somewhere.clone())
        .unwrap_or_default();
    let vars: Vec<(String, Option<std::ops::Range<usize>>)> = match scope {
        Some(found) => found.reads.into_iter().map(|(v, r)| (v, Some(r))).collect(),
        None => tmpl
            .undeclared_variables(true)
            .into_iter()
            .collect::<BTreeSet<String>>()
            .into_iter()
            .map(|v| (v, None))
            .collect(),
    };
    let bad: Vec<(String, Option<std::ops::Range<usize>>, VarError)> = vars
        .into_iter()
        .filter_map(|(v, at)| {
            let (message, help) = check_var(ctx.ctx, &v, sender).err()?;
            let root = v.split('.').next().unwrap_or("");
            let help = if set_somewhere.contains(root) {
                Some(format!("`{root}` is set in this template, but not where it is read (a `{{% set %}}` inside one branch of an `if`, or inside a `for` loop, does not reach here): set it before"))
            } else {
                help
            };
            Some((v, at, (message, help)))
        })
        .collect();
    // Tokens are only needed to point at a bad variable or to find filters.
    if bad.is_empty() && !src.contains('|') {
        return;
    }
    let tokens: Vec<(Token<'_>, minijinja::machinery::Span)> =
        tokenize(src, false, SyntaxConfig, WhitespaceConfig::default())
            .filter_map(Result::ok)
            .collect();
    for (v, at, (message, help)) in bad {
        let range = at
            .or_else(|| locate_path(&tokens, &v))
            .unwrap_or(0..src.len());
        let span = inner_span(ctx.ctx, file, s, range);
        ctx.report(
            Diagnostic::new(Code::E0502, Loc::new(file, span), message, "unknown")
                .with_help_opt(help),
        );
    }
    let mut prev_pipe = false;
    for (tok, span) in &tokens {
        if let (true, Token::Ident(name)) = (prev_pipe, tok) {
            if !filter_exists(name, &mut ctx.filters) {
                let all = CAMP_FILTERS
                    .iter()
                    .copied()
                    .chain(BUILTIN_FILTER_HINTS.iter().copied());
                let help = suggest::did_you_mean(name, all).unwrap_or_else(|| {
                    "camp adds `date`, `time` and `money` to minijinja's built-in filters".into()
                });
                let range = span.start_offset as usize..span.end_offset as usize;
                let sp = inner_span(ctx.ctx, file, s, range);
                ctx.report(
                    Diagnostic::new(
                        Code::E0502,
                        Loc::new(file, sp),
                        format!("unknown filter `{name}`"),
                        "unknown filter",
                    )
                    .with_help(help),
                );
            }
        }
        prev_pipe = matches!(tok, Token::Pipe);
    }
}

/// Common built-in filters, for "did you mean" only (existence is asked of minijinja).
const BUILTIN_FILTER_HINTS: &[&str] = &[
    "upper",
    "lower",
    "title",
    "capitalize",
    "default",
    "length",
    "round",
    "trim",
    "replace",
    "join",
    "first",
    "last",
    "escape",
    "int",
    "float",
];

fn filter_exists(name: &str, cache: &mut HashMap<String, bool>) -> bool {
    if CAMP_FILTERS.contains(&name) {
        return true;
    }
    if let Some(known) = cache.get(name) {
        return *known;
    }
    let env = Environment::new();
    let probe = format!("{{{{ none | {name} }}}}");
    let exists = match env.render_str(&probe, ()) {
        Ok(_) => true,
        Err(e) => e.kind() != ErrorKind::UnknownFilter,
    };
    cache.insert(name.to_string(), exists);
    exists
}

/// Finds the tokens of a dotted variable path; the byte range in the template.
fn locate_path(
    tokens: &[(Token<'_>, minijinja::machinery::Span)],
    path: &str,
) -> Option<std::ops::Range<usize>> {
    let parts: Vec<&str> = path.split('.').collect();
    let first = *parts.first()?;
    'outer: for (i, (tok, span)) in tokens.iter().enumerate() {
        if !matches!(tok, Token::Ident(n) if *n == first) {
            continue;
        }
        if i > 0 && matches!(tokens.get(i - 1), Some((Token::Dot, _))) {
            continue;
        }
        let mut end = span.end_offset as usize;
        for (k, part) in parts.iter().enumerate().skip(1) {
            let dot = tokens.get(i + 2 * k - 1);
            let id = tokens.get(i + 2 * k);
            match (dot, id) {
                (Some((Token::Dot, _)), Some((Token::Ident(n), sp))) if n == part => {
                    end = sp.end_offset as usize
                }
                _ => continue 'outer,
            }
        }
        return Some(span.start_offset as usize..end);
    }
    None
}

type VarError = (String, Option<String>);

fn check_var(ctx: &Ctx<'_>, path: &str, sender: Sender) -> Result<(), VarError> {
    let parts: Vec<&str> = path.split('.').collect();
    let (root, rest) = match parts.split_first() {
        Some((r, rest)) => (*r, rest),
        None => return Ok(()),
    };
    let attr = rest.first().copied();
    let member = |allowed: &[&str], what: &str| -> Result<(), VarError> {
        match attr {
            None => Ok(()),
            Some(a) if allowed.contains(&a) => Ok(()),
            Some(a) => Err((
                format!("unknown template variable `{root}.{a}`"),
                suggest::did_you_mean(a, allowed.iter().copied())
                    .map(|h| h.replacen('`', &format!("`{root}."), 1))
                    .or_else(|| Some(format!("{what} has {}", allowed.join(", ")))),
            )),
        }
    };
    match root {
        "user" => match attr {
            None | Some("id") => Ok(()),
            Some(a) if ctx.syms.attrs.get(a).is_some() => Ok(()),
            Some(a) => Err((
                format!("unknown template variable `user.{a}`"),
                suggest::did_you_mean(a, ctx.syms.attrs.names())
                    .map(|h| h.replacen('`', "`user.", 1))
                    .or_else(|| Some(format!("only declared user attributes can be used; declare it: `user {{ {a}: string }}`"))),
            )),
        },
        "campaign" => member(&["name", "start", "end"], "`campaign`"),
        "phase" => member(&["name", "start", "end"], "`phase`"),
        "participant" => match (attr, rest.get(1)) {
            (Some("rank"), Some(lb)) => {
                if ctx.syms.leaderboards.get(lb).is_some() {
                    Ok(())
                } else {
                    Err((
                        format!("unknown leaderboard `{lb}` in `participant.rank.{lb}`"),
                        suggest::did_you_mean(lb, ctx.syms.leaderboards.names()),
                    ))
                }
            }
            (Some("rank"), None) => Err((
                "`participant.rank` needs a leaderboard: `participant.rank.NAME`".into(),
                ctx.syms.leaderboards.names().next().map(|n| format!("for example `participant.rank.{n}`")),
            )),
            (Some(kind @ ("count" | "today" | "streak")), Some(task)) => {
                if ctx.syms.tasks.get(task).is_some() {
                    Ok(())
                } else {
                    Err((
                        format!("unknown task `{task}` in `participant.{kind}.{task}`"),
                        suggest::did_you_mean(task, ctx.syms.tasks.names()),
                    ))
                }
            }
            (Some("variant"), Some(x)) => {
                if ctx.syms.experiments.get(x).is_some() {
                    Ok(())
                } else {
                    Err((
                        format!("unknown experiment `{x}` in `participant.variant.{x}`"),
                        suggest::did_you_mean(x, ctx.syms.experiments.names()),
                    ))
                }
            }
            (Some("variant"), None) => Err((
                "`participant.variant` needs an experiment: `participant.variant.NAME`".into(),
                ctx.syms.experiments.names().next().map(|n| format!("for example `participant.variant.{n}`")),
            )),
            (Some(kind @ ("count" | "today" | "streak")), None) => Err((
                format!("`participant.{kind}` needs a task: `participant.{kind}.TASK`"),
                ctx.syms.tasks.names().next().map(|n| format!("for example `participant.{kind}.{n}`")),
            )),
            _ => member(
                &["points", "earned", "tier", "enrolled", "enrolled_at", "count", "today", "streak", "rank", "variant"],
                "`participant`",
            ),
        },
        "group" => {
            member(&["name", "key", "size", "members"], "`group`")?;
            if sender.group {
                Ok(())
            } else {
                Err((
                    "`group` has a value only in a message sent by a group's `filled` or `expired`".into(),
                    Some("send this message only from a group's outcome, or remove `group.*` from it".into()),
                ))
            }
        }
        "reward" => {
            member(&["name", "label", "value", "amount"], "`reward`")?;
            if sender.reward {
                Ok(())
            } else {
                Err((
                    "`reward` has a value only in a message sent by a task that grants".into(),
                    Some("send this message from a task with a `grant`, or remove `reward.*` from it".into()),
                ))
            }
        }
        other => Err((
            format!("unknown template variable `{other}`"),
            suggest::did_you_mean(other, ROOTS.iter().copied()).or_else(|| Some(format!("templates can use {}", ROOTS.join(", ")))),
        )),
    }
}

/// GSM 03.38 basic characters (one septet each).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// GSM 03.38 extension characters (two septets each).
const GSM_EXTENDED: &str = "^{}\\[~]|€\u{c}";

/// The text of a template with its tags removed: what a recipient reads, less the
/// values filled in.
fn static_text(src: &str) -> String {
    let mut out = String::new();
    let mut rest = src;
    while let Some(open) = rest.find(['{']) {
        let (before, after) = rest.split_at(open);
        out.push_str(before);
        let close = match after.get(..2) {
            Some("{{") => "}}",
            Some("{%") => "%}",
            Some("{#") => "#}",
            _ => {
                out.push('{');
                rest = after.get(1..).unwrap_or("");
                continue;
            }
        };
        match after.find(close) {
            Some(end) => rest = after.get(end + 2..).unwrap_or(""),
            None => {
                out.push_str(after);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn sms_length(ctx: &mut Out<'_, '_>, file: FileId, s: &StrLit) {
    let text = static_text(&s.value);
    let gsm = text
        .chars()
        .all(|c| GSM_BASIC.contains(c) || GSM_EXTENDED.contains(c));
    let (len, limit) = if gsm {
        (
            text.chars()
                .map(|c| if GSM_EXTENDED.contains(c) { 2 } else { 1 })
                .sum::<usize>(),
            160,
        )
    } else {
        (text.chars().count(), 70)
    };
    if len > limit {
        let why = if gsm {
            ""
        } else {
            " (it has characters outside the GSM alphabet, so a segment holds 70)"
        };
        ctx.report(
            Diagnostic::new(Code::W0504, Loc::new(file, s.span), format!("this SMS is {len} characters before any values are filled in, over one segment of {limit}{why}"), "longer than one SMS")
                .with_help("shorten it: a longer SMS is split into several, each billed"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_through_escapes() {
        assert_eq!(plain_offset(r"ab", 1), 1);
        assert_eq!(plain_offset(r#"\"x"#, 1), 2);
        assert_eq!(plain_offset(r"\u{4F60}x", 3), 8);
    }

    #[test]
    fn static_text_drops_tags() {
        assert_eq!(
            static_text("Hi {{ user.name }}, {% if x %}y{% endif %} {"),
            "Hi , y {"
        );
    }
}
