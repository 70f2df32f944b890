//! The shared vocabulary of gongkai: the stable identifiers of the report format
//! ([`schema`]), the parsed report ([`report`]) and its cells ([`cell`]), findings
//! ([`finding`]), the checked report of the JSON output ([`checked`]), and the document IR
//! that format readers produce ([`document`]); and the byte-level character classes
//! ([`text`]) that the readers and the rules must agree on.
//!
//! This crate is data only (and those classes): no I/O, no parsing, no rules. Every other crate depends on it and
//! it depends on nothing of ours.

#![forbid(unsafe_code)]

pub mod cell;
pub mod checked;
pub mod document;
pub mod exact;
pub mod finding;
pub mod report;
pub mod schema;
pub mod text;

pub use cell::{Cell, CellState, Position};
pub use checked::{CheckedReport, ReadFailure, Source, Unreadable, UnreadableSource};
pub use document::{Block, Document, GridCell, GridTable, SourceFormat};
pub use finding::{CellRef, Finding, Observed, Severity, Summary};
pub use report::{
    Ambiguity, AmbiguityKind, Report, Section, Table, TableHasher, TableRow, Tables, TextLayer,
};
pub use rust_decimal::Decimal;
pub use schema::{ColumnSpec, RowSpec, TableId, Template, ValueKind};
