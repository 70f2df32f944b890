//! `gongkai token create|list|revoke` and `gongkai audit`: the administrator's tools for the
//! known callers of archive.md §7. Like `gongkai dlq`, which talks to RabbitMQ, they talk to
//! the archive's PostgreSQL directly (`DATABASE_URL`) rather than through the gateway: whoever
//! may change the database is an administrator already, there is no first token to bootstrap,
//! and no token, however privileged, can mint others through the gateway. Every change is in
//! the audit log under `--actor` (default: the operating-system user).

use anyhow::{Context, bail};
use gongkai_archive::{Archive, AuditQuery, NewToken};
use std::process::ExitCode;

/// The archive an admin command works on, and who is acting.
#[derive(Clone, clap::Args)]
pub struct AdminArgs {
    /// The PostgreSQL archive.
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/gongkai",
        hide_env_values = true
    )]
    pub database_url: String,
    /// Who is acting, recorded in the audit log (default: `cli:` and the user name).
    #[arg(long, global = true)]
    pub actor: Option<String>,
}

impl AdminArgs {
    /// `--actor`, else `cli:$USER`.
    pub fn actor(&self) -> String {
        self.actor.clone().unwrap_or_else(|| {
            let user = std::env::var("USER")
                .or_else(|_| std::env::var("USERNAME"))
                .unwrap_or_else(|_| "unknown".to_owned());
            format!("cli:{user}")
        })
    }

    pub async fn archive(&self) -> anyhow::Result<Archive> {
        Archive::connect_with_pool_size(&self.database_url, 2)
            .await
            .with_context(|| {
                format!(
                    "cannot open the archive at {}",
                    gongkai_archive::redact_url(&self.database_url)
                )
            })
    }
}

#[derive(clap::Args)]
pub struct TokenArgs {
    #[command(flatten)]
    admin: AdminArgs,
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(clap::Subcommand)]
enum TokenCommand {
    /// 签发令牌 / issue a token (printed once; only its hash is kept).
    Create {
        /// The caller's name: its identity, and the `source_system` of its submissions.
        #[arg(long)]
        name: String,
        /// Some of submit, read, review, admin, comma-separated.
        #[arg(long)]
        scopes: String,
    },
    /// 列出令牌 / list the tokens (names, scopes, who issued and revoked them; never the
    /// tokens themselves).
    List {
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// 吊销令牌 / revoke the active token of a caller (in force on every gateway within 5 s).
    Revoke {
        /// The caller's name.
        name: String,
    },
}

#[derive(clap::Args)]
pub struct AuditArgs {
    #[command(flatten)]
    admin: AdminArgs,
    /// Only this action (`token.create`, `token.revoke`, `dlq.redrive`, …).
    #[arg(long)]
    action: Option<String>,
    /// Only this actor.
    #[arg(long = "by")]
    by: Option<String>,
    /// At most this many entries, newest first.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Entries older than this sequence number (to page back).
    #[arg(long)]
    before: Option<i64>,
    /// JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn run_token(args: TokenArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(token(args))
}

pub fn run_audit(args: AuditArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(audit(args))
}

async fn token(args: TokenArgs) -> anyhow::Result<ExitCode> {
    let archive = args.admin.archive().await?;
    let result = match args.command {
        TokenCommand::Create { name, scopes } => create(&archive, &args.admin, name, &scopes).await,
        TokenCommand::List { json } => list(&archive, json).await,
        TokenCommand::Revoke { name } => revoke(&archive, &args.admin, &name).await,
    };
    archive.close().await;
    result
}

async fn create(
    archive: &Archive,
    admin: &AdminArgs,
    name: String,
    scopes: &str,
) -> anyhow::Result<ExitCode> {
    if !gongkai_auth::valid_token_name(&name) {
        bail!(
            "the name {name:?} cannot name a caller: 1–64 characters, no control characters, \
             no spaces at either end"
        );
    }
    let scopes = gongkai_auth::parse_scopes(scopes)?;
    let token = gongkai_auth::Token::generate()?;
    let record = archive
        .create_token(&NewToken {
            name,
            token_sha256: token.sha256(),
            scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            actor: admin.actor(),
        })
        .await?;
    eprintln!(
        "令牌已签发 / token issued for {:?} with scopes {}; it is shown only this once:",
        record.name,
        record.scopes.join(",")
    );
    println!("{}", token.expose());
    Ok(ExitCode::SUCCESS)
}

async fn list(archive: &Archive, json: bool) -> anyhow::Result<ExitCode> {
    let tokens = archive.list_tokens().await?;
    if json {
        for token in &tokens {
            println!(
                "{}",
                serde_json::json!({
                    "name": token.name,
                    "scopes": token.scopes,
                    "created_at": token.created_at.to_rfc3339(),
                    "created_by": token.created_by,
                    "revoked_at": token.revoked_at.map(|t| t.to_rfc3339()),
                    "revoked_by": token.revoked_by,
                })
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if tokens.is_empty() {
        println!("没有令牌 / no tokens");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "名称/name             权限/scopes                 签发/issued                    状态/state"
    );
    for token in &tokens {
        let state = match (&token.revoked_at, &token.revoked_by) {
            (Some(at), Some(by)) => format!("revoked {} by {by}", at.format("%Y-%m-%d %H:%M")),
            _ => "active".to_owned(),
        };
        println!(
            "{:<20} {:<27} {} by {:<12} {state}",
            token.name,
            token.scopes.join(","),
            token.created_at.format("%Y-%m-%d %H:%M"),
            token.created_by,
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn revoke(archive: &Archive, admin: &AdminArgs, name: &str) -> anyhow::Result<ExitCode> {
    if archive.revoke_token(name, &admin.actor()).await? {
        println!(
            "已吊销 / revoked the token of {name:?}; every gateway refuses it within {} s",
            gongkai_gateway::MAX_TOKEN_AGE.as_secs()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("没有该名称的有效令牌 / no active token is named {name:?}");
        Ok(ExitCode::from(1))
    }
}

async fn audit(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let archive = args.admin.archive().await?;
    let entries = archive
        .audit_log(&AuditQuery {
            action: args.action.clone(),
            actor: args.by.clone(),
            before_seq: args.before,
            limit: args.limit,
        })
        .await;
    archive.close().await;
    let entries = entries?;
    for entry in &entries {
        if args.json {
            println!(
                "{}",
                serde_json::json!({
                    "seq": entry.seq,
                    "at": entry.at.to_rfc3339(),
                    "actor": entry.actor,
                    "action": entry.action,
                    "subject": entry.subject,
                    "detail": entry.detail,
                })
            );
        } else {
            println!(
                "{:>6}  {}  {:<16} {:<20} {:<24} {}",
                entry.seq,
                entry.at.format("%Y-%m-%d %H:%M:%S"),
                entry.actor,
                entry.action,
                entry.subject.as_deref().unwrap_or("-"),
                entry.detail
            );
        }
    }
    if entries.is_empty() && !args.json {
        println!("审计记录为空 / no audit entries");
    }
    Ok(ExitCode::SUCCESS)
}
