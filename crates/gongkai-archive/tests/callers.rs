//! Caller tokens and the audit log against a real PostgreSQL: only the digest is stored, a name
//! has one active token, revocation is recorded, and an audit entry written inside a
//! transaction commits or rolls back with it.

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used)]

use gongkai_archive::testing::TestDatabase;
use gongkai_archive::{Archive, ArchiveError, AuditEntry, AuditQuery, NewToken, record_audit_in};

fn available() -> bool {
    if std::net::TcpStream::connect("127.0.0.1:5432").is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("GONGKAI_SKIP_SERVICE_TESTS").is_some(),
        "PostgreSQL (127.0.0.1:5432) is not running: start it or set GONGKAI_SKIP_SERVICE_TESTS=1"
    );
    false
}

fn token(name: &str, digest: char, scopes: &[&str]) -> NewToken {
    NewToken {
        name: name.to_owned(),
        token_sha256: digest.to_string().repeat(64),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        actor: "cli:admin".to_owned(),
    }
}

#[tokio::test]
async fn tokens_have_one_active_per_name_and_every_change_is_audited() {
    if !available() {
        return;
    }
    let db = TestDatabase::new("archive_callers");
    let archive = Archive::connect(db.url()).await.unwrap();

    archive
        .create_token(&token("crawler", 'a', &["submit", "read"]))
        .await
        .unwrap();
    let twice = archive
        .create_token(&token("crawler", 'b', &["read"]))
        .await
        .unwrap_err();
    assert!(matches!(twice, ArchiveError::InvalidArgument(ref m) if m.contains("already active")));
    let unknown_scope = archive
        .create_token(&token("other", 'c', &["write"]))
        .await
        .unwrap_err();
    assert!(
        matches!(unknown_scope, ArchiveError::InvalidArgument(ref m) if m.contains("scopes")),
        "{unknown_scope}"
    );

    let active = archive.active_tokens().await.unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].token_sha256, "a".repeat(64));
    assert_eq!(active[0].scopes, ["submit", "read"]);

    assert!(archive.revoke_token("crawler", "cli:admin").await.unwrap());
    assert!(archive.active_tokens().await.unwrap().is_empty());
    // The name can be issued again once revoked; both stay listed.
    archive
        .create_token(&token("crawler", 'd', &["read"]))
        .await
        .unwrap();
    let listed = archive.list_tokens().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed[0].revoked_at.is_none(), "active tokens first");
    assert_eq!(listed[1].revoked_by.as_deref(), Some("cli:admin"));

    let audit = archive
        .audit_log(&AuditQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["token.create", "token.revoke", "token.create"]);
    assert_eq!(audit[2].detail["scopes"][1], "read");

    // An entry written inside a transaction that rolls back is gone with it.
    let entry = AuditEntry {
        actor: "reviewer-1".to_owned(),
        action: "report.correct".to_owned(),
        subject: Some("0190c0de-0000-7000-8000-000000000000".to_owned()),
        detail: serde_json::json!({ "cells": 1 }),
    };
    let mut tx = archive.pool().begin().await.unwrap();
    record_audit_in(&mut tx, &entry).await.unwrap();
    tx.rollback().await.unwrap();
    let mut tx = archive.pool().begin().await.unwrap();
    record_audit_in(&mut tx, &entry).await.unwrap();
    tx.commit().await.unwrap();
    let corrections = archive
        .audit_log(&AuditQuery {
            action: Some("report.correct".to_owned()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(corrections.len(), 1);
    assert_eq!(corrections[0].actor, "reviewer-1");
    let older = archive
        .audit_log(&AuditQuery {
            before_seq: Some(corrections[0].seq),
            actor: Some("cli:admin".to_owned()),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(older.len(), 1);
    assert_eq!(older[0].action, "token.create");
    archive.close().await;
}
