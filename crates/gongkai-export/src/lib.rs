//! The export files of `archive.md` §6, written by the format crates (`csv`,
//! `rust_xlsxwriter`, `arrow`/`parquet`), never by hand, and handed out in chunks as they are
//! made:
//!
//! * [`export_cells`]: the cells of the selected reports — CSV (UTF-8 with a byte-order mark,
//!   one line per cell, header [`CELL_COLUMNS`]), XLSX (sheets `t2`, `t3`, `t4` with one row
//!   per report and one column per `row.column`, and `findings`; numbers as numbers), Parquet
//!   (the CSV's columns, `value` DECIMAL(38, 8));
//! * [`export_metrics`]: a QueryMetrics answer in the same three formats.
//!
//! Memory is bounded: reports are read [`BATCH_REPORTS`] at a time and each batch is encoded
//! and sent before the next is read (a Parquet row group per batch; XLSX worksheets in
//! rust_xlsxwriter's constant-memory mode, which keeps rows in temporary files). Depends on
//! `gongkai-archive` for the reads and `gongkai-metrics` for the cell catalogue.

#![forbid(unsafe_code)]

mod cells;
mod metrics;
mod sink;

pub use cells::{CELL_COLUMNS, export_cells};
pub use metrics::{export_metrics, metric_columns};

/// Reports read and encoded at a time.
pub const BATCH_REPORTS: u32 = 500;

/// The most bytes one chunk carries (clients keep gRPC's default 4 MiB message limit).
pub const CHUNK_BYTES: usize = 256 * 1024;

/// An export's file format (`enum ExportFormat` of archive.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Parquet,
}

impl Format {
    /// The usual file extension.
    pub const fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Parquet => "parquet",
        }
    }

    /// `csv`, `xlsx`, `parquet`.
    pub fn from_id(id: &str) -> Option<Format> {
        [Format::Csv, Format::Xlsx, Format::Parquet]
            .into_iter()
            .find(|f| f.extension() == id)
    }
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Archive(#[from] gongkai_archive::ArchiveError),
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing XLSX: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("writing Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("building Arrow arrays: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    /// The export does not fit the format (XLSX's 1,048,576 rows a sheet).
    #[error("{0}")]
    TooLarge(String),
    /// The task reading the next batch ended without an answer (it panicked or the runtime
    /// is shutting down).
    #[error("reading a batch of the export: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The receiver of the chunks went away (the client cancelled).
    #[error("the receiver of the export went away")]
    Cancelled,
}

/// Where the chunks go: each item is one chunk or the error that ended the export.
pub type ChunkSender = tokio::sync::mpsc::Sender<Result<Vec<u8>, ExportError>>;
