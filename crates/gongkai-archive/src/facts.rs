//! The facts the archive stores beside each archived report's document (`report_facts`, `report_cells`,
//! migration 0008): its agency key and region, every metric's numerator and denominator
//! (gongkai-metrics's dictionary), and its cells as parallel arrays in printed order. Computed
//! here, in Rust, once per archiving, so that a question of the whole archive sums small
//! stored arrays instead of parsing every stored document.

use crate::write::ArchivedReport;
use gongkai_metrics::{agency, catalogue, dictionary};
use gongkai_model::{Decimal, TableId};

/// The one-letter code a cell's state is stored as (`report_cells.cell_states`).
pub(crate) fn state_code(state: &str) -> i8 {
    let code = match state {
        "number" => b'n',
        "blank" => b'b',
        "placeholder" => b'p',
        "missing" => b'm',
        "ambiguous" => b'a',
        "invalid" => b'i',
        "corrected" => b'c',
        _ => b'?',
    };
    i8::try_from(code).unwrap_or(0)
}

/// The state id of a stored code ([`state_code`]'s inverse).
pub fn state_name(code: i8) -> &'static str {
    match u8::try_from(code).unwrap_or(0) {
        b'n' => "number",
        b'b' => "blank",
        b'p' => "placeholder",
        b'm' => "missing",
        b'a' => "ambiguous",
        b'i' => "invalid",
        b'c' => "corrected",
        _ => "unknown",
    }
}

/// The facts of one report, as the archiving statement binds them.
pub(crate) struct Facts<'a> {
    /// The key of the printed name before aliases (`None` without an agency: no series).
    pub(crate) agency_key: Option<String>,
    /// The region the printed name gives (the submission's, when it gave one, wins in SQL).
    pub(crate) region: Option<String>,
    /// Numerator and denominator of each metric in dictionary order; both `None` when NA.
    pub(crate) metric_parts: Vec<Option<Decimal>>,
    pub(crate) cell_ids: Vec<i16>,
    pub(crate) cell_values: Vec<Option<Decimal>>,
    pub(crate) cell_states: Vec<i8>,
    pub(crate) cell_texts: Vec<&'a str>,
}

impl<'a> Facts<'a> {
    pub(crate) fn of(report: &'a ArchivedReport) -> Facts<'a> {
        let name = report.agency.as_deref().filter(|a| !a.trim().is_empty());
        let metric_parts = dictionary::all_parts(&report.tables)
            .into_iter()
            .flat_map(|parts| match parts {
                Some(p) => [Some(p.numerator), Some(p.denominator)],
                None => [None, None],
            })
            .collect();
        let mut facts = Facts {
            agency_key: name.map(agency::agency_key).filter(|k| !k.is_empty()),
            region: name.map(agency::region_of).filter(|r| !r.is_empty()),
            metric_parts,
            cell_ids: Vec::with_capacity(256),
            cell_values: Vec::with_capacity(256),
            cell_states: Vec::with_capacity(256),
            cell_texts: Vec::with_capacity(256),
        };
        for table in TableId::ALL {
            let Some(rows) = report.tables.get(table) else {
                continue;
            };
            for (row, columns) in rows {
                for (column, cell) in columns {
                    // The reader writes only the schema's cells; one outside it has no id and
                    // stays in the document only.
                    let Some(id) = catalogue::cell_id(table, row, column) else {
                        continue;
                    };
                    facts.cell_ids.push(id);
                    facts.cell_values.push(cell.value);
                    facts.cell_states.push(state_code(cell.state.as_str()));
                    facts.cell_texts.push(cell.text.as_str());
                }
            }
        }
        facts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_codes_round_trip() {
        for state in [
            "number",
            "blank",
            "placeholder",
            "missing",
            "ambiguous",
            "invalid",
            "corrected",
        ] {
            assert_eq!(state_name(state_code(state)), state);
        }
    }
}
