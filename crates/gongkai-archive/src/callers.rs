//! Known callers and the audit log (archive.md §7): caller tokens, kept as the SHA-256 of the
//! token only, and the append-only record of who changed what.
//!
//! Every audited write of the archive (token changes, corrections, dispositions, re-validation
//! plans, batch retries, agency aliases) appends its entry with [`record_audit_in`] inside its
//! own transaction, so a change never commits without its record nor a record without its
//! change. [`Archive::record_audit`] is for acts outside the database (a DLQ redrive).

use crate::Archive;
use crate::error::{ArchiveError, Result};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// A token to store: its name, the SHA-256 of its text, its scopes (the words of §7).
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub token_sha256: String,
    pub scopes: Vec<String>,
    /// Who issues it, for the audit log.
    pub actor: String,
}

/// A stored token, as `gongkai token list` shows it (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub token_id: i64,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
}

/// What the gateway needs of an active token: the digest it looks up, who it is, what it may.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveToken {
    pub token_sha256: String,
    pub name: String,
    pub scopes: Vec<String>,
}

/// One entry to append to the audit log. `action` is a dotted word (`token.create`,
/// `token.revoke`, `dlq.redrive`, `report.correct`, `finding.disposition`,
/// `reports.revalidate`, `batch.retry`, `agency.alias`); `subject` what it acted on.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub actor: String,
    pub action: String,
    pub subject: Option<String>,
    pub detail: serde_json::Value,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject: Option<String>,
    pub detail: serde_json::Value,
}

/// Which audit entries to read: newest first, at most `limit` (1–1000), before `before_seq`.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub before_seq: Option<i64>,
    pub limit: u32,
}

/// Appends `entry` to the audit log on `connection`, inside the caller's transaction, so the
/// record commits (or rolls back) with the change it describes.
pub async fn record_audit_in(connection: &mut PgConnection, entry: &AuditEntry) -> Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO audit_log (actor, action, subject, detail) VALUES ($1, $2, $3, $4) \
         RETURNING seq",
    )
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.subject)
    .bind(&entry.detail)
    .fetch_one(connection)
    .await
    .map_err(ArchiveError::db("recording an audit entry"))
}

impl Archive {
    /// Stores a new token and audits it (`token.create`). A name with an active token is
    /// refused ([`ArchiveError::InvalidArgument`]): revoke it first.
    pub async fn create_token(&self, token: &NewToken) -> Result<TokenRecord> {
        const CONTEXT: &str = "creating a caller token";
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
        let row: Option<(i64, DateTime<Utc>)> = sqlx::query_as(
            "INSERT INTO caller_tokens (name, token_sha256, scopes, created_by) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING token_id, created_at",
        )
        .bind(&token.name)
        .bind(&token.token_sha256)
        .bind(&token.scopes)
        .bind(&token.actor)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| match &e {
            // 23514 check_violation: a scope that is not one of §7's words.
            sqlx::Error::Database(db) if db.code().as_deref() == Some("23514") => {
                ArchiveError::InvalidArgument(format!(
                    "scopes {:?} must be some of submit, read, review, admin",
                    token.scopes
                ))
            }
            _ => ArchiveError::db(CONTEXT)(e),
        })?;
        let Some((token_id, created_at)) = row else {
            return Err(ArchiveError::InvalidArgument(format!(
                "a token named {:?} is already active; revoke it first",
                token.name
            )));
        };
        record_audit_in(
            &mut tx,
            &AuditEntry {
                actor: token.actor.clone(),
                action: "token.create".to_owned(),
                subject: Some(token.name.clone()),
                detail: serde_json::json!({ "token_id": token_id, "scopes": token.scopes }),
            },
        )
        .await?;
        tx.commit().await.map_err(ArchiveError::db(CONTEXT))?;
        Ok(TokenRecord {
            token_id,
            name: token.name.clone(),
            scopes: token.scopes.clone(),
            created_at,
            created_by: token.actor.clone(),
            revoked_at: None,
            revoked_by: None,
        })
    }

    /// Revokes the active token named `name` and audits it (`token.revoke`); false when there
    /// is none. Gateways stop honouring it within their refresh interval.
    pub async fn revoke_token(&self, name: &str, actor: &str) -> Result<bool> {
        const CONTEXT: &str = "revoking a caller token";
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
        let revoked: Option<i64> = sqlx::query_scalar(
            "UPDATE caller_tokens SET revoked_at = now(), revoked_by = $2 \
             WHERE name = $1 AND revoked_at IS NULL RETURNING token_id",
        )
        .bind(name)
        .bind(actor)
        .fetch_optional(&mut *tx)
        .await
        .map_err(ArchiveError::db(CONTEXT))?;
        let Some(token_id) = revoked else {
            return Ok(false);
        };
        record_audit_in(
            &mut tx,
            &AuditEntry {
                actor: actor.to_owned(),
                action: "token.revoke".to_owned(),
                subject: Some(name.to_owned()),
                detail: serde_json::json!({ "token_id": token_id }),
            },
        )
        .await?;
        tx.commit().await.map_err(ArchiveError::db(CONTEXT))?;
        Ok(true)
    }

    /// Every token ever issued, active ones first, then by name and issue time.
    pub async fn list_tokens(&self) -> Result<Vec<TokenRecord>> {
        type Row = (
            i64,
            String,
            Vec<String>,
            DateTime<Utc>,
            String,
            Option<DateTime<Utc>>,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT token_id, name, scopes, created_at, created_by, revoked_at, revoked_by \
             FROM caller_tokens ORDER BY revoked_at IS NOT NULL, name, token_id",
        )
        .fetch_all(self.pool())
        .await
        .map_err(ArchiveError::db("listing caller tokens"))?;
        Ok(rows
            .into_iter()
            .map(
                |(token_id, name, scopes, created_at, created_by, revoked_at, revoked_by)| {
                    TokenRecord {
                        token_id,
                        name,
                        scopes,
                        created_at,
                        created_by,
                        revoked_at,
                        revoked_by,
                    }
                },
            )
            .collect())
    }

    /// The active tokens, for the gateway's token cache (a few hundred rows at most).
    pub async fn active_tokens(&self) -> Result<Vec<ActiveToken>> {
        let rows: Vec<(String, String, Vec<String>)> = sqlx::query_as(
            "SELECT token_sha256, name, scopes FROM caller_tokens WHERE revoked_at IS NULL",
        )
        .fetch_all(self.pool())
        .await
        .map_err(ArchiveError::db("reading the active caller tokens"))?;
        Ok(rows
            .into_iter()
            .map(|(token_sha256, name, scopes)| ActiveToken {
                token_sha256,
                name,
                scopes,
            })
            .collect())
    }

    /// Appends `entry` to the audit log on its own (see [`record_audit_in`] for a write that
    /// has a transaction).
    pub async fn record_audit(&self, entry: &AuditEntry) -> Result<i64> {
        let mut connection = self
            .pool()
            .acquire()
            .await
            .map_err(ArchiveError::db("recording an audit entry"))?;
        record_audit_in(&mut connection, entry).await
    }

    /// Audit entries, newest first.
    pub async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        let limit = i64::from(query.limit.clamp(1, 1000));
        type Row = (
            i64,
            DateTime<Utc>,
            String,
            String,
            Option<String>,
            serde_json::Value,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT seq, at, actor, action, subject, detail FROM audit_log \
             WHERE ($1::text IS NULL OR action = $1) AND ($2::text IS NULL OR actor = $2) \
               AND ($3::bigint IS NULL OR seq < $3) \
             ORDER BY seq DESC LIMIT $4",
        )
        .bind(&query.action)
        .bind(&query.actor)
        .bind(query.before_seq)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(ArchiveError::db("reading the audit log"))?;
        Ok(rows
            .into_iter()
            .map(|(seq, at, actor, action, subject, detail)| AuditRecord {
                seq,
                at,
                actor,
                action,
                subject,
                detail,
            })
            .collect())
    }
}
