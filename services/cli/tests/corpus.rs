//! `gongkai check` on the real reports of the shared corpus: the findings the golden notes call
//! for, and none of the false alarms the prose rules were calibrated against. Skips when the
//! corpus is absent.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if dir.is_dir() {
        return Some(dir);
    }
    // Under CI the corpus is always there: its absence must fail the run, not skip it.
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but {} is absent: the corpus tests cannot run",
        dir.display()
    );
    None
}

/// `(exit code, the checked report)` of one corpus file.
fn check(dir: &std::path::Path, name: &str) -> (Option<i32>, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_gongkai"))
        .args(["check", "--json"])
        .arg(dir.join(name))
        .output()
        .expect("run gongkai");
    let json = serde_json::from_slice(&out.stdout).expect("one JSON object");
    (out.status.code(), json)
}

fn rules(r: &Value, severity: &str) -> Vec<String> {
    r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] == severity)
        .map(|f| f["rule"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn corpus_reports_get_the_findings_their_golden_notes_call_for() {
    let Some(dir) = corpus() else {
        eprintln!("shared corpus not found: skipping");
        return;
    };

    // The project's sample: t3 truncated, heading 四 lost, `意识 and 能力`.
    let (code, r) = check(&dir, "洛阳市瀍河区人民政府_2020.md");
    assert_eq!(code, Some(1));
    assert_eq!(rules(&r, "error"), ["S-TABLE-INCOMPLETE"]);
    assert_eq!(
        rules(&r, "warning"),
        ["T3-BALANCE", "T3-RESULTS", "S-SECTION"]
    );
    assert_eq!(rules(&r, "info"), ["P-TEXT-DAMAGE"]);

    // 洪泽区 2023: mixed template, the published t4 breaks T4-TOTAL twice.
    let (code, r) = check(&dir, "淮安市洪泽区人民政府_2023.pdf");
    assert_eq!(code, Some(1));
    assert_eq!(rules(&r, "error"), ["T4-TOTAL", "T4-TOTAL"]);
    assert_eq!(rules(&r, "warning"), ["S-TEMPLATE"]);

    // 洪泽区 2024: the prose counts the office (17), the table the district (95).
    let (code, r) = check(&dir, "淮安市洪泽区人民政府_2024.pdf");
    assert_eq!(code, Some(0));
    assert_eq!(rules(&r, "warning"), ["S-TEMPLATE"]);
    assert_eq!(rules(&r, "info"), ["P-NUMBERS"]);
    let prose = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "P-NUMBERS")
        .unwrap();
    assert_eq!(prose["expected"], 95);
    assert_eq!(prose["actual"], 17);
    assert!(prose["message"].as_str().unwrap().contains("不视为矛盾"));

    // 淮安市 2024: every rule holds, the prose figures (3119, 3050, 34, 103, 351, 46) match.
    let (code, r) = check(&dir, "淮安市人民政府_2024.pdf");
    assert_eq!(code, Some(0));
    assert_eq!(
        r["findings"].as_array().map(Vec::len),
        Some(0),
        "{:#}",
        r["findings"]
    );

    // 上海 2019: blank 总计 cells; prose figures 859/805/18/72/7/9 all match.
    let (code, r) = check(&dir, "上海市人民政府办公厅_2019.html");
    assert_eq!(code, Some(1));
    let errors = rules(&r, "error");
    assert_eq!(errors.iter().filter(|e| *e == "T3-ROW-TOTAL").count(), 11);
    assert_eq!(errors.iter().filter(|e| *e == "T3-RESULTS").count(), 1);
    assert!(rules(&r, "warning").iter().all(|w| w == "C-BLANK"));

    // 平潭 2021–2023: the prose (收到70件, 办结69件, 1件结转; 75 = 74 + 1 carried over; 81件,
    // 复议2件, 诉讼7件) raises nothing; only t2 runs no rule can split are errors.
    for name in [
        "平潭综合实验区_2021.txt",
        "平潭综合实验区_2022.txt",
        "平潭综合实验区_2023.txt",
    ] {
        let (_, r) = check(&dir, name);
        assert!(
            rules(&r, "error").iter().all(|e| e == "C-AMBIGUOUS"),
            "{name}"
        );
        assert_eq!(rules(&r, "warning"), Vec::<String>::new(), "{name}");
        assert_eq!(rules(&r, "info"), Vec::<String>::new(), "{name}");
    }

    // 平潭 2020: the published t3 breaks T3-RESULTS in two columns.
    let (_, r) = check(&dir, "平潭综合实验区_2020.txt");
    let results: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "T3-RESULTS")
        .collect();
    assert_eq!(results.len(), 2);
    assert_eq!(
        (&results[0]["expected"], &results[0]["actual"]),
        (&Value::from(26), &Value::from(20))
    );

    // The 2008-era report is recognised, one info finding, exit 0.
    let (code, r) = check(&dir, "平潭综合实验区_2018_legacy.txt");
    assert_eq!(code, Some(0));
    assert_eq!(rules(&r, "info"), ["S-TEMPLATE"]);
    assert_eq!(r["findings"].as_array().map(Vec::len), Some(1));
}
