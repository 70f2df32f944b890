//! Times `read` and `check` on files given on the command line (release build):
//! `cargo run --release -p gongkai-engine --example timing -- FILE…`. A word-style HTML of
//! about 320 KB is made from an HTML file with `--inflate` (its spans and styles repeated),
//! to measure the reader on large pages. `--runs N` (or `--runs=N`) sets the number of runs (200); with
//! `--check-only` only `check` runs, which keeps a callgrind profile to the path the
//! benchmark measures.

use std::time::Instant;

fn inflate(html: &str) -> String {
    // Word's export wraps every run in styled spans; repeat that markup until ~320 KB.
    let mut out = String::with_capacity(330_000);
    let styled = html
        .replace("<p>", "<p class=MsoNormal style='mso-line-height-rule:exactly;line-height:20pt'><span style='font-size:12pt;font-family:仿宋_GB2312'>")
        .replace("</p>", "</span></p>");
    let (head, body) = styled.split_once("<body>").unwrap_or(("", &styled));
    out.push_str(head);
    out.push_str("<body>");
    while out.len() + body.len() < 320_000 {
        out.push_str("<div style='display:none'><!-- padding -->");
        out.push_str(&"<p class=MsoNormal><span lang=EN-US style='font-size:12pt'><o:p>&nbsp;</o:p></span></p>".repeat(40));
        out.push_str("</div>");
    }
    out.push_str(body);
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let do_inflate = args.iter().any(|a| a == "--inflate");
    let check_only = args.iter().any(|a| a == "--check-only");
    // `--runs N` or `--runs=N`.
    let runs: u32 = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
        .or_else(|| args.iter().find_map(|a| a.strip_prefix("--runs=")))
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let is_path =
        |(i, a): &(usize, &String)| !a.starts_with("--") && (*i == 0 || args[*i - 1] != "--runs");
    for (_, path) in args.iter().enumerate().filter(is_path) {
        let Ok(mut bytes) = std::fs::read(path) else {
            eprintln!("{path}: unreadable");
            continue;
        };
        if do_inflate {
            bytes = inflate(&String::from_utf8_lossy(&bytes)).into_bytes();
        }
        if args.iter().any(|a| a == "--read-only") {
            for _ in 0..runs * 10 {
                let _ = std::hint::black_box(gongkai_engine::read(&bytes, path));
            }
            continue;
        }
        let start = Instant::now();
        for _ in 0..runs {
            let _ = std::hint::black_box(gongkai_engine::check(&bytes, path));
        }
        let per = start.elapsed() / runs;
        if check_only {
            println!("{path} ({} bytes): check {per:?}", bytes.len());
            continue;
        }
        let start = Instant::now();
        for _ in 0..runs {
            let _ = std::hint::black_box(gongkai_engine::read(&bytes, path));
        }
        let read = start.elapsed() / runs;
        let start = Instant::now();
        for _ in 0..runs {
            let _ = std::hint::black_box(gongkai_engine::read_format(
                &bytes,
                path,
                gongkai_engine::MAX_INPUT_BYTES,
            ));
        }
        let format = start.elapsed() / runs;
        println!(
            "{path} ({} bytes): check {per:?}, read {read:?}, format reader {format:?}",
            bytes.len()
        );
    }
}
