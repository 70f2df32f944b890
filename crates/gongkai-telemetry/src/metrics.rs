//! The Prometheus metrics every gongkai service records into, behind one typed, cheaply cloned
//! handle, and the readiness state that `/healthz` reports. Names and labels are the contract
//! with the Grafana dashboard and the KEDA/alerting rules in `deploy/`; change them together.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// A stage of the pipeline a report goes through.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Stage {
    /// The gateway accepting (or refusing) a submission.
    Submit,
    Parse,
    Validate,
    Archive,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::Parse => "parse",
            Self::Validate => "validate",
            Self::Archive => "archive",
        }
    }
}

impl EncodeLabelValue for Stage {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

/// How a stage ended for one report.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Outcome {
    /// Done; the report moved on (or, after archive, is stored).
    Ok,
    /// The same bytes were submitted before; nothing new was done.
    Duplicate,
    /// The input cannot be processed (unsupported format, undecodable, too large …): a final
    /// answer about the report, not a fault of the system.
    Rejected,
    /// A transient failure; the message goes to the retry queue.
    Retried,
    /// Given up; the message went to the dead-letter queue.
    DeadLettered,
    /// A fault of the system (a dependency down, a timeout) answered to the caller, who may try
    /// again; used where there is no retry queue, i.e. at the gateway.
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Duplicate => "duplicate",
            Self::Rejected => "rejected",
            Self::Retried => "retried",
            Self::DeadLettered => "dead_lettered",
            Self::Failed => "failed",
        }
    }
}

impl EncodeLabelValue for Outcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageOutcomeLabels {
    stage: Stage,
    outcome: Outcome,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    queue: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RoutingKeyLabels {
    routing_key: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabels {
    rule: String,
    severity: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrpcLabels {
    method: String,
    code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ComponentLabels {
    component: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    service: String,
    version: String,
}

#[derive(Clone)]
struct DurationBuckets;

impl MetricConstructor<Histogram> for DurationBuckets {
    fn new_metric(&self) -> Histogram {
        // 5 ms … ~82 s: a small text report parses in milliseconds, a large scanned PDF in tens
        // of seconds.
        Histogram::new(exponential_buckets(0.005, 2.0, 15))
    }
}

struct Families {
    registry: Registry,
    reports: Family<StageOutcomeLabels, Counter>,
    stage_duration: Family<StageOutcomeLabels, Histogram, DurationBuckets>,
    in_flight: Family<QueueLabels, Gauge>,
    redeliveries: Family<QueueLabels, Counter>,
    dead_lettered: Family<QueueLabels, Counter>,
    published: Family<RoutingKeyLabels, Counter>,
    findings: Family<RuleLabels, Counter>,
    grpc_requests: Family<GrpcLabels, Counter>,
    grpc_duration: Family<MethodLabels, Histogram, DurationBuckets>,
    ready: Family<ComponentLabels, Gauge>,
}

/// The metrics of one service. Clone it freely: clones record into the same registry.
#[derive(Clone)]
pub struct Metrics {
    families: Arc<Families>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A fresh registry with every gongkai metric, plus `gongkai_build_info{service,version}`.
    pub fn new(service_name: &str) -> Self {
        let mut registry = Registry::default();
        let reports = Family::<StageOutcomeLabels, Counter>::default();
        registry.register(
            "gongkai_reports",
            "Reports that finished a stage, by stage and outcome",
            reports.clone(),
        );
        let stage_duration = Family::new_with_constructor(DurationBuckets);
        registry.register(
            "gongkai_stage_duration_seconds",
            "Time one report spent in a stage (handler start to durable result)",
            stage_duration.clone(),
        );
        let in_flight = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "gongkai_messages_in_flight",
            "Messages taken from a queue and not yet acknowledged",
            in_flight.clone(),
        );
        let redeliveries = Family::<QueueLabels, Counter>::default();
        registry.register(
            "gongkai_redeliveries",
            "Messages received again after an earlier attempt failed or was interrupted",
            redeliveries.clone(),
        );
        let dead_lettered = Family::<QueueLabels, Counter>::default();
        registry.register(
            "gongkai_dead_lettered",
            "Messages this service sent to a dead-letter queue",
            dead_lettered.clone(),
        );
        let published = Family::<RoutingKeyLabels, Counter>::default();
        registry.register(
            "gongkai_messages_published",
            "Messages published and confirmed by the broker, by routing key",
            published.clone(),
        );
        let findings = Family::<RuleLabels, Counter>::default();
        registry.register(
            "gongkai_findings",
            "Findings reported by the rules, by rule id and severity",
            findings.clone(),
        );
        let grpc_requests = Family::<GrpcLabels, Counter>::default();
        registry.register(
            "gongkai_grpc_requests",
            "gRPC requests served, by method and status code",
            grpc_requests.clone(),
        );
        let grpc_duration = Family::new_with_constructor(DurationBuckets);
        registry.register(
            "gongkai_grpc_request_duration_seconds",
            "Time to the response headers of a gRPC request, by method",
            grpc_duration.clone(),
        );
        let ready = Family::<ComponentLabels, Gauge>::default();
        registry.register(
            "gongkai_component_up",
            "1 while a connection the service needs (broker, database, blob store) is up",
            ready.clone(),
        );
        let build_info = Family::<BuildLabels, Gauge>::default();
        registry.register(
            "gongkai_build_info",
            "Constant 1, labelled with the service name and version",
            build_info.clone(),
        );
        build_info
            .get_or_create(&BuildLabels {
                service: service_name.to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            })
            .set(1);
        Self {
            families: Arc::new(Families {
                registry,
                reports,
                stage_duration,
                in_flight,
                redeliveries,
                dead_lettered,
                published,
                findings,
                grpc_requests,
                grpc_duration,
                ready,
            }),
        }
    }

    /// One report finished `stage` with `outcome` after `elapsed`.
    pub fn stage_finished(&self, stage: Stage, outcome: Outcome, elapsed: Duration) {
        let labels = StageOutcomeLabels { stage, outcome };
        self.families.reports.get_or_create(&labels).inc();
        self.families
            .stage_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Marks a message of `queue` as being handled until the returned guard is dropped.
    pub fn in_flight(&self, queue: &str) -> InFlightGuard {
        let gauge = self
            .families
            .in_flight
            .get_or_create(&QueueLabels {
                queue: queue.to_owned(),
            })
            .clone();
        gauge.inc();
        InFlightGuard { gauge }
    }

    /// A message of `queue` arrived flagged as redelivered (or with an attempt count above 1).
    pub fn redelivered(&self, queue: &str) {
        self.families
            .redeliveries
            .get_or_create(&QueueLabels {
                queue: queue.to_owned(),
            })
            .inc();
    }

    /// A message of `queue` was rejected to its dead-letter queue.
    pub fn dead_lettered(&self, queue: &str) {
        self.families
            .dead_lettered
            .get_or_create(&QueueLabels {
                queue: queue.to_owned(),
            })
            .inc();
    }

    /// A message was published with `routing_key` and confirmed by the broker.
    pub fn published(&self, routing_key: &str) {
        self.families
            .published
            .get_or_create(&RoutingKeyLabels {
                routing_key: routing_key.to_owned(),
            })
            .inc();
    }

    /// The rules reported one finding of `rule` (its stable id) with `severity`.
    pub fn finding(&self, rule: &str, severity: &str) {
        self.findings_by_rule(rule, severity, 1);
    }

    /// The rules reported `count` findings of `rule` with `severity`.
    pub fn findings_by_rule(&self, rule: &str, severity: &str, count: u64) {
        self.families
            .findings
            .get_or_create(&RuleLabels {
                rule: rule.to_owned(),
                severity: severity.to_owned(),
            })
            .inc_by(count);
    }

    /// A gRPC request to `method` (`Service/Method`) ended with `code` (the grpc-status name,
    /// e.g. `OK`, `INVALID_ARGUMENT`) after `elapsed`.
    pub fn grpc_request(&self, method: &str, code: &str, elapsed: Duration) {
        self.families
            .grpc_requests
            .get_or_create(&GrpcLabels {
                method: method.to_owned(),
                code: code.to_owned(),
            })
            .inc();
        self.families
            .grpc_duration
            .get_or_create(&MethodLabels {
                method: method.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    fn component_up(&self, component: &str, up: bool) {
        self.families
            .ready
            .get_or_create(&ComponentLabels {
                component: component.to_owned(),
            })
            .set(i64::from(up));
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.families.registry).is_err() {
            // Writing into a String cannot fail; keep the scrape alive if it ever does.
            let _ = writeln!(text, "# encoding failed");
        }
        text
    }
}

/// Decrements the in-flight gauge when the message is settled (acked, nacked or dropped).
#[derive(Debug)]
pub struct InFlightGuard {
    gauge: Gauge,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// Readiness of a service: the connections it needs, each up or down. `/healthz` answers 200
/// only while every registered component is up. Clones share the state.
#[derive(Clone, Debug)]
pub struct Health {
    components: Arc<Mutex<BTreeMap<String, bool>>>,
    metrics: Option<Metrics>,
}

impl Health {
    /// A readiness state with `components` (e.g. `["amqp", "postgres"]`), all down until set.
    pub fn new(components: &[&str]) -> Self {
        Self {
            components: Arc::new(Mutex::new(
                components
                    .iter()
                    .map(|name| ((*name).to_owned(), false))
                    .collect(),
            )),
            metrics: None,
        }
    }

    /// Also mirror each component's state into `gongkai_component_up`.
    pub fn with_metrics(mut self, metrics: &Metrics) -> Self {
        for (name, up) in self.snapshot() {
            metrics.component_up(&name, up);
        }
        self.metrics = Some(metrics.clone());
        self
    }

    /// Records whether `component` is up; an unknown component is added.
    pub fn set(&self, component: &str, up: bool) {
        self.components
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(component.to_owned(), up);
        if let Some(metrics) = &self.metrics {
            metrics.component_up(component, up);
        }
    }

    /// True when every component is up (and so when there is none).
    pub fn is_ready(&self) -> bool {
        self.components
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .all(|up| *up)
    }

    /// Every component and its state, in name order.
    pub fn snapshot(&self) -> BTreeMap<String, bool> {
        self.components
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
