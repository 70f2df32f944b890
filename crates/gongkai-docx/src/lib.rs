//! The DOCX reader of gongkai: [`read_docx`] opens the ZIP container behind guards against
//! decompression bombs, streams `word/document.xml` with quick-xml, and produces the document
//! IR: body paragraphs as [`Block::Paragraph`] and every Word table as a real grid
//! ([`Block::Table`]) with `w:gridSpan` and `w:vMerge` expanded (covered slots marked
//! `spanned` and repeating the merged cell's text), blank cells as `""`.
//!
//! The ZIP guards: a cap on the number of entries, on the total size the entries declare, on
//! the compression ratio of any large entry, and a size-capped reader for the XML itself, so
//! that an archive that lies about its sizes is stopped as soon as it inflates past what it
//! declared.

#![forbid(unsafe_code)]

use gongkai_model::{Block, Document, GridCell, GridTable, Position, SourceFormat};
use quick_xml::events::{BytesStart, Event};
use std::io::{BufReader, Cursor, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The limits that keep a hostile archive cheap.
pub mod limits {
    /// Most entries the archive may have.
    pub const MAX_ENTRIES: usize = 10_000;
    /// Largest total uncompressed size the entries may declare.
    pub const MAX_TOTAL_UNCOMPRESSED: u64 = 512 * 1024 * 1024;
    /// Largest `word/document.xml` read.
    pub const MAX_DOCUMENT_XML: u64 = 64 * 1024 * 1024;
    /// Largest compression ratio accepted for an entry bigger than [`RATIO_FLOOR`].
    pub const MAX_RATIO: u64 = 200;
    /// Entries smaller than this (uncompressed) are not ratio-checked: tiny XML compresses well.
    pub const RATIO_FLOOR: u64 = 1024 * 1024;
    /// Most grid slots one table may expand to.
    pub const MAX_TABLE_SLOTS: usize = 1_000_000;
    /// Widest `w:gridSpan` honoured.
    pub const MAX_SPAN: usize = 1_000;
}

/// Why a DOCX could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DocxError {
    #[error("not a DOCX: the data is not a readable ZIP archive ({0})")]
    NotZip(String),
    #[error("not a DOCX: the archive has no word/document.xml")]
    NoDocument,
    #[error("ZIP bomb refused: {0}")]
    ZipBomb(String),
    #[error("the DOCX is encrypted")]
    Encrypted,
    #[error("the DOCX is damaged: {0}")]
    Damaged(String),
    #[error("the DOCX is too large: {0}")]
    TooLarge(String),
}

/// Reads a DOCX into the document IR. A document without any text (only pictures) comes back
/// with `has_text: false`, as a scanned PDF does.
pub fn read_docx(bytes: &[u8]) -> Result<Document, DocxError> {
    // The ZIP and XML parsers are not ours: should one of them panic on hostile bytes, the
    // caller gets an error for this document, not a crashed process.
    catch_unwind(AssertUnwindSafe(|| read_checked(bytes))).unwrap_or_else(|_| {
        Err(DocxError::Damaged(
            "the archive or its XML could not be parsed".to_owned(),
        ))
    })
}

fn read_checked(bytes: &[u8]) -> Result<Document, DocxError> {
    let xml = document_xml(bytes)?;
    let blocks = parse_document_xml(&xml)?;
    // A document of pictures only (a scanned report pasted into Word) has no text to read.
    let has_text = blocks.iter().any(|b| match b {
        Block::Paragraph { text, .. } => !text.is_empty(),
        Block::Table(t) => t.rows.iter().flatten().any(|c| !c.text.is_empty()),
    });
    Ok(Document {
        format: SourceFormat::Docx,
        encoding: Some("utf-8".to_owned()),
        blocks,
        has_text,
    })
}

/// Opens the archive, checks the guards, and returns the main document part.
fn document_xml(bytes: &[u8]) -> Result<Vec<u8>, DocxError> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| DocxError::NotZip(e.to_string()))?;
    if archive.len() > limits::MAX_ENTRIES {
        return Err(DocxError::ZipBomb(format!(
            "{} entries (at most {} accepted)",
            archive.len(),
            limits::MAX_ENTRIES
        )));
    }
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| DocxError::Damaged(e.to_string()))?;
        let (size, packed) = (entry.size(), entry.compressed_size());
        total = total.saturating_add(size);
        if size > limits::RATIO_FLOOR && size / packed.max(1) > limits::MAX_RATIO {
            return Err(DocxError::ZipBomb(format!(
                "an entry inflates {size} bytes from {packed} (ratio over {})",
                limits::MAX_RATIO
            )));
        }
    }
    if total > limits::MAX_TOTAL_UNCOMPRESSED {
        return Err(DocxError::ZipBomb(format!(
            "the entries declare {total} bytes uncompressed (at most {} accepted)",
            limits::MAX_TOTAL_UNCOMPRESSED
        )));
    }
    let name = main_part_name(&mut archive).unwrap_or_else(|| "word/document.xml".to_owned());
    let mut entry = match archive.by_name(&name) {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => return Err(DocxError::NoDocument),
        Err(zip::result::ZipError::UnsupportedArchive(msg)) if msg.contains("ncrypt") => {
            return Err(DocxError::Encrypted);
        }
        Err(e) => return Err(DocxError::Damaged(e.to_string())),
    };
    if entry.encrypted() {
        return Err(DocxError::Encrypted);
    }
    let declared = entry.size();
    if declared > limits::MAX_DOCUMENT_XML {
        return Err(DocxError::TooLarge(format!(
            "{name} declares {declared} bytes (at most {} accepted)",
            limits::MAX_DOCUMENT_XML
        )));
    }
    // Never trust the declared size: read at most one byte past it.
    let mut xml = Vec::with_capacity(usize::try_from(declared.min(16 * 1024 * 1024)).unwrap_or(0));
    (&mut entry)
        .take(declared + 1)
        .read_to_end(&mut xml)
        .map_err(|e| {
            // The zip crate stops an entry that inflates past its declared size itself.
            if e.to_string().contains("declared") {
                DocxError::ZipBomb(format!(
                    "{name} inflates past the {declared} bytes it declares"
                ))
            } else {
                DocxError::Damaged(format!("{name}: {e}"))
            }
        })?;
    if xml.len() as u64 > declared {
        return Err(DocxError::ZipBomb(format!(
            "{name} inflates past the {declared} bytes it declares"
        )));
    }
    Ok(xml)
}

/// The main document part named by `_rels/.rels`, when it is not the usual one.
fn main_part_name<R: Read + std::io::Seek>(archive: &mut zip::ZipArchive<R>) -> Option<String> {
    let mut rels = archive.by_name("_rels/.rels").ok()?;
    let mut text = String::new();
    (&mut rels)
        .take(1024 * 1024)
        .read_to_string(&mut text)
        .ok()?;
    let mut reader = quick_xml::Reader::from_str(&text);
    loop {
        match reader.read_event().ok()? {
            Event::Empty(e) | Event::Start(e) if e.local_name().as_ref() == "Relationship" => {
                let ty = attribute(&e, "Type")?;
                if ty.ends_with("/officeDocument") {
                    return attribute(&e, "Target").map(|t| t.trim_start_matches('/').to_owned());
                }
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

fn attribute(e: &BytesStart<'_>, local: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        (a.key.local_name().as_ref() == local)
            .then(|| {
                a.normalized_value(quick_xml::XmlVersion::default())
                    .ok()
                    .map(|v| v.into_owned())
            })
            .flatten()
    })
}

/// Joins the paragraphs of a cell: nothing between Chinese characters, a space between two
/// Latin words or numbers.
fn join_text(out: &mut String, next: &str) {
    let next = next.trim_matches(is_blank);
    if next.is_empty() {
        return;
    }
    if let (Some(a), Some(b)) = (out.chars().last(), next.chars().next())
        && a.is_ascii_alphanumeric()
        && b.is_ascii_alphanumeric()
    {
        out.push(' ');
    }
    out.push_str(next);
}

/// Whitespace as Word documents use it for "empty": ASCII, no-break and ideographic spaces.
fn is_blank(c: char) -> bool {
    c.is_whitespace() || c == '\u{00A0}' || c == '\u{3000}'
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum VMerge {
    None,
    Restart,
    Continue,
}

#[derive(Debug)]
struct RawCell {
    text: String,
    span: usize,
    vmerge: VMerge,
}

#[derive(Debug, Default)]
struct RawRow {
    grid_before: usize,
    cells: Vec<RawCell>,
}

#[derive(Debug, Default)]
struct RawTable {
    grid_columns: usize,
    rows: Vec<RawRow>,
}

fn val_usize(e: &BytesStart<'_>) -> Option<usize> {
    attribute(e, "val").and_then(|v| v.trim().parse().ok())
}

/// Resolves an entity reference the XML reader hands over separately.
fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix('x').or_else(|| num.strip_prefix('X')) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

fn parse_document_xml(xml: &[u8]) -> Result<Vec<Block>, DocxError> {
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(xml));
    let mut buf = Vec::new();
    let mut blocks = Vec::new();
    let mut table_index: u32 = 0;
    // Open tables; only the outermost one's rows and cells make the grid, the text of nested
    // tables goes into the outer cell.
    let mut tables: Vec<RawTable> = Vec::new();
    let mut cell: Option<(RawCell, Vec<String>)> = None;
    let mut paragraphs: Vec<String> = Vec::new();
    let mut in_text = false;
    // Depth inside an `mc:Fallback` (a duplicate of the content just read) or deleted text.
    let mut skip_depth = 0usize;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| DocxError::Damaged(format!("word/document.xml: {e}")))?;
        match event {
            Event::Eof => break,
            Event::Start(e) => {
                let name = e.local_name();
                let name = name.as_ref();
                if skip_depth > 0 {
                    skip_depth += 1;
                } else if name == "Fallback" {
                    skip_depth = 1;
                } else {
                    start_element(
                        name,
                        &e,
                        &mut tables,
                        &mut cell,
                        &mut paragraphs,
                        &mut in_text,
                    );
                }
            }
            Event::Empty(e) if skip_depth == 0 => {
                empty_element(
                    e.local_name().as_ref(),
                    &e,
                    &mut tables,
                    &mut cell,
                    &mut paragraphs,
                );
            }
            Event::End(e) => {
                if skip_depth > 0 {
                    skip_depth -= 1;
                    continue;
                }
                match e.local_name().as_ref() {
                    "t" => in_text = false,
                    "p" => {
                        let text = paragraphs.pop().unwrap_or_default();
                        if let Some(outer) = paragraphs.last_mut() {
                            // A paragraph inside a paragraph (a text box): keep its text.
                            join_text(outer, &text);
                        } else if let Some((_, cell_paragraphs)) = cell.as_mut() {
                            cell_paragraphs.push(text);
                        } else if tables.is_empty() {
                            for line in text.split('\n') {
                                let line = line.trim_matches(is_blank);
                                if !line.is_empty() {
                                    blocks.push(Block::Paragraph {
                                        text: line.to_owned(),
                                        position: None,
                                    });
                                }
                            }
                        }
                    }
                    "tc" if tables.len() == 1 => {
                        if let Some((mut raw, texts)) = cell.take() {
                            // Line breaks and tabs inside a cell only wrap its label.
                            for piece in texts.iter().flat_map(|t| t.split(['\n', '\t'])) {
                                join_text(&mut raw.text, piece);
                            }
                            if let Some(row) = tables.last_mut().and_then(|t| t.rows.last_mut()) {
                                row.cells.push(raw);
                            }
                        }
                    }
                    "tbl" => {
                        if let Some(table) = tables.pop() {
                            if tables.is_empty() {
                                blocks.push(Block::Table(expand(&table, table_index)?));
                                table_index += 1;
                            } else if let Some((_, texts)) = cell.as_mut() {
                                // Nested table: its cells' text joins the outer cell.
                                for row in &table.rows {
                                    for c in &row.cells {
                                        texts.push(c.text.clone());
                                    }
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
            Event::Text(t) if in_text && skip_depth == 0 => {
                if let Some(p) = paragraphs.last_mut() {
                    p.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) if in_text && skip_depth == 0 => {
                if let Some(p) = paragraphs.last_mut() {
                    p.push_str(&t);
                }
            }
            Event::GeneralRef(r) if in_text && skip_depth == 0 => {
                if let (Some(p), Some(c)) = (paragraphs.last_mut(), entity(&r.xml10_content())) {
                    p.push(c);
                }
            }
            _ => {}
        }
        buf.clear();
    }
    Ok(blocks)
}

fn start_element(
    name: &str,
    e: &BytesStart<'_>,
    tables: &mut Vec<RawTable>,
    cell: &mut Option<(RawCell, Vec<String>)>,
    paragraphs: &mut Vec<String>,
    in_text: &mut bool,
) {
    match name {
        "tbl" => tables.push(RawTable::default()),
        "tr" if tables.len() == 1 => {
            if let Some(t) = tables.last_mut() {
                t.rows.push(RawRow::default());
            }
        }
        "tc" if tables.len() == 1 => {
            *cell = Some((
                RawCell {
                    text: String::new(),
                    span: 1,
                    vmerge: VMerge::None,
                },
                Vec::new(),
            ));
        }
        "p" => paragraphs.push(String::new()),
        "t" => *in_text = true,
        _ => empty_element(name, e, tables, cell, paragraphs),
    }
}

fn empty_element(
    name: &str,
    e: &BytesStart<'_>,
    tables: &mut [RawTable],
    cell: &mut Option<(RawCell, Vec<String>)>,
    paragraphs: &mut [String],
) {
    let outer = tables.len() == 1;
    match name {
        "gridCol" if outer => {
            if let Some(t) = tables.last_mut() {
                t.grid_columns += 1;
            }
        }
        "gridBefore" if outer => {
            if let Some(row) = tables.last_mut().and_then(|t| t.rows.last_mut()) {
                row.grid_before = val_usize(e).unwrap_or(0).min(limits::MAX_SPAN);
            }
        }
        "gridSpan" if outer => {
            if let Some((raw, _)) = cell.as_mut() {
                raw.span = val_usize(e).unwrap_or(1).clamp(1, limits::MAX_SPAN);
            }
        }
        "vMerge" if outer => {
            if let Some((raw, _)) = cell.as_mut() {
                raw.vmerge = match attribute(e, "val").as_deref() {
                    Some("restart") => VMerge::Restart,
                    _ => VMerge::Continue,
                };
            }
        }
        "tab" => {
            if let Some(p) = paragraphs.last_mut() {
                p.push('\t');
            }
        }
        "br" | "cr" => {
            if let Some(p) = paragraphs.last_mut() {
                p.push('\n');
            }
        }
        _ => {}
    }
}

/// Expands a Word table into a rectangular grid.
fn expand(table: &RawTable, index: u32) -> Result<GridTable, DocxError> {
    let width = table
        .rows
        .iter()
        .map(|r| r.grid_before + r.cells.iter().map(|c| c.span).sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(table.grid_columns);
    if width.saturating_mul(table.rows.len()) > limits::MAX_TABLE_SLOTS {
        return Err(DocxError::TooLarge(format!(
            "table {} has {} x {} cells",
            index + 1,
            table.rows.len(),
            width
        )));
    }
    let blank = |row: usize, column: usize| GridCell {
        text: String::new(),
        position: Some(grid_position(index, row, column)),
        spanned: false,
    };
    let mut rows: Vec<Vec<GridCell>> = Vec::with_capacity(table.rows.len());
    for (r, raw) in table.rows.iter().enumerate() {
        let mut row: Vec<GridCell> = (0..width).map(|c| blank(r, c)).collect();
        let mut column = raw.grid_before;
        for c in &raw.cells {
            for k in 0..c.span {
                let Some(slot) = row.get_mut(column + k) else {
                    break;
                };
                let above = rows.last().and_then(|prev| prev.get(column + k));
                *slot = match (c.vmerge, above) {
                    (VMerge::Continue, Some(above)) => GridCell {
                        text: above.text.clone(),
                        position: Some(grid_position(index, r, column + k)),
                        spanned: true,
                    },
                    _ => GridCell {
                        text: c.text.clone(),
                        position: Some(grid_position(index, r, column + k)),
                        spanned: k > 0,
                    },
                };
            }
            column += c.span;
        }
        rows.push(row);
    }
    Ok(GridTable { rows })
}

fn grid_position(table: u32, row: usize, column: usize) -> Position {
    Position::Grid {
        table,
        row: u32::try_from(row).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
    }
}
