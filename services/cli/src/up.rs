//! `gongkai up`: the whole pipeline in one process for a single machine — the gRPC gateway and
//! one replica (or `--replicas`) of the parse, validate and archive workers, sharing one
//! archive pool, one blob store and one `/metrics` endpoint. Prints one line on standard output
//! when it is ready; Ctrl-C or SIGTERM stops everything cleanly (messages in hand are finished
//! first).

use anyhow::Context;
use gongkai_gateway::{Gateway, GatewayConfig};
use gongkai_queue::Stage;
use gongkai_telemetry::Metrics;
use gongkai_workers::{StageContext, WorkerConfig};
use std::process::ExitCode;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub gateway: GatewayConfig,
    /// Messages each worker replica takes at once.
    #[arg(long, env = "PREFETCH", default_value_t = 8)]
    pub prefetch: u16,
    /// Replicas of each worker.
    #[arg(long, default_value_t = 1)]
    pub replicas: usize,
    /// Archive connections shared by the workers.
    #[arg(long, default_value_t = 12)]
    pub worker_db_pool: u32,
}

pub fn run(args: UpArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(up(args))
}

async fn up(args: UpArgs) -> anyhow::Result<ExitCode> {
    let telemetry = gongkai_telemetry::init("gongkai")?;
    let result = run_everything(args).await;
    if let Err(error) = telemetry.shutdown() {
        eprintln!("gongkai up: flushing telemetry: {error}");
    }
    result
}

async fn run_everything(args: UpArgs) -> anyhow::Result<ExitCode> {
    let metrics = Metrics::new("gongkai");
    let config = args.gateway.clone();
    let gateway = Gateway::connect_with(config.clone(), metrics.clone())
        .await
        .with_context(|| {
            format!(
                "cannot start: is RabbitMQ at {} and PostgreSQL at {} running?",
                gongkai_queue::publisher::redact(&config.amqp_url),
                gongkai_archive::redact_url(&config.database_url)
            )
        })?;

    let mut worker_config =
        WorkerConfig::new(&config.amqp_url, &config.database_url, &config.blob_store);
    worker_config.prefetch = args.prefetch.max(1);
    worker_config.db_pool = args.worker_db_pool.max(2);
    worker_config.drain_timeout = Duration::from_secs(30);
    worker_config.max_report_bytes = config.max_report_bytes;
    worker_config.artefact_grace = gongkai_workers::artefacts::grace_from_env();
    worker_config.artefact_sweep = gongkai_workers::artefacts::sweep_period_from_env();
    let context: StageContext =
        gongkai_workers::open_context(&worker_config, Some(metrics.clone())).await?;
    let sweeper = context.start_sweeper(&worker_config);

    let metrics_server = match config.metrics_addr.0 {
        Some(addr) => Some(
            gongkai_telemetry::serve_metrics(addr, metrics.clone(), gateway.health())
                .await
                .with_context(|| format!("cannot serve /metrics on {addr}"))?,
        ),
        None => None,
    };
    let listener = gongkai_gateway::bind(config.grpc_addr).await?;
    let grpc_addr = listener.local_addr().unwrap_or(config.grpc_addr);

    let (stop, stopped) = watch::channel(false);
    let wait_for_stop = |mut stopped: watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|s| *s).await;
    };

    let mut tasks: Vec<(String, tokio::task::JoinHandle<anyhow::Result<()>>)> = Vec::new();
    let gateway_stop = wait_for_stop(stopped.clone());
    tasks.push((
        "gateway".to_owned(),
        tokio::spawn(async move {
            gateway
                .serve_on(listener, gateway_stop)
                .await
                .map_err(anyhow::Error::from)
        }),
    ));
    for stage in Stage::ALL {
        for replica in 0..args.replicas.max(1) {
            let config = worker_config.clone();
            let context = context.clone();
            let shutdown = wait_for_stop(stopped.clone());
            tasks.push((
                format!("{} worker #{}", stage.as_str(), replica + 1),
                tokio::spawn(async move {
                    gongkai_workers::run_stage(stage, &config, context, shutdown)
                        .await
                        .map_err(anyhow::Error::from)
                }),
            ));
        }
    }

    println!(
        "gongkai up: ready — gateway on http://{grpc_addr}, {} parse / validate / archive worker(s), blobs in {}{}; Ctrl-C to stop",
        args.replicas.max(1),
        config.blob_store,
        config
            .metrics_addr
            .0
            .map(|a| format!(", metrics on http://{a}/metrics"))
            .unwrap_or_default()
    );

    // Stop on a signal, or as soon as any part ends on its own (an error: the rest follow).
    let (finished_tx, mut finished_rx) =
        tokio::sync::mpsc::channel::<(String, anyhow::Result<()>)>(tasks.len());
    let count = tasks.len();
    for (name, task) in tasks {
        let finished_tx = finished_tx.clone();
        tokio::spawn(async move {
            let result = match task.await {
                Ok(result) => result,
                Err(join_error) => Err(anyhow::anyhow!("{join_error}")),
            };
            let _ = finished_tx.send((name, result)).await;
        });
    }
    drop(finished_tx);

    let mut failures = Vec::new();
    let mut done = 0;
    tokio::select! {
        () = termination_signal() => {
            eprintln!("gongkai up: stopping (finishing the reports in hand)…");
        }
        Some((name, result)) = finished_rx.recv() => {
            done += 1;
            match result {
                Ok(()) => failures.push(format!("{name} stopped unexpectedly")),
                Err(error) => failures.push(format!("{name}: {error:#}")),
            }
        }
    }
    let _ = stop.send(true);
    while done < count {
        let Some((name, result)) = finished_rx.recv().await else {
            break;
        };
        done += 1;
        if let Err(error) = result {
            failures.push(format!("{name}: {error:#}"));
        }
    }
    drop(sweeper);
    // The artefacts of the reports archived in the last grace period go now.
    context.artefacts.flush().await;
    if let Some(server) = metrics_server {
        server.shutdown().await;
    }
    if failures.is_empty() {
        eprintln!("gongkai up: stopped");
        Ok(ExitCode::SUCCESS)
    } else {
        for failure in &failures {
            eprintln!("gongkai up: {failure}");
        }
        Ok(ExitCode::from(1))
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn termination_signal() {
    gongkai_workers::termination_signal().await;
}
