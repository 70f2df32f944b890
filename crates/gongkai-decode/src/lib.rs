//! Bytes to text, and what kind of document the bytes are.
//!
//! Chinese government sites publish in UTF-8 (with or without a BOM) and in the GB family
//! (GB2312, GBK, GB18030). GB18030 is a superset of the other two, so every GB label is
//! decoded as GB18030: a page labelled `gb2312` that uses a GBK-only character still decodes.
//! The encoding is taken, in order, from a byte-order mark, from an HTML `<meta charset>`
//! declaration, from UTF-8 validity, and last from `chardetng`'s guess. Bytes that decode to
//! nothing sensible (binary, or mostly replacement characters) are rejected with an error
//! that says so, rather than passed on as garbage.
//!
//! [`sniff`] tells formats apart by their magic bytes, never by file name.

mod sniff;

pub use sniff::{Sniffed, sniff};

use encoding_rs::{Encoding, GB18030, GBK, UTF_8};

/// The most bytes [`decode_text`] and [`decode_html`] decode (the pipeline's default
/// `MAX_REPORT_BYTES`); larger inputs are refused before any work is done. The `_within`
/// functions take the caller's limit instead.
pub const MAX_TEXT_BYTES: usize = 64 * 1024 * 1024;

/// Share of replacement characters (U+FFFD) above which a decoding is considered failed.
const MAX_REPLACEMENT_PER_MILLE: usize = 20;
/// Share of control characters (other than tab, line feed, carriage return, form feed) above
/// which the input is considered binary.
const MAX_CONTROL_PER_MILLE: usize = 10;

/// Why bytes could not be turned into text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("input is empty")]
    Empty,
    #[error("input is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error(
        "input looks binary, not text: {control} control characters among {chars} characters (first at byte {first_offset})"
    )]
    Binary {
        control: usize,
        chars: usize,
        first_offset: usize,
    },
    #[error(
        "input does not decode as {encoding}: {replacements} of {chars} characters are undecodable"
    )]
    Undecodable {
        encoding: &'static str,
        replacements: usize,
        chars: usize,
    },
}

/// Text decoded from bytes, with the encoding it was decoded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub text: String,
    /// Lower-case WHATWG name of the encoding: `utf-8`, `gb18030`, `utf-16le`, …
    pub encoding: String,
    /// How the encoding was chosen.
    pub evidence: Evidence,
}

/// Where the encoding of a [`Decoded`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    ByteOrderMark,
    MetaCharset,
    ValidUtf8,
    Detected,
}

/// Decodes plain text or Markdown of at most [`MAX_TEXT_BYTES`].
pub fn decode_text(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    decode_text_within(bytes, MAX_TEXT_BYTES)
}

/// Decodes plain text or Markdown of at most `limit` bytes (`TooLarge` naming the limit
/// otherwise).
pub fn decode_text_within(bytes: &[u8], limit: usize) -> Result<Decoded, DecodeError> {
    decode(bytes, None, limit)
}

/// Decodes HTML of at most [`MAX_TEXT_BYTES`], honouring a `<meta charset>` or
/// `<meta http-equiv content="…charset=…">` declaration in the first 4 KiB when there is no
/// byte-order mark.
pub fn decode_html(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    decode_html_within(bytes, MAX_TEXT_BYTES)
}

/// [`decode_html`] with the caller's limit.
pub fn decode_html_within(bytes: &[u8], limit: usize) -> Result<Decoded, DecodeError> {
    decode(bytes, declared_html_charset(bytes), limit)
}

fn decode(
    bytes: &[u8],
    declared: Option<&'static Encoding>,
    limit: usize,
) -> Result<Decoded, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    if bytes.len() > limit {
        return Err(DecodeError::TooLarge {
            size: bytes.len(),
            limit,
        });
    }
    // Bytes already found to be UTF-8 are copied, not validated a second time.
    let mut valid_utf8 = None;
    let (encoding, evidence) = if let Some((enc, _)) = Encoding::for_bom(bytes) {
        (enc, Evidence::ByteOrderMark)
    } else if let Some(enc) = declared {
        // Sites often declare gb2312 and serve UTF-8 after a migration: valid UTF-8 with
        // non-ASCII bytes wins over a GB declaration that would then produce errors.
        let enc = widen(enc);
        if enc != UTF_8
            && let Ok(text) = std::str::from_utf8(bytes)
            && !bytes.is_ascii()
        {
            let (_, had_errors) = enc.decode_without_bom_handling(bytes);
            if had_errors {
                valid_utf8 = Some(text);
                (UTF_8, Evidence::ValidUtf8)
            } else {
                (enc, Evidence::MetaCharset)
            }
        } else {
            (enc, Evidence::MetaCharset)
        }
    } else if let Ok(text) = std::str::from_utf8(bytes) {
        valid_utf8 = Some(text);
        (UTF_8, Evidence::ValidUtf8)
    } else {
        let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
        detector.feed(bytes, true);
        let guess = detector.guess(None, chardetng::Utf8Detection::Allow);
        (widen(guess), Evidence::Detected)
    };
    let (text, actual) = match valid_utf8 {
        // No byte-order mark (that branch came first), so decoding would only copy.
        Some(text) => (text.to_owned(), UTF_8),
        None => {
            // `decode` strips a BOM of the given encoding (and sniffs one if present).
            let (text, actual, _) = encoding.decode(bytes);
            (text.into_owned(), actual)
        }
    };
    check_sensible(&text, actual)?;
    Ok(Decoded {
        text,
        encoding: actual.name().to_ascii_lowercase(),
        evidence,
    })
}

/// GB2312 and GBK are subsets of GB18030; decoding with the superset never loses a character.
fn widen(encoding: &'static Encoding) -> &'static Encoding {
    if encoding == GBK { GB18030 } else { encoding }
}

fn check_sensible(text: &str, encoding: &'static Encoding) -> Result<(), DecodeError> {
    // Nearly every page has neither control nor replacement characters: a scan of the bytes
    // that can only err towards suspicion settles them without decoding any character.
    if !text.is_empty() && !may_have_controls(text.as_bytes()) && !text.contains("\u{FFFD}") {
        return Ok(());
    }
    let mut chars = 0usize;
    let mut replacements = 0usize;
    let mut control = 0usize;
    let mut first_control = None;
    for (offset, c) in text.char_indices() {
        chars += 1;
        if c == '\u{FFFD}' {
            replacements += 1;
        } else if c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{0C}' | '\u{85}') {
            control += 1;
            first_control.get_or_insert(offset);
        }
    }
    if chars == 0 {
        return Err(DecodeError::Empty);
    }
    // A NUL byte or a few percent of control characters never occur in a published report.
    if control > 0 && (text.contains('\0') || control * 1000 > chars * MAX_CONTROL_PER_MILLE) {
        return Err(DecodeError::Binary {
            control,
            chars,
            first_offset: first_control.unwrap_or(0),
        });
    }
    if replacements * 1000 > chars * MAX_REPLACEMENT_PER_MILLE {
        return Err(DecodeError::Undecodable {
            encoding: encoding.name(),
            replacements,
            chars,
        });
    }
    Ok(())
}

/// Whether `bytes` (UTF-8) may hold a control character other than tab, line feed, form
/// feed, carriage return and U+0085: true for every text that does, and for a few that do not.
fn may_have_controls(bytes: &[u8]) -> bool {
    // C0 controls and DEL are single bytes; C1 controls are 0xC2 followed by 0x80..=0x9F.
    let low = bytes.chunks(64).any(|chunk| {
        chunk.iter().fold(false, |acc, &b| {
            acc | ((b < 0x20) & !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C)) | (b == 0x7F)
        })
    });
    low || memchr::memchr_iter(0xC2, bytes).any(|i| bytes.get(i + 1).is_some_and(|&b| b < 0xA0))
}

/// The encoding named by a `<meta charset=…>` or `<meta http-equiv … content="…charset=…">`
/// in the first 4 KiB, as the HTML standard's prescan does.
pub fn declared_html_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = bytes.get(..bytes.len().min(4096)).unwrap_or(bytes);
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let mut from = 0;
    while let Some(found) = find(&lower[from..], b"<meta") {
        let start = from + found;
        let end = lower[start..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(lower.len(), |p| start + p);
        let tag = &lower[start..end];
        if let Some(p) = find(tag, b"charset") {
            let rest = &tag[p + b"charset".len()..];
            let rest = trim_start(rest);
            if let Some(rest) = rest.strip_prefix(b"=") {
                let rest = trim_start(rest);
                let rest = rest
                    .strip_prefix(b"\"")
                    .or_else(|| rest.strip_prefix(b"'"))
                    .unwrap_or(rest);
                let label_end = rest
                    .iter()
                    .position(|&b| matches!(b, b'"' | b'\'' | b';' | b' ' | b'/' | b'>'))
                    .unwrap_or(rest.len());
                if let Some(enc) = Encoding::for_label(&rest[..label_end]) {
                    // A page that declares UTF-16 in ASCII bytes is not UTF-16 (HTML standard).
                    if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
                        return Some(UTF_8);
                    }
                    return Some(enc);
                }
            }
        }
        from = end.max(start + 1);
        if from >= lower.len() {
            break;
        }
    }
    None
}

fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str =
        "洛阳市瀍河区人民政府2020年政府信息公开工作年度报告\n一、总体情况\n行政许可\t66\t4\t227\n";

    fn gb18030(text: &str) -> Vec<u8> {
        let (bytes, _, had_errors) = GB18030.encode(text);
        assert!(!had_errors);
        bytes.into_owned()
    }

    #[test]
    fn the_callers_limit_is_the_one_refused_and_named() {
        let bytes = REPORT.as_bytes();
        let size = bytes.len();
        assert_eq!(
            decode_text_within(bytes, 10),
            Err(DecodeError::TooLarge { size, limit: 10 })
        );
        assert_eq!(
            decode_html_within(bytes, size - 1),
            Err(DecodeError::TooLarge {
                size,
                limit: size - 1
            })
        );
        assert!(decode_text_within(bytes, size).is_ok());
        let message = decode_text_within(bytes, 10).unwrap_err().to_string();
        assert!(message.contains("limit of 10 bytes"), "{message}");
    }

    #[test]
    fn utf8_without_bom() {
        let d = decode_text(REPORT.as_bytes()).unwrap();
        assert_eq!(d.text, REPORT);
        assert_eq!(d.encoding, "utf-8");
        assert_eq!(d.evidence, Evidence::ValidUtf8);
    }

    #[test]
    fn utf8_with_bom_drops_the_bom() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice(REPORT.as_bytes());
        let d = decode_text(&bytes).unwrap();
        assert_eq!(d.text, REPORT);
        assert_eq!(d.evidence, Evidence::ByteOrderMark);
    }

    #[test]
    fn gb18030_text_is_detected() {
        let long = REPORT.repeat(4);
        let d = decode_text(&gb18030(&long)).unwrap();
        assert_eq!(d.encoding, "gb18030");
        assert_eq!(d.text, long);
        assert_eq!(d.evidence, Evidence::Detected);
    }

    #[test]
    fn meta_charset_gb2312_decodes_as_gb18030() {
        // 瀍 is outside GB2312: decoding with the GB2312 label strictly would lose it.
        let html = format!(
            "<html><head><meta charset=\"gb2312\"></head><body><p>{REPORT}</p></body></html>"
        );
        let d = decode_html(&gb18030(&html)).unwrap();
        assert_eq!(d.encoding, "gb18030");
        assert_eq!(d.evidence, Evidence::MetaCharset);
        assert!(d.text.contains("瀍河区"));
    }

    #[test]
    fn meta_http_equiv_charset_is_read() {
        let html = format!(
            "<html><head><META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=GBK\"></head><body>{REPORT}</body></html>"
        );
        let d = decode_html(&gb18030(&html)).unwrap();
        assert_eq!(d.encoding, "gb18030");
        assert_eq!(d.evidence, Evidence::MetaCharset);
    }

    #[test]
    fn utf8_page_declared_gb2312_is_read_as_utf8() {
        let html = format!("<html><head><meta charset=gb2312></head><body>{REPORT}</body></html>");
        let d = decode_html(html.as_bytes()).unwrap();
        assert_eq!(d.encoding, "utf-8");
        assert!(d.text.contains("瀍河区"));
    }

    #[test]
    fn binary_bytes_are_refused() {
        let bytes: Vec<u8> = (0u8..=255).cycle().take(4096).collect();
        let err = decode_text(&bytes).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::Binary { .. } | DecodeError::Undecodable { .. }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn text_with_nul_bytes_is_binary() {
        let mut bytes = REPORT.as_bytes().to_vec();
        bytes.extend_from_slice(&[0, 0, 0, 1, 2]);
        assert!(matches!(
            decode_text(&bytes),
            Err(DecodeError::Binary { .. })
        ));
    }

    #[test]
    fn control_and_replacement_characters_are_found_wherever_they_are() {
        // One C0, C1 or replacement character per 1000 passes; a few more fail.
        let ok = "年报，数据（一）·\u{A0}\u{85}\t\r\n\u{C}".repeat(100);
        assert!(check_sensible(&ok, UTF_8).is_ok());
        for bad in ["\u{1}", "\u{7F}", "\u{80}", "\u{9F}", "\u{FFFD}"] {
            let one = format!("{ok}{bad}");
            assert!(check_sensible(&one, UTF_8).is_ok(), "{bad:?}");
            let many = format!("{ok}{}", bad.repeat(100));
            assert!(check_sensible(&many, UTF_8).is_err(), "{bad:?}");
        }
        assert!(matches!(
            check_sensible(&format!("{ok}\0"), UTF_8),
            Err(DecodeError::Binary { .. })
        ));
    }

    #[test]
    fn empty_input_is_refused() {
        assert_eq!(decode_text(b""), Err(DecodeError::Empty));
    }
}
