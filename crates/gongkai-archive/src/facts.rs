//! The facts the archive stores beside each archived report's document (`report_facts`, `report_cells`,
//! migration 0008): its agency key and region, every metric's numerator and denominator
//! (gongkai-metrics's dictionary), and its cells as parallel arrays in printed order. Computed
//! here, in Rust, once per archiving, so that a question of the whole archive sums small
//! stored arrays instead of parsing every stored document.

use crate::write::ArchivedReport;
use gongkai_metrics::{CellSource, agency, catalogue, dictionary};
use gongkai_model::{CellState, Decimal, TableId};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use std::borrow::Cow;
use std::marker::PhantomData;

/// A stored document's tables as the facts read them: for each table its rows in printed
/// order, each with its cells' value, state and text, the text borrowed from the JSON where it
/// has no escapes. Everything else of a cell (its position, candidates, unit, previous values)
/// is skipped unread, and nothing is hashed: decoding the tables into the model's maps cost the
/// archive stage more than the facts' whole computation.
#[derive(Default, serde::Deserialize)]
pub(crate) struct FactTables<'a> {
    #[serde(default, borrow)]
    t2: Option<Pairs<'a, Pairs<'a, FactCell<'a>>>>,
    #[serde(default, borrow)]
    t3: Option<Pairs<'a, Pairs<'a, FactCell<'a>>>>,
    #[serde(default, borrow)]
    t4: Option<Pairs<'a, Pairs<'a, FactCell<'a>>>>,
}

impl<'a> FactTables<'a> {
    fn get(&self, table: TableId) -> Option<&Pairs<'a, Pairs<'a, FactCell<'a>>>> {
        match table {
            TableId::T2 => self.t2.as_ref(),
            TableId::T3 => self.t3.as_ref(),
            TableId::T4 => self.t4.as_ref(),
        }
    }
}

impl CellSource for FactTables<'_> {
    fn value_and_state(
        &self,
        table: TableId,
        row: &str,
        column: &str,
    ) -> Option<(Option<Decimal>, CellState)> {
        // A table has a few dozen rows of at most seven cells: a scan beats hashing.
        let cell = self.get(table)?.get(row)?.get(column)?;
        Some((cell.value, cell.state))
    }
}

/// The fields of a cell the facts store.
#[derive(serde::Deserialize)]
struct FactCell<'a> {
    #[serde(with = "gongkai_model::exact::option")]
    value: Option<Decimal>,
    #[serde(borrow)]
    text: Cow<'a, str>,
    state: CellState,
}

/// A JSON object's entries in their printed order.
struct Pairs<'a, V>(Vec<(Cow<'a, str>, V)>);

impl<V> Pairs<'_, V> {
    fn get(&self, key: &str) -> Option<&V> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

impl<'de: 'a, 'a, V: Deserialize<'de>> Deserialize<'de> for Pairs<'a, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor<'a, V>(PhantomData<(Cow<'a, str>, V)>);
        impl<'de: 'a, 'a, V: Deserialize<'de>> Visitor<'de> for PairsVisitor<'a, V> {
            type Value = Pairs<'a, V>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                // The size hint comes from the input: it only bounds the first allocation.
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(key) = map.next_key::<CowStr<'a>>()? {
                    pairs.push((key.0, map.next_value()?));
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor(PhantomData))
    }
}

/// A string borrowed from the input when it can be (`Cow<str>` alone always copies a key).
struct CowStr<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CowVisitor<'a>(PhantomData<&'a str>);
        impl<'de: 'a, 'a> Visitor<'de> for CowVisitor<'a> {
            type Value = CowStr<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(CowVisitor(PhantomData))
    }
}

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
    pub(crate) fn of(report: &'a ArchivedReport<'a>) -> Facts<'a> {
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
            for (row, columns) in &rows.0 {
                for (column, cell) in &columns.0 {
                    // The reader writes only the schema's cells; one outside it has no id and
                    // stays in the document only.
                    let Some(id) = catalogue::cell_id(table, row, column) else {
                        continue;
                    };
                    facts.cell_ids.push(id);
                    facts.cell_values.push(cell.value);
                    facts.cell_states.push(state_code(cell.state.as_str()));
                    facts.cell_texts.push(&cell.text);
                }
            }
        }
        facts
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use gongkai_model::{Cell, Position, Tables};
    use std::str::FromStr;

    /// A seeded report with a cell of every state, positions of every kind, a unit, candidates
    /// and texts that JSON escapes (so that they cannot be borrowed).
    fn every_kind_of_cell() -> gongkai_model::CheckedReport {
        let mut checked = crate::seed::synthetic_report(3);
        let t3 = checked.report.tables.t3.as_mut().unwrap();
        let d = |s: &str| Decimal::from_str(s).unwrap();
        let mut set = |row: &str, column: &str, cell: Cell| {
            t3.get_mut(row).unwrap().insert(column.to_owned(), cell);
        };
        set(
            "new_received",
            "natural_person",
            Cell::ambiguous(
                "8855",
                vec![d("8"), d("85")],
                Some(Position::Grid {
                    table: 1,
                    row: 2,
                    column: 3,
                }),
            ),
        );
        set("new_received", "commercial", Cell::blank("\"\\", None));
        set(
            "new_received",
            "research",
            Cell::placeholder(
                "—\n/",
                Some(Position::Page {
                    page: 2,
                    x: -1,
                    y: 700,
                }),
            ),
        );
        set("new_received", "social", Cell::missing());
        set(
            "new_received",
            "legal",
            Cell::invalid("12345678901234567890", None),
        );
        set(
            "new_received",
            "other",
            Cell::number(
                d("12.50"),
                "12.50",
                Some(Position::Line { line: 9, column: 4 }),
            )
            .with_unit("万元"),
        );
        let corrected = Cell::number(d("7"), "1", None).corrected(Some(d("71")));
        set("new_received", "total", corrected);
        checked
    }

    #[test]
    fn the_light_reading_of_the_tables_gives_the_models_facts() {
        for checked in [crate::seed::synthetic_report(0), every_kind_of_cell()] {
            let json = serde_json::to_string(&checked).unwrap();
            let parts: crate::write::ArchivedParts<'_> = serde_json::from_str(&json).unwrap();
            let facts = Facts::of(&parts.report);
            let model: &Tables = &checked.report.tables;
            assert_eq!(
                dictionary::all_parts(&parts.report.tables),
                dictionary::all_parts(model)
            );
            let mut expected = Vec::new();
            for table in TableId::ALL {
                for (row, columns) in model.get(table).into_iter().flatten() {
                    for (column, cell) in columns {
                        if let Some(id) = catalogue::cell_id(table, row, column) {
                            expected.push((
                                id,
                                cell.value,
                                state_code(cell.state.as_str()),
                                cell.text.as_str(),
                            ));
                        }
                    }
                }
            }
            let read: Vec<_> = (0..facts.cell_ids.len())
                .map(|i| {
                    (
                        facts.cell_ids[i],
                        facts.cell_values[i],
                        facts.cell_states[i],
                        facts.cell_texts[i],
                    )
                })
                .collect();
            assert_eq!(read, expected);
            assert!(read.len() > 100, "{}", read.len());
        }
    }

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
