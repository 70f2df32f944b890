//! Prints the checked report of one file as JSON: `cargo run -p gongkai-engine --example
//! read_report -- FILE`. A debugging aid for the engine's developers; the `gongkai check`
//! command is the tool for users.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: read_report FILE");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    match gongkai_engine::check(&bytes, &path) {
        Ok(checked) => {
            match serde_json::to_string_pretty(&checked) {
                Ok(json) => println!("{json}"),
                Err(e) => eprintln!("{e}"),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{path}: {e} ({})", e.message_zh());
            ExitCode::from(2)
        }
    }
}
