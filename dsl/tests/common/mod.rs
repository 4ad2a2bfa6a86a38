//! What the formatter must preserve, shared by the formatter's tests: a file's meaning
//! (its AST with spans erased) and its comments.

use camp_dsl::parse;
use camp_dsl::span::FileId;

/// The items of a file as `Debug` text with every span erased.
pub fn meaning(src: &str) -> String {
    scrub_spans(&format!("{:#?}", parse(src, FileId(0)).file.items))
}

/// Replaces every `Span { start: N, end: M }` with `Span`.
pub fn scrub_spans(debug: &str) -> String {
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug;
    while let Some(at) = rest.find("Span {") {
        out.push_str(&rest[..at]);
        out.push_str("Span");
        let after = &rest[at..];
        let close = after.find('}').expect("a Span's Debug text ends with `}`");
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The comments of a file, in order, as written (trailing spaces of `//` comments aside).
pub fn comments(src: &str) -> Vec<String> {
    parse(src, FileId(0))
        .file
        .comments
        .iter()
        .map(|c| {
            let text = &src[c.span.start as usize..c.span.end as usize];
            if text.starts_with("//") {
                text.trim_end().to_string()
            } else {
                text.to_string()
            }
        })
        .collect()
}
