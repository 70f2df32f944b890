//! From a document to a parsed report.
//!
//! [`read_text`] and [`read_text_str`] turn plain text and Markdown into the document IR (HTML,
//! PDF and DOCX have their own readers). [`read_document`] turns any document into a
//! [`Report`]: it normalises the text, finds the title (agency, year), the six section
//! headings (also in the middle of a long line, also when worded differently), the format
//! version, and reads t2, t3 and t4 into the model's rows and columns. Tables come from grids,
//! from separated lines, and, when a section holds its table flattened to text without any
//! separator, from `gongkai_digits::read_flattened_table`. A t3 whose value rows a converter
//! tore from their labels is read by placing the value rows in the template's order, decided
//! by the identities where the order alone does not (module `placement`).
//!
//! The reader records what the source contains and nothing more: cells it lacks are
//! `missing`, blanks are `blank`, placeholders `placeholder`; a heading that is lost while its
//! table survives is `content_without_heading`. Judging any of this is the rules' business.

mod items;
mod metadata;
mod normalize;
mod number;
mod placement;
mod sections;
mod tables;
mod template;
mod text;

pub use normalize::{label_key, normalize_text};
pub use number::read_cell;
pub use text::{read_text, read_text_str};

use gongkai_model::report::SECTION_HEADINGS;
use gongkai_model::{Document, Position, Report, Section, TableId, Template, TextLayer};
use items::Item;
use sections::Heading;

/// The largest section text handed to `gongkai_digits::read_flattened_table`.
pub const MAX_FLATTENED_SECTION_BYTES: usize = 256 * 1024;

/// Reads a report from a document of any format.
///
/// The steps are `tracing` spans (`locate_sections`, `read_tables`) at debug level, so that a
/// service that exports traces shows where the reading time goes; they cost nothing when no
/// subscriber listens.
pub fn read_document(doc: &Document) -> Report {
    let locate = tracing::debug_span!("locate_sections", otel.name = "locate sections").entered();
    let items::Items { items, groups } = items::build(doc);
    let meta = metadata::find(&items);
    let headings = sections::find_headings(&items);
    let (cues, table_cues) =
        template::cues(&items, groups, |index| in_table_sections(&headings, index));
    let template = cues.template();
    locate.exit();
    let _read_tables = tracing::debug_span!(
        "read_tables",
        otel.name = "read tables",
        gongkai.report.template = template.as_str()
    )
    .entered();

    let mut report = Report::empty();
    report.title = meta.title;
    report.agency = meta.agency;
    report.year = meta.year;
    report.template = template;
    report.text_layer = if doc.has_text {
        TextLayer::Present
    } else {
        TextLayer::ImageOnly
    };

    let section_of_group = group_sections(&items, groups, &headings);
    if template != Template::Legacy {
        // Without any version cue the tables are still read, in the shape the year requires.
        let shape = if template == Template::Unknown {
            report
                .year
                .map_or(Template::F2021, Template::expected_for_year)
        } else {
            template
        };
        let assigned = tables::classify_groups(&items, groups, &section_of_group, &table_cues);
        for table in TableId::ALL {
            let mut read = tables::read_table(&items, &assigned, table, shape);
            if read.is_none() && !assigned.contains(&Some(table)) {
                read = read_flattened(&items, &headings, table, shape, &mut report);
            }
            *report.tables.get_mut(table) = read;
        }
        // A t3 torn from its labels (value rows without a label in section 3) is read again
        // by placing its value rows in the template's order.
        if let Some((t3, ambiguities)) = placement::place_t3(&items, &headings, shape) {
            report.ambiguities.retain(|a| a.table != TableId::T3);
            report.ambiguities.extend(ambiguities);
            report.tables.t3 = Some(t3);
        }
        let loose = placement::fill_loose_t2(&items, &headings, shape, &mut report.tables.t2);
        report.ambiguities.extend(loose);
        // A t4 the readers left wholly missing (its numbers before its header, or a stray
        // digit among them) is read from the value lines of section 4.
        let torn = placement::fill_torn_t4(&items, &headings, shape, &mut report.tables.t4);
        if !torn.is_empty() {
            report.ambiguities.retain(|a| a.table != TableId::T4);
        }
        report.ambiguities.extend(torn);
        // §9: a number longer than its column allows is `invalid`, never summed.
        report.tables.invalidate_out_of_range(shape);
        if shape == Template::Mixed
            && report
                .tables
                .t3
                .as_ref()
                .and_then(|t| t.get("other_handling"))
                .is_some_and(|r| {
                    r.values()
                        .any(|c| c.state != gongkai_model::CellState::Missing)
                })
        {
            report.foreign_rows.push("t3.other_handling".to_owned());
        }
    }
    report.sections = build_sections(&items, &headings, &report);
    report
}

/// Whether the item at `index` may hold table labels: it lies in section 2 or 3 (the heading
/// item itself included, as flattened tables follow their heading on the same line), or the
/// headings that would tell are missing.
fn in_table_sections(headings: &[Heading], index: usize) -> bool {
    let start = headings.iter().find(|h| h.number == 2 || h.number == 3);
    let end = headings.iter().find(|h| h.number >= 4);
    match (start, end) {
        (Some(s), Some(e)) => index >= s.item && index <= e.item,
        (Some(s), None) => index >= s.item,
        _ => true,
    }
}

/// The section (0 for the preamble) each row group starts in.
fn group_sections(items: &[Item], groups: usize, headings: &[Heading]) -> Vec<u8> {
    let mut out = vec![0u8; groups];
    let mut seen = vec![false; groups];
    for (index, item) in items.iter().enumerate() {
        let Item::Row(row) = item else { continue };
        if let Some(slot) = seen.get_mut(row.group)
            && !*slot
        {
            *slot = true;
            out[row.group] = headings
                .iter()
                .rev()
                .find(|h| h.item < index)
                .map_or(0, |h| h.number);
        }
    }
    out
}

/// The prose between a heading and the next one found, rows excluded.
fn section_text(items: &[Item], headings: &[Heading], at: usize) -> String {
    let Some(h) = headings.get(at) else {
        return String::new();
    };
    let next = headings.get(at + 1);
    let mut parts: Vec<&str> = Vec::new();
    let last_item = next.map_or(items.len().saturating_sub(1), |n| n.item);
    for (index, item) in items.iter().enumerate().skip(h.item) {
        if index > last_item {
            break;
        }
        let Item::Text(t) = item else { continue };
        let start = if index == h.item { h.end } else { 0 };
        let end = match next {
            Some(n) if n.item == index => n.start,
            _ => t.text.len(),
        };
        if let Some(part) = t.text.get(start..end) {
            let part = part.trim();
            if !part.is_empty() {
                parts.push(part);
            }
        }
    }
    parts.join("\n")
}

/// Where the text after a heading starts, as a line position (sources without line numbers
/// use the paragraph's ordinal as its line).
fn origin_after(items: &[Item], h: &Heading) -> Position {
    let Some(Item::Text(t)) = items.get(h.item) else {
        return Position::Line { line: 0, column: 0 };
    };
    let chars = u32::try_from(t.text.get(..h.end).map_or(0, |s| s.chars().count())).unwrap_or(0);
    match &t.position {
        Some(Position::Line { line, column }) => Position::Line {
            line: *line,
            column: column.saturating_add(chars),
        },
        _ => Position::Line {
            line: u32::try_from(t.ordinal).unwrap_or(u32::MAX),
            column: chars.saturating_add(1),
        },
    }
}

fn read_flattened(
    items: &[Item],
    headings: &[Heading],
    table: TableId,
    template: Template,
    report: &mut Report,
) -> Option<gongkai_model::Table> {
    let at = headings.iter().position(|h| h.number == table.section())?;
    let text = section_text(items, headings, at);
    // A flattened table with its prose is a few kilobytes; a section larger than this is not
    // handed to the digit solver.
    if text.is_empty() || text.len() > MAX_FLATTENED_SECTION_BYTES {
        return None;
    }
    let origin = origin_after(items, headings.get(at)?);
    let flat = gongkai_digits::read_flattened_table(&text, origin, table, template)?;
    report.ambiguities.extend(flat.ambiguities);
    Some(flat.table)
}

fn build_sections(items: &[Item], headings: &[Heading], report: &Report) -> Vec<Section> {
    (1u8..=6)
        .map(|number| {
            let canonical = SECTION_HEADINGS
                .get(usize::from(number - 1))
                .copied()
                .unwrap_or_default();
            let found = headings.iter().position(|h| h.number == number);
            match found {
                Some(at) => {
                    let h = &headings[at];
                    let (heading, position) = match items.get(h.item) {
                        Some(Item::Text(t)) => (
                            t.text
                                .get(h.start..h.end)
                                .unwrap_or(canonical)
                                .trim()
                                .to_owned(),
                            heading_position(t, h.start),
                        ),
                        _ => (canonical.to_owned(), None),
                    };
                    Section {
                        number,
                        heading,
                        found: true,
                        content_without_heading: false,
                        text: section_text(items, headings, at),
                        position,
                    }
                }
                None => {
                    let table = TableId::ALL.into_iter().find(|t| t.section() == number);
                    let content = table.is_some_and(|t| report.tables.get(t).is_some());
                    Section {
                        number,
                        heading: canonical.to_owned(),
                        found: false,
                        content_without_heading: content,
                        text: String::new(),
                        position: None,
                    }
                }
            }
        })
        .collect()
}

fn heading_position(t: &items::TextItem, start: usize) -> Option<Position> {
    match &t.position {
        Some(Position::Line { line, column }) => {
            let chars = t.text.get(..start).map_or(0, |s| s.chars().count());
            Some(Position::Line {
                line: *line,
                column: column.saturating_add(u32::try_from(chars).unwrap_or(0)),
            })
        }
        other => other.clone(),
    }
}
