//! PDFs written by the tests themselves (with lopdf, fonts not embedded) and read back:
//! a CJK table (Type0 `Identity-H` font with a `/ToUnicode` CMap) broken across two pages
//! with a page footer between, merged header cells, a label wrapped over three lines with the
//! numbers on the middle line, a merged label printed one character per line, and prose that
//! wraps; a vertical (`Identity-V`) label; a standard-14 Latin table; a scanned (image-only)
//! page; encrypted, truncated, random and decompression-bomb inputs.

#![allow(clippy::unwrap_used)]

use gongkai_model::{Block, Document, GridTable, Position};
use gongkai_pdf::{Limits, PdfError, read_pdf, read_pdf_with_limits};
use lopdf::{Dictionary, Object, ObjectId, Stream, dictionary};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

const PAGE_HEIGHT: f32 = 842.0;

/// A small PDF writer: a Latin standard-14 font (`/F1`, Helvetica with its widths), a CJK
/// `Identity-H` font (`/F2`) and the same font in `Identity-V` (`/F3`), CIDs handed out per
/// character as the text is written, mapped back by one `/ToUnicode` CMap.
struct PdfWriter {
    doc: lopdf::Document,
    pages_id: ObjectId,
    page_ids: Vec<ObjectId>,
    cids: BTreeMap<char, u16>,
    to_unicode_id: ObjectId,
    fonts: Dictionary,
}

impl PdfWriter {
    fn new() -> Self {
        let mut doc = lopdf::Document::with_version("1.7");
        let pages_id = doc.new_object_id();
        let to_unicode_id = doc.new_object_id();
        let widths: Vec<Object> = (32u8..=126)
            .map(|c| Object::Integer(if c == b' ' { 278 } else { 556 }))
            .collect();
        let latin = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
            "Encoding" => "WinAnsiEncoding", "FirstChar" => 32, "LastChar" => 126,
            "Widths" => widths,
        });
        let descendant = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "CIDFontType2", "BaseFont" => "SimSun",
            "CIDSystemInfo" => dictionary! {
                "Registry" => Object::string_literal("Adobe"),
                "Ordering" => Object::string_literal("Identity"),
                "Supplement" => 0,
            },
            "DW" => 1000,
        });
        let cjk = |encoding: &str| {
            dictionary! {
                "Type" => "Font", "Subtype" => "Type0", "BaseFont" => "SimSun",
                "Encoding" => encoding, "DescendantFonts" => vec![descendant.into()],
                "ToUnicode" => to_unicode_id,
            }
        };
        let horizontal = doc.add_object(cjk("Identity-H"));
        let vertical = doc.add_object(cjk("Identity-V"));
        let fonts = dictionary! { "F1" => latin, "F2" => horizontal, "F3" => vertical };
        PdfWriter {
            doc,
            pages_id,
            page_ids: Vec::new(),
            cids: BTreeMap::new(),
            to_unicode_id,
            fonts,
        }
    }

    fn hex(&mut self, text: &str) -> String {
        let mut hex = String::from("<");
        for c in text.chars() {
            let next = u16::try_from(self.cids.len() + 1).unwrap();
            let cid = *self.cids.entry(c).or_insert(next);
            write!(hex, "{cid:04X}").unwrap();
        }
        hex.push('>');
        hex
    }

    /// Text whose glyph tops sit at `top` (points from the page top), left edge at `x`.
    fn cjk(&mut self, out: &mut String, x: f32, top: f32, size: f32, text: &str) {
        let baseline = PAGE_HEIGHT - top - 0.88 * size;
        let hex = self.hex(text);
        writeln!(
            out,
            "BT /F2 {size} Tf 1 0 0 1 {x} {baseline} Tm {hex} Tj ET"
        )
        .unwrap();
    }

    /// Vertical text: the pen starts at the top centre of the first glyph and moves down.
    fn cjk_vertical(&mut self, out: &mut String, centre_x: f32, top: f32, size: f32, text: &str) {
        let hex = self.hex(text);
        let y = PAGE_HEIGHT - top;
        writeln!(
            out,
            "BT /F3 {size} Tf 1 0 0 1 {centre_x} {y} Tm {hex} Tj ET"
        )
        .unwrap();
    }

    fn latin(out: &mut String, x: f32, top: f32, size: f32, text: &str) {
        let baseline = PAGE_HEIGHT - top - 0.88 * size;
        writeln!(out, "BT /F1 {size} Tf {x} {baseline} Td ({text}) Tj ET").unwrap();
    }

    fn add_page(&mut self, content: String) {
        self.add_page_with(content, dictionary! {});
    }

    /// A page with more entries in its dictionary (`/Rotate`).
    fn add_page_with(&mut self, content: String, extra: Dictionary) {
        let content_id = self
            .doc
            .add_object(Stream::new(dictionary! {}, content.into_bytes()));
        let mut page = dictionary! {
            "Type" => "Page", "Parent" => self.pages_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            "Contents" => content_id,
            "Resources" => dictionary! { "Font" => self.fonts.clone() },
        };
        for (key, value) in extra {
            page.set(key, value);
        }
        let page = self.doc.add_object(page);
        self.page_ids.push(page);
    }

    fn finish_document(mut self) -> lopdf::Document {
        let mut cmap = String::from(
            "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
             1 begincodespacerange <0000> <FFFF> endcodespacerange\n",
        );
        writeln!(cmap, "{} beginbfchar", self.cids.len()).unwrap();
        for (c, cid) in &self.cids {
            let mut units = [0u16; 2];
            let utf16: String = c
                .encode_utf16(&mut units)
                .iter()
                .map(|u| format!("{u:04X}"))
                .collect();
            writeln!(cmap, "<{cid:04X}> <{utf16}>").unwrap();
        }
        cmap.push_str("endbfchar\nendcmap CMapName currentdict /CMap defineresource pop end end\n");
        self.doc.objects.insert(
            self.to_unicode_id,
            Object::Stream(Stream::new(dictionary! {}, cmap.into_bytes())),
        );
        let kids: Vec<Object> = self.page_ids.iter().map(|id| (*id).into()).collect();
        let count = i64::try_from(kids.len()).unwrap();
        self.doc.objects.insert(
            self.pages_id,
            Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
        );
        let catalog = self
            .doc
            .add_object(dictionary! { "Type" => "Catalog", "Pages" => self.pages_id });
        self.doc.trailer.set("Root", catalog);
        self.doc
    }

    fn finish(self) -> Vec<u8> {
        save(self.finish_document())
    }
}

fn save(mut doc: lopdf::Document) -> Vec<u8> {
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}

/// Draws the borders of each cell `(top, bottom, left, right)`, leaving out the horizontal
/// edges at `open` (a table cut by the page end has no border there).
fn borders(out: &mut String, cells: &[(f32, f32, f32, f32)], open: Option<f32>) {
    out.push_str("0.5 w\n");
    for &(top, bottom, left, right) in cells {
        let (t, b) = (PAGE_HEIGHT - top, PAGE_HEIGHT - bottom);
        if open != Some(top) {
            writeln!(out, "{left} {t} m {right} {t} l S").unwrap();
        }
        if open != Some(bottom) {
            writeln!(out, "{left} {b} m {right} {b} l S").unwrap();
        }
        writeln!(out, "{left} {t} m {left} {b} l S").unwrap();
        writeln!(out, "{right} {t} m {right} {b} l S").unwrap();
    }
}

const X: [f32; 7] = [60.0, 100.0, 260.0, 330.0, 400.0, 470.0, 540.0];

/// The two-page CJK report of the module comment.
fn split_table_pdf() -> Vec<u8> {
    let mut w = PdfWriter::new();
    let mut p1 = String::new();
    w.cjk(&mut p1, 257.0, 50.0, 16.0, "测试报告");
    let rows = [100.0, 130.0, 160.0, 190.0, 230.0, 290.0, 330.0];
    let mut cells = vec![
        (rows[0], rows[2], X[0], X[2]), // 项目, two rows and two columns
        (rows[0], rows[1], X[2], X[6]), // 申请人情况 over four columns
    ];
    for c in 2..6 {
        cells.push((rows[1], rows[2], X[c], X[c + 1]));
    }
    cells.push((rows[2], rows[3], X[0], X[2]));
    cells.push((rows[3], rows[6], X[0], X[1])); // the vertical label over three rows
    for r in 2..6 {
        let c0 = if r == 2 { 2 } else { 1 };
        for c in c0..6 {
            cells.push((rows[r], rows[r + 1], X[c], X[c + 1]));
        }
    }
    borders(&mut p1, &cells, Some(rows[6]));
    w.cjk(&mut p1, 70.0, 120.0, 10.0, "项目");
    w.cjk(&mut p1, 380.0, 110.0, 10.0, "申请人情况");
    for (c, label) in ["自然人", "法人", "其他", "总计"].iter().enumerate() {
        w.cjk(&mut p1, X[c + 2] + 5.0, 140.0, 10.0, label);
    }
    w.cjk(&mut p1, 65.0, 170.0, 10.0, "一、本年新收");
    for (i, ch) in "三、本年度办理结果".chars().enumerate() {
        w.cjk(
            &mut p1,
            75.0,
            195.0 + 14.0 * i as f32,
            10.0,
            &ch.to_string(),
        );
    }
    w.cjk(&mut p1, 105.0, 205.0, 10.0, "（一）予以公开");
    w.cjk(&mut p1, 105.0, 235.0, 10.0, "1.申请人无正当理由逾期不补");
    w.cjk(&mut p1, 105.0, 249.0, 10.0, "正、行政机关不再处理其政府信");
    w.cjk(&mut p1, 105.0, 263.0, 10.0, "息公开申请");
    w.cjk(&mut p1, 105.0, 305.0, 10.0, "（七）总计");
    let values: [(f32, [&str; 4]); 4] = [
        (170.0, ["10", "2", "0", "12"]),
        (205.0, ["5", "1", "0", "6"]),
        (249.0, ["3", "0", "1", "4"]),
        (305.0, ["8", "1", "1", "10"]),
    ];
    for (top, row) in values {
        for (c, v) in row.iter().enumerate() {
            PdfWriter::latin(&mut p1, X[c + 2] + 10.0, top, 10.0, v);
        }
    }
    PdfWriter::latin(&mut p1, 290.0, 800.0, 10.0, "- 1 -");
    w.add_page(p1);

    let mut p2 = String::new();
    let mut cells = vec![(60.0, 90.0, X[0], X[2])];
    for c in 2..6 {
        cells.push((60.0, 90.0, X[c], X[c + 1]));
    }
    borders(&mut p2, &cells, None);
    w.cjk(&mut p2, 65.0, 70.0, 10.0, "四、结转下年度");
    for (c, v) in ["2", "1", "0", "3"].iter().enumerate() {
        PdfWriter::latin(&mut p2, X[c + 2] + 10.0, 70.0, 10.0, v);
    }
    w.cjk(&mut p2, 80.0, 120.0, 10.0, "五、存在的主要问题");
    let first: String = "一是政策解读质量仍需提升"
        .chars()
        .cycle()
        .take(46)
        .collect();
    w.cjk(&mut p2, 80.0, 140.0, 10.0, &first);
    w.cjk(&mut p2, 60.0, 154.0, 10.0, "二是队伍建设还需加强。");
    PdfWriter::latin(&mut p2, 290.0, 800.0, 10.0, "- 2 -");
    w.add_page(p2);
    w.finish()
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

fn tables(doc: &Document) -> Vec<&GridTable> {
    doc.blocks
        .iter()
        .filter_map(|b| match b {
            Block::Table(t) => Some(t),
            Block::Paragraph { .. } => None,
        })
        .collect()
}

fn paragraphs(doc: &Document) -> Vec<&str> {
    doc.blocks
        .iter()
        .filter_map(|b| match b {
            Block::Paragraph { text, .. } => Some(text.as_str()),
            Block::Table(_) => None,
        })
        .collect()
}

fn expected_split_table() -> Vec<Vec<String>> {
    let label = "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请";
    [
        vec![
            "项目",
            "^项目",
            "申请人情况",
            "^申请人情况",
            "^申请人情况",
            "^申请人情况",
        ],
        vec!["^项目", "^项目", "自然人", "法人", "其他", "总计"],
        vec!["一、本年新收", "^一、本年新收", "10", "2", "0", "12"],
        vec!["三、本年度办理结果", "（一）予以公开", "5", "1", "0", "6"],
        vec!["^三、本年度办理结果", label, "3", "0", "1", "4"],
        vec!["^三、本年度办理结果", "（七）总计", "8", "1", "1", "10"],
        vec!["四、结转下年度", "^四、结转下年度", "2", "1", "0", "3"],
    ]
    .iter()
    .map(|r| r.iter().map(|s| (*s).to_owned()).collect())
    .collect()
}

#[test]
fn a_table_split_across_pages_reads_back_as_one_grid() {
    let doc = read_pdf(&split_table_pdf()).unwrap();
    assert!(doc.has_text);
    let grids = tables(&doc);
    assert_eq!(
        grids.len(),
        1,
        "the two parts are one table: {:#?}",
        doc.blocks
    );
    assert_eq!(texts(grids[0]), expected_split_table());
    // Page numbers are gone; the wrapped prose is one paragraph, the heading another.
    let paras = paragraphs(&doc);
    let first: String = "一是政策解读质量仍需提升"
        .chars()
        .cycle()
        .take(46)
        .collect();
    assert_eq!(
        paras,
        vec![
            "测试报告",
            "五、存在的主要问题",
            &format!("{first}二是队伍建设还需加强。"),
        ]
    );
    assert!(matches!(doc.blocks[1], Block::Table(_)), "reading order");
    // Cells point at the page and the glyph that starts them.
    let cell = &grids[0].rows[6][2];
    assert_eq!(
        cell.position,
        Some(Position::Page {
            page: 2,
            x: 270,
            y: 70
        })
    );
    let cell = &grids[0].rows[2][5];
    assert_eq!(
        cell.position,
        Some(Position::Page {
            page: 1,
            x: 480,
            y: 170
        })
    );
}

#[test]
fn a_table_without_rulings_comes_out_as_tab_separated_lines_the_report_reader_reads() {
    let mut w = PdfWriter::new();
    let mut page = String::new();
    w.cjk(
        &mut page,
        150.0,
        60.0,
        16.0,
        "某某县人民政府2024年政府信息公开工作年度报告",
    );
    w.cjk(
        &mut page,
        80.0,
        100.0,
        12.0,
        "四、政府信息公开行政复议、行政诉讼情况",
    );
    w.cjk(&mut page, 60.0, 130.0, 10.0, "行政复议");
    w.cjk(&mut page, 300.0, 130.0, 10.0, "行政诉讼");
    let values = [
        "2", "1", "3", "1", "7", "0", "0", "0", "0", "0", "13", "2", "4", "0", "19",
    ];
    for (i, v) in values.iter().enumerate() {
        PdfWriter::latin(&mut page, 60.0 + 32.0 * i as f32, 160.0, 10.0, v);
    }
    w.add_page(page);
    let doc = read_pdf(&w.finish()).unwrap();
    assert!(tables(&doc).is_empty());
    assert!(paragraphs(&doc).contains(&"行政复议\t行政诉讼"));
    assert!(paragraphs(&doc).contains(&values.join("\t").as_str()));
    let report = gongkai_parse::read_document(&doc);
    let t4 = report.tables.get(gongkai_model::TableId::T4).unwrap();
    let read: Vec<String> = t4
        .values()
        .flat_map(|row| row.values().map(|c| c.text.clone()))
        .collect();
    assert_eq!(read, values);
}

#[test]
fn a_vertical_identity_v_label_is_one_cell() {
    let mut w = PdfWriter::new();
    let mut page = String::new();
    let cells = [
        (100.0, 220.0, 60.0, 100.0),
        (100.0, 160.0, 100.0, 300.0),
        (160.0, 220.0, 100.0, 300.0),
    ];
    borders(&mut page, &cells, None);
    w.cjk_vertical(&mut page, 80.0, 110.0, 10.0, "三、本年度办理结果");
    w.cjk(&mut page, 105.0, 125.0, 10.0, "（一）予以公开");
    w.cjk(&mut page, 105.0, 185.0, 10.0, "（二）部分公开");
    w.add_page(page);
    let doc = read_pdf(&w.finish()).unwrap();
    let grids = tables(&doc);
    assert_eq!(grids.len(), 1);
    assert_eq!(
        texts(grids[0]),
        vec![
            vec!["三、本年度办理结果".to_owned(), "（一）予以公开".to_owned()],
            vec![
                "^三、本年度办理结果".to_owned(),
                "（二）部分公开".to_owned()
            ],
        ]
    );
}

const LATIN_ROWS: [[&str; 3]; 3] = [
    ["Item", "Issued", "In force"],
    ["Rules", "1", "11"],
    ["Normative documents", "8", "66"],
];

/// A bordered 3 x 3 Latin table and a line with a wide gap, `shift` points lower than drawn
/// (so that a page whose displayed height is `842 - shift` shows it at the same place).
fn latin_content(shift: f32) -> String {
    let mut page = String::new();
    let (xs, ys) = ([60.0, 200.0, 300.0, 400.0], [100.0, 120.0, 140.0, 160.0]);
    let mut cells = Vec::new();
    for r in 0..3 {
        for c in 0..3 {
            cells.push((ys[r] + shift, ys[r + 1] + shift, xs[c], xs[c + 1]));
        }
    }
    borders(&mut page, &cells, None);
    for (r, row) in LATIN_ROWS.iter().enumerate() {
        for (c, text) in row.iter().enumerate() {
            PdfWriter::latin(&mut page, xs[c] + 4.0, ys[r] + 5.0 + shift, 9.0, text);
        }
    }
    PdfWriter::latin(&mut page, 60.0, 200.0 + shift, 10.0, "Fees");
    PdfWriter::latin(&mut page, 200.0, 200.0 + shift, 10.0, "96171.6");
    page
}

fn check_latin(doc: &Document) {
    let grids = tables(doc);
    assert_eq!(grids.len(), 1, "{:#?}", doc.blocks);
    let want: Vec<Vec<String>> = LATIN_ROWS
        .iter()
        .map(|r| r.iter().map(|s| (*s).to_owned()).collect())
        .collect();
    assert_eq!(texts(grids[0]), want);
    assert_eq!(paragraphs(doc), vec!["Fees\t96171.6"]);
    let Block::Paragraph { position, .. } = &doc.blocks[1] else {
        panic!("the gapped line follows the table")
    };
    assert_eq!(
        *position,
        Some(Position::Page {
            page: 1,
            x: 60,
            y: 200
        })
    );
}

#[test]
fn latin_labels_with_numbers_and_a_gapped_line() {
    let mut w = PdfWriter::new();
    w.add_page(latin_content(0.0));
    check_latin(&read_pdf(&w.finish()).unwrap());
}

#[test]
fn borders_drawn_as_thin_filled_rectangles_are_rulings() {
    // Word's PDF export fills thin rectangles instead of stroking lines.
    let stroked = latin_content(0.0);
    let mut filled = String::new();
    for line in stroked.lines() {
        let parts: Vec<f32> = line
            .split_whitespace()
            .filter_map(|t| t.parse().ok())
            .collect();
        if line.ends_with(" l S") && parts.len() == 4 {
            let (x0, y0, x1, y1) = (parts[0], parts[1], parts[2], parts[3]);
            let (w, h) = ((x1 - x0).abs().max(0.5), (y1 - y0).abs().max(0.5));
            let (x, y) = (x0.min(x1) - 0.25, y0.min(y1) - 0.25);
            writeln!(filled, "{x} {y} {w} {h} re f").unwrap();
        } else {
            writeln!(filled, "{line}").unwrap();
        }
    }
    assert!(!filled.contains(" l S"));
    let mut w = PdfWriter::new();
    w.add_page(filled);
    check_latin(&read_pdf(&w.finish()).unwrap());
}

#[test]
fn a_page_turned_by_rotate_reads_as_displayed() {
    // A portrait media box shown landscape (`/Rotate 90`): the content is drawn turned a
    // quarter counter-clockwise, so that it reads upright once the viewer turns the page.
    let mut w = PdfWriter::new();
    let content = format!("q 0 1 -1 0 595 0 cm\n{}Q\n", latin_content(842.0 - 595.0));
    w.add_page_with(content, dictionary! { "Rotate" => 90 });
    check_latin(&read_pdf(&w.finish()).unwrap());
}

#[test]
fn a_scanned_page_has_no_text_and_is_not_an_error() {
    let mut doc = lopdf::Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let image = doc.add_object(Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => 2, "Height" => 2,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
        },
        vec![0, 255, 255, 0],
    ));
    let content = doc.add_object(Stream::new(
        dictionary! {},
        b"q 595 0 0 842 0 0 cm /Im1 Do Q".to_vec(),
    ));
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        "Contents" => content,
        "Resources" => dictionary! { "XObject" => dictionary! { "Im1" => image } },
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(
            dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 },
        ),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let read = read_pdf(&save(doc)).unwrap();
    assert!(!read.has_text);
    assert!(read.blocks.is_empty());
}

fn encrypt(user_password: &str) -> Vec<u8> {
    let mut w = PdfWriter::new();
    let mut page = String::new();
    w.cjk(&mut page, 60.0, 100.0, 12.0, "一、总体情况");
    w.add_page(page);
    let mut doc = w.finish_document();
    doc.trailer.set(
        "ID",
        Object::Array(vec![
            Object::string_literal(b"0123456789abcdef".to_vec()),
            Object::string_literal(b"fedcba9876543210".to_vec()),
        ]),
    );
    let state = lopdf::EncryptionState::try_from(lopdf::EncryptionVersion::V2 {
        document: &doc,
        owner_password: "owner",
        user_password,
        key_length: 128,
        permissions: lopdf::Permissions::all(),
    })
    .unwrap();
    doc.encrypt(&state).unwrap();
    save(doc)
}

#[test]
fn an_encrypted_pdf_with_an_empty_user_password_is_read() {
    let doc = read_pdf(&encrypt("")).unwrap();
    assert_eq!(paragraphs(&doc), vec!["一、总体情况"]);
}

#[test]
fn an_encrypted_pdf_that_needs_a_password_is_a_clear_error() {
    let err = read_pdf(&encrypt("secret")).unwrap_err();
    assert!(matches!(err, PdfError::Encrypted), "{err:?}");
    assert!(err.to_string().contains("password"));
}

#[test]
fn a_truncated_pdf_is_a_clear_error() {
    let bytes = split_table_pdf();
    for keep in [bytes.len() / 3, bytes.len() / 2, bytes.len() - 10] {
        let err = read_pdf(&bytes[..keep]).unwrap_err();
        assert!(matches!(err, PdfError::Truncated), "{keep}: {err:?}");
    }
    assert!(matches!(read_pdf(b"").unwrap_err(), PdfError::NotPdf));
}

/// A reproducible byte generator (xorshift), so that a failure can be replayed.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn random_bytes_and_damaged_pdfs_are_errors_not_panics() {
    let start = Instant::now();
    assert!(matches!(
        read_pdf(&noise(1, 4096)).unwrap_err(),
        PdfError::NotPdf
    ));
    let good = split_table_pdf();
    for seed in 0..300u64 {
        // Noise inside a PDF envelope, and a real PDF with a stretch of noise written over it.
        let mut enveloped = b"%PDF-1.7\n".to_vec();
        enveloped.extend(noise(seed, 2048));
        enveloped.extend_from_slice(b"\n%%EOF\n");
        let _ = read_pdf(&enveloped);
        let mut damaged = good.clone();
        let at = usize::try_from(seed * 97).unwrap() % (good.len() - 300);
        damaged[at..at + 200].copy_from_slice(&noise(seed, 200));
        let _ = read_pdf(&damaged);
    }
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn a_decompression_bomb_in_a_content_stream_is_refused() {
    let mut doc = lopdf::Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let mut stream = Stream::new(dictionary! {}, vec![b' '; 4 * 1024 * 1024]);
    stream.compress().unwrap();
    assert!(stream.content.len() < 64 * 1024);
    let content = doc.add_object(stream);
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        "Contents" => content,
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(
            dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 },
        ),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let bytes = save(doc);
    let limits = Limits {
        max_stream_bytes: 1024 * 1024,
        ..Limits::default()
    };
    let start = Instant::now();
    let err = read_pdf_with_limits(&bytes, &limits).unwrap_err();
    assert!(matches!(err, PdfError::TooLarge { .. }), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(2));
    // Within the default limits the same file is just an empty page.
    assert!(!read_pdf(&bytes).unwrap().has_text);
}

#[test]
fn the_object_limit_is_checked_before_the_objects_are_built() {
    let limits = Limits {
        max_objects: 5,
        ..Limits::default()
    };
    let err = read_pdf_with_limits(&split_table_pdf(), &limits).unwrap_err();
    assert!(
        matches!(
            err,
            PdfError::TooLarge {
                what: "objects",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn the_page_limit_is_a_clear_error() {
    let limits = Limits {
        max_pages: 1,
        ..Limits::default()
    };
    let err = read_pdf_with_limits(&split_table_pdf(), &limits).unwrap_err();
    assert!(
        matches!(err, PdfError::TooLarge { what: "pages", .. }),
        "{err:?}"
    );
}
