//! What the CLI's service tests share: whether the local broker and database are there, and a
//! free port for a gateway of their own.
#![allow(dead_code)]

/// True when RabbitMQ and PostgreSQL answer. A missing broker or database fails the run (CI
/// starts both), unless the person running the tests asked explicitly to leave the service
/// tests out.
pub fn services_available() -> bool {
    let up = std::net::TcpStream::connect("127.0.0.1:5672").is_ok()
        && std::net::TcpStream::connect("127.0.0.1:5432").is_ok();
    if up {
        return true;
    }
    assert!(
        std::env::var_os("GONGKAI_SKIP_SERVICE_TESTS").is_some(),
        "RabbitMQ (127.0.0.1:5672) or PostgreSQL (127.0.0.1:5432) is not running: start them \
         (see README.md) or set GONGKAI_SKIP_SERVICE_TESTS=1 to skip the service tests"
    );
    eprintln!("skipping: GONGKAI_SKIP_SERVICE_TESTS is set");
    false
}

/// A local port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}
