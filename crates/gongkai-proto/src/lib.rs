//! The gongkai gRPC API, package `gongkai.v1`: the messages, the `ReportService` client and
//! server generated from `proto/gongkai/v1/*.proto`, the encoded file descriptor set for server
//! reflection, and the conversions between the proto enums and the model's ids that the gateway
//! and the CLI share (so this crate depends on `gongkai-model`).

pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("gongkai.v1");

    /// The encoded `FileDescriptorSet` of `gongkai.v1` (with its imports), for
    /// `tonic-reflection`.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/gongkai_v1_descriptor.bin"));
}

pub use v1::report_service_client::ReportServiceClient;
pub use v1::report_service_server::{ReportService, ReportServiceServer};

impl v1::ReportStatus {
    /// The short lower-case word the CLI and logs print (`archived`).
    pub fn word(self) -> &'static str {
        match self {
            v1::ReportStatus::Unspecified => "unspecified",
            v1::ReportStatus::Received => "received",
            v1::ReportStatus::Parsed => "parsed",
            v1::ReportStatus::Validated => "validated",
            v1::ReportStatus::Archived => "archived",
            v1::ReportStatus::Failed => "failed",
        }
    }

    /// Parses [`Self::word`] (case-insensitive; the full `REPORT_STATUS_…` name works too).
    pub fn from_word(word: &str) -> Option<v1::ReportStatus> {
        let lower = word.to_ascii_lowercase();
        let lower = lower.strip_prefix("report_status_").unwrap_or(&lower);
        [
            v1::ReportStatus::Received,
            v1::ReportStatus::Parsed,
            v1::ReportStatus::Validated,
            v1::ReportStatus::Archived,
            v1::ReportStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.word() == lower)
    }

    /// ARCHIVED and FAILED: nothing follows them.
    pub fn is_final(self) -> bool {
        matches!(self, v1::ReportStatus::Archived | v1::ReportStatus::Failed)
    }
}

impl From<gongkai_model::CellState> for v1::CellState {
    fn from(state: gongkai_model::CellState) -> Self {
        use gongkai_model::CellState;
        match state {
            CellState::Number => v1::CellState::Number,
            CellState::Blank => v1::CellState::Blank,
            CellState::Placeholder => v1::CellState::Placeholder,
            CellState::Missing => v1::CellState::Missing,
            CellState::Ambiguous => v1::CellState::Ambiguous,
            CellState::Invalid => v1::CellState::Invalid,
            CellState::Corrected => v1::CellState::Corrected,
        }
    }
}

impl v1::CellState {
    /// The model's word for the state (`number`, `invalid`), as in the JSON of the spec.
    pub fn word(self) -> &'static str {
        match self {
            v1::CellState::Number => "number",
            v1::CellState::Blank => "blank",
            v1::CellState::Placeholder => "placeholder",
            v1::CellState::Missing => "missing",
            v1::CellState::Ambiguous => "ambiguous",
            v1::CellState::Invalid => "invalid",
            v1::CellState::Corrected => "corrected",
            v1::CellState::Unspecified => "unspecified",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::v1::ReportStatus;
    use prost::Message;

    #[test]
    fn status_words_round_trip() {
        for s in [
            ReportStatus::Received,
            ReportStatus::Parsed,
            ReportStatus::Validated,
            ReportStatus::Archived,
            ReportStatus::Failed,
        ] {
            assert_eq!(ReportStatus::from_word(s.word()), Some(s));
            assert_eq!(ReportStatus::from_word(s.as_str_name()), Some(s));
        }
        assert_eq!(ReportStatus::from_word("nonsense"), None);
    }

    #[test]
    fn cell_states_convert_to_the_same_word() {
        use gongkai_model::CellState;
        for state in [
            CellState::Number,
            CellState::Blank,
            CellState::Placeholder,
            CellState::Missing,
            CellState::Ambiguous,
            CellState::Invalid,
        ] {
            assert_eq!(super::v1::CellState::from(state).word(), state.as_str());
        }
        assert_eq!(super::v1::CellState::Invalid as i32, 7);
    }

    #[test]
    fn descriptor_set_holds_the_service_and_its_imports() {
        let fds = prost_types::FileDescriptorSet::decode(super::v1::FILE_DESCRIPTOR_SET).unwrap();
        let names: Vec<_> = fds.file.iter().filter_map(|f| f.name.clone()).collect();
        assert!(
            names.iter().any(|n| n == "gongkai/v1/report.proto"),
            "{names:?}"
        );
        assert!(
            names.iter().any(|n| n == "google/protobuf/timestamp.proto"),
            "{names:?}"
        );
        let report = fds
            .file
            .iter()
            .find(|f| f.package.as_deref() == Some("gongkai.v1"))
            .unwrap();
        assert_eq!(report.service[0].name.as_deref(), Some("ReportService"));
    }
}
