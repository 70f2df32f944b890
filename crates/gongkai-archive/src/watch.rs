//! Streaming a report's events as they happen ([`Archive::watch`], for the gateway's
//! `WatchReport`).
//!
//! One `PgListener` per [`Archive`] (on its own connection, started by the first watcher)
//! listens on [`crate::EVENTS_CHANNEL`] and broadcasts the report ids it hears to every watcher.
//! A watcher does not trust notifications to carry data: on each wake-up it re-reads its
//! report's events from the table and yields those it has not yielded yet. It subscribes before
//! its first read (so nothing committed in between is missed), is woken for every report after
//! the listener reconnects, and re-reads every [`POLL_INTERVAL`] anyway, so a notification lost
//! with a dropped connection delays an event but never loses it.

use crate::error::{ArchiveError, Result};
use crate::read::read_events;
use crate::types::Event;
use crate::{Archive, EVENTS_CHANNEL};
use futures::Stream;
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{OnceCell, broadcast};
use uuid::Uuid;

/// How often a watcher re-reads its events without being notified.
pub const POLL_INTERVAL: Duration = Duration::from_secs(3);

/// Wake-ups the listener task sends to watchers.
#[derive(Debug, Clone, Copy)]
enum Wake {
    /// An event of this report was committed.
    Report(Uuid),
    /// Notifications may have been lost (the listener reconnected): everyone re-reads.
    All,
}

/// The shared listener: started on first use, stopped when the last [`Archive`] clone drops.
#[derive(Default)]
pub(crate) struct Hub {
    sender: OnceCell<broadcast::Sender<Wake>>,
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

    /// Subscribes to the shared listener, starting it on first use.
    async fn subscribe(&self) -> Result<broadcast::Receiver<Wake>> {
        let hub = &self.inner.hub;
        let sender = hub
            .sender
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
                let (sender, _) = broadcast::channel(1024);
                let task = tokio::spawn(relay(pool, listener, sender.clone()));
                if let Ok(mut slot) = hub.task.lock() {
                    *slot = Some(task.abort_handle());
                }
                Ok::<_, ArchiveError>(sender)
            })
            .await?;
        Ok(sender.subscribe())
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

/// Forwards notifications to the watchers until aborted, replacing the listener when its
/// connection fails. Whenever notifications may have been lost (a reconnection), every
/// watcher is told to re-read.
async fn relay(pool: PgPool, listener: PgListener, sender: broadcast::Sender<Wake>) {
    let mut listener = Some(listener);
    loop {
        let Some(current) = listener.as_mut() else {
            match open_listener(&pool).await {
                Ok(fresh) => {
                    listener = Some(fresh);
                    // No receiver is fine: nobody is watching right now.
                    let _ = sender.send(Wake::All);
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
                if let Ok(report_id) = Uuid::parse_str(notification.payload()) {
                    let _ = sender.send(Wake::Report(report_id));
                }
            }
            // sqlx re-established the connection and re-issued LISTEN.
            Ok(None) => {
                let _ = sender.send(Wake::All);
            }
            // E.g. the server terminated the backend: sqlx keeps the dead connection, so start
            // over with a new listener.
            Err(error) => {
                tracing::warn!(%error, "event listener lost its connection; reconnecting");
                listener = None;
                let _ = sender.send(Wake::All);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

struct Watcher {
    archive: Archive,
    report_id: Uuid,
    wakes: Option<broadcast::Receiver<Wake>>,
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
                match self.archive.subscribe().await {
                    Ok(wakes) => self.wakes = Some(wakes),
                    Err(error) => return self.fail(error),
                }
                match self.archive.events(self.report_id).await {
                    Ok(events) => self.take_new(events),
                    Err(error) => return self.fail(error),
                }
                continue;
            }
            if self.wait().await {
                let events = match self.read().await {
                    Ok(events) => events,
                    Err(error) => return self.fail(error),
                };
                self.take_new(events);
            }
        }
    }

    /// Waits for a reason to re-read; false when the wake-up was for another report.
    async fn wait(&mut self) -> bool {
        let Some(wakes) = self.wakes.as_mut() else {
            return true;
        };
        tokio::select! {
            wake = wakes.recv() => match wake {
                Ok(Wake::Report(id)) => id == self.report_id,
                Ok(Wake::All) | Err(broadcast::error::RecvError::Lagged(_)) => true,
                // No listener any more: fall back to polling.
                Err(broadcast::error::RecvError::Closed) => {
                    tokio::time::sleep(POLL_INTERVAL).await;
                    true
                }
            },
            () = tokio::time::sleep(POLL_INTERVAL) => true,
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

    fn take_new(&mut self, events: Vec<Event>) {
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
