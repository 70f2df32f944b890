//! `gongkai check FILE... [--json]`: read each report (a file, or `-` for standard input), run
//! the engine (format sniffing, reading, the rules) and print the result — for a person as
//! aligned tables and grouped findings, or with `--json` as the §8 object, one per line.
//!
//! Exit code: 0 when no report has an error finding, 1 when one has, 2 when an input could not
//! be read at all (the reason goes to standard error in Chinese and English, naming the file;
//! with `--json` the input also gets its line, §8's error object with a stable `kind`).
//! Every input is processed even after one fails.

mod text;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use gongkai_model::{CheckedReport, ReadFailure, Unreadable, UnreadableSource};
use std::io::{IsTerminal as _, Read, Write};
use std::path::Path;
use std::process::ExitCode;

/// When to colour the output for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// 报告文件（.txt .md .html .pdf .docx）；`-` 读标准输入 / report files; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,
    /// 输出 §8 的 JSON，每个报告一行 / print the §8 JSON object, one line per report.
    #[arg(long)]
    json: bool,
    /// 颜色 / colour: auto (terminal only, respects NO_COLOR), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// 标准输入的文件名（`.md` 表示 Markdown）/ the name recorded for `-` (`.md` reads Markdown).
    #[arg(long, value_name = "NAME", default_value = "stdin")]
    stdin_name: String,
    /// 单个报告的最大字节数 / largest report accepted, in bytes.
    #[arg(long, env = "MAX_REPORT_BYTES", default_value_t = 64 * 1024 * 1024)]
    max_report_bytes: u64,
}

/// Why an input could not be read at all.
#[derive(Debug)]
enum InputError {
    Io(std::io::Error),
    TooLarge { limit: u64 },
    Unreadable(gongkai_engine::ReadError),
}

impl InputError {
    /// The stable identifier of §8 (`io` for a file that cannot be opened or read).
    fn kind(&self) -> &'static str {
        match self {
            InputError::Io(_) => "io",
            InputError::TooLarge { .. } => "too_large",
            InputError::Unreadable(e) => e.kind(),
        }
    }

    /// The reason in Chinese and in English.
    fn describe(&self) -> (String, String) {
        match self {
            InputError::Io(e) => {
                let zh = match e.kind() {
                    std::io::ErrorKind::NotFound => "文件不存在",
                    std::io::ErrorKind::PermissionDenied => "没有读取权限",
                    std::io::ErrorKind::IsADirectory => "这是一个目录，不是文件",
                    _ => "读取失败",
                };
                (zh.to_owned(), e.to_string())
            }
            InputError::TooLarge { limit } => (
                format!("文件超过 {limit} 字节的上限（MAX_REPORT_BYTES）"),
                format!("larger than the limit of {limit} bytes (MAX_REPORT_BYTES)"),
            ),
            InputError::Unreadable(e) => (e.message_zh(), e.message_en()),
        }
    }
}

/// Reads at most `limit` bytes; more is an error rather than a silent truncation.
fn read_limited(reader: impl Read, limit: u64) -> Result<Vec<u8>, InputError> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(InputError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(InputError::TooLarge { limit });
    }
    Ok(bytes)
}

/// An input that could not be read, with what is known of it.
struct Failure {
    name: String,
    /// The SHA-256 and size of the bytes, when they were read.
    read: Option<(String, u64)>,
    error: InputError,
}

impl Failure {
    /// The §8 error object of `--json`.
    fn to_json(&self) -> Unreadable {
        let (message, message_en) = self.error.describe();
        Unreadable {
            source: UnreadableSource {
                name: self.name.clone(),
                sha256: self.read.as_ref().map(|(digest, _)| digest.clone()),
                bytes: self.read.as_ref().map(|(_, size)| *size),
            },
            error: ReadFailure {
                kind: self.error.kind().to_owned(),
                message,
                message_en,
            },
        }
    }
}

/// The name recorded for `file`: its file name, or the name given for standard input.
fn input_name(file: &str, stdin_name: &str) -> String {
    if file == "-" {
        return stdin_name.to_owned();
    }
    Path::new(file)
        .file_name()
        .map_or_else(|| file.to_owned(), |n| n.to_string_lossy().into_owned())
}

fn read_input(file: &str, limit: u64) -> Result<Vec<u8>, InputError> {
    if file == "-" {
        return read_limited(std::io::stdin().lock(), limit);
    }
    let path = Path::new(file);
    if path.is_dir() {
        return Err(InputError::Io(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a directory",
        )));
    }
    let handle = std::fs::File::open(path).map_err(InputError::Io)?;
    read_limited(handle, limit)
}

fn check_one(file: &str, args: &CheckArgs) -> Result<CheckedReport, Failure> {
    let limit = args.max_report_bytes;
    let name = input_name(file, &args.stdin_name);
    let bytes = read_input(file, limit).map_err(|error| Failure {
        name: name.clone(),
        read: None,
        error,
    })?;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    match gongkai_engine::read_limited(&bytes, &name, limit) {
        Ok((source, report)) => Ok(gongkai_engine::check_report(source, report)),
        Err(error) => Err(Failure {
            read: Some((
                gongkai_engine::sha256_hex(&bytes),
                u64::try_from(bytes.len()).unwrap_or(u64::MAX),
            )),
            name,
            error: InputError::Unreadable(error),
        }),
    }
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

pub fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let color = !args.json && use_color(args.color);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut unreadable = false;
    let mut errors = false;
    for (n, file) in args.files.iter().enumerate() {
        match check_one(file, args) {
            Ok(checked) => {
                errors |= checked.summary.errors > 0;
                if args.json {
                    let line = serde_json::to_string(&checked)
                        .context("serialising the checked report")?;
                    writeln!(out, "{line}").context("writing to standard output")?;
                } else {
                    if n > 0 {
                        writeln!(out).context("writing to standard output")?;
                    }
                    out.write_all(text::render(&checked, color).as_bytes())
                        .context("writing to standard output")?;
                }
            }
            Err(failure) => {
                unreadable = true;
                if args.json {
                    let line = serde_json::to_string(&failure.to_json())
                        .context("serialising the error object")?;
                    writeln!(out, "{line}").context("writing to standard output")?;
                }
                let (zh, en) = failure.error.describe();
                out.flush().context("writing to standard output")?;
                let (name_zh, name_en) = if file == "-" {
                    ("标准输入", "standard input")
                } else {
                    (file.as_str(), file.as_str())
                };
                eprintln!(
                    "gongkai: 无法读取 {name_zh}：{zh}\ngongkai: cannot read {name_en}: {en}"
                );
            }
        }
    }
    out.flush().context("writing to standard output")?;
    Ok(ExitCode::from(if unreadable {
        2
    } else if errors {
        1
    } else {
        0
    }))
}

/// `gongkai rules`: the catalogue, one rule a line.
pub fn list_rules() -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(
        out,
        "规则版本 / rules version {}",
        gongkai_rules::RULES_VERSION
    )
    .context("writing to standard output")?;
    for r in gongkai_rules::catalogue() {
        let scope = if r.needs_previous {
            "（需上一年度报告 / needs the previous year's report）"
        } else {
            ""
        };
        writeln!(
            out,
            "{:<19} {:<8} {}{scope}\n{:<28} {}",
            r.id,
            r.severity.as_str(),
            r.description,
            "",
            r.description_en
        )
        .context("writing to standard output")?;
    }
    Ok(ExitCode::SUCCESS)
}
