//! The checked report: the JSON object of §8 of the spec, as `gongkai check --json` prints it,
//! the gRPC API returns it and the archive stores it; and [`Unreadable`], the object printed
//! instead for an input that could not be read at all.

use crate::finding::{Finding, Summary};
use crate::report::Report;
use serde::{Deserialize, Serialize};

/// What was read: name, digest, kind, encoding, size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub name: String,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    pub media_type: String,
    pub encoding: Option<String>,
    pub bytes: u64,
}

/// A report with its findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckedReport {
    pub source: Source,
    pub report: Report,
    pub findings: Vec<Finding>,
    pub summary: Summary,
    /// The version of the rule set that produced `findings`.
    pub rules_version: String,
}

impl CheckedReport {
    /// The process exit code of the spec: 0 without error findings, 1 with one.
    pub fn exit_code(&self) -> i32 {
        if self.summary.errors > 0 { 1 } else { 0 }
    }
}

/// The §8 object for an input that could not be read at all: what it was and why, so that a
/// caller checking many files can tell which one failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unreadable {
    pub source: UnreadableSource,
    pub error: ReadFailure,
}

/// The input of an [`Unreadable`]: its digest and size are `null` when its bytes could not be
/// read (a missing file, or more bytes than the limit, which are not read to the end).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadableSource {
    pub name: String,
    pub sha256: Option<String>,
    pub bytes: Option<u64>,
}

/// Why an input could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadFailure {
    /// A stable identifier: `empty`, `too_large`, `binary`, `undecodable`,
    /// `unsupported_format`, `damaged_pdf`, `damaged_docx`, `damaged_html`, `zip_bomb`, `io`.
    pub kind: String,
    /// For people who submit reports: Chinese.
    pub message: String,
    pub message_en: String,
}
