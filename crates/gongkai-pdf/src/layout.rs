//! Page layout: turns the glyphs and rulings of each page into the blocks of the document IR.
//!
//! Tables are found from their rulings: the horizontal and vertical strokes that touch each
//! other form one table; the distinct stroke positions give the grid lines, and grid slots with
//! no stroke between them belong to one merged cell. Every glyph whose centre falls in a cell is
//! that cell's text, however the producer wrapped it (a label over three lines with its numbers
//! on the middle line is still one row; a label printed one character per line is still one
//! merged cell). A table whose last part ends a page and whose next part starts the following
//! page is joined into one grid, the page footer between them dropped. The remaining glyphs form
//! lines (by baseline), lines become paragraphs (by indentation and line fullness), and a line
//! with wide gaps keeps its pieces apart with `\t`.

use crate::content::{Glyph, PageContent, Rule};
use gongkai_model::{Block, GridCell, GridTable, Position};

/// Gap (in ems) above which two glyphs of a prose line belong to different segments.
const SEGMENT_GAP_EM: f32 = 2.0;
/// Gap (in ems) above which a space is inserted between two glyphs.
const SPACE_GAP_EM: f32 = 0.25;
/// Distance (in points) within which two rulings count as the same grid line.
const GRID_TOLERANCE: f32 = 2.5;
/// Largest grid a table may have before it is given up as a table (a chart, a pattern); the
/// report's largest table has 28 x 10.
const MAX_GRID_SLOTS: usize = 20_000;
/// Most tables looked for on one page.
const MAX_GRIDS_PER_PAGE: usize = 64;
/// Most glyphs one table cell may hold; more is a framed page of prose.
const MAX_CELL_GLYPHS: usize = 400;

/// One line of prose.
#[derive(Debug, Clone)]
struct Line {
    page: u32,
    x0: f32,
    y0: f32,
    x1: f32,
    y1: f32,
    size: f32,
    /// Pieces separated by wide gaps.
    segments: Vec<String>,
}

/// One cell of a table part, in page coordinates.
#[derive(Debug, Clone)]
struct CellBox {
    x0: f32,
    y0: f32,
    x1: f32,
    y1: f32,
    text: String,
    position: Position,
}

/// The part of a table drawn on one page.
#[derive(Debug, Clone)]
struct TablePart {
    x0: f32,
    y0: f32,
    x1: f32,
    y1: f32,
    cells: Vec<CellBox>,
}

#[derive(Debug, Clone)]
enum Item {
    Line(Line),
    Table(TablePart),
}

impl Item {
    fn top(&self) -> f32 {
        match self {
            Item::Line(l) => l.y0,
            Item::Table(t) => t.y0,
        }
    }
}

/// The items of one page in reading order, page chrome removed.
pub(crate) struct PageItems {
    items: Vec<Item>,
}

pub(crate) fn page_items(page: u32, content: &PageContent) -> PageItems {
    let grids = find_grids(&content.rules);
    let mut in_table = vec![false; content.glyphs.len()];
    let mut items = Vec::new();
    for grid in &grids {
        let mut slot_glyphs: Vec<Vec<&Glyph>> = vec![Vec::new(); grid.cells.len()];
        let mut taken = Vec::new();
        for (i, g) in content.glyphs.iter().enumerate() {
            if !in_table[i]
                && let Some(cell) = grid.cell_at(g.cx(), g.cy())
            {
                taken.push(i);
                slot_glyphs[cell].push(g);
            }
        }
        // A box holding a page of prose is a frame, not a table cell.
        if slot_glyphs.iter().any(|g| g.len() > MAX_CELL_GLYPHS) {
            continue;
        }
        for i in taken {
            in_table[i] = true;
        }
        let cells = grid
            .cells
            .iter()
            .zip(slot_glyphs)
            .map(|(&(r0, r1, c0, c1), glyphs)| {
                let (x0, y0) = (grid.xs[c0], grid.ys[r0]);
                let first = glyphs.iter().min_by(|a, b| {
                    (a.y0, a.x0)
                        .partial_cmp(&(b.y0, b.x0))
                        .unwrap_or(std::cmp::Ordering::Equal)
                });
                let position = match first {
                    Some(g) => page_position(page, g.x0, g.y0),
                    None => page_position(page, x0, y0),
                };
                CellBox {
                    x0,
                    y0,
                    x1: grid.xs[c1],
                    y1: grid.ys[r1],
                    text: cell_text(glyphs),
                    position,
                }
            })
            .collect();
        items.push(Item::Table(TablePart {
            x0: grid.xs[0],
            y0: grid.ys[0],
            x1: grid.xs[grid.xs.len() - 1],
            y1: grid.ys[grid.ys.len() - 1],
            cells,
        }));
    }
    let prose: Vec<&Glyph> = content
        .glyphs
        .iter()
        .zip(&in_table)
        .filter(|(_, t)| !**t)
        .map(|(g, _)| g)
        .collect();
    for glyphs in group_lines(prose) {
        let line = make_line(page, &glyphs);
        if !is_page_chrome(&line, content.height) {
            items.push(Item::Line(line));
        }
    }
    items.sort_by(|a, b| {
        a.top()
            .partial_cmp(&b.top())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    PageItems { items }
}

fn page_position(page: u32, x: f32, y: f32) -> Position {
    Position::Page {
        page,
        x: x.round() as i32,
        y: y.round() as i32,
    }
}

/// Groups glyphs into lines by the vertical centre, each line left to right.
fn group_lines(mut glyphs: Vec<&Glyph>) -> Vec<Vec<&Glyph>> {
    glyphs.sort_by(|a, b| {
        a.cy()
            .partial_cmp(&b.cy())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut lines: Vec<Vec<&Glyph>> = Vec::new();
    let mut line_cy = f32::NEG_INFINITY;
    let mut line_size = 0.0f32;
    for g in glyphs {
        let tolerance = 0.45 * line_size.max(g.size);
        match lines.last_mut() {
            Some(line) if (g.cy() - line_cy).abs() <= tolerance => {
                let n = line.len() as f32;
                line_cy = (line_cy * n + g.cy()) / (n + 1.0);
                line_size = line_size.max(g.size);
                line.push(g);
            }
            _ => {
                line_cy = g.cy();
                line_size = g.size;
                lines.push(vec![g]);
            }
        }
    }
    for line in &mut lines {
        line.sort_by(|a, b| a.x0.partial_cmp(&b.x0).unwrap_or(std::cmp::Ordering::Equal));
        // A glyph drawn twice at (nearly) the same place is fake bold, not two characters.
        line.dedup_by(|b, a| a.text == b.text && (b.x0 - a.x0).abs() < 0.2 * a.size.max(b.size));
    }
    lines
}

/// The text of one line, split at gaps wider than `segment_gap` ems (never, when `None`).
fn line_segments(glyphs: &[&Glyph], segment_gap: Option<f32>) -> Vec<String> {
    let mut segments = vec![String::new()];
    let mut previous: Option<&Glyph> = None;
    for g in glyphs {
        if let Some(p) = previous {
            let em = p.size.max(g.size);
            let gap = g.x0 - p.x1;
            if segment_gap.is_some_and(|s| gap > s * em) {
                segments.push(String::new());
            } else if gap > SPACE_GAP_EM * em
                && let Some(current) = segments.last_mut()
                && !current.ends_with(char::is_whitespace)
                // Chinese text has no word spaces: a gap between two Chinese characters is
                // justification or a distributed label, never a space.
                && !(current.chars().last().is_some_and(is_cjk)
                    && g.text.chars().next().is_some_and(is_cjk))
            {
                current.push(' ');
            }
        }
        if let Some(current) = segments.last_mut() {
            current.push_str(&g.text);
        }
        previous = Some(g);
    }
    segments
}

/// Chinese characters, CJK punctuation and full-width forms.
fn is_cjk(c: char) -> bool {
    matches!(c, '\u{2E80}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{FF00}'..='\u{FFEF}')
}

fn make_line(page: u32, glyphs: &[&Glyph]) -> Line {
    let fold = |f: fn(&Glyph) -> f32, init: f32, op: fn(f32, f32) -> f32| {
        glyphs.iter().map(|g| f(g)).fold(init, op)
    };
    let mut sizes: Vec<f32> = glyphs.iter().map(|g| g.size).collect();
    sizes.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    Line {
        page,
        x0: fold(|g| g.x0, f32::INFINITY, f32::min),
        y0: fold(|g| g.y0, f32::INFINITY, f32::min),
        x1: fold(|g| g.x1, f32::NEG_INFINITY, f32::max),
        y1: fold(|g| g.y1, f32::NEG_INFINITY, f32::max),
        size: sizes.get(sizes.len() / 2).copied().unwrap_or(10.0),
        segments: line_segments(glyphs, Some(SEGMENT_GAP_EM)),
    }
}

/// Joins two pieces of text: nothing between Chinese characters (a wrapped line continues the
/// word), a space between two Latin words or numbers.
pub(crate) fn join_text(out: &mut String, next: &str) {
    let next = next.trim();
    if next.is_empty() {
        return;
    }
    if let (Some(a), Some(b)) = (out.chars().last(), next.chars().next())
        && a.is_ascii_alphanumeric()
        && b.is_ascii_alphanumeric()
    {
        out.push(' ');
    }
    out.push_str(next);
}

fn cell_text(glyphs: Vec<&Glyph>) -> String {
    let mut text = String::new();
    for line in group_lines(glyphs) {
        for segment in line_segments(&line, None) {
            join_text(&mut text, &segment);
        }
    }
    text
}

/// Page numbers and `第 3 页` lines in the top or bottom margin.
fn is_page_chrome(line: &Line, page_height: f32) -> bool {
    let in_margin = line.y0 > page_height * 0.85 || line.y1 < page_height * 0.08;
    if !in_margin {
        return false;
    }
    let text: String = line
        .segments
        .concat()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    is_page_number(&text)
}

pub(crate) fn is_page_number(text: &str) -> bool {
    let dashes = |c: char| matches!(c, '-' | '—' | '–' | '－' | '一' | '⼀' | '·');
    let core = text.trim_matches(dashes);
    let digits = |s: &str| !s.is_empty() && s.len() <= 5 && s.chars().all(|c| c.is_ascii_digit());
    if digits(core) {
        return true;
    }
    // 第3页, 第3页共6页, 共6页第3页, 3/6
    let stripped: String = core.replace("共", " ").replace(['第', '页', '/'], " ");
    let parts: Vec<&str> = stripped.split_whitespace().collect();
    !parts.is_empty()
        && parts.len() <= 2
        && parts.iter().all(|p| digits(p))
        && (core.contains('页') || core.contains('/'))
}

// ---- tables from rulings ----------------------------------------------------------------

/// A table grid on one page: the grid lines and the merged cells as slot ranges
/// `(row start, row end, column start, column end)`, ends exclusive.
#[derive(Debug)]
struct Grid {
    xs: Vec<f32>,
    ys: Vec<f32>,
    cells: Vec<(usize, usize, usize, usize)>,
    /// For each slot (row-major), the index of its cell.
    owner: Vec<usize>,
}

impl Grid {
    fn cell_at(&self, x: f32, y: f32) -> Option<usize> {
        let (xs, ys) = (&self.xs, &self.ys);
        if x < xs[0] - 1.0
            || x > xs[xs.len() - 1] + 1.0
            || y < ys[0] - 1.0
            || y > ys[ys.len() - 1] + 1.0
        {
            return None;
        }
        let c = xs.partition_point(|&v| v <= x).clamp(1, xs.len() - 1) - 1;
        let r = ys.partition_point(|&v| v <= y).clamp(1, ys.len() - 1) - 1;
        self.owner.get(r * (xs.len() - 1) + c).copied()
    }
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind((0..n).collect())
    }
    fn find(&mut self, mut i: usize) -> usize {
        while self.0[i] != i {
            self.0[i] = self.0[self.0[i]];
            i = self.0[i];
        }
        i
    }
    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.0[b] = a;
        }
    }
}

/// Joins collinear overlapping strokes so that a border drawn in pieces is one rule.
fn merge_collinear(mut rules: Vec<Rule>, horizontal: bool) -> Vec<Rule> {
    // (position across the rule, start along it, end along it)
    let key = |r: &Rule| {
        if horizontal {
            (r.y0, r.x0, r.x1)
        } else {
            (r.x0, r.y0, r.y1)
        }
    };
    rules.sort_by(|a, b| {
        key(a)
            .0
            .partial_cmp(&key(b).0)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    // Rules within 0.8 pt of each other across their direction lie on one line.
    let mut lines: Vec<Vec<(f32, f32, f32)>> = Vec::new();
    let mut last_across = f32::NEG_INFINITY;
    for r in &rules {
        let k = key(r);
        match lines.last_mut() {
            Some(line) if k.0 - last_across < 0.8 => line.push(k),
            _ => lines.push(vec![k]),
        }
        last_across = k.0;
    }
    let mut out = Vec::new();
    for mut line in lines {
        line.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal));
        let mut current: Option<(f32, f32, f32, usize)> = None; // (sum across, start, end, n)
        for (across, start, end) in line {
            current = match current {
                Some((sum, s0, e0, n)) if start <= e0 + 1.0 => {
                    Some((sum + across, s0, e0.max(end), n + 1))
                }
                Some(done) => {
                    out.push(done);
                    Some((across, start, end, 1))
                }
                None => Some((across, start, end, 1)),
            };
        }
        out.extend(current);
    }
    out.into_iter()
        .map(|(sum, start, end, n)| {
            let across = sum / n as f32;
            if horizontal {
                Rule {
                    x0: start,
                    x1: end,
                    y0: across,
                    y1: across,
                }
            } else {
                Rule {
                    x0: across,
                    x1: across,
                    y0: start,
                    y1: end,
                }
            }
        })
        .collect()
}

/// Groups values that lie within `GRID_TOLERANCE` of each other; returns the group means.
fn cluster(mut values: Vec<f32>) -> Vec<f32> {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let mut groups: Vec<(f32, usize, f32)> = Vec::new(); // (sum, count, last)
    for v in values {
        match groups.last_mut() {
            Some((sum, n, last)) if v - *last <= GRID_TOLERANCE => {
                *sum += v;
                *n += 1;
                *last = v;
            }
            _ => groups.push((v, 1, v)),
        }
    }
    groups.into_iter().map(|(s, n, _)| s / n as f32).collect()
}

fn find_grids(rules: &[Rule]) -> Vec<Grid> {
    let hs = merge_collinear(
        rules.iter().copied().filter(Rule::horizontal).collect(),
        true,
    );
    let vs = merge_collinear(
        rules.iter().copied().filter(|r| !r.horizontal()).collect(),
        false,
    );
    let t = GRID_TOLERANCE;
    let mut uf = UnionFind::new(hs.len() + vs.len());
    for (i, h) in hs.iter().enumerate() {
        for (j, v) in vs.iter().enumerate() {
            if v.x0 >= h.x0 - t && v.x0 <= h.x1 + t && h.y0 >= v.y0 - t && h.y0 <= v.y1 + t {
                uf.union(i, hs.len() + j);
            }
        }
    }
    let mut groups: std::collections::BTreeMap<usize, (Vec<Rule>, Vec<Rule>)> =
        std::collections::BTreeMap::new();
    for (i, h) in hs.iter().enumerate() {
        groups.entry(uf.find(i)).or_default().0.push(*h);
    }
    for (j, v) in vs.iter().enumerate() {
        groups.entry(uf.find(hs.len() + j)).or_default().1.push(*v);
    }
    groups
        .into_values()
        .filter_map(|(h, v)| grid_from_rules(&h, &v))
        .take(MAX_GRIDS_PER_PAGE)
        .collect()
}

fn grid_from_rules(hs: &[Rule], vs: &[Rule]) -> Option<Grid> {
    if hs.len() < 2 || vs.len() < 2 {
        return None;
    }
    let mut xs = cluster(vs.iter().map(|v| v.x0).collect());
    let mut ys = cluster(hs.iter().map(|h| h.y0).collect());
    // A table cut by a page break has no border where it was cut, and some tables have no
    // side borders: the strokes that reach past the outermost grid lines stand for them.
    let open_edges = |lines: &mut Vec<f32>, low: f32, high: f32| {
        if let (Some(&first), Some(&last)) = (lines.first(), lines.last()) {
            if low < first - 3.0 {
                lines.insert(0, low);
            }
            if high > last + 3.0 {
                lines.push(high);
            }
        }
    };
    open_edges(
        &mut ys,
        vs.iter().map(|v| v.y0).fold(f32::INFINITY, f32::min),
        vs.iter().map(|v| v.y1).fold(f32::NEG_INFINITY, f32::max),
    );
    open_edges(
        &mut xs,
        hs.iter().map(|h| h.x0).fold(f32::INFINITY, f32::min),
        hs.iter().map(|h| h.x1).fold(f32::NEG_INFINITY, f32::max),
    );
    let (ncols, nrows) = (xs.len().checked_sub(1)?, ys.len().checked_sub(1)?);
    // A page frame, a box around a paragraph, or a frame with a rule under the letterhead is
    // not a table: a table has at least two columns (one row is enough: the last row of a
    // table may be all that a page break left for the next page).
    if ncols < 2 || nrows < 1 || ncols * nrows > MAX_GRID_SLOTS {
        return None;
    }
    // The strokes lying on each grid line, as (start, end) along it, so that each wall test
    // looks at one line's strokes only.
    let on_lines = |lines: &[f32], rules: &[Rule], vertical: bool| {
        let mut buckets: Vec<Vec<(f32, f32)>> = vec![Vec::new(); lines.len()];
        for r in rules {
            let (across, start, end) = if vertical {
                (r.x0, r.y0, r.y1)
            } else {
                (r.y0, r.x0, r.x1)
            };
            let i = lines.partition_point(|&l| l < across - GRID_TOLERANCE);
            if let Some(bucket) = buckets.get_mut(i)
                && (lines[i] - across).abs() <= GRID_TOLERANCE
            {
                bucket.push((start, end));
            }
        }
        buckets
    };
    let verticals = on_lines(&xs, vs, true);
    let horizontals = on_lines(&ys, hs, false);
    let covers = |strokes: &[(f32, f32)], mid: f32| {
        strokes
            .iter()
            .any(|&(start, end)| start <= mid + 1.0 && end >= mid - 1.0)
    };
    let wall_right = |r: usize, c: usize| covers(&verticals[c + 1], (ys[r] + ys[r + 1]) / 2.0);
    let wall_below = |r: usize, c: usize| covers(&horizontals[r + 1], (xs[c] + xs[c + 1]) / 2.0);
    let mut uf = UnionFind::new(ncols * nrows);
    for r in 0..nrows {
        for c in 0..ncols {
            if c + 1 < ncols && !wall_right(r, c) {
                uf.union(r * ncols + c, r * ncols + c + 1);
            }
            if r + 1 < nrows && !wall_below(r, c) {
                uf.union(r * ncols + c, (r + 1) * ncols + c);
            }
        }
    }
    let mut root_cell: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    let mut cells: Vec<(usize, usize, usize, usize)> = Vec::new();
    let mut owner = vec![0usize; ncols * nrows];
    for r in 0..nrows {
        for c in 0..ncols {
            let root = uf.find(r * ncols + c);
            let id = *root_cell.entry(root).or_insert_with(|| {
                cells.push((r, r + 1, c, c + 1));
                cells.len() - 1
            });
            let cell = &mut cells[id];
            cell.0 = cell.0.min(r);
            cell.1 = cell.1.max(r + 1);
            cell.2 = cell.2.min(c);
            cell.3 = cell.3.max(c + 1);
            owner[r * ncols + c] = id;
        }
    }
    Some(Grid {
        xs,
        ys,
        cells,
        owner,
    })
}

// ---- the document ------------------------------------------------------------------------

/// Builds one grid from the parts of a table (one per page), stacked in order.
fn grid_table(parts: &[TablePart]) -> Option<GridTable> {
    let mut cells: Vec<CellBox> = Vec::new();
    let mut bottom = 0.0f32;
    for part in parts {
        let shift = bottom - part.y0;
        for c in &part.cells {
            cells.push(CellBox {
                y0: c.y0 + shift,
                y1: c.y1 + shift,
                ..c.clone()
            });
        }
        bottom = part.y1 + shift;
    }
    let xs = cluster(cells.iter().flat_map(|c| [c.x0, c.x1]).collect());
    let ys = cluster(cells.iter().flat_map(|c| [c.y0, c.y1]).collect());
    let (ncols, nrows) = (xs.len().checked_sub(1)?, ys.len().checked_sub(1)?);
    if ncols == 0 || nrows == 0 || ncols * nrows > MAX_GRID_SLOTS {
        return None;
    }
    let nearest = |lines: &[f32], v: f32| {
        lines
            .iter()
            .enumerate()
            .min_by(|a, b| {
                (a.1 - v)
                    .abs()
                    .partial_cmp(&(b.1 - v).abs())
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
            .map_or(0, |(i, _)| i)
    };
    let mut slots: Vec<Vec<Option<GridCell>>> = vec![vec![None; ncols]; nrows];
    for cell in &cells {
        let (c0, c1) = (nearest(&xs, cell.x0), nearest(&xs, cell.x1));
        let (r0, r1) = (nearest(&ys, cell.y0), nearest(&ys, cell.y1));
        let mut origin_done = false;
        for row in slots.iter_mut().take(r1).skip(r0) {
            for slot in row.iter_mut().take(c1).skip(c0) {
                if slot.is_none() {
                    *slot = Some(GridCell {
                        text: cell.text.clone(),
                        position: Some(cell.position.clone()),
                        spanned: origin_done,
                    });
                    origin_done = true;
                }
            }
        }
    }
    let rows = slots
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|s| {
                    s.unwrap_or(GridCell {
                        text: String::new(),
                        position: None,
                        spanned: false,
                    })
                })
                .collect()
        })
        .collect();
    Some(GridTable { rows })
}

/// Assembles the pages into blocks: tables continued across a page break are joined, prose
/// lines are joined into paragraphs.
pub(crate) fn assemble(pages: Vec<PageItems>) -> Vec<Block> {
    // Robust margins of the prose over the whole document.
    let mut lefts: Vec<f32> = Vec::new();
    let mut rights: Vec<f32> = Vec::new();
    let mut sizes: Vec<f32> = Vec::new();
    for p in &pages {
        for item in &p.items {
            if let Item::Line(l) = item {
                lefts.push(l.x0);
                rights.push(l.x1);
                sizes.push(l.size);
            }
        }
    }
    let percentile = |v: &mut Vec<f32>, q: f32| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        v.get(((v.len() as f32 - 1.0) * q).round().max(0.0) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let left = percentile(&mut lefts, 0.05);
    let right = percentile(&mut rights, 0.95);
    let body_size = percentile(&mut sizes, 0.5);

    enum Pending {
        Table(Vec<TablePart>),
        Paragraph { lines: Vec<Line> },
    }
    let mut out: Vec<Pending> = Vec::new();
    for page in pages {
        let count = page.items.len();
        for (index, item) in page.items.into_iter().enumerate() {
            let first_on_page = index == 0;
            match item {
                Item::Table(part) => {
                    if first_on_page
                        && let Some(Pending::Table(parts)) = out.last_mut()
                        && let Some(prev) = parts.last()
                        && (prev.x0 - part.x0).abs() < 15.0
                        && (prev.x1 - part.x1).abs() < 15.0
                    {
                        parts.push(part);
                    } else {
                        out.push(Pending::Table(vec![part]));
                    }
                }
                Item::Line(line) => {
                    let continues = match out.last() {
                        Some(Pending::Paragraph { lines }) => lines.last().is_some_and(|p| {
                            let full = p.x1 >= right - 2.0 * p.size;
                            let indented = line.x0 > left + 1.2 * line.size;
                            let single = p.segments.len() == 1 && line.segments.len() == 1;
                            let same_size = (p.size - line.size).abs() <= 0.2 * p.size;
                            let flows = if p.page == line.page {
                                line.y0 - p.y1 < 2.5 * line.size
                            } else {
                                first_on_page
                            };
                            let prose = full && !indented;
                            // Titles set larger than the body and centred run over several lines.
                            let centre = (left + right) / 2.0;
                            let title = p.size > 1.15 * body_size
                                && ((p.x0 + p.x1) / 2.0 - centre).abs() < 2.0 * p.size
                                && ((line.x0 + line.x1) / 2.0 - centre).abs() < 2.0 * p.size
                                && p.page == line.page
                                && line.y0 - p.y1 < p.size;
                            single && same_size && flows && (prose || title)
                        }),
                        _ => false,
                    };
                    let _ = count;
                    match out.last_mut() {
                        Some(Pending::Paragraph { lines }) if continues => lines.push(line),
                        _ => out.push(Pending::Paragraph { lines: vec![line] }),
                    }
                }
            }
        }
    }
    let mut blocks = Vec::new();
    for pending in out {
        match pending {
            Pending::Table(parts) => match grid_table(&parts) {
                Some(table) => blocks.push(Block::Table(table)),
                None => {
                    for part in parts {
                        for cell in part.cells.into_iter().filter(|c| !c.text.is_empty()) {
                            blocks.push(Block::Paragraph {
                                text: cell.text,
                                position: Some(cell.position),
                            });
                        }
                    }
                }
            },
            Pending::Paragraph { lines } => {
                let position = lines.first().map(|l| page_position(l.page, l.x0, l.y0));
                let text = if lines.len() == 1 {
                    lines
                        .into_iter()
                        .next()
                        .map(|l| l.segments.join("\t"))
                        .unwrap_or_default()
                } else {
                    let mut text = String::new();
                    for l in lines {
                        join_text(&mut text, &l.segments.concat());
                    }
                    text
                };
                blocks.push(Block::Paragraph { text, position });
            }
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers_are_recognised() {
        for t in [
            "-3-",
            "- 5 -",
            "—12—",
            "第3页",
            "第3页共6页",
            "共6页第3页",
            "3/6",
            "7",
        ] {
            let t: String = t.chars().filter(|c| !c.is_whitespace()).collect();
            assert!(is_page_number(&t), "{t}");
        }
        for t in ["三、本年度", "2024年", "第二十条", "-", "123456"] {
            assert!(!is_page_number(t), "{t}");
        }
    }

    #[test]
    fn join_text_spaces_only_between_latin_words() {
        let mut s = String::from("申请人无正当理由逾期不补");
        join_text(&mut s, "正、行政机关");
        assert_eq!(s, "申请人无正当理由逾期不补正、行政机关");
        let mut s = String::from("Other");
        join_text(&mut s, "results");
        assert_eq!(s, "Other results");
    }

    fn rule(x0: f32, y0: f32, x1: f32, y1: f32) -> Rule {
        Rule { x0, y0, x1, y1 }
    }

    #[test]
    fn a_page_frame_with_a_rule_under_the_letterhead_is_not_a_table() {
        let rules = vec![
            rule(30.0, 30.0, 560.0, 30.0),
            rule(30.0, 120.0, 560.0, 120.0),
            rule(30.0, 810.0, 560.0, 810.0),
            rule(30.0, 30.0, 30.0, 810.0),
            rule(560.0, 30.0, 560.0, 810.0),
        ];
        assert!(find_grids(&rules).is_empty());
    }

    #[test]
    fn a_double_rule_is_not_a_table_and_no_panic() {
        let rules = vec![
            rule(0.0, 100.0, 100.0, 100.0),
            rule(0.0, 101.0, 100.0, 101.0),
            rule(0.0, 100.0, 0.0, 101.0),
            rule(50.0, 100.0, 50.0, 101.0),
            rule(100.0, 100.0, 100.0, 101.0),
        ];
        assert!(find_grids(&rules).is_empty());
    }

    #[test]
    fn a_page_of_hatching_is_cheap_and_no_table() {
        // 2 500 x 2 500 crossing strokes: far more slots than any table has.
        let mut rules = Vec::new();
        for i in 0..2_500 {
            let v = i as f32 * 3.0;
            rules.push(rule(0.0, v, 7_500.0, v));
            rules.push(rule(v, 0.0, v, 7_500.0));
        }
        let start = std::time::Instant::now();
        assert!(find_grids(&rules).is_empty());
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn a_missing_wall_merges_slots_into_one_cell() {
        // 2 x 3 grid; the first column's middle wall is missing: one cell spanning both rows.
        let mut rules = vec![
            rule(0.0, 0.0, 300.0, 0.0),
            rule(100.0, 20.0, 300.0, 20.0),
            rule(0.0, 40.0, 300.0, 40.0),
        ];
        for x in [0.0, 100.0, 200.0, 300.0] {
            rules.push(rule(x, 0.0, x, 40.0));
        }
        let grids = find_grids(&rules);
        assert_eq!(grids.len(), 1);
        let g = &grids[0];
        assert_eq!((g.xs.len(), g.ys.len()), (4, 3));
        assert_eq!(g.cells.len(), 5);
        assert_eq!(g.cell_at(50.0, 10.0), g.cell_at(50.0, 30.0));
        assert_ne!(g.cell_at(150.0, 10.0), g.cell_at(150.0, 30.0));
    }
}
