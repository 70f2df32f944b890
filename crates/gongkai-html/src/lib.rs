//! HTML to the document IR ([`gongkai_model::Document`]).
//!
//! The page is parsed with an HTML5 parser (html5ever through `scraper`), so broken markup from
//! Word exports and old CMSs is repaired the way a browser repairs it. The reader walks the tree
//! in document order and emits a paragraph for every run of text between block boundaries
//! (`<p>`, `<div>`, `<br>`, …) and a [`GridTable`] for every data table, with `rowspan` and
//! `colspan` expanded so that every row has the same length: the slots a spanning cell covers
//! repeat its text with `spanned` set. Cell text joins the cell's inline pieces (Word splits a
//! single number over several `<span>`s), and a cell holding only `&nbsp;` or spaces is "".
//! Tables that contain other tables are page layout, not data: their cells are read as ordinary
//! content. Nothing here knows about sections or rows of the report.

use gongkai_model::{Block, Document, GridCell, GridTable, Position, SourceFormat};
use scraper::Html;
use scraper::node::Node;

/// Spans wider than this are clamped: no real table is wider, and a hostile `colspan` must not
/// make the grid explode.
const MAX_COLSPAN: usize = 1000;
/// Grid slots per table beyond which further spans are ignored (each cell then fills one slot)
/// and the padded grid is cut to a narrower width. A report's largest table has a few hundred.
const MAX_GRID_SLOTS: usize = 200_000;
/// Element nesting beyond which content is read as plain text without further structure.
const MAX_DEPTH: usize = 256;

/// Why an HTML document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HtmlError {
    #[error("HTML could not be decoded: {0}")]
    Decode(#[from] gongkai_decode::DecodeError),
    #[error(
        "HTML elements are nested {depth} deep, more than the limit of {limit}: refused as damaged or hostile"
    )]
    TooDeep { depth: usize, limit: usize },
}

/// Element nesting refused before parsing. Real pages nest a few dozen deep; the HTML5 tree
/// builder's scope checks walk the stack of open elements, so a hostile nesting of tens of
/// thousands would cost quadratic time.
pub const MAX_NESTING: usize = 2048;

/// Decodes `bytes` (BOM, `<meta charset>`, detection) and reads the HTML.
pub fn read_html(bytes: &[u8]) -> Result<Document, HtmlError> {
    let decoded = gongkai_decode::decode_html(bytes)?;
    read_html_str(&decoded.text, Some(decoded.encoding))
}

/// Reads already decoded HTML; `encoding` is recorded in the document.
pub fn read_html_str(html: &str, encoding: Option<String>) -> Result<Document, HtmlError> {
    let depth = nesting_depth(html.as_bytes());
    if depth > MAX_NESTING {
        return Err(HtmlError::TooDeep {
            depth,
            limit: MAX_NESTING,
        });
    }
    Ok(parse(html, encoding))
}

fn parse(html: &str, encoding: Option<String>) -> Document {
    let parsed = Html::parse_document(html);
    let mut walker = Walker::default();
    walker.walk(parsed.tree.root(), 0);
    walker.flush();
    let has_text = walker.blocks.iter().any(|b| match b {
        Block::Paragraph { text, .. } => !text.is_empty(),
        Block::Table(t) => t.rows.iter().flatten().any(|c| !c.text.is_empty()),
    });
    Document {
        format: SourceFormat::Html,
        encoding,
        blocks: walker.blocks,
        has_text,
    }
}

type NodeRef<'a> = ego_tree::NodeRef<'a, Node>;

/// Elements without content, and elements the parser closes implicitly (`<p>`, `<li>`, `<td>`
/// …): neither deepens the nesting a page really has.
fn opens_nesting(name: &[u8]) -> bool {
    !matches!(
        name,
        b"br"
            | b"img"
            | b"meta"
            | b"link"
            | b"input"
            | b"hr"
            | b"col"
            | b"area"
            | b"base"
            | b"wbr"
            | b"embed"
            | b"source"
            | b"track"
            | b"param"
            | b"p"
            | b"li"
            | b"td"
            | b"th"
            | b"tr"
            | b"option"
            | b"dt"
            | b"dd"
            | b"colgroup"
            | b"tbody"
            | b"thead"
            | b"tfoot"
            | b"html"
            | b"head"
            | b"body"
    )
}

/// The deepest nesting of start tags in `html`, by a linear scan of the bytes (comments,
/// scripts and styles skipped). An over-estimate for sloppy markup, never an under-estimate
/// of what the tree builder will see for the elements counted.
fn nesting_depth(html: &[u8]) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut i = 0usize;
    let find_from = |from: usize, needle: &[u8]| -> usize {
        html.get(from..)
            .and_then(|rest| {
                rest.windows(needle.len())
                    .position(|w| w.eq_ignore_ascii_case(needle))
            })
            .map_or(html.len(), |p| from + p + needle.len())
    };
    while i < html.len() {
        if html[i] != b'<' {
            i += 1;
            continue;
        }
        let rest = &html[i..];
        if rest.starts_with(b"<!--") {
            i = find_from(i + 4, b"-->");
            continue;
        }
        let closing = rest.get(1) == Some(&b'/');
        let name_start = i + 1 + usize::from(closing);
        let name_len = html.get(name_start..).map_or(0, |r| {
            r.iter().take_while(|b| b.is_ascii_alphanumeric()).count()
        });
        if name_len == 0 {
            i += 1;
            continue;
        }
        let name: Vec<u8> = html[name_start..name_start + name_len]
            .iter()
            .map(u8::to_ascii_lowercase)
            .collect();
        let tag_end = find_from(name_start + name_len, b">");
        if closing {
            if opens_nesting(&name) {
                depth = depth.saturating_sub(1);
            }
            i = tag_end;
            continue;
        }
        let self_closing = tag_end >= 2 && html.get(tag_end - 2) == Some(&b'/');
        match name.as_slice() {
            b"script" => i = find_from(tag_end, b"</script"),
            b"style" => i = find_from(tag_end, b"</style"),
            _ => {
                if opens_nesting(&name) && !self_closing {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                i = tag_end;
            }
        }
    }
    deepest
}

#[derive(Default)]
struct Walker {
    blocks: Vec<Block>,
    buffer: String,
    tables: u32,
}

fn is_skipped(name: &str) -> bool {
    matches!(
        name,
        "head"
            | "script"
            | "style"
            | "noscript"
            | "template"
            | "iframe"
            | "object"
            | "svg"
            | "math"
            | "select"
            | "button"
    )
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "li"
            | "ul"
            | "ol"
            | "dl"
            | "dt"
            | "dd"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "main"
            | "nav"
            | "aside"
            | "blockquote"
            | "pre"
            | "center"
            | "form"
            | "hr"
            | "address"
            | "figure"
            | "figcaption"
            | "caption"
            | "tr"
            | "td"
            | "th"
            | "body"
            | "html"
            | "fieldset"
            | "legend"
    )
}

fn is_hidden(element: &scraper::node::Element) -> bool {
    if element.attr("hidden").is_some() {
        return true;
    }
    element.attr("style").is_some_and(|s| {
        // Most styles hide nothing; only those mentioning none/hidden are looked at closely.
        let lower = s.to_ascii_lowercase();
        if !lower.contains("none") && !lower.contains("hidden") {
            return false;
        }
        let s: String = lower
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        s.contains("display:none") || s.contains("visibility:hidden")
    })
}

impl Walker {
    fn walk(&mut self, node: NodeRef<'_>, depth: usize) {
        match node.value() {
            Node::Text(text) => self.buffer.push_str(text),
            Node::Element(element) => {
                let name = element.name();
                if name == "head" {
                    // The page title often repeats the report's title; some pages have no other.
                    for title in node.descendants().filter(|d| element_named(*d, "title")) {
                        self.buffer.push_str(&cell_text(title));
                        self.flush();
                    }
                    return;
                }
                if is_skipped(name) || is_hidden(element) {
                    return;
                }
                if depth > MAX_DEPTH {
                    // Deep nesting is hostile or broken; keep the words, drop the structure.
                    for d in node.descendants() {
                        if let Node::Text(t) = d.value() {
                            self.buffer.push_str(t);
                        }
                    }
                    return;
                }
                match name {
                    "br" => self.flush(),
                    "table" => {
                        self.flush();
                        self.table(node, depth);
                    }
                    _ if is_block(name) => {
                        self.flush();
                        self.children(node, depth);
                        self.flush();
                    }
                    _ => self.children(node, depth),
                }
            }
            Node::Document | Node::Fragment => self.children(node, depth),
            _ => {}
        }
    }

    fn children(&mut self, node: NodeRef<'_>, depth: usize) {
        for child in node.children() {
            self.walk(child, depth + 1);
        }
    }

    fn flush(&mut self) {
        let text = collapse_whitespace(&self.buffer);
        self.buffer.clear();
        if !text.is_empty() {
            self.blocks.push(Block::Paragraph {
                text,
                position: None,
            });
        }
    }

    fn table(&mut self, table: NodeRef<'_>, depth: usize) {
        let is_layout = table
            .descendants()
            .skip(1)
            .any(|d| d.value().as_element().is_some_and(|e| e.name() == "table"));
        if is_layout {
            self.children(table, depth);
            self.flush();
            return;
        }
        let rows = table_rows(table);
        for caption in table.children().filter(|c| element_named(*c, "caption")) {
            self.walk(caption, depth + 1);
            self.flush();
        }
        let grid = build_grid(&rows, self.tables);
        self.tables += 1;
        if !grid.rows.is_empty() {
            self.blocks.push(Block::Table(grid));
        }
    }
}

fn element_named(node: NodeRef<'_>, name: &str) -> bool {
    node.value().as_element().is_some_and(|e| e.name() == name)
}

/// The `<tr>`s of a table (directly or in `thead`/`tbody`/`tfoot`), each with its cells.
fn table_rows(table: NodeRef<'_>) -> Vec<Vec<RawCell>> {
    let mut rows = Vec::new();
    let mut push_row = |tr: NodeRef<'_>| {
        let cells = tr
            .children()
            .filter_map(|c| {
                let e = c.value().as_element()?;
                if e.name() != "td" && e.name() != "th" {
                    return None;
                }
                let span = |attr: &str| {
                    e.attr(attr)
                        .and_then(|v| v.trim().trim_end_matches(';').parse::<usize>().ok())
                };
                Some(RawCell {
                    text: cell_text(c),
                    colspan: span("colspan").unwrap_or(1).clamp(1, MAX_COLSPAN),
                    rowspan: span("rowspan").unwrap_or(1),
                })
            })
            .collect::<Vec<_>>();
        rows.push(cells);
    };
    for child in table.children() {
        if element_named(child, "tr") {
            push_row(child);
        } else if ["thead", "tbody", "tfoot"]
            .iter()
            .any(|n| element_named(child, n))
        {
            for tr in child.children().filter(|c| element_named(*c, "tr")) {
                push_row(tr);
            }
        }
    }
    rows
}

struct RawCell {
    text: String,
    colspan: usize,
    /// 0 means "to the end of the table", as in HTML.
    rowspan: usize,
}

/// The text of a cell: inline pieces joined as they are, block boundaries as one space.
fn cell_text(cell: NodeRef<'_>) -> String {
    let mut out = String::new();
    let mut stack = vec![cell];
    let mut first = true;
    // Iterative pre-order walk so that deeply nested cells cannot exhaust the stack.
    while let Some(node) = stack.pop() {
        match node.value() {
            Node::Text(t) => out.push_str(t),
            Node::Element(e) => {
                if is_skipped(e.name()) || (is_hidden(e) && !first) {
                    continue;
                }
                if !first && (e.name() == "br" || is_block(e.name())) {
                    out.push(' ');
                }
                // Children are pushed last-first so that they pop in document order.
                let mut child = node.last_child();
                while let Some(c) = child {
                    stack.push(c);
                    child = c.prev_sibling();
                }
            }
            _ => {}
        }
        first = false;
    }
    collapse_whitespace(&out)
}

/// Collapses runs of white space (including `&nbsp;` and the ideographic space) to one space
/// and trims; zero-width characters are dropped.
fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if matches!(
            c,
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}' | '\u{AD}'
        ) {
            continue;
        }
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        out.push(c);
    }
    out
}

/// Lays the cells out on a grid, the HTML table model's way: each cell takes the first free
/// slot of its row, spans fill the slots below and to the right, short rows are padded.
fn build_grid(rows: &[Vec<RawCell>], table: u32) -> GridTable {
    let height = rows.len();
    let mut grid: Vec<Vec<Option<GridCell>>> = vec![Vec::new(); height];
    let mut slots = 0usize;
    for (r, cells) in rows.iter().enumerate() {
        let mut c = 0usize;
        for cell in cells {
            while grid[r].get(c).is_some_and(Option::is_some) {
                c += 1;
            }
            let remaining = height - r;
            let mut rowspan = if cell.rowspan == 0 {
                remaining
            } else {
                cell.rowspan.min(remaining)
            };
            let mut colspan = cell.colspan;
            if slots + rowspan * colspan > MAX_GRID_SLOTS {
                rowspan = 1;
                colspan = 1;
            }
            slots += rowspan * colspan;
            for dr in 0..rowspan {
                let row = &mut grid[r + dr];
                for dc in 0..colspan {
                    let col = c + dc;
                    if row.len() <= col {
                        row.resize(col + 1, None);
                    }
                    // An overlapping span (malformed markup) keeps the slot's first owner.
                    if row[col].is_none() {
                        row[col] = Some(GridCell {
                            text: cell.text.clone(),
                            position: Some(grid_position(table, r + dr, col)),
                            spanned: dr != 0 || dc != 0,
                        });
                    }
                }
            }
            c += colspan;
        }
    }
    // Padding short rows to the longest one must not multiply a hostile width by the height.
    let width = grid
        .iter()
        .map(Vec::len)
        .max()
        .unwrap_or(0)
        .min((MAX_GRID_SLOTS / height.max(1)).max(1));
    let rows = grid
        .into_iter()
        .enumerate()
        .map(|(r, row)| {
            let mut row: Vec<GridCell> = row
                .into_iter()
                .take(width)
                .enumerate()
                .map(|(c, slot)| slot.unwrap_or_else(|| padding(table, r, c)))
                .collect();
            while row.len() < width {
                let c = row.len();
                row.push(padding(table, r, c));
            }
            row
        })
        .collect();
    GridTable { rows }
}

/// A slot no cell covers (a short row): empty and marked `spanned`, so that readers that look
/// at origin cells only do not mistake it for a blank value cell.
fn padding(table: u32, row: usize, column: usize) -> GridCell {
    GridCell {
        text: String::new(),
        position: Some(grid_position(table, row, column)),
        spanned: true,
    }
}

fn grid_position(table: u32, row: usize, column: usize) -> Position {
    Position::Grid {
        table,
        row: u32::try_from(row).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(grid: &GridTable) -> Vec<Vec<(String, bool)>> {
        grid.rows
            .iter()
            .map(|r| r.iter().map(|c| (c.text.clone(), c.spanned)).collect())
            .collect()
    }

    fn tables(doc: &Document) -> Vec<&GridTable> {
        doc.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Table(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    fn paragraphs(doc: &Document) -> Vec<&str> {
        doc.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Paragraph { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn paragraphs_split_at_blocks_and_br() {
        let doc = read_html_str(
            "<html><head><title>t</title><style>p{}</style></head><body><p>一、总体情况</p><div>甲<br/>乙 <b>丙</b></div>尾<script>x</script></body></html>",
            None,
        )
        .unwrap();
        assert_eq!(
            paragraphs(&doc),
            vec!["t", "一、总体情况", "甲", "乙 丙", "尾"]
        );
    }

    #[test]
    fn rowspan_and_colspan_are_expanded() {
        let doc = read_html_str(
            "<table><tr><td rowspan=2>A</td><td colspan=2>B</td></tr><tr><td>1</td><td>&nbsp;</td></tr><tr><td>x</td></tr></table>",
            None,
        )
        .unwrap();
        let t = tables(&doc);
        assert_eq!(t.len(), 1);
        let g = texts(t[0]);
        assert_eq!(
            g,
            vec![
                vec![("A".into(), false), ("B".into(), false), ("B".into(), true)],
                vec![("A".into(), true), ("1".into(), false), ("".into(), false)],
                vec![("x".into(), false), ("".into(), true), ("".into(), true)],
            ]
        );
        assert_eq!(
            t[0].rows[1][2].position,
            Some(Position::Grid {
                table: 0,
                row: 1,
                column: 2
            })
        );
    }

    #[test]
    fn word_spans_join_into_one_cell_text() {
        let doc = read_html_str(
            "<table><tr><td><p class=MsoNormal><span lang=EN-US>1</span><span lang=EN-US>2</span><span>3<o:p></o:p></span></p></td><td><p>本年新<br>制作数量</p></td></tr></table>",
            None,
        )
        .unwrap();
        let g = texts(tables(&doc)[0]);
        assert_eq!(g[0][0].0, "123");
        assert_eq!(g[0][1].0, "本年新 制作数量");
    }

    #[test]
    fn layout_tables_are_read_as_content() {
        let doc = read_html_str(
            "<table><tr><td><p>二、主动公开政府信息情况</p><table><tr><td>规章</td><td>1</td></tr></table></td></tr></table>",
            None,
        )
        .unwrap();
        assert_eq!(paragraphs(&doc), vec!["二、主动公开政府信息情况"]);
        let t = tables(&doc);
        assert_eq!(t.len(), 1);
        assert_eq!(texts(t[0])[0][1].0, "1");
    }

    #[test]
    fn hostile_spans_and_nesting_do_not_explode() {
        let doc = read_html_str(
            "<table><tr><td colspan=99999999 rowspan=99999999>x</td></tr><tr><td rowspan=0>y</td></tr></table>",
            None,
        )
        .unwrap();
        let t = tables(&doc);
        let covered = t[0].rows[0].iter().filter(|c| c.text == "x").count();
        assert_eq!(covered, MAX_COLSPAN);
        // y cannot start under x's span, so it lands just right of it.
        assert_eq!(t[0].rows[1].len(), MAX_COLSPAN + 1);
        assert_eq!(t[0].rows[1][MAX_COLSPAN].text, "y");
        // One very wide row over many narrow ones: the padded grid stays bounded.
        let wide = format!(
            "<table><tr>{}</tr>{}</table>",
            "<td colspan=1000>w</td>".repeat(150),
            "<tr><td>n</td></tr>".repeat(5000)
        );
        let doc = read_html_str(&wide, None).unwrap();
        let t = tables(&doc);
        let slots: usize = t[0].rows.iter().map(Vec::len).sum();
        assert!(slots <= 2 * MAX_GRID_SLOTS, "{slots}");
        assert_eq!(t[0].rows.len(), 5001);
        let deep = "<div>".repeat(2000) + "深" + &"</div>".repeat(2000);
        let doc = read_html_str(&deep, None).unwrap();
        assert_eq!(paragraphs(&doc), vec!["深"]);
        let hostile = "<div><span>".repeat(20_000) + "x";
        assert_eq!(
            read_html_str(&hostile, None),
            Err(HtmlError::TooDeep {
                depth: 40_000,
                limit: MAX_NESTING
            })
        );
        // Unclosed paragraphs and cells are closed by the parser: not nesting.
        let sloppy = "<p>a<td>b<br><img src=x>".repeat(10_000);
        assert!(read_html_str(&sloppy, None).is_ok());
    }

    #[test]
    fn gb18030_bytes_with_meta_charset() {
        let html = "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\"></head><body><p>瀍河区</p></body></html>";
        let (bytes, _, _) = encoding_rs::GB18030.encode(html);
        let doc = read_html(&bytes).unwrap();
        assert_eq!(doc.encoding.as_deref(), Some("gb18030"));
        assert_eq!(paragraphs(&doc), vec!["瀍河区"]);
    }
}
