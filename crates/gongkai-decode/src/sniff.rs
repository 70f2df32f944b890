//! Format sniffing by magic bytes and leading content, never by file name.
//!
//! The containers a report arrives in are told apart by their first bytes (`%PDF-`, ZIP, OLE
//! compound files, image signatures); a ZIP is a DOCX only when it holds `word/document.xml`,
//! and an OFD when it holds `OFD.xml`. Formats gongkai cannot read are named, so that the
//! caller can say *which* format it refused.

use crate::find;

/// What a byte string is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sniffed {
    Pdf,
    Docx,
    Html,
    Text,
    Markdown,
    /// A format gongkai does not read, by name (`"Word 97-2003 / WPS (OLE compound file)"`).
    Unsupported(&'static str),
}

const OLE: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Tells what `bytes` are, from their content.
pub fn sniff(bytes: &[u8]) -> Sniffed {
    let head = bytes.get(..bytes.len().min(1024)).unwrap_or(bytes);
    // The PDF standard lets readers accept junk before the header within the first 1 KiB.
    if find(head, b"%PDF-").is_some() {
        return Sniffed::Pdf;
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return sniff_zip(bytes);
    }
    if bytes.starts_with(OLE) {
        return Sniffed::Unsupported("Word 97-2003 .doc / WPS (OLE compound file)");
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Sniffed::Unsupported("PNG image");
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Sniffed::Unsupported("JPEG image");
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Sniffed::Unsupported("GIF image");
    }
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return Sniffed::Unsupported("TIFF image");
    }
    if bytes.len() >= 26 && bytes.starts_with(b"BM") && bytes.get(6..10) == Some(&[0, 0, 0, 0]) {
        return Sniffed::Unsupported("BMP image");
    }
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        return Sniffed::Unsupported("WebP image");
    }
    if bytes.starts_with(b"{\\rtf") {
        return Sniffed::Unsupported("RTF document");
    }
    if bytes.starts_with(&[0x1F, 0x8B]) {
        return Sniffed::Unsupported("gzip archive");
    }
    if bytes.starts_with(b"Rar!\x1a\x07") {
        return Sniffed::Unsupported("RAR archive");
    }
    if bytes.starts_with(b"7z\xBC\xAF\x27\x1C") {
        return Sniffed::Unsupported("7z archive");
    }
    if looks_like_html(bytes) {
        return Sniffed::Html;
    }
    if looks_like_markdown(bytes) {
        return Sniffed::Markdown;
    }
    Sniffed::Text
}

fn sniff_zip(bytes: &[u8]) -> Sniffed {
    // Entry names are stored uncompressed in local headers and the central directory.
    if find(bytes, b"word/document.xml").is_some() {
        Sniffed::Docx
    } else if find(bytes, b"OFD.xml").is_some() {
        Sniffed::Unsupported("OFD document")
    } else if find(bytes, b"xl/workbook.xml").is_some() {
        Sniffed::Unsupported("Excel workbook (XLSX)")
    } else if find(bytes, b"ppt/presentation.xml").is_some() {
        Sniffed::Unsupported("PowerPoint presentation (PPTX)")
    } else if find(bytes, b"content.xml").is_some() && find(bytes, b"mimetype").is_some() {
        Sniffed::Unsupported("OpenDocument file")
    } else {
        Sniffed::Unsupported("ZIP archive")
    }
}

/// The first bytes with a UTF-16 BOM taken into account, lower-cased ASCII, at most 4 KiB.
fn ascii_head(bytes: &[u8]) -> Vec<u8> {
    let head = bytes.get(..bytes.len().min(8192)).unwrap_or(bytes);
    const KEPT: usize = 4096;
    // Only the first KEPT bytes are kept: copied once and lowered in place.
    let mut ascii: Vec<u8> = match head {
        [0xFF, 0xFE, rest @ ..] => rest.chunks(2).map(|c| c[0]).take(KEPT).collect(),
        [0xFE, 0xFF, rest @ ..] => rest
            .chunks(2)
            .filter_map(|c| c.get(1).copied())
            .take(KEPT)
            .collect(),
        [0xEF, 0xBB, 0xBF, rest @ ..] => rest[..rest.len().min(KEPT)].to_vec(),
        _ => head[..head.len().min(KEPT)].to_vec(),
    };
    ascii.make_ascii_lowercase();
    ascii
}

fn looks_like_html(bytes: &[u8]) -> bool {
    let head = ascii_head(bytes);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let trimmed = &head[start..];
    const OPENERS: [&[u8]; 9] = [
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<body",
        b"<meta",
        b"<table",
        b"<div",
        b"<p>",
        b"<p ",
    ];
    if OPENERS.iter().any(|o| trimmed.starts_with(o)) {
        return true;
    }
    // A comment or an XML declaration first: decide on the tags that follow.
    (trimmed.starts_with(b"<!--") || trimmed.starts_with(b"<?xml"))
        && (find(&head, b"<html").is_some() || find(&head, b"<body").is_some())
}

fn looks_like_markdown(bytes: &[u8]) -> bool {
    let head = bytes.get(..bytes.len().min(65536)).unwrap_or(bytes);
    head.split(|&b| b == b'\n').any(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let hashes = line.iter().take_while(|&&b| b == b'#').count();
        if (1..=6).contains(&hashes) && line.get(hashes) == Some(&b' ') {
            return true;
        }
        is_delimiter_row(line)
    })
}

/// A pipe-table delimiter row, spaces aside: `|---|:--:|` (at least five characters, a leading
/// pipe, only `|`, `-` and `:`, three dashes in a row). Scanned in place: it runs on every line
/// of every text report.
fn is_delimiter_row(line: &[u8]) -> bool {
    let mut seen = 0usize;
    let mut dashes = 0usize;
    let mut three_dashes = false;
    for &b in line.iter().filter(|b| **b != b' ') {
        if seen == 0 && b != b'|' {
            return false;
        }
        match b {
            b'-' => {
                dashes += 1;
                three_dashes |= dashes >= 3;
            }
            b'|' | b':' => dashes = 0,
            _ => return false,
        }
        seen += 1;
    }
    seen >= 5 && three_dashes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The delimiter-row test as first written (collecting the line without spaces).
    fn is_delimiter_row_collecting(line: &[u8]) -> bool {
        let trimmed: Vec<u8> = line.iter().copied().filter(|b| *b != b' ').collect();
        trimmed.len() >= 5
            && trimmed.starts_with(b"|")
            && trimmed.iter().all(|b| matches!(b, b'|' | b'-' | b':'))
            && trimmed.windows(3).any(|w| w == b"---")
    }

    #[test]
    fn delimiter_rows_are_found_in_place_as_by_collecting() {
        let mut lines: Vec<Vec<u8>> = [
            "|---|---|",
            "| --- | :-: |",
            "|:--:|",
            "|--|--|",
            "| - - - |",
            "---|---",
            "|---|x|",
            "|---",
            "| ---",
            "|",
            "",
            "   ",
            "| 项目 | 数量 |",
            "|-|-|-|-|",
            "|:---:|",
            "| :- -- |",
            "||---",
            "|---||",
        ]
        .iter()
        .map(|l| l.as_bytes().to_vec())
        .collect();
        // Every line of up to six characters over the alphabet that matters.
        let alphabet = [b'|', b'-', b':', b' ', b'x'];
        let mut frontier = vec![Vec::new()];
        for _ in 0..6 {
            let mut next = Vec::new();
            for line in &frontier {
                for &b in &alphabet {
                    let mut longer: Vec<u8> = line.clone();
                    longer.push(b);
                    next.push(longer);
                }
            }
            lines.extend(next.iter().cloned());
            frontier = next;
        }
        for line in &lines {
            assert_eq!(
                is_delimiter_row(line),
                is_delimiter_row_collecting(line),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn magic_bytes() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Sniffed::Pdf);
        assert_eq!(sniff(b"PK\x03\x04....word/document.xml...."), Sniffed::Docx);
        assert_eq!(
            sniff(b"PK\x03\x04....Doc_0/OFD.xml"),
            Sniffed::Unsupported("OFD document")
        );
        assert_eq!(
            sniff(b"PK\x03\x04 other"),
            Sniffed::Unsupported("ZIP archive")
        );
        assert!(
            matches!(sniff(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0]), Sniffed::Unsupported(n) if n.contains("WPS"))
        );
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0"),
            Sniffed::Unsupported("PNG image")
        );
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Sniffed::Unsupported("JPEG image")
        );
        assert_eq!(sniff(b"GIF89a..."), Sniffed::Unsupported("GIF image"));
        assert_eq!(sniff(b"II*\0...."), Sniffed::Unsupported("TIFF image"));
        let mut bmp = b"BM\x36\0\0\0\0\0\0\0".to_vec();
        bmp.resize(64, 0);
        assert_eq!(sniff(&bmp), Sniffed::Unsupported("BMP image"));
    }

    #[test]
    fn html_markdown_text() {
        assert_eq!(sniff(b"  <!DOCTYPE html><html>"), Sniffed::Html);
        assert_eq!(sniff("\u{FEFF}<html><body>".as_bytes()), Sniffed::Html);
        assert_eq!(sniff(b"<!-- saved --><html>"), Sniffed::Html);
        assert_eq!(
            sniff("\n\n# 标题\n\n## 一、总体情况\n".as_bytes()),
            Sniffed::Markdown
        );
        assert_eq!(
            sniff("| a | b |\n|---|---|\n| 1 | 2 |\n".as_bytes()),
            Sniffed::Markdown
        );
        assert_eq!(sniff("一、总体情况\n#没有空格\n".as_bytes()), Sniffed::Text);
        assert_eq!(sniff(b""), Sniffed::Text);
    }
}
