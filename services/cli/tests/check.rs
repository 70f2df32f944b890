//! `gongkai check` as a user runs it: the built binary on the reports of `samples/`, checking
//! exit codes, the §8 JSON shape, exact decimals, the human output and the errors on stderr.

use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../samples")
}

fn sample(name: &str) -> String {
    samples().join(name).to_string_lossy().into_owned()
}

fn gongkai(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gongkai"))
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("MAX_REPORT_BYTES")
        .output()
        .expect("run gongkai")
}

fn gongkai_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gongkai"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gongkai");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    child.wait_with_output().expect("wait for gongkai")
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .expect("utf-8 stdout")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn findings<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

#[test]
fn clean_f2021_text_report_exits_zero_with_no_finding() {
    let out = gongkai(&["check", "--json", &sample("yunxi-2023.txt")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    let r = &lines[0];
    for key in ["source", "report", "findings", "summary"] {
        assert!(r.get(key).is_some(), "missing {key}");
    }
    assert_eq!(r["source"]["name"], "yunxi-2023.txt");
    assert_eq!(r["source"]["media_type"], "text/plain");
    assert_eq!(r["source"]["sha256"].as_str().map(str::len), Some(64));
    assert_eq!(r["report"]["agency"], "清河市云溪区人民政府");
    assert_eq!(r["report"]["year"], 2023);
    assert_eq!(r["report"]["template"], "F2021");
    assert_eq!(
        r["findings"].as_array().map(Vec::len),
        Some(0),
        "{:#}",
        r["findings"]
    );
    assert_eq!(r["summary"]["errors"], 0);
    assert_eq!(
        r["report"]["tables"]["t3"]["total_processed"]["total"]["value"],
        66
    );
    assert_eq!(
        r["report"]["tables"]["t2"]["licensing"]["decisions"]["text"],
        "1,286"
    );
    // The amount is written with exactly its printed digits.
    let raw = String::from_utf8_lossy(&out.stdout);
    assert!(raw.contains(r#""value":356.82,"text":"356.82""#), "{raw}");
}

#[test]
fn markdown_report_with_a_broken_balance_exits_one() {
    let out = gongkai(&["check", "--json", &sample("yunxi-2024.md")]);
    assert_eq!(out.status.code(), Some(1));
    let r = &json_lines(&out)[0];
    assert_eq!(r["source"]["media_type"], "text/markdown");
    assert_eq!(r["report"]["template"], "F2021");
    let balance = findings(r, "T3-BALANCE");
    assert_eq!(balance.len(), 2, "{:#}", r["findings"]);
    let (natural, total) = (balance[0], balance[1]);
    assert_eq!(natural["severity"], "error");
    assert_eq!(natural["table"], "t3");
    assert_eq!(natural["row"], "total_processed");
    assert_eq!(natural["column"], "natural_person");
    assert_eq!(natural["expected"], 74);
    assert_eq!(natural["actual"], 75);
    assert_eq!(total["column"], "total");
    assert_eq!(total["expected"], 83);
    assert_eq!(total["actual"], 84);
    assert!(natural["message"].as_str().unwrap().contains("不平衡"));
    // The prose says 3 carried forward, the table 4: a warning beside the error.
    let prose = findings(r, "P-NUMBERS");
    assert_eq!(prose.len(), 1);
    assert_eq!(prose[0]["severity"], "warning");
    assert_eq!(prose[0]["expected"], 4);
    assert_eq!(prose[0]["actual"], 3);
    assert_eq!(r["summary"]["errors"], 2);
    assert_eq!(r["summary"]["warnings"], 1);
    let raw = String::from_utf8_lossy(&out.stdout);
    assert!(raw.contains(r#""value":341.065"#), "{raw}");
}

#[test]
fn gb18030_html_with_merged_cells_reads_every_cell() {
    let out = gongkai(&["check", "--json", &sample("baishi-2020.html")]);
    assert_eq!(out.status.code(), Some(0));
    let r = &json_lines(&out)[0];
    assert_eq!(r["source"]["media_type"], "text/html");
    assert_eq!(r["source"]["encoding"], "gb18030");
    assert_eq!(r["report"]["agency"], "白石县人民政府");
    assert_eq!(r["report"]["template"], "F2019");
    let t = &r["report"]["tables"];
    assert_eq!(t["t2"]["licensing"]["change"]["value"], -12);
    assert_eq!(t["t2"]["punishment"]["decisions"]["value"], 1047);
    assert_eq!(t["t3"]["denied_query_matter"]["natural_person"]["value"], 1);
    assert_eq!(t["t3"]["other_handling"]["total"]["value"], 1);
    assert_eq!(t["t3"]["carried_forward"]["total"]["value"], 1);
    assert_eq!(t["t4"]["litigation_direct"]["corrected"]["value"], 1);
    assert_eq!(
        r["findings"].as_array().map(Vec::len),
        Some(0),
        "{:#}",
        r["findings"]
    );
    let raw = String::from_utf8_lossy(&out.stdout);
    assert!(
        raw.contains(r#""value":1862.35,"text":"1,862.35""#),
        "{raw}"
    );
}

#[test]
fn damaged_report_is_incomplete_and_says_what_it_cannot_check() {
    let out = gongkai(&["check", "--json", &sample("qingxi-2020-damaged.md")]);
    assert_eq!(out.status.code(), Some(1));
    let r = &json_lines(&out)[0];
    assert_eq!(r["report"]["template"], "F2019");
    let incomplete = findings(r, "S-TABLE-INCOMPLETE");
    assert_eq!(incomplete.len(), 1);
    assert_eq!(incomplete[0]["severity"], "error");
    assert_eq!(incomplete[0]["table"], "t3");
    assert_eq!(incomplete[0]["row"], "granted");
    for rule in ["T3-BALANCE", "T3-RESULTS"] {
        let f = findings(r, rule);
        assert_eq!(f.len(), 1, "{rule}");
        assert_eq!(f[0]["severity"], "warning");
        assert!(f[0]["message"].as_str().unwrap().starts_with("无法核验"));
        assert_eq!(f[0]["expected"], Value::Null);
    }
    let section = findings(r, "S-SECTION");
    assert_eq!(section.len(), 1);
    assert!(section[0]["message"].as_str().unwrap().contains("第四部分"));
    let damage = findings(r, "P-TEXT-DAMAGE");
    assert_eq!(damage.len(), 1);
    assert_eq!(damage[0]["severity"], "info");
    // t4 survived as one row of 15 numbers under no heading; T4-TOTAL holds.
    assert_eq!(
        r["report"]["tables"]["t4"]["litigation_direct"]["total"]["value"],
        2
    );
    assert!(findings(r, "T4-TOTAL").is_empty());
    assert_eq!(
        r["summary"],
        serde_json::json!({"errors": 1, "warnings": 3, "infos": 1})
    );
    let raw = String::from_utf8_lossy(&out.stdout);
    assert!(
        raw.contains(r#""value":1236.480,"text":"1,236.480""#),
        "trailing zero kept: {raw}"
    );
}

#[test]
fn several_files_give_one_line_each_and_the_worst_exit_code() {
    let files = [
        sample("yunxi-2023.txt"),
        sample("yunxi-2024.md"),
        sample("baishi-2020.html"),
        sample("qingxi-2020-damaged.md"),
    ];
    let mut args = vec!["check", "--json"];
    args.extend(files.iter().map(String::as_str));
    let out = gongkai(&args);
    assert_eq!(out.status.code(), Some(1));
    let names: Vec<String> = json_lines(&out)
        .iter()
        .map(|r| r["source"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "yunxi-2023.txt",
            "yunxi-2024.md",
            "baishi-2020.html",
            "qingxi-2020-damaged.md"
        ]
    );
}

#[test]
fn unreadable_inputs_exit_two_naming_the_file_in_both_languages() {
    let missing = sample("no-such-report.pdf");
    let out = gongkai(&["check", "--json", &missing, &sample("yunxi-2023.txt")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("无法读取") && err.contains("文件不存在"),
        "{err}"
    );
    assert!(
        err.contains("cannot read") && err.contains("no-such-report.pdf"),
        "{err}"
    );
    // The readable file was still checked, and the unreadable one has its error line.
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["error"]["kind"], "io");
    assert_eq!(lines[1]["source"]["name"], "yunxi-2023.txt");

    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    let out = gongkai_stdin(&["check", "-"], png);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("不支持") && err.contains("PNG"), "{err}");

    let out = gongkai_stdin(&["check", "-"], b"");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("无法读取 标准输入：文件为空"), "{err}");
    assert!(
        err.contains("cannot read standard input: the input is empty"),
        "{err}"
    );

    let out = gongkai(&["check", &samples().to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("目录"));
}

#[test]
fn too_large_inputs_are_refused_before_reading_them_whole() {
    let out = gongkai(&[
        "check",
        "--max-report-bytes",
        "100",
        &sample("yunxi-2023.txt"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("100 字节") && err.contains("MAX_REPORT_BYTES"),
        "{err}"
    );
}

#[test]
fn stdin_is_read_with_the_name_given() {
    let bytes = std::fs::read(samples().join("yunxi-2024.md")).unwrap();
    let out = gongkai_stdin(
        &["check", "--json", "--stdin-name", "upload.md", "-"],
        &bytes,
    );
    assert_eq!(out.status.code(), Some(1));
    let r = &json_lines(&out)[0];
    assert_eq!(r["source"]["name"], "upload.md");
    assert_eq!(r["source"]["media_type"], "text/markdown");
}

#[test]
fn text_output_for_people_is_coloured_only_when_asked() {
    let out = gongkai(&["check", &sample("qingxi-2020-damaged.md")]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\x1b'), "not a terminal: no colour");
    assert!(
        text.starts_with("青溪镇人民政府 · 2020 年度 · 2019 年版格式（F2019）"),
        "{text}"
    );
    assert!(
        text.contains("部分：一✓ 二✓ 三✓ 四（标题缺失） 五✓ 六✓"),
        "{text}"
    );
    assert!(text.contains("[缺]"));
    assert!(text.contains("错误（1）") && text.contains("警告（3）") && text.contains("提示（1）"));
    let coloured = gongkai(&[
        "check",
        "--color",
        "always",
        &sample("qingxi-2020-damaged.md"),
    ]);
    assert!(String::from_utf8_lossy(&coloured.stdout).contains("\x1b[1;31m"));
    let never = gongkai(&["check", "--color", "never", &sample("yunxi-2023.txt")]);
    assert_eq!(never.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&never.stdout).contains("未发现问题"));
}

#[test]
fn the_two_yunxi_years_agree_across_years() {
    let read = |name: &str| {
        let bytes = std::fs::read(samples().join(name)).unwrap();
        gongkai_engine::read(&bytes, name).unwrap().1
    };
    let (y2023, y2024) = (read("yunxi-2023.txt"), read("yunxi-2024.md"));
    assert_eq!(
        gongkai_rules::check_against_previous(&y2024, &y2023),
        vec![]
    );
    // Against the wrong year the rules say they do not apply.
    let f = gongkai_rules::check_against_previous(&y2023, &y2024);
    assert!(!f.is_empty() && f.iter().all(|f| f.message.contains("不适用")));
}

#[test]
fn rules_lists_the_catalogue() {
    let out = gongkai(&["rules"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for id in ["S-SECTION", "T3-BALANCE", "X-IN-FORCE", "P-TEXT-DAMAGE"] {
        assert!(text.contains(id), "{id}");
    }
    assert!(text.contains("T3-BALANCE          error"));
}

/// yunxi-2023 with the natural persons' 予以公开 (24) replaced by `number`.
fn yunxi_with_granted(number: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(samples().join("yunxi-2023.txt")).expect("the sample");
    let row = "（一）予以公开\t24\t3\t0\t1\t0\t0\t28";
    assert!(text.contains(row), "the sample's row changed");
    text.replace(row, &format!("（一）予以公开\t{number}\t3\t0\t1\t0\t0\t28"))
        .into_bytes()
}

#[test]
fn a_number_longer_than_any_count_is_an_invalid_cell_not_a_crash() {
    // 29 digits: within a Decimal, so the sums of the rules overflowed (exit 101) before; and
    // 40 digits, beyond a Decimal, which was read as a label.
    for number in [
        "12345678901234567890123456789",
        "1234567890123456789012345678901234567890",
    ] {
        let out = gongkai_stdin(
            &["check", "--json", "--stdin-name", "long.txt", "-"],
            &yunxi_with_granted(number),
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{number}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r = &json_lines(&out)[0];
        let cell = &r["report"]["tables"]["t3"]["granted"]["natural_person"];
        assert_eq!(cell["state"], "invalid", "{cell}");
        assert_eq!(cell["value"], Value::Null);
        assert_eq!(cell["text"], number);
        let range = findings(r, "C-RANGE");
        assert_eq!(range.len(), 1, "{number}");
        assert_eq!(range[0]["severity"], "error");
        assert_eq!(range[0]["row"], "granted");
        assert_eq!(range[0]["column"], "natural_person");
        // The sums that need the cell say they could not be evaluated.
        for rule in ["T3-RESULTS", "T3-ROW-TOTAL"] {
            let f = findings(r, rule);
            assert_eq!(f.len(), 1, "{rule}");
            assert_eq!(f[0]["severity"], "warning", "{rule}");
            assert!(
                f[0]["message"].as_str().unwrap().starts_with("无法核验"),
                "{rule}: {}",
                f[0]["message"]
            );
        }
    }
    // Ten digits is still a count.
    let out = gongkai_stdin(&["check", "--json", "-"], &yunxi_with_granted("1234567890"));
    let r = &json_lines(&out)[0];
    assert_eq!(
        r["report"]["tables"]["t3"]["granted"]["natural_person"]["state"],
        "number"
    );
    assert!(findings(r, "C-RANGE").is_empty());
}

#[test]
fn every_unreadable_input_gets_its_json_line_with_a_stable_kind() {
    let dir = std::env::temp_dir().join(format!("gongkai-check-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_string_lossy().into_owned()
    };
    let empty = write("empty.txt", b"");
    let png = write("scan.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    let binary = write("blob.txt", &[7u8; 64]);
    let pdf = write("broken.pdf", b"%PDF-1.7\nnot really a pdf");
    let missing = dir.join("missing.txt").to_string_lossy().into_owned();
    let good = sample("yunxi-2023.txt");
    let out = gongkai(&[
        "check", "--json", &empty, &png, &good, &binary, &pdf, &missing,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 6, "{lines:#?}");
    let kinds: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["source"]["name"].as_str().unwrap(),
                l["error"]["kind"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("empty.txt", "empty"),
            ("scan.png", "unsupported_format"),
            ("yunxi-2023.txt", "-"),
            ("blob.txt", "binary"),
            ("broken.pdf", "damaged_pdf"),
            ("missing.txt", "io"),
        ]
    );
    let empty_line = &lines[0];
    assert_eq!(empty_line["source"]["bytes"], 0);
    assert_eq!(
        empty_line["source"]["sha256"],
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(empty_line["error"]["message"], "文件为空");
    assert_eq!(empty_line["error"]["message_en"], "the input is empty");
    assert_eq!(lines[3]["source"]["bytes"], 64);
    // A file that could not be opened has no digest or size.
    assert_eq!(lines[5]["source"]["sha256"], Value::Null);
    assert_eq!(lines[5]["source"]["bytes"], Value::Null);
    assert_eq!(lines[5]["error"]["message"], "文件不存在");
    // The readable one is a report, with no error object.
    assert!(lines[2].get("error").is_none() && lines[2].get("report").is_some());

    let out = gongkai(&["check", "--json", "--max-report-bytes", "100", &good]);
    assert_eq!(out.status.code(), Some(2));
    let line = &json_lines(&out)[0];
    assert_eq!(line["error"]["kind"], "too_large");
    assert!(
        line["error"]["message_en"]
            .as_str()
            .unwrap()
            .contains("100 bytes"),
        "{line}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
