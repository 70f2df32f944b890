//! Only known callers (archive.md §7): [`AuthLayer`] checks the bearer token of every request
//! but health and reflection against the archive's active tokens, refuses what it cannot
//! accept (UNAUTHENTICATED: no token, an unknown or revoked one; PERMISSION_DENIED: a token
//! without the method's scope) before any service code runs, and attaches the token's
//! [`Caller`] to the request for the services to read.
//!
//! Tokens are looked up in memory, in a [`TokenCache`] of the active tokens' digests that every
//! gateway replica reloads every [`REFRESH_INTERVAL`]. A grant is honoured only from a
//! snapshot younger than [`MAX_TOKEN_AGE`], so a revocation is in force on every replica within
//! that time, whatever happens to the refresh task: a snapshot that could not be reloaded makes
//! the gateway answer UNAVAILABLE rather than trust it. A token not in a snapshot older than
//! [`MISS_RELOAD_AFTER`] triggers one reload (shared by concurrent misses, at most one in that
//! time), so a new token is honoured within a quarter of a second and a flood of made-up
//! tokens costs the database at most four reads a second.

use crate::Caller;
use gongkai_archive::Archive;
use gongkai_auth::{Access, Scope};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tonic::Status;

/// How often each gateway reloads the active tokens.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(2);
/// The oldest snapshot of the tokens a grant is taken from: revocation is in force everywhere
/// within this time (archive.md §7 asks for 5 seconds).
pub const MAX_TOKEN_AGE: Duration = Duration::from_secs(5);
/// A token missing from a snapshot at least this old makes the gateway reload it.
pub const MISS_RELOAD_AFTER: Duration = Duration::from_millis(250);
/// How long one reload may take before the caller is told the archive is unavailable.
const RELOAD_TIMEOUT: Duration = Duration::from_secs(2);

/// What an active token may do.
#[derive(Debug)]
struct Grant {
    caller: Caller,
    scopes: Vec<Scope>,
}

struct Snapshot {
    /// By the token's SHA-256.
    grants: HashMap<String, Arc<Grant>>,
    loaded_at: Instant,
}

/// The active tokens of the archive, in memory. Cheap to clone; clones share the snapshot.
#[derive(Clone)]
pub struct TokenCache {
    inner: Arc<CacheInner>,
}

struct CacheInner {
    archive: Archive,
    snapshot: RwLock<Arc<Snapshot>>,
    /// Serialises reloads; holds when the last one was attempted.
    reload: tokio::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache").finish_non_exhaustive()
    }
}

impl TokenCache {
    /// Loads the active tokens of `archive`.
    pub async fn load(archive: Archive) -> gongkai_archive::Result<TokenCache> {
        let snapshot = read_snapshot(&archive).await?;
        Ok(TokenCache {
            inner: Arc::new(CacheInner {
                archive,
                snapshot: RwLock::new(Arc::new(snapshot)),
                reload: tokio::sync::Mutex::new(None),
            }),
        })
    }

    fn current(&self) -> Arc<Snapshot> {
        match self.inner.snapshot.read() {
            Ok(snapshot) => snapshot.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn replace(&self, snapshot: Snapshot) {
        let snapshot = Arc::new(snapshot);
        match self.inner.snapshot.write() {
            Ok(mut current) => *current = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
    }

    /// Reloads the snapshot (the periodic refresh).
    pub async fn reload(&self) -> gongkai_archive::Result<()> {
        let mut attempted = self.inner.reload.lock().await;
        *attempted = Some(Instant::now());
        let snapshot = read_snapshot(&self.inner.archive).await?;
        self.replace(snapshot);
        Ok(())
    }

    /// Reloads unless another caller just did (or just failed to): the reload a miss makes.
    async fn reload_for_miss(&self) -> Result<(), Status> {
        let mut attempted = self.inner.reload.lock().await;
        if self.current().loaded_at.elapsed() < MISS_RELOAD_AFTER {
            return Ok(());
        }
        if attempted.is_some_and(|at| at.elapsed() < MISS_RELOAD_AFTER) {
            return Err(unavailable("the last reload failed"));
        }
        *attempted = Some(Instant::now());
        match tokio::time::timeout(RELOAD_TIMEOUT, read_snapshot(&self.inner.archive)).await {
            Ok(Ok(snapshot)) => {
                self.replace(snapshot);
                Ok(())
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, "cannot reload the caller tokens");
                Err(unavailable(&error.to_string()))
            }
            Err(_) => Err(unavailable("the archive did not answer in time")),
        }
    }

    /// The grant of the token whose SHA-256 is `digest`, if it is active.
    async fn grant(&self, digest: &str) -> Result<Option<Arc<Grant>>, Status> {
        let snapshot = self.current();
        let age = snapshot.loaded_at.elapsed();
        if age < MAX_TOKEN_AGE {
            if let Some(grant) = snapshot.grants.get(digest) {
                return Ok(Some(grant.clone()));
            }
            if age < MISS_RELOAD_AFTER {
                return Ok(None);
            }
        }
        self.reload_for_miss().await?;
        let snapshot = self.current();
        if snapshot.loaded_at.elapsed() >= MAX_TOKEN_AGE {
            return Err(unavailable("the snapshot is too old"));
        }
        Ok(snapshot.grants.get(digest).cloned())
    }

    /// Who `authorization` names, if they may call a method that needs `scope`.
    pub(crate) async fn authorize(
        &self,
        authorization: Option<&[u8]>,
        scope: Scope,
    ) -> Result<Caller, Status> {
        let token = gongkai_auth::bearer(authorization)
            .map_err(|error| Status::unauthenticated(error.to_string()))?;
        let grant = self
            .grant(&gongkai_auth::token_sha256(token))
            .await?
            .ok_or_else(|| {
                Status::unauthenticated(
                    "the token is not known or was revoked (gongkai token list)",
                )
            })?;
        if !grant.scopes.contains(&scope) {
            return Err(Status::permission_denied(format!(
                "caller {:?} lacks the `{scope}` scope this method needs",
                grant.caller.name
            )));
        }
        Ok(grant.caller.clone())
    }

    /// Reloads every [`REFRESH_INTERVAL`] until dropped (the gateway aborts it on shutdown).
    pub(crate) async fn refresh_forever(self) {
        let mut failing = false;
        loop {
            tokio::time::sleep(REFRESH_INTERVAL).await;
            match tokio::time::timeout(RELOAD_TIMEOUT, self.reload()).await {
                Ok(Ok(())) => {
                    if failing {
                        tracing::info!("caller tokens reloaded again");
                    }
                    failing = false;
                }
                Ok(Err(error)) => {
                    if !failing {
                        tracing::warn!(%error, "cannot reload the caller tokens");
                    }
                    failing = true;
                }
                Err(_) => {
                    if !failing {
                        tracing::warn!("reloading the caller tokens timed out");
                    }
                    failing = true;
                }
            }
        }
    }
}

fn unavailable(why: &str) -> Status {
    Status::unavailable(format!(
        "cannot check the caller's token: the archive is unavailable ({why}); retry"
    ))
}

async fn read_snapshot(archive: &Archive) -> gongkai_archive::Result<Snapshot> {
    let tokens = archive.active_tokens().await?;
    let grants = tokens
        .into_iter()
        .map(|token| {
            let scopes = token
                .scopes
                .iter()
                .filter_map(|word| gongkai_auth::Scope::from_word(word))
                .collect();
            let grant = Grant {
                caller: Caller { name: token.name },
                scopes,
            };
            (token.token_sha256, Arc::new(grant))
        })
        .collect();
    Ok(Snapshot {
        grants,
        loaded_at: Instant::now(),
    })
}

/// Authentication for every request of the server; `None` tokens: authentication is off and
/// requests pass untouched (without a [`Caller`]).
#[derive(Clone, Debug)]
pub(crate) struct AuthLayer {
    pub(crate) tokens: Option<TokenCache>,
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            tokens: self.tokens.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Auth<S> {
    inner: S,
    tokens: Option<TokenCache>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for Auth<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let scope = match (&self.tokens, gongkai_auth::access(request.uri().path())) {
            (None, _) | (_, Access::Open) => return Box::pin(self.inner.call(request)),
            (Some(_), Access::Needs(scope)) => scope,
        };
        let Some(tokens) = self.tokens.clone() else {
            return Box::pin(self.inner.call(request));
        };
        // The service that poll_ready readied is the one that must be called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let authorization = request
                .headers()
                .get(http::header::AUTHORIZATION)
                .map(|v| v.as_bytes());
            match tokens.authorize(authorization, scope).await {
                Ok(caller) => {
                    request.extensions_mut().insert(caller);
                    inner.call(request).await
                }
                Err(status) => {
                    tracing::debug!(path = request.uri().path(), code = ?status.code(), "refused");
                    Ok(status.into_http())
                }
            }
        })
    }
}
