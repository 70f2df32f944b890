//! A gateway of its own for each test: a fresh RabbitMQ vhost, a fresh PostgreSQL database and a
//! temporary blob directory, served in-process on a free port.

#![allow(dead_code)]

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
    if !(broker && database) {
        eprintln!("skipping: RabbitMQ (5672) or PostgreSQL (5432) is not running locally");
    }
    broker && database
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
    }
}
