//! The bounds that keep one client, hostile or broken, from exhausting the gateway (issue 13):
//!
//! * [`RequestSizeLayer`]: every request but the two submissions is refused past
//!   `MAX_REQUEST_BYTES` (64 KiB) as it arrives, so the report-size limit (64 MiB) applies to
//!   document bytes only and a read never buffers a large body;
//! * [`CallerCounts`]: open streams per caller and in total (WatchReport / WatchBatch watchers,
//!   SubmitReports streams), refused beyond the cap with RESOURCE_EXHAUSTED and a retry hint;
//! * [`RateLimiter`]: submissions per second per caller, a token bucket;
//! * [`ByteBounded`]: the items of one SubmitReports stream in flight, bounded in count and in
//!   report bytes: the next item is read off the connection only once the stream is under its
//!   byte budget, so HTTP/2 flow control holds the client back instead of the gateway's memory
//!   growing.
//!
//! A caller is its token's name, or with authentication off its IP address
//! ([`caller_key`]).

use crate::Caller;
use bytes::Bytes;
use futures::stream::{BoxStream, FuturesOrdered, Stream, StreamExt};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tonic::Status;

/// How long a caller refused for a cap is told to wait.
const RETRY_HINT: Duration = Duration::from_secs(5);
/// Rate buckets kept before idle ones are forgotten.
const MAX_RATE_BUCKETS: usize = 10_000;

/// Who a request counts against: its token's name, else (authentication off) its address.
pub(crate) fn caller_key<T>(request: &tonic::Request<T>) -> String {
    match Caller::of(request) {
        Some(caller) => format!("token:{}", caller.name),
        None => request
            .remote_addr()
            .map_or_else(|| "addr:unknown".to_owned(), |a| format!("addr:{}", a.ip())),
    }
}

/// RESOURCE_EXHAUSTED with a retry hint: in the message for people, and as
/// `grpc-retry-pushback-ms` for gRPC clients with a retry policy.
pub(crate) fn exhausted(message: String, retry_after: Duration) -> Status {
    let millis = retry_after.as_millis().max(1);
    let mut status = Status::resource_exhausted(format!(
        "{message}; retry in {:.1} s",
        retry_after.as_secs_f64()
    ));
    if let Ok(value) = millis.to_string().parse() {
        status
            .metadata_mut()
            .insert("grpc-retry-pushback-ms", value);
    }
    status
}

/// Open streams of one kind, per caller and in total.
#[derive(Clone, Debug)]
pub(crate) struct CallerCounts {
    what: &'static str,
    per_caller: usize,
    total: usize,
    state: Arc<Mutex<CountState>>,
}

#[derive(Debug, Default)]
struct CountState {
    total: usize,
    by_caller: HashMap<String, usize>,
}

/// One admitted stream; dropping it (the stream ended or the client went away) frees its place.
#[derive(Debug)]
pub(crate) struct Permit {
    state: Arc<Mutex<CountState>>,
    caller: String,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut state = match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        };
        state.total = state.total.saturating_sub(1);
        if let Some(count) = state.by_caller.get_mut(&self.caller) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                state.by_caller.remove(&self.caller);
            }
        }
    }
}

impl CallerCounts {
    pub(crate) fn new(what: &'static str, per_caller: usize, total: usize) -> CallerCounts {
        CallerCounts {
            what,
            per_caller: per_caller.max(1),
            total: total.max(1),
            state: Arc::default(),
        }
    }

    /// A place for one more stream of `caller`, or RESOURCE_EXHAUSTED.
    pub(crate) fn admit(&self, caller: &str) -> Result<Permit, Status> {
        let mut state = match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mine = state.by_caller.get(caller).copied().unwrap_or(0);
        if mine >= self.per_caller {
            return Err(exhausted(
                format!(
                    "this caller has {mine} {} open, the most allowed; close one",
                    self.what
                ),
                RETRY_HINT,
            ));
        }
        if state.total >= self.total {
            return Err(exhausted(
                format!(
                    "the gateway has {} {} open, the most it serves",
                    state.total, self.what
                ),
                RETRY_HINT,
            ));
        }
        state.total += 1;
        *state.by_caller.entry(caller.to_owned()).or_insert(0) += 1;
        Ok(Permit {
            state: self.state.clone(),
            caller: caller.to_owned(),
        })
    }

    /// Streams open now, over all callers.
    #[cfg(test)]
    pub(crate) fn open(&self) -> usize {
        match self.state.lock() {
            Ok(state) => state.total,
            Err(poisoned) => poisoned.into_inner().total,
        }
    }
}

/// Submissions per second per caller: a token bucket of `2 × rate` holding `rate` a second.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    pub(crate) fn new(rate: f64) -> RateLimiter {
        RateLimiter {
            rate,
            burst: (rate * 2.0).max(1.0),
            buckets: Mutex::default(),
        }
    }

    /// Takes one submission from `caller`'s bucket, or says how long until there is one.
    pub(crate) fn take(&self, caller: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = match self.buckets.lock() {
            Ok(buckets) => buckets,
            Err(poisoned) => poisoned.into_inner(),
        };
        if buckets.len() >= MAX_RATE_BUCKETS && !buckets.contains_key(caller) {
            // A full bucket holds nothing worth keeping: it is what a new one starts as.
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let bucket = buckets.entry(caller.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refilled = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * self.rate)
            .min(self.burst);
        if refilled >= 1.0 {
            *bucket = Bucket {
                tokens: refilled - 1.0,
                at: now,
            };
            Ok(())
        } else {
            *bucket = Bucket {
                tokens: refilled,
                at: now,
            };
            Err(Duration::from_secs_f64((1.0 - refilled) / self.rate))
        }
    }

    /// Waits until `caller` may submit once more (a stream is paced rather than refused).
    pub(crate) async fn pace(&self, caller: &str) {
        while let Err(wait) = self.take(caller) {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Every bound of the service, shared by its clones.
#[derive(Debug)]
pub(crate) struct Limits {
    pub(crate) watchers: CallerCounts,
    pub(crate) submit_streams: CallerCounts,
    pub(crate) submit_rate: Option<RateLimiter>,
    pub(crate) submit_stream_bytes: usize,
}

impl Limits {
    pub(crate) fn new(config: &crate::GatewayConfig) -> Limits {
        Limits {
            watchers: CallerCounts::new(
                "watch streams",
                config.watchers_per_caller,
                config.watchers_total,
            ),
            submit_streams: CallerCounts::new(
                "SubmitReports streams",
                config.submit_streams_per_caller,
                // Streams are bounded per caller; the total is bounded by the callers.
                usize::MAX,
            ),
            submit_rate: config.submit_rate_per_caller().map(RateLimiter::new),
            submit_stream_bytes: config.submit_stream_bytes.max(1),
        }
    }

    /// A unary submission of `caller`: refused with a retry hint over the rate.
    pub(crate) fn check_submit_rate(&self, caller: &str) -> Result<(), Status> {
        match &self.submit_rate {
            Some(limiter) => limiter.take(caller).map_err(|wait| {
                exhausted(
                    "this caller submits faster than SUBMIT_RATE allows".to_owned(),
                    wait,
                )
            }),
            None => Ok(()),
        }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A stream of results of `handle` over the items of `inbound`, in order, with at most
/// `max_items` handled at once and the next item read only while the items in hand hold fewer
/// than `max_bytes` (as `size` counts them; one item over the budget always proceeds, so no
/// item is too large to pass).
pub(crate) struct ByteBounded<T, O> {
    inbound: Option<BoxStream<'static, T>>,
    handle: Box<dyn FnMut(T) -> BoxFuture<O> + Send>,
    size: fn(&T) -> usize,
    /// Each item's future with the bytes it holds.
    in_flight: FuturesOrdered<BoxFuture<(usize, O)>>,
    bytes: usize,
    max_items: usize,
    max_bytes: usize,
}

impl<T: Send + 'static, O: Send + 'static> ByteBounded<T, O> {
    pub(crate) fn new<F, Fut>(
        inbound: BoxStream<'static, T>,
        max_items: usize,
        max_bytes: usize,
        size: fn(&T) -> usize,
        mut handle: F,
    ) -> ByteBounded<T, O>
    where
        F: FnMut(T) -> Fut + Send + 'static,
        Fut: Future<Output = O> + Send + 'static,
    {
        ByteBounded {
            inbound: Some(inbound),
            handle: Box::new(move |item| Box::pin(handle(item))),
            size,
            in_flight: FuturesOrdered::new(),
            bytes: 0,
            max_items: max_items.max(1),
            max_bytes: max_bytes.max(1),
        }
    }
}

impl<T, O: Send + 'static> Stream for ByteBounded<T, O> {
    type Item = O;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<O>> {
        let this = self.get_mut();
        while this.in_flight.len() < this.max_items && this.bytes < this.max_bytes {
            let Some(inbound) = this.inbound.as_mut() else {
                break;
            };
            match inbound.poll_next_unpin(cx) {
                Poll::Ready(Some(item)) => {
                    let bytes = (this.size)(&item);
                    this.bytes = this.bytes.saturating_add(bytes);
                    let handled = (this.handle)(item);
                    this.in_flight
                        .push_back(Box::pin(async move { (bytes, handled.await) }));
                }
                Poll::Ready(None) => this.inbound = None,
                Poll::Pending => break,
            }
        }
        match this.in_flight.poll_next_unpin(cx) {
            Poll::Ready(Some((bytes, output))) => {
                this.bytes = this.bytes.saturating_sub(bytes);
                Poll::Ready(Some(output))
            }
            // Nothing in hand: done when the inbound stream is, else its waker is registered.
            Poll::Ready(None) if this.inbound.is_none() => Poll::Ready(None),
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    }
}

/// Refuses request bodies over `max_request_bytes` for every method but the submissions.
#[derive(Clone, Debug)]
pub(crate) struct RequestSizeLayer {
    pub(crate) max_request_bytes: usize,
}

impl<S> tower::Layer<S> for RequestSizeLayer {
    type Service = RequestSize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestSize {
            inner,
            max_request_bytes: self.max_request_bytes,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct RequestSize<S> {
    inner: S,
    max_request_bytes: usize,
}

/// The methods whose requests carry documents, bounded by `MAX_REPORT_BYTES` instead.
fn carries_documents(path: &str) -> bool {
    matches!(
        path,
        "/gongkai.v1.ReportService/SubmitReport" | "/gongkai.v1.ReportService/SubmitReports"
    )
}

impl<S> tower::Service<http::Request<tonic::body::Body>> for RequestSize<S>
where
    S: tower::Service<http::Request<tonic::body::Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        if carries_documents(request.uri().path()) {
            return self.inner.call(request);
        }
        let limit = self.max_request_bytes;
        self.inner.call(request.map(|body| {
            tonic::body::Body::new(CappedBody {
                inner: body,
                remaining: limit,
                limit,
            })
        }))
    }
}

/// A request body that fails with RESOURCE_EXHAUSTED once it has carried more than `limit`
/// bytes; nothing past the limit is buffered.
struct CappedBody {
    inner: tonic::body::Body,
    remaining: usize,
    limit: usize,
}

impl http_body::Body for CappedBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Status>>> {
        let frame = match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            other => return other,
        };
        if let Some(data) = frame.data_ref() {
            if data.len() > self.remaining {
                return Poll::Ready(Some(Err(Status::resource_exhausted(format!(
                    "the request is larger than {} bytes, the most this method accepts \
                     (MAX_REQUEST_BYTES; only SubmitReport and SubmitReports carry documents)",
                    self.limit
                )))));
            }
            self.remaining -= data.len();
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn counts_cap_each_caller_and_the_total_and_free_on_drop() {
        let counts = CallerCounts::new("watch streams", 2, 3);
        let a1 = counts.admit("a").unwrap();
        let _a2 = counts.admit("a").unwrap();
        let refused = counts.admit("a").unwrap_err();
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        assert!(refused.message().contains("retry in 5.0 s"), "{refused:?}");
        assert_eq!(
            refused.metadata().get("grpc-retry-pushback-ms").unwrap(),
            "5000"
        );
        let _b1 = counts.admit("b").unwrap();
        let total = counts.admit("c").unwrap_err();
        assert!(total.message().contains("the gateway has 3"), "{total:?}");
        drop(a1);
        assert_eq!(counts.open(), 2);
        let _c1 = counts.admit("c").unwrap();
    }

    #[test]
    fn the_rate_limiter_allows_a_burst_then_the_rate() {
        let limiter = RateLimiter::new(10.0);
        for _ in 0..20 {
            limiter.take("a").unwrap();
        }
        let wait = limiter.take("a").unwrap_err();
        assert!(wait <= Duration::from_millis(100), "{wait:?}");
        limiter.take("b").unwrap();
    }

    #[tokio::test]
    async fn a_byte_bounded_stream_reads_no_item_past_its_budget() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let read = Arc::new(AtomicUsize::new(0));
        let counted = read.clone();
        let inbound = futures::stream::iter((0..10).map(|i| vec![i as u8; 100]))
            .inspect(move |_| {
                counted.fetch_add(1, Ordering::SeqCst);
            })
            .boxed();
        let (release, released) = tokio::sync::watch::channel(false);
        let mut bounded = ByteBounded::new(inbound, 16, 250, Vec::len, move |item: Vec<u8>| {
            let mut released = released.clone();
            async move {
                let _ = released.wait_for(|r| *r).await;
                item[0]
            }
        });
        // Nothing finishes yet: the stream takes items until it holds 250 bytes (3 items).
        let first = tokio::time::timeout(Duration::from_millis(100), bounded.next()).await;
        assert!(first.is_err());
        assert_eq!(read.load(Ordering::SeqCst), 3);
        release.send(true).unwrap();
        let all: Vec<u8> = bounded.collect().await;
        assert_eq!(all, (0..10).collect::<Vec<u8>>());
    }
}
