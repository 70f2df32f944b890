//! A request larger than tonic's decoding limit is refused by tonic itself, before any of our
//! code runs, with OUT_OF_RANGE ("decoded message length too large"). For a caller that sent a
//! report over the size limit, the right answer is RESOURCE_EXHAUSTED naming the limit, as for
//! a report a little over it (which reaches our own check). tonic reads only the 5-byte frame
//! header to refuse, so the limit also bounds memory; this module only corrects the status:
//! [`OversizedStatusLayer`] in the response headers of unary calls (where tonic puts the status
//! of a call that failed before it began), [`oversized`] for the items of `SubmitReports`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tonic::{Code, Status};

/// What tonic's message for a frame over the limit begins with.
const TONIC_TOO_LARGE: &str = "Error, decoded message length too large";

/// The RESOURCE_EXHAUSTED status for a frame over the limit, when `status` is tonic's refusal.
pub(crate) fn oversized(status: &Status, max_report_bytes: usize) -> Option<Status> {
    (status.code() == Code::OutOfRange && status.message().starts_with(TONIC_TOO_LARGE)).then(
        || {
            Status::resource_exhausted(format!(
                "the request is larger than the largest report accepted, {max_report_bytes} \
                 bytes (MAX_REPORT_BYTES)"
            ))
        },
    )
}

/// Rewrites tonic's OUT_OF_RANGE refusal of an oversized request into RESOURCE_EXHAUSTED.
#[derive(Clone, Debug)]
pub(crate) struct OversizedStatusLayer {
    pub(crate) max_report_bytes: usize,
}

impl<S> tower::Layer<S> for OversizedStatusLayer {
    type Service = OversizedStatus<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OversizedStatus {
            inner,
            max_report_bytes: self.max_report_bytes,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct OversizedStatus<S> {
    inner: S,
    max_report_bytes: usize,
}

impl<S, Req, ResBody> tower::Service<Req> for OversizedStatus<S>
where
    S: tower::Service<Req, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let future = self.inner.call(request);
        let max_report_bytes = self.max_report_bytes;
        Box::pin(async move {
            let mut response = future.await?;
            if let Some(status) = Status::from_header_map(response.headers())
                && let Some(replacement) = oversized(&status, max_report_bytes)
            {
                let headers = response.headers_mut();
                headers.remove("grpc-status-details-bin");
                if let Err(error) = replacement.add_header(headers) {
                    tracing::debug!(%error, "cannot rewrite the status of an oversized request");
                }
            }
            Ok(response)
        })
    }
}
