//! `ExportMetrics`: a QueryMetrics answer as a file, one line per group and metric.

use crate::cells::{column, decimal_38_8};
use crate::sink::{SharedBuffer, send};
use crate::{ChunkSender, ExportError, Format};
use arrow::array::{ArrayRef, Decimal128Builder, StringBuilder, UInt64Builder};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use gongkai_archive::{Archive, GroupBy, MetricsQuery, MetricsRow};
use parquet::arrow::ArrowWriter;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::Workbook;
use std::sync::Arc;

/// The columns of a metrics export: the group (`year`, `agency`, `agency_name`, `region`), the
/// metric, its value (empty when NA), the reports that contributed and those excluded, then
/// one column `p<N>` per percentile asked.
pub fn metric_columns(percentiles: &[u32]) -> Vec<String> {
    let mut columns: Vec<String> = [
        "year",
        "agency",
        "agency_name",
        "region",
        "metric",
        "value",
        "reports",
        "excluded",
    ]
    .iter()
    .map(|c| (*c).to_owned())
    .collect();
    columns.extend(percentiles.iter().map(|p| format!("p{p}")));
    columns
}

/// One line of the export: the text of each column (empty for none) and the decimals.
struct Line<'a> {
    group: [String; 4],
    metric: &'a str,
    value: Option<rust_decimal::Decimal>,
    reports: u64,
    excluded: u64,
    percentiles: Vec<Option<rust_decimal::Decimal>>,
}

fn lines(rows: &[MetricsRow]) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    for row in rows {
        let mut group: [String; 4] = Default::default();
        for (by, value) in &row.group {
            let slot = match by {
                GroupBy::Year => 0,
                GroupBy::Agency => 1,
                GroupBy::Region => 3,
            };
            if let Some(s) = group.get_mut(slot) {
                s.clone_from(value);
            }
        }
        if let (Some(name), Some(slot)) = (&row.agency_name, group.get_mut(2)) {
            slot.clone_from(name);
        }
        for (metric, value) in &row.values {
            out.push(Line {
                group: group.clone(),
                metric,
                value: value.value,
                reports: value.reports,
                excluded: value.excluded,
                percentiles: value.percentiles.iter().map(|(_, v)| *v).collect(),
            });
        }
    }
    out
}

/// Answers `question` and writes the answer to `out` in `format`; on failure the error is
/// the last item sent.
pub async fn export_metrics(
    archive: &Archive,
    question: &MetricsQuery,
    format: Format,
    out: ChunkSender,
) {
    let result = async {
        let rows = archive.query_metrics(question).await?;
        let bytes = encode(&rows, &question.percentiles, format)?;
        send(&out, bytes).await
    }
    .await;
    if let Err(error) = result {
        let _ = out.send(Err(error)).await;
    }
}

fn encode(
    rows: &[MetricsRow],
    percentiles: &[u32],
    format: Format,
) -> Result<Vec<u8>, ExportError> {
    let columns = metric_columns(percentiles);
    let lines = lines(rows);
    let text = |v: Option<rust_decimal::Decimal>| v.map(|d| d.to_string()).unwrap_or_default();
    match format {
        Format::Csv => {
            let mut writer = csv::Writer::from_writer("\u{feff}".as_bytes().to_vec());
            writer.write_record(&columns)?;
            for line in &lines {
                let mut record: Vec<String> = line.group.to_vec();
                record.push(line.metric.to_owned());
                record.push(text(line.value));
                record.push(line.reports.to_string());
                record.push(line.excluded.to_string());
                record.extend(line.percentiles.iter().map(|p| text(*p)));
                writer.write_record(&record)?;
            }
            writer.flush()?;
            writer
                .into_inner()
                .map_err(|e| ExportError::Io(std::io::Error::other(e.to_string())))
        }
        Format::Xlsx => {
            let mut workbook = Workbook::new();
            let sheet = workbook.add_worksheet();
            sheet.set_name("metrics")?;
            for (c, name) in columns.iter().enumerate() {
                sheet.write_string(0, column(c)?, name)?;
            }
            for (i, line) in lines.iter().enumerate() {
                let r = u32::try_from(i + 1)
                    .map_err(|_| ExportError::TooLarge("too many rows for XLSX".into()))?;
                for (c, value) in line.group.iter().enumerate() {
                    if c == 0 && !value.is_empty() {
                        if let Ok(year) = value.parse::<f64>() {
                            sheet.write_number(r, 0, year)?;
                        }
                    } else if !value.is_empty() {
                        sheet.write_string(r, column(c)?, value)?;
                    }
                }
                sheet.write_string(r, 4, line.metric)?;
                if let Some(v) = line.value.and_then(|v| v.to_f64()) {
                    sheet.write_number(r, 5, v)?;
                }
                sheet.write_number(r, 6, line.reports as f64)?;
                sheet.write_number(r, 7, line.excluded as f64)?;
                for (p, value) in line.percentiles.iter().enumerate() {
                    if let Some(v) = value.and_then(|v| v.to_f64()) {
                        sheet.write_number(r, column(8 + p)?, v)?;
                    }
                }
            }
            Ok(workbook.save_to_buffer()?)
        }
        Format::Parquet => {
            let mut fields = vec![
                Field::new("year", DataType::Utf8, true),
                Field::new("agency", DataType::Utf8, true),
                Field::new("agency_name", DataType::Utf8, true),
                Field::new("region", DataType::Utf8, true),
                Field::new("metric", DataType::Utf8, false),
                Field::new("value", DataType::Decimal128(38, 8), true),
                Field::new("reports", DataType::UInt64, false),
                Field::new("excluded", DataType::UInt64, false),
            ];
            fields.extend(
                percentiles
                    .iter()
                    .map(|p| Field::new(format!("p{p}"), DataType::Decimal128(38, 8), true)),
            );
            let schema = Arc::new(Schema::new(fields));
            let mut group: Vec<StringBuilder> = (0..4).map(|_| StringBuilder::new()).collect();
            let mut metric = StringBuilder::new();
            let decimal = || Decimal128Builder::new().with_precision_and_scale(38, 8);
            let mut value = decimal()?;
            let mut reports = UInt64Builder::new();
            let mut excluded = UInt64Builder::new();
            let mut ps = percentiles
                .iter()
                .map(|_| decimal())
                .collect::<Result<Vec<_>, _>>()?;
            for line in &lines {
                for (builder, text) in group.iter_mut().zip(&line.group) {
                    if text.is_empty() {
                        builder.append_null();
                    } else {
                        builder.append_value(text);
                    }
                }
                metric.append_value(line.metric);
                match line.value {
                    Some(v) => value.append_value(decimal_38_8(v)?),
                    None => value.append_null(),
                }
                reports.append_value(line.reports);
                excluded.append_value(line.excluded);
                for (builder, p) in ps.iter_mut().zip(&line.percentiles) {
                    match p {
                        Some(v) => builder.append_value(decimal_38_8(*v)?),
                        None => builder.append_null(),
                    }
                }
            }
            let mut arrays: Vec<ArrayRef> = group
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef)
                .collect();
            arrays.push(Arc::new(metric.finish()));
            arrays.push(Arc::new(value.finish()));
            arrays.push(Arc::new(reports.finish()));
            arrays.push(Arc::new(excluded.finish()));
            arrays.extend(ps.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
            let batch = RecordBatch::try_new(schema.clone(), arrays)?;
            let buffer = SharedBuffer::default();
            let mut writer = ArrowWriter::try_new(buffer.clone(), schema, None)?;
            writer.write(&batch)?;
            writer.close()?;
            buffer.take()
        }
    }
}
