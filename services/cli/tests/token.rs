//! `gongkai token` and `gongkai audit` as an operator runs them, against `gongkai up` with
//! AUTH=required on a vhost and a database of their own: a token is printed once and works,
//! the CLI presents it with `--token` / `GONGKAI_TOKEN`, a call without one is refused, a
//! revoked one stops working, and every change is in the audit log.

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used)]

mod common;

use common::{free_port, services_available};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn gongkai(database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gongkai"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("USER", "admin-1")
        .env_remove("GONGKAI_TOKEN")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn tokens_are_issued_presented_revoked_and_audited() {
    if !services_available() {
        return;
    }
    let vhost = gongkai_queue::testkit::TestVhost::create("cli-token").unwrap();
    let db = gongkai_archive::testing::TestDatabase::new("cli_token");
    let blobs = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = format!("http://127.0.0.1:{port}");
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../samples/yunxi-2024.md");

    // Issued before the gateway runs: the token command needs only the database.
    let created = gongkai(
        db.url(),
        &[
            "token",
            "create",
            "--name",
            "crawler-1",
            "--scopes",
            "submit,read",
        ],
    );
    assert!(created.status.success(), "{}", text(&created));
    let token = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("gk_"), "{token}");
    let refused = gongkai(
        db.url(),
        &["token", "create", "--name", "crawler-1", "--scopes", "read"],
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("already active"),
        "{}",
        text(&refused)
    );
    let bad_scope = gongkai(
        db.url(),
        &["token", "create", "--name", "x", "--scopes", "write"],
    );
    assert!(!bad_scope.status.success());
    assert!(
        text(&bad_scope).contains("unknown scope"),
        "{}",
        text(&bad_scope)
    );

    let listed = gongkai(db.url(), &["token", "list", "--json"]);
    let listing = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(listing.contains("\"crawler-1\""), "{listing}");
    assert!(
        listing.contains("\"created_by\":\"cli:admin-1\""),
        "{listing}"
    );
    assert!(
        !listing.contains(&token),
        "the token itself is never listed"
    );

    let mut up = Command::new(env!("CARGO_BIN_EXE_gongkai"))
        .arg("up")
        .env("AMQP_URL", &vhost.url)
        .env("DATABASE_URL", db.url())
        .env("BLOB_STORE", blobs.path())
        .env("GRPC_ADDR", format!("127.0.0.1:{port}"))
        .env("AUTH", "required")
        .env("METRICS_ADDR", "off")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(up.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert!(ready.starts_with("gongkai up: ready"), "{ready:?}");

    let anonymous = gongkai(db.url(), &["list", "--server", &server]);
    assert_eq!(anonymous.status.code(), Some(2), "{}", text(&anonymous));
    assert!(
        text(&anonymous).contains("Unauthenticated") || text(&anonymous).contains("no token"),
        "{}",
        text(&anonymous)
    );
    let submitted = Command::new(env!("CARGO_BIN_EXE_gongkai"))
        .args(["submit", "--wait", "--server", &server])
        .arg(&sample)
        .env("GONGKAI_TOKEN", &token)
        .output()
        .unwrap();
    assert!(submitted.status.success(), "{}", text(&submitted));
    assert!(
        text(&submitted).contains("ARCHIVED"),
        "{}",
        text(&submitted)
    );
    let listed = gongkai(db.url(), &["list", "--server", &server, "--token", &token]);
    assert!(listed.status.success(), "{}", text(&listed));

    let revoked = gongkai(db.url(), &["token", "revoke", "crawler-1"]);
    assert!(revoked.status.success(), "{}", text(&revoked));
    let revoked_at = Instant::now();
    loop {
        let listed = gongkai(db.url(), &["list", "--server", &server, "--token", &token]);
        if !listed.status.success() {
            assert!(text(&listed).contains("revoked"), "{}", text(&listed));
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(5),
            "the revoked token still works after {:?}",
            revoked_at.elapsed()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let again = gongkai(db.url(), &["token", "revoke", "crawler-1"]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));

    let audit = gongkai(db.url(), &["audit", "--json"]);
    let entries: Vec<serde_json::Value> = String::from_utf8_lossy(&audit.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["token.revoke", "token.create"], "{entries:?}");
    assert!(entries.iter().all(|e| e["actor"] == "cli:admin-1"));
    assert!(entries.iter().all(|e| e["subject"] == "crawler-1"));

    let killed = Command::new("kill")
        .args(["-TERM", &up.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while up.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "gongkai up did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
}
