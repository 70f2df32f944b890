//! Parse and check one report, for every report of the shared corpus and every sample of the
//! project, and for a generated Word-exported HTML report of about 320 KB (the size of real
//! Word exports, which the corpus lacks): the figures of BENCHMARKS.md.
//!
//! `cargo bench -p gongkai-engine --bench engine`

use criterion::{Criterion, criterion_group, criterion_main};

/// The allocator of the binaries that run the engine (`gongkai check`, the workers), so that
/// the figures are theirs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use gongkai_model::report::SECTION_HEADINGS;
use gongkai_model::schema::{self, T3_COLUMNS, T4_COLUMNS};
use gongkai_model::{TableId, Template};
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};

fn inputs() -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut dirs = vec![root.join("samples")];
    let corpus = root.join("../shared/corpus");
    if corpus.is_dir() {
        dirs.push(corpus);
    } else {
        eprintln!("../shared/corpus is absent: benchmarking the samples only");
    }
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            let bytes = std::fs::read(&p).ok()?;
            let dir = p.parent()?.file_name()?.to_string_lossy().into_owned();
            Some((format!("{dir}/{name}"), bytes))
        })
        .collect()
}

/// Word's style on a table cell and on the paragraph and run inside it.
const WORD_TD: &str = "width=57 valign=center style='width:42.55pt;border-top:none;border-left:none;border-bottom:solid windowtext 1.0pt;border-right:solid windowtext 1.0pt;mso-border-top-alt:solid windowtext .5pt;mso-border-left-alt:solid windowtext .5pt;mso-border-alt:solid windowtext .5pt;padding:0cm 5.4pt 0cm 5.4pt'";
const WORD_P: &str = "class=MsoNormal align=center style='text-align:center;line-height:15.0pt;mso-line-height-rule:exactly'";
const WORD_SPAN: &str = "style='font-size:10.5pt;font-family:宋体;mso-ascii-font-family:\"Times New Roman\";mso-hansi-font-family:\"Times New Roman\";color:black;mso-font-kerning:0pt'";
const WORD_PROSE_P: &str = "class=MsoNormal style='text-indent:32.0pt;mso-char-indent-count:2.0;line-height:28.0pt;mso-line-height-rule:exactly'";
const WORD_PROSE_SPAN: &str = "style='font-size:16.0pt;font-family:仿宋_GB2312;mso-hansi-font-family:\"Times New Roman\";mso-bidi-font-family:\"Times New Roman\"'";

fn word_cell(out: &mut String, text: &str, attrs: &str) {
    let _ = write!(
        out,
        "<td {WORD_TD}{attrs}><p {WORD_P}><span lang=EN-US {WORD_SPAN}>{text}<o:p></o:p></span></p></td>"
    );
}

fn word_paragraph(out: &mut String, text: &str) {
    // Word splits prose into runs at every change of script: digits get a span of their own.
    let _ = write!(out, "<p {WORD_PROSE_P}>");
    let mut run = String::new();
    let mut digits = false;
    for ch in text.chars().chain(std::iter::once('\0')) {
        if ch == '\0' || ch.is_ascii_digit() != digits {
            if !run.is_empty() {
                let lang = if digits { " lang=EN-US" } else { "" };
                let _ = write!(out, "<span{lang} {WORD_PROSE_SPAN}>{run}</span>");
                run.clear();
            }
            digits = ch.is_ascii_digit();
        }
        if ch != '\0' {
            run.push(ch);
        }
    }
    out.push_str("<o:p></o:p></p>\n");
}

/// A whole F2021 report as Word exports it to HTML: a long style sheet, every paragraph and
/// every table cell wrapped in styled paragraphs and spans, and prose enough for about 320 KB.
/// The tables hold consistent figures, so the bench measures a report that passes the rules.
fn word_exported_html() -> String {
    let mut out = String::with_capacity(340_000);
    out.push_str("<html xmlns:v=\"urn:schemas-microsoft-com:vml\" xmlns:o=\"urn:schemas-microsoft-com:office:office\" xmlns:w=\"urn:schemas-microsoft-com:office:word\"><head><meta http-equiv=Content-Type content=\"text/html; charset=utf-8\"><meta name=Generator content=\"Microsoft Word 15\"><style><!--\n");
    for i in 0..60 {
        let _ = writeln!(
            out,
            "p.MsoNormal{i}, li.MsoNormal{i}, div.MsoNormal{i} {{mso-style-unhide:no;mso-style-qformat:yes;margin:0cm;text-align:justify;text-justify:inter-ideograph;mso-pagination:none;font-size:10.5pt;mso-bidi-font-size:12.0pt;font-family:\"Times New Roman\",serif;mso-fareast-font-family:宋体;mso-font-kerning:1.0pt;}}"
        );
    }
    out.push_str("--></style></head><body lang=ZH-CN style='tab-interval:21.0pt;text-justify-trim:punctuation'><div class=WordSection1>\n");
    word_paragraph(&mut out, "测试县人民政府2021年政府信息公开工作年度报告");
    word_paragraph(&mut out, SECTION_HEADINGS[0]);
    let prose = "2021年，测试县人民政府坚持以习近平新时代中国特色社会主义思想为指导，认真贯彻落实《中华人民共和国政府信息公开条例》，围绕县委、县政府中心工作，持续深化政务公开，全年通过县政府门户网站主动公开各类政府信息3126条，发布政策解读材料48篇，召开新闻发布会9场，推进政府信息公开工作规范化、标准化。";
    while out.len() < 60_000 {
        word_paragraph(&mut out, prose);
    }

    word_paragraph(&mut out, SECTION_HEADINGS[1]);
    out.push_str("<table class=MsoNormalTable border=1 cellspacing=0 cellpadding=0 style='border-collapse:collapse;border:none'>\n");
    let mut block = None;
    for spec in schema::rows(Template::F2021, TableId::T2) {
        if spec.block != block {
            block = spec.block;
            out.push_str("<tr>");
            word_cell(&mut out, spec.block.unwrap_or(""), " colspan=4");
            out.push_str("</tr>\n<tr>");
            word_cell(&mut out, "信息内容", "");
            let span = if spec.columns.len() == 1 {
                " colspan=3"
            } else {
                ""
            };
            for c in spec.columns {
                word_cell(&mut out, c.label, span);
            }
            out.push_str("</tr>\n");
        }
        out.push_str("<tr>");
        word_cell(&mut out, spec.label, "");
        let span = if spec.columns.len() == 1 {
            " colspan=3"
        } else {
            ""
        };
        for (i, c) in spec.columns.iter().enumerate() {
            let value = if c.key == "amount" {
                "18,759.694".to_owned()
            } else {
                (i * 7 + 3).to_string()
            };
            word_cell(&mut out, &value, span);
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");

    word_paragraph(&mut out, SECTION_HEADINGS[2]);
    out.push_str("<table class=MsoNormalTable border=1 cellspacing=0 cellpadding=0>\n<tr>");
    word_cell(
        &mut out,
        "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）",
        " colspan=3 rowspan=3",
    );
    word_cell(&mut out, "申请人情况", " colspan=7");
    out.push_str("</tr>\n<tr>");
    word_cell(&mut out, "自然人", " rowspan=2");
    word_cell(&mut out, "法人或其他组织", " colspan=5");
    word_cell(&mut out, "总计", " rowspan=2");
    out.push_str("</tr>\n<tr>");
    for c in &T3_COLUMNS[1..6] {
        word_cell(&mut out, c.label, "");
    }
    out.push_str("</tr>\n");
    let rows = schema::rows(Template::F2021, TableId::T3);
    let results = rows.iter().filter(|r| r.block.is_some()).count();
    let mut results_open = false;
    let mut group = None;
    for spec in rows {
        // 12 requests from people, 3 from companies: all granted, nothing carried.
        let values: [u32; 7] = match spec.key {
            "new_received" | "granted" | "total_processed" => [12, 3, 0, 0, 0, 0, 15],
            _ => [0; 7],
        };
        out.push_str("<tr>");
        match spec.block {
            None => word_cell(&mut out, spec.label, " colspan=3"),
            Some(b) => {
                if !results_open {
                    word_cell(
                        &mut out,
                        "三、本年度办理结果",
                        &format!(" rowspan={results}"),
                    );
                    results_open = true;
                }
                if b == "三、本年度办理结果" {
                    word_cell(&mut out, spec.label, " colspan=2");
                } else {
                    if group != Some(b) {
                        let n = rows.iter().filter(|r| r.block == Some(b)).count();
                        word_cell(&mut out, b, &format!(" rowspan={n}"));
                        group = Some(b);
                    }
                    word_cell(&mut out, spec.label, "");
                }
            }
        }
        for v in values {
            word_cell(&mut out, &v.to_string(), "");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");

    word_paragraph(&mut out, SECTION_HEADINGS[3]);
    out.push_str("<table class=MsoNormalTable border=1 cellspacing=0 cellpadding=0>\n<tr>");
    word_cell(&mut out, "行政复议", " colspan=5 rowspan=2");
    word_cell(&mut out, "行政诉讼", " colspan=10");
    out.push_str("</tr>\n<tr>");
    word_cell(&mut out, "未经复议直接起诉", " colspan=5");
    word_cell(&mut out, "复议后起诉", " colspan=5");
    out.push_str("</tr>\n<tr>");
    for _ in 0..3 {
        for c in T4_COLUMNS {
            word_cell(&mut out, c.label, "");
        }
    }
    out.push_str("</tr>\n<tr>");
    for v in [2, 1, 0, 1, 4, 1, 0, 1, 0, 2, 1, 0, 0, 0, 1] {
        word_cell(&mut out, &v.to_string(), "");
    }
    out.push_str("</tr>\n</table>\n");

    word_paragraph(&mut out, SECTION_HEADINGS[4]);
    while out.len() < 320_000 {
        word_paragraph(
            &mut out,
            "2021年，我县政府信息公开工作取得了一定成效，但仍存在一些不足：一是部分单位对公开属性的认定还不够准确；二是政策解读的形式较为单一。下一步，我县将加强公开属性源头认定，丰富政策解读形式。",
        );
    }
    word_paragraph(&mut out, SECTION_HEADINGS[5]);
    word_paragraph(&mut out, "本年度未收取政府信息公开信息处理费。");
    out.push_str("</div></body></html>\n");
    out
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("check");
    let word = word_exported_html().into_bytes();
    // To profile the generated page outside criterion (`--example timing`), write it out.
    if let Some(path) = std::env::var_os("GONGKAI_BENCH_WORD_HTML")
        && let Err(e) = std::fs::write(&path, &word)
    {
        eprintln!("cannot write {}: {e}", path.to_string_lossy());
    }
    match gongkai_engine::check(&word, "generated/word-320k.html") {
        Ok(checked) if checked.summary.errors == 0 => {}
        Ok(checked) => eprintln!(
            "generated Word HTML: {} error findings",
            checked.summary.errors
        ),
        Err(e) => eprintln!("generated Word HTML unreadable: {e}"),
    }
    let word_name = format!("generated/word-{}KB.html", word.len() / 1000);
    group.bench_function(&word_name, |b| {
        b.iter(|| gongkai_engine::check(black_box(&word), black_box(&word_name)))
    });
    for (name, bytes) in inputs() {
        if gongkai_engine::check(&bytes, &name).is_err() {
            continue;
        }
        group.bench_function(&name, |b| {
            b.iter(|| gongkai_engine::check(black_box(&bytes), black_box(&name)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
