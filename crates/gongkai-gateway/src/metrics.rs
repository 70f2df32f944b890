//! The RPCs of archive.md §5–§6 on `ReportService`: the metric dictionary, QueryMetrics, the
//! exports (streamed as the export crate makes the file, a batch of reports at a time) and the
//! admin's agency aliases. The trait methods in `service.rs` delegate here.

use crate::convert::timestamp;
use crate::error::archive_status;
use crate::service::{ReportServiceImpl, ResponseStream};
use futures::StreamExt;
use gongkai_archive::{AgencyAlias, GroupBy, MetricsQuery, MetricsRow, ReportSelection};
use gongkai_export::{ExportError, Format};
use gongkai_metrics::{METRICS, METRICS_VERSION};
use gongkai_model::Template;
use gongkai_proto::v1;
use tonic::{Request, Response, Status};

/// Chunks an export may have made and not yet sent (each at most 256 KiB).
const EXPORT_CHUNKS_IN_FLIGHT: usize = 4;

/// The longest metric, group or percentile list accepted.
const MAX_LIST: usize = 64;

fn year(field: &str, value: Option<u32>) -> Result<Option<u16>, Status> {
    value
        .map(|y| {
            u16::try_from(y)
                .map_err(|_| Status::invalid_argument(format!("{field} {y} is out of range")))
        })
        .transpose()
}

/// The archive's selection from a request's `ReportFilter`.
pub(crate) fn selection(
    filter: Option<v1::ReportFilter>,
    all_versions: bool,
) -> Result<ReportSelection, Status> {
    let filter = filter.unwrap_or_default();
    let template = match filter.template.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(id) => Some(Template::from_id(id).ok_or_else(|| {
            Status::invalid_argument(format!(
                "unknown template {id:?} (F2019, F2021, mixed, legacy, unknown)"
            ))
        })?),
    };
    for (field, text) in [("agency", &filter.agency), ("region", &filter.region)] {
        if text.as_ref().is_some_and(|t| t.chars().count() > 1024) {
            return Err(Status::invalid_argument(format!(
                "filter.{field} is longer than 1024 characters"
            )));
        }
    }
    Ok(ReportSelection {
        agency: filter.agency.filter(|a| !a.is_empty()),
        region: filter.region.filter(|r| !r.is_empty()),
        year_from: year("filter.year_from", filter.year_from)?,
        year_to: year("filter.year_to", filter.year_to)?,
        template,
        all_versions,
    })
}

fn question(request: v1::QueryMetricsRequest) -> Result<MetricsQuery, Status> {
    if request.metrics.len() > MAX_LIST
        || request.group_by.len() > MAX_LIST
        || request.percentiles.len() > MAX_LIST
    {
        return Err(Status::invalid_argument(format!(
            "at most {MAX_LIST} metrics, groups and percentiles"
        )));
    }
    let group_by = request
        .group_by
        .iter()
        .map(|g| {
            GroupBy::from_id(g).ok_or_else(|| {
                Status::invalid_argument(format!("unknown group_by {g:?} (year, agency, region)"))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(MetricsQuery {
        metrics: request.metrics,
        selection: selection(request.filter, request.all_versions)?,
        group_by,
        percentiles: request.percentiles,
    })
}

fn format(code: i32) -> Result<Format, Status> {
    match v1::ExportFormat::try_from(code) {
        Ok(v1::ExportFormat::Csv) => Ok(Format::Csv),
        Ok(v1::ExportFormat::Xlsx) => Ok(Format::Xlsx),
        Ok(v1::ExportFormat::Parquet) => Ok(Format::Parquet),
        _ => Err(Status::invalid_argument(
            "format must be EXPORT_FORMAT_CSV, EXPORT_FORMAT_XLSX or EXPORT_FORMAT_PARQUET",
        )),
    }
}

fn export_status(error: ExportError) -> Status {
    match error {
        ExportError::Archive(e) => archive_status(e),
        ExportError::TooLarge(message) => Status::failed_precondition(message),
        ExportError::Cancelled => Status::cancelled("the export was cancelled"),
        other => {
            tracing::error!(error = %other, "export failed");
            Status::internal(format!("the export failed: {other}"))
        }
    }
}

fn decimal(value: Option<rust_decimal::Decimal>) -> (Option<String>, bool) {
    match value {
        Some(v) => (Some(v.to_string()), false),
        None => (None, true),
    }
}

fn group(row: &MetricsRow) -> v1::MetricsGroup {
    let mut out = v1::MetricsGroup {
        reports: row.reports,
        agency_name: row.agency_name.clone(),
        ..Default::default()
    };
    for (by, value) in &row.group {
        match by {
            GroupBy::Year => out.year = value.parse().ok(),
            GroupBy::Agency => out.agency = Some(value.clone()),
            GroupBy::Region => out.region = Some(value.clone()),
        }
    }
    out.values = row
        .values
        .iter()
        .map(|(metric, v)| {
            let (value, na) = decimal(v.value);
            v1::MetricValue {
                metric: (*metric).to_owned(),
                value,
                na,
                reports: v.reports,
                excluded: v.excluded,
                percentiles: v
                    .percentiles
                    .iter()
                    .map(|(p, value)| {
                        let (value, na) = decimal(*value);
                        v1::MetricPercentile {
                            percentile: *p,
                            value,
                            na,
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    out
}

fn alias(alias: &AgencyAlias) -> v1::AgencyAlias {
    v1::AgencyAlias {
        alias_key: alias.alias_key.clone(),
        agency_key: alias.agency_key.clone(),
        alias_name: alias.alias_name.clone(),
        agency_name: alias.agency_name.clone(),
        created_by: alias.created_by.clone(),
        created_at: Some(timestamp(alias.created_at)),
        reports_moved: alias.reports_moved,
    }
}

/// The chunks of an export as a response stream: the export runs on its own task and waits
/// for the client to take what it made (memory bounded by [`EXPORT_CHUNKS_IN_FLIGHT`]).
fn chunks(
    run: impl FnOnce(gongkai_export::ChunkSender) -> futures::future::BoxFuture<'static, ()>,
) -> ResponseStream<v1::DocumentChunk> {
    let (sender, receiver) = tokio::sync::mpsc::channel(EXPORT_CHUNKS_IN_FLIGHT);
    tokio::spawn(run(sender));
    tokio_stream::wrappers::ReceiverStream::new(receiver)
        .map(|item| {
            item.map(|data| v1::DocumentChunk { data })
                .map_err(export_status)
        })
        .boxed()
}

impl ReportServiceImpl {
    pub(crate) async fn list_metrics_rpc(
        &self,
        _request: Request<v1::ListMetricsRequest>,
    ) -> Result<Response<v1::ListMetricsResponse>, Status> {
        Ok(Response::new(v1::ListMetricsResponse {
            metrics_version: METRICS_VERSION,
            metrics: METRICS
                .iter()
                .map(|m| v1::MetricDefinition {
                    key: m.key.to_owned(),
                    name_zh: m.name_zh.to_owned(),
                    name_en: m.name_en.to_owned(),
                    unit: m.unit.to_owned(),
                    kind: m.kind.as_str().to_owned(),
                    formula: m.formula(),
                    caveats: m.caveats.to_owned(),
                })
                .collect(),
        }))
    }

    pub(crate) async fn query_metrics_rpc(
        &self,
        request: Request<v1::QueryMetricsRequest>,
    ) -> Result<Response<v1::QueryMetricsResponse>, Status> {
        let question = question(request.into_inner())?;
        let rows = self
            .archive_call(
                "the archive (metrics)",
                self.archive.query_metrics(&question),
            )
            .await?;
        Ok(Response::new(v1::QueryMetricsResponse {
            metrics_version: METRICS_VERSION,
            groups: rows.iter().map(group).collect(),
        }))
    }

    pub(crate) async fn export_cells_rpc(
        &self,
        request: Request<v1::ExportCellsRequest>,
    ) -> Result<Response<ResponseStream<v1::DocumentChunk>>, Status> {
        let request = request.into_inner();
        let format = format(request.format)?;
        let selection = selection(request.filter, request.all_versions)?;
        let archive = self.archive.clone();
        Ok(Response::new(chunks(move |sender| {
            Box::pin(async move {
                gongkai_export::export_cells(&archive, &selection, format, sender).await;
            })
        })))
    }

    pub(crate) async fn export_metrics_rpc(
        &self,
        request: Request<v1::ExportMetricsRequest>,
    ) -> Result<Response<ResponseStream<v1::DocumentChunk>>, Status> {
        let request = request.into_inner();
        let format = format(request.format)?;
        let question = question(request.query.unwrap_or_default())?;
        let archive = self.archive.clone();
        Ok(Response::new(chunks(move |sender| {
            Box::pin(async move {
                gongkai_export::export_metrics(&archive, &question, format, sender).await;
            })
        })))
    }

    pub(crate) async fn set_agency_alias_rpc(
        &self,
        request: Request<v1::SetAgencyAliasRequest>,
    ) -> Result<Response<v1::AgencyAlias>, Status> {
        let who = crate::review::caller_name(&request);
        let request = request.into_inner();
        for (field, text) in [("alias", &request.alias), ("agency", &request.agency)] {
            if text.trim().is_empty() {
                return Err(Status::invalid_argument(format!("{field} is empty")));
            }
            if text.chars().count() > 1024 || text.chars().any(char::is_control) {
                return Err(Status::invalid_argument(format!(
                    "{field} is longer than 1024 characters or contains control characters"
                )));
            }
        }
        let declared = self
            .archive_call(
                "the archive (agency alias)",
                self.archive
                    .set_agency_alias(&request.alias, &request.agency, &who),
            )
            .await?;
        tracing::info!(alias = %declared.alias_key, agency = %declared.agency_key, %who, moved = declared.reports_moved, "agency alias declared");
        Ok(Response::new(alias(&declared)))
    }

    pub(crate) async fn list_agency_aliases_rpc(
        &self,
        _request: Request<v1::ListAgencyAliasesRequest>,
    ) -> Result<Response<v1::ListAgencyAliasesResponse>, Status> {
        let aliases = self
            .archive_call(
                "the archive (agency aliases)",
                self.archive.list_agency_aliases(),
            )
            .await?;
        Ok(Response::new(v1::ListAgencyAliasesResponse {
            aliases: aliases.iter().map(alias).collect(),
        }))
    }
}
