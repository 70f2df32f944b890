//! Plain text and Markdown to the document IR: one paragraph per non-blank line.
//!
//! Table rows that a text source lays out with separators become paragraphs whose cells are
//! joined by `\t`: tab-separated lines stay as they are, Markdown pipe rows (`| a | b |`) and
//! lines whose columns are separated by runs of two or more spaces are rewritten. Markdown
//! delimiter rows (`|---|---|`, `---\t---`) and heading markers (`## `) are dropped. Blank
//! lines are not emitted; the line numbers in the positions keep the gaps visible.

use gongkai_model::{Block, Document, Position, SourceFormat};

/// Decodes `bytes` and reads them as text or Markdown.
pub fn read_text(
    bytes: &[u8],
    format: SourceFormat,
) -> Result<Document, gongkai_decode::DecodeError> {
    let decoded = gongkai_decode::decode_text(bytes)?;
    Ok(read_text_str(&decoded.text, format, Some(decoded.encoding)))
}

/// Reads decoded text; `format` is `Text` or `Markdown` (anything else is read as text).
pub fn read_text_str(text: &str, format: SourceFormat, encoding: Option<String>) -> Document {
    let markdown = format == SourceFormat::Markdown;
    let mut blocks = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line_number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let Some(paragraph) = read_line(line, markdown) else {
            continue;
        };
        blocks.push(Block::Paragraph {
            text: paragraph,
            position: Some(Position::Line {
                line: line_number,
                column: 1,
            }),
        });
    }
    let has_text = !blocks.is_empty();
    Document {
        format: if markdown {
            SourceFormat::Markdown
        } else {
            SourceFormat::Text
        },
        encoding,
        blocks,
        has_text,
    }
}

fn read_line(line: &str, markdown: bool) -> Option<String> {
    if line.trim().is_empty() {
        return None;
    }
    let mut text = line;
    if markdown {
        let trimmed = text.trim_start();
        let hashes = trimmed.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&hashes) && trimmed[hashes..].starts_with(' ') {
            text = trimmed[hashes..].trim();
        }
    }
    // Cells are borrowed from the line and joined once.
    if text.contains('\t') {
        let cells = text.split('\t').map(str::trim);
        // Most tab rows have no space around their cells: the line is its own join.
        if !is_delimiter_row(cells.clone()) && text.split('\t').all(|c| c.len() == c.trim().len()) {
            return Some(text.to_owned());
        }
        return joined(cells, text.len());
    }
    if let Some(cells) = pipe_cells(text) {
        return joined(cells, text.len());
    }
    if (text.contains("  ") || text.contains('\u{3000}'))
        && let Some(cells) = spaced_cells(text)
    {
        return joined(cells.iter().map(String::as_str), text.len());
    }
    Some(text.trim_end().to_owned())
}

/// The cells joined by tabs; `None` for a Markdown delimiter row.
fn joined<'a>(cells: impl Iterator<Item = &'a str> + Clone, capacity: usize) -> Option<String> {
    if is_delimiter_row(cells.clone()) {
        return None;
    }
    let mut out = String::with_capacity(capacity);
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push('\t');
        }
        out.push_str(cell);
    }
    Some(out)
}

/// `| a | b |` → `["a", "b"]`.
fn pipe_cells(line: &str) -> Option<impl Iterator<Item = &str> + Clone> {
    let t = line.trim();
    if !t.starts_with('|') || t.len() < 2 {
        return None;
    }
    let inner = t.strip_prefix('|').unwrap_or(t);
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    Some(inner.split('|').map(str::trim))
}

/// A line whose columns are separated by runs of two or more spaces, with at least two cells
/// that are numbers: a table row laid out with spaces.
fn spaced_cells(line: &str) -> Option<Vec<String>> {
    let mut cells = Vec::new();
    let mut current = String::new();
    let mut spaces = 0usize;
    for c in line.trim().chars() {
        if c == ' ' || c == '\u{3000}' {
            spaces += if c == '\u{3000}' { 2 } else { 1 };
            continue;
        }
        if spaces >= 2 && !current.is_empty() {
            cells.push(std::mem::take(&mut current));
        } else if spaces == 1 {
            current.push(' ');
        }
        spaces = 0;
        current.push(c);
    }
    if !current.is_empty() {
        cells.push(current);
    }
    let numeric = cells
        .iter()
        .filter(|c| {
            matches!(
                crate::number::classify(c),
                crate::number::Printed::Number { .. }
            )
        })
        .count();
    (cells.len() >= 3 && numeric >= 2).then_some(cells)
}

/// `---`, `:---:` in every non-empty cell.
fn is_delimiter_row<'a>(cells: impl Iterator<Item = &'a str>) -> bool {
    let mut any = false;
    for c in cells {
        let c = c.trim();
        if c.is_empty() {
            continue;
        }
        let core = c.trim_start_matches(':').trim_end_matches(':');
        if core.len() < 3 || !core.chars().all(|ch| ch == '-') {
            return false;
        }
        any = true;
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(doc: &Document) -> Vec<(String, u32)> {
        doc.blocks
            .iter()
            .map(|b| match b {
                Block::Paragraph {
                    text,
                    position: Some(Position::Line { line, .. }),
                } => (text.clone(), *line),
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn markdown_pipes_tabs_and_headings() {
        let md = "# 标题\n\n## 一、总体情况\n| 规章 | 1 | 2 |\n|---|---|---|\n行政许可\t66\t4\n---\t---\t---\n";
        let doc = read_text_str(md, SourceFormat::Markdown, None);
        assert_eq!(
            lines(&doc),
            vec![
                ("标题".to_owned(), 1),
                ("一、总体情况".to_owned(), 3),
                ("规章\t1\t2".to_owned(), 4),
                ("行政许可\t66\t4".to_owned(), 6),
            ]
        );
    }

    #[test]
    fn spaced_columns_become_cells() {
        let doc = read_text_str(
            "行政处罚   1,443   -205   188\n本报告 共 3 部分\n",
            SourceFormat::Text,
            None,
        );
        assert_eq!(lines(&doc)[0].0, "行政处罚\t1,443\t-205\t188");
        assert_eq!(lines(&doc)[1].0, "本报告 共 3 部分");
    }

    #[test]
    fn plain_text_keeps_hashes() {
        let doc = read_text_str("## 不是标题\r\n", SourceFormat::Text, None);
        assert_eq!(lines(&doc)[0].0, "## 不是标题");
    }
}
