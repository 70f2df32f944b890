//! The archive as a living record, through the real pipeline (the gateway and one replica of
//! each worker in-process, RabbitMQ and PostgreSQL for real): corrections (archive.md §1) with
//! every refusal, versions, and finding dispositions (§2).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use common::{request, services_available, start, start_workers};
use futures::StreamExt;
use gongkai_proto::v1;
use std::time::Duration;
use tonic::Code;

/// A report of the 2021 format whose table 2 prints the row 行政规范性文件 as one run of
/// digits, `8855698`, which fits the rules in 15 ways: its three cells are `ambiguous` and the
/// report's one finding is `C-AMBIGUOUS` (an error). Written here, not taken from the corpus.
pub fn ambiguous_report(agency: &str, year: u16) -> Vec<u8> {
    format!(
        "{agency}{year}年政府信息公开工作年度报告\n\
本报告根据《中华人民共和国政府信息公开条例》编制。本报告中所列数据统计时限为{year}年1月1日至{year}年12月31日。 \
一、总体情况 {year}年，本机关扎实推进政务公开工作。 \
二、主动公开政府信息情况第二十条第（一）项 信息内容 本年制发件数 本年废止件数 现行有效件数 规章000行政规范性文件8855698\
第二十条第（五）项信息内容本年处理决定数量行政许可10690第二十条第（六）项信息内容本年处理决定数量行政处罚2113行政强制0\
第二十条第（八）项信息内容本年收费金额（单位：万元）行政事业性收费9116.36 \
三、收到和处理政府信息公开申请情况（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和） \
申请人情况 自然人 法人或其他组织 总计 商业 企业 科研 机构 社会公益组织 法律服务机构 其他 \
一、本年新收政府信息公开申请数量 713000074二、上年结转政府信息公开申请数量 1000001三、本年度办理结果 \
（一）予以公开 210000021（二）部分公开（区分处理的，只计这一情形，不计其他情形） 8100009（三）不予公开 \
1.属于国家秘密00000002.其他法律行政法规禁止公开 00000003.危及“三安全一稳定” 00000004.保护第三方合法权益 0000000\
5.属于三类内部事务信息 10000016.属于四类过程性信息 20000027.属于行政执法案卷 10000018.属于行政查询事项 0000000\
（四）无法提供 1.本机关不掌握相关政府信息 3700000372.没有现成信息需要另行制作 00000003.补正后申请内容仍不明确 0000000\
（五）不予处理 1.信访举报投诉类申请 00000002.重复申请 00000003.要求提供公开出版物 00000004.无正当理由大量反复申请 0000000\
5.要求行政机关确认或重新出具已获取信息 0000000（六）其他处理 \
1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请 2000002\
2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请 00000003.其他 0200002\
（七）总计 723000075四、结转下年度继续办理 0000000 \
四、政府信息公开行政复议、行政诉讼情况行政复议 行政诉讼 结果维持结果纠正其他结果尚未审结总计 未经复议直接起诉 复议后起诉 \
结果维持结果纠正其他结果尚未审结总计结果维持结果纠正其他结果尚未审结总计 0 1 1 0 2 1 0 0 0 1 0 0 0 0 0 \
五、存在的主要问题及改进情况 本机关政府信息公开工作还存在一些不足。 六、其他需要报告的事项 {year}年，无收取信息处理费情况。\n"
    )
    .into_bytes()
}

type Client = gongkai_proto::ReportServiceClient<tonic::transport::Channel>;

/// Follows the report to its final status and returns it as GetReport shows it then.
async fn final_report(client: &mut Client, report_id: &str) -> v1::Report {
    let stream = client
        .watch_report(v1::WatchReportRequest {
            report_id: report_id.to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    tokio::time::timeout(
        Duration::from_secs(60),
        stream.map(|e| e.unwrap()).collect::<Vec<_>>(),
    )
    .await
    .expect("the report reaches a final status within a minute");
    client
        .get_report(v1::GetReportRequest {
            report_id: report_id.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn submit(client: &mut Client, content: &[u8], name: &str) -> v1::Report {
    let id = client
        .submit_report(request(content, name))
        .await
        .unwrap()
        .into_inner()
        .report_id;
    final_report(client, &id).await
}

fn cell<'a>(report: &'a v1::Report, table: &str, row: &str, column: &str) -> &'a v1::Cell {
    report
        .tables
        .iter()
        .find(|t| t.table == table)
        .and_then(|t| t.cells.iter().find(|c| c.row == row && c.column == column))
        .unwrap_or_else(|| panic!("no cell {table}.{row}.{column}"))
}

fn rules(report: &v1::Report) -> Vec<&str> {
    report.findings.iter().map(|f| f.rule.as_str()).collect()
}

fn set(table: &str, row: &str, column: &str, value: Option<&str>) -> v1::CellCorrection {
    v1::CellCorrection {
        table: table.into(),
        row: row.into(),
        column: column.into(),
        value: value.map(str::to_owned),
    }
}

fn correction(report_id: &str, cells: Vec<v1::CellCorrection>) -> v1::CorrectReportRequest {
    v1::CorrectReportRequest {
        report_id: report_id.to_owned(),
        cells,
        reason: "核对原件：规范性文件制发88件、废止55件、现行有效698件".to_owned(),
        idempotency_key: None,
    }
}

/// The ids of the reports a listing selects.
async fn listed(client: &mut Client, request: v1::ListReportsRequest) -> Vec<String> {
    client
        .list_reports(request)
        .await
        .unwrap()
        .into_inner()
        .reports
        .into_iter()
        .map(|r| r.report_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correction_is_a_new_current_version_and_the_original_stays_as_it_was() {
    if !services_available() {
        return;
    }
    let gw = start("review_correct", |_| {}).await;
    let (stop, workers) = start_workers(&gw);
    let mut client = gw.client().await;

    let original = submit(
        &mut client,
        &ambiguous_report("测试区人民政府", 2022),
        "a.txt",
    )
    .await;
    assert_eq!(original.status, v1::ReportStatus::Archived as i32);
    assert_eq!(rules(&original), ["C-AMBIGUOUS"]);
    assert_eq!(
        cell(&original, "t2", "normative_documents", "issued").state,
        v1::CellState::Ambiguous as i32
    );
    let id = original.report_id.clone();

    // Every refusal of §1, with its code and what it names.
    let refusing = client.clone();
    let refused = |request: v1::CorrectReportRequest| {
        let mut client = refusing.clone();
        async move { client.correct_report(request).await.unwrap_err() }
    };
    for (cells, code, named) in [
        (
            vec![set("t9", "granted", "total", Some("1"))],
            Code::InvalidArgument,
            "t9",
        ),
        (
            vec![set("t2", "normative_docs", "issued", Some("1"))],
            Code::InvalidArgument,
            "normative_docs",
        ),
        (
            vec![set("t2", "normative_documents", "made", Some("1"))],
            Code::InvalidArgument,
            "made",
        ),
        (
            vec![set("t2", "normative_documents", "issued", Some("八十八"))],
            Code::InvalidArgument,
            "八十八",
        ),
        (vec![], Code::InvalidArgument, "no cells"),
    ] {
        let status = refused(correction(&id, cells)).await;
        assert_eq!(status.code(), code, "{status:?}");
        assert!(
            status.message().contains(named),
            "{status:?} should name {named}"
        );
    }
    let mut no_reason = correction(
        &id,
        vec![set("t2", "normative_documents", "issued", Some("88"))],
    );
    no_reason.reason = "  ".into();
    assert_eq!(refused(no_reason).await.code(), Code::InvalidArgument);
    let unknown = refused(correction(
        &uuid::Uuid::now_v7().to_string(),
        vec![set("t2", "normative_documents", "issued", Some("88"))],
    ))
    .await;
    assert_eq!(unknown.code(), Code::NotFound);
    // A report that is not ARCHIVED (it could not be read: FAILED).
    let failed = submit(&mut client, b"\x00\x01\x02 not a report \xff", "broken.bin").await;
    assert_eq!(failed.status, v1::ReportStatus::Failed as i32);
    let not_archived = refused(correction(
        &failed.report_id,
        vec![set("t2", "normative_documents", "issued", Some("88"))],
    ))
    .await;
    assert_eq!(
        not_archived.code(),
        Code::FailedPrecondition,
        "{not_archived:?}"
    );
    assert!(
        not_archived.message().contains("FAILED"),
        "{not_archived:?}"
    );

    // The correction, with an idempotency key: a new report, version 2, through validate and
    // archive.
    let mut request = correction(
        &id,
        vec![
            set("t2", "normative_documents", "issued", Some("88")),
            set("t2", "normative_documents", "repealed", Some("55")),
            set("t2", "normative_documents", "in_force", Some("698")),
        ],
    );
    request.idempotency_key = Some("correct-once".into());
    let answer = client
        .correct_report(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.version, 2);
    assert!(!answer.duplicate);
    assert_ne!(answer.report_id, id);
    let corrected = final_report(&mut client, &answer.report_id).await;
    assert_eq!(
        corrected.status,
        v1::ReportStatus::Archived as i32,
        "{:?}",
        corrected.events
    );
    assert_eq!(corrected.kind, v1::ReportKind::Correction as i32);
    assert_eq!(corrected.parent_report_id.as_deref(), Some(id.as_str()));
    assert_eq!(corrected.version, Some(2));
    assert_eq!(
        corrected.caller.as_deref(),
        Some(gongkai_gateway::UNAUTHENTICATED_CALLER)
    );
    assert_eq!(corrected.reason.as_deref(), Some(request.reason.as_str()));
    assert!(!corrected.superseded);
    // The corrected cells: state CORRECTED, the new value, the read text and what the reader
    // had made of it beside it.
    let issued = cell(&corrected, "t2", "normative_documents", "issued");
    assert_eq!(issued.state, v1::CellState::Corrected as i32);
    assert_eq!(issued.value.as_deref(), Some("88"));
    assert_eq!(issued.previous_state, Some(v1::CellState::Ambiguous as i32));
    assert_eq!(issued.previous_value, None);
    assert_eq!(
        cell(&corrected, "t2", "normative_documents", "in_force")
            .value
            .as_deref(),
        Some("698")
    );
    // Its findings are those of the corrected content: no ambiguity left.
    assert!(
        !rules(&corrected).contains(&"C-AMBIGUOUS"),
        "{:?}",
        rules(&corrected)
    );
    assert_eq!(corrected.summary.unwrap().errors, 0);
    // The pipeline's stages for a correction: receive, validate, archive (never parse).
    let stages: Vec<&str> = corrected.events.iter().map(|e| e.stage.as_str()).collect();
    assert_eq!(stages, ["receive", "validate", "archive"]);

    // The same key: the same answer, nothing new.
    let again = client.correct_report(request).await.unwrap().into_inner();
    assert_eq!(again.report_id, answer.report_id);
    assert!(again.duplicate);
    assert_eq!(again.status, v1::ReportStatus::Archived as i32);

    // The parent never changed, and says what replaced it.
    let parent = client
        .get_report(v1::GetReportRequest {
            report_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rules(&parent), ["C-AMBIGUOUS"]);
    assert_eq!(parent.tables, original.tables);
    assert_eq!(parent.findings, original.findings);
    assert!(parent.superseded);
    assert_eq!(
        parent.superseded_by.as_deref(),
        Some(answer.report_id.as_str())
    );

    // No forks: the parent is no longer current, and the refusal names the current one.
    let forked = refused(correction(
        &id,
        vec![set("t2", "normative_documents", "issued", Some("8"))],
    ))
    .await;
    assert_eq!(forked.code(), Code::FailedPrecondition);
    assert!(forked.message().contains(&answer.report_id), "{forked:?}");

    // The series.
    let series = client
        .list_versions(v1::ListVersionsRequest {
            report_id: id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (series.agency.as_str(), series.year),
        ("测试区人民政府", 2022)
    );
    let versions: Vec<(Option<u32>, i32, bool)> = series
        .versions
        .iter()
        .map(|v| (v.version, v.kind, v.current))
        .collect();
    assert_eq!(
        versions,
        [
            (Some(1), v1::ReportKind::Submission as i32, false),
            (Some(2), v1::ReportKind::Correction as i32, true)
        ]
    );
    let v2 = &series.versions[1];
    assert_eq!(v2.errors, 0);
    assert_eq!(series.versions[0].errors, 1);
    let changes: Vec<(String, Option<String>, i32, Option<String>)> = v2
        .changed_cells
        .iter()
        .map(|c| {
            (
                format!("{}.{}.{}", c.table, c.row, c.column),
                c.before.clone(),
                c.before_state,
                c.after.clone(),
            )
        })
        .collect();
    assert_eq!(
        changes[0],
        (
            "t2.normative_documents.issued".into(),
            None,
            v1::CellState::Ambiguous as i32,
            Some("88".into())
        )
    );
    assert_eq!(changes.len(), 3);
    let by_agency = client
        .list_versions(v1::ListVersionsRequest {
            agency: Some("测试区人民政府".into()),
            year: Some(2022),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_agency, series);

    let _ = stop.send(true);
    for task in workers {
        task.await.unwrap();
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disposition_is_kept_for_the_series_while_the_finding_recurs() {
    if !services_available() {
        return;
    }
    let gw = start("review_judge", |_| {}).await;
    let (stop, workers) = start_workers(&gw);
    let mut client = gw.client().await;

    let original = submit(
        &mut client,
        &ambiguous_report("判定区人民政府", 2023),
        "b.txt",
    )
    .await;
    let id = original.report_id.clone();
    let unjudged = v1::ListReportsRequest {
        unjudged_errors: Some(true),
        ..Default::default()
    };
    assert_eq!(
        listed(&mut client, unjudged.clone()).await,
        vec![id.clone()]
    );

    let judge = |disposition: v1::Disposition, column: &str| v1::SetFindingDispositionRequest {
        report_id: id.clone(),
        rule: "C-AMBIGUOUS".into(),
        table: Some("t2".into()),
        row: Some("normative_documents".into()),
        column: Some(column.into()),
        disposition: disposition as i32,
        note: "原件如此".into(),
    };
    // Refused: no judgement, and a finding the report does not have.
    let unspecified = client
        .set_finding_disposition(judge(v1::Disposition::Unspecified, "issued"))
        .await
        .unwrap_err();
    assert_eq!(unspecified.code(), Code::InvalidArgument);
    let elsewhere = client
        .set_finding_disposition(judge(v1::Disposition::NotAProblem, "in_force"))
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), Code::InvalidArgument);
    assert!(elsewhere.message().contains("C-AMBIGUOUS"), "{elsewhere:?}");

    let judged = client
        .set_finding_disposition(judge(v1::Disposition::ConfirmedAsPublished, "issued"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (judged.agency.as_str(), judged.year),
        ("判定区人民政府", 2023)
    );
    let shown = client
        .get_report(v1::GetReportRequest {
            report_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        shown.findings[0].disposition,
        v1::Disposition::ConfirmedAsPublished as i32
    );
    assert_eq!(
        shown.findings[0].disposition_note.as_deref(),
        Some("原件如此")
    );
    assert!(listed(&mut client, unjudged.clone()).await.is_empty());

    // A new version where the same finding recurs carries the judgement.
    let answer = client
        .correct_report(v1::CorrectReportRequest {
            report_id: id.clone(),
            cells: vec![set("t2", "fees", "amount", Some("9116.40"))],
            reason: "收费金额以财务决算为准".into(),
            idempotency_key: None,
        })
        .await
        .unwrap()
        .into_inner();
    let corrected = final_report(&mut client, &answer.report_id).await;
    assert_eq!(rules(&corrected), ["C-AMBIGUOUS"]);
    assert_eq!(
        corrected.findings[0].disposition,
        v1::Disposition::ConfirmedAsPublished as i32
    );
    assert_eq!(
        cell(&corrected, "t2", "fees", "amount")
            .previous_value
            .as_deref(),
        Some("9116.36")
    );
    assert!(listed(&mut client, unjudged).await.is_empty());

    let _ = stop.send(true);
    for task in workers {
        task.await.unwrap();
    }
    gw.stop().await;
}

/// Follows a batch with WatchBatch until it is complete; returns the last view.
async fn watch_batch_to_end(client: &mut Client, batch: &str) -> v1::Batch {
    let stream = client
        .watch_batch(v1::WatchBatchRequest {
            batch: batch.to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    let views = tokio::time::timeout(
        Duration::from_secs(60),
        stream.map(|v| v.unwrap()).collect::<Vec<_>>(),
    )
    .await
    .expect("the batch completes within a minute");
    let last = views.last().cloned().expect("at least one view");
    assert!(last.complete, "{last:?}");
    last
}

fn count_of(batch: &v1::Batch, status: &str) -> u32 {
    batch
        .counts
        .iter()
        .find(|c| c.status == status)
        .map_or(0, |c| c.count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correction_of_last_year_changes_this_years_carry_over_after_revalidation() {
    if !services_available() {
        return;
    }
    let gw = start("review_revalidate", |_| {}).await;
    let (stop, workers) = start_workers(&gw);
    let mut client = gw.client().await;
    let agency = "结转区人民政府";

    // 2022 carries 0 forward; 2023 says it carried 1 over: X-CARRY-OVER.
    let last_year = submit(&mut client, &ambiguous_report(agency, 2022), "2022.txt").await;
    let this_year = submit(&mut client, &ambiguous_report(agency, 2023), "2023.txt").await;
    assert!(
        rules(&this_year).contains(&"X-CARRY-OVER"),
        "{:?}",
        rules(&this_year)
    );
    assert!(!rules(&last_year).contains(&"X-CARRY-OVER"));
    let this_id = this_year.report_id.clone();
    let only_2023 = v1::ReportFilter {
        agency: Some(agency.into()),
        year_from: Some(2023),
        year_to: Some(2023),
        ..Default::default()
    };

    // Already at the current rules version: skipped, and the batch is complete at once.
    let skipped = client
        .revalidate_reports(v1::RevalidateReportsRequest {
            filter: Some(only_2023.clone()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((skipped.queued, skipped.skipped), (0, 1));
    let view = watch_batch_to_end(&mut client, &skipped.batch).await;
    assert_eq!(count_of(&view, "SKIPPED"), 1);

    // The reviewer corrects 2022: one application was carried forward after all.
    let answer = client
        .correct_report(v1::CorrectReportRequest {
            report_id: last_year.report_id.clone(),
            cells: vec![
                set("t3", "carried_forward", "natural_person", Some("1")),
                set("t3", "carried_forward", "total", Some("1")),
            ],
            reason: "结转下年度 1 件漏填".into(),
            idempotency_key: None,
        })
        .await
        .unwrap()
        .into_inner();
    let corrected = final_report(&mut client, &answer.report_id).await;
    assert_eq!(corrected.status, v1::ReportStatus::Archived as i32);

    // Re-validated (forced: same rules), 2023 is checked against the corrected 2022.
    let revalidation = client
        .revalidate_reports(v1::RevalidateReportsRequest {
            filter: Some(only_2023),
            force: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((revalidation.queued, revalidation.skipped), (1, 0));
    let view = watch_batch_to_end(&mut client, &revalidation.batch).await;
    assert_eq!(view.kind, "REVALIDATION");
    assert_eq!(
        (view.total, count_of(&view, "DONE"), view.failed),
        (1, 1, 0)
    );
    assert!(view.finished_at.is_some());
    let after = client
        .get_report(v1::GetReportRequest {
            report_id: this_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        !rules(&after).contains(&"X-CARRY-OVER"),
        "{:?}",
        rules(&after)
    );
    let others: Vec<&str> = rules(&this_year)
        .into_iter()
        .filter(|r| *r != "X-CARRY-OVER")
        .collect();
    assert_eq!(rules(&after), others);
    // No new version; the re-validation is an event with the before and after.
    assert_eq!(after.version, Some(1));
    assert_eq!(after.status, v1::ReportStatus::Archived as i32);
    let revalidated: Vec<&v1::ReportEvent> = after
        .events
        .iter()
        .filter(|e| e.stage == "revalidate")
        .collect();
    assert_eq!(revalidated.len(), 1, "{:?}", after.events);
    let detail = revalidated[0].detail.as_deref().unwrap_or_default();
    let (before, now) = (this_year.summary.unwrap(), after.summary.unwrap());
    assert_eq!(
        before.errors + before.warnings + before.infos,
        now.errors + now.warnings + now.infos + (rules(&this_year).len() - others.len()) as u32
    );
    let counts = format!(
        "errors {} → {}, warnings {} → {}, infos {} → {}",
        before.errors, now.errors, before.warnings, now.warnings, before.infos, now.infos
    );
    assert!(detail.contains(&counts), "{detail} lacks {counts}");

    // Delivered twice, archived once: the archive stage's write of the same re-validation
    // again changes nothing.
    let archive = gongkai_archive::Archive::connect(gw.db.url())
        .await
        .unwrap();
    let id: uuid::Uuid = this_id.parse().unwrap();
    let stored = archive.get_report(id).await.unwrap();
    let json = serde_json::to_string(&stored.checked.unwrap()).unwrap();
    let again = archive
        .archive_revalidation(&revalidation.batch, id, &json, chrono::Utc::now())
        .await
        .unwrap();
    assert!(
        again,
        "a second write of the same re-validation is a redelivery"
    );
    assert_eq!(
        archive
            .events(id)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.stage == gongkai_archive::Stage::Revalidate)
            .count(),
        1
    );

    let _ = stop.send(true);
    for task in workers {
        task.await.unwrap();
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_shows_its_failures_and_retry_requeues_exactly_them() {
    if !services_available() {
        return;
    }
    let gw = start("review_batch", |_| {}).await;
    let (stop, workers) = start_workers(&gw);
    let mut client = gw.client().await;
    let label = "2022年度全市年报";

    let mut ids = Vec::new();
    for (content, name) in [
        (ambiguous_report("甲区人民政府", 2022), "甲.txt"),
        (b"\x00\x01\x02 not a report \xff".to_vec(), "broken.bin"),
        (ambiguous_report("乙区人民政府", 2022), "乙.txt"),
    ] {
        let mut submission = request(&content, name);
        submission.batch = Some(label.into());
        ids.push(
            client
                .submit_report(submission)
                .await
                .unwrap()
                .into_inner()
                .report_id,
        );
    }
    let view = watch_batch_to_end(&mut client, label).await;
    assert_eq!(view.kind, "SUBMISSION");
    assert_eq!(
        (view.total, count_of(&view, "ARCHIVED"), view.failed),
        (3, 2, 1)
    );
    let shown = client
        .get_batch(v1::GetBatchRequest {
            batch: label.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(shown.failures.len(), 1);
    assert_eq!(shown.failures[0].report_id, ids[1]);
    assert_eq!(shown.failures[0].filename, "broken.bin");
    assert_eq!(shown.failures[0].stage.as_deref(), Some("parse"));
    assert!(shown.failures[0].reason.is_some());
    let listed = client
        .list_batches(v1::ListBatchesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.batches.len(), 1);
    assert_eq!(listed.batches[0].batch, label);
    let unknown = client
        .get_batch(v1::GetBatchRequest {
            batch: "没有这个批次".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::InvalidArgument);

    // With the workers stopped, what RetryBatch queues stays in the queue to be looked at:
    // exactly the failed report, nothing else.
    let _ = stop.send(true);
    for task in workers {
        task.await.unwrap();
    }
    let retried = client
        .retry_batch(v1::RetryBatchRequest {
            batch: label.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retried.requeued, 1);
    assert_eq!(retried.report_ids, [ids[1].clone()]);
    let queued = gw.drain("gongkai.parse").await;
    let queued: Vec<String> = queued.iter().map(|m| m.report_id.to_string()).collect();
    assert_eq!(queued, [ids[1].clone()]);
    assert!(gw.drain("gongkai.validate").await.is_empty());
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reparse_reads_the_stored_document_again_and_makes_no_version() {
    if !services_available() {
        return;
    }
    let gw = start("review_reparse", |_| {}).await;
    let (stop, workers) = start_workers(&gw);
    let mut client = gw.client().await;
    let original = submit(
        &mut client,
        &ambiguous_report("重读区人民政府", 2022),
        "r.txt",
    )
    .await;
    let section_5 = |report: &v1::Report| {
        report
            .sections
            .iter()
            .find(|s| s.number == 5)
            .map(|s| s.text.clone())
            .unwrap_or_default()
    };
    const PRINTED: &str = "本机关政府信息公开工作还存在一些不足";
    assert!(section_5(&original).contains(PRINTED));

    // The archived reading differs from what the stored bytes say (as after a reader that
    // has been improved since): a re-validation re-checks the archived reading, a reparse
    // reads the bytes again.
    let archive = gongkai_archive::Archive::connect(gw.db.url())
        .await
        .unwrap();
    sqlx::query("UPDATE reports SET checked = replace(checked::text, $2, '旧版读出的文字')::json WHERE report_id = $1::uuid")
        .bind(&original.report_id)
        .bind(PRINTED)
        .execute(archive.pool())
        .await
        .unwrap();
    let revalidate = |reparse: bool| v1::RevalidateReportsRequest {
        reparse,
        force: true,
        ..Default::default()
    };
    let get = |client: &mut Client| {
        let mut client = client.clone();
        let id = original.report_id.clone();
        async move {
            client
                .get_report(v1::GetReportRequest { report_id: id })
                .await
                .unwrap()
                .into_inner()
        }
    };

    let answer = client
        .revalidate_reports(revalidate(false))
        .await
        .unwrap()
        .into_inner();
    let view = watch_batch_to_end(&mut client, &answer.batch).await;
    assert_eq!((count_of(&view, "DONE"), view.failed), (1, 0), "{view:?}");
    let rechecked = get(&mut client).await;
    assert!(section_5(&rechecked).contains("旧版读出的文字"));

    let answer = client
        .revalidate_reports(revalidate(true))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((answer.queued, answer.skipped), (1, 0));
    let view = watch_batch_to_end(&mut client, &answer.batch).await;
    assert_eq!((count_of(&view, "DONE"), view.failed), (1, 0), "{view:?}");
    let after = get(&mut client).await;
    // Read again from the same bytes: the same sections, tables and findings as submitted,
    // still version 1, a `revalidate` event per run and no second parse of the report's own.
    assert_eq!(after.sections, original.sections);
    assert_eq!(after.tables, original.tables);
    assert_eq!(after.findings, original.findings);
    assert_eq!(after.version, Some(1));
    let stages: Vec<&str> = after.events.iter().map(|e| e.stage.as_str()).collect();
    assert_eq!(
        stages,
        [
            "receive",
            "parse",
            "validate",
            "archive",
            "revalidate",
            "revalidate"
        ]
    );

    let _ = stop.send(true);
    for task in workers {
        task.await.unwrap();
    }
    gw.stop().await;
}

/// Polls GetReport with `token` until the report leaves the pipeline (ARCHIVED or FAILED).
async fn settled(client: &mut Client, token: &str, report_id: &str) -> v1::Report {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let report = client
            .get_report(common::authorized(
                v1::GetReportRequest {
                    report_id: report_id.to_owned(),
                },
                token,
            ))
            .await
            .unwrap()
            .into_inner();
        let status = v1::ReportStatus::try_from(report.status).unwrap();
        if matches!(
            status,
            v1::ReportStatus::Archived | v1::ReportStatus::Failed
        ) {
            return report;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "report {report_id} still {status:?} after a minute"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reviewers_and_admins_write_is_audited_under_the_callers_token_name() {
    if !services_available() {
        return;
    }
    let gw = start("review_audit", |c| {
        c.auth = Some(gongkai_gateway::AuthMode::Required);
    })
    .await;
    let (stop, workers) = start_workers(&gw);
    let mut client = gw.client().await;
    let intake = common::issue_token(&gw, "intake-system", &["submit", "read"]).await;
    let reviewer = common::issue_token(&gw, "reviewer-li", &["review", "read"]).await;
    let admin = common::issue_token(&gw, "admin-wang", &["admin"]).await;
    let label = "审计批次";

    let mut ids = Vec::new();
    for (content, name) in [
        (ambiguous_report("审计区人民政府", 2023), "审计.txt"),
        (b"\x00\x01\x02 not a report \xff".to_vec(), "broken.bin"),
    ] {
        let mut submission = request(&content, name);
        submission.batch = Some(label.into());
        let id = client
            .submit_report(common::authorized(submission, &intake))
            .await
            .unwrap()
            .into_inner()
            .report_id;
        settled(&mut client, &intake, &id).await;
        ids.push(id);
    }
    let id = ids[0].clone();

    client
        .set_finding_disposition(common::authorized(
            v1::SetFindingDispositionRequest {
                report_id: id.clone(),
                rule: "C-AMBIGUOUS".into(),
                table: Some("t2".into()),
                row: Some("normative_documents".into()),
                column: Some("issued".into()),
                disposition: v1::Disposition::ToBeCorrected as i32,
                note: "待核对原件".into(),
            },
            &reviewer,
        ))
        .await
        .unwrap();
    // A refused correction changes nothing, so it records nothing.
    let refused = client
        .correct_report(common::authorized(
            correction(&id, vec![set("t9", "nothing", "here", Some("1"))]),
            &reviewer,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    let corrected = client
        .correct_report(common::authorized(
            correction(
                &id,
                vec![
                    set("t2", "normative_documents", "issued", Some("88")),
                    set("t2", "normative_documents", "repealed", Some("55")),
                    set("t2", "normative_documents", "in_force", Some("698")),
                ],
            ),
            &reviewer,
        ))
        .await
        .unwrap()
        .into_inner();
    settled(&mut client, &reviewer, &corrected.report_id).await;
    let revalidation = client
        .revalidate_reports(common::authorized(
            v1::RevalidateReportsRequest {
                force: true,
                ..Default::default()
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner();
    let retried = client
        .retry_batch(common::authorized(
            v1::RetryBatchRequest {
                batch: label.into(),
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retried.report_ids, [ids[1].clone()]);
    let alias = client
        .set_agency_alias(common::authorized(
            v1::SetAgencyAliasRequest {
                alias: "审计区政府".into(),
                agency: "审计区人民政府".into(),
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner();

    let archive = gongkai_archive::Archive::connect(gw.db.url())
        .await
        .unwrap();
    let entries = archive
        .audit_log(&gongkai_archive::AuditQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let writes: Vec<(&str, &str, Option<&str>)> = entries
        .iter()
        .rev()
        .filter(|e| !e.action.starts_with("token."))
        .map(|e| (e.actor.as_str(), e.action.as_str(), e.subject.as_deref()))
        .collect();
    assert_eq!(
        writes,
        [
            ("reviewer-li", "finding.disposition", Some(id.as_str())),
            ("reviewer-li", "report.correct", Some(id.as_str())),
            (
                "admin-wang",
                "reports.revalidate",
                Some(revalidation.batch.as_str())
            ),
            ("admin-wang", "batch.retry", Some(label)),
            ("admin-wang", "agency.alias", Some(alias.alias_key.as_str())),
        ],
        "{entries:#?}"
    );
    // What was done is in the entry: the judgement, the correction's cells and its new id.
    let detail = |action: &str| {
        entries
            .iter()
            .find(|e| e.action == action)
            .map(|e| e.detail.clone())
            .unwrap()
    };
    assert_eq!(
        detail("finding.disposition")["disposition"],
        "TO_BE_CORRECTED"
    );
    let correct = detail("report.correct");
    assert_eq!(correct["correction"], corrected.report_id.as_str());
    assert_eq!(correct["changed_cells"].as_array().map(Vec::len), Some(3));
    assert_eq!(detail("batch.retry")["requeued"][0], ids[1].as_str());
    archive.close().await;

    let _ = stop.send(true);
    for task in workers {
        task.await.unwrap();
    }
    gw.stop().await;
}
