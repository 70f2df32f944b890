//! A gateway of its own for each test: a fresh RabbitMQ vhost, a fresh PostgreSQL database and a
//! temporary blob directory, served in-process on a free port.

#![allow(dead_code, clippy::unwrap_used)]

use gongkai_archive::testing::TestDatabase;
use gongkai_gateway::{Gateway, GatewayConfig, GatewayError};
use gongkai_proto::ReportServiceClient;
use gongkai_queue::testkit::TestVhost;
use std::net::SocketAddr;
use tokio::sync::oneshot;
use tonic::transport::Channel;

pub struct Running {
    pub addr: SocketAddr,
    pub config: GatewayConfig,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), GatewayError>>>,
    pub blobs: tempfile::TempDir,
    pub db: TestDatabase,
    pub vhost: TestVhost,
}

/// Whether the local broker and database are there; tests skip (saying so) when not.
pub fn services_available() -> bool {
    let broker = std::net::TcpStream::connect("127.0.0.1:5672").is_ok();
    let database = std::net::TcpStream::connect("127.0.0.1:5432").is_ok();
    if broker && database {
        return true;
    }
    // A missing broker or database must fail the run (CI starts both), unless the person
    // running the tests asked explicitly to leave the service tests out.
    assert!(
        std::env::var_os("GONGKAI_SKIP_SERVICE_TESTS").is_some(),
        "RabbitMQ (127.0.0.1:5672) or PostgreSQL (127.0.0.1:5432) is not running: start them \
         (see README.md) or set GONGKAI_SKIP_SERVICE_TESTS=1 to skip the service tests"
    );
    eprintln!("skipping: GONGKAI_SKIP_SERVICE_TESTS is set");
    false
}

pub async fn start(label: &str, tweak: impl FnOnce(&mut GatewayConfig)) -> Running {
    let vhost = TestVhost::create(label).unwrap();
    let db = TestDatabase::new(&format!("gw_{label}"));
    let blobs = tempfile::tempdir().unwrap();
    let mut config =
        GatewayConfig::with_defaults(&vhost.url, db.url(), blobs.path().to_str().unwrap());
    config.db_pool = 4;
    tweak(&mut config);
    let gateway = Gateway::connect(config.clone()).await.unwrap();
    let listener = gongkai_gateway::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(gateway.serve_on(listener, async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        config,
        stop: Some(stop),
        task: Some(task),
        blobs,
        db,
        vhost,
    }
}

impl Running {
    pub async fn client(&self) -> ReportServiceClient<Channel> {
        ReportServiceClient::connect(format!("http://{}", self.addr))
            .await
            .unwrap()
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX)
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// Stops the gateway and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    /// The messages waiting in `queue` of this test's vhost, taken off the queue.
    pub async fn drain(&self, queue: &str) -> Vec<gongkai_queue::StageMessage> {
        let connection =
            lapin::Connection::connect(&self.vhost.url, lapin::ConnectionProperties::default())
                .await
                .unwrap();
        let channel = connection.create_channel().await.unwrap();
        let mut messages = Vec::new();
        while let Some(message) = channel
            .basic_get(
                queue.into(),
                lapin::options::BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap()
        {
            messages.push(gongkai_queue::StageMessage::from_json(&message.delivery.data).unwrap());
        }
        let _ = connection.close(200, "done".into()).await;
        messages
    }
}

pub fn request(content: &[u8], filename: &str) -> gongkai_proto::v1::SubmitReportRequest {
    gongkai_proto::v1::SubmitReportRequest {
        content: content.to_vec(),
        filename: filename.to_owned(),
        media_type: None,
        source_system: "gateway-test".to_owned(),
        idempotency_key: None,
        batch: None,
        region: None,
    }
}

/// A TCP proxy in front of PostgreSQL that a test can cut (refusing new connections and
/// killing the open ones, as a database that went away) and restore.
pub struct DbProxy {
    pub port: u16,
    enabled: std::sync::Arc<std::sync::atomic::AtomicBool>,
    connections: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl DbProxy {
    pub async fn start() -> DbProxy {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let enabled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let connections = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (accept_enabled, accept_connections) = (enabled.clone(), connections.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !accept_enabled.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect("127.0.0.1:5432").await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                accept_connections.lock().unwrap().push(task.abort_handle());
            }
        });
        DbProxy {
            port,
            enabled,
            connections,
            accept,
        }
    }

    /// The database URL of `database` through this proxy.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub fn cut(&self) {
        self.enabled
            .store(false, std::sync::atomic::Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    pub fn restore(&self) {
        self.enabled
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for DbProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// Issues a token named `name` with `scopes` in `running`'s archive, as `gongkai token create`
/// does, and returns the token's text once gateways honour it.
pub async fn issue_token(running: &Running, name: &str, scopes: &[&str]) -> String {
    let archive = gongkai_archive::Archive::connect(running.db.url())
        .await
        .unwrap();
    let token = gongkai_auth::Token::generate().unwrap();
    archive
        .create_token(&gongkai_archive::NewToken {
            name: name.to_owned(),
            token_sha256: token.sha256(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            actor: "test".to_owned(),
        })
        .await
        .unwrap();
    archive.close().await;
    // A gateway honours a new token once its snapshot of the tokens is older than this.
    tokio::time::sleep(gongkai_gateway::MISS_RELOAD_AFTER).await;
    token.expose().to_owned()
}

/// `message` as a request carrying `authorization: Bearer <token>`.
pub fn authorized<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// A second gateway on the same database, broker and blob directory as `first` (another
/// replica), on its own port; stopped when the returned sender is dropped or sent to.
pub async fn start_replica(first: &Running) -> (SocketAddr, oneshot::Sender<()>) {
    let gateway = Gateway::connect(first.config.clone()).await.unwrap();
    let listener = gongkai_gateway::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(gateway.serve_on(listener, async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// A client of the gateway at `addr` (plain text).
pub async fn client_at(addr: SocketAddr) -> ReportServiceClient<Channel> {
    ReportServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX)
}

/// The three workers on the gateway's vhost, database and blob store until the sender drops
/// or sends.
pub fn start_workers(
    gw: &Running,
) -> (
    tokio::sync::watch::Sender<bool>,
    Vec<tokio::task::JoinHandle<()>>,
) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut config =
        gongkai_workers::WorkerConfig::new(&gw.vhost.url, gw.db.url(), &gw.config.blob_store);
    config.drain_timeout = std::time::Duration::from_secs(10);
    let mut tasks = Vec::new();
    for stage in gongkai_queue::Stage::ALL {
        let config = config.clone();
        let mut stopped = stopped.clone();
        tasks.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            gongkai_workers::run_worker(stage, config, shutdown)
                .await
                .unwrap();
        }));
    }
    (stop, tasks)
}
