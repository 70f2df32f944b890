//! An error and its causes as one line, each cause named once.
//!
//! gongkai's own error types never repeat their source in their message (the source is
//! reachable through `source()`), so that printing the chain does not print a cause twice.
//! Foreign errors do not all follow that rule (lapin's `IO error: {e}` also returns `e` as its
//! source); [`error_chain`] leaves out a cause whose message the previous one already
//! contains, so that `gongkai up` without a broker says "Connection refused" once.

use std::error::Error;

/// `error: cause: cause of the cause…`, each distinct message once.
pub fn error_chain(error: &(dyn Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut previous = line.clone();
    let mut cause = error.source();
    while let Some(e) = cause {
        let message = e.to_string();
        if !message.is_empty() && !previous.contains(&message) {
            line.push_str(": ");
            line.push_str(&message);
        }
        previous = message;
        cause = e.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A foreign error that repeats its source in its message, as lapin's IO errors do.
    #[derive(Debug, thiserror::Error)]
    #[error("IO error: {0}")]
    struct Repeating(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("cannot connect to the AMQP broker at {url}")]
    struct Connect {
        url: &'static str,
        #[source]
        source: Repeating,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("cannot connect to the broker")]
    struct Gateway(#[source] Connect);

    #[test]
    fn each_cause_is_named_once() {
        let refused =
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let error = Gateway(Connect {
            url: "amqp://127.0.0.1:1",
            source: Repeating(refused),
        });
        let line = error_chain(&error);
        assert_eq!(
            line,
            "cannot connect to the broker: cannot connect to the AMQP broker at amqp://127.0.0.1:1: IO error: Connection refused"
        );
        assert_eq!(line.matches("Connection refused").count(), 1);
    }

    #[test]
    fn an_error_without_a_source_is_its_message() {
        let e = std::io::Error::other("disk full");
        assert_eq!(error_chain(&e), "disk full");
    }
}
