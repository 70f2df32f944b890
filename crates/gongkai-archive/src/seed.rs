//! Synthetic reports for measuring the archive at scale (`gongkai seed --reports N`): many
//! agencies in many regions, five years each (2021–2025, F2021), figures varied but consistent
//! with the rules of annual-report.md §6 (the T3 identity per column, results summing to the
//! processed total, row totals, t4 block totals), a few placeholders so that metrics have NA
//! reports to exclude. Archived through [`Archive::record_submission`] and
//! [`Archive::archive_checked`], as the pipeline's archive stage does, not through the queue.

use crate::Archive;
use crate::error::Result;
use crate::types::{NewSubmission, StageRun};
use chrono::Utc;
use futures::StreamExt;
use gongkai_model::schema::{T2_F2021, T3_COLUMNS, T3_F2021, T4_ROWS};
use gongkai_model::{Cell, CheckedReport, Decimal, Report, Source, Summary, Table, Template};

/// The years every synthetic agency reports.
pub const SEED_YEARS: [u16; 5] = [2021, 2022, 2023, 2024, 2025];

const CITIES: [&str; 24] = [
    "淮安市",
    "苏州市",
    "南京市",
    "无锡市",
    "徐州市",
    "常州市",
    "南通市",
    "扬州市",
    "杭州市",
    "宁波市",
    "温州市",
    "郑州市",
    "洛阳市",
    "开封市",
    "福州市",
    "厦门市",
    "泉州市",
    "广州市",
    "深圳市",
    "佛山市",
    "成都市",
    "武汉市",
    "长沙市",
    "合肥市",
];
const SYLLABLES: [char; 30] = [
    '清', '江', '洪', '泽', '金', '湖', '涟', '水', '盱', '眙', '吴', '中', '相', '城', '姑', '苏',
    '玄', '武', '秦', '淮', '鼓', '楼', '建', '邺', '栖', '霞', '雨', '花', '浦', '口',
];
const BODIES: [&str; 12] = [
    "人民政府",
    "人民政府办公室",
    "教育局",
    "公安局",
    "财政局",
    "自然资源和规划局",
    "生态环境局",
    "住房和城乡建设局",
    "交通运输局",
    "卫生健康委员会",
    "市场监督管理局",
    "人力资源和社会保障局",
];

/// A small deterministic generator (splitmix64): the same index gives the same report.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// 0 ..= max.
    fn upto(&mut self, max: u64) -> u64 {
        self.next() % (max + 1)
    }
}

/// The printed name of synthetic agency `agency` (city, district, body).
pub fn synthetic_agency(agency: u64) -> String {
    let body = BODIES[(agency % BODIES.len() as u64) as usize];
    let rest = agency / BODIES.len() as u64;
    let city = CITIES[(rest % CITIES.len() as u64) as usize];
    let rest = rest / CITIES.len() as u64;
    let first = SYLLABLES[(rest % 30) as usize];
    let second = SYLLABLES[((rest / 30) % 30) as usize];
    // Past 900 districts a city's districts get a number, so names never repeat.
    let number = rest / 900;
    let district = if number == 0 {
        format!("{first}{second}区")
    } else {
        format!("{first}{second}{number}区")
    };
    format!("{city}{district}{body}")
}

fn number(n: u64) -> Cell {
    Cell::number(Decimal::from(n), n.to_string(), None)
}

/// Synthetic report `index`: agency `index / 5`, year `SEED_YEARS[index % 5]`.
pub fn synthetic_report(index: u64) -> CheckedReport {
    let agency = synthetic_agency(index / SEED_YEARS.len() as u64);
    let year = SEED_YEARS[(index % SEED_YEARS.len() as u64) as usize];
    let mut dice = Dice(index.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x5EED);
    let mut report = Report::empty();
    report.title = Some(format!("{agency}{year}年政府信息公开工作年度报告"));
    report.agency = Some(agency);
    report.year = Some(year);
    report.template = Template::F2021;

    // t2: documents in force follow issued − repealed; decisions and an amount in 万元.
    let mut t2 = Table::default();
    for row in T2_F2021 {
        let mut cells = gongkai_model::TableRow::default();
        for column in row.columns {
            let cell = match (row.key, column.key) {
                ("fees", "amount") => {
                    let cents = dice.upto(5_000_000);
                    let value = Decimal::new(i64::try_from(cents).unwrap_or(0), 2);
                    Cell::number(value, value.to_string(), None).with_unit("万元")
                }
                (_, "decisions") => number(dice.upto(5000)),
                (_, "in_force") => number(dice.upto(300)),
                _ => number(dice.upto(20)),
            };
            cells.insert(column.key.to_owned(), cell);
        }
        t2.insert(row.key.to_owned(), cells);
    }

    // t3, per applicant column: new + carried over = processed + carried forward, the results
    // summing to processed; the total column is the sum of the six.
    let result_rows: Vec<&str> = T3_F2021
        .iter()
        .map(|r| r.key)
        .filter(|k| {
            !matches!(
                *k,
                "new_received" | "carried_over" | "total_processed" | "carried_forward"
            )
        })
        .collect();
    let scale = [400, 40, 5, 5, 10, 20];
    let mut columns: Vec<Vec<(String, u64)>> = Vec::new();
    for max in scale {
        let new = dice.upto(max);
        let over = dice.upto(max / 10);
        let forward = dice.upto((new + over) / 8);
        let processed = new + over - forward;
        let mut values = vec![
            ("new_received".to_owned(), new),
            ("carried_over".to_owned(), over),
        ];
        // Most of the processed applications granted, the rest spread over the other results.
        let mut left = processed;
        for (i, row) in result_rows.iter().enumerate() {
            let share = if i + 1 == result_rows.len() {
                left
            } else if i == 0 {
                left * (40 + dice.upto(50)) / 100
            } else {
                dice.upto(left / 4)
            };
            left -= share;
            values.push(((*row).to_owned(), share));
        }
        values.push(("total_processed".to_owned(), processed));
        values.push(("carried_forward".to_owned(), forward));
        columns.push(values);
    }
    let mut t3 = Table::default();
    for row in T3_F2021 {
        let mut cells = gongkai_model::TableRow::default();
        let mut total = 0;
        for (c, column) in T3_COLUMNS.iter().enumerate().take(6) {
            let value = columns[c]
                .iter()
                .find(|(k, _)| k == row.key)
                .map_or(0, |(_, v)| *v);
            total += value;
            cells.insert(column.key.to_owned(), number(value));
        }
        cells.insert("total".to_owned(), number(total));
        t3.insert(row.key.to_owned(), cells);
    }

    // t4: each block's total the sum of its four results; now and then a placeholder where a
    // body printed `/` (its rates are then NA).
    let mut t4 = Table::default();
    for row in T4_ROWS {
        let parts = [dice.upto(8), dice.upto(3), dice.upto(4), dice.upto(2)];
        let mut cells = gongkai_model::TableRow::default();
        for (column, value) in ["upheld", "corrected", "other", "pending"]
            .iter()
            .zip(parts)
        {
            cells.insert((*column).to_owned(), number(value));
        }
        cells.insert("total".to_owned(), number(parts.iter().sum()));
        t4.insert(row.key.to_owned(), cells);
    }
    if dice.upto(49) == 0
        && let Some(cell) = t4.get_mut("review").and_then(|r| r.get_mut("corrected"))
    {
        *cell = Cell::placeholder("/", None);
    }
    report.tables.t2 = Some(t2);
    report.tables.t3 = Some(t3);
    report.tables.t4 = Some(t4);
    CheckedReport {
        source: Source {
            name: format!("seed-{index}.txt"),
            sha256: synthetic_sha256(index),
            media_type: "text/plain".to_owned(),
            encoding: Some("utf-8".to_owned()),
            bytes: 1,
        },
        report,
        findings: Vec::new(),
        summary: Summary::default(),
        rules_version: "seed".to_owned(),
    }
}

/// The digit string synthetic report `index` is submitted under (never a real document's).
pub fn synthetic_sha256(index: u64) -> String {
    format!("5eed{index:060x}")
}

/// Archives synthetic reports `first .. first + count` with `concurrency` at a time, calling
/// `progress` with the number done after each; returns how many were new (a report already
/// seeded is a duplicate and left as it is).
pub async fn seed(
    archive: &Archive,
    first: u64,
    count: u64,
    concurrency: usize,
    progress: impl Fn(u64),
) -> Result<u64> {
    let mut done = 0;
    let mut created = 0;
    let mut work = futures::stream::iter(first..first.saturating_add(count))
        .map(|index| {
            let archive = archive.clone();
            async move {
                let checked = synthetic_report(index);
                let submitted = archive
                    .record_submission(&NewSubmission {
                        sha256: checked.source.sha256.clone(),
                        idempotency_key: None,
                        filename: checked.source.name.clone(),
                        media_type: Some("text/plain".to_owned()),
                        size_bytes: 1,
                        blob_key: format!("sha256/{}", checked.source.sha256),
                        source_system: Some("gongkai seed".to_owned()),
                        received_at: Utc::now(),
                        batch: None,
                    })
                    .await?;
                if submitted.duplicate {
                    return Ok(false);
                }
                archive
                    .archive_checked(submitted.report_id, &checked, StageRun::now())
                    .await?;
                Ok::<_, crate::ArchiveError>(true)
            }
        })
        .buffer_unordered(concurrency.max(1));
    while let Some(outcome) = work.next().await {
        if outcome? {
            created += 1;
        }
        done += 1;
        progress(done);
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agencies_are_many_distinct_and_carry_their_region() {
        let names: std::collections::HashSet<String> = (0..20_000).map(synthetic_agency).collect();
        assert_eq!(names.len(), 20_000);
        let regions: std::collections::HashSet<String> = (0..20_000)
            .map(|a| gongkai_metrics::agency::region_of(&synthetic_agency(a)))
            .collect();
        assert!(regions.len() > 500, "{} regions", regions.len());
        assert_eq!(
            gongkai_metrics::agency::region_of(&synthetic_agency(0)),
            "淮安市/清清区"
        );
    }

    #[test]
    fn synthetic_reports_are_deterministic_and_of_five_years() {
        assert_eq!(synthetic_report(7), synthetic_report(7));
        let years: Vec<Option<u16>> = (0..5).map(|i| synthetic_report(i).report.year).collect();
        assert_eq!(years, SEED_YEARS.map(Some).to_vec());
        assert_eq!(synthetic_sha256(1).len(), 64);
    }
}

/// The rules find nothing wrong with the arithmetic of a synthetic report: its figures are
/// consistent (warnings about missing prose are expected, errors are not).
#[cfg(test)]
mod consistent {
    #[test]
    fn synthetic_reports_break_no_arithmetic_rule() {
        for index in 0..300 {
            let checked = super::synthetic_report(index);
            let errors: Vec<_> = gongkai_rules::check(&checked.report)
                .into_iter()
                .filter(|f| f.severity == gongkai_model::Severity::Error)
                .filter(|f| {
                    f.rule.starts_with("T3") || f.rule.starts_with("T4") || f.rule.starts_with("C-")
                })
                .collect();
            assert!(errors.is_empty(), "report {index}: {errors:?}");
        }
    }
}
