//! Log line formats: the stock `tracing-subscriber` text and JSON formats, each extended with the
//! OpenTelemetry `trace_id` and `span_id` of the span the event happened in, so a log line leads
//! to its trace in Jaeger and a trace to its log lines.

use std::fmt;

use opentelemetry::trace::TraceContextExt;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, Full, Json, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// How log lines are written: `LOG_FORMAT=json` for machines, anything else for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn from_env() -> Self {
        match std::env::var("LOG_FORMAT") {
            Ok(value) if value.trim().eq_ignore_ascii_case("json") => Self::Json,
            _ => Self::Text,
        }
    }
}

/// The ids of the span that is current on this thread, as lowercase hex, when there is one.
pub fn current_trace_ids() -> Option<(String, String)> {
    let context = opentelemetry::Context::current();
    let span = context.span();
    let span_context = span.span_context();
    span_context.is_valid().then(|| {
        (
            span_context.trace_id().to_string(),
            span_context.span_id().to_string(),
        )
    })
}

/// Text format: the stock full format followed by `trace_id=… span_id=…`.
pub(crate) struct TextWithTraceIds {
    inner: Format<Full>,
}

impl TextWithTraceIds {
    pub(crate) fn new() -> Self {
        Self {
            inner: Format::default().with_ansi(false),
        }
    }
}

impl<S, N> FormatEvent<S, N> for TextWithTraceIds
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        let line = line.trim_end_matches('\n');
        match current_trace_ids() {
            Some((trace_id, span_id)) => {
                writeln!(writer, "{line} trace_id={trace_id} span_id={span_id}")
            }
            None => writeln!(writer, "{line}"),
        }
    }
}

/// JSON format: one object per line with the event's fields flattened, the current span and
/// `trace_id`/`span_id` at the top level.
pub(crate) struct JsonWithTraceIds {
    inner: Format<Json>,
}

impl JsonWithTraceIds {
    pub(crate) fn new() -> Self {
        Self {
            inner: Format::default()
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false),
        }
    }
}

impl<S> FormatEvent<S, JsonFields> for JsonWithTraceIds
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        let line = line.trim_end_matches('\n');
        let ids = current_trace_ids();
        match (
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(line),
            ids,
        ) {
            (Ok(mut object), Some((trace_id, span_id))) => {
                object.insert("trace_id".to_owned(), trace_id.into());
                object.insert("span_id".to_owned(), span_id.into());
                let encoded = serde_json::to_string(&object).map_err(|_| fmt::Error)?;
                writeln!(writer, "{encoded}")
            }
            // Without a span, or should the stock formatter ever write something that is not an
            // object, the line goes out unchanged rather than being lost.
            _ => writeln!(writer, "{line}"),
        }
    }
}
