//! The PDF reader of gongkai: [`read_pdf`] turns the bytes of a PDF report into the document
//! IR, with tables rebuilt as grids and prose as paragraphs, in reading order.
//!
//! The file structure (cross-reference tables, object streams, filters, encryption with an
//! empty user password) is parsed by the pure-Rust `lopdf`; everything from the content
//! streams on is ours: a small interpreter collects glyphs with their boxes and the ruling
//! strokes ([`content`]), fonts map codes to Unicode through `/ToUnicode` CMaps ([`font`]),
//! and the layout step rebuilds tables from the rulings and paragraphs from the lines
//! ([`layout`]). Every input is bounded (pages, objects, decompressed bytes, operators,
//! glyphs), and a panic inside the parser is turned into an error, so that no input bytes can
//! crash or stall the caller.

#![forbid(unsafe_code)]

mod content;
mod font;
mod layout;

use gongkai_model::{Document, SourceFormat};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The limits that keep hostile or broken input cheap: every one of them is a clear
/// [`PdfError::TooLarge`] when exceeded, never a crash or an unbounded allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most pages read from one document.
    pub max_pages: usize,
    /// Most indirect objects one document may hold.
    pub max_objects: usize,
    /// Largest size one stream may decompress to (lopdf enforces it while loading, we while
    /// reading page content and form XObjects).
    pub max_stream_bytes: usize,
    /// Most decompressed content bytes interpreted over the whole document.
    pub max_total_content_bytes: u64,
    /// Most content-stream operators run over the whole document.
    pub max_operations: u64,
    /// Most glyphs kept over the whole document.
    pub max_glyphs: u64,
}

impl Default for Limits {
    /// Generous for any real report (tens of pages, a few MB), small enough for a server.
    fn default() -> Self {
        Limits {
            max_pages: 2_000,
            max_objects: 2_000_000,
            max_stream_bytes: 32 * 1024 * 1024,
            max_total_content_bytes: 256 * 1024 * 1024,
            max_operations: 20_000_000,
            max_glyphs: 5_000_000,
        }
    }
}

/// Fixed bounds of the interpreter that need no tuning.
pub(crate) mod limits {
    /// Deepest nesting of form XObjects followed.
    pub const MAX_FORM_DEPTH: usize = 8;
    /// Deepest `q` nesting kept (deeper saves are ignored, as a viewer would).
    pub const MAX_STATE_DEPTH: usize = 256;
    /// Most points of one path under construction.
    pub const MAX_PATH_POINTS: usize = 100_000;
    /// Most ruling strokes kept per page.
    pub const MAX_RULES_PER_PAGE: usize = 5_000;
    /// A filled rectangle at most this thick (points) is a drawn line.
    pub const THIN_FILL: f32 = 2.5;
}

/// Why a PDF could not be read. Every variant says what is wrong in words a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("not a PDF: the data does not start with a %PDF- header")]
    NotPdf,
    #[error("the PDF is truncated: it does not end with the %%EOF marker")]
    Truncated,
    #[error("the PDF is encrypted and needs a password to open")]
    Encrypted,
    #[error("the PDF is damaged: {0}")]
    Damaged(String),
    #[error("the PDF has no pages")]
    NoPages,
    #[error("the PDF is too large to read: {what} exceeds the limit of {limit}")]
    TooLarge { what: &'static str, limit: u64 },
}

/// Reads a PDF into the document IR.
///
/// A PDF whose pages carry no text (a scanned report) is not an error: it comes back with
/// `has_text: false` and no blocks, so that the rules can say the report is an image.
pub fn read_pdf(bytes: &[u8]) -> Result<Document, PdfError> {
    read_pdf_with_limits(bytes, &Limits::default())
}

/// [`read_pdf`] with other limits than the defaults.
pub fn read_pdf_with_limits(bytes: &[u8], limits: &Limits) -> Result<Document, PdfError> {
    check_envelope(bytes)?;
    match catch_unwind(AssertUnwindSafe(|| read_checked(bytes, limits))) {
        Ok(result) => result,
        Err(_) => Err(PdfError::Damaged(
            "the file structure could not be parsed".to_owned(),
        )),
    }
}

/// The cheap checks that need no parsing: the header and the end-of-file marker.
fn check_envelope(bytes: &[u8]) -> Result<(), PdfError> {
    let head = &bytes[..bytes.len().min(1024)];
    if !head.windows(5).any(|w| w == b"%PDF-") {
        return Err(PdfError::NotPdf);
    }
    let tail = &bytes[bytes.len().saturating_sub(2048)..];
    if !tail.windows(5).any(|w| w == b"%%EOF") {
        return Err(PdfError::Truncated);
    }
    Ok(())
}

fn read_checked(bytes: &[u8], limits: &Limits) -> Result<Document, PdfError> {
    // lopdf builds every object before we can count them: count the object headers first, so
    // that a file of millions of tiny objects is refused before it is expanded in memory.
    let headers = bytes.windows(4).filter(|w| w == b" obj").count();
    if headers > limits.max_objects {
        return Err(PdfError::TooLarge {
            what: "objects",
            limit: limits.max_objects as u64,
        });
    }
    let options = lopdf::LoadOptions {
        max_decompressed_size: Some(limits.max_stream_bytes),
        ..lopdf::LoadOptions::default()
    };
    let doc = lopdf::Document::load_mem_with_options(bytes, options).map_err(|e| match e {
        lopdf::Error::InvalidPassword => PdfError::Encrypted,
        lopdf::Error::Decompress(_) => PdfError::TooLarge {
            what: "a decompressed stream",
            limit: limits.max_stream_bytes as u64,
        },
        other => PdfError::Damaged(other.to_string()),
    })?;
    if doc.is_encrypted() && doc.encryption_state.is_none() {
        return Err(PdfError::Encrypted);
    }
    if doc.objects.len() > limits.max_objects {
        return Err(PdfError::TooLarge {
            what: "objects",
            limit: limits.max_objects as u64,
        });
    }
    let pages: Vec<lopdf::ObjectId> = doc.page_iter().take(limits.max_pages + 1).collect();
    if pages.is_empty() {
        return Err(PdfError::NoPages);
    }
    if pages.len() > limits.max_pages {
        return Err(PdfError::TooLarge {
            what: "pages",
            limit: limits.max_pages as u64,
        });
    }
    let mut budget = content::Budget::new(limits.clone());
    let mut items = Vec::with_capacity(pages.len());
    let mut has_text = false;
    for (index, page) in pages.iter().enumerate() {
        let page_content = content::interpret_page(&doc, *page, &mut budget)?;
        has_text |= !page_content.glyphs.is_empty();
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        items.push(layout::page_items(number, &page_content));
    }
    let blocks = if has_text {
        layout::assemble(items)
    } else {
        Vec::new()
    };
    Ok(Document {
        format: SourceFormat::Pdf,
        encoding: None,
        blocks,
        has_text,
    })
}
