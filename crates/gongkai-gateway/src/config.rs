//! The gateway's settings, as flags with environment fallbacks (the names every gongkai
//! service shares: `AMQP_URL`, `DATABASE_URL`, `BLOB_STORE`, `GRPC_ADDR`, `MAX_REPORT_BYTES`,
//! `METRICS_ADDR`), and the gateway's own: who may call (`AUTH`, TLS) and the bounds that keep
//! one client from exhausting it. `clap::Args`, so the gateway binary and `gongkai up` flatten the same set.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The default largest accepted report: 64 MiB.
pub const DEFAULT_MAX_REPORT_BYTES: usize = 64 * 1024 * 1024;

#[derive(Clone, clap::Args)]
pub struct GatewayConfig {
    /// Where the gRPC server listens.
    #[arg(long, env = "GRPC_ADDR", default_value = "127.0.0.1:50051")]
    pub grpc_addr: SocketAddr,
    /// The RabbitMQ broker.
    #[arg(
        long,
        env = "AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    pub amqp_url: String,
    /// The PostgreSQL archive (created if missing).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/gongkai"
    )]
    pub database_url: String,
    /// The blob store: a directory, `file://`, `memory://` or `s3://bucket/prefix`.
    #[arg(long, env = "BLOB_STORE", default_value = gongkai_blob::DEFAULT_BLOB_STORE)]
    pub blob_store: String,
    /// The largest report accepted, in bytes; larger ones get RESOURCE_EXHAUSTED.
    #[arg(long, env = "MAX_REPORT_BYTES", default_value_t = DEFAULT_MAX_REPORT_BYTES)]
    pub max_report_bytes: usize,
    /// How long a submission waits for the broker's confirm before answering UNAVAILABLE.
    #[arg(long, env = "CONFIRM_TIMEOUT_MS", default_value_t = 5000)]
    pub confirm_timeout_ms: u64,
    /// How long a submission or a query waits for the archive before answering UNAVAILABLE.
    #[arg(long, env = "ARCHIVE_TIMEOUT_MS", default_value_t = 8000)]
    pub archive_timeout_ms: u64,
    /// Size of the archive connection pool.
    #[arg(long, env = "GATEWAY_DB_POOL", default_value_t = 16)]
    pub db_pool: u32,
    /// A report recorded but not queued after this many seconds (the gateway stopped before
    /// publishing it, or the broker never confirmed) is queued by the recovery sweep.
    #[arg(long, env = "REQUEUE_AFTER_SECS", default_value_t = 60)]
    pub requeue_after_secs: u64,
    /// Where `/metrics` and `/healthz` are served; `off` for nowhere.
    #[arg(long, env = "METRICS_ADDR", default_value = "127.0.0.1:9464")]
    pub metrics_addr: MetricsAddr,
    /// `required`: every call but health and reflection needs a bearer token with the
    /// method's scope (archive.md §7); `off`: no check. Unset: required unless `GRPC_ADDR` is
    /// a loopback address, so that nothing reachable from elsewhere runs open.
    #[arg(long, env = "AUTH")]
    pub auth: Option<AuthMode>,
    /// The server's certificate chain (PEM); with `GRPC_TLS_KEY`, the gateway serves TLS only.
    #[arg(long, env = "GRPC_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The server certificate's private key (PEM).
    #[arg(long, env = "GRPC_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// CA certificates (PEM) that client certificates must chain to; set, every client must
    /// present one.
    #[arg(long, env = "GRPC_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// The largest request of any method but the two submissions, in bytes (reads, reviews
    /// and admin calls are small; the report-size limit is for document bytes only).
    #[arg(long, env = "MAX_REQUEST_BYTES", default_value_t = DEFAULT_MAX_REQUEST_BYTES)]
    pub max_request_bytes: usize,
    /// Report bytes one SubmitReports stream holds in flight; the next item is read only
    /// once the stream is under this (one item over it always proceeds).
    #[arg(long, env = "SUBMIT_STREAM_BYTES", default_value_t = DEFAULT_SUBMIT_STREAM_BYTES)]
    pub submit_stream_bytes: usize,
    /// SubmitReports streams one caller may have open at once.
    #[arg(long, env = "SUBMIT_STREAMS_PER_CALLER", default_value_t = 4)]
    pub submit_streams_per_caller: usize,
    /// WatchReport / WatchBatch streams one caller may have open at once.
    #[arg(long, env = "WATCHERS_PER_CALLER", default_value_t = 64)]
    pub watchers_per_caller: usize,
    /// WatchReport / WatchBatch streams open at once over all callers.
    #[arg(long, env = "WATCHERS_TOTAL", default_value_t = 4096)]
    pub watchers_total: usize,
    /// Submissions per second one caller may make (a burst of twice as many is allowed),
    /// or `off`. Unset: off on a loopback `GRPC_ADDR`, 200 elsewhere.
    #[arg(long, env = "SUBMIT_RATE")]
    pub submit_rate: Option<SubmitRate>,
}

/// The connection URLs without their passwords: this is what logs and errors show.
impl std::fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayConfig")
            .field("grpc_addr", &self.grpc_addr)
            .field("amqp_url", &gongkai_archive::redact_url(&self.amqp_url))
            .field(
                "database_url",
                &gongkai_archive::redact_url(&self.database_url),
            )
            .field("blob_store", &self.blob_store)
            .field("max_report_bytes", &self.max_report_bytes)
            .field("auth_required", &self.auth_required())
            .field("tls", &self.tls_cert.is_some())
            .field("client_certificates", &self.tls_client_ca.is_some())
            .finish_non_exhaustive()
    }
}

/// The default largest request of a method other than a submission: 64 KiB.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 64 * 1024;
/// The default report bytes in flight per SubmitReports stream: 64 MiB.
pub const DEFAULT_SUBMIT_STREAM_BYTES: usize = 64 * 1024 * 1024;
/// Submissions per second per caller when `SUBMIT_RATE` is unset and the gateway listens
/// beyond loopback.
pub const DEFAULT_SUBMIT_RATE: f64 = 200.0;

/// `AUTH`: whether callers must present a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    Required,
    Off,
}

/// `SUBMIT_RATE`: submissions per second per caller, or `off`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubmitRate(pub Option<f64>);

impl std::str::FromStr for SubmitRate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("off") {
            return Ok(SubmitRate(None));
        }
        match s.parse::<f64>() {
            Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(SubmitRate(Some(rate))),
            _ => Err(format!(
                "{s:?} is not a positive number of submissions per second, nor `off`"
            )),
        }
    }
}

/// `METRICS_ADDR`: an address, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsAddr(pub Option<SocketAddr>);

impl std::str::FromStr for MetricsAddr {
    type Err = std::net::AddrParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("off") || s.is_empty() {
            Ok(MetricsAddr(None))
        } else {
            s.parse().map(|a| MetricsAddr(Some(a)))
        }
    }
}

impl GatewayConfig {
    /// The defaults of every setting, for tests and embedding (environment not consulted).
    pub fn with_defaults(amqp_url: &str, database_url: &str, blob_store: &str) -> GatewayConfig {
        GatewayConfig {
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            amqp_url: amqp_url.to_owned(),
            database_url: database_url.to_owned(),
            blob_store: blob_store.to_owned(),
            max_report_bytes: DEFAULT_MAX_REPORT_BYTES,
            confirm_timeout_ms: 5000,
            archive_timeout_ms: 8000,
            db_pool: 16,
            requeue_after_secs: 60,
            metrics_addr: MetricsAddr(None),
            auth: None,
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            submit_stream_bytes: DEFAULT_SUBMIT_STREAM_BYTES,
            submit_streams_per_caller: 4,
            watchers_per_caller: 64,
            watchers_total: 4096,
            submit_rate: None,
        }
    }

    /// Whether callers must present a token: `AUTH`, else required unless `GRPC_ADDR` is a
    /// loopback address.
    pub fn auth_required(&self) -> bool {
        match self.auth {
            Some(mode) => mode == AuthMode::Required,
            None => !self.grpc_addr.ip().is_loopback(),
        }
    }

    /// Submissions per second per caller: `SUBMIT_RATE`, else off on loopback and
    /// [`DEFAULT_SUBMIT_RATE`] elsewhere.
    pub fn submit_rate_per_caller(&self) -> Option<f64> {
        match self.submit_rate {
            Some(SubmitRate(rate)) => rate,
            None if self.grpc_addr.ip().is_loopback() => None,
            None => Some(DEFAULT_SUBMIT_RATE),
        }
    }

    pub fn confirm_timeout(&self) -> Duration {
        Duration::from_millis(self.confirm_timeout_ms.max(1))
    }

    pub fn requeue_after(&self) -> Duration {
        Duration::from_secs(self.requeue_after_secs.max(1))
    }

    /// How often the recovery sweep looks: a fraction of [`GatewayConfig::requeue_after`],
    /// between one second and half a minute.
    pub fn requeue_interval(&self) -> Duration {
        (self.requeue_after() / 2).clamp(Duration::from_secs(1), Duration::from_secs(30))
    }

    pub fn archive_timeout(&self) -> Duration {
        Duration::from_millis(self.archive_timeout_ms.max(1))
    }

    /// tonic's decoding limit: the report plus room for the other fields, so that a report a
    /// little over the limit still reaches our check and gets RESOURCE_EXHAUSTED with a
    /// message rather than tonic's generic refusal.
    pub fn max_decoding_message_size(&self) -> usize {
        self.max_report_bytes.saturating_add(1024 * 1024)
    }
}
