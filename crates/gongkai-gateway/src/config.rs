//! The gateway's settings, as flags with environment fallbacks (the names every gongkai
//! service shares: `AMQP_URL`, `DATABASE_URL`, `BLOB_STORE`, `GRPC_ADDR`, `MAX_REPORT_BYTES`,
//! `METRICS_ADDR`). `clap::Args`, so the gateway binary and `gongkai up` flatten the same set.

use std::net::SocketAddr;
use std::time::Duration;

/// The default largest accepted report: 64 MiB.
pub const DEFAULT_MAX_REPORT_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, clap::Args)]
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
