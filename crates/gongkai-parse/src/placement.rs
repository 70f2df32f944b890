//! Placing value rows that a conversion tore from their labels (t3), or printed away from
//! their table (t2).
//!
//! PDF-to-text and PDF-to-Markdown converters keep every number of a table but not its shape:
//! label lines stand alone, value rows (`4 0 0 0 0 0 4`) come without a label, a label is split
//! over two lines with its values between, page numbers and single digits fall between rows,
//! the header is repeated after a page break. What survives is the order of the value rows,
//! and the template fixes the order of the table's rows; the identities of §6 of the spec
//! (T3-BALANCE, T3-RESULTS) constrain which value row can be which.
//!
//! In section 3, a *value line* is a line of exactly seven values (numbers or placeholders, at
//! least one number): a line of text (`4 0 0 0 0 0 4`), a row of cells, or a row wrapped over
//! consecutive lines of fewer values (`4 0 0 0` / `0 0 4`), where lines of one or two values
//! may also be stray page numbers or digits: such a run is cut into rows when only one cut
//! fits, or only one whose every row satisfies T3-ROW-TOTAL, and gives no row otherwise.
//! A value line is *anchored* to a row when its own label names that row on the same line
//! (`（一）予以公开 1 0 0 0 0 0 1`); a label that names no row (half of a torn label) anchors
//! nothing. Other lines — labels,
//! headers, page numbers, stray digits, prose — carry no values. The short line just before a
//! value line (with the line's own label) may name a row too: such lines are anchored to it
//! as well, unless that leaves no placement at all (label and value lines out of step, as
//! when every label comes first), and then only their own labels anchor them. When some value
//! line is left without an anchor, or value lines are lines of text (which the ordinary reader
//! leaves to the reader of flattened tables), t3 is read from the value lines alone:
//!
//! 1. Every *placement* is enumerated: the lines go, in their printed order, to rows in the
//!    template's order, each anchored line to its own row. When there are more lines than
//!    rows, the surplus is left out (as stray lines); otherwise every line is placed and the
//!    rows left over stay `missing`.
//! 2. The identities decide between placements as `gongkai-digits` decides between decodings:
//!    T3-BALANCE for each column, then T3-RESULTS for each column, in that order; an identity
//!    is admitted when some remaining placement satisfies it (every cell it names placed and
//!    a number, and the sums equal), and then only the placements that satisfy it remain. An
//!    identity no placement satisfies — the published numbers break it, or cannot show it —
//!    decides nothing, so no placement is chosen for making a broken rule hold. T3-ROW-TOTAL
//!    is a property of each line wherever it is placed and cannot tell placements apart.
//! 3. A row that every remaining placement fills with the same cells is read; the others are
//!    `ambiguous` column by column, with every value the column takes as candidates (a row
//!    filled in one remaining placement and left out in another is ambiguous too), and each
//!    such row is an [`Ambiguity`] listing its candidate lines, reported as `C-AMBIGUOUS`.
//!
//! The search is bounded: at most [`MAX_VALUE_LINES`] lines, [`MAX_PLACEMENT_STEPS`] steps and
//! [`MAX_PLACEMENTS`] placements. Beyond any of them the placement is too many to enumerate:
//! the rows no anchored line fixes are `ambiguous` without candidates, under one
//! [`Ambiguity`] with no decodings. When no placement fits at all (the anchors contradict the
//! template's order), nothing is placed and the table stays as the ordinary reader read it.
//!
//! t2 rows printed as loose lines before section 3 (`行政许可 97`), often before the table's
//! own heading, fill the t2 rows the table readers left wholly `missing` ([`fill_loose_t2`]):
//! their labels name them, so there is nothing to place, only disagreeing duplicates to
//! report as ambiguous.

use crate::items::Item;
use crate::number::{Printed, classify, read_cell};
use crate::sections::Heading;
use gongkai_model::report::empty_table;
use gongkai_model::schema::{self, RowSpec};
use gongkai_model::{
    Ambiguity, AmbiguityKind, Cell, CellState, Decimal, Position, Table, TableId, Template,
};

/// The most placements listed before a table is too many to enumerate.
pub const MAX_PLACEMENTS: usize = 4096;
/// The most search steps (one per line tried at a row) spent placing one table.
pub const MAX_PLACEMENT_STEPS: usize = 200_000;
/// The most value lines placed: a real t3 has 25 rows; a section with more than this many
/// lines of seven numbers is too many to enumerate without being searched (which also bounds
/// the memory its lines take and the depth of the search).
pub const MAX_VALUE_LINES: usize = 128;

/// A line of section 3 that carries one row's seven values.
#[derive(Debug, Clone)]
struct Line {
    /// The row its own label names, when it has one.
    anchor: Option<usize>,
    /// The row named by the short line before it (with its own label, if any): the first
    /// part of a wrapped label, or a label line standing alone.
    lead: Option<usize>,
    cells: Vec<Cell>,
    /// A line of text, not a row of cells: the ordinary reader leaves it to the reader of
    /// flattened tables, which takes the numbers after each label.
    in_text: bool,
    /// As printed, for the ambiguity's listing.
    text: String,
    position: Option<Position>,
}

/// What placing found, before it becomes a table.
#[derive(Debug, PartialEq, Eq)]
enum Search {
    /// Every placement, each the line index per row (`None`: the row is left out).
    Found(Vec<Vec<Option<usize>>>),
    TooMany,
}

/// t3 of `template` read from the value lines of section 3, with the rows that stay
/// ambiguous; `None` when there is nothing to place (every value line is a row of cells named
/// by a label, which the ordinary reader has read) or no placement fits.
pub fn place_t3(
    items: &[Item],
    headings: &[Heading],
    template: Template,
) -> Option<(Table, Vec<Ambiguity>)> {
    if !matches!(template, Template::F2019 | Template::F2021) {
        return None;
    }
    let specs = schema::rows(template, TableId::T3);
    let region = section_3(items, headings)?;
    if !region.iter().any(unlabelled_values) {
        // Rows of cells with labels, or no values at all: the ordinary reader's table.
        return None;
    }
    let segments = value_lines(region, specs);
    let fixed: Vec<&Line> = segments
        .iter()
        .filter_map(|s| match s {
            Segment::Line(line) => Some(line),
            _ => None,
        })
        .collect();
    let choices = segments.iter().any(|s| matches!(s, Segment::Choice(_)));
    if !choices
        && fixed
            .iter()
            .all(|l| l.anchor.or(l.lead).is_some() && !l.in_text)
    {
        // Every line is a row of cells named by a label, the ordinary reader has read them;
        // or nothing but runs too many to search, which the ordinary reader may still read.
        return None;
    }
    let Some(readings) = combinations(&segments) else {
        let lines: Vec<Line> = fixed.into_iter().cloned().collect();
        return Some(build(template, specs, &lines, Search::TooMany));
    };
    // Lines named by the label line before them are anchored too, unless that makes every
    // placement impossible (label lines and value lines out of step, as when every label
    // comes first): then only the lines' own labels anchor them.
    let mut steps = 0usize;
    let (lines, search) = place(&readings, true, specs.len(), &mut steps)
        .or_else(|| place(&readings, false, specs.len(), &mut steps))?;
    Some(build(template, specs, &lines, search))
}

/// Every placement of every reading (one per combination of the runs' cuts), over one pool of
/// their lines; `led` anchors lines named by the label line before them too. `None` when no
/// reading has a placement.
fn place(
    readings: &[Vec<Line>],
    led: bool,
    rows: usize,
    steps: &mut usize,
) -> Option<(Vec<Line>, Search)> {
    let mut pool: Vec<Line> = Vec::new();
    let mut found: Vec<Vec<Option<usize>>> = Vec::new();
    for reading in readings {
        let lines: Vec<Line> = reading
            .iter()
            .map(|l| Line {
                anchor: if led { l.anchor.or(l.lead) } else { l.anchor },
                ..l.clone()
            })
            .collect();
        match search(&lines, rows, steps) {
            None => {}
            Some(Search::TooMany) => return Some((lines, Search::TooMany)),
            Some(Search::Found(placements)) => {
                let offset = pool.len();
                for placement in placements {
                    if found.len() >= MAX_PLACEMENTS {
                        return Some((lines, Search::TooMany));
                    }
                    found.push(
                        placement
                            .into_iter()
                            .map(|i| i.map(|i| i + offset))
                            .collect(),
                    );
                }
                pool.extend(lines);
            }
        }
    }
    (!found.is_empty()).then_some((pool, Search::Found(found)))
}

/// The value and anchored lines of section 3, in printed order.
/// The items of section 3, after its heading's item and before the next heading's.
fn section_3<'i, 'a>(items: &'i [Item<'a>], headings: &[Heading]) -> Option<&'i [Item<'a>]> {
    let start = headings.iter().find(|h| h.number == 3)?.item;
    let end = headings
        .iter()
        .find(|h| h.number > 3)
        .map_or(items.len(), |h| h.item);
    items.get(start + 1..end)
}

/// Whether an item holds values without a label of its own: a line of text that is values
/// (seven, or fewer as part of a wrapped row; a label before seven values is checked later),
/// or a row of cells without any label cell. Told without reading labels, so that a table of
/// labelled rows costs no more than this look.
fn unlabelled_values(item: &Item) -> bool {
    match item {
        Item::Text(t) => {
            fragment_values(&t.text).is_some()
                || labelled_values(&t.text, schema::T3_COLUMNS.len()).is_some()
        }
        Item::Row(row) => {
            !row.cells.iter().any(|c| c.printed == Printed::Text)
                && row
                    .cells
                    .iter()
                    .any(|c| matches!(c.printed, Printed::Number { .. }))
        }
    }
}

/// What section 3 holds, in printed order: value lines, and runs of fragments that cut into
/// value rows in more than one way.
#[derive(Debug, Clone)]
enum Segment {
    Line(Line),
    /// The distinct sets of rows a run of fragments cuts into, when there are several.
    Choice(Vec<Vec<Line>>),
    /// A run of fragments with more cuts than are listed (or too long to search).
    TooMany,
}

fn value_lines(region: &[Item], specs: &'static [RowSpec]) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut lines = 0usize;
    let mut previous: Option<&Item> = None;
    let mut fragments: Vec<Fragment> = Vec::new();
    let mut spent = 0usize;
    // A run longer than MAX_FRAGMENTS is not searched: it is too many.
    let mut overflowed = false;
    let mut flush = |fragments: &mut Vec<Fragment>,
                     overflowed: &mut bool,
                     segments: &mut Vec<Segment>,
                     lines: &mut usize| {
        let run = std::mem::take(fragments);
        let cuts = if std::mem::take(overflowed) {
            None
        } else {
            wrapped_lines(&run, &mut spent)
        };
        match cuts {
            Some(mut sets) if sets.len() <= 1 => {
                let rows = sets.pop().unwrap_or_default();
                *lines += rows.len();
                segments.extend(rows.into_iter().map(Segment::Line));
            }
            Some(sets) => {
                *lines += sets.iter().map(Vec::len).max().unwrap_or(0);
                segments.push(Segment::Choice(sets));
            }
            None => segments.push(Segment::TooMany),
        }
    };
    for item in region {
        if let Item::Text(t) = item
            && let Some(values) = fragment_values(&t.text)
        {
            if fragments.len() < MAX_FRAGMENTS {
                fragments.push(Fragment {
                    text: &t.text,
                    values,
                    position: t.position.as_ref(),
                });
            } else {
                overflowed = true;
            }
            previous = Some(item);
            continue;
        }
        flush(&mut fragments, &mut overflowed, &mut segments, &mut lines);
        let lead_key = match previous {
            Some(Item::Text(t)) if t.text.chars().count() <= crate::items::MAX_LEAD_CHARS => {
                crate::normalize::label_key(&t.text)
            }
            _ => String::new(),
        };
        previous = Some(item);
        let line = match item {
            Item::Text(t) => text_line(&t.text, t.position.as_ref(), &lead_key, specs),
            Item::Row(row) => crate::tables::t3_row_line(row, specs).map(|found| {
                let text = row
                    .cells
                    .iter()
                    .map(|c| c.raw)
                    .filter(|raw| !raw.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                let position = row.cells.first().and_then(|c| c.position.clone());
                Line {
                    anchor: found.own,
                    lead: found.lead,
                    cells: found.cells,
                    in_text: false,
                    text,
                    position,
                }
            }),
        };
        if let Some(line) = line {
            lines += 1;
            segments.push(Segment::Line(line));
        }
        if lines > MAX_VALUE_LINES {
            break;
        }
    }
    flush(&mut fragments, &mut overflowed, &mut segments, &mut lines);
    segments
}

/// The most sets of rows one run of fragments is listed as; a run with more is too many.
const MAX_CUTS: usize = 8;
/// The most combinations of the runs' cuts placed; more is too many to enumerate.
const MAX_COMBINATIONS: usize = 64;

/// Every way of reading the segments as value lines, one per combination of the runs' cuts;
/// `None` when a run is too many or the combinations are.
fn combinations(segments: &[Segment]) -> Option<Vec<Vec<Line>>> {
    let mut out: Vec<Vec<Line>> = vec![Vec::new()];
    for segment in segments {
        match segment {
            Segment::Line(line) => out.iter_mut().for_each(|lines| lines.push(line.clone())),
            Segment::Choice(sets) => {
                if out.len().checked_mul(sets.len())? > MAX_COMBINATIONS {
                    return None;
                }
                out = out
                    .iter()
                    .flat_map(|lines| {
                        sets.iter().map(move |set| {
                            let mut next = lines.clone();
                            next.extend(set.iter().cloned());
                            next
                        })
                    })
                    .collect();
            }
            Segment::TooMany => return None,
        }
    }
    Some(out)
}

/// The most fragments in one run between other lines; a longer run is not searched.
const MAX_FRAGMENTS: usize = 32;
/// The most steps spent cutting runs of fragments into rows, over all the runs of a section
/// (a hostile section may hold any number of runs).
const MAX_FRAGMENT_STEPS: usize = 100_000;
/// The most tokens of a fragment that may be noise (a page number, a stray digit).
const MAX_NOISE_TOKENS: usize = 2;

/// A text line of fewer than seven values and nothing else: part of a value row wrapped over
/// lines (`4 0 0 0` / `0 0 4`), or a stray page number or digit.
struct Fragment<'a> {
    text: &'a str,
    values: Vec<(usize, &'a str)>,
    position: Option<&'a Position>,
}

/// The values of a line of one to six values and nothing else.
fn fragment_values(text: &str) -> Option<Vec<(usize, &str)>> {
    let width = schema::T3_COLUMNS.len();
    let mut tokens = Vec::new();
    // Prose is rejected at its first token, before anything is collected.
    for token in text.split_whitespace() {
        if tokens.len() + 1 >= width || !is_value(token) {
            return None;
        }
        tokens.push((offset_in(text, token), token));
    }
    (!tokens.is_empty()).then_some(tokens)
}

/// A number or a placeholder.
fn is_value(token: &str) -> bool {
    matches!(
        printed(token),
        Printed::Number { .. } | Printed::Placeholder
    )
}

/// The longest token read as a possible value; a longer one (a run of prose without spaces)
/// is words, told without normalising it.
const MAX_VALUE_BYTES: usize = 64;

/// What a whitespace-separated token of a line holds.
fn printed(token: &str) -> Printed {
    if token.len() > MAX_VALUE_BYTES {
        Printed::Text
    } else {
        classify(token)
    }
}

/// The byte offset of `token`, a slice of `text`, in `text`.
fn offset_in(text: &str, token: &str) -> usize {
    (token.as_ptr() as usize).saturating_sub(text.as_ptr() as usize)
}

/// The value rows a run of fragments holds: each row the values of consecutive fragments
/// (fragments of at most [`MAX_NOISE_TOKENS`] values may be left out between them as noise)
/// adding up to seven. The distinct cuts with the most rows are listed (a value is noise only
/// when no row can take it); T3-ROW-TOTAL is admitted as for
/// placements: when some cut's every row satisfies it, only those cuts remain. Each set of
/// rows is one cut: one set is read, several are a [`Segment::Choice`] that placement decides
/// between (or reports as ambiguous), none gives no row; `None` when there are more than
/// [`MAX_CUTS`] or the step budget ran out.
fn wrapped_lines(run: &[Fragment], spent: &mut usize) -> Option<Vec<Vec<Line>>> {
    if run.is_empty() {
        return Some(Vec::new());
    }
    let mut cut = Cut {
        run,
        steps: *spent,
        group: Vec::new(),
        rows: Vec::new(),
        all: Vec::new(),
        balanced: Vec::new(),
        most_rows: 0,
        all_overflowed: false,
        balanced_overflowed: false,
        too_many: false,
    };
    cut.visit(0);
    *spent = cut.steps;
    let chosen = match (cut.too_many, cut.balanced.is_empty()) {
        (true, _) => return None,
        (false, false) if !cut.balanced_overflowed => cut.balanced,
        (false, true) if !cut.all_overflowed => cut.all,
        _ => return None,
    };
    let as_lines = |rows: &Vec<Parts>| -> Vec<Line> {
        rows.iter()
            .map(|row| {
                let mut cells = Vec::new();
                let mut text = Vec::new();
                for &(fragment, from, to) in row {
                    let f = &run[fragment];
                    cells.extend(cells_at(f.text, &f.values[from..to], f.position));
                    text.push(f.text.trim());
                }
                Line {
                    anchor: None,
                    lead: None,
                    cells,
                    in_text: true,
                    text: text.join(" / "),
                    position: row.first().and_then(|&(f, _, _)| run[f].position.cloned()),
                }
            })
            .collect()
    };
    Some(chosen.iter().map(as_lines).collect())
}

/// A row cut from fragments: (fragment, first value, end) per part.
type Parts = Vec<(usize, usize, usize)>;

struct Cut<'a, 'b> {
    run: &'b [Fragment<'a>],
    steps: usize,
    group: Parts,
    rows: Vec<Parts>,
    /// The distinct sets of rows found (by value), at most [`MAX_CUTS`].
    all: Vec<Vec<Parts>>,
    /// Those whose every row satisfies T3-ROW-TOTAL.
    balanced: Vec<Vec<Parts>>,
    /// The rows of the fullest cut so far; only cuts with as many are kept.
    most_rows: usize,
    /// More distinct sets were found than are kept.
    all_overflowed: bool,
    balanced_overflowed: bool,
    /// The step budget ran out.
    too_many: bool,
}

impl Cut<'_, '_> {
    fn values(&self, rows: &[Parts]) -> Vec<Vec<String>> {
        rows.iter()
            .map(|row| {
                row.iter()
                    .flat_map(|&(f, a, b)| {
                        self.run[f].values[a..b].iter().map(|(_, t)| t.to_string())
                    })
                    .collect()
            })
            .collect()
    }

    fn row_total_holds(&self, row: &Parts) -> bool {
        let values: Vec<Option<Decimal>> = row
            .iter()
            .flat_map(|&(f, a, b)| self.run[f].values[a..b].iter())
            .map(|(_, t)| match classify(t) {
                Printed::Number { value, .. } => value,
                _ => None,
            })
            .collect();
        last_is_sum_of_rest(&values)
    }

    fn record(&mut self) {
        // A value is left out as noise only when no cut can use it: the cuts with the most
        // rows are the readings, fewer rows would be a guess that values are noise.
        match self.rows.len().cmp(&self.most_rows) {
            std::cmp::Ordering::Less => return,
            std::cmp::Ordering::Greater => {
                self.most_rows = self.rows.len();
                self.all.clear();
                self.balanced.clear();
                self.all_overflowed = false;
                self.balanced_overflowed = false;
            }
            std::cmp::Ordering::Equal => {}
        }
        let found = self.values(&self.rows);
        let balanced = self.rows.iter().all(|r| self.row_total_holds(r));
        let is_new = |list: &[Vec<Parts>]| !list.iter().any(|r| self.values(r) == found);
        let (new_all, new_balanced) = (is_new(&self.all), balanced && is_new(&self.balanced));
        if new_all {
            if self.all.len() < MAX_CUTS {
                self.all.push(self.rows.clone());
            } else {
                self.all_overflowed = true;
            }
        }
        if new_balanced {
            if self.balanced.len() < MAX_CUTS {
                self.balanced.push(self.rows.clone());
            } else {
                self.balanced_overflowed = true;
            }
        }
    }

    /// Cuts fragments from `index` on; the open row holds `self.group`.
    fn visit(&mut self, index: usize) {
        if self.steps >= MAX_FRAGMENT_STEPS {
            self.too_many = true;
        }
        if self.too_many {
            return;
        }
        self.steps += 1;
        let width = schema::T3_COLUMNS.len();
        let Some(fragment) = self.run.get(index) else {
            if self.group.is_empty() {
                self.record();
            }
            return;
        };
        let count = fragment.values.len();
        if count <= MAX_NOISE_TOKENS {
            self.visit(index + 1);
        }
        let open: usize = self.group.iter().map(|(_, a, b)| b - a).sum();
        if open + count <= width {
            self.group.push((index, 0, count));
            if open + count == width {
                let row = std::mem::take(&mut self.group);
                self.rows.push(row);
                self.visit(index + 1);
                self.group = self.rows.pop().unwrap_or_default();
            } else {
                self.visit(index + 1);
            }
            self.group.pop();
        }
    }
}

/// A text line of seven values, or of a label and seven values: `4 0 0 0 0 0 4`,
/// `（一）予以公开 1 0 0 0 0 0 1`.
fn text_line(
    text: &str,
    position: Option<&Position>,
    lead_key: &str,
    specs: &'static [RowSpec],
) -> Option<Line> {
    let (label, values) = labelled_values(text, schema::T3_COLUMNS.len())?;
    // A label that names no row (half of a label torn in two) fixes nothing.
    let anchor = if label.is_empty() {
        None
    } else {
        crate::tables::match_t3_row(&label, specs)
    };
    let lead = if lead_key.is_empty() {
        None
    } else {
        crate::tables::match_t3_row(&format!("{lead_key}{label}"), specs)
    };
    Some(Line {
        anchor,
        lead,
        cells: cells_at(text, &values, position),
        in_text: true,
        text: text.trim().to_owned(),
        position: position.cloned(),
    })
}

/// A line that ends in `width` values (numbers or placeholders, at least one number), with
/// what precedes them as a label key (empty when nothing does): the values as (byte offset,
/// token). `None` when the label ends in a number (the line holds more values than `width`).
fn labelled_values(text: &str, width: usize) -> Option<(String, Vec<(usize, &str)>)> {
    if width == 0 {
        return None;
    }
    // From the end: prose is rejected at its last token, before anything is collected.
    let mut tokens = text.split_whitespace().rev();
    let mut values = Vec::with_capacity(width);
    let mut any_number = false;
    for token in tokens.by_ref().take(width) {
        match printed(token) {
            Printed::Number { .. } => any_number = true,
            Printed::Placeholder => {}
            Printed::Text | Printed::Blank => return None,
        }
        values.push((offset_in(text, token), token));
    }
    if values.len() < width || !any_number {
        return None;
    }
    values.reverse();
    let label = match tokens.next() {
        None => String::new(),
        Some(last) if matches!(printed(last), Printed::Text) => {
            crate::normalize::label_key(&text[..values.first()?.0])
        }
        Some(_) => return None,
    };
    Some((label, values))
}

/// The cells of `values` (byte offset, token) of the line `text` at `position`.
fn cells_at(text: &str, values: &[(usize, &str)], position: Option<&Position>) -> Vec<Cell> {
    values
        .iter()
        .map(|(offset, token)| {
            let position = match position {
                Some(Position::Line { line, column }) => Some(Position::Line {
                    line: *line,
                    column: column.saturating_add(
                        u32::try_from(text.get(..*offset).map_or(0, |t| t.chars().count()))
                            .unwrap_or(u32::MAX),
                    ),
                }),
                other => other.cloned(),
            };
            read_cell(token, position)
        })
        .collect()
}

/// The longest label of a loose t2 line, in characters of its key (`行政事业性收费` is 7): a
/// longer one is prose that happens to end in numbers.
const MAX_LOOSE_LABEL_CHARS: usize = 12;
/// The longest loose t2 line: a label of twelve characters and three amounts.
const MAX_LOOSE_LINE_BYTES: usize = 160;

/// t2 rows printed as loose lines before section 3 (`行政许可 97`, `规章 0 0 5`): PDF text
/// often puts them before the table's own heading, where the table readers do not look. A
/// loose line is a row's label and exactly as many values as the row has columns; it fills a
/// row of `table` that is wholly `missing` (the table is created when there is none). Two
/// loose lines of one row that disagree leave the columns they disagree on `ambiguous`, with
/// an [`Ambiguity`] each.
pub fn fill_loose_t2(
    items: &[Item],
    headings: &[Heading],
    template: Template,
    table: &mut Option<Table>,
) -> Vec<Ambiguity> {
    let specs = schema::rows(template, TableId::T2);
    let missing = |spec: &RowSpec, table: &Option<Table>| {
        table.as_ref().is_none_or(|t| {
            t.get(spec.key)
                .is_none_or(|row| row.values().all(|c| c.state == CellState::Missing))
        })
    };
    if specs.is_empty() || !specs.iter().any(|s| missing(s, table)) {
        return Vec::new();
    }
    let end = headings
        .iter()
        .find(|h| h.number >= 3)
        .map_or(items.len(), |h| h.item);
    let mut found: Vec<(usize, Line)> = Vec::new();
    for item in items.iter().take(end) {
        let Item::Text(t) = item else { continue };
        // The values are the last tokens; the widest t2 row has three.
        let Some(spec) = loose_row(&t.text, specs) else {
            continue;
        };
        let Some((_, values)) = labelled_values(&t.text, spec.columns.len()) else {
            continue;
        };
        let Some(row) = specs.iter().position(|s| s.key == spec.key) else {
            continue;
        };
        if missing(spec, table) {
            found.push((
                row,
                Line {
                    anchor: Some(row),
                    lead: None,
                    cells: cells_at(&t.text, &values, t.position.as_ref()),
                    in_text: true,
                    text: t.text.trim().to_owned(),
                    position: t.position.clone(),
                },
            ));
        }
    }
    if found.is_empty() {
        return Vec::new();
    }
    let out = table.get_or_insert_with(|| empty_table(template, TableId::T2));
    let mut ambiguities = Vec::new();
    for (row, spec) in specs.iter().enumerate() {
        let lines: Vec<&Line> = found
            .iter()
            .filter(|(r, _)| *r == row)
            .map(|(_, l)| l)
            .collect();
        let Some(first) = lines.first() else { continue };
        if lines.iter().all(|l| same_cells(&l.cells, &first.cells)) {
            if let Some(cells) = out.get_mut(spec.key) {
                for (column, cell) in spec.columns.iter().zip(&first.cells) {
                    cells.insert(column.key.to_owned(), cell.clone());
                }
            }
        } else {
            let placed: Vec<Option<&Line>> = lines.iter().map(|l| Some(*l)).collect();
            ambiguous_row(
                out,
                &mut ambiguities,
                TableId::T2,
                AmbiguityKind::Duplicate,
                spec,
                &placed,
            );
        }
    }
    ambiguities
}

/// The most value lines of section 4 considered for a torn t4; a real one has one to fifteen.
const MAX_T4_LINES: usize = 40;
/// The most ways of leaving lines out that are listed before t4 is too many to enumerate.
const MAX_T4_READINGS: usize = 64;
/// The most search steps spent choosing which lines of section 4 are noise.
const MAX_T4_STEPS: usize = 20_000;

/// t4 read from the value lines of section 4 when the table readers left it wholly `missing`:
/// its fifteen numbers printed before its header, or with a stray page number or digit among
/// them (`2 1 0 1 4 1 0` / `3` / `1 0 2 1 0 0 0 1`). The values are taken in printed order,
/// three blocks of five; lines of one or two values may be left out as noise when there are
/// more than fifteen. Every way of leaving lines out is a reading; T4-TOTAL of each block, in
/// block order, is admitted as t3's identities are (only when some reading satisfies it), and
/// a block the remaining readings fill differently is `ambiguous` with every value as a
/// candidate, reported as `C-AMBIGUOUS`.
pub fn fill_torn_t4(
    items: &[Item],
    headings: &[Heading],
    template: Template,
    table: &mut Option<Table>,
) -> Vec<Ambiguity> {
    let specs = schema::rows(template, TableId::T4);
    let width = schema::T4_COLUMNS.len();
    let cells = specs.len() * width;
    let wholly_missing = table.as_ref().is_none_or(|t| {
        t.values()
            .all(|row| row.values().all(|c| c.state == CellState::Missing))
    });
    if specs.is_empty() || !wholly_missing {
        return Vec::new();
    }
    let Some(start) = headings.iter().find(|h| h.number == 4).map(|h| h.item) else {
        return Vec::new();
    };
    let end = headings
        .iter()
        .find(|h| h.number > 4)
        .map_or(items.len(), |h| h.item);
    let mut lines: Vec<Line> = Vec::new();
    for item in items.get(start + 1..end).unwrap_or(&[]) {
        let line = match item {
            Item::Text(t) => {
                let values: Option<Vec<(usize, &str)>> = t
                    .text
                    .split_whitespace()
                    .map(|token| is_value(token).then(|| (offset_in(&t.text, token), token)))
                    .collect();
                values.filter(|v| !v.is_empty()).map(|values| Line {
                    anchor: None,
                    lead: None,
                    cells: cells_at(&t.text, &values, t.position.as_ref()),
                    in_text: true,
                    text: t.text.trim().to_owned(),
                    position: t.position.clone(),
                })
            }
            Item::Row(row) => {
                let filled: Vec<_> = row
                    .cells
                    .iter()
                    .filter(|c| !c.raw.trim().is_empty())
                    .collect();
                let values_only = !filled.is_empty()
                    && filled.iter().all(|c| {
                        matches!(c.printed, Printed::Number { .. } | Printed::Placeholder)
                    });
                values_only.then(|| Line {
                    anchor: None,
                    lead: None,
                    cells: filled.iter().map(|c| c.to_cell()).collect(),
                    in_text: false,
                    text: filled
                        .iter()
                        .map(|c| c.raw.trim())
                        .collect::<Vec<_>>()
                        .join(" "),
                    position: filled.first().and_then(|c| c.position.clone()),
                })
            }
        };
        if let Some(line) = line
            && line.cells.iter().any(|c| c.value.is_some())
        {
            lines.push(line);
            if lines.len() > MAX_T4_LINES {
                return Vec::new();
            }
        }
    }
    let total: usize = lines.iter().map(|l| l.cells.len()).sum();
    if total < cells {
        return Vec::new();
    }
    // Every way of leaving out short lines (noise) so that exactly `cells` values remain.
    let mut readings: Vec<Vec<usize>> = Vec::new();
    let mut steps = 0usize;
    let mut kept: Vec<usize> = Vec::new();
    let too_many = !leave_out(
        &lines,
        0,
        total - cells,
        &mut kept,
        &mut readings,
        &mut steps,
    );
    if readings.is_empty() && !too_many {
        return Vec::new();
    }
    let out = table.get_or_insert_with(|| empty_table(template, TableId::T4));
    let values_of = |reading: &[usize]| -> Vec<Cell> {
        reading
            .iter()
            .flat_map(|&i| lines[i].cells.iter().cloned())
            .collect()
    };
    let mut ambiguities = Vec::new();
    if too_many {
        return vec![too_many_to_enumerate(
            out,
            TableId::T4,
            specs,
            &lines,
            |_| None,
        )];
    }
    let mut remaining: Vec<Vec<Cell>> = readings.iter().map(|r| values_of(r)).collect();
    for block in 0..specs.len() {
        let holds = |cells: &Vec<Cell>| -> bool {
            cells
                .get(block * width..(block + 1) * width)
                .is_some_and(|b| {
                    last_is_sum_of_rest(&b.iter().map(|c| c.value).collect::<Vec<_>>())
                })
        };
        if remaining.iter().any(holds) {
            remaining.retain(holds);
        }
    }
    for (block, spec) in specs.iter().enumerate() {
        let range = block * width..(block + 1) * width;
        let mut distinct: Vec<Line> = Vec::new();
        for reading in &remaining {
            let cells = reading.get(range.clone()).unwrap_or(&[]).to_vec();
            if !distinct.iter().any(|d| same_cells(&d.cells, &cells)) {
                distinct.push(Line {
                    anchor: None,
                    lead: None,
                    text: cells
                        .iter()
                        .map(|c| c.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    position: cells.first().and_then(|c| c.position.clone()),
                    cells,
                    in_text: true,
                });
            }
        }
        match distinct.as_slice() {
            [only] => {
                if let Some(row) = out.get_mut(spec.key) {
                    for (column, cell) in spec.columns.iter().zip(&only.cells) {
                        row.insert(column.key.to_owned(), cell.clone());
                    }
                }
            }
            _ => {
                let placed: Vec<Option<&Line>> = distinct.iter().map(Some).collect();
                ambiguous_row(
                    out,
                    &mut ambiguities,
                    TableId::T4,
                    AmbiguityKind::Placement,
                    spec,
                    &placed,
                );
            }
        }
    }
    ambiguities
}

/// Lists in `readings` every choice of lines from `index` on that leaves out lines of at most
/// [`MAX_NOISE_TOKENS`] values adding up to `surplus`, `kept` holding the lines kept so far;
/// `false` when the readings or the steps ran past their bounds.
fn leave_out(
    lines: &[Line],
    index: usize,
    surplus: usize,
    kept: &mut Vec<usize>,
    readings: &mut Vec<Vec<usize>>,
    steps: &mut usize,
) -> bool {
    *steps += 1;
    if *steps > MAX_T4_STEPS {
        return false;
    }
    let Some(line) = lines.get(index) else {
        if surplus == 0 {
            if readings.len() >= MAX_T4_READINGS {
                return false;
            }
            readings.push(kept.clone());
        }
        return true;
    };
    let size = line.cells.len();
    if size <= MAX_NOISE_TOKENS
        && size <= surplus
        && !leave_out(lines, index + 1, surplus - size, kept, readings, steps)
    {
        return false;
    }
    kept.push(index);
    let fine = leave_out(lines, index + 1, surplus, kept, readings, steps);
    kept.pop();
    fine
}

/// The t2 row a loose line names: its label (what precedes its last values) is short and
/// names a row whose number of columns the line's values match.
fn loose_row(text: &str, specs: &'static [RowSpec]) -> Option<&'static RowSpec> {
    // A short label and at most three values: a longer line is prose, rejected unread.
    if text.len() > MAX_LOOSE_LINE_BYTES {
        return None;
    }
    let mut values = 0;
    let mut label_end = None;
    for token in text.split_whitespace().rev() {
        if is_value(token) {
            values += 1;
        } else {
            label_end = Some(offset_in(text, token) + token.len());
            break;
        }
    }
    let label = crate::normalize::label_key(text.get(..label_end?)?);
    if values == 0 || label.is_empty() || label.chars().count() > MAX_LOOSE_LABEL_CHARS {
        return None;
    }
    let spec = crate::tables::match_t2_row(&label, specs)?;
    (values == spec.columns.len()).then_some(spec)
}

/// Every placement of `lines` into `rows` rows in order, spending steps from `spent` (one
/// budget per table, whatever the number of readings); `None` when the anchored lines
/// contradict the order (an anchor at or before an earlier one).
fn search(lines: &[Line], rows: usize, spent: &mut usize) -> Option<Search> {
    if lines.len() > MAX_VALUE_LINES {
        return Some(Search::TooMany);
    }
    let anchors: Vec<usize> = lines.iter().filter_map(|l| l.anchor).collect();
    if anchors.windows(2).any(|w| w[1] <= w[0]) || anchors.iter().any(|&a| a >= rows) {
        return None;
    }
    // For each line: the row of the next anchored line at or after it (or `rows`), and how
    // many value lines lie between it (included) and that anchor.
    let mut bound = vec![rows; lines.len() + 1];
    let mut free_before_bound = vec![0usize; lines.len() + 1];
    for i in (0..lines.len()).rev() {
        match lines[i].anchor {
            Some(a) => {
                bound[i] = a;
                free_before_bound[i] = 0;
            }
            None => {
                bound[i] = bound[i + 1];
                free_before_bound[i] = free_before_bound[i + 1] + 1;
            }
        }
    }
    let mut state = State {
        lines,
        bound,
        free_before_bound,
        steps: *spent,
        current: vec![None; rows],
        found: Vec::new(),
        too_many: false,
    };
    let skips = lines.len().saturating_sub(rows);
    state.visit(0, 0, skips);
    *spent = state.steps;
    Some(if state.too_many {
        Search::TooMany
    } else {
        Search::Found(state.found)
    })
}

struct State<'a> {
    lines: &'a [Line],
    bound: Vec<usize>,
    free_before_bound: Vec<usize>,
    steps: usize,
    /// The line placed at each row so far.
    current: Vec<Option<usize>>,
    found: Vec<Vec<Option<usize>>>,
    too_many: bool,
}

impl State<'_> {
    /// Places line `index` and the ones after it at rows from `next` on, leaving out at most
    /// `skips` value lines.
    fn visit(&mut self, index: usize, next: usize, skips: usize) {
        if self.too_many {
            return;
        }
        self.steps += 1;
        if self.steps > MAX_PLACEMENT_STEPS {
            self.too_many = true;
            return;
        }
        let Some(line) = self.lines.get(index) else {
            if skips == 0 {
                if self.found.len() >= MAX_PLACEMENTS {
                    self.too_many = true;
                } else {
                    self.found.push(self.current.clone());
                }
            }
            return;
        };
        if let Some(row) = line.anchor {
            if row >= next {
                self.current[row] = Some(index);
                self.visit(index + 1, row + 1, skips);
                self.current[row] = None;
            }
            return;
        }
        if skips > 0 {
            self.visit(index + 1, next, skips - 1);
        }
        // The value lines after this one up to the next anchor need rows before it, less
        // those that may be left out.
        let after = self.free_before_bound[index]
            .saturating_sub(1)
            .saturating_sub(skips);
        let bound = self.bound[index];
        let mut row = next;
        while row < bound && bound - row > after {
            self.current[row] = Some(index);
            self.visit(index + 1, row + 1, skips);
            self.current[row] = None;
            if self.too_many {
                return;
            }
            row += 1;
        }
    }
}

/// The identities that decide between placements, as `(sign, row key)` terms per column, in
/// the order they are admitted: T3-BALANCE for each column, then T3-RESULTS for each column.
fn identities(template: Template, specs: &[RowSpec]) -> Vec<(usize, Vec<(bool, usize)>)> {
    let index = |key: &str| specs.iter().position(|s| s.key == key);
    let mut out = Vec::new();
    let columns = schema::T3_COLUMNS.len();
    if let (Some(new), Some(carried), Some(total), Some(forward)) = (
        index("new_received"),
        index("carried_over"),
        index("total_processed"),
        index("carried_forward"),
    ) {
        for column in 0..columns {
            out.push((
                column,
                vec![
                    (true, new),
                    (true, carried),
                    (false, total),
                    (false, forward),
                ],
            ));
        }
        let results: Vec<(bool, usize)> = schema::t3_result_rows(template)
            .iter()
            .filter_map(|r| index(r.key))
            .map(|i| (true, i))
            .collect();
        for column in 0..columns {
            let mut terms = results.clone();
            terms.push((false, total));
            out.push((column, terms));
        }
    }
    out
}

/// Whether `placement` satisfies the identity: every cell it names placed and a number, and
/// its signed sum zero (checked: an overflowing sum satisfies nothing).
fn satisfies(
    lines: &[Line],
    placement: &[Option<usize>],
    column: usize,
    terms: &[(bool, usize)],
) -> bool {
    let mut sum = Decimal::ZERO;
    for &(positive, row) in terms {
        let Some(Some(line)) = placement.get(row) else {
            return false;
        };
        let Some(value) = lines[*line].cells.get(column).and_then(|c| c.value) else {
            return false;
        };
        let next = if positive {
            sum.checked_add(value)
        } else {
            sum.checked_sub(value)
        };
        match next {
            Some(s) => sum = s,
            None => return false,
        }
    }
    sum.is_zero()
}

fn build(
    template: Template,
    specs: &'static [RowSpec],
    lines: &[Line],
    search: Search,
) -> (Table, Vec<Ambiguity>) {
    let mut table = empty_table(template, TableId::T3);
    let mut ambiguities = Vec::new();
    let columns = schema::T3_COLUMNS;
    let put_row = |table: &mut Table, row: usize, cells: Vec<Cell>| {
        if let Some(out) = specs.get(row).and_then(|s| table.get_mut(s.key)) {
            for (column, cell) in columns.iter().zip(cells) {
                out.insert(column.key.to_owned(), cell);
            }
        }
    };
    let placements = match search {
        Search::Found(found) => found,
        Search::TooMany => {
            let anchored = |row: usize| lines.iter().find(|l| l.anchor == Some(row));
            ambiguities.push(too_many_to_enumerate(
                &mut table,
                TableId::T3,
                specs,
                lines,
                anchored,
            ));
            return (table, ambiguities);
        }
    };
    let mut remaining: Vec<&Vec<Option<usize>>> = placements.iter().collect();
    for (column, terms) in identities(template, specs) {
        let kept: Vec<&Vec<Option<usize>>> = remaining
            .iter()
            .copied()
            .filter(|p| satisfies(lines, p, column, &terms))
            .collect();
        if !kept.is_empty() {
            remaining = kept;
        }
    }
    for (row, spec) in specs.iter().enumerate() {
        let placed: Vec<Option<&Line>> = remaining
            .iter()
            .map(|p| p.get(row).copied().flatten().and_then(|i| lines.get(i)))
            .collect();
        let Some(Some(first)) = placed.first().copied() else {
            if placed.iter().all(Option::is_none) {
                continue; // left out everywhere: stays missing
            }
            ambiguous_row(
                &mut table,
                &mut ambiguities,
                TableId::T3,
                AmbiguityKind::Placement,
                spec,
                &placed,
            );
            continue;
        };
        let same = placed
            .iter()
            .all(|p| p.is_some_and(|l| same_cells(&l.cells, &first.cells)));
        if same {
            put_row(&mut table, row, first.cells.clone());
        } else {
            ambiguous_row(
                &mut table,
                &mut ambiguities,
                TableId::T3,
                AmbiguityKind::Placement,
                spec,
                &placed,
            );
        }
    }
    (table, ambiguities)
}

/// Whether the last value is the sum of the others (T3-ROW-TOTAL of a row, T4-TOTAL of a
/// block), every value a number; checked: an overflowing sum holds nothing.
fn last_is_sum_of_rest(values: &[Option<Decimal>]) -> bool {
    let Some((Some(total), parts)) = values.split_last() else {
        return false;
    };
    parts
        .iter()
        .try_fold(Decimal::ZERO, |sum, v| sum.checked_add((*v)?))
        .is_some_and(|sum| sum == *total)
}

/// A table whose placements are too many to enumerate: each row of `specs` keeps the line
/// `fixed` gives it, every other is `ambiguous` without candidates, under one [`Ambiguity`]
/// listing `lines` as printed.
fn too_many_to_enumerate<'l>(
    table: &mut Table,
    id: TableId,
    specs: &[RowSpec],
    lines: &'l [Line],
    fixed: impl Fn(usize) -> Option<&'l Line>,
) -> Ambiguity {
    let mut cells = Vec::new();
    for (index, spec) in specs.iter().enumerate() {
        let Some(row) = table.get_mut(spec.key) else {
            continue;
        };
        match fixed(index) {
            Some(line) => {
                for (column, cell) in spec.columns.iter().zip(&line.cells) {
                    row.insert(column.key.to_owned(), cell.clone());
                }
            }
            None => {
                for column in spec.columns {
                    row.insert(column.key.to_owned(), Cell::ambiguous("", Vec::new(), None));
                    cells.push(format!("{}.{}", spec.key, column.key));
                }
            }
        }
    }
    Ambiguity {
        table: id,
        kind: AmbiguityKind::Placement,
        text: summary(lines.iter()),
        cells,
        decodings: Vec::new(),
        position: lines.first().and_then(|l| l.position.clone()),
    }
}

/// Same values, states and printed texts: the cells read the same whichever line they come from.
fn same_cells(a: &[Cell], b: &[Cell]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.value == y.value && x.state == y.state && x.text == y.text)
}

/// A row that different placements fill differently (or leave out): each column is read where
/// every placement agrees on it, and `ambiguous` with its values as candidates elsewhere.
fn ambiguous_row(
    table: &mut Table,
    ambiguities: &mut Vec<Ambiguity>,
    id: TableId,
    kind: AmbiguityKind,
    spec: &RowSpec,
    placed: &[Option<&Line>],
) {
    let Some(out) = table.get_mut(spec.key) else {
        return;
    };
    let mut distinct: Vec<&Line> = Vec::new();
    for line in placed.iter().flatten() {
        if !distinct.iter().any(|d| same_cells(&d.cells, &line.cells)) {
            distinct.push(line);
        }
    }
    let everywhere = placed.iter().all(Option::is_some);
    let mut cells = Vec::new();
    for (index, column) in spec.columns.iter().enumerate() {
        let values: Vec<&Cell> = distinct.iter().filter_map(|l| l.cells.get(index)).collect();
        let agreed = everywhere
            && values.first().is_some_and(|f| {
                values
                    .iter()
                    .all(|c| c.value == f.value && c.state == f.state)
            });
        let cell = match values.first() {
            Some(first) if agreed => (*first).clone(),
            _ => {
                let mut candidates: Vec<Decimal> = values.iter().filter_map(|c| c.value).collect();
                candidates.sort();
                candidates.dedup();
                let texts: Vec<&str> = values.iter().map(|c| c.text.as_str()).collect();
                Cell::ambiguous(texts.join("/"), candidates, None)
            }
        };
        out.insert(column.key.to_owned(), cell);
        cells.push(format!("{}.{}", spec.key, column.key));
    }
    let decodings: Vec<Vec<Decimal>> = distinct
        .iter()
        .filter_map(|l| l.cells.iter().map(|c| c.value).collect::<Option<Vec<_>>>())
        .collect();
    ambiguities.push(Ambiguity {
        table: id,
        kind,
        text: summary(distinct.iter().copied()),
        cells,
        decodings,
        position: distinct.first().and_then(|l| l.position.clone()),
    });
}

/// The candidate lines as printed, for people: `0 0 0 0 0 0 0 | 1 0 0 0 0 0 1`.
fn summary<'a>(lines: impl Iterator<Item = &'a Line>) -> String {
    let mut out = String::new();
    for (i, line) in lines.enumerate() {
        if i >= 8 {
            out.push_str(" | …");
            break;
        }
        if i > 0 {
            out.push_str(" | ");
        }
        out.push_str(&line.text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free(n: usize) -> Vec<Line> {
        (0..n)
            .map(|i| Line {
                anchor: None,
                lead: None,
                cells: Vec::new(),
                in_text: true,
                text: i.to_string(),
                position: None,
            })
            .collect()
    }

    fn count(lines: &[Line], rows: usize) -> Option<usize> {
        match search(lines, rows, &mut 0)? {
            Search::Found(f) => Some(f.len()),
            Search::TooMany => None,
        }
    }

    #[test]
    fn placements_are_every_ordered_choice_of_rows() {
        // As many lines as rows: one placement; one line fewer: the left-out row anywhere;
        // one line more: any one line left out.
        assert_eq!(count(&free(25), 25), Some(1));
        assert_eq!(count(&free(24), 25), Some(25));
        assert_eq!(count(&free(26), 25), Some(26));
        assert_eq!(count(&free(3), 6), Some(20));
    }

    #[test]
    fn anchors_split_the_search() {
        let mut lines = free(4);
        lines[2].anchor = Some(3);
        // Lines 0 and 1 before row 3 (rows 0..3: three ways), line 3 after it (rows 4, 5).
        assert_eq!(count(&lines, 6), Some(6));
        lines[1].anchor = Some(4);
        assert_eq!(search(&lines, 6, &mut 0), None);
    }

    /// The sets of rows a run of fragments cuts into, each row as its values' texts;
    /// `None` when too many.
    fn wrapped(lines: &[&'static str]) -> Option<Vec<Vec<String>>> {
        let run: Vec<Fragment> = lines
            .iter()
            .filter_map(|l| {
                Some(Fragment {
                    text: l,
                    values: fragment_values(l)?,
                    position: None,
                })
            })
            .collect();
        let rows = |set: &Vec<Line>| -> Vec<String> {
            set.iter()
                .map(|l| {
                    l.cells
                        .iter()
                        .map(|c| c.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect()
        };
        wrapped_lines(&run, &mut 0).map(|sets| sets.iter().map(rows).collect())
    }

    fn one(rows: &[&str]) -> Option<Vec<Vec<String>>> {
        Some(vec![rows.iter().map(|r| r.to_string()).collect()])
    }

    #[test]
    fn wrapped_rows_are_joined_and_stray_digits_left_out() {
        // Four and three: one row; a stray digit alone: no row.
        assert_eq!(wrapped(&["4 0 0 0", "0 0 4"]), one(&["4 0 0 0 0 0 4"]));
        assert_eq!(wrapped(&["3"]), one(&[]));
        // Six values, a stray 9, the total 4: either single digit could end the row, and
        // only T3-ROW-TOTAL (4 = 4 + 0 + …) says which.
        assert_eq!(wrapped(&["4 0 0 0 0 0", "9", "4"]), one(&["4 0 0 0 0 0 4"]));
        // Neither cut satisfies it: both are candidates, for placement to decide or to
        // report, never a guess and never a row lost.
        assert_eq!(
            wrapped(&["4 0 0 0 0 0", "9", "8"]),
            Some(vec![
                vec!["4 0 0 0 0 0 8".to_owned()],
                vec!["4 0 0 0 0 0 9".to_owned()]
            ])
        );
        // A row that cannot be completed gives nothing.
        assert_eq!(wrapped(&["4 0 0 0", "0 0"]), Some(vec![]));
    }

    #[test]
    fn a_run_with_more_cuts_than_are_listed_is_too_many() {
        // Single digits that may each be noise or a value: many distinct rows of seven.
        assert_eq!(
            wrapped(&["1", "2", "3", "4", "5", "6", "7", "8", "9", "1", "2", "3"]),
            None
        );
    }

    #[test]
    fn fragment_cutting_shares_one_budget() {
        // Runs of two-value lines, each with many cuts: once the section's budget is spent,
        // later runs are too many instead of costing more.
        let texts: Vec<String> = (0..MAX_FRAGMENTS).map(|_| "0 0".to_owned()).collect();
        let run: Vec<Fragment> = texts
            .iter()
            .filter_map(|t| {
                Some(Fragment {
                    text: t,
                    values: fragment_values(t)?,
                    position: None,
                })
            })
            .collect();
        let mut spent = 0;
        for _ in 0..100 {
            wrapped_lines(&run, &mut spent);
            assert!(spent <= MAX_FRAGMENT_STEPS);
        }
        assert_eq!(spent, MAX_FRAGMENT_STEPS);
        let row: Vec<Fragment> = ["4 0 0 0", "0 0 4"]
            .iter()
            .filter_map(|t| {
                Some(Fragment {
                    text: t,
                    values: fragment_values(t)?,
                    position: None,
                })
            })
            .collect();
        assert!(matches!(
            wrapped_lines(&row, &mut 0),
            Some(sets) if sets.len() == 1 && sets[0].len() == 1
        ));
        assert!(wrapped_lines(&row, &mut spent).is_none());
    }

    #[test]
    fn hostile_input_is_too_many_not_slow() {
        // Beyond the step budget, and beyond the number of lines searched at all.
        assert_eq!(count(&free(25), 100), None);
        assert_eq!(count(&free(100), 25), None);
        assert_eq!(count(&free(MAX_VALUE_LINES + 1), 25), None);
    }
}
