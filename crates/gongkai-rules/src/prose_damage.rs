//! P-TEXT-DAMAGE: signs that the prose was damaged on its way to us — U+FFFD replacement
//! characters, mojibake (`锟斤拷`, UTF-8 read as Latin-1 like `å¹´`, UTF-8 read as GBK like
//! `锛`), and stray Latin words inside Chinese sentences (`意识 and 能力`). URLs, e-mail
//! addresses and acronyms (PDF, APP, OA, IPv6) are not damage: only all-lowercase words with
//! a Chinese character on both sides count.

use crate::findings::{DOCUMENT, Findings, finding};
use crate::structure::chinese_number;
use gongkai_model::{Report, Severity};

/// Sequences that only appear when bytes were decoded with the wrong encoding.
const MOJIBAKE_MARKERS: &[&str] = &["锟斤拷", "烫烫烫", "屯屯屯", "锛", "銆", "鈥"];

/// Lower-case words that Chinese prose legitimately writes between characters.
const ALLOWED_WORDS: &[&str] = &[
    "www", "http", "https", "com", "cn", "gov", "org", "net", "app", "wifi", "web", "email", "ip",
    "id",
];

fn is_ideograph(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// A few characters either side of a byte range, for the message.
fn context(text: &str, start: usize, end: usize) -> String {
    let before: String = {
        let head = text.get(..start).unwrap_or("");
        let mut v: Vec<char> = head.chars().rev().take(6).collect();
        v.reverse();
        v.into_iter().collect()
    };
    let after: String = text.get(end..).unwrap_or("").chars().take(6).collect();
    let middle = text.get(start..end).unwrap_or("");
    format!("{before}{middle}{after}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Each sign of damage in `text`, described in Chinese and English.
pub(crate) fn signs(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    // A string pattern searches for the three bytes of U+FFFD at once; the character's last
    // byte alone is common in Chinese text.
    let fffd = if text.contains("\u{FFFD}") {
        text.matches("\u{FFFD}").count()
    } else {
        0
    };
    if fffd > 0 {
        let at = text.find('\u{FFFD}').unwrap_or(0);
        out.push((
            format!(
                "有 {fffd} 个无法解码的替换字符“\u{FFFD}”（如“{}”）",
                context(text, at, at + '\u{FFFD}'.len_utf8())
            ),
            format!("{fffd} U+FFFD replacement characters"),
        ));
    }
    for marker in MOJIBAKE_MARKERS {
        // `contains` has a vectorised search; the position is wanted only for the rare hit.
        if let Some(at) = text.contains(marker).then(|| text.find(marker)).flatten() {
            out.push((
                format!(
                    "有乱码“{marker}”（如“{}”）",
                    context(text, at, at + marker.len())
                ),
                format!("mojibake {marker:?}"),
            ));
        }
    }
    // UTF-8 read as Latin-1: a lead byte (U+00C2..U+00F4) followed by a continuation byte.
    // In UTF-8 that pair is the bytes C3 82..=B4 C2 80..=BF, and C3 and C2 only ever lead a
    // character, so a byte search finds exactly the character pairs (and a text without C3
    // has none).
    if text.as_bytes().contains(&0xC3)
        && let Some(start) = text.as_bytes().windows(4).position(|w| {
            w[0] == 0xC3
                && matches!(w[1], 0x82..=0xB4)
                && w[2] == 0xC2
                && matches!(w[3], 0x80..=0xBF)
        })
    {
        let end = start + 4;
        out.push((
            format!(
                "有乱码（UTF-8 被误读为西文编码，如“{}”）",
                context(text, start, end)
            ),
            "mojibake (UTF-8 read as Latin-1)".to_owned(),
        ));
    }
    // A stray word is lower-case ASCII: most prose has none, and needs no character table.
    if text.bytes().any(|b| b.is_ascii_lowercase()) {
        out.extend(stray_words(text));
    }
    out
}

fn stray_words(text: &str) -> Vec<(String, String)> {
    // ASCII letters are single bytes that no other character's encoding contains: words are
    // found on bytes, and only their neighbours are decoded.
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let end = i;
        let word = text.get(start..end).unwrap_or("");
        if word.len() < 2
            || !word.bytes().all(|b| b.is_ascii_lowercase())
            || ALLOWED_WORDS.contains(&word)
        {
            continue;
        }
        // The neighbour on each side, skipping one space, must be a Chinese character.
        let mut before = text.get(..start).unwrap_or("").chars();
        let left = match before.next_back() {
            Some(' ') => before.next_back(),
            other => other,
        };
        let mut after = text.get(end..).unwrap_or("").chars();
        let right = match after.next() {
            Some(' ') => after.next(),
            other => other,
        };
        if left.is_some_and(is_ideograph) && right.is_some_and(is_ideograph) {
            out.push((
                format!(
                    "中文句中夹杂英文单词“{word}”（“{}”）",
                    context(text, start, end)
                ),
                format!("stray Latin word {word:?} inside Chinese text"),
            ));
        }
    }
    out
}

/// P-TEXT-DAMAGE over the title and every section's prose: one info finding per part.
pub(crate) fn text_damage(report: &Report, out: &mut Findings) {
    let mut parts: Vec<(u8, String, &str)> = Vec::new();
    if let Some(title) = &report.title {
        parts.push((DOCUMENT, "标题".to_owned(), title.as_str()));
    }
    for s in &report.sections {
        parts.push((
            s.number,
            format!("第{}部分", chinese_number(s.number)),
            s.text.as_str(),
        ));
    }
    for (section, place, text) in parts {
        let found = signs(text);
        if found.is_empty() {
            continue;
        }
        let zh: Vec<String> = found.iter().map(|(z, _)| z.clone()).collect();
        let en: Vec<String> = found.iter().map(|(_, e)| e.clone()).collect();
        out.push(
            section,
            finding(
                "P-TEXT-DAMAGE",
                Severity::Info,
                format!("{place}正文有损坏迹象：{}。", zh.join("；")),
                format!("signs of damage in {place}: {}", en.join("; ")),
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stray_words_are_found_and_urls_acronyms_are_not() {
        let s = signs("切实增强全区政务公开工作人员的意识 and 能力。");
        assert_eq!(s.len(), 1);
        assert!(s[0].0.contains("“and”"), "{}", s[0].0);
        for clean in [
            "本报告可在门户网站（www.pingtan.gov.cn）下载，电子邮箱：pzxxgkb@163.com。",
            "上传WORD和PDF版本的附件，不断优化政务APP和OA系统，部署IPv6。",
            "政府网站 www.example.gov.cn 上公开",
            "综合运用图文图表、在线访谈、H5等形式",
        ] {
            assert!(signs(clean).is_empty(), "{clean}: {:?}", signs(clean));
        }
    }

    #[test]
    fn mojibake_and_replacement_characters_are_found() {
        assert_eq!(signs("作为一项重要\u{FFFD}工作").len(), 1);
        assert_eq!(signs("锟斤拷锟斤拷").len(), 1);
        assert_eq!(signs("æ”¿åºœä¿¡æ¯å…¬å¼€").len(), 1);
        assert!(signs("温度 25°C，面积 3×4 米，单价 ¥100").is_empty());
    }
}
