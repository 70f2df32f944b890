//! The stage message: the small JSON body every stage queue carries (the claim check — ids and
//! the blob key, never the report's bytes), and the AMQP headers that travel with it.

use crate::error::QueueError;
use crate::topology::Stage;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// W3C trace context header names, carried as AMQP headers.
pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";
/// Why a message was dead-lettered by a worker (set on the copy in `<queue>.dlq`).
pub const HEADER_ERROR: &str = "x-gongkai-error";
/// The stage whose worker dead-lettered the message.
pub const HEADER_STAGE: &str = "x-gongkai-stage";
/// The last transient failure of a message that waits in a retry queue.
pub const HEADER_LAST_ERROR: &str = "x-gongkai-last-error";
/// How many times `dlq redrive` sent this message back.
pub const HEADER_REDRIVEN: &str = "x-gongkai-redriven";
/// Set by quorum queues: how many times the message was delivered before without an ack.
pub const HEADER_DELIVERY_COUNT: &str = "x-delivery-count";

/// What moves from stage to stage. The body of every stage message, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageMessage {
    /// The submission's id; every artefact and event of the report is keyed by it.
    pub report_id: Uuid,
    /// Lower-case hex SHA-256 of the submitted bytes.
    pub sha256: String,
    /// Where the submitted bytes are in the blob store (`sha256/<hex>`).
    pub blob_key: String,
    /// The file name the submitter gave (format sniffing does not trust it, messages show it).
    pub filename: String,
    /// Who submitted it (a system name), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_system: Option<String>,
    /// How many transient failures this message has been through (0 on first processing).
    #[serde(default)]
    pub attempt: u32,
    /// What the stages are to do with the report (absent in the JSON: a submission).
    #[serde(default, skip_serializing_if = "MessageKind::is_submission")]
    pub kind: MessageKind,
    /// Re-validations: the batch the re-validation belongs to (its progress is kept there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
}

/// What a stage message asks of the stages (archive.md §1, §3). The body's `kind`, in
/// snake case; a message without one is a submission.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Submitted bytes: parse, then validate the parsed artefact, then archive.
    #[default]
    Submission,
    /// A reviewer's correction (a report of its own): validate reads the parent's archived
    /// content with the corrected cells from the archive, then archive.
    Correction,
    /// A re-validation of an archived report (`batch` names its batch): validate reads the
    /// archived content, archive replaces the findings. No new version, no status change.
    Revalidation,
    /// A re-validation that reads the document again: parse the stored bytes, validate the
    /// parsed artefact, archive replaces the content and the findings.
    Reparse,
}

impl MessageKind {
    pub fn is_submission(&self) -> bool {
        *self == MessageKind::Submission
    }

    /// A re-validation of an archived report (with or without reading it again): the stages
    /// leave the report's status alone and keep their progress in the batch.
    pub fn is_revalidation(&self) -> bool {
        matches!(self, MessageKind::Revalidation | MessageKind::Reparse)
    }
}

impl StageMessage {
    pub fn to_json(&self) -> Result<Vec<u8>, QueueError> {
        serde_json::to_vec(self).map_err(QueueError::Encode)
    }

    pub fn from_json(bytes: &[u8]) -> Result<StageMessage, QueueError> {
        serde_json::from_slice(bytes).map_err(QueueError::Decode)
    }

    /// The same message for the next stage: a fresh attempt count.
    pub fn for_next_stage(&self) -> StageMessage {
        StageMessage {
            attempt: 0,
            ..self.clone()
        }
    }
}

/// Reads a header as text (AMQP long or short strings, and numbers written as text).
pub fn header_text(headers: &FieldTable, name: &str) -> Option<String> {
    value_text(headers.inner().get(name)?)
}

pub(crate) fn value_text(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        AMQPValue::ByteArray(b) => Some(String::from_utf8_lossy(b.as_slice()).into_owned()),
        other => value_number(other).map(|n| n.to_string()),
    }
}

pub(crate) fn value_number(value: &AMQPValue) -> Option<i64> {
    match value {
        AMQPValue::ShortShortInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortShortUInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortUInt(n) => Some(i64::from(*n)),
        AMQPValue::LongInt(n) => Some(i64::from(*n)),
        AMQPValue::LongUInt(n) => Some(i64::from(*n)),
        AMQPValue::LongLongInt(n) => Some(*n),
        _ => None,
    }
}

/// Reads a header as a whole number.
pub fn header_number(headers: &FieldTable, name: &str) -> Option<i64> {
    value_number(headers.inner().get(name)?)
}

/// Sets a text header.
pub fn set_header_text(headers: &mut FieldTable, name: &str, value: &str) {
    headers.insert(
        ShortString::from(name),
        AMQPValue::LongString(LongString::from(value)),
    );
}

/// The trace context headers of `headers` (and nothing else): what a stage forwards to the next
/// when it has no span context of its own to inject.
pub fn trace_headers(headers: &FieldTable) -> FieldTable {
    let mut forwarded = FieldTable::default();
    for name in [TRACEPARENT, TRACESTATE] {
        if let Some(value) = headers.inner().get(name) {
            forwarded.insert(ShortString::from(name), value.clone());
        }
    }
    forwarded
}

/// A message as a handler receives it.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub stage: Stage,
    pub message: StageMessage,
    /// The AMQP headers, trace context included.
    pub headers: FieldTable,
    /// The broker delivered this message before (to this or another consumer) without an ack.
    pub redelivered: bool,
    /// Earlier deliveries without an ack (`x-delivery-count` of the quorum queue).
    pub delivery_count: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_message_round_trips_and_tolerates_missing_optional_fields() {
        let message = StageMessage {
            report_id: Uuid::now_v7(),
            sha256: "ab".repeat(32),
            blob_key: format!("sha256/{}", "ab".repeat(32)),
            filename: "报告.html".to_owned(),
            source_system: Some("test".to_owned()),
            attempt: 2,
            kind: MessageKind::Correction,
            batch: Some("revalidation-1".to_owned()),
        };
        let json = message.to_json().unwrap();
        assert_eq!(StageMessage::from_json(&json).unwrap(), message);

        let minimal = format!(
            r#"{{"report_id":"{}","sha256":"x","blob_key":"k","filename":"f"}}"#,
            message.report_id
        );
        let read = StageMessage::from_json(minimal.as_bytes()).unwrap();
        assert_eq!(read.attempt, 0);
        assert_eq!(read.source_system, None);
        assert_eq!(read.kind, MessageKind::Submission);
    }

    #[test]
    fn garbage_is_a_decode_error_not_a_panic() {
        for body in [
            &b""[..],
            b"\xff\xfe",
            b"{}",
            b"[1,2]",
            b"{\"report_id\":\"nope\"}",
        ] {
            assert!(matches!(
                StageMessage::from_json(body),
                Err(QueueError::Decode(_))
            ));
        }
    }

    #[test]
    fn trace_headers_keep_only_the_trace_context() {
        let mut headers = FieldTable::default();
        set_header_text(&mut headers, TRACEPARENT, "00-abc-def-01");
        set_header_text(&mut headers, "other", "x");
        let forwarded = trace_headers(&headers);
        assert_eq!(
            header_text(&forwarded, TRACEPARENT).as_deref(),
            Some("00-abc-def-01")
        );
        assert_eq!(header_text(&forwarded, "other"), None);
    }
}
