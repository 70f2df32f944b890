//! DOCX files written by the tests (a ZIP built with the `zip` crate around WordprocessingML
//! generated here) and read back: known tables with merged header cells (`w:gridSpan`,
//! `w:vMerge` restart/continue), blank cells and `w:gridBefore` come back as the same grid;
//! body paragraphs keep their text; hostile archives (a ZIP bomb, an archive that lies about
//! its sizes, too many entries) and damaged input are clear errors, quickly.

#![allow(clippy::unwrap_used)]

use gongkai_docx::{DocxError, read_docx};
use gongkai_model::{Block, Document, GridTable, Position};
use std::io::{Cursor, Write};
use std::time::{Duration, Instant};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

const W_NS: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";

/// One Word table cell: its paragraphs, `w:gridSpan`, `w:vMerge`.
struct C {
    paragraphs: Vec<&'static str>,
    span: usize,
    vmerge: Option<&'static str>,
}

fn c(text: &'static str) -> C {
    C {
        paragraphs: vec![text],
        span: 1,
        vmerge: None,
    }
}

impl C {
    fn span(mut self, n: usize) -> C {
        self.span = n;
        self
    }
    fn restart(mut self) -> C {
        self.vmerge = Some("restart");
        self
    }
    fn cont(mut self) -> C {
        self.vmerge = Some("continue");
        self
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;")
}

fn paragraph(text: &str) -> String {
    format!(
        r#"<w:p><w:r><w:t xml:space="preserve">{}</w:t></w:r></w:p>"#,
        xml_escape(text)
    )
}

/// A table of `rows`, each optionally starting with `w:gridBefore`.
fn table(columns: usize, rows: &[(usize, Vec<C>)]) -> String {
    let mut xml = String::from("<w:tbl><w:tblPr/><w:tblGrid>");
    for _ in 0..columns {
        xml.push_str(r#"<w:gridCol w:w="1000"/>"#);
    }
    xml.push_str("</w:tblGrid>");
    for (before, cells) in rows {
        xml.push_str("<w:tr>");
        if *before > 0 {
            xml.push_str(&format!(
                r#"<w:trPr><w:gridBefore w:val="{before}"/></w:trPr>"#
            ));
        }
        for cell in cells {
            xml.push_str("<w:tc><w:tcPr>");
            if cell.span > 1 {
                xml.push_str(&format!(r#"<w:gridSpan w:val="{}"/>"#, cell.span));
            }
            match cell.vmerge {
                Some("restart") => xml.push_str(r#"<w:vMerge w:val="restart"/>"#),
                Some(_) => xml.push_str("<w:vMerge/>"),
                None => {}
            }
            xml.push_str("</w:tcPr>");
            for p in &cell.paragraphs {
                xml.push_str(&paragraph(p));
            }
            xml.push_str("</w:tc>");
        }
        xml.push_str("</w:tr>");
    }
    xml.push_str("</w:tbl>");
    xml
}

fn document_xml(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{W_NS}" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"><w:body>{body}<w:sectPr/></w:body></w:document>"#
    )
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, data) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#;

fn rels(target: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="{target}"/></Relationships>"#
    )
}

fn docx(body: &str) -> Vec<u8> {
    let xml = document_xml(body);
    zip_of(&[
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", rels("word/document.xml").as_bytes()),
        ("word/document.xml", xml.as_bytes()),
    ])
}

fn grids(doc: &Document) -> Vec<&GridTable> {
    doc.blocks
        .iter()
        .filter_map(|b| match b {
            Block::Table(t) => Some(t),
            Block::Paragraph { .. } => None,
        })
        .collect()
}

fn texts(table: &GridTable) -> Vec<Vec<String>> {
    table
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| {
                    if c.spanned {
                        format!("^{}", c.text)
                    } else {
                        c.text.clone()
                    }
                })
                .collect()
        })
        .collect()
}

fn owned(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|s| (*s).to_owned()).collect())
        .collect()
}

#[test]
fn merged_and_blank_cells_read_back_as_the_same_grid() {
    let mut body = String::new();
    body.push_str(r#"<w:p><w:r><w:t>一、总</w:t></w:r><w:r><w:t>体情况</w:t></w:r></w:p>"#);
    body.push_str(&paragraph("二、主动公开 & 情况"));
    body.push_str(&table(
        5,
        &[
            (
                0,
                vec![
                    c("项目").span(2).restart(),
                    c("申请人情况").span(2),
                    c("总计").restart(),
                ],
            ),
            (
                0,
                vec![c("").span(2).cont(), c("自然人"), c("法人"), c("").cont()],
            ),
            (
                0,
                vec![c("新收").span(2), c("3"), c("\u{3000}\u{a0}"), c("3")],
            ),
            (
                0,
                vec![
                    c("三、本年度办理结果").restart(),
                    c("予以公开"),
                    c("1"),
                    c(""),
                    c("1"),
                ],
            ),
            (
                0,
                vec![
                    c("").cont(),
                    C {
                        paragraphs: vec!["部分", "公开"],
                        span: 1,
                        vmerge: None,
                    },
                    c("2"),
                    c("0"),
                    c("2"),
                ],
            ),
        ],
    ));
    body.push_str(
        r#"<w:p><w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:t>文本框</w:t></mc:Choice><mc:Fallback><w:t>文本框</w:t></mc:Fallback></mc:AlternateContent></w:r></w:p>"#,
    );
    body.push_str(
        r#"<w:p><w:r><w:t>行政复议</w:t><w:tab/><w:t>3</w:t><w:br/><w:t>第二行</w:t></w:r></w:p>"#,
    );
    body.push_str(&table(
        3,
        &[(1, vec![c("a"), c("b")]), (0, vec![c("x").span(3)])],
    ));
    let doc = read_docx(&docx(&body)).unwrap();
    assert!(doc.has_text);
    let tables = grids(&doc);
    assert_eq!(tables.len(), 2);
    assert_eq!(
        texts(tables[0]),
        owned(&[
            &["项目", "^项目", "申请人情况", "^申请人情况", "总计"],
            &["^项目", "^项目", "自然人", "法人", "^总计"],
            &["新收", "^新收", "3", "", "3"],
            &["三、本年度办理结果", "予以公开", "1", "", "1"],
            &["^三、本年度办理结果", "部分公开", "2", "0", "2"],
        ])
    );
    assert_eq!(
        tables[0].rows[4][1].position,
        Some(Position::Grid {
            table: 0,
            row: 4,
            column: 1
        })
    );
    assert_eq!(
        texts(tables[1]),
        owned(&[&["", "a", "b"], &["x", "^x", "^x"]])
    );
    assert_eq!(
        tables[1].rows[1][2].position,
        Some(Position::Grid {
            table: 1,
            row: 1,
            column: 2
        })
    );
    let paragraphs: Vec<&str> = doc
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Paragraph { text, .. } => Some(text.as_str()),
            Block::Table(_) => None,
        })
        .collect();
    assert_eq!(
        paragraphs,
        vec![
            "一、总体情况",
            "二、主动公开 & 情况",
            "文本框",
            "行政复议\t3",
            "第二行"
        ]
    );
    // Reading order: paragraph, paragraph, table, ...
    assert!(matches!(doc.blocks[2], Block::Table(_)));
}

#[test]
fn the_main_part_named_by_the_relationships_is_read() {
    let xml = document_xml(&paragraph("正文"));
    let bytes = zip_of(&[
        ("_rels/.rels", rels("/word/main.xml").as_bytes()),
        ("word/main.xml", xml.as_bytes()),
    ]);
    let doc = read_docx(&bytes).unwrap();
    assert_eq!(
        doc.blocks,
        vec![Block::Paragraph {
            text: "正文".to_owned(),
            position: None
        }]
    );
}

#[test]
fn a_document_of_pictures_only_has_no_text() {
    let body = r#"<w:p><w:r><w:drawing/></w:r></w:p><w:p/>"#;
    let doc = read_docx(&docx(body)).unwrap();
    assert!(!doc.has_text);
    assert!(doc.blocks.is_empty());
}

#[test]
fn a_zip_bomb_is_refused_quickly() {
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let bytes = zip_of(&[("word/document.xml", &zeros)]);
    assert!(bytes.len() < 64 * 1024, "{} bytes", bytes.len());
    let start = Instant::now();
    let err = read_docx(&bytes).unwrap_err();
    assert!(matches!(err, DocxError::ZipBomb(_)), "{err:?}");
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
}

/// Rewrites the uncompressed size of every entry, in the local headers and the central
/// directory, to `size`.
fn lie_about_sizes(bytes: &mut [u8], size: u32) {
    let patch = |bytes: &mut [u8], signature: &[u8; 4], offset: usize| {
        let mut i = 0;
        while i + offset + 4 <= bytes.len() {
            if &bytes[i..i + 4] == signature {
                bytes[i + offset..i + offset + 4].copy_from_slice(&size.to_le_bytes());
            }
            i += 1;
        }
    };
    patch(bytes, b"PK\x03\x04", 22);
    patch(bytes, b"PK\x01\x02", 24);
}

#[test]
fn an_archive_that_understates_its_size_is_stopped_at_the_declared_size() {
    let mut xml = document_xml(&paragraph("正文")).into_bytes();
    xml.extend(std::iter::repeat_n(b' ', 4 * 1024 * 1024));
    let mut bytes = zip_of(&[("word/document.xml", &xml)]);
    lie_about_sizes(&mut bytes, 1000);
    let start = Instant::now();
    let err = read_docx(&bytes).unwrap_err();
    assert!(matches!(err, DocxError::ZipBomb(_)), "{err:?}");
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn too_many_entries_are_refused() {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for i in 0..=gongkai_docx::limits::MAX_ENTRIES {
        zip.start_file(format!("f{i}"), options).unwrap();
    }
    let bytes = zip.finish().unwrap().into_inner();
    let err = read_docx(&bytes).unwrap_err();
    assert!(matches!(err, DocxError::ZipBomb(_)), "{err:?}");
}

#[test]
fn damaged_input_is_a_clear_error() {
    assert!(matches!(
        read_docx(b"not a zip at all").unwrap_err(),
        DocxError::NotZip(_)
    ));
    let good = docx(&paragraph("正文"));
    for keep in [10, good.len() / 2, good.len() - 5] {
        let err = read_docx(&good[..keep]).unwrap_err();
        assert!(
            matches!(err, DocxError::NotZip(_) | DocxError::Damaged(_)),
            "{keep}: {err:?}"
        );
    }
    let no_document = zip_of(&[("word/styles.xml", b"<w:styles/>")]);
    assert!(matches!(
        read_docx(&no_document).unwrap_err(),
        DocxError::NoDocument
    ));
    let broken = zip_of(&[("word/document.xml", b"<w:document><w:body><w:p></w:body>")]);
    assert!(matches!(
        read_docx(&broken).unwrap_err(),
        DocxError::Damaged(_)
    ));
    // Noise, with and without a ZIP signature in front: never a panic.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..200 {
        let mut noise = b"PK\x03\x04".to_vec();
        for _ in 0..512 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            noise.push((x >> 24) as u8);
        }
        assert!(read_docx(&noise).is_err());
        assert!(read_docx(&noise[4..]).is_err());
    }
}
