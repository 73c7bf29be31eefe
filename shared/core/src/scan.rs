//! Byte scans shared by the JSON reader ([`crate::parse`]) and writer ([`crate::event`]):
//! where a string's plain run ends. Eight bytes per step, in safe code.

const ONES: u64 = u64::from_le_bytes([1; 8]);
const HIGH: u64 = ONES << 7;

/// The index of the first byte of `b` that a JSON string cannot hold as is (`"`, `\` or a
/// control character, below 0x20), or `None`.
pub(crate) fn first_special(b: &[u8]) -> Option<usize> {
    let mut chunks = b.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let found = special_bytes(u64::from_le_bytes(word));
        if found != 0 {
            // Little-endian: the lowest flagged byte is the first in the text.
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|i| at + i)
}

/// The high bit of each byte of `w` that is `"`, `\` or below 0x20, exact up to the first
/// one (a borrow may flag bytes after it, never before, so only the lowest flag counts).
fn special_bytes(w: u64) -> u64 {
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    let quote = zero(w ^ (ONES * u64::from(b'"')));
    let backslash = zero(w ^ (ONES * u64::from(b'\\')));
    let control = w.wrapping_sub(ONES * 0x20) & !w;
    (quote | backslash | control) & HIGH
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn by_byte(b: &[u8]) -> Option<usize> {
        b.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20)
    }

    #[test]
    fn every_byte_value_in_every_position() {
        for len in 0..20 {
            for at in 0..len {
                for c in 0..=255u8 {
                    let mut b = vec![b'a'; len];
                    b[at] = c;
                    assert_eq!(
                        first_special(&b),
                        by_byte(&b),
                        "byte {c:#x} at {at} of {len}"
                    );
                    // After a special byte, and after a byte that borrows.
                    let mut later = b.clone();
                    later[len - 1] = b'"';
                    assert_eq!(first_special(&later), by_byte(&later));
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        #[test]
        fn agrees_with_a_byte_loop(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(first_special(&b), by_byte(&b));
        }

        #[test]
        fn agrees_on_text_like_bytes(
            b in proptest::collection::vec(prop_oneof![
                8 => 0x20u8..0x7f, 1 => Just(b'"'), 1 => Just(b'\\'), 1 => 0u8..0x20, 1 => 0x80u8..=0xff,
            ], 0..64)
        ) {
            prop_assert_eq!(first_special(&b), by_byte(&b));
        }
    }
}
