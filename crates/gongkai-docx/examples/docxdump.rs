//! Prints the blocks `read_docx` finds in a DOCX, tables as rows of `|`-separated cells
//! (spanned copies marked `^`), for eyeballing the reader against a real document.

use gongkai_model::Block;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: docxdump FILE.docx")?;
    let doc = gongkai_docx::read_docx(&std::fs::read(&path)?)?;
    for block in &doc.blocks {
        match block {
            Block::Paragraph { text, .. } => println!("P: {text}"),
            Block::Table(t) => {
                println!(
                    "TABLE {} x {}",
                    t.rows.len(),
                    t.rows.first().map_or(0, Vec::len)
                );
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
