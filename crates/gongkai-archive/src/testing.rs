//! Support for integration tests against a real PostgreSQL: a uniquely named database per
//! test, dropped (with its connections) when the handle goes out of scope, even when the test
//! panics. Used by this crate's tests and available to the crates built on the archive.
//!
//! The server is `GONGKAI_TEST_DATABASE_SERVER` (default `postgres://postgres@127.0.0.1:5432`,
//! the trust-auth server of the development machines and CI).

use crate::error::{ArchiveError, Result};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;
use uuid::Uuid;

/// The server URL without a database name.
pub fn server_url() -> String {
    std::env::var("GONGKAI_TEST_DATABASE_SERVER")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// A database name that is not in use yet; it is not created here ([`crate::Archive::connect`]
/// creates it). Dropped on drop.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
    /// A fresh name `<prefix>_<random>` (the prefix is reduced to `[a-z0-9_]`).
    pub fn new(prefix: &str) -> TestDatabase {
        let prefix: String = prefix
            .chars()
            .map(|c| c.to_ascii_lowercase())
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(30)
            .collect();
        let name = format!("{prefix}_{}", Uuid::new_v4().simple());
        let url = format!("{}/{name}", server_url().trim_end_matches('/'));
        TestDatabase { name, url }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `DATABASE_URL` of this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether the database exists on the server right now.
    pub async fn exists(&self) -> Result<bool> {
        let mut admin = admin_connection().await?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&self.name)
                .fetch_one(&mut admin)
                .await
                .map_err(ArchiveError::db("looking up a test database"))?;
        let _ = admin.close().await;
        Ok(exists)
    }
}

async fn admin_connection() -> Result<sqlx::PgConnection> {
    let options = PgConnectOptions::from_str(&server_url())
        .map_err(|e| ArchiveError::InvalidArgument(format!("test server URL: {e}")))?
        .database("postgres");
    options
        .connect()
        .await
        .map_err(ArchiveError::db("connecting to the test server"))
}

async fn drop_database(name: &str) -> Result<()> {
    let mut admin = admin_connection().await?;
    let statement = format!(
        "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
        name.replace('"', "\"\"")
    );
    sqlx::query(sqlx::AssertSqlSafe(statement))
        .execute(&mut admin)
        .await
        .map_err(ArchiveError::db("dropping a test database"))?;
    let _ = admin.close().await;
    Ok(())
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on: use a thread with
        // its own runtime.
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime
                .block_on(drop_database(&name))
                .map_err(|e| e.to_string())
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("could not drop test database {}: {error}", self.name),
            Err(_) => eprintln!("dropping test database {} panicked", self.name),
        }
    }
}

/// Records a submission of `name` with digest `sha256`, as the gateway would: a report
/// RECEIVED and still in the pipeline. Returns its id.
pub async fn submit_report(archive: &crate::Archive, sha256: &str, name: &str) -> Result<Uuid> {
    let submitted = archive
        .record_submission(&crate::NewSubmission {
            sha256: sha256.to_owned(),
            idempotency_key: None,
            filename: name.to_owned(),
            media_type: None,
            size_bytes: 1,
            blob_key: format!("sha256/{sha256}"),
            source_system: None,
            received_at: chrono::Utc::now(),
            batch: None,
        })
        .await?;
    Ok(submitted.report_id)
}

/// Records a submission of `name` with digest `sha256` and archives `checked` as its content,
/// as the pipeline would: a report in the archive, for tests of what the archive does with
/// archived reports. Returns its id.
pub async fn archive_report(
    archive: &crate::Archive,
    sha256: &str,
    name: &str,
    checked: &gongkai_model::CheckedReport,
) -> Result<Uuid> {
    let report_id = submit_report(archive, sha256, name).await?;
    archive
        .archive_checked(report_id, checked, crate::StageRun::now())
        .await?;
    Ok(report_id)
}
