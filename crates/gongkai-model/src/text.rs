//! Byte-level character classes that the readers (`gongkai-parse`) and the rules
//! (`gongkai-rules`) share, so that both agree on what counts as whitespace while they scan
//! UTF-8 without decoding every character (a hot path: every line of every report).

/// The length of the whitespace character (`char::is_whitespace`) that starts at byte `i`
/// of valid UTF-8, or 0: U+0009–000D, U+0020, U+0085, U+00A0, U+1680, U+2000–200A, U+2028,
/// U+2029, U+202F, U+205F and U+3000, told apart on their bytes without decoding.
pub fn whitespace_len(bytes: &[u8], i: usize) -> usize {
    let next = |k: usize| bytes.get(i + k).copied().unwrap_or(0);
    match bytes.get(i).copied().unwrap_or(0) {
        b'\t'..=b'\r' | b' ' => 1,
        0xC2 if matches!(next(1), 0x85 | 0xA0) => 2,
        0xE1 if next(1) == 0x9A && next(2) == 0x80 => 3,
        0xE2 if next(1) == 0x80 && matches!(next(2), 0x80..=0x8A | 0xA8 | 0xA9 | 0xAF) => 3,
        0xE2 if next(1) == 0x81 && next(2) == 0x9F => 3,
        0xE3 if next(1) == 0x80 && next(2) == 0x80 => 3,
        _ => 0,
    }
}

/// The length of the UTF-8 character whose first byte is `lead`.
pub fn utf8_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_and_lengths_agree_with_std_for_every_scalar() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let mut buf = [0u8; 4];
            let bytes = c.encode_utf8(&mut buf).as_bytes();
            assert_eq!(utf8_len(bytes[0]), c.len_utf8(), "{:04X}", u32::from(c));
            let expected = if c.is_whitespace() { c.len_utf8() } else { 0 };
            assert_eq!(whitespace_len(bytes, 0), expected, "{:04X}", u32::from(c));
        }
    }
}
