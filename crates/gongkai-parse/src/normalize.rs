//! Normalisation of decoded text before anything is recognised in it.
//!
//! NFKC is applied to the characters where a compatibility form stands for an ordinary one in
//! real reports: full-width digits and Latin letters, the CJK radicals and compatibility
//! ideographs that PDF text layers emit instead of ordinary characters (⼀ U+2F00 for 一,
//! ⾏ U+2F8F for 行), and the odd spaces. Chinese punctuation (`（`, `，`, `：`) is kept as
//! printed: it is part of the prose and of the canonical labels. Around that, line-level
//! clean-up removes page numbers (`- 5 -`, `-3-`, `第 5 页`), the chrome of web page dumps
//! (`当前位置：首页…`, `微信 微博 QQ空间`), and writes `1、` as `1.`.
//!
//! [`label_key`] is the stricter form used to compare labels: full NFKC, and only letters,
//! digits and ideographs kept.

use aho_corasick::AhoCorasick;
use gongkai_model::text::{utf8_len, whitespace_len};
use std::borrow::Cow;
use std::sync::LazyLock;
use unicode_normalization::UnicodeNormalization;

/// Characters whose NFKC form replaces them.
fn wants_nfkc(c: char) -> bool {
    matches!(c,
        '\u{FF10}'..='\u{FF19}' // full-width digits
        | '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}' // full-width Latin
        | '\u{FF0B}' | '\u{FF0D}' | '\u{FF0E}' | '\u{FF05}' | '\u{FF0F}' // ＋ － ． ％ ／
        | '\u{2E80}'..='\u{2FDF}' // CJK radicals supplement, Kangxi radicals
        | '\u{F900}'..='\u{FAFF}' // CJK compatibility ideographs
        | '\u{2F800}'..='\u{2FA1F}'
        | '\u{3280}'..='\u{32B0}' // circled ideographs used as list markers
        | '\u{2460}'..='\u{24FF}' // circled and parenthesised digits
    )
}

/// Normalises one string: selected NFKC, odd spaces to a space, invisible characters removed,
/// `1、` written `1.`.
pub fn normalize_text(text: &str) -> String {
    normalized(text).into_owned()
}

/// [`normalize_text`], borrowing `text` when nothing changes (most lines and cells).
pub(crate) fn normalized(text: &str) -> Cow<'_, str> {
    if !needs_normalizing_text(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{AD}' => {}
            '\u{A0}' | '\u{3000}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' => {
                out.push(' ')
            }
            '\u{2212}' | '\u{2010}' | '\u{2011}' => out.push('-'),
            '\u{2E80}'..='\u{2FDF}' if c.nfkc().next().is_some_and(|n| n == c) => {
                // A radical without an ideograph equivalent stays itself.
                out.push(c)
            }
            '、' if out.chars().next_back().is_some_and(|p| p.is_ascii_digit())
                && !ends_with_year(&out) =>
            {
                out.push('.')
            }
            _ if wants_nfkc(c) => out.extend(c.nfkc()),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Whether [`normalized`] may change `text`: a character it changes, or `、` after a digit.
///
/// Every such character is encoded with a lead byte C2, E2, E3, EF or F0: the characters are
/// stepped over by their lead bytes, most told apart on their bytes, and only those of E2 and
/// F0 decoded, instead of decoding every character of the line.
fn needs_normalizing_text(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let lead = bytes[i];
        let next = |k: usize| bytes.get(i + k).copied().unwrap_or(0);
        let hit = match lead {
            // U+00A0, U+00AD.
            0xC2 => matches!(next(1), 0xA0 | 0xAD),
            // U+3000, `、` after a digit, U+3280..=U+32B0; the rest of U+3000..U+3FFF (the
            // Chinese punctuation among them) is kept.
            0xE3 => match (next(1), next(2)) {
                (0x80, 0x80) => true,
                (0x80, 0x81) => i > 0 && bytes[i - 1].is_ascii_digit(),
                (0x8A, 0x80..=0xB0) => true,
                _ => false,
            },
            // U+F900..=U+FAFF, U+FEFF, and the full-width forms NFKC replaces; the full-width
            // punctuation of Chinese prose (，（）：；！？) is kept.
            0xEF => matches!(
                (next(1), next(2)),
                (0xA4..=0xAB, _)
                    | (0xBB, 0xBF)
                    | (0xBC, 0x85 | 0x8B | 0x8D..=0x99 | 0xA1..=0xBA)
                    | (0xBD, 0x81..=0x9A)
            ),
            0xE2 | 0xF0 => text
                .get(i..)
                .and_then(|rest| rest.chars().next())
                .is_some_and(needs_normalizing),
            _ => false,
        };
        if hit {
            return true;
        }
        i += utf8_len(lead);
    }
    false
}

/// `text` without its whitespace (`char::is_whitespace`), borrowed when it has none.
pub(crate) fn without_whitespace(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        let space = whitespace_len(bytes, i);
        if space == 0 {
            i += utf8_len(bytes[i]);
            continue;
        }
        let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
        o.push_str(text.get(run..i).unwrap_or(""));
        i += space;
        run = i;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(text.get(run..).unwrap_or(""));
            Cow::Owned(o)
        }
    }
}

/// True for the characters [`normalize_text`] changes (a fast path skips strings without).
fn needs_normalizing(c: char) -> bool {
    // Below U+00A0 and in the common ideographs nothing is changed: the usual characters of
    // a report are answered without walking the list.
    if c < '\u{A0}' || ('\u{4E00}'..='\u{9FFF}').contains(&c) {
        return false;
    }
    matches!(
        c,
        '\u{200B}'
            | '\u{200C}'
            | '\u{200D}'
            | '\u{2060}'
            | '\u{FEFF}'
            | '\u{AD}'
            | '\u{A0}'
            | '\u{3000}'
            | '\u{2000}'
            ..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{2212}' | '\u{2010}' | '\u{2011}'
    ) || wants_nfkc(c)
}

/// `2019、2020年` lists years; only list numbers (`1、`) become `1.`.
fn ends_with_year(text: &str) -> bool {
    let digits = text.chars().rev().take_while(char::is_ascii_digit).count();
    digits >= 3
}

/// True for characters that carry meaning in a label: letters, digits, ideographs.
fn is_key_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// The comparison form of a label: full NFKC, only letters, digits and ideographs kept
/// (`（一） 予以公开` → `一予以公开`, `本年增/减` → `本年增减`).
pub fn label_key(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Runs of ASCII letters and digits and common ideographs are their own key and copied as
    // slices; only the other characters go through the Unicode tables.
    let mut run = 0;
    for (i, c) in text.char_indices() {
        if c.is_ascii_alphanumeric() || ('\u{4E00}'..='\u{9FFF}').contains(&c) {
            continue;
        }
        out.push_str(text.get(run..i).unwrap_or(""));
        run = i + c.len_utf8();
        // The full-width forms of ASCII (`（`, `：`, `１`) are their ASCII character under NFKC.
        if ('\u{FF01}'..='\u{FF5E}').contains(&c) {
            if let Some(ascii) = char::from_u32(u32::from(c) - 0xFEE0)
                && ascii.is_ascii_alphanumeric()
            {
                out.push(ascii);
            }
            continue;
        }
        // Ordinary ideographs, letters and digits are their own NFKC form.
        if wants_nfkc(c) || ('\u{FF00}'..='\u{FFEF}').contains(&c) {
            out.extend(c.nfkc().filter(|n| is_key_char(*n)));
        } else if is_key_char(c) {
            out.push(c);
        }
    }
    out.push_str(text.get(run..).unwrap_or(""));
    out
}

/// A line that is nothing but a page number: `- 5 -`, `-3-`, `— 12 —`, `第 5 页`, `5/12`.
pub fn is_page_number(line: &str) -> bool {
    // The longest form, `第 1234 页 共 1234 页`, is well under 64 bytes.
    if line.len() > 64
        || !line.trim_start().starts_with(|c: char| {
            c.is_ascii_digit() || matches!(c, '-' | '－' | '—' | '–' | '‐' | '−' | '第')
        })
    {
        return false;
    }
    let t: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    if t.is_empty() {
        return false;
    }
    let dash = |c: char| matches!(c, '-' | '－' | '—' | '–' | '‐' | '−');
    let inner = t.trim_start_matches(dash).trim_end_matches(dash);
    let dashed = inner.len() < t.len() && t.starts_with(dash) && t.ends_with(dash);
    if dashed && !inner.is_empty() && inner.len() <= 4 && inner.chars().all(|c| c.is_ascii_digit())
    {
        return true;
    }
    if let Some(rest) = t.strip_prefix('第') {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && digits <= 4 {
            let after = &rest[digits..];
            if after == "页" || (after.starts_with("页共") && after.ends_with('页')) {
                return true;
            }
        }
    }
    if let Some((a, b)) = t.split_once('/') {
        return !a.is_empty()
            && !b.is_empty()
            && a.len() <= 3
            && b.len() <= 3
            && a.chars().all(|c| c.is_ascii_digit())
            && b.chars().all(|c| c.is_ascii_digit());
    }
    false
}

/// Words of web page chrome (share buttons, print links) that carry nothing of the report.
const CHROME_WORDS: &[&str] = &[
    "微信",
    "微博",
    "QQ空间",
    "全真版",
    "文字版",
    "文件下载",
    "附件下载",
    "相关链接:",
    "相关链接：",
    "-->",
    "分享到:",
    "分享到：",
    "打印本页",
    "关闭窗口",
    "【打印】",
    "【关闭】",
    "[打印]",
    "[关闭]",
    "扫一扫在手机打开当前页",
    "字体:",
    "字体：",
    "【大",
    "中",
    "小】",
    "大",
    "小",
];

/// Words of which a line must contain one to hold any chrome.
const CHROME_TRIGGERS: [&str; 10] = [
    "当前位置",
    "微信",
    "微博",
    "QQ空间",
    "打印",
    "关闭",
    "分享",
    "下载",
    "-->",
    "字体",
];

/// The triggers searched for in one pass over a line (ten `contains` cost ten passes).
static CHROME_SEARCHER: LazyLock<Option<AhoCorasick>> =
    LazyLock::new(|| AhoCorasick::new(CHROME_TRIGGERS).ok());

fn has_chrome_trigger(line: &str) -> bool {
    match CHROME_SEARCHER.as_ref() {
        Some(searcher) => searcher.is_match(line),
        // Building the automaton of ten fixed words does not fail; stay correct if it did.
        None => CHROME_TRIGGERS.iter().any(|t| line.contains(t)),
    }
}

/// Removes the chrome of a web page dump from a line: the `当前位置：…` breadcrumb and runs of
/// share/print words. Returns the trimmed line, borrowed, when there is none (most lines).
pub(crate) fn without_chrome<'a>(line: &'a str) -> Cow<'a, str> {
    if !has_chrome_trigger(line) {
        return Cow::Borrowed(line.trim());
    }
    // Report prose often names a trigger (`下载`, `打印`) without any chrome around it: the
    // line is then borrowed as it is.
    let mut text = Cow::Borrowed(line);
    if let Some(start) = text.find("当前位置") {
        let after = start + "当前位置".len();
        let rest = &text[after..];
        let rest_trimmed = rest.trim_start_matches([':', '：', ' ']);
        // The breadcrumb is the first word after the colon (`首页政务公开…年报` or
        // `首页 > 政务公开 > …`).
        let mut end = rest.len() - rest_trimmed.len();
        let mut words = rest_trimmed.split(' ');
        if let Some(first) = words.next() {
            end += first.len();
        }
        let mut remaining = &rest[end..];
        while let Some(next) = remaining.trim_start().strip_prefix(['>', '»', '›']) {
            let next = next.trim_start();
            let word = next.split(' ').next().unwrap_or("");
            let consumed = remaining.len() - next.len() + word.len();
            end += consumed;
            remaining = &rest[end..];
        }
        text = Cow::Owned(format!("{}{}", &text[..start], &rest[end..]));
    }
    let trimmed = |text: &Cow<'a, str>| match text {
        Cow::Borrowed(t) => Cow::Borrowed(t.trim()),
        Cow::Owned(t) => Cow::Owned(t.trim().to_owned()),
    };
    // Chrome words only count as chrome in a run of at least two of them.
    let words: Vec<&str> = text.split(' ').collect();
    if words.len() < 2 {
        return trimmed(&text);
    }
    let is_chrome = |w: &str| CHROME_WORDS.contains(&w);
    let mut keep = vec![true; words.len()];
    let mut i = 0;
    while i < words.len() {
        if is_chrome(words[i]) {
            let mut j = i;
            while j < words.len() && (is_chrome(words[j]) || words[j].is_empty()) {
                j += 1;
            }
            let run = words[i..j].iter().filter(|w| !w.is_empty()).count();
            let multi_char = words[i..j].iter().any(|w| w.chars().count() > 1);
            if run >= 2 && multi_char {
                keep[i..j].iter_mut().for_each(|k| *k = false);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    if keep.iter().all(|k| *k) {
        // Nothing removed: the words joined again are the text.
        return trimmed(&text);
    }
    Cow::Owned(
        words
            .iter()
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|(w, _)| *w)
            .collect::<Vec<_>>()
            .join(" ")
            .trim()
            .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radicals_and_full_width_digits() {
        assert_eq!(normalize_text("⼀、总体情况"), "一、总体情况");
        assert_eq!(normalize_text("⾏政许可１２３"), "行政许可123");
        assert_eq!(normalize_text("（一）予以公开"), "（一）予以公开");
        assert_eq!(normalize_text("1、属于国家秘密"), "1.属于国家秘密");
        assert_eq!(normalize_text("2019、2020年"), "2019、2020年");
        assert_eq!(normalize_text("a\u{A0}b\u{3000}c\u{200B}"), "a b c");
    }

    #[test]
    fn fast_paths_agree_with_the_definitions() {
        let samples = [
            "",
            "abc 123",
            "一、总体情况",
            "1、属于国家秘密",
            "2019、2020年",
            "a\u{A0}b\u{3000}c\u{200B}d\u{FEFF}",
            "⼀⾏１２３ＡＢ＋－％／",
            "\u{2460}\u{3280}\u{F900}\u{2F800}\u{2212}\u{2010}",
            "é ü ñ ©",
            "\u{85}\u{1680}\u{2028}\u{2029}\u{205F}\u{202F}\t\r\n",
            "本年新制作数量 １２ 件；规章 0 0 0",
        ];
        for s in samples {
            let slow = s.chars().any(needs_normalizing)
                || s.match_indices('、')
                    .any(|(i, _)| i > 0 && s.as_bytes()[i - 1].is_ascii_digit());
            assert_eq!(needs_normalizing_text(s), slow, "{s:?}");
            let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
            assert_eq!(without_whitespace(s), compact, "{s:?}");
        }
        // Every character that may change, and every whitespace character, is found.
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let s = c.to_string();
            assert_eq!(
                needs_normalizing_text(&s),
                needs_normalizing(c),
                "{:04X}",
                u32::from(c)
            );
            assert_eq!(
                without_whitespace(&s).is_empty(),
                c.is_whitespace(),
                "{:04X}",
                u32::from(c)
            );
        }
        for c in '\u{4E00}'..='\u{9FFF}' {
            assert!(c.is_alphanumeric(), "{:04X}", u32::from(c));
        }
        // label_key against its definition, character by character.
        let key_by_chars = |text: &str| -> String {
            let mut out = String::new();
            for c in text.chars() {
                if wants_nfkc(c) || ('\u{FF00}'..='\u{FFEF}').contains(&c) {
                    out.extend(c.nfkc().filter(|n| is_key_char(*n)));
                } else if is_key_char(c) {
                    out.push(c);
                }
            }
            out
        };
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let s = format!("a{c}一{c}1");
            assert_eq!(label_key(&s), key_by_chars(&s), "{:04X}", u32::from(c));
        }
    }

    #[test]
    fn keys_drop_punctuation_and_space() {
        assert_eq!(label_key("（一） 予以公开"), "一予以公开");
        assert_eq!(label_key("本年增/减"), "本年增减");
        assert_eq!(label_key("第二十条 第（一）项"), "第二十条第一项");
    }

    #[test]
    fn page_numbers() {
        for p in ["- 5 -", "-3-", "— 12 —", "第 5 页", "第5页共12页", "3/12"] {
            assert!(is_page_number(p), "{p}");
        }
        for p in ["-205", "0", "规章 0 0 0", "2/减", "--"] {
            assert!(!is_page_number(p), "{p}");
        }
    }

    #[test]
    fn chrome_is_stripped() {
        let line = "当前位置： 首页政务公开政府信息公开年报 平潭综合实验区2021年度政府信息公开工作年度报告 来源：平潭县人民政府 时间：2022-02-08 16:34 微信 微博 QQ空间 全真版 文字版 文件下载 相关链接： --> 根据《条例》";
        assert_eq!(
            without_chrome(line),
            "平潭综合实验区2021年度政府信息公开工作年度报告 来源：平潭县人民政府 时间：2022-02-08 16:34 根据《条例》"
        );
        assert_eq!(without_chrome("大 中 小"), "大 中 小");
        assert_eq!(
            without_chrome(" 本报告电子版可在门户网站下载。 "),
            "本报告电子版可在门户网站下载。"
        );
        assert_eq!(without_chrome("微信 微博 正文"), "正文");
        assert_eq!(without_chrome("一、总体情况"), "一、总体情况");
    }
}
