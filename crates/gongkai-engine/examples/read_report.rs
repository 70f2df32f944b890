//! Prints the checked report of one file as JSON: `cargo run -p gongkai-engine --example
//! read_report -- FILE`, or with `--document` the document IR the format reader produced. A
//! debugging aid for the engine's developers; the `gongkai check` command is the tool for
//! users.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let document_only = args.iter().any(|a| a == "--document");
    let Some(path) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: read_report [--document] FILE");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    let json = if document_only {
        gongkai_engine::read_format(&bytes, path, gongkai_engine::MAX_INPUT_BYTES)
            .map(|d| serde_json::to_string_pretty(&d))
    } else {
        gongkai_engine::check(&bytes, path).map(|c| serde_json::to_string_pretty(&c))
    };
    match json {
        Ok(Ok(json)) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("{path}: {e} ({})", e.message_zh());
            ExitCode::from(2)
        }
    }
}
