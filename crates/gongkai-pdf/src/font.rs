//! Fonts as the text extractor needs them: how a shown string splits into character codes, what
//! Unicode text each code stands for, and how far each glyph advances.
//!
//! Government reports are mostly CID TrueType fonts with `Identity-H` (or `Identity-V` for
//! vertical labels) and a `/ToUnicode` CMap; older files use simple fonts with `WinAnsiEncoding`
//! or the predefined Chinese CMaps (`UniGB-UCS2-H`, `GBK-EUC-H`). Glyph outlines are never read:
//! positions come from the advance widths alone, which is all table reconstruction needs.

use lopdf::{Dictionary, Document, Object};
use std::collections::HashMap;

/// Upper bound on the entries one CMap or width array may define, so that a crafted font cannot
/// make the reader allocate without limit.
const MAX_MAP_ENTRIES: usize = 200_000;

/// Upper bound on the decompressed size of a CMap stream.
const MAX_CMAP_BYTES: usize = 4 * 1024 * 1024;

/// A code-to-Unicode map read from a `/ToUnicode` (or embedded `/Encoding`) CMap.
#[derive(Debug, Default)]
struct CMap {
    /// `(byte length, low, high)` of each code space range.
    code_spaces: Vec<(usize, u32, u32)>,
    singles: HashMap<(usize, u32), String>,
    /// `(byte length, low, high, first destination)`: consecutive codes map to consecutive text.
    ranges: Vec<(usize, u32, u32, Vec<u16>)>,
    /// Writing mode 1 (vertical), for embedded encoding CMaps.
    vertical: bool,
}

impl CMap {
    fn lookup(&self, len: usize, code: u32) -> Option<String> {
        if let Some(s) = self.singles.get(&(len, code)) {
            return Some(s.clone());
        }
        for (l, lo, hi, first) in &self.ranges {
            if *l == len && (*lo..=*hi).contains(&code) {
                let mut units = first.clone();
                let offset = code - lo;
                if let Some(last) = units.last_mut() {
                    *last = last.wrapping_add(u16::try_from(offset).unwrap_or(0));
                }
                return Some(char::decode_utf16(units).filter_map(Result::ok).collect());
            }
        }
        None
    }

    /// The byte length of the code starting at `bytes`, if a code space range claims it.
    fn code_len(&self, bytes: &[u8]) -> Option<usize> {
        for len in 1..=4usize {
            if bytes.len() < len {
                break;
            }
            let code = be_code(&bytes[..len]);
            if self
                .code_spaces
                .iter()
                .any(|(l, lo, hi)| *l == len && (*lo..=*hi).contains(&code))
            {
                return Some(len);
            }
        }
        None
    }
}

fn be_code(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
}

#[derive(Debug, PartialEq)]
enum Token {
    Hex(Vec<u8>),
    Int(i64),
    Word(String),
    Name(String),
    ArrayStart,
    ArrayEnd,
}

/// Splits a CMap program into the tokens the `bf*`/`codespace` sections use; everything else
/// (dictionaries, literal strings, procedure bodies) is skipped.
fn tokenize(data: &[u8]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < data.len() && tokens.len() < MAX_MAP_ENTRIES * 4 {
        let b = data[i];
        match b {
            b'%' => {
                while i < data.len() && data[i] != b'\n' && data[i] != b'\r' {
                    i += 1;
                }
            }
            b'<' if data.get(i + 1) == Some(&b'<') => i += 2,
            b'>' if data.get(i + 1) == Some(&b'>') => i += 2,
            b'<' => {
                let mut hex = Vec::new();
                let mut nibble: Option<u8> = None;
                i += 1;
                while i < data.len() && data[i] != b'>' {
                    if let Some(v) = (data[i] as char).to_digit(16) {
                        let v = v as u8;
                        match nibble.take() {
                            Some(hi) => hex.push((hi << 4) | v),
                            None => nibble = Some(v),
                        }
                    }
                    i += 1;
                }
                if let Some(hi) = nibble {
                    hex.push(hi << 4);
                }
                i += 1;
                tokens.push(Token::Hex(hex));
                continue;
            }
            b'(' => {
                let mut depth = 0usize;
                while i < data.len() {
                    match data[i] {
                        b'\\' => i += 1,
                        b'(' => depth += 1,
                        b')' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'[' => tokens.push(Token::ArrayStart),
            b']' => tokens.push(Token::ArrayEnd),
            b'/' => {
                let start = i + 1;
                i += 1;
                while i < data.len() && !is_delimiter(data[i]) {
                    i += 1;
                }
                tokens.push(Token::Name(
                    String::from_utf8_lossy(&data[start..i]).into_owned(),
                ));
                continue;
            }
            _ if b.is_ascii_whitespace() => {}
            _ => {
                let start = i;
                while i < data.len() && !is_delimiter(data[i]) {
                    i += 1;
                }
                if i == start {
                    i += 1;
                    continue;
                }
                let word = String::from_utf8_lossy(&data[start..i]).into_owned();
                match word.parse::<i64>() {
                    Ok(n) => tokens.push(Token::Int(n)),
                    Err(_) => tokens.push(Token::Word(word)),
                }
                continue;
            }
        }
        i += 1;
    }
    tokens
}

fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'<' | b'>' | b'[' | b']' | b'(' | b')' | b'/' | b'%')
}

fn utf16_units(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]))
        .collect()
}

fn utf16_string(bytes: &[u8]) -> String {
    char::decode_utf16(utf16_units(bytes))
        .filter_map(Result::ok)
        .collect()
}

fn parse_cmap(data: &[u8]) -> CMap {
    let tokens = tokenize(data);
    let mut cmap = CMap::default();
    let mut i = 0;
    let mut entries = 0usize;
    while i < tokens.len() && entries < MAX_MAP_ENTRIES {
        match &tokens[i] {
            Token::Name(n) if n == "WMode" => {
                if let Some(Token::Int(1)) = tokens.get(i + 1) {
                    cmap.vertical = true;
                }
                i += 1;
            }
            Token::Word(w) if w == "begincodespacerange" => {
                i += 1;
                while let (Some(Token::Hex(lo)), Some(Token::Hex(hi))) =
                    (tokens.get(i), tokens.get(i + 1))
                {
                    if !lo.is_empty() && lo.len() <= 4 {
                        cmap.code_spaces.push((lo.len(), be_code(lo), be_code(hi)));
                    }
                    i += 2;
                    entries += 1;
                }
            }
            Token::Word(w) if w == "beginbfchar" || w == "begincidchar" => {
                let unicode = w == "beginbfchar";
                i += 1;
                loop {
                    match (tokens.get(i), tokens.get(i + 1)) {
                        (Some(Token::Hex(src)), Some(Token::Hex(dst)))
                            if !src.is_empty() && src.len() <= 4 =>
                        {
                            if unicode {
                                cmap.singles
                                    .insert((src.len(), be_code(src)), utf16_string(dst));
                            }
                        }
                        (Some(Token::Hex(_)), Some(Token::Name(_) | Token::Int(_))) => {}
                        _ => break,
                    }
                    i += 2;
                    entries += 1;
                }
            }
            Token::Word(w) if w == "beginbfrange" => {
                i += 1;
                while let (Some(Token::Hex(lo)), Some(Token::Hex(hi))) =
                    (tokens.get(i), tokens.get(i + 1))
                {
                    if lo.is_empty() || lo.len() > 4 {
                        break;
                    }
                    let (len, lo, hi) = (lo.len(), be_code(lo), be_code(hi));
                    match tokens.get(i + 2) {
                        Some(Token::Hex(dst)) => {
                            if hi >= lo {
                                cmap.ranges.push((len, lo, hi, utf16_units(dst)));
                            }
                            i += 3;
                        }
                        Some(Token::ArrayStart) => {
                            i += 3;
                            let mut code = lo;
                            while let Some(Token::Hex(dst)) = tokens.get(i) {
                                if code <= hi {
                                    cmap.singles.insert((len, code), utf16_string(dst));
                                }
                                code = code.saturating_add(1);
                                i += 1;
                                entries += 1;
                                if entries >= MAX_MAP_ENTRIES {
                                    break;
                                }
                            }
                            if let Some(Token::ArrayEnd) = tokens.get(i) {
                                i += 1;
                            }
                        }
                        _ => break,
                    }
                    entries += 1;
                    if entries >= MAX_MAP_ENTRIES {
                        break;
                    }
                }
            }
            _ => i += 1,
        }
    }
    cmap
}

/// What a code means when the font has no `/ToUnicode` entry for it.
#[derive(Debug)]
enum Fallback {
    /// CIDs with no standard meaning (`Identity-H`): unknown text.
    Unknown,
    /// `UniGB-UCS2-H`, `UniGB-UTF16-H` and kin: the code is UTF-16.
    Utf16,
    /// `GBK-EUC-H`, `GB-EUC-H`, `GBpc-EUC-H`: the code is GBK bytes.
    Gbk,
    /// A simple font: one table entry per byte.
    Simple(Box<[Option<char>; 256]>),
}

#[derive(Debug)]
enum CodeLength {
    Fixed(usize),
    /// GBK: a lead byte 0x81..=0xFE starts a two-byte code.
    Gbk,
    CMap,
}

/// Advance widths in thousandths of an em.
#[derive(Debug, Default)]
struct Widths {
    singles: HashMap<u32, f32>,
    ranges: Vec<(u32, u32, f32)>,
    default: f32,
}

impl Widths {
    fn get(&self, code: u32) -> f32 {
        if let Some(w) = self.singles.get(&code) {
            return *w;
        }
        self.ranges
            .iter()
            .find(|(lo, hi, _)| (*lo..=*hi).contains(&code))
            .map_or(self.default, |(_, _, w)| *w)
    }
}

/// One decoded code of a shown string.
#[derive(Debug)]
pub(crate) struct Code {
    pub code: u32,
    pub byte_len: usize,
    pub text: String,
}

/// A font, reduced to what text extraction needs.
#[derive(Debug)]
pub(crate) struct Font {
    to_unicode: Option<CMap>,
    encoding_cmap: Option<CMap>,
    code_length: CodeLength,
    fallback: Fallback,
    widths: Widths,
    /// Writing mode 1: glyphs advance downwards.
    pub vertical: bool,
    /// Vertical advance (`DW2`'s second number), thousandths of an em, negative = down.
    pub vertical_advance: f32,
    /// Widths are in glyph space scaled by this to thousandths of an em (Type 3 fonts).
    width_scale: f32,
}

fn number(obj: &Object) -> Option<f32> {
    obj.as_float().ok()
}

fn deref<'a>(doc: &'a Document, obj: &'a Object) -> &'a Object {
    doc.dereference(obj).map_or(obj, |(_, o)| o)
}

fn stream_bytes(doc: &Document, obj: &Object) -> Option<Vec<u8>> {
    let stream = deref(doc, obj).as_stream().ok()?;
    stream.decompressed_content_with_limit(MAX_CMAP_BYTES).ok()
}

fn name_of(doc: &Document, dict: &Dictionary, key: &[u8]) -> Option<String> {
    let obj = deref(doc, dict.get(key).ok()?);
    obj.as_name()
        .ok()
        .map(|n| String::from_utf8_lossy(n).into_owned())
}

impl Font {
    /// Reads a font dictionary. Never fails: what cannot be read falls back to defaults, so a
    /// damaged font costs its own text, not the page.
    pub(crate) fn load(doc: &Document, dict: &Dictionary) -> Font {
        let subtype = name_of(doc, dict, b"Subtype").unwrap_or_default();
        let to_unicode = dict
            .get(b"ToUnicode")
            .ok()
            .and_then(|o| stream_bytes(doc, o))
            .map(|d| parse_cmap(&d));
        if subtype == "Type0" {
            Self::load_type0(doc, dict, to_unicode)
        } else {
            Self::load_simple(doc, dict, &subtype, to_unicode)
        }
    }

    fn load_type0(doc: &Document, dict: &Dictionary, to_unicode: Option<CMap>) -> Font {
        let mut vertical = false;
        let mut code_length = CodeLength::Fixed(2);
        let mut fallback = Fallback::Unknown;
        let mut encoding_cmap = None;
        let mut identity = true;
        match dict.get(b"Encoding").map(|o| deref(doc, o)) {
            Ok(Object::Name(name)) => {
                let name = String::from_utf8_lossy(name);
                vertical = name.ends_with("-V");
                if name.starts_with("Identity") {
                } else if name.contains("UCS2") || name.contains("UTF16") {
                    identity = false;
                    fallback = Fallback::Utf16;
                } else if name.contains("EUC") || name.starts_with("GBK") {
                    identity = false;
                    code_length = CodeLength::Gbk;
                    fallback = Fallback::Gbk;
                } else {
                    identity = false;
                }
            }
            Ok(obj @ Object::Stream(_)) => {
                if let Some(data) = stream_bytes(doc, obj) {
                    let cmap = parse_cmap(&data);
                    vertical = cmap.vertical;
                    if !cmap.code_spaces.is_empty() {
                        code_length = CodeLength::CMap;
                    }
                    encoding_cmap = Some(cmap);
                }
                identity = false;
            }
            _ => {}
        }
        let descendant = dict
            .get(b"DescendantFonts")
            .map(|o| deref(doc, o))
            .ok()
            .and_then(|o| o.as_array().ok())
            .and_then(|a| a.first())
            .map(|o| deref(doc, o))
            .and_then(|o| o.as_dict().ok());
        let mut widths = Widths {
            default: 1000.0,
            ..Widths::default()
        };
        let mut vertical_advance = -1000.0;
        if let Some(cid) = descendant {
            if let Some(dw) = cid.get(b"DW").ok().map(|o| deref(doc, o)).and_then(number) {
                widths.default = dw;
            }
            if identity && let Ok(Object::Array(w)) = cid.get(b"W").map(|o| deref(doc, o)) {
                read_cid_widths(doc, w, &mut widths);
            }
            if let Ok(Object::Array(dw2)) = cid.get(b"DW2").map(|o| deref(doc, o))
                && let Some(adv) = dw2.get(1).and_then(number)
            {
                vertical_advance = adv;
            }
        }
        Font {
            to_unicode,
            encoding_cmap,
            code_length,
            fallback,
            widths,
            vertical,
            vertical_advance,
            width_scale: 1.0,
        }
    }

    fn load_simple(
        doc: &Document,
        dict: &Dictionary,
        subtype: &str,
        to_unicode: Option<CMap>,
    ) -> Font {
        let base = name_of(doc, dict, b"BaseFont").unwrap_or_default();
        let mut table: Box<[Option<char>; 256]> = Box::new([None; 256]);
        for (b, slot) in table.iter_mut().enumerate() {
            let byte = [u8::try_from(b).unwrap_or(0)];
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&byte);
            *slot = text.chars().next().filter(|c| !c.is_control());
        }
        let encoding = dict.get(b"Encoding").map(|o| deref(doc, o));
        if let Ok(Object::Dictionary(enc)) = encoding
            && let Ok(Object::Array(diffs)) = enc.get(b"Differences").map(|o| deref(doc, o))
        {
            let mut code: usize = 0;
            for item in diffs {
                match item {
                    Object::Integer(n) => code = usize::try_from(*n).unwrap_or(256),
                    Object::Name(name) => {
                        if let Some(slot) = table.get_mut(code) {
                            *slot = glyph_name_char(&String::from_utf8_lossy(name));
                        }
                        code += 1;
                    }
                    _ => {}
                }
            }
        }
        let default_width = if base.contains("Courier") {
            600.0
        } else if base.contains("Times") {
            500.0
        } else {
            556.0
        };
        let missing = dict
            .get(b"FontDescriptor")
            .map(|o| deref(doc, o))
            .ok()
            .and_then(|o| o.as_dict().ok())
            .and_then(|d| d.get(b"MissingWidth").ok())
            .and_then(number);
        let mut widths = Widths {
            default: missing.unwrap_or(default_width),
            ..Widths::default()
        };
        if let (Some(first), Ok(Object::Array(list))) = (
            dict.get(b"FirstChar").ok().and_then(|o| o.as_i64().ok()),
            dict.get(b"Widths").map(|o| deref(doc, o)),
        ) {
            for (i, w) in list.iter().take(256).enumerate() {
                if let (Some(w), Ok(code)) = (number(deref(doc, w)), u32::try_from(first)) {
                    widths.singles.insert(code + i as u32, w);
                }
            }
        } else if widths.default > 0.0 {
            widths.singles.insert(32, widths.default / 2.0);
        }
        let width_scale = if subtype == "Type3" {
            dict.get(b"FontMatrix")
                .ok()
                .and_then(|o| o.as_array().ok())
                .and_then(|m| m.first())
                .and_then(number)
                .map_or(1.0, |a| a * 1000.0)
        } else {
            1.0
        };
        Font {
            to_unicode,
            encoding_cmap: None,
            code_length: CodeLength::Fixed(1),
            fallback: Fallback::Simple(table),
            widths,
            vertical: false,
            vertical_advance: -1000.0,
            width_scale,
        }
    }

    /// Splits a shown string into codes with their text.
    pub(crate) fn decode(&self, bytes: &[u8]) -> Vec<Code> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let rest = &bytes[i..];
            let len = match self.code_length {
                CodeLength::Fixed(n) => self
                    .to_unicode
                    .as_ref()
                    .filter(|_| n == 1)
                    .and_then(|c| c.code_len(rest))
                    .unwrap_or(n),
                CodeLength::Gbk => {
                    if (0x81..=0xFE).contains(&rest[0]) && rest.len() >= 2 {
                        2
                    } else {
                        1
                    }
                }
                CodeLength::CMap => self
                    .encoding_cmap
                    .as_ref()
                    .and_then(|c| c.code_len(rest))
                    .unwrap_or(1),
            }
            .clamp(1, rest.len());
            let raw = &rest[..len];
            let code = be_code(raw);
            let text = self
                .to_unicode
                .as_ref()
                .and_then(|c| c.lookup(len, code))
                .unwrap_or_else(|| self.fallback_text(raw, code));
            out.push(Code {
                code,
                byte_len: len,
                text,
            });
            i += len;
        }
        out
    }

    fn fallback_text(&self, raw: &[u8], code: u32) -> String {
        match &self.fallback {
            Fallback::Unknown => "\u{FFFD}".to_owned(),
            Fallback::Utf16 => utf16_string(raw),
            Fallback::Gbk => encoding_rs::GBK.decode(raw).0.into_owned(),
            Fallback::Simple(table) => usize::try_from(code)
                .ok()
                .and_then(|c| table.get(c).copied().flatten())
                .map(String::from)
                .unwrap_or_default(),
        }
    }

    /// Horizontal advance of `code` in thousandths of an em.
    pub(crate) fn width(&self, code: u32) -> f32 {
        self.widths.get(code) * self.width_scale
    }
}

fn read_cid_widths(doc: &Document, w: &[Object], widths: &mut Widths) {
    let mut i = 0;
    while i < w.len() && widths.singles.len() < MAX_MAP_ENTRIES {
        let Some(first) = number(deref(doc, &w[i])) else {
            break;
        };
        let first = first as u32;
        match w.get(i + 1).map(|o| deref(doc, o)) {
            Some(Object::Array(list)) => {
                for (k, v) in list.iter().take(MAX_MAP_ENTRIES).enumerate() {
                    if let Some(v) = number(deref(doc, v)) {
                        widths.singles.insert(first.saturating_add(k as u32), v);
                    }
                }
                i += 2;
            }
            Some(last) => {
                let (Some(last), Some(v)) = (
                    number(last),
                    w.get(i + 2).map(|o| deref(doc, o)).and_then(number),
                ) else {
                    break;
                };
                widths.ranges.push((first, last as u32, v));
                i += 3;
            }
            None => break,
        }
    }
}

/// The character of a glyph name from an `/Encoding /Differences` array, for the names that
/// matter in reports (digits, punctuation, `uniXXXX`).
fn glyph_name_char(name: &str) -> Option<char> {
    if let Some(hex) = name.strip_prefix("uni").or_else(|| name.strip_prefix('u'))
        && (4..=6).contains(&hex.len())
        && let Ok(v) = u32::from_str_radix(hex, 16)
    {
        return char::from_u32(v);
    }
    let mut chars = name.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Some(c);
    }
    const NAMES: &[(&str, char)] = &[
        ("space", ' '),
        ("zero", '0'),
        ("one", '1'),
        ("two", '2'),
        ("three", '3'),
        ("four", '4'),
        ("five", '5'),
        ("six", '6'),
        ("seven", '7'),
        ("eight", '8'),
        ("nine", '9'),
        ("period", '.'),
        ("comma", ','),
        ("hyphen", '-'),
        ("minus", '-'),
        ("slash", '/'),
        ("colon", ':'),
        ("semicolon", ';'),
        ("parenleft", '('),
        ("parenright", ')'),
        ("percent", '%'),
        ("plus", '+'),
        ("equal", '='),
        ("underscore", '_'),
        ("endash", '–'),
        ("emdash", '—'),
        ("bullet", '•'),
        ("quotedbl", '"'),
        ("quotesingle", '\''),
        ("ampersand", '&'),
        ("at", '@'),
        ("numbersign", '#'),
        ("dollar", '$'),
        ("asterisk", '*'),
        ("bracketleft", '['),
        ("bracketright", ']'),
        ("less", '<'),
        ("greater", '>'),
        ("question", '?'),
        ("exclam", '!'),
    ];
    NAMES.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_unicode_cmap_reads_chars_ranges_and_arrays() {
        let cmap = parse_cmap(
            b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
              1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
              2 beginbfchar <0003> <0020> <0611> <653F> endbfchar\n\
              2 beginbfrange <0010> <0019> <0030> <0100> <0101> [<4E00> <4E8C>] endbfrange\n\
              endcmap",
        );
        assert_eq!(cmap.lookup(2, 0x0611).as_deref(), Some("政"));
        assert_eq!(cmap.lookup(2, 0x0013).as_deref(), Some("3"));
        assert_eq!(cmap.lookup(2, 0x0101).as_deref(), Some("二"));
        assert_eq!(cmap.lookup(2, 0x0200), None);
        assert_eq!(cmap.code_len(&[0x06, 0x11]), Some(2));
    }

    #[test]
    fn glyph_names_cover_digits_and_uni_names() {
        assert_eq!(glyph_name_char("seven"), Some('7'));
        assert_eq!(glyph_name_char("uni653F"), Some('政'));
        assert_eq!(glyph_name_char("A"), Some('A'));
        assert_eq!(glyph_name_char("nosuchglyph"), None);
    }
}
