//! Project-owned tests with small inputs written here, so that every format and every hard
//! case is covered without the shared corpus: GB18030 HTML with rowspan/colspan and Word
//! spans, a UTF-8 text with BOM, page numbers and radicals, a Markdown pipe table, a
//! damaged/truncated table, a mixed template, the refusals, and arbitrary bytes.

// Tests may unwrap (project standard); a failed read is a failed test.
#![allow(clippy::unwrap_used)]

use gongkai_engine::{ReadError, read, read_limited};
use gongkai_model::schema::{T3_F2021, T4_COLUMNS};
use gongkai_model::{CellState, Position, Report, TableId, Template};

fn value(report: &Report, table: TableId, row: &str, column: &str) -> Option<String> {
    report
        .tables
        .cell(table, row, column)
        .and_then(|c| c.value)
        .map(|v| v.to_string())
}

fn state(report: &Report, table: TableId, row: &str, column: &str) -> Option<CellState> {
    report.tables.cell(table, row, column).map(|c| c.state)
}

/// An F2021 t3 as a Word-style HTML table: group labels as rowspans, the header as the
/// official one, values `row index` in the natural-person column and its total.
fn t3_html() -> String {
    let mut html = String::from(
        "<table border=1><tr><td colspan=3 rowspan=3>（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）</td><td colspan=7>申请人情况</td></tr>\
         <tr><td rowspan=2>自然人</td><td colspan=5>法人或其他组织</td><td rowspan=2>总计</td></tr>\
         <tr><td>商业企业</td><td>科研机构</td><td>社会公益组织</td><td>法律服务机构</td><td>其他</td></tr>",
    );
    let results = T3_F2021.iter().filter(|s| s.block.is_some()).count();
    let mut results_open = false;
    let mut group_open: Option<&str> = None;
    for (i, spec) in T3_F2021.iter().enumerate() {
        html.push_str("<tr>");
        if spec.block.is_some() && !results_open {
            html.push_str(&format!("<td rowspan={results}>三、本年度办理结果</td>"));
            results_open = true;
        }
        match spec.block {
            None => html.push_str(&format!("<td colspan=3>{}</td>", spec.label)),
            Some("三、本年度办理结果") => {
                html.push_str(&format!("<td colspan=2>{}</td>", spec.label));
            }
            Some(group) => {
                if group_open != Some(group) {
                    let rows = T3_F2021.iter().filter(|s| s.block == Some(group)).count();
                    html.push_str(&format!("<td rowspan={rows}>{group}</td>"));
                    group_open = Some(group);
                }
                html.push_str(&format!("<td>{}</td>", spec.label));
            }
        }
        // natural person = i, the organisations blank (Word leaves zeros empty), total = i.
        html.push_str(&format!(
            "<td><p><span>{i}</span></p></td><td>&nbsp;</td><td></td><td> </td><td>0</td><td>0</td><td>{i}</td></tr>"
        ));
    }
    html.push_str("</table>");
    html
}

const T2_F2021_HTML: &str = "<table>\
<tr><td colspan=4>第二十条第（一）项</td></tr>\
<tr><td>信息内容</td><td>本年制发件数</td><td>本年废止件数</td><td>现行有效件数</td></tr>\
<tr><td>规章</td><td>1</td><td>0</td><td>12</td></tr>\
<tr><td>行政规范性文件</td><td>5</td><td>2</td><td>40</td></tr>\
<tr><td colspan=4>第二十条第（五）项</td></tr>\
<tr><td>信息内容</td><td colspan=3>本年处理决定数量</td></tr>\
<tr><td>行政许可</td><td colspan=3><span lang=EN-US>1</span><span>,2</span><span>34</span></td></tr>\
<tr><td colspan=4>第二十条第（六）项</td></tr>\
<tr><td>信息内容</td><td colspan=3>本年处理决定数量</td></tr>\
<tr><td>行政处罚</td><td colspan=3>56</td></tr>\
<tr><td>行政强制</td><td colspan=3>&nbsp;</td></tr>\
<tr><td colspan=4>第二十条第（八）项</td></tr>\
<tr><td>信息内容</td><td colspan=3>本年收费金额（单位：万元）</td></tr>\
<tr><td>行政事业性收费</td><td colspan=3>96171.60</td></tr>\
</table>";

fn t4_html() -> String {
    let mut html = String::from(
        "<table><tr><td colspan=5 rowspan=2>行政复议</td><td colspan=10>行政诉讼</td></tr>\
         <tr><td colspan=5>未经复议直接起诉</td><td colspan=5>复议后起诉</td></tr><tr>",
    );
    for _ in 0..3 {
        for c in T4_COLUMNS {
            html.push_str(&format!("<td>{}</td>", c.label));
        }
    }
    html.push_str("</tr><tr>");
    for v in [
        "1", "0", "0", "0", "1", "2", "1", "0", "0", "3", "", "", "", "", "",
    ] {
        html.push_str(&format!("<td>{v}</td>"));
    }
    html.push_str("</tr></table>");
    html
}

#[test]
fn gb18030_html_with_rowspan_colspan_and_word_spans() {
    let html = format!(
        "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\"><title>x</title></head><body>\
         <p align=center>瀍河区测试局2022年政府信息公开工作年度报告</p>\
         <p>一、总体情况</p><p>本年度共收到申请24件。</p>\
         <p>二、主动公开政府信息情况</p>{T2_F2021_HTML}\
         <p>三、收到和处理政府信息公开申请情况</p>{}\
         <p>四、政府信息公开行政复议、行政诉讼情况</p>{}\
         <p>五、存在的主要问题及改进情况</p><p>问题。</p><p>六、其他需要报告的事项</p><p>无。</p></body></html>",
        t3_html(),
        t4_html()
    );
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode(&html);
    assert!(!unmappable);
    let (source, report) = read(&bytes, "report.htm").unwrap();
    assert_eq!(source.encoding.as_deref(), Some("gb18030"));
    assert_eq!(source.media_type, "text/html");
    assert_eq!(report.agency.as_deref(), Some("瀍河区测试局"));
    assert_eq!(report.year, Some(2022));
    assert_eq!(report.template, Template::F2021);
    assert!(report.sections.iter().all(|s| s.found));

    let t2 = |r: &str, c: &str| value(&report, TableId::T2, r, c);
    assert_eq!(t2("normative_documents", "in_force").as_deref(), Some("40"));
    assert_eq!(t2("licensing", "decisions").as_deref(), Some("1234"));
    assert_eq!(
        report
            .tables
            .cell(TableId::T2, "licensing", "decisions")
            .unwrap()
            .text,
        "1,234"
    );
    assert_eq!(
        state(&report, TableId::T2, "enforcement", "decisions"),
        Some(CellState::Blank)
    );
    assert_eq!(t2("fees", "amount").as_deref(), Some("96171.60"));

    for (i, spec) in T3_F2021.iter().enumerate() {
        let natural = value(&report, TableId::T3, spec.key, "natural_person");
        assert_eq!(natural, Some(i.to_string()), "{}", spec.key);
        assert_eq!(
            state(&report, TableId::T3, spec.key, "commercial"),
            Some(CellState::Blank)
        );
        assert_eq!(
            value(&report, TableId::T3, spec.key, "total"),
            Some(i.to_string())
        );
    }
    // Three header rows, then new_received: grid row 3; values start after 3 label columns.
    assert_eq!(
        report
            .tables
            .cell(TableId::T3, "new_received", "total")
            .unwrap()
            .position,
        Some(Position::Grid {
            table: 1,
            row: 3,
            column: 9
        })
    );
    let t4: Vec<Option<String>> = ["review", "litigation_direct", "litigation_after_review"]
        .iter()
        .flat_map(|r| T4_COLUMNS.iter().map(move |c| (r, c.key)))
        .map(|(r, c)| value(&report, TableId::T4, r, c))
        .collect();
    let expect = [
        "1", "0", "0", "0", "1", "2", "1", "0", "0", "3", "0", "0", "0", "0", "0",
    ];
    assert_eq!(
        t4,
        expect
            .iter()
            .map(|v| Some((*v).to_owned()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        state(&report, TableId::T4, "litigation_after_review", "total"),
        Some(CellState::Blank)
    );
}

#[test]
fn bom_text_with_page_numbers_radicals_and_numbering() {
    let text = "\u{FEFF}测试县人民政府2020年度政府信息公开工作年度报告\n\
        ⼀、总体情况\n本年新收申请２件。\n\
        二、主动公开政府信息情况\n\
        第二十条第（一）项\n信息内容\t本年新制作数量\t本年新公开数量\t对外公开总数量\n\
        规章\t１\t１\t３\n规范性文件\t2\t2\t9\n\
        - 5 -\n\
        第二十条第（五）项\n信息内容\t上一年项目数量\t本年增/减\t处理决定数量\n\
        ⾏政许可\t10\t+2\t33\n\
        三、收到和处理政府信息公开申请情况\n\
        一、本年新收政府信息公开申请数量\t2\t0\t0\t0\t0\t0\t2\n\
        -3-\n\
        二、上年结转政府信息公开申请数量\t0\t0\t0\t0\t0\t0\t0\n\
        （三）不予公开\t1、属于国家秘密\t0\t0\t0\t0\t0\t0\t0\n\
        五、存在的主要问题及改进情况\n无。\n";
    let (source, report) = read(text.as_bytes(), "report.txt").unwrap();
    assert_eq!(source.media_type, "text/plain");
    assert_eq!(source.encoding.as_deref(), Some("utf-8"));
    assert_eq!(report.agency.as_deref(), Some("测试县人民政府"));
    assert_eq!(report.year, Some(2020));
    assert_eq!(report.template, Template::F2019);
    assert_eq!(report.sections[0].heading, "一、总体情况");
    assert_eq!(
        value(&report, TableId::T2, "regulations", "total_published").as_deref(),
        Some("3")
    );
    assert_eq!(
        value(&report, TableId::T2, "licensing", "change").as_deref(),
        Some("2")
    );
    assert_eq!(
        report
            .tables
            .cell(TableId::T2, "licensing", "change")
            .unwrap()
            .text,
        "+2"
    );
    assert_eq!(
        value(&report, TableId::T3, "carried_over", "total").as_deref(),
        Some("0")
    );
    assert_eq!(
        state(&report, TableId::T3, "denied_state_secret", "total"),
        Some(CellState::Number)
    );
    assert_eq!(
        state(&report, TableId::T3, "granted", "total"),
        Some(CellState::Missing)
    );
    // Section 4 has neither heading nor table.
    let s4 = report.section(4).unwrap();
    assert!(!s4.found && !s4.content_without_heading);
    assert!(report.tables.t4.is_none());
}

#[test]
fn markdown_pipe_tables() {
    let md = "# 示范街道办事处2023年政府信息公开工作年度报告\n\n## 一、总体情况\n\n概述。\n\n\
        ## 二、主动公开政府信息情况\n\n\
        | 第二十条第（一）项 | | | |\n|---|---|---|---|\n\
        | 信息内容 | 本年制发件数 | 本年废止件数 | 现行有效件数 |\n\
        | 规章 | 0 | 0 | 0 |\n| 行政规范性文件 | 3 | 1 | 17 |\n\
        | 行政许可 | 2,000 | | |\n| 行政处罚 | — | | |\n| 行政强制 | 无 | | |\n\
        | 行政事业性收费 | 0.5 | | |\n\n\
        ## 四、政府信息公开行政复议、行政诉讼情况\n\n\
        | 行政复议 | 1 | 0 | 0 | 0 | 1 |\n| 未经复议直接起诉 | 0 | 0 | 0 | 1 | 1 |\n| 复议后起诉 | 0 | 0 | 0 | 0 | 0 |\n";
    let (source, report) = read(md.as_bytes(), "report.md").unwrap();
    assert_eq!(source.media_type, "text/markdown");
    assert_eq!(report.agency.as_deref(), Some("示范街道办事处"));
    assert_eq!(report.template, Template::F2021);
    assert_eq!(
        value(&report, TableId::T2, "normative_documents", "in_force").as_deref(),
        Some("17")
    );
    assert_eq!(
        value(&report, TableId::T2, "licensing", "decisions").as_deref(),
        Some("2000")
    );
    assert_eq!(
        state(&report, TableId::T2, "punishment", "decisions"),
        Some(CellState::Placeholder)
    );
    assert_eq!(
        state(&report, TableId::T2, "enforcement", "decisions"),
        Some(CellState::Placeholder)
    );
    assert_eq!(
        value(&report, TableId::T2, "fees", "amount").as_deref(),
        Some("0.5")
    );
    assert_eq!(
        value(&report, TableId::T4, "litigation_direct", "pending").as_deref(),
        Some("1")
    );
    assert_eq!(
        value(&report, TableId::T4, "review", "total").as_deref(),
        Some("1")
    );
    assert!(report.tables.t3.is_none());
}

#[test]
fn truncated_table_and_lost_heading() {
    // Heading 三 lost; t3 survives, cut after （一）予以公开, with placeholders.
    let text = "某局2021年政府信息公开工作年度报告\n一、总体情况\n正文\n二、主动公开政府信息情况\n\
        规章\t1\t0\t1\n行政规范性文件\t本年制发件数\n\n\
        一、本年新收政府信息公开申请数量\t5\t/\t—\t0\t0\t0\t5\n\
        （一）予以公开\t4\t0\t0\t0\t0\n";
    let (_, report) = read(text.as_bytes(), "r.txt").unwrap();
    assert_eq!(report.year, Some(2021));
    let s3 = report.section(3).unwrap();
    assert!(!s3.found);
    assert!(s3.content_without_heading);
    assert_eq!(
        value(&report, TableId::T3, "new_received", "natural_person").as_deref(),
        Some("5")
    );
    assert_eq!(
        state(&report, TableId::T3, "new_received", "commercial"),
        Some(CellState::Placeholder)
    );
    assert_eq!(
        state(&report, TableId::T3, "new_received", "research"),
        Some(CellState::Placeholder)
    );
    // A row cut short: the cells it lacks are missing, never zero.
    assert_eq!(
        state(&report, TableId::T3, "granted", "other_org"),
        Some(CellState::Missing)
    );
    assert_eq!(
        state(&report, TableId::T3, "granted", "total"),
        Some(CellState::Missing)
    );
    assert_eq!(
        state(&report, TableId::T3, "carried_forward", "total"),
        Some(CellState::Missing)
    );
    assert_eq!(
        state(&report, TableId::T2, "normative_documents", "issued"),
        Some(CellState::Missing)
    );
    assert_eq!(report.tables.t3.as_ref().unwrap().len(), 25);
}

#[test]
fn mixed_template_keeps_all_t3_keys() {
    let text = "某区人民政府2023年政府信息公开工作年度报告\n二、主动公开政府信息情况\n\
        信息内容\t本年制发件数\t本年废止件数\t现行有效件数\n规章\t0\t0\t0\n\
        三、收到和处理政府信息公开申请情况\n\
        一、本年新收政府信息公开申请数量\t1\t0\t0\t0\t0\t0\t1\n\
        （六）其他处理\t0\t0\t0\t0\t0\t0\t0\n\
        （七）总计\t1\t0\t0\t0\t0\t0\t1\n";
    let (_, report) = read(text.as_bytes(), "r.txt").unwrap();
    assert_eq!(report.template, Template::Mixed);
    assert_eq!(report.foreign_rows, vec!["t3.other_handling".to_owned()]);
    let t3 = report.tables.t3.as_ref().unwrap();
    assert_eq!(t3.len(), 26);
    assert_eq!(
        state(&report, TableId::T3, "other_handling", "total"),
        Some(CellState::Number)
    );
    assert_eq!(
        state(&report, TableId::T3, "other_other", "total"),
        Some(CellState::Missing)
    );
    assert_eq!(
        value(&report, TableId::T3, "total_processed", "total").as_deref(),
        Some("1")
    );
}

#[test]
fn legacy_report_is_recognised_not_parsed() {
    let text = "某县2018年政府信息公开工作年度报告\n六、政府信息公开情况统计表\n指标名称\t计量单位\t2018年度\n主动公开文件数\t条\t20\n";
    let (_, report) = read(text.as_bytes(), "r.txt").unwrap();
    assert_eq!(report.template, Template::Legacy);
    assert!(report.tables.t2.is_none() && report.tables.t3.is_none() && report.tables.t4.is_none());
}

#[test]
fn refusals_name_what_is_wrong() {
    assert!(matches!(read(b"", "x"), Err(ReadError::Empty)));
    assert!(matches!(
        read(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "x.png"),
        Err(ReadError::Unsupported {
            format: "PNG image"
        })
    ));
    let ole = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0, 0, 0];
    assert!(
        matches!(read(&ole, "x.doc"), Err(ReadError::Unsupported { format }) if format.contains("WPS"))
    );
    assert!(matches!(
        read(b"PK\x03\x04\x14\0\0\0\0\0Doc_0/OFD.xml", "x.ofd"),
        Err(ReadError::Unsupported {
            format: "OFD document"
        })
    ));
    let binary: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 256) as u8).collect();
    assert!(matches!(
        read(&binary, "x.txt"),
        Err(ReadError::Undecodable(_))
    ));
    assert!(matches!(
        read_limited(b"0123456789", "x.txt", 4),
        Err(ReadError::TooLarge { size: 10, limit: 4 })
    ));
    let err = read(b"", "x").unwrap_err();
    assert_eq!(err.message_zh(), "文件为空");
}

/// A small deterministic generator: the test must not depend on a crate or on chance.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    let samples: Vec<Vec<u8>> = vec![
        format!("<html><body><p>二、主动公开政府信息情况</p>{T2_F2021_HTML}{}</body></html>", t4_html()).into_bytes(),
        "某局2021年政府信息公开工作年度报告\n三、收到和处理政府信息公开申请情况\n一、本年新收政府信息公开申请数量\t5\t0\t0\t0\t0\t0\t5\n0\t0\t1\t0\t1\t3\t0\t1\t2\t6\t2\t0\t1\t0\t3\n".as_bytes().to_vec(),
        "| 规章 | 1 | 2 |\n|---|---|---|\n# 一、总体情况".as_bytes().to_vec(),
    ];
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut reads = 0;
    for sample in &samples {
        // Every prefix: truncated files must be read or refused, never crash.
        for end in (0..sample.len()).step_by(7) {
            let _ = read(&sample[..end], "t.txt");
            reads += 1;
        }
        for _ in 0..300 {
            let mut bytes = sample.clone();
            let edits = 1 + rng.next() % 8;
            for _ in 0..edits {
                let len = bytes.len().max(1) as u64;
                let at = (rng.next() % len) as usize;
                match rng.next() % 3 {
                    0 => {
                        if let Some(b) = bytes.get_mut(at) {
                            *b = rng.next() as u8;
                        }
                    }
                    1 => bytes.insert(at.min(bytes.len()), rng.next() as u8),
                    _ => {
                        if at < bytes.len() {
                            bytes.remove(at);
                        }
                    }
                }
            }
            let _ = read(&bytes, "t.md");
            reads += 1;
        }
    }
    for _ in 0..200 {
        let len = (rng.next() % 512) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let _ = read(&bytes, "r.bin");
        reads += 1;
    }
    assert!(reads > 1000);
}

#[test]
fn group_labels_on_their_own_lines_do_not_lose_rows() {
    // A PDF-like text: the group labels of t3 stand alone between the rows.
    let text = "某镇人民政府2021年政府信息公开工作年度报告\n\
        三、收到和处理政府信息公开申请情况\n\
        一、本年新收政府信息公开申请数量\t3\t0\t0\t0\t0\t0\t3\n\
        三、本年度办理结果\n\
        （一）予以公开\t1\t0\t0\t0\t0\t0\t1\n\
        （四）无法提供\n\
        1、本机关不掌握相关政府信息\t2\t0\t0\t0\t0\t0\t2\n\
        2、没有现成信息需要另行制作\t0\t0\t0\t0\t0\t0\t0\n\
        （六）其他处理\n\
        1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请\t0\t0\t0\t0\t0\t0\t0\n\
        3.其他\t1\t0\t0\t0\t0\t0\t1\n\
        （七）总计\t3\t0\t0\t0\t0\t0\t3\n";
    let (_, report) = read(text.as_bytes(), "r.txt").unwrap();
    assert_eq!(report.template, Template::F2021);
    for (row, total) in [
        ("new_received", "3"),
        ("granted", "1"),
        ("unavailable_not_held", "2"),
        ("unavailable_needs_creation", "0"),
        ("other_overdue_correction", "0"),
        ("other_other", "1"),
        ("total_processed", "3"),
    ] {
        assert_eq!(
            value(&report, TableId::T3, row, "total").as_deref(),
            Some(total),
            "{row}"
        );
    }
    assert_eq!(
        state(&report, TableId::T3, "other_overdue_fee", "total"),
        Some(CellState::Missing)
    );
}

#[test]
fn labels_wrapped_over_lines_in_pdf_text() {
    // pdftotext-like output: columns separated by runs of spaces, long labels wrapped, one
    // row's numbers alone on a line under its label.
    let text = "某市人民政府2022年政府信息公开工作年度报告\n\
        三、收到和处理政府信息公开申请情况\n\
        一、本年新收政府信息公开申请数量    5    0    0    0    0    0    5\n\
        （二）部分公开（区分处理的，只计这一\n\
        情形，不计其他情形）    2    0    0    0    0    0    2\n\
        2.申请人逾期未按收费通知要求缴纳\n\
        费用、行政机关不再处理其政府信息    1    0    0    0    0    0    1\n\
        公开申请\n\
        3.其他\n\
        4    0    0    0    0    0    4\n";
    let (_, report) = read(text.as_bytes(), "r.txt").unwrap();
    assert_eq!(
        value(&report, TableId::T3, "new_received", "total").as_deref(),
        Some("5")
    );
    assert_eq!(
        value(&report, TableId::T3, "partially_granted", "total").as_deref(),
        Some("2")
    );
    assert_eq!(
        value(&report, TableId::T3, "other_overdue_fee", "natural_person").as_deref(),
        Some("1")
    );
    assert_eq!(
        value(&report, TableId::T3, "other_other", "total").as_deref(),
        Some("4")
    );
}

#[test]
fn large_hostile_inputs_stay_linear() {
    use std::time::Instant;
    // One 4 MB line that repeats title phrases, headings and table rows: every scan of the
    // reader must stay linear (a quadratic one takes minutes here).
    let unit = "某局2020年政府信息公开工作年度报告一、总体情况二、主动公开政府信息情况规章000三、收到和处理政府信息公开申请情况";
    let line = unit.repeat(4 * 1024 * 1024 / unit.len());
    let start = Instant::now();
    let (_, report) = read(line.as_bytes(), "big.txt").unwrap();
    assert_eq!(report.year, Some(2020));
    // Many short tab rows of the same label.
    let rows = "政府集中采购\t1\t2\n".repeat(200_000);
    let (_, report) = read(rows.as_bytes(), "rows.txt").unwrap();
    assert_eq!(
        value(&report, TableId::T2, "procurement", "items").as_deref(),
        Some("1")
    );
    // Very wide HTML is read; hostile nesting is refused before the quadratic parser sees it.
    let wide = "<table><tr>".to_owned() + &"<td colspan=1000>1</td>".repeat(2000) + "</tr></table>";
    let _ = read(
        format!("<html><body>{wide}</body></html>").as_bytes(),
        "wide.html",
    )
    .unwrap();
    let deep = format!(
        "<html><body>{}x</body></html>",
        "<div><span>".repeat(20_000)
    );
    assert!(matches!(
        read(deep.as_bytes(), "deep.html"),
        Err(ReadError::DamagedHtml(_))
    ));
    assert!(start.elapsed().as_secs() < 60, "took {:?}", start.elapsed());
}
