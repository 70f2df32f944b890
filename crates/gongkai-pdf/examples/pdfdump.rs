//! Prints the blocks `read_pdf` finds in a PDF, one per line, tables as rows of `|`-separated
//! cells (spanned copies marked `^`), for eyeballing a reader change against a real report.

use gongkai_model::Block;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: pdfdump FILE.pdf")?;
    let bytes = std::fs::read(&path)?;
    let doc = gongkai_pdf::read_pdf(&bytes)?;
    println!("has_text: {}", doc.has_text);
    for block in &doc.blocks {
        match block {
            Block::Paragraph { text, position } => println!("P {position:?}: {text}"),
            Block::Table(t) => {
                let width = t.rows.first().map_or(0, Vec::len);
                println!("TABLE {} x {}", t.rows.len(), width);
                for row in &t.rows {
                    let cells: Vec<String> = row
                        .iter()
                        .map(|c| {
                            if c.spanned {
                                format!("^{}", c.text)
                            } else {
                                c.text.clone()
                            }
                        })
                        .collect();
                    println!("  | {}", cells.join(" | "));
                }
            }
        }
    }
    Ok(())
}
