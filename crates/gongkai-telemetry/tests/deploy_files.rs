//! The files in `deploy/`: `deploy/check.sh` (schemas, compose, Kubernetes, cross-checks against
//! the code) passes, and the RabbitMQ definitions file, loaded into a real broker, is the very
//! topology the services declare — a service redeclaring it with different arguments would get
//! PRECONDITION_FAILED, so a mismatch fails here.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failure is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

#[test]
fn deploy_check_script_passes() {
    let output = Command::new("bash")
        .arg(deploy_dir().join("check.sh"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "deploy/check.sh failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

fn rabbitmqctl(args: &[&str]) -> std::process::Output {
    Command::new("rabbitmqctl").args(args).output().unwrap()
}

/// Loads the definitions into a fresh vhost (users and permissions left out: they are global)
/// after `edit` has had its way with them; returns the vhost name.
fn import_into_new_vhost(edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let vhost = format!("gongkai-test-deploy-{}", uuid::Uuid::new_v4().simple());
    let text = std::fs::read_to_string(deploy_dir().join("rabbitmq/definitions.json")).unwrap();
    let mut definitions: serde_json::Value = serde_json::from_str(&text).unwrap();
    definitions["users"] = serde_json::json!([]);
    definitions["permissions"] = serde_json::json!([]);
    definitions["vhosts"] = serde_json::json!([{ "name": vhost }]);
    for section in ["exchanges", "queues", "bindings"] {
        for item in definitions[section].as_array_mut().unwrap() {
            item["vhost"] = serde_json::json!(vhost);
        }
    }
    edit(&mut definitions);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), definitions.to_string()).unwrap();
    // The broker runs as its own user and reads the file itself.
    std::fs::set_permissions(
        file.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let imported = rabbitmqctl(&["import_definitions", file.path().to_str().unwrap()]);
    assert!(imported.status.success(), "{imported:?}");
    let permitted = rabbitmqctl(&["set_permissions", "-p", &vhost, "guest", ".*", ".*", ".*"]);
    assert!(permitted.status.success(), "{permitted:?}");
    vhost
}

struct Vhost(String);

impl Drop for Vhost {
    fn drop(&mut self) {
        let _ = rabbitmqctl(&["delete_vhost", &self.0]);
    }
}

fn url(vhost: &str) -> String {
    format!("amqp://guest:guest@127.0.0.1:5672/{vhost}")
}

#[tokio::test]
async fn the_definitions_file_is_the_topology_the_services_declare() {
    let vhost = Vhost(import_into_new_vhost(|_| {}));
    let listed = rabbitmqctl(&[
        "list_queues",
        "-q",
        "--no-table-headers",
        "-p",
        &vhost.0,
        "name",
    ]);
    let mut queues: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(|line| line.trim().to_owned())
        .filter(|line| !line.is_empty())
        .collect();
    queues.sort();
    let mut expected = Vec::new();
    for stage in gongkai_queue::Stage::ALL {
        expected.extend([
            stage.queue(),
            stage.dead_letter_queue(),
            stage.retry_queue(),
        ]);
    }
    expected.sort();
    assert_eq!(queues, expected);

    // Connecting declares the whole topology with the services' arguments.
    let broker = gongkai_queue::Broker::connect(&url(&vhost.0), "deploy-definitions-test")
        .await
        .unwrap_or_else(|error| panic!("the services cannot declare over the file: {error}"));
    broker.close().await;

    // The same check catches a difference: one argument changed in the file.
    let changed = Vhost(import_into_new_vhost(|definitions| {
        for queue in definitions["queues"].as_array_mut().unwrap() {
            if queue["name"] == "gongkai.parse" {
                queue["arguments"]["x-delivery-limit"] = serde_json::json!(3);
            }
        }
    }));
    assert!(
        gongkai_queue::Broker::connect(&url(&changed.0), "deploy-definitions-test")
            .await
            .is_err(),
        "a queue argument that differs from the code must be refused"
    );
}
