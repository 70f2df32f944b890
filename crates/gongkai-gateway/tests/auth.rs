//! Only known callers (archive.md §7), against the local RabbitMQ and PostgreSQL: every method
//! without a token, with a token lacking its scope and with the right one; submissions recorded
//! under the token's name; a revoked token refused by another replica within 5 seconds; TLS
//! with and without client certificates.

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used)]

mod common;

use common::{authorized, client_at, issue_token, request, services_available, start};
use futures::StreamExt;
use gongkai_gateway::AuthMode;
use gongkai_proto::ReportServiceClient;
use gongkai_proto::v1;
use std::time::{Duration, Instant};
use tonic::Code;
use tonic::transport::Channel;

/// Calls every method of `ReportService` with `token` (or none) and returns each call's
/// outcome code: OK, or the status it failed with.
async fn call_every_method(
    client: &mut ReportServiceClient<Channel>,
    token: Option<&str>,
    report_id: &str,
) -> Vec<(&'static str, Code)> {
    fn wrap<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
        match token {
            Some(token) => authorized(message, token),
            None => tonic::Request::new(message),
        }
    }
    fn code<T>(result: Result<T, tonic::Status>) -> Code {
        result.map_or_else(|status| status.code(), |_| Code::Ok)
    }
    let content = format!("report for {token:?} {}", uuid::Uuid::new_v4());
    let id = report_id.to_owned();
    vec![
        (
            "SubmitReport",
            code(
                client
                    .submit_report(wrap(request(content.as_bytes(), "a.txt"), token))
                    .await,
            ),
        ),
        (
            "SubmitReports",
            code(
                match client
                    .submit_reports(wrap(
                        futures::stream::iter(vec![request(
                            format!("{content} bulk").as_bytes(),
                            "b.txt",
                        )]),
                        token,
                    ))
                    .await
                {
                    Ok(response) => {
                        let items: Vec<_> = response.into_inner().collect().await;
                        items.into_iter().collect::<Result<Vec<_>, _>>().map(|_| ())
                    }
                    Err(status) => Err(status),
                },
            ),
        ),
        (
            "GetReport",
            code(
                client
                    .get_report(wrap(
                        v1::GetReportRequest {
                            report_id: id.clone(),
                        },
                        token,
                    ))
                    .await,
            ),
        ),
        (
            "WatchReport",
            code(
                client
                    .watch_report(wrap(
                        v1::WatchReportRequest {
                            report_id: id.clone(),
                        },
                        token,
                    ))
                    .await,
            ),
        ),
        (
            "ListReports",
            code(
                client
                    .list_reports(wrap(v1::ListReportsRequest::default(), token))
                    .await,
            ),
        ),
        (
            "GetDocument",
            code(
                client
                    .get_document(wrap(v1::GetDocumentRequest { report_id: id }, token))
                    .await,
            ),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_needs_a_known_token_with_its_scope() {
    if !services_available() {
        return;
    }
    let gw = start("auth_scopes", |c| c.auth = Some(AuthMode::Required)).await;
    let submitter = issue_token(&gw, "crawler-1", &["submit"]).await;
    let reader = issue_token(&gw, "portal", &["read"]).await;
    let both = issue_token(&gw, "loader", &["submit", "read"]).await;
    let mut client = gw.client().await;

    // A report to read.
    let first = client
        .submit_report(authorized(
            request(b"first report", "first.txt"),
            &submitter,
        ))
        .await
        .unwrap()
        .into_inner();

    let submit_methods = ["SubmitReport", "SubmitReports"];
    for (method, code) in call_every_method(&mut client, None, &first.report_id).await {
        assert_eq!(code, Code::Unauthenticated, "{method} without a token");
    }
    for (method, code) in
        call_every_method(&mut client, Some("gk_not_a_token"), &first.report_id).await
    {
        assert_eq!(
            code,
            Code::Unauthenticated,
            "{method} with an unknown token"
        );
    }
    for (method, code) in call_every_method(&mut client, Some(&submitter), &first.report_id).await {
        let expected = if submit_methods.contains(&method) {
            Code::Ok
        } else {
            Code::PermissionDenied
        };
        assert_eq!(code, expected, "{method} with a submit token");
    }
    for (method, code) in call_every_method(&mut client, Some(&reader), &first.report_id).await {
        let expected = if submit_methods.contains(&method) {
            Code::PermissionDenied
        } else {
            Code::Ok
        };
        assert_eq!(code, expected, "{method} with a read token");
    }
    for (method, code) in call_every_method(&mut client, Some(&both), &first.report_id).await {
        assert_eq!(code, Code::Ok, "{method} with a submit and read token");
    }

    // The refusal says what is wrong.
    let denied = client
        .list_reports(authorized(v1::ListReportsRequest::default(), &submitter))
        .await
        .unwrap_err();
    assert!(denied.message().contains("`read`"), "{denied:?}");
    assert!(denied.message().contains("crawler-1"), "{denied:?}");

    // A submission is recorded under its token's name, whatever source_system says.
    let mut claimed = request(b"claims to be someone else", "c.txt");
    claimed.source_system = "someone-else".to_owned();
    let submitted = client
        .submit_report(authorized(claimed, &submitter))
        .await
        .unwrap()
        .into_inner();
    let report = client
        .get_report(authorized(
            v1::GetReportRequest {
                report_id: submitted.report_id,
            },
            &reader,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(report.source.unwrap().source_system, "crawler-1");

    // Health and reflection need no token.
    let mut health = tonic_health::pb::health_client::HealthClient::new(gw.channel().await);
    health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .unwrap();
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused_by_another_replica_within_five_seconds() {
    if !services_available() {
        return;
    }
    let gw = start("auth_revoke", |c| c.auth = Some(AuthMode::Required)).await;
    let token = issue_token(&gw, "portal", &["read"]).await;
    let (replica, stop_replica) = common::start_replica(&gw).await;
    let mut first = gw.client().await;
    let mut second = client_at(replica).await;
    // Both replicas honour it (the second one loaded it at start, the first on a miss).
    for client in [&mut first, &mut second] {
        client
            .list_reports(authorized(v1::ListReportsRequest::default(), &token))
            .await
            .unwrap();
    }

    let archive = gongkai_archive::Archive::connect(gw.db.url())
        .await
        .unwrap();
    assert!(archive.revoke_token("portal", "test-admin").await.unwrap());
    let revoked_at = Instant::now();
    let refused_after = loop {
        let answer = second
            .list_reports(authorized(v1::ListReportsRequest::default(), &token))
            .await;
        match answer {
            Ok(_) => {
                assert!(
                    revoked_at.elapsed() <= gongkai_gateway::MAX_TOKEN_AGE,
                    "the revoked token is still honoured after {:?}",
                    revoked_at.elapsed()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
                break revoked_at.elapsed();
            }
        }
    };
    eprintln!("revocation in force on the second replica after {refused_after:?}");
    // Revoking again finds nothing; the revocation is in the audit log.
    assert!(!archive.revoke_token("portal", "test-admin").await.unwrap());
    let audit = archive
        .audit_log(&gongkai_archive::AuditQuery {
            action: Some("token.revoke".to_owned()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor, "test-admin");
    assert_eq!(audit[0].subject.as_deref(), Some("portal"));
    archive.close().await;
    let _ = stop_replica.send(());
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_is_required_by_default_beyond_loopback_only() {
    let mut config = gongkai_gateway::GatewayConfig::with_defaults("amqp://x", "postgres://x", "m");
    assert!(!config.auth_required());
    assert_eq!(config.submit_rate_per_caller(), None);
    config.grpc_addr = "0.0.0.0:50051".parse().unwrap();
    assert!(config.auth_required());
    assert_eq!(
        config.submit_rate_per_caller(),
        Some(gongkai_gateway::DEFAULT_SUBMIT_RATE)
    );
    config.auth = Some(AuthMode::Off);
    assert!(!config.auth_required());
    config.grpc_addr = "127.0.0.1:50051".parse().unwrap();
    config.auth = Some(AuthMode::Required);
    assert!(config.auth_required());
    config.submit_rate = Some("off".parse().unwrap());
    assert_eq!(config.submit_rate_per_caller(), None);
    assert!("0".parse::<gongkai_gateway::SubmitRate>().is_err());
    // The password of a connection URL never shows in the configuration's debug form.
    config.database_url = "postgres://gongkai:hunter2@db/gongkai".to_owned();
    config.amqp_url = "amqp://gongkai:hunter3@mq:5672/%2f".to_owned();
    let shown = format!("{config:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("hunter3"),
        "{shown}"
    );
}

/// A CA, a server certificate for `localhost` and 127.0.0.1 signed by it, and a client
/// certificate signed by it, as PEM files in a temporary directory.
struct TestPki {
    dir: tempfile::TempDir,
    ca_pem: String,
    client_cert_pem: String,
    client_key_pem: String,
}

impl TestPki {
    fn generate() -> TestPki {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "gongkai test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().unwrap();
        let server_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();

        let client_key = KeyPair::generate().unwrap();
        let mut client_params = CertificateParams::new(vec!["crawler-1".to_owned()]).unwrap();
        client_params
            .distinguished_name
            .push(DnType::CommonName, "crawler-1");
        let client_cert = client_params.signed_by(&client_key, &issuer).unwrap();

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.pem"), server_cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.key"), server_key.serialize_pem()).unwrap();
        TestPki {
            dir,
            ca_pem: ca_cert.pem(),
            client_cert_pem: client_cert.pem(),
            client_key_pem: client_key.serialize_pem(),
        }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    async fn client(
        &self,
        addr: std::net::SocketAddr,
        with_certificate: bool,
    ) -> Result<ReportServiceClient<Channel>, tonic::transport::Error> {
        let mut tls = tonic::transport::ClientTlsConfig::new()
            .ca_certificate(tonic::transport::Certificate::from_pem(&self.ca_pem))
            .domain_name("localhost");
        if with_certificate {
            tls = tls.identity(tonic::transport::Identity::from_pem(
                &self.client_cert_pem,
                &self.client_key_pem,
            ));
        }
        let channel = Channel::from_shared(format!("https://localhost:{}", addr.port()))
            .unwrap()
            .tls_config(tls)?
            .connect()
            .await?;
        Ok(ReportServiceClient::new(channel))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_encrypted_and_client_certificates_are_required_when_configured() {
    if !services_available() {
        return;
    }
    let pki = TestPki::generate();
    let gw = start("tls", |c| {
        c.tls_cert = Some(pki.path("server.pem"));
        c.tls_key = Some(pki.path("server.key"));
        c.auth = Some(AuthMode::Required);
    })
    .await;
    let token = issue_token(&gw, "portal", &["read"]).await;
    // Over TLS, with the token: served.
    let mut client = pki.client(gw.addr, false).await.unwrap();
    client
        .list_reports(authorized(v1::ListReportsRequest::default(), &token))
        .await
        .unwrap();
    // In plain text: no answer.
    let mut plain = client_at_lazily(gw.addr);
    let refused = plain
        .list_reports(authorized(v1::ListReportsRequest::default(), &token))
        .await
        .unwrap_err();
    assert_ne!(refused.code(), Code::Ok);
    gw.stop().await;

    // With a client CA: a client without a certificate is turned away at the handshake, one
    // with a certificate signed by that CA is served.
    let gw = start("mtls", |c| {
        c.tls_cert = Some(pki.path("server.pem"));
        c.tls_key = Some(pki.path("server.key"));
        c.tls_client_ca = Some(pki.path("ca.pem"));
    })
    .await;
    // (With TLS 1.3 the client may finish its side of the handshake first and learn of the
    // refusal on its first call: the server's CertificateRequired alert, or the connection
    // closed under it. Either way no call is served.)
    if let Ok(mut client) = pki.client(gw.addr, false).await {
        let refused = client
            .list_reports(v1::ListReportsRequest::default())
            .await
            .unwrap_err();
        assert!(
            matches!(
                refused.code(),
                Code::Unknown | Code::Unavailable | Code::Cancelled
            ),
            "{refused:?}"
        );
    }
    let mut client = pki.client(gw.addr, true).await.unwrap();
    client
        .list_reports(v1::ListReportsRequest::default())
        .await
        .unwrap();
    gw.stop().await;
}

/// A plain-text client that connects on first use (a TLS server fails the call, not this).
fn client_at_lazily(addr: std::net::SocketAddr) -> ReportServiceClient<Channel> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(5))
        .connect_lazy();
    ReportServiceClient::new(channel)
}
