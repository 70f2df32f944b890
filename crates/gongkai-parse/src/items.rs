//! The document IR turned into what the report reader works on: normalised text items and
//! table rows, each row in a group (one grid, or one run of adjacent separated lines).
//!
//! Page numbers and web chrome are removed here, so that a table split over two pages by a
//! `- 5 -` footer stays one group.

use crate::normalize::{is_page_number, label_key, normalized, without_chrome};
use crate::number::Printed;
use gongkai_model::{Block, Document, Position};
use std::borrow::Cow;

/// A run of prose: one paragraph or line, normalised (borrowed from the document when
/// normalisation left it as it was, as it does most lines).
#[derive(Debug, Clone)]
pub struct TextItem<'a> {
    pub text: Cow<'a, str>,
    pub position: Option<Position>,
    /// 1-based ordinal of the block in the document (for sources without line numbers).
    pub ordinal: usize,
}

/// One cell of a table row.
#[derive(Debug, Clone)]
pub struct RowCell<'a> {
    /// As printed (decoded, not normalised), borrowed from the document.
    pub raw: &'a str,
    /// [`label_key`] of the normalised text of a label cell ([`Printed::Text`]); empty for
    /// the others, whose keys (digits, placeholders) no label is ever compared with.
    pub key: String,
    pub position: Option<Position>,
    /// Covered by a span that starts in another slot.
    pub spanned: bool,
    /// What the printed text holds (number, blank, placeholder, words), decided once.
    pub printed: Printed,
}

impl<'a> RowCell<'a> {
    fn new(raw: &'a str, position: Option<Position>, spanned: bool) -> RowCell<'a> {
        let normalized = normalized(raw);
        let printed = crate::number::classify_normalized(&normalized);
        let key = if printed == Printed::Text {
            label_key(&normalized)
        } else {
            String::new()
        };
        RowCell {
            key,
            printed,
            raw,
            position,
            spanned,
        }
    }

    /// The model cell for this printed cell.
    pub fn to_cell(&self) -> gongkai_model::Cell {
        crate::number::cell_from(&self.printed, self.raw, self.position.clone())
    }
}

#[derive(Debug, Clone)]
pub struct Row<'a> {
    pub cells: Vec<RowCell<'a>>,
    pub group: usize,
    /// [`label_key`] of a short text line just before the row: the first part of a label
    /// wrapped over lines (PDF text), or the row's whole label when the row is bare numbers.
    pub lead_key: String,
}

/// Lines longer than this are prose, not the first part of a wrapped label.
pub(crate) const MAX_LEAD_CHARS: usize = 60;

#[derive(Debug, Clone)]
pub enum Item<'a> {
    Text(TextItem<'a>),
    Row(Row<'a>),
}

/// Items in reading order and the number of row groups, borrowing from the document.
pub struct Items<'a> {
    pub items: Vec<Item<'a>>,
    pub groups: usize,
}

pub fn build(doc: &Document) -> Items<'_> {
    let mut items = Vec::with_capacity(doc.blocks.len());
    let mut groups = 0usize;
    let mut previous_was_row = false;
    let mut last_line: Option<u32> = None;
    for (index, block) in doc.blocks.iter().enumerate() {
        match block {
            Block::Paragraph { text, position } => {
                let line = match position {
                    Some(Position::Line { line, .. }) => Some(*line),
                    _ => None,
                };
                let gap =
                    matches!((last_line, line), (Some(a), Some(b)) if b > a.saturating_add(1));
                if line.is_some() {
                    last_line = line;
                }
                if text.contains('\t') {
                    let cells = split_cells(text, position.as_ref());
                    if cells
                        .iter()
                        .all(|c| c.key.is_empty() && c.raw.trim().is_empty())
                    {
                        continue;
                    }
                    if !previous_was_row || gap {
                        groups += 1;
                    }
                    let lead_key = match items.last() {
                        Some(Item::Text(t)) if !gap && t.text.chars().count() <= MAX_LEAD_CHARS => {
                            label_key(&t.text)
                        }
                        _ => String::new(),
                    };
                    items.push(Item::Row(Row {
                        cells,
                        group: groups - 1,
                        lead_key,
                    }));
                    previous_was_row = true;
                } else {
                    let normalized = normalized(text);
                    if is_page_number(&normalized) {
                        continue;
                    }
                    let text = match normalized {
                        Cow::Borrowed(line) => without_chrome(line),
                        Cow::Owned(line) => Cow::Owned(without_chrome(&line).into_owned()),
                    };
                    if text.trim().is_empty() {
                        continue;
                    }
                    items.push(Item::Text(TextItem {
                        text,
                        position: position.clone(),
                        ordinal: index + 1,
                    }));
                    previous_was_row = false;
                }
            }
            Block::Table(grid) => {
                groups += 1;
                for grid_row in &grid.rows {
                    let cells = grid_row
                        .iter()
                        .map(|c| RowCell::new(&c.text, c.position.clone(), c.spanned))
                        .collect();
                    items.push(Item::Row(Row {
                        cells,
                        group: groups - 1,
                        lead_key: String::new(),
                    }));
                }
                previous_was_row = false;
            }
        }
    }
    Items { items, groups }
}

fn split_cells<'a>(text: &'a str, position: Option<&Position>) -> Vec<RowCell<'a>> {
    let mut cells = Vec::with_capacity(text.bytes().filter(|b| *b == b'\t').count() + 1);
    let mut column = 0u32;
    for raw in text.split('\t') {
        let position = match position {
            Some(Position::Line { line, column: base }) => Some(Position::Line {
                line: *line,
                column: base.saturating_add(column),
            }),
            other => other.cloned(),
        };
        let chars = u32::try_from(raw.chars().count()).unwrap_or(u32::MAX);
        column = column.saturating_add(chars).saturating_add(1);
        let trimmed = raw.trim();
        if trimmed.contains(['-', '—', '－']) && is_page_number(trimmed) {
            // A page footer that a PDF reader put on a table row.
            continue;
        }
        cells.push(RowCell::new(trimmed, position, false));
    }
    cells
}
