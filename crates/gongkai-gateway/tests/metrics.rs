//! The metrics RPCs end to end through a real gateway, database and broker: the dictionary,
//! a grouped QueryMetrics, an export streamed in chunks, agency aliases recorded with who
//! declared them, the submitted region, and the status codes of bad requests.

#![allow(clippy::unwrap_used)]

mod common;

use futures::StreamExt;
use gongkai_archive::Archive;
use gongkai_proto::v1;
use tonic::Code;

#[tokio::test]
async fn metrics_exports_and_aliases_over_grpc() {
    if !common::services_available() {
        return;
    }
    let gateway = common::start("metrics", |_| {}).await;
    let archive = Archive::connect(gateway.db.url()).await.unwrap();
    // Two agencies, five years each, archived as the archive stage would.
    gongkai_archive::seed::seed(&archive, 0, 10, 4, |_| {})
        .await
        .unwrap();
    let mut client = gateway.client().await;

    let dictionary = client
        .list_metrics(v1::ListMetricsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(dictionary.metrics_version, gongkai_metrics::METRICS_VERSION);
    assert_eq!(dictionary.metrics.len(), 15);
    let rate = dictionary
        .metrics
        .iter()
        .find(|m| m.key == "disclosure_rate")
        .unwrap();
    assert_eq!(
        (
            rate.name_zh.as_str(),
            rate.kind.as_str(),
            rate.unit.as_str()
        ),
        ("公开率", "rate", "ratio")
    );

    let answer = client
        .query_metrics(v1::QueryMetricsRequest {
            metrics: vec!["applications_new".into(), "disclosure_rate".into()],
            group_by: vec!["year".into()],
            percentiles: vec![25, 50, 75],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.groups.len(), 5);
    let expected = archive
        .query_metrics(&gongkai_archive::MetricsQuery {
            metrics: vec!["applications_new".into(), "disclosure_rate".into()],
            group_by: vec![gongkai_archive::GroupBy::Year],
            percentiles: vec![25, 50, 75],
            ..Default::default()
        })
        .await
        .unwrap();
    for (group, row) in answer.groups.iter().zip(&expected) {
        assert_eq!(
            group.year.map(|y| y.to_string()),
            Some(row.group[0].1.clone())
        );
        assert_eq!(group.reports, 2);
        for (value, (key, want)) in group.values.iter().zip(&row.values) {
            assert_eq!(value.metric, *key);
            assert_eq!(value.value, want.value.map(|v| v.to_string()));
            assert_eq!(value.na, want.value.is_none());
            assert_eq!(value.percentiles.len(), 3);
        }
        let rate = &group.values[1];
        assert_eq!(
            rate.value
                .as_ref()
                .unwrap()
                .split('.')
                .nth(1)
                .unwrap()
                .len(),
            4,
            "4 places"
        );
    }

    // The cells of one year as CSV, in chunks.
    let mut chunks = client
        .export_cells(v1::ExportCellsRequest {
            filter: Some(v1::ReportFilter {
                year_from: Some(2023),
                year_to: Some(2023),
                ..Default::default()
            }),
            format: v1::ExportFormat::Csv as i32,
            all_versions: false,
        })
        .await
        .unwrap()
        .into_inner();
    let mut csv = Vec::new();
    while let Some(chunk) = chunks.next().await {
        csv.extend(chunk.unwrap().data);
    }
    let text = String::from_utf8(csv).unwrap();
    assert!(text.starts_with(
        "\u{feff}report_id,agency,region,year,template,version,table,row,column,value,state,text\n"
    ));
    // Two reports of 10 + 175 + 15 cells.
    assert_eq!(text.lines().count(), 1 + 2 * 200);

    // An alias, recorded as declared by the caller (none with authentication off).
    let first = gongkai_archive::seed::synthetic_agency(0);
    let second = gongkai_archive::seed::synthetic_agency(1);
    let refused = client
        .set_agency_alias(v1::SetAgencyAliasRequest {
            alias: first.clone(),
            agency: second.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Code::FailedPrecondition,
        "both have 2021–2025: {refused:?}"
    );
    let alias = client
        .set_agency_alias(v1::SetAgencyAliasRequest {
            alias: "淮安市清清区旧名称".into(),
            agency: first.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(alias.created_by, gongkai_gateway::UNAUTHENTICATED_CALLER);
    assert_eq!(
        alias.agency_key,
        gongkai_metrics::agency::agency_key(&first)
    );
    let listed = client
        .list_agency_aliases(v1::ListAgencyAliasesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.aliases, vec![alias]);

    // The region a submission gives is kept for archiving.
    let submitted = client
        .submit_report(v1::SubmitReportRequest {
            region: Some("江苏省 / 淮安市".into()),
            ..common::request(b"region test", "region.txt")
        })
        .await
        .unwrap()
        .into_inner();
    let region: Option<String> =
        sqlx::query_scalar("SELECT region FROM reports WHERE report_id = $1::uuid")
            .bind(&submitted.report_id)
            .fetch_one(archive.pool())
            .await
            .unwrap();
    assert_eq!(region.as_deref(), Some("江苏省/淮安市"));

    // Bad requests are the caller's mistakes.
    let bad_metric = client
        .query_metrics(v1::QueryMetricsRequest {
            metrics: vec!["nonsense".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad_metric.code(), Code::InvalidArgument);
    let bad_group = client
        .query_metrics(v1::QueryMetricsRequest {
            group_by: vec!["month".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad_group.code(), Code::InvalidArgument);
    let no_format = client
        .export_cells(v1::ExportCellsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(no_format.code(), Code::InvalidArgument);
    gateway.stop().await;
}
