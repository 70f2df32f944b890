//! The parse, validate and archive stages of the gongkai pipeline as a library, so that the
//! three worker binaries stay thin and `gongkai up` can run every stage in one process.
//!
//! ```text
//! gateway ─▶ gongkai.parse ─▶ parse worker ─▶ gongkai.validate ─▶ validate worker
//!                                  │                                   │
//!              derived/…/<id>.parsed.json, PARSED   derived/…/<id>.checked.json, VALIDATED
//!                                                                      ▼
//!                                     gongkai.archive ─▶ archive worker ─▶ PostgreSQL, ARCHIVED
//! ```
//!
//! [`run_parse_worker`], [`run_validate_worker`] and [`run_archive_worker`] run one replica of
//! a stage until `shutdown` completes: they take no new message after that, finish the ones in
//! hand and return. Any number of replicas of each may run at once (competing consumers). The
//! stage logic is in [`stages`]; the consumer loop (acknowledgement, retry, dead-lettering,
//! reconnection) in `gongkai_queue::consumer`.

pub mod artefacts;
pub mod config;
pub mod error;
pub mod stages;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use config::{MetricsAddr, TEST_HOLD_ENV, WorkerArgs, WorkerConfig, test_hold_from_env};
pub use error::WorkerError;
pub use stages::{
    CHECKED_ARTEFACT, PARSED_ARTEFACT, ParsedReport, StageContext, StageHandler, open_context,
};

use gongkai_queue::{ConsumerConfig, Stage, run_consumer};
use gongkai_telemetry::{Health, Metrics, Service};
use std::future::Future;
use std::sync::Arc;

fn service(stage: Stage) -> Service {
    match stage {
        Stage::Parse => Service::ParseWorker,
        Stage::Validate => Service::ValidateWorker,
        Stage::Archive => Service::ArchiveWorker,
    }
}

/// Runs one replica of `stage`'s worker with its own archive pool, blob store handle and
/// metrics until `shutdown` completes.
pub async fn run_worker(
    stage: Stage,
    config: WorkerConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), WorkerError> {
    let service = service(stage);
    let metrics = Metrics::new(service.name());
    // Ready while the consumer loop is connected to the broker (it marks `amqp`) and the
    // database answers (`database`, checked every few seconds).
    let health = Health::new(&[gongkai_queue::consumer::AMQP_COMPONENT, DATABASE_COMPONENT])
        .with_metrics(&metrics);
    let server = match config.metrics_addr {
        Some(addr) => Some(
            gongkai_telemetry::serve_metrics(addr, metrics.clone(), health.clone())
                .await
                .map_err(WorkerError::Metrics)?,
        ),
        None => None,
    };
    let context = open_context(&config, Some(metrics)).await?;
    let monitor = tokio::spawn(watch_database(context.archive.clone(), health.clone()));
    let mut config = config;
    config.health = Some(health);
    let artefacts = context.artefacts.clone();
    let sweeper = match stage {
        Stage::Archive => context.start_sweeper(&config),
        Stage::Parse | Stage::Validate => None,
    };
    let result = run_stage(stage, &config, context, shutdown).await;
    drop(sweeper);
    // A graceful stop leaves no artefact of an archived report behind.
    artefacts.flush().await;
    monitor.abort();
    if let Some(server) = server {
        server.shutdown().await;
    }
    result
}

/// The readiness component for the archive database.
pub const DATABASE_COMPONENT: &str = "database";

/// How often a worker checks that its database answers.
const DATABASE_CHECK_PERIOD: std::time::Duration = std::time::Duration::from_secs(5);

/// Keeps the `database` readiness component in step with the archive's answers.
async fn watch_database(archive: gongkai_archive::Archive, health: Health) {
    loop {
        let up = matches!(
            tokio::time::timeout(DATABASE_CHECK_PERIOD, archive.ping()).await,
            Ok(Ok(()))
        );
        health.set(DATABASE_COMPONENT, up);
        tokio::time::sleep(DATABASE_CHECK_PERIOD).await;
    }
}

/// Runs one replica of `stage` on an already opened [`StageContext`] (shared by the stages
/// of `gongkai up`).
pub async fn run_stage(
    stage: Stage,
    config: &WorkerConfig,
    context: StageContext,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), WorkerError> {
    let mut consumer = ConsumerConfig::new(
        config.amqp_url.clone(),
        stage,
        format!("gongkai-{}-worker", stage.as_str()),
    );
    consumer.prefetch = config.prefetch.max(1);
    consumer.test_hold = config.test_hold;
    consumer.drain_timeout = config.drain_timeout;
    consumer.health = config.health.clone();
    let handler = Arc::new(StageHandler { stage, context });
    run_consumer(consumer, handler, shutdown).await?;
    Ok(())
}

/// The parse worker: blob → `gongkai_engine::read` → `parsed.json`, PARSED → validate.
pub async fn run_parse_worker(
    config: WorkerConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), WorkerError> {
    run_worker(Stage::Parse, config, shutdown).await
}

/// The validate worker: `parsed.json` → rules (with the previous year's report) →
/// `checked.json`, VALIDATED → archive.
pub async fn run_validate_worker(
    config: WorkerConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), WorkerError> {
    run_worker(Stage::Validate, config, shutdown).await
}

/// The archive worker: `checked.json` → `Archive::archive_checked`, ARCHIVED.
pub async fn run_archive_worker(
    config: WorkerConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), WorkerError> {
    run_worker(Stage::Archive, config, shutdown).await
}

/// Completes on SIGTERM or Ctrl-C: the `shutdown` of a worker binary.
pub async fn termination_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("termination requested");
}
