//! The document IR: what every format reader (text, Markdown, HTML, PDF, DOCX) produces and
//! the report reader consumes.
//!
//! A format reader knows about bytes, encodings, grids and glyph positions; it knows nothing of
//! sections, rows or rules. It turns its input into a flat sequence of [`Block`]s in reading
//! order: paragraphs (one line of text each for line-oriented sources) and tables (a grid with
//! spans already expanded). The report reader finds the sections and the tables in that
//! sequence, whatever the format.

use crate::cell::Position;
use serde::{Deserialize, Serialize};

/// The kind of source, found by content sniffing (never by file name alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    Text,
    Markdown,
    Html,
    Pdf,
    Docx,
}

impl SourceFormat {
    /// The IANA media type written in the JSON's `source.media_type`.
    pub const fn media_type(self) -> &'static str {
        match self {
            SourceFormat::Text => "text/plain",
            SourceFormat::Markdown => "text/markdown",
            SourceFormat::Html => "text/html",
            SourceFormat::Pdf => "application/pdf",
            SourceFormat::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
        }
    }
}

/// One cell of a table grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridCell {
    /// The cell's text, with its inner spans and runs joined; `&nbsp;` and blanks as "".
    pub text: String,
    pub position: Option<Position>,
    /// This grid slot is covered by a spanning cell that starts elsewhere (rowspan/colspan,
    /// gridSpan/vMerge); `text` repeats the spanning cell's text.
    #[serde(default)]
    pub spanned: bool,
}

/// A table as a rectangular grid (every row the same length after span expansion).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridTable {
    pub rows: Vec<Vec<GridCell>>,
}

/// One block of a document, in reading order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Block {
    /// A paragraph, or one line of a line-oriented source. Cells of a table that a source laid
    /// out as text (tab-separated Markdown, a PDF line with wide gaps) are separated by `\t`.
    Paragraph {
        text: String,
        position: Option<Position>,
    },
    /// A real table.
    Table(GridTable),
}

/// A whole document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub format: SourceFormat,
    /// The encoding the bytes were decoded from (`utf-8`, `gb18030`), for text formats.
    pub encoding: Option<String>,
    pub blocks: Vec<Block>,
    /// False for a paged document whose pages carry no text (a scanned report).
    pub has_text: bool,
}
