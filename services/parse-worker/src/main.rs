//! `gongkai-parse-worker`: reads submitted reports (blob → `gongkai_engine::read` →
//! `derived/…/<id>.parsed.json`, PARSED) and hands them to the validate stage. Stateless; run as
//! many replicas as the queue needs. SIGTERM: finishes the messages in hand, then exits 0.

/// mimalloc instead of glibc's allocator: the pipeline allocates and frees many short-lived
/// buffers (JSON artefacts, rows, frames) on several threads, and glibc's malloc/free with its
/// consolidation was 13 % of the CPU of `gongkai up` under `gongkai bench` (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use gongkai_telemetry::Service;
use gongkai_workers::{WorkerArgs, WorkerConfig, run_parse_worker, termination_signal};

#[derive(Parser)]
#[command(
    name = "gongkai-parse-worker",
    version,
    about = "The parse stage of gongkai"
)]
struct Cli {
    #[command(flatten)]
    worker: WorkerArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let service = Service::ParseWorker;
    let telemetry = gongkai_telemetry::init(service.name())?;
    let config = WorkerConfig::from_args(cli.worker, service.default_metrics_addr());
    let result = run_parse_worker(config, termination_signal()).await;
    if let Err(error) = telemetry.shutdown() {
        eprintln!("flushing telemetry: {error}");
    }
    if let Err(error) = result {
        // Each cause once, on one line (anyhow's report would repeat a cause that a foreign
        // error, such as lapin's IO error, also names in its own message).
        eprintln!(
            "{}: {}",
            service.name(),
            gongkai_telemetry::error_chain(&error)
        );
        std::process::exit(1);
    }
    Ok(())
}
