//! Test helpers (feature `testkit`): a throw-away RabbitMQ vhost per test, created and deleted
//! with `rabbitmqctl`, and closing the connections of one vhost to simulate a broker-side
//! disconnect without disturbing anyone else's vhost.

use std::process::Command;

/// The broker the tests use (guest/guest on the local RabbitMQ); `GONGKAI_TEST_AMQP_BASE`
/// overrides the `amqp://user:pass@host:port` part.
fn base() -> String {
    std::env::var("GONGKAI_TEST_AMQP_BASE")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672".to_owned())
}

fn rabbitmqctl(args: &[&str]) -> Result<String, String> {
    let output = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run rabbitmqctl {args:?}: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "rabbitmqctl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// A vhost of its own, deleted (with everything in it) when dropped.
#[derive(Debug)]
pub struct TestVhost {
    pub name: String,
    /// The AMQP URL of the vhost.
    pub url: String,
}

impl TestVhost {
    /// Creates `gongkai-test-<label>-<random>` and gives guest every permission on it.
    pub fn create(label: &str) -> Result<TestVhost, String> {
        let name = format!("gongkai-test-{label}-{}", uuid::Uuid::new_v4().simple());
        rabbitmqctl(&["add_vhost", &name])?;
        let vhost = TestVhost {
            url: format!("{}/{}", base(), name),
            name,
        };
        rabbitmqctl(&[
            "set_permissions",
            "-p",
            &vhost.name,
            "guest",
            ".*",
            ".*",
            ".*",
        ])?;
        Ok(vhost)
    }

    /// Closes every client connection to this vhost, as a broker restart would, and returns
    /// how many there were.
    pub fn close_connections(&self) -> Result<usize, String> {
        let listing = rabbitmqctl(&[
            "list_connections",
            "-q",
            "--no-table-headers",
            "vhost",
            "pid",
        ])?;
        let mut closed = 0;
        for line in listing.lines() {
            let mut fields = line.split('\t');
            let (Some(vhost), Some(pid)) = (fields.next(), fields.next()) else {
                continue;
            };
            if vhost.trim() == self.name {
                rabbitmqctl(&[
                    "close_connection",
                    pid.trim(),
                    "gongkai test: connection closed",
                ])?;
                closed += 1;
            }
        }
        Ok(closed)
    }
}

impl TestVhost {
    /// Refuses new connections to this vhost (`Some(0)`), or lifts the limit (`None`): with
    /// [`TestVhost::close_connections`], a broker that is away for as long as a test wants.
    pub fn limit_connections(&self, limit: Option<u32>) -> Result<(), String> {
        let value = limit.map_or(-1, i64::from);
        let definition = format!("{{\"max-connections\": {value}}}");
        rabbitmqctl(&["set_vhost_limits", "-p", &self.name, &definition])?;
        Ok(())
    }
}

impl Drop for TestVhost {
    fn drop(&mut self) {
        if let Err(error) = rabbitmqctl(&["delete_vhost", &self.name]) {
            eprintln!("cannot delete the test vhost {}: {error}", self.name);
        }
    }
}
