//! The reader as it was before the fast builder (html5ever's DOM walked directly), kept for
//! tests: every page must read the same through the new paths.

use super::{Block, Document, RawCell, SourceFormat, build_grid};
use scraper::Html;
use scraper::node::Node;

const MAX_COLSPAN: usize = super::MAX_COLSPAN;
const MAX_DEPTH: usize = super::MAX_DEPTH;

pub(crate) fn parse(html: &str) -> Document {
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
        encoding: None,
        blocks: walker.blocks,
        has_text,
    }
}

type NodeRef<'a> = ego_tree::NodeRef<'a, Node>;

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
