//! A file's lines, read a block at a time into one buffer and handed out in place:
//! no copy per line, and one UTF-8 check per block.

use std::io::{self, Read};

/// How much is read at a time (a longer line grows the buffer to fit).
const BLOCK: usize = 1 << 20;

/// One line of the file.
#[derive(Debug, Clone, Copy)]
pub(super) struct Line<'a> {
    /// Its number, from 1.
    pub n: usize,
    /// Where it starts in the file.
    pub offset: u64,
    /// Its text with its newline, or why it is not text.
    pub text: Result<&'a str, std::str::Utf8Error>,
}

/// Reads `file` from where it stands to its end, handing the whole lines of each block
/// to `each`, in order.
pub(super) fn each_block<R: Read>(
    file: &mut R,
    each: &mut dyn FnMut(&[Line<'_>]) -> io::Result<()>,
) -> io::Result<()> {
    let mut buf = vec![0u8; BLOCK];
    let (mut filled, mut n, mut offset) = (0usize, 0usize, 0u64);
    loop {
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let read = match file.read(buf.get_mut(filled..).unwrap_or_default()) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        filled += read;
        let eof = read == 0;
        let data = buf.get(..filled).unwrap_or_default();
        // Whole lines end at the last newline; at the end of the file, so does the rest.
        let end = match data.iter().rposition(|&b| b == b'\n') {
            _ if eof => filled,
            Some(i) => i + 1,
            None => continue,
        };
        let whole = data.get(..end).unwrap_or_default();
        // Each line's text (or why it has none) and its length in bytes.
        let split: Vec<(Result<&str, std::str::Utf8Error>, usize)> =
            match std::str::from_utf8(whole) {
                Ok(text) => text
                    .split_inclusive('\n')
                    .map(|l| (Ok(l), l.len()))
                    .collect(),
                // Some line is not text: check each on its own.
                Err(_) => whole
                    .split_inclusive(|&b| b == b'\n')
                    .map(|l| (std::str::from_utf8(l), l.len()))
                    .collect(),
            };
        let mut lines = Vec::with_capacity(split.len());
        let mut at = offset;
        for (text, len) in split {
            n += 1;
            lines.push(Line {
                n,
                offset: at,
                text,
            });
            at += len as u64;
        }
        each(&lines)?;
        drop(lines);
        buf.copy_within(end..filled, 0);
        filled -= end;
        offset += end as u64;
        if eof {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Vec<(usize, u64, Option<String>)> {
        let mut got = Vec::new();
        let mut r = bytes;
        each_block(&mut r, &mut |lines| {
            got.extend(
                lines
                    .iter()
                    .map(|l| (l.n, l.offset, l.text.ok().map(str::to_string))),
            );
            Ok(())
        })
        .unwrap_or_default();
        got
    }

    #[test]
    fn lines_keep_their_numbers_offsets_and_newlines() {
        let got = read(b"a\n\nbc\nd");
        let want = [
            (1, 0, Some("a\n".to_string())),
            (2, 2, Some("\n".to_string())),
            (3, 3, Some("bc\n".to_string())),
            (4, 6, Some("d".to_string())),
        ];
        assert_eq!(got, want);
        assert!(read(b"").is_empty());
    }

    #[test]
    fn a_line_that_is_not_text_is_one_error_and_the_rest_read() {
        let got = read(b"ok\n\xff\xfe\nfine\n");
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].2.as_deref(), Some("ok\n"));
        assert_eq!(got[1].2, None);
        assert_eq!(got[2].2.as_deref(), Some("fine\n"));
    }

    #[test]
    fn lines_longer_than_a_block_and_across_blocks_read_whole() {
        let long = "x".repeat(BLOCK * 2 + 7);
        let mut text = String::new();
        for i in 0..50_000 {
            text.push_str(&format!("line {i}\n"));
        }
        text.push_str(&long);
        text.push('\n');
        text.push_str("last");
        let got = read(text.as_bytes());
        assert_eq!(got.len(), 50_002);
        assert_eq!(got[49_999].2.as_deref(), Some("line 49999\n"));
        assert_eq!(got[50_000].2.as_deref().map(str::len), Some(long.len() + 1));
        assert_eq!(got[50_001].2.as_deref(), Some("last"));
        let offset = text.len() - 4;
        assert_eq!(got[50_001].1, offset as u64);
    }
}
