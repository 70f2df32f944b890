//! `gongkai-gateway`: the gRPC front of the pipeline. Everything is in the `gongkai-gateway`
//! library; this binary reads the settings, starts telemetry and stops cleanly on Ctrl-C or
//! SIGTERM (calls in progress finish first).

/// mimalloc instead of glibc's allocator: the pipeline allocates and frees many short-lived
/// buffers (JSON artefacts, rows, frames) on several threads, and glibc's malloc/free with its
/// consolidation was 13 % of the CPU of `gongkai up` under `gongkai bench` (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use gongkai_gateway::GatewayConfig;

#[derive(Parser)]
#[command(name = "gongkai-gateway", version, about = "gongkai gRPC gateway")]
struct Cli {
    #[command(flatten)]
    config: GatewayConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let telemetry = gongkai_telemetry::init("gongkai-gateway")?;
    let result = gongkai_gateway::serve(cli.config, shutdown_signal()).await;
    let failure = result
        .as_ref()
        .err()
        .map(|error| gongkai_telemetry::error_chain(error));
    if let Some(error) = &failure {
        tracing::error!(%error, "gateway failed");
    }
    if let Err(error) = telemetry.shutdown() {
        eprintln!("flushing telemetry: {error}");
    }
    if let Some(error) = failure {
        // Each cause once, on one line (anyhow's report would repeat a cause that a foreign
        // error, such as lapin's IO error, also names in its own message).
        eprintln!("gongkai-gateway: {error}");
        std::process::exit(1);
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
