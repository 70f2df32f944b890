//! The one entry point of gongkai's report engine: bytes in, report out.
//!
//! [`read`] sniffs the format from the bytes (never from the name alone), hands them to the
//! format's reader (text and Markdown: `gongkai-parse`; HTML: `gongkai-html`; PDF:
//! `gongkai-pdf`; DOCX: `gongkai-docx`), and reads the report from the resulting document with
//! [`gongkai_parse::read_document`]. [`check`] adds the findings of [`gongkai_rules::check`].
//! Everything that is wrong with the input itself (empty, too large, a format gongkai does not
//! read, undecodable text, a damaged or hostile container) is a [`ReadError`]; everything that
//! is wrong with the report is a finding.

use gongkai_decode::Sniffed;
use gongkai_model::{CheckedReport, Document, Report, Source, SourceFormat, Summary};
use sha2::{Digest, Sha256};

/// The largest input [`read`] accepts (the pipeline's default `MAX_REPORT_BYTES`).
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;

/// Why bytes could not be read as a report at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the input is empty")]
    Empty,
    #[error("the input is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("unsupported format: {format}")]
    Unsupported { format: &'static str },
    #[error("the text cannot be decoded")]
    Undecodable(#[source] gongkai_decode::DecodeError),
    #[error("the PDF cannot be read")]
    Pdf(#[source] gongkai_pdf::PdfError),
    #[error("the DOCX cannot be read")]
    Docx(#[source] gongkai_docx::DocxError),
    #[error("refused a ZIP bomb: {0}")]
    ZipBomb(String),
    #[error("the HTML cannot be read")]
    DamagedHtml(#[source] gongkai_html::HtmlError),
}

impl ReadError {
    /// A stable identifier of what is wrong (§8 of the spec: the `kind` of the error object
    /// `check --json` prints for an input it cannot read).
    pub fn kind(&self) -> &'static str {
        match self {
            ReadError::Empty => "empty",
            ReadError::TooLarge { .. } => "too_large",
            ReadError::Unsupported { .. } => "unsupported_format",
            ReadError::Undecodable(gongkai_decode::DecodeError::Binary { .. }) => "binary",
            ReadError::Undecodable(_) => "undecodable",
            ReadError::Pdf(_) => "damaged_pdf",
            ReadError::Docx(_) => "damaged_docx",
            ReadError::ZipBomb(_) => "zip_bomb",
            ReadError::DamagedHtml(_) => "damaged_html",
        }
    }

    /// The message with its causes, each once (`the PDF cannot be read: the PDF is damaged:
    /// …`): the error's own message does not repeat its source.
    pub fn message_en(&self) -> String {
        let mut line = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(e) = cause {
            line.push_str(": ");
            line.push_str(&e.to_string());
            cause = e.source();
        }
        line
    }

    /// The same in Chinese, for the people who submitted the report.
    pub fn message_zh(&self) -> String {
        match self {
            ReadError::Empty => "文件为空".to_owned(),
            ReadError::TooLarge { size, limit } => {
                format!("文件大小 {size} 字节，超过上限 {limit} 字节")
            }
            ReadError::Unsupported { format } => format!("不支持的文件格式：{format}"),
            ReadError::Undecodable(e) => format!("无法识别文本编码或内容不是文本：{e}"),
            ReadError::Pdf(e) => format!("PDF 文件无法读取：{e}"),
            ReadError::Docx(e) => format!("DOCX 文件无法读取：{e}"),
            ReadError::ZipBomb(e) => format!("拒绝处理异常压缩文件（疑似压缩炸弹）：{e}"),
            ReadError::DamagedHtml(e) => format!("HTML 文件结构异常，无法读取：{e}"),
        }
    }
}

impl From<gongkai_decode::DecodeError> for ReadError {
    fn from(e: gongkai_decode::DecodeError) -> Self {
        match e {
            gongkai_decode::DecodeError::Empty => ReadError::Empty,
            gongkai_decode::DecodeError::TooLarge { size, limit } => {
                ReadError::TooLarge { size, limit }
            }
            other => ReadError::Undecodable(other),
        }
    }
}

impl From<gongkai_html::HtmlError> for ReadError {
    fn from(e: gongkai_html::HtmlError) -> Self {
        match e {
            gongkai_html::HtmlError::Decode(d) => d.into(),
            too_deep @ gongkai_html::HtmlError::TooDeep { .. } => ReadError::DamagedHtml(too_deep),
        }
    }
}

impl From<gongkai_docx::DocxError> for ReadError {
    fn from(e: gongkai_docx::DocxError) -> Self {
        match e {
            gongkai_docx::DocxError::ZipBomb(what) => ReadError::ZipBomb(what),
            other => ReadError::Docx(other),
        }
    }
}

/// Reads a report from `bytes`; `name` is recorded in the [`Source`] and breaks the tie
/// between plain text and Markdown (`.md`).
pub fn read(bytes: &[u8], name: &str) -> Result<(Source, Report), ReadError> {
    read_limited(bytes, name, MAX_INPUT_BYTES)
}

/// [`read`] with another size limit.
pub fn read_limited(bytes: &[u8], name: &str, limit: usize) -> Result<(Source, Report), ReadError> {
    let document = read_format(bytes, name, limit)?;
    let report = gongkai_parse::read_document(&document);
    Ok((source(bytes, name, &document), report))
}

/// Reads `bytes` and checks the report against every rule that needs no archive.
pub fn check(bytes: &[u8], name: &str) -> Result<CheckedReport, ReadError> {
    let (source, report) = read(bytes, name)?;
    Ok(check_report(source, report))
}

/// Checks an already read report.
pub fn check_report(source: Source, report: Report) -> CheckedReport {
    let findings = gongkai_rules::check(&report);
    let summary = Summary::of(&findings);
    CheckedReport {
        source,
        report,
        findings,
        summary,
        rules_version: gongkai_rules::RULES_VERSION.to_owned(),
    }
}

/// The second step of [`read`]: the report in a document (re-exported so that callers running
/// the steps one by one need no other crate).
pub use gongkai_parse::read_document;

/// The document IR of `bytes`, whatever their format.
pub fn read_format(bytes: &[u8], name: &str, limit: usize) -> Result<Document, ReadError> {
    if bytes.is_empty() {
        return Err(ReadError::Empty);
    }
    if bytes.len() > limit {
        return Err(ReadError::TooLarge {
            size: bytes.len(),
            limit,
        });
    }
    match sniff(bytes, name) {
        Sniffed::Pdf => gongkai_pdf::read_pdf(bytes).map_err(ReadError::Pdf),
        Sniffed::Docx => Ok(gongkai_docx::read_docx(bytes)?),
        // Text is decoded here, under the caller's limit, rather than by the readers'
        // own decoding, whose limit is the default one.
        Sniffed::Html => {
            let decoded = gongkai_decode::decode_html_within(bytes, limit)?;
            Ok(gongkai_html::read_html_str(
                &decoded.text,
                Some(decoded.encoding),
            )?)
        }
        Sniffed::Markdown => {
            let decoded = gongkai_decode::decode_text_within(bytes, limit)?;
            Ok(gongkai_parse::read_text_str(
                &decoded.text,
                SourceFormat::Markdown,
                Some(decoded.encoding),
            ))
        }
        Sniffed::Text => {
            let decoded = gongkai_decode::decode_text_within(bytes, limit)?;
            Ok(gongkai_parse::read_text_str(
                &decoded.text,
                SourceFormat::Text,
                Some(decoded.encoding),
            ))
        }
        Sniffed::Unsupported(format) => Err(ReadError::Unsupported { format }),
    }
}

/// Content sniffing, with the name deciding only between text and Markdown.
pub fn sniff(bytes: &[u8], name: &str) -> Sniffed {
    match gongkai_decode::sniff(bytes) {
        Sniffed::Text if is_markdown_name(name) => Sniffed::Markdown,
        other => other,
    }
}

fn is_markdown_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".md") || lower.ends_with(".markdown")
}

/// The [`Source`] of a report read from `bytes` (what [`read`] returns beside the report);
/// public for callers that run the steps of [`read`] one by one (the parse worker traces each).
pub fn source(bytes: &[u8], name: &str, document: &Document) -> Source {
    Source {
        name: name.to_owned(),
        sha256: sha256_hex(bytes),
        media_type: document.format.media_type().to_owned(),
        encoding: document.encoding.clone(),
        bytes: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
    }
}

/// The SHA-256 of `bytes` in lower-case hex, as [`Source::sha256`] records it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
