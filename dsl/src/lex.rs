//! A light lexical scan, independent of the grammar: finds plain comments (kept for the
//! formatter) and the first unterminated string or block comment (E0003).

use crate::ast::Comment;
use crate::span::Span;

/// What the scan found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Plain (non-doc) comments in order.
    pub comments: Vec<Comment>,
    /// Unterminated strings and block comments: where each opens and what it is.
    pub unterminated: Vec<(Span, &'static str)>,
    /// An unterminated block comment or `"""` string: everything from here on is inside it.
    pub open_to_end: Option<u32>,
    /// Closed block comments and `"""` strings, which may span lines, in order.
    pub multiline: Vec<Span>,
}

impl Scan {
    /// Whether byte `at` lies inside a block comment or a `"""` string.
    pub fn inside_multiline(&self, at: u32) -> bool {
        let i = self.multiline.partition_point(|s| s.end <= at);
        self.multiline.get(i).is_some_and(|s| s.start < at)
    }
}

/// Scans `src` for comments and unterminated literals.
pub(crate) fn scan(src: &str) -> Scan {
    let bytes = src.as_bytes();
    let mut out = Scan::default();
    let mut i = 0;
    let mut line_has_code = false;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\n' => {
                line_has_code = false;
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = src
                    .get(i..)
                    .and_then(|r| r.find('\n'))
                    .map_or(src.len(), |n| i + n);
                let is_doc = bytes.get(i + 2) == Some(&b'/') && bytes.get(i + 3) != Some(&b'/');
                if !is_doc {
                    out.comments.push(Comment {
                        span: Span::new(i, end),
                        trailing: line_has_code,
                    });
                }
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                match src.get(i + 2..).and_then(|r| r.find("*/")) {
                    Some(n) => {
                        let end = i + 2 + n + 2;
                        out.comments.push(Comment {
                            span: Span::new(i, end),
                            trailing: line_has_code,
                        });
                        out.multiline.push(Span::new(i, end));
                        line_has_code = true;
                        i = end;
                    }
                    None => {
                        out.unterminated.push((Span::new(i, i + 2), "comment"));
                        out.open_to_end = Some(u32::try_from(i).unwrap_or(u32::MAX));
                        return out;
                    }
                }
            }
            b'"' if src.get(i..).is_some_and(|r| r.starts_with("\"\"\"")) => {
                line_has_code = true;
                match src.get(i + 3..).and_then(|r| r.find("\"\"\"")) {
                    Some(n) => {
                        out.multiline.push(Span::new(i, i + 3 + n + 3));
                        i = i + 3 + n + 3;
                    }
                    None => {
                        out.unterminated.push((Span::new(i, i + 3), "string"));
                        out.open_to_end = Some(u32::try_from(i).unwrap_or(u32::MAX));
                        return out;
                    }
                }
            }
            b'"' => {
                line_has_code = true;
                let mut j = i + 1;
                loop {
                    match bytes.get(j) {
                        Some(b'\\') => j += 2,
                        Some(b'"') => {
                            i = j + 1;
                            break;
                        }
                        Some(b'\n') | None => {
                            out.unterminated.push((Span::new(i, i + 1), "string"));
                            i = j;
                            break;
                        }
                        Some(_) => j += 1,
                    }
                }
            }
            b' ' | b'\t' | b'\r' => i += 1,
            _ => {
                line_has_code = true;
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_comments_and_unterminated() {
        let s = scan("// a\nx /* b */ y // c\n/// doc\n\"str // not\"\n\"open\n");
        let texts: Vec<(u32, bool)> = s
            .comments
            .iter()
            .map(|c| (c.span.start, c.trailing))
            .collect();
        assert_eq!(texts, vec![(0, false), (7, true), (17, true)]);
        assert_eq!(s.unterminated, vec![(Span::new(43, 44), "string")]);
    }
}
