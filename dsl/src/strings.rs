//! String literals: escapes in `"..."` and the common indentation of `"""..."""`.

/// Decodes the body of a `"..."` string (without quotes). Returns the text or the byte
/// offset (within `body`) and message of the first bad escape.
pub fn unescape(body: &str) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, 'n')) => out.push('\n'),
            Some((_, 't')) => out.push('\t'),
            Some((_, 'r')) => out.push('\r'),
            Some((_, '"')) => out.push('"'),
            Some((_, '\\')) => out.push('\\'),
            Some((_, 'u')) => {
                if chars.next().map(|(_, c)| c) != Some('{') {
                    return Err((i, "a unicode escape is written `\\u{4F60}`".into()));
                }
                let mut hex = String::new();
                loop {
                    match chars.next() {
                        Some((_, '}')) => break,
                        Some((_, h)) if h.is_ascii_hexdigit() && hex.len() < 6 => hex.push(h),
                        _ => return Err((i, "a unicode escape is written `\\u{4F60}`".into())),
                    }
                }
                let ch = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                match ch {
                    Some(ch) => out.push(ch),
                    None => return Err((i, format!("`\\u{{{hex}}}` is not a character"))),
                }
            }
            Some((_, other)) => {
                return Err((
                    i,
                    format!("`\\{other}` is not an escape; use `\\\\` for a backslash"),
                ))
            }
            None => return Err((i, "a string cannot end with a lone `\\`".into())),
        }
    }
    Ok(out)
}

/// Decodes a `"""..."""` body: drops the first line break and the last line if it is only
/// indentation, and removes the indentation common to all non-blank lines.
///
/// Returns the text and, for each output line, the byte offset in `body` where its
/// kept text starts (so template errors can point into the source).
pub fn dedent(body: &str) -> (String, Vec<usize>) {
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut offset = 0;
    for line in body.split('\n') {
        lines.push((offset, line));
        offset += line.len() + 1;
    }
    if lines.first().is_some_and(|(_, l)| l.trim().is_empty()) && lines.len() > 1 {
        lines.remove(0);
    }
    if lines.last().is_some_and(|(_, l)| l.trim().is_empty()) && lines.len() > 1 {
        lines.pop();
    }
    let indent = lines
        .iter()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(_, l)| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    let mut out = String::with_capacity(body.len());
    let mut starts = Vec::with_capacity(lines.len());
    for (n, (off, line)) in lines.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let cut = indent.min(line.len() - line.trim_start_matches([' ', '\t']).len());
        let kept = line.get(cut..).unwrap_or("");
        let kept = kept.strip_suffix('\r').unwrap_or(kept);
        starts.push(off + cut);
        out.push_str(kept);
    }
    (out, starts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings() {
        assert_eq!(unescape(r#"a\"b\u{4F60}\n"#), Ok("a\"b你\n".to_string()));
        assert!(unescape(r"\q").is_err());
        let (text, starts) = dedent("\n    hello\n      world\n  ");
        assert_eq!(text, "hello\n  world");
        assert_eq!(starts, vec![5, 15]);
    }
}
