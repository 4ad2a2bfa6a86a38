//! A file's lines, read a block at a time into one buffer and handed out in place:
//! no copy per line, one UTF-8 check and one newline search per block.

use std::io::{self, Read};

/// The UTF-8 byte order mark some editors write at the start of a file.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// How much is read at a time (a longer line grows the buffer to fit).
const BLOCK: usize = 1 << 20;

/// One line of the file.
#[derive(Debug, Clone, Copy)]
pub(super) struct Line<'a> {
    /// Its number, from 1.
    pub n: usize,
    /// Where it starts in the file.
    pub offset: u64,
    /// Its bytes, with its newline.
    pub bytes: &'a [u8],
    /// The same as text, unless they are not UTF-8.
    pub text: Option<&'a str>,
}

impl<'a> Line<'a> {
    /// Its text, or why it has none.
    pub(super) fn text(&self) -> Result<&'a str, String> {
        self.text
            .ok_or_else(|| match std::str::from_utf8(self.bytes) {
                Err(e) => format!("not UTF-8 text ({e})"),
                Ok(_) => "not UTF-8 text".to_string(),
            })
    }
}

/// The whole lines of one block.
pub(super) struct Block<'a> {
    bytes: &'a [u8],
    /// The block as text, when all of it is.
    text: Option<&'a str>,
    /// Where each line ends in `bytes`.
    ends: &'a [usize],
    /// The first line's number.
    first: usize,
    /// Where `bytes` starts in the file.
    offset: u64,
}

impl<'a> Block<'a> {
    /// Its lines, in order.
    pub(super) fn lines(&self) -> impl Iterator<Item = Line<'a>> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        self.ends
            .iter()
            .zip(starts)
            .enumerate()
            .map(|(i, (&end, start))| {
                // A UTF-8 byte order mark before the file's first line is not part of it.
                let start = if self.offset == 0 && start == 0 && self.bytes.starts_with(BOM) {
                    BOM.len().min(end)
                } else {
                    start
                };
                let bytes = self.bytes.get(start..end).unwrap_or_default();
                let text = match self.text {
                    Some(t) => t.get(start..end),
                    None => std::str::from_utf8(bytes).ok(),
                };
                Line {
                    n: self.first + i,
                    offset: self.offset + start as u64,
                    bytes,
                    text,
                }
            })
    }
}

/// Reads `file` from where it stands to its end, handing the whole lines of each block
/// to `each`, in order. The buffer and the list of line ends are kept from block to
/// block.
pub(super) fn each_block<R: Read>(
    file: &mut R,
    each: &mut dyn FnMut(&Block<'_>) -> io::Result<()>,
) -> io::Result<()> {
    let mut buf = vec![0u8; BLOCK];
    let mut ends: Vec<usize> = Vec::new();
    let (mut filled, mut first, mut offset) = (0usize, 1usize, 0u64);
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
        let bytes = data.get(..end).unwrap_or_default();
        let text = std::str::from_utf8(bytes).ok();
        ends.clear();
        ends.extend(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1));
        if ends.last().copied().unwrap_or(0) < bytes.len() {
            // The file's last line, without a newline.
            ends.push(bytes.len());
        }
        each(&Block {
            bytes,
            text,
            ends: &ends,
            first,
            offset,
        })?;
        first += ends.len();
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
        each_block(&mut r, &mut |block| {
            got.extend(
                block
                    .lines()
                    .map(|l| (l.n, l.offset, l.text.map(str::to_string))),
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
