//! The parsed report: metadata, the six sections, the three tables by their stable keys.
//!
//! A [`Report`] records what the source contains and nothing more: values as printed, cells
//! the source lacks as `missing`, and the facts the rules need (a heading lost while its
//! content survived, runs of digits that decode in several ways, a document without text).
//! Findings are the rules' business, not the reader's.

use crate::cell::{Cell, CellState, Position};
use crate::schema::{self, TableId, Template};
use indexmap::IndexMap;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// The canonical headings of the six sections, numbered 1 to 6.
pub const SECTION_HEADINGS: [&str; 6] = [
    "一、总体情况",
    "二、主动公开政府信息情况",
    "三、收到和处理政府信息公开申请情况",
    "四、政府信息公开行政复议、行政诉讼情况",
    "五、存在的主要问题及改进情况",
    "六、其他需要报告的事项",
];

/// One of the six sections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// 1 to 6.
    pub number: u8,
    /// The heading as printed, or the canonical heading when it was not found.
    pub heading: String,
    /// The heading was found in the source.
    pub found: bool,
    /// The heading was not found but the section's content was (a table under no heading).
    #[serde(default)]
    pub content_without_heading: bool,
    /// The prose of the section (tables excluded), normalised.
    #[serde(default)]
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
}

/// The hasher of the tables' maps. Their keys are the schema's short identifiers, looked up
/// hundreds of times per report by the reader and the rules: SipHash cost about 1000
/// instructions a lookup, foldhash a few dozen. The maps keep insertion order, so the hasher
/// changes nothing in the JSON.
pub type TableHasher = foldhash::fast::RandomState;

/// One row of a table: its cells by column key, in the template's printed order.
pub type TableRow = IndexMap<String, Cell, TableHasher>;

/// A table: rows by key, each row's cells by column key, in the template's printed order.
pub type Table = IndexMap<String, TableRow, TableHasher>;

/// The three tables; `None` where the source has no such table at all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tables {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t2: Option<Table>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t3: Option<Table>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t4: Option<Table>,
}

impl Tables {
    pub fn get(&self, id: TableId) -> Option<&Table> {
        match id {
            TableId::T2 => self.t2.as_ref(),
            TableId::T3 => self.t3.as_ref(),
            TableId::T4 => self.t4.as_ref(),
        }
    }

    pub fn get_mut(&mut self, id: TableId) -> &mut Option<Table> {
        match id {
            TableId::T2 => &mut self.t2,
            TableId::T3 => &mut self.t3,
            TableId::T4 => &mut self.t4,
        }
    }

    pub fn cell(&self, id: TableId, row: &str, column: &str) -> Option<&Cell> {
        self.get(id)?.get(row)?.get(column)
    }

    /// Makes every `number` cell whose value is beyond its column's range (§9) `invalid`
    /// ([`schema::column_kind`] says which range), so that no rule ever sums it.
    pub fn invalidate_out_of_range(&mut self, template: Template) {
        for id in TableId::ALL {
            let Some(table) = self.get_mut(id) else {
                continue;
            };
            for (row, cells) in table.iter_mut() {
                for (column, cell) in cells.iter_mut() {
                    // A value within a count's range is within every kind's: the schema is
                    // consulted only for the rare longer one.
                    let suspect = cell.state == CellState::Number
                        && cell
                            .value
                            .is_some_and(|v| !crate::schema::ValueKind::Count.holds(v));
                    if suspect {
                        cell.invalidate_out_of_range(schema::column_kind(
                            template, id, row, column,
                        ));
                    }
                }
            }
        }
    }
}

/// An empty table of `template`'s shape: every row and column present, every cell `missing`.
pub fn empty_table(template: Template, id: TableId) -> Table {
    EMPTY_TABLES
        .iter()
        .find(|(t, i, _)| *t == template && *i == id)
        .map_or_else(
            || build_empty_table(template, id),
            |(_, _, table)| table.clone(),
        )
}

/// The empty table of every shape, built once: each report clones them (the keys are copied,
/// the hash indices copied as they are) instead of hashing and inserting every key again.
static EMPTY_TABLES: LazyLock<Vec<(Template, TableId, Table)>> = LazyLock::new(|| {
    [Template::F2019, Template::F2021, Template::Mixed]
        .into_iter()
        .flat_map(|t| {
            TableId::ALL
                .into_iter()
                .map(move |id| (t, id, build_empty_table(t, id)))
        })
        .collect()
});

fn build_empty_table(template: Template, id: TableId) -> Table {
    schema::rows(template, id)
        .iter()
        .map(|r| {
            let cells = r
                .columns
                .iter()
                .map(|c| (c.key.to_owned(), Cell::missing()))
                .collect();
            (r.key.to_owned(), cells)
        })
        .collect()
}

/// What made a set of cells undecidable, which says how to tell the reader about it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmbiguityKind {
    /// A run of concatenated digits (`898989`) that cuts into values in more than one way.
    #[default]
    Digits,
    /// Value rows torn from their labels that fit more than one row of the template; `text`
    /// lists the candidate lines (`0 0 0 0 0 0 0 | 1 0 0 0 0 0 1`).
    Placement,
    /// Several lines name the same row with different values; `text` lists them.
    Duplicate,
}

impl AmbiguityKind {
    /// The kind every document stored before kinds existed has (the field is then absent).
    pub fn is_digits(&self) -> bool {
        *self == AmbiguityKind::Digits
    }
}

/// A set of cells whose values the source leaves undecided: a run of concatenated digits that
/// fits the rules in more than one way, or value rows that fit more than one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ambiguity {
    pub table: TableId,
    #[serde(default, skip_serializing_if = "AmbiguityKind::is_digits")]
    pub kind: AmbiguityKind,
    /// The run as printed (`898989`), or the candidate lines as printed.
    pub text: String,
    /// The cells the run covers, as `row.column`, in order.
    pub cells: Vec<String>,
    /// Every decoding that fits, each one value per cell in `cells` order.
    #[serde(with = "crate::exact::vec_vec")]
    pub decodings: Vec<Vec<Decimal>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
}

/// Why the tables could not be read at all, when that is the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextLayer {
    /// The document has text.
    Present,
    /// A PDF (or other paged document) without a text layer: an image of the report.
    ImageOnly,
}

/// A report as read from its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub title: Option<String>,
    pub agency: Option<String>,
    pub year: Option<u16>,
    pub template: Template,
    pub sections: Vec<Section>,
    pub tables: Tables,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ambiguities: Vec<Ambiguity>,
    /// Rows of the other version found in a `mixed` report (e.g. `t3.other_handling`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_rows: Vec<String>,
    pub text_layer: TextLayer,
}

impl Report {
    /// A report about which nothing is known yet.
    pub fn empty() -> Report {
        Report {
            title: None,
            agency: None,
            year: None,
            template: Template::Unknown,
            sections: Vec::new(),
            tables: Tables::default(),
            ambiguities: Vec::new(),
            foreign_rows: Vec::new(),
            text_layer: TextLayer::Present,
        }
    }

    pub fn section(&self, number: u8) -> Option<&Section> {
        self.sections.iter().find(|s| s.number == number)
    }

    /// The cells of `table` in the given state, as `row.column`.
    pub fn cells_in_state(&self, table: TableId, state: CellState) -> Vec<String> {
        let Some(t) = self.tables.get(table) else {
            return Vec::new();
        };
        t.iter()
            .flat_map(|(r, cols)| {
                cols.iter()
                    .filter(move |(_, c)| c.state == state)
                    .map(move |(c, _)| format!("{r}.{c}"))
            })
            .collect()
    }
}
