//! The checked report: the JSON object of §8 of the spec, as `gongkai check --json` prints it,
//! the gRPC API returns it and the archive stores it.

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
