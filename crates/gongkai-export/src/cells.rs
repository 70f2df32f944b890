//! `ExportCells`: the cells of the selected reports, a batch of reports at a time.

use crate::sink::{SharedBuffer, send};
use crate::{BATCH_REPORTS, ChunkSender, ExportError, Format};
use arrow::array::{ArrayRef, Decimal128Builder, Int32Builder, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use gongkai_archive::{Archive, ArchiveError, ExportedReport, ReportSelection};
use gongkai_metrics::catalogue::{CATALOGUE, CellKey};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{Workbook, Worksheet};
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// The columns of a cells export (CSV header, Parquet schema), archive.md §6.
pub const CELL_COLUMNS: [&str; 12] = [
    "report_id",
    "agency",
    "region",
    "year",
    "template",
    "version",
    "table",
    "row",
    "column",
    "value",
    "state",
    "text",
];

/// The most rows an XLSX worksheet holds.
const XLSX_MAX_ROWS: u32 = 1_048_576;

/// The leading columns of the XLSX table sheets, before one column per `row.column`.
const XLSX_REPORT_COLUMNS: [&str; 6] = [
    "report_id",
    "agency",
    "region",
    "year",
    "template",
    "version",
];

/// Writes the cells of every report `selection` picks to `out` in `format`, in report id
/// order, then closes the file; on failure the error is the last item sent.
pub async fn export_cells(
    archive: &Archive,
    selection: &ReportSelection,
    format: Format,
    out: ChunkSender,
) {
    if let Err(error) = write_cells(archive, selection, format, &out).await {
        // The receiver may be gone already; then nobody needs the error.
        let _ = out.send(Err(error)).await;
    }
}

async fn write_cells(
    archive: &Archive,
    selection: &ReportSelection,
    format: Format,
    out: &ChunkSender,
) -> Result<(), ExportError> {
    let mut writer = CellsWriter::new(format)?;
    send(out, writer.start()?).await?;
    let with_findings = format == Format::Xlsx;
    let mut plan = Plan::new(archive, selection);
    // Batches are read ahead, READ_AHEAD at a time on their own tasks (the database's work
    // and the decoding of the arrays on both cores) while the current one is encoded: at most
    // READ_AHEAD + 1 batches in memory, whatever the size of the export.
    let mut reading: VecDeque<JoinHandle<Result<Vec<ExportedReport>, ArchiveError>>> =
        VecDeque::new();
    loop {
        while reading.len() < READ_AHEAD {
            let Some(ids) = plan.next_batch().await? else {
                break;
            };
            let archive = archive.clone();
            reading.push_back(tokio::spawn(async move {
                archive.export_reports(&ids, with_findings).await
            }));
        }
        let Some(next) = reading.pop_front() else {
            break;
        };
        let batch = next.await??;
        let bytes = writer.write(&batch)?;
        send(out, bytes).await?;
    }
    send(out, writer.finish()?).await
}

/// Batches read ahead of the one being encoded.
const READ_AHEAD: usize = 2;
/// Report ids planned per query: a few kilobytes of ids per query, far fewer queries.
const IDS_PER_PAGE: u32 = 20 * BATCH_REPORTS;

/// The batches of an export, in report id order: pages of the selected ids, cut into batches.
struct Plan<'a> {
    archive: &'a Archive,
    selection: &'a ReportSelection,
    ids: VecDeque<Uuid>,
    after: Option<Uuid>,
    exhausted: bool,
}

impl<'a> Plan<'a> {
    fn new(archive: &'a Archive, selection: &'a ReportSelection) -> Plan<'a> {
        Plan {
            archive,
            selection,
            ids: VecDeque::new(),
            after: None,
            exhausted: false,
        }
    }

    /// The ids of the next batch; `None` when every selected report has had its batch.
    async fn next_batch(&mut self) -> Result<Option<Vec<Uuid>>, ExportError> {
        let batch = BATCH_REPORTS as usize;
        if self.ids.len() < batch && !self.exhausted {
            let page = self
                .archive
                .export_ids(self.selection, self.after, IDS_PER_PAGE)
                .await?;
            self.exhausted = page.len() < IDS_PER_PAGE as usize;
            self.after = page.last().copied().or(self.after);
            self.ids.extend(page);
        }
        if self.ids.is_empty() {
            return Ok(None);
        }
        let take = batch.min(self.ids.len());
        Ok(Some(self.ids.drain(..take).collect()))
    }
}

enum CellsWriter {
    Csv {
        buffer: SharedBuffer,
        writer: csv::Writer<SharedBuffer>,
    },
    Parquet {
        buffer: SharedBuffer,
        writer: ArrowWriter<SharedBuffer>,
        schema: SchemaRef,
    },
    Xlsx(Box<XlsxCells>),
}

impl CellsWriter {
    fn new(format: Format) -> Result<CellsWriter, ExportError> {
        Ok(match format {
            Format::Csv => {
                let buffer = SharedBuffer::default();
                CellsWriter::Csv {
                    writer: csv::Writer::from_writer(buffer.clone()),
                    buffer,
                }
            }
            Format::Parquet => {
                let schema = cells_schema();
                let buffer = SharedBuffer::default();
                let properties = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    // The min and max of a DECIMAL column chunk are slices of the batch's
                    // whole value buffer, and the file's metadata keeps them until the footer
                    // is written: with them, an export held every batch's values (about 17
                    // bytes a cell) to the end. Without, memory stays one batch's.
                    .set_column_statistics_enabled(
                        parquet::schema::types::ColumnPath::from("value"),
                        parquet::file::properties::EnabledStatistics::None,
                    )
                    .build();
                let writer =
                    ArrowWriter::try_new(buffer.clone(), schema.clone(), Some(properties))?;
                CellsWriter::Parquet {
                    buffer,
                    writer,
                    schema,
                }
            }
            Format::Xlsx => CellsWriter::Xlsx(Box::new(XlsxCells::new()?)),
        })
    }

    /// The bytes before the first report: the CSV's byte-order mark and header.
    fn start(&mut self) -> Result<Vec<u8>, ExportError> {
        match self {
            CellsWriter::Csv { buffer, writer } => {
                writer.write_record(CELL_COLUMNS)?;
                writer.flush()?;
                let mut bytes = "\u{feff}".as_bytes().to_vec();
                bytes.append(&mut buffer.take()?);
                Ok(bytes)
            }
            CellsWriter::Parquet { .. } | CellsWriter::Xlsx(_) => Ok(Vec::new()),
        }
    }

    /// Encodes one batch; returns the bytes ready to send.
    fn write(&mut self, reports: &[ExportedReport]) -> Result<Vec<u8>, ExportError> {
        match self {
            CellsWriter::Csv { buffer, writer } => {
                for report in reports {
                    let id = report.report_id.to_string();
                    let year = report.year.to_string();
                    let version = report.version.to_string();
                    for cell in &report.cells {
                        let value = cell.value.map(|v| v.to_string()).unwrap_or_default();
                        writer.write_record([
                            id.as_str(),
                            &report.agency,
                            &report.region,
                            &year,
                            &report.template,
                            &version,
                            cell.key.table.as_str(),
                            cell.key.row,
                            cell.key.column,
                            &value,
                            cell.state,
                            &cell.text,
                        ])?;
                    }
                }
                writer.flush()?;
                buffer.take()
            }
            CellsWriter::Parquet {
                buffer,
                writer,
                schema,
            } => {
                let batch = cells_batch(schema, reports)?;
                writer.write(&batch)?;
                // One row group per batch of reports: the writer holds no more than that.
                writer.flush()?;
                buffer.take()
            }
            CellsWriter::Xlsx(xlsx) => {
                xlsx.write(reports)?;
                Ok(Vec::new())
            }
        }
    }

    /// The bytes after the last report (Parquet's footer, the whole XLSX).
    fn finish(self) -> Result<Vec<u8>, ExportError> {
        match self {
            CellsWriter::Csv { buffer, mut writer } => {
                writer.flush()?;
                buffer.take()
            }
            CellsWriter::Parquet { buffer, writer, .. } => {
                writer.close()?;
                buffer.take()
            }
            CellsWriter::Xlsx(xlsx) => xlsx.finish(),
        }
    }
}

fn cells_schema() -> SchemaRef {
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        text("report_id", false),
        text("agency", false),
        text("region", false),
        Field::new("year", DataType::Int32, false),
        text("template", false),
        Field::new("version", DataType::Int32, false),
        text("table", false),
        text("row", false),
        text("column", false),
        Field::new("value", DataType::Decimal128(38, 8), true),
        text("state", false),
        text("text", false),
    ]))
}

/// A value as DECIMAL(38, 8)'s unscaled integer. Amounts have at most 8 decimal places
/// (annual-report.md §9), so nothing is rounded.
pub(crate) fn decimal_38_8(value: Decimal) -> Result<i128, ExportError> {
    let mut scaled = value;
    scaled.rescale(8);
    if scaled.scale() != 8 || scaled != value {
        return Err(ExportError::TooLarge(format!(
            "{value} does not fit DECIMAL(38, 8)"
        )));
    }
    Ok(scaled.mantissa())
}

fn cells_batch(schema: &SchemaRef, reports: &[ExportedReport]) -> Result<RecordBatch, ExportError> {
    let rows: usize = reports.iter().map(|r| r.cells.len()).sum();
    let mut ids = StringBuilder::with_capacity(rows, rows * 36);
    let mut agencies = StringBuilder::new();
    let mut regions = StringBuilder::new();
    let mut years = Int32Builder::with_capacity(rows);
    let mut templates = StringBuilder::new();
    let mut versions = Int32Builder::with_capacity(rows);
    let mut tables = StringBuilder::new();
    let mut row_keys = StringBuilder::new();
    let mut columns = StringBuilder::new();
    let mut values = Decimal128Builder::with_capacity(rows).with_precision_and_scale(38, 8)?;
    let mut states = StringBuilder::new();
    let mut texts = StringBuilder::new();
    for report in reports {
        let id = report.report_id.to_string();
        for cell in &report.cells {
            ids.append_value(&id);
            agencies.append_value(&report.agency);
            regions.append_value(&report.region);
            years.append_value(report.year);
            templates.append_value(&report.template);
            versions.append_value(report.version);
            tables.append_value(cell.key.table.as_str());
            row_keys.append_value(cell.key.row);
            columns.append_value(cell.key.column);
            match cell.value {
                Some(v) => values.append_value(decimal_38_8(v)?),
                None => values.append_null(),
            }
            states.append_value(cell.state);
            texts.append_value(&cell.text);
        }
    }
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(ids.finish()),
        Arc::new(agencies.finish()),
        Arc::new(regions.finish()),
        Arc::new(years.finish()),
        Arc::new(templates.finish()),
        Arc::new(versions.finish()),
        Arc::new(tables.finish()),
        Arc::new(row_keys.finish()),
        Arc::new(columns.finish()),
        Arc::new(values.finish()),
        Arc::new(states.finish()),
        Arc::new(texts.finish()),
    ];
    Ok(RecordBatch::try_new(schema.clone(), arrays)?)
}

/// The XLSX of a cells export: a sheet per table, one row per report, one column per
/// `row.column` of either template, and a sheet of findings.
struct XlsxCells {
    workbook: Workbook,
    /// The catalogue cells of t2, t3, t4: their sheet's columns.
    columns: [Vec<CellKey>; 3],
    /// Next row of the table sheets (all three move together) and of the findings sheet.
    next_row: u32,
    next_finding: u32,
}

const FINDING_COLUMNS: [&str; 7] = [
    "report_id",
    "rule",
    "severity",
    "table",
    "row",
    "column",
    "message",
];

impl XlsxCells {
    fn new() -> Result<XlsxCells, ExportError> {
        let mut workbook = Workbook::new();
        let mut columns: [Vec<CellKey>; 3] = Default::default();
        for (i, table) in ["t2", "t3", "t4"].into_iter().enumerate() {
            let keys: Vec<CellKey> = CATALOGUE
                .iter()
                .filter(|k| k.table.as_str() == table)
                .copied()
                .collect();
            let sheet = workbook.add_worksheet_with_constant_memory()?;
            sheet.set_name(table)?;
            for (c, name) in XLSX_REPORT_COLUMNS.iter().enumerate() {
                sheet.write_string(0, column(c)?, *name)?;
            }
            for (c, key) in keys.iter().enumerate() {
                sheet.write_string(
                    0,
                    column(c + XLSX_REPORT_COLUMNS.len())?,
                    format!("{}.{}", key.row, key.column),
                )?;
            }
            if let Some(slot) = columns.get_mut(i) {
                *slot = keys;
            }
        }
        let findings = workbook.add_worksheet_with_constant_memory()?;
        findings.set_name("findings")?;
        for (c, name) in FINDING_COLUMNS.iter().enumerate() {
            findings.write_string(0, column(c)?, *name)?;
        }
        Ok(XlsxCells {
            workbook,
            columns,
            next_row: 1,
            next_finding: 1,
        })
    }

    fn write(&mut self, reports: &[ExportedReport]) -> Result<(), ExportError> {
        for report in reports {
            if self.next_row >= XLSX_MAX_ROWS {
                return Err(ExportError::TooLarge(format!(
                    "XLSX 工作表最多 {XLSX_MAX_ROWS} 行，所选报告过多，请缩小筛选范围或改用 CSV/Parquet / \
                     an XLSX sheet holds at most {XLSX_MAX_ROWS} rows: select fewer reports or use CSV or Parquet"
                )));
            }
            let row = self.next_row;
            for (sheet_index, keys) in self.columns.iter().enumerate() {
                let sheet = self.workbook.worksheet_from_index(sheet_index)?;
                write_report_columns(sheet, row, report)?;
                for cell in report
                    .cells
                    .iter()
                    .filter(|c| keys.first().is_some_and(|k| k.table == c.key.table))
                {
                    let Some(value) = cell.value else { continue };
                    let Some(position) = keys.iter().position(|k| *k == cell.key) else {
                        continue;
                    };
                    let number = value.to_f64().unwrap_or(f64::NAN);
                    sheet.write_number(
                        row,
                        column(position + XLSX_REPORT_COLUMNS.len())?,
                        number,
                    )?;
                }
            }
            self.next_row += 1;
            let findings = self.workbook.worksheet_from_index(3)?;
            let id = report.report_id.to_string();
            for finding in &report.findings {
                if self.next_finding >= XLSX_MAX_ROWS {
                    return Err(ExportError::TooLarge(
                        "XLSX 的 findings 工作表超过行数上限 / the findings sheet is over XLSX's row limit".into(),
                    ));
                }
                let r = self.next_finding;
                let texts = [
                    id.as_str(),
                    &finding.rule,
                    &finding.severity,
                    finding.table.as_deref().unwrap_or(""),
                    finding.row.as_deref().unwrap_or(""),
                    finding.column.as_deref().unwrap_or(""),
                    &finding.message,
                ];
                for (c, text) in texts.into_iter().enumerate() {
                    findings.write_string(r, column(c)?, text)?;
                }
                self.next_finding += 1;
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<u8>, ExportError> {
        Ok(self.workbook.save_to_buffer()?)
    }
}

fn write_report_columns(
    sheet: &mut Worksheet,
    row: u32,
    report: &ExportedReport,
) -> Result<(), ExportError> {
    sheet.write_string(row, 0, report.report_id.to_string())?;
    sheet.write_string(row, 1, &report.agency)?;
    sheet.write_string(row, 2, &report.region)?;
    sheet.write_number(row, 3, f64::from(report.year))?;
    sheet.write_string(row, 4, &report.template)?;
    sheet.write_number(row, 5, f64::from(report.version))?;
    Ok(())
}

/// A column index as XLSX's 16-bit column number.
pub(crate) fn column(index: usize) -> Result<u16, ExportError> {
    u16::try_from(index)
        .map_err(|_| ExportError::TooLarge(format!("column {index} is past XLSX's last")))
}
