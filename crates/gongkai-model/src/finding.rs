//! Findings: what a rule says about a report, with the cells it concerns.

use crate::schema::TableId;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::str::FromStr;

/// How bad a finding is (§6 of the spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing is wrong.
    Info,
    /// Probably wrong, or a rule could not be checked.
    Warning,
    /// The report is wrong or incomplete.
    Error,
}

impl Severity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn from_id(id: &str) -> Option<Severity> {
        [Severity::Info, Severity::Warning, Severity::Error]
            .into_iter()
            .find(|s| s.as_str() == id)
    }
}

/// A value a finding expected or found: an exact number, or a word such as a template id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    Number(Decimal),
    Text(String),
}

impl Serialize for Observed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Observed::Number(d) => crate::exact::decimal::serialize(d, serializer),
            Observed::Text(s) => serializer.serialize_str(s),
        }
    }
}

impl<'de> Deserialize<'de> for Observed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Through `Value` because with `arbitrary_precision` a number arrives as a private map.
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Number(n) => Decimal::from_str(&n.to_string())
                .or_else(|_| Decimal::from_scientific(&n.to_string()))
                .map(Observed::Number)
                .map_err(serde::de::Error::custom),
            serde_json::Value::String(s) => Ok(Observed::Text(s)),
            other => Err(serde::de::Error::custom(format!(
                "expected a number or a string, found {other}"
            ))),
        }
    }
}

impl From<Decimal> for Observed {
    fn from(d: Decimal) -> Self {
        Observed::Number(d)
    }
}

impl From<&str> for Observed {
    fn from(s: &str) -> Self {
        Observed::Text(s.to_owned())
    }
}

impl std::fmt::Display for Observed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Observed::Number(d) => write!(f, "{d}"),
            Observed::Text(s) => f.write_str(s),
        }
    }
}

/// A reference to one cell, or a whole row (`column: None`), or a whole table (`row: None`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CellRef {
    pub table: TableId,
    pub row: Option<String>,
    pub column: Option<String>,
}

/// One finding of one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule id of the spec's catalogue (`T3-BALANCE`, `S-SECTION`, …).
    pub rule: String,
    pub severity: Severity,
    /// The main cell concerned (the one whose printed value disagrees), when there is one.
    pub table: Option<TableId>,
    pub row: Option<String>,
    pub column: Option<String>,
    pub expected: Option<Observed>,
    pub actual: Option<Observed>,
    /// For people who read the reports: Chinese.
    pub message: String,
    /// The same in English, for operators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_en: Option<String>,
    /// Every cell the rule looked at (the terms of a sum, the cells of an ambiguous run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cells: Vec<CellRef>,
}

impl Finding {
    pub fn new(rule: &str, severity: Severity, message: impl Into<String>) -> Finding {
        Finding {
            rule: rule.to_owned(),
            severity,
            table: None,
            row: None,
            column: None,
            expected: None,
            actual: None,
            message: message.into(),
            message_en: None,
            cells: Vec::new(),
        }
    }

    pub fn at(mut self, table: TableId, row: Option<&str>, column: Option<&str>) -> Finding {
        self.table = Some(table);
        self.row = row.map(str::to_owned);
        self.column = column.map(str::to_owned);
        self
    }

    pub fn expected_actual(
        mut self,
        expected: Option<Observed>,
        actual: Option<Observed>,
    ) -> Finding {
        self.expected = expected;
        self.actual = actual;
        self
    }

    pub fn en(mut self, message: impl Into<String>) -> Finding {
        self.message_en = Some(message.into());
        self
    }

    pub fn with_cells(mut self, cells: Vec<CellRef>) -> Finding {
        self.cells = cells;
        self
    }
}

/// Counts of findings by severity (the `summary` of the JSON).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub errors: u32,
    pub warnings: u32,
    pub infos: u32,
}

impl Summary {
    pub fn of(findings: &[Finding]) -> Summary {
        let mut s = Summary::default();
        for f in findings {
            match f.severity {
                Severity::Error => s.errors += 1,
                Severity::Warning => s.warnings += 1,
                Severity::Info => s.infos += 1,
            }
        }
        s
    }
}
