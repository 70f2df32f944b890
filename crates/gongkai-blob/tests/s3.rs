//! The blob store on S3-compatible storage: a real S3 API served by moto (`moto_server`, from
//! PyPI: `pip install 'moto[server]'`, which `.ci/run` installs), started by the test on a free
//! port, with the bucket and prefix given in the `BLOB_STORE` URL and the endpoint as an option.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use bytes::Bytes;
use futures::StreamExt;
use gongkai_blob::{BlobError, BlobStore, content_key, derived_key};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A moto S3 server of this test's own, stopped on drop.
struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_moto() -> Option<Moto> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let child = match Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(error) => {
            assert!(
                std::env::var_os("GONGKAI_SKIP_SERVICE_TESTS").is_some(),
                "moto_server cannot be started ({error}): install it with \
                 `pip install 'moto[server]'` or set GONGKAI_SKIP_SERVICE_TESTS=1"
            );
            eprintln!("skipping: GONGKAI_SKIP_SERVICE_TESTS is set and moto_server is missing");
            return None;
        }
    };
    let moto = Moto { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not start listening"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(moto)
}

fn create_bucket(moto: &Moto, bucket: &str) {
    let status = Command::new("curl")
        .args([
            "-sf",
            "-X",
            "PUT",
            &format!("http://127.0.0.1:{}/{bucket}", moto.port),
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "cannot create bucket {bucket}");
}

#[tokio::test]
async fn reports_and_artefacts_round_trip_through_s3() {
    let Some(moto) = start_moto() else { return };
    create_bucket(&moto, "gongkai-test");
    let spec = format!(
        "s3://gongkai-test/archive/blobs?endpoint=http://127.0.0.1:{}&allow_http=true\
         &region=us-east-1&access_key_id=test&secret_access_key=test",
        moto.port
    );
    let store = BlobStore::open(&spec).unwrap();

    let content = Bytes::from("清河市云溪区人民政府2023年政府信息公开工作年度报告".as_bytes());
    let first = store.put_content(content.clone()).await.unwrap();
    assert!(first.newly_written);
    assert_eq!(first.key, content_key(&first.sha256));
    let again = store.put_content(content.clone()).await.unwrap();
    assert!(!again.newly_written, "the same bytes are stored once");
    assert_eq!(store.get(&first.key).await.unwrap(), content);
    assert!(store.exists(&first.key).await.unwrap());

    let streamed: Vec<u8> = store
        .get_stream(&first.key)
        .await
        .unwrap()
        .map(|chunk| chunk.unwrap())
        .collect::<Vec<_>>()
        .await
        .concat();
    assert_eq!(streamed, content.as_ref());

    let report = Uuid::now_v7();
    store
        .put_derived(report, "parsed.json", Bytes::from_static(b"{\"report\":1}"))
        .await
        .unwrap();
    assert_eq!(
        store
            .get(&derived_key(report, "parsed.json"))
            .await
            .unwrap()
            .as_ref(),
        b"{\"report\":1}"
    );

    // The keys live under the prefix of the URL: another store on the same prefix sees them,
    // a store on another prefix of the same bucket does not.
    let same = BlobStore::open(&spec).unwrap();
    assert_eq!(same.get(&first.key).await.unwrap(), content);
    let other = BlobStore::open(&spec.replace("/archive/blobs?", "/elsewhere?")).unwrap();
    assert!(!other.exists(&first.key).await.unwrap());

    let missing = content_key(&"0".repeat(64));
    assert!(!store.exists(&missing).await.unwrap());
    assert!(matches!(
        store.get(&missing).await,
        Err(BlobError::NotFound { .. })
    ));
}

#[test]
fn unknown_s3_options_are_refused_by_name() {
    let error = BlobStore::open("s3://bucket?endpoint=http://x&colour=blue").unwrap_err();
    assert!(error.to_string().contains("colour"), "{error}");
}
