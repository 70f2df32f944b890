//! The workers' settings: flags with environment fallbacks (`AMQP_URL`, `DATABASE_URL`,
//! `BLOB_STORE`, `PREFETCH`, `METRICS_ADDR`, `MAX_REPORT_BYTES`), shared by the three worker
//! binaries; `gongkai up` builds a [`WorkerConfig`] directly.

use std::net::SocketAddr;
use std::time::Duration;

/// The environment variable of the test hook that delays every message before processing
/// (milliseconds), so that a test can kill or disconnect a worker while it holds messages.
/// Never set it in production.
pub const TEST_HOLD_ENV: &str = "GONGKAI_TEST_HOLD_MS";

/// `METRICS_ADDR`: an address, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsAddr(pub Option<SocketAddr>);

impl std::str::FromStr for MetricsAddr {
    type Err = std::net::AddrParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("off") || s.trim().is_empty() {
            Ok(MetricsAddr(None))
        } else {
            s.trim().parse().map(|a| MetricsAddr(Some(a)))
        }
    }
}

/// The flags of a worker binary.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    /// The RabbitMQ broker (and vhost).
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
    /// How many messages one replica holds and processes at once.
    #[arg(long, env = "PREFETCH", default_value_t = 4)]
    pub prefetch: u16,
    /// Where `/metrics` and `/healthz` are served (`off` for nowhere); the default is the
    /// worker's own port (parse 9465, validate 9466, archive 9467).
    #[arg(long, env = "METRICS_ADDR")]
    pub metrics_addr: Option<MetricsAddr>,
    /// The largest report the parse stage reads, in bytes (the gateway's limit too); a larger
    /// one is marked FAILED with the limit named.
    #[arg(long, env = "MAX_REPORT_BYTES", default_value_t = gongkai_engine::MAX_INPUT_BYTES)]
    pub max_report_bytes: usize,
}

/// What a worker needs to run.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub amqp_url: String,
    pub database_url: String,
    pub blob_store: String,
    /// Messages held and processed at once by this replica.
    pub prefetch: u16,
    /// Where to serve `/metrics` and `/healthz`; `None` for nowhere (tests, `gongkai up`,
    /// which serves its own).
    pub metrics_addr: Option<SocketAddr>,
    /// Size of the archive connection pool.
    pub db_pool: u32,
    /// The test hook of [`TEST_HOLD_ENV`].
    pub test_hold: Option<Duration>,
    /// How long shutdown waits for the messages in hand.
    pub drain_timeout: Duration,
    /// Readiness (`/healthz`) to keep in step with the broker connection and the database.
    pub health: Option<gongkai_telemetry::Health>,
    /// `MAX_REPORT_BYTES`: the parse stage refuses larger documents.
    pub max_report_bytes: usize,
    /// How long an archived report's intermediate artefacts are kept before they are deleted
    /// (`crate::artefacts` says why not at once).
    pub artefact_grace: Duration,
    /// How often the archive worker sweeps the store for artefacts left behind (`None`: never;
    /// `crate::artefacts::sweep_leftovers`).
    pub artefact_sweep: Option<Duration>,
}

impl WorkerConfig {
    /// A configuration with the defaults for everything but the three locations.
    pub fn new(amqp_url: &str, database_url: &str, blob_store: &str) -> WorkerConfig {
        WorkerConfig {
            amqp_url: amqp_url.to_owned(),
            database_url: database_url.to_owned(),
            blob_store: blob_store.to_owned(),
            prefetch: 4,
            metrics_addr: None,
            db_pool: 4,
            test_hold: None,
            drain_timeout: Duration::from_secs(60),
            health: None,
            max_report_bytes: gongkai_engine::MAX_INPUT_BYTES,
            artefact_grace: crate::artefacts::DEFAULT_ARTEFACT_GRACE,
            artefact_sweep: Some(crate::artefacts::DEFAULT_SWEEP_PERIOD),
        }
    }

    /// From the flags; `default_metrics_addr` is the worker's own port.
    pub fn from_args(args: WorkerArgs, default_metrics_addr: SocketAddr) -> WorkerConfig {
        let mut config = WorkerConfig::new(&args.amqp_url, &args.database_url, &args.blob_store);
        config.prefetch = args.prefetch.max(1);
        config.db_pool = u32::from(config.prefetch).clamp(2, 16);
        config.metrics_addr = match args.metrics_addr {
            Some(MetricsAddr(addr)) => addr,
            None => Some(default_metrics_addr),
        };
        config.test_hold = test_hold_from_env();
        config.max_report_bytes = args.max_report_bytes;
        config.artefact_grace = crate::artefacts::grace_from_env();
        config.artefact_sweep = crate::artefacts::sweep_period_from_env();
        config
    }
}

/// The test hook's delay, when `GONGKAI_TEST_HOLD_MS` is set to a number of milliseconds.
pub fn test_hold_from_env() -> Option<Duration> {
    std::env::var(TEST_HOLD_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
}
