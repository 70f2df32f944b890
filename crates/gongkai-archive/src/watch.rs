//! Streaming a report's events as they happen ([`Archive::watch`], for the gateway's
//! `WatchReport`).
//!
//! One `PgListener` per [`Archive`] (on its own connection, started by the first watcher)
//! listens on [`crate::EVENTS_CHANNEL`] and hands what it hears to the watchers of that report
//! only (a registry keyed by report id, so a thousand watchers are not all woken for every
//! event). A notification carries the recorded event as JSON, which the watcher yields without
//! a query; one that carries only the report id (an event too large for a notification) makes
//! the watcher re-read its events from the table. A watcher registers before its first read
//! (so nothing committed in between is missed), is told to re-read after the listener
//! reconnects (notifications may have been lost), and re-reads every [`POLL_INTERVAL`] anyway,
//! so a lost notification delays an event but never loses it.

use crate::error::{ArchiveError, Result};
use crate::read::read_events;
use crate::types::{Event, Outcome, Stage, Status};
use crate::{Archive, EVENTS_CHANNEL};
use chrono::{DateTime, Utc};
use futures::Stream;
use serde::Deserialize;
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OnceCell, mpsc};
use uuid::Uuid;

/// How often a watcher re-reads its events without being notified.
pub const POLL_INTERVAL: Duration = Duration::from_secs(3);

/// The largest event JSON sent in a notification (PostgreSQL's limit is 8,000 bytes); larger
/// ones are announced by report id only.
pub(crate) const MAX_EVENT_PAYLOAD: i32 = 7_800;

/// What the listener tells a watcher.
#[derive(Debug, Clone)]
enum Wake {
    /// This event of the watcher's report was committed.
    Event(Arc<Event>),
    /// Something of the watcher's report was committed: re-read.
    Report,
    /// Notifications may have been lost (the listener reconnected): re-read.
    All,
}

/// One watcher's channel, with the number that tells it from the report's other watchers.
type Watching = (u64, mpsc::UnboundedSender<Wake>);

/// The watchers of each report, by report id.
#[derive(Default)]
struct Registry {
    next_id: AtomicU64,
    watchers: Mutex<HashMap<Uuid, Vec<Watching>>>,
}

impl Registry {
    fn register(self: &Arc<Self>, report_id: Uuid) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = mpsc::unbounded_channel();
        if let Ok(mut watchers) = self.watchers.lock() {
            watchers.entry(report_id).or_default().push((id, sender));
        }
        Registration {
            registry: self.clone(),
            report_id,
            id,
            receiver,
        }
    }

    fn wake(&self, report_id: Uuid, wake: &Wake) {
        if let Ok(watchers) = self.watchers.lock()
            && let Some(list) = watchers.get(&report_id)
        {
            for (_, sender) in list {
                let _ = sender.send(wake.clone());
            }
        }
    }

    fn wake_all(&self) {
        if let Ok(watchers) = self.watchers.lock() {
            for (_, sender) in watchers.values().flatten() {
                let _ = sender.send(Wake::All);
            }
        }
    }
}

/// A watcher's place in the registry; leaves it when dropped.
struct Registration {
    registry: Arc<Registry>,
    report_id: Uuid,
    id: u64,
    receiver: mpsc::UnboundedReceiver<Wake>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut watchers) = self.registry.watchers.lock()
            && let Some(list) = watchers.get_mut(&self.report_id)
        {
            list.retain(|(id, _)| *id != self.id);
            if list.is_empty() {
                watchers.remove(&self.report_id);
            }
        }
    }
}

/// The shared listener: started on first use, stopped when the last [`Archive`] clone drops.
#[derive(Default)]
pub(crate) struct Hub {
    registry: OnceCell<Arc<Registry>>,
    task: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Ok(mut task) = self.task.lock()
            && let Some(task) = task.take()
        {
            task.abort();
        }
    }
}

/// An `events` row as `row_to_json` writes it in a notification.
#[derive(Deserialize)]
struct NotifiedEvent {
    seq: i64,
    report_id: Uuid,
    stage: String,
    attempt: i32,
    status: String,
    outcome: String,
    detail: Option<String>,
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
    recorded_at: DateTime<Utc>,
}

impl NotifiedEvent {
    fn into_event(self) -> Option<Event> {
        Some(Event {
            seq: self.seq,
            report_id: self.report_id,
            stage: Stage::from_id(&self.stage)?,
            attempt: u32::try_from(self.attempt).ok()?,
            status: Status::from_id(&self.status)?,
            outcome: Outcome::from_id(&self.outcome)?,
            detail: self.detail,
            started_at: self.started_at,
            finished_at: self.finished_at,
            recorded_at: self.recorded_at,
        })
    }
}

/// What a notification's payload says: the event, or only whose it is.
fn parse_payload(payload: &str) -> Option<(Uuid, Wake)> {
    if payload.starts_with('{') {
        let event = serde_json::from_str::<NotifiedEvent>(payload)
            .ok()?
            .into_event()?;
        Some((event.report_id, Wake::Event(Arc::new(event))))
    } else {
        Some((Uuid::parse_str(payload).ok()?, Wake::Report))
    }
}

impl Archive {
    /// The report's events as they happen: first those already recorded, then each new one as
    /// it is committed, in order; the stream ends after the event that brings the report to
    /// `ARCHIVED` or `FAILED` (at once, after replaying the history, for a finished report).
    /// An unknown report yields one [`ArchiveError::NotFound`] and ends. A database error is
    /// yielded and ends the stream (watch again to resume: the history is replayed).
    ///
    /// Must be polled inside a Tokio runtime.
    pub fn watch(&self, report_id: Uuid) -> impl Stream<Item = Result<Event>> + Send + 'static {
        let state = Watcher {
            archive: self.clone(),
            report_id,
            wakes: None,
            seen: HashSet::new(),
            pending: VecDeque::new(),
            done: false,
        };
        futures::stream::unfold(state, |mut state| async move {
            let item = state.next().await?;
            Some((item, state))
        })
    }

    /// Registers a watcher of `report_id` with the shared listener, starting it on first use.
    async fn subscribe(&self, report_id: Uuid) -> Result<Registration> {
        let hub = &self.inner.hub;
        let registry = hub
            .registry
            .get_or_try_init(|| async {
                // Its own one-connection pool: the listener holds its connection for good and
                // must not take one from the shared pool.
                let pool = PgPoolOptions::new()
                    .max_connections(1)
                    .min_connections(0)
                    .max_lifetime(None)
                    .idle_timeout(None)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_lazy_with((*self.pool().connect_options()).clone());
                let listener = open_listener(&pool).await?;
                let registry = Arc::new(Registry::default());
                let task = tokio::spawn(relay(pool, listener, registry.clone()));
                if let Ok(mut slot) = hub.task.lock() {
                    *slot = Some(task.abort_handle());
                }
                Ok::<_, ArchiveError>(registry)
            })
            .await?;
        Ok(registry.register(report_id))
    }
}

async fn open_listener(pool: &PgPool) -> Result<PgListener> {
    let mut listener = PgListener::connect_with(pool)
        .await
        .map_err(ArchiveError::db("starting the event listener"))?;
    listener.ignore_pool_close_event(true);
    listener
        .listen(EVENTS_CHANNEL)
        .await
        .map_err(ArchiveError::db("listening for events"))?;
    Ok(listener)
}

/// Forwards notifications to the watchers of their report until aborted, replacing the
/// listener when its connection fails. Whenever notifications may have been lost (a
/// reconnection), every watcher is told to re-read.
async fn relay(pool: PgPool, listener: PgListener, registry: Arc<Registry>) {
    let mut listener = Some(listener);
    loop {
        let Some(current) = listener.as_mut() else {
            match open_listener(&pool).await {
                Ok(fresh) => {
                    listener = Some(fresh);
                    registry.wake_all();
                }
                Err(error) => {
                    tracing::warn!(%error, "event listener cannot reconnect; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            continue;
        };
        match current.try_recv().await {
            Ok(Some(notification)) => {
                if let Some((report_id, wake)) = parse_payload(notification.payload()) {
                    registry.wake(report_id, &wake);
                }
            }
            // sqlx re-established the connection and re-issued LISTEN.
            Ok(None) => registry.wake_all(),
            // E.g. the server terminated the backend: sqlx keeps the dead connection, so start
            // over with a new listener.
            Err(error) => {
                tracing::warn!(%error, "event listener lost its connection; reconnecting");
                listener = None;
                registry.wake_all();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

struct Watcher {
    archive: Archive,
    report_id: Uuid,
    wakes: Option<Registration>,
    seen: HashSet<i64>,
    pending: VecDeque<Event>,
    done: bool,
}

impl Watcher {
    async fn next(&mut self) -> Option<Result<Event>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                if event.status.is_final() {
                    self.done = true;
                    self.pending.clear();
                }
                return Some(Ok(event));
            }
            if self.done {
                return None;
            }
            if self.wakes.is_none() {
                // Listen first, then read: an event committed after the read is notified.
                match self.archive.subscribe(self.report_id).await {
                    Ok(wakes) => self.wakes = Some(wakes),
                    Err(error) => return self.fail(error),
                }
                match self.archive.events(self.report_id).await {
                    Ok(events) => self.take_new(events),
                    Err(error) => return self.fail(error),
                }
                continue;
            }
            match self.wait().await {
                Wake::Event(event) => self.take_new([Arc::unwrap_or_clone(event)]),
                Wake::Report | Wake::All => {
                    let events = match self.read().await {
                        Ok(events) => events,
                        Err(error) => return self.fail(error),
                    };
                    self.take_new(events);
                }
            }
        }
    }

    /// Waits for the next reason to look at the report.
    async fn wait(&mut self) -> Wake {
        let Some(registration) = self.wakes.as_mut() else {
            return Wake::All;
        };
        tokio::select! {
            wake = registration.receiver.recv() => match wake {
                Some(wake) => wake,
                // No listener any more: fall back to polling.
                None => {
                    tokio::time::sleep(POLL_INTERVAL).await;
                    Wake::All
                }
            },
            () = tokio::time::sleep(POLL_INTERVAL) => Wake::All,
        }
    }

    async fn read(&self) -> Result<Vec<Event>> {
        let mut connection = self
            .archive
            .pool()
            .acquire()
            .await
            .map_err(ArchiveError::db("reading events"))?;
        read_events(&mut connection, self.report_id).await
    }

    fn take_new(&mut self, events: impl IntoIterator<Item = Event>) {
        for event in events {
            if self.seen.insert(event.seq) {
                self.pending.push_back(event);
            }
        }
    }

    fn fail(&mut self, error: ArchiveError) -> Option<Result<Event>> {
        self.done = true;
        Some(Err(error))
    }
}
