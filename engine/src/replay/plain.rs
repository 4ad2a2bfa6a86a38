//! Finding the bytes JSON treats specially inside a string (`"`, `\` and control
//! characters), eight at a time: reading event lines and writing effects both look
//! for them in every string, and the strings of a replay are almost always free of
//! them.

/// Eight copies of a byte.
const fn splat(b: u8) -> u64 {
    u64::from_le_bytes([b; 8])
}

const ONES: u64 = splat(0x01);
const HIGHS: u64 = splat(0x80);

/// The high bit of every byte of `w` below `n` (for `n` up to 128). A borrow can
/// flag a byte above a flagged one, never below: the lowest flag is exact.
fn below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(splat(n)) & !w & HIGHS
}

/// The high bit of every byte of `w` that is `b` (the lowest flag exact, as above).
fn equal(w: u64, b: u8) -> u64 {
    let x = w ^ splat(b);
    x.wrapping_sub(ONES) & !x & HIGHS
}

fn special_byte(c: u8) -> bool {
    c == b'"' || c == b'\\' || c < 0x20
}

/// Where the first `"`, `\` or control character of `b` is.
pub(crate) fn special(b: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(word) = b.get(at..at + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
        let w = u64::from_le_bytes(word);
        let flags = equal(w, b'"') | equal(w, b'\\') | below(w, 0x20);
        if flags != 0 {
            // Little-endian: the lowest flag is the first special byte.
            return Some(at + flags.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    b.get(at..)?
        .iter()
        .position(|&c| special_byte(c))
        .map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_quotes_backslashes_and_control_characters() {
        assert_eq!(special(b""), None);
        assert_eq!(special(b"plain text, no stops"), None);
        assert_eq!(special(b"0123456789\"x"), Some(10));
        assert_eq!(special(b"01234567\\"), Some(8));
        assert_eq!(special(b"\x1f"), Some(0));
        assert_eq!(special(b"abcdefgh\x7f\x80\xff\x20!"), None);
        assert_eq!(special("é中\t".as_bytes()), Some(5));
    }

    proptest! {
        /// The same as looking at each byte in turn.
        #[test]
        fn agrees_with_a_byte_at_a_time(b in prop::collection::vec(any::<u8>(), 0..40)) {
            prop_assert_eq!(special(&b), b.iter().position(|&c| special_byte(c)));
        }

        /// Mostly plain bytes, a special one anywhere.
        #[test]
        fn finds_one_special_byte_anywhere(len in 0usize..40, at in 0usize..40, c in prop_oneof![Just(b'"'), Just(b'\\'), 0u8..0x20]) {
            let mut b = vec![b'a'; len];
            if let Some(x) = b.get_mut(at) { *x = c; }
            prop_assert_eq!(special(&b), (at < len).then_some(at));
        }
    }
}
