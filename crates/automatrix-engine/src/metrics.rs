//! The process's metrics: counters, gauges and histograms that the engine and the HTTP layer
//! update as they work, rendered in the Prometheus text format (`GET /metrics`) or read as a
//! [`MetricsSnapshot`].
//!
//! Each [`Engine`](crate::Engine) holds its own [`Metrics`] (no process-wide recorder): tests
//! run many servers in one process, and each counts only its own work. Updates are atomic
//! additions; a labelled family takes a read lock to find its series (a write lock only the
//! first time a label value is seen).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use automatrix_core::ExecutionStatus;
use automatrix_store::{NewAiUsage, QueueStats};
use serde::Serialize;

/// Bucket upper bounds in seconds of request and step durations (Prometheus' defaults).
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Bucket upper bounds in seconds of whole executions, which may wait for minutes.
pub const EXECUTION_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0,
];

/// The content type of [`Metrics::render`]'s text.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The route label of requests that matched no route (never the raw path: unbounded).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// This process's metrics. Cheap to clone: clones share the counts.
#[derive(Clone, Default)]
pub struct Metrics(Arc<Inner>);

#[derive(Default)]
struct Inner {
    http: Family<RouteStats>,
    executions: Family<AtomicU64>,
    execution_duration: Histogram<Executions>,
    steps: Family<Histogram>,
    ai: Family<AiCounters>,
    workers_busy: AtomicI64,
    queue: Mutex<Option<QueueStats>>,
}

/// Counts and plain gauges, for JSON consumers (a dashboard's live feed).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricsSnapshot {
    /// Executions finished by this process's workers, by status.
    pub executions: BTreeMap<String, u64>,
    /// Jobs due and not claimed, as of the last look at the queue; `None` when the database
    /// did not answer then.
    pub queue_depth: Option<u64>,
    /// Jobs claimed by a worker under a live lease, as of the same look.
    pub queue_running: Option<u64>,
    /// Executions running in this process now.
    pub workers_busy: i64,
    pub ai_input_tokens: u64,
    pub ai_output_tokens: u64,
    pub ai_cost_usd: f64,
    /// HTTP requests answered by this process.
    pub http_requests: u64,
}

impl Metrics {
    /// One answered HTTP request: `route` is the route template (`/api/workflows/{id}`) or
    /// [`UNMATCHED_ROUTE`].
    pub fn http_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.0.http.with(route, |r| {
            r.duration.observe(took);
            let same = |(m, s, _): &&(Box<str>, u16, AtomicU64)| *s == status && &**m == method;
            // Requests run side by side here: a shared read and an atomic add, never a wait
            // (the write lock is taken once per new method and status).
            if let Some((_, _, n)) = r
                .requests
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .find(same)
            {
                n.fetch_add(1, Ordering::Relaxed);
                return;
            }
            let mut counts = r.requests.write().unwrap_or_else(PoisonError::into_inner);
            match counts.iter().find(same) {
                Some((_, _, n)) => {
                    n.fetch_add(1, Ordering::Relaxed);
                }
                None => counts.push((method.into(), status, AtomicU64::new(1))),
            }
        });
    }

    /// An execution this process's worker finished, `took` after it started.
    pub fn execution_finished(&self, status: ExecutionStatus, took: Duration) {
        self.0
            .executions
            .with(status.as_str(), |n| n.fetch_add(1, Ordering::Relaxed));
        self.0.execution_duration.observe(took);
    }

    /// One attempt of a step of type `node_type` ran to its end, taking `took`.
    pub fn step_finished(&self, node_type: &str, took: Duration) {
        self.0.steps.with(node_type, |h| h.observe(took));
    }

    /// One accounted AI call (a node's or the proxy's).
    pub fn ai_call(&self, usage: &NewAiUsage) {
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        self.0.ai.with(&usage.provider, |a| {
            a.input
                .fetch_add(count(usage.input_tokens), Ordering::Relaxed);
            a.output
                .fetch_add(count(usage.output_tokens), Ordering::Relaxed);
            if usage.cost_usd.is_finite() && usage.cost_usd > 0.0 {
                add_f64(&a.cost_usd, usage.cost_usd);
            }
        });
    }

    /// Counts one more execution running here until the guard is dropped.
    pub fn busy(&self) -> BusyGuard {
        self.0.workers_busy.fetch_add(1, Ordering::Relaxed);
        BusyGuard(self.clone())
    }

    /// What the queue holds now (`None`: the database did not answer), for the next render
    /// and snapshot.
    pub fn observe_queue(&self, stats: Option<QueueStats>) {
        *self.0.queue.lock().unwrap_or_else(PoisonError::into_inner) = stats;
    }

    fn queue(&self) -> Option<QueueStats> {
        *self.0.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        let mut executions = BTreeMap::new();
        self.0.executions.each(|status, n| {
            executions.insert(status.to_owned(), n.load(Ordering::Relaxed));
        });
        let (mut input, mut output, mut cost) = (0, 0, 0.0);
        self.0.ai.each(|_, a| {
            input += a.input.load(Ordering::Relaxed);
            output += a.output.load(Ordering::Relaxed);
            cost += load_f64(&a.cost_usd);
        });
        let mut http_requests = 0;
        self.0.http.each(|_, r| {
            let counts = r.requests.read().unwrap_or_else(PoisonError::into_inner);
            http_requests += counts
                .iter()
                .map(|(_, _, n)| n.load(Ordering::Relaxed))
                .sum::<u64>();
        });
        let queue = self.queue();
        MetricsSnapshot {
            executions,
            queue_depth: queue.map(|q| q.due),
            queue_running: queue.map(|q| q.running),
            workers_busy: self.0.workers_busy.load(Ordering::Relaxed),
            ai_input_tokens: input,
            ai_output_tokens: output,
            ai_cost_usd: cost,
            http_requests,
        }
    }

    /// Every metric in the Prometheus text exposition format (version 0.0.4), series sorted
    /// by their labels. The queue gauges are those of the last [`observe_queue`]
    /// (absent when the database did not answer).
    ///
    /// [`observe_queue`]: Self::observe_queue
    pub fn render(&self) -> String {
        let mut out = Text::default();
        let i = &self.0;

        out.header(
            "automatrix_http_requests_total",
            "counter",
            "HTTP requests answered, by method, route template and status.",
        );
        i.http.each(|route, r| {
            let mut counts: Vec<(Box<str>, u16, u64)> = r
                .requests
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .map(|(m, s, n)| (m.clone(), *s, n.load(Ordering::Relaxed)))
                .collect();
            counts.sort();
            for (method, status, n) in counts {
                let status = status.to_string();
                let labels = [
                    ("method", &*method),
                    ("route", route),
                    ("status", status.as_str()),
                ];
                out.sample("automatrix_http_requests_total", &labels, n);
            }
        });
        out.header(
            "automatrix_http_request_duration_seconds",
            "histogram",
            "Time to answer an HTTP request (until the response head), by route template.",
        );
        i.http.each(|route, r| {
            out.histogram(
                "automatrix_http_request_duration_seconds",
                &[("route", route)],
                &r.duration,
            );
        });

        out.header(
            "automatrix_executions_total",
            "counter",
            "Executions finished by this process's workers, by status.",
        );
        i.executions.each(|status, n| {
            let n = n.load(Ordering::Relaxed);
            out.sample("automatrix_executions_total", &[("status", status)], n);
        });
        out.header(
            "automatrix_execution_duration_seconds",
            "histogram",
            "Time from an execution's start to its end (waits included).",
        );
        out.histogram(
            "automatrix_execution_duration_seconds",
            &[],
            &i.execution_duration,
        );
        out.header(
            "automatrix_step_duration_seconds",
            "histogram",
            "Time one attempt of a step ran, by node type.",
        );
        i.steps.each(|node_type, h| {
            out.histogram(
                "automatrix_step_duration_seconds",
                &[("node_type", node_type)],
                h,
            );
        });

        if let Some(queue) = self.queue() {
            out.header(
                "automatrix_queue_depth",
                "gauge",
                "Jobs due to run and not claimed by a worker (all processes).",
            );
            out.sample("automatrix_queue_depth", &[], queue.due);
            out.header(
                "automatrix_queue_running",
                "gauge",
                "Jobs claimed by a worker under a live lease (all processes).",
            );
            out.sample("automatrix_queue_running", &[], queue.running);
        }
        out.header(
            "automatrix_workers_busy",
            "gauge",
            "Executions running in this process.",
        );
        let busy = i.workers_busy.load(Ordering::Relaxed);
        out.sample("automatrix_workers_busy", &[], busy);

        out.header(
            "automatrix_ai_tokens_total",
            "counter",
            "Tokens of accounted AI calls, by provider and kind (input or output).",
        );
        i.ai.each(|provider, a| {
            for (kind, n) in [("input", &a.input), ("output", &a.output)] {
                let labels = [("provider", provider), ("kind", kind)];
                out.sample(
                    "automatrix_ai_tokens_total",
                    &labels,
                    n.load(Ordering::Relaxed),
                );
            }
        });
        out.header(
            "automatrix_ai_cost_usd_total",
            "counter",
            "Cost in US dollars of accounted AI calls, by provider.",
        );
        i.ai.each(|provider, a| {
            let cost = load_f64(&a.cost_usd);
            out.sample(
                "automatrix_ai_cost_usd_total",
                &[("provider", provider)],
                cost,
            );
        });
        out.0
    }
}

/// Counts an execution as running until dropped ([`Metrics::busy`]).
pub struct BusyGuard(Metrics);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.0.workers_busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One series per label value, created on first use.
struct Family<T> {
    series: RwLock<HashMap<Box<str>, T>>,
}

impl<T> Default for Family<T> {
    fn default() -> Self {
        Self {
            series: RwLock::default(),
        }
    }
}

impl<T: Default> Family<T> {
    /// Calls `f` with the series of `label`, creating it first if need be.
    fn with<R>(&self, label: &str, f: impl FnOnce(&T) -> R) -> R {
        if let Some(series) = self
            .series
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(label)
        {
            return f(series);
        }
        let mut series = self.series.write().unwrap_or_else(PoisonError::into_inner);
        f(series.entry(label.into()).or_default())
    }

    /// Calls `f` with every series, in the order of their labels.
    fn each(&self, mut f: impl FnMut(&str, &T)) {
        let series = self.series.read().unwrap_or_else(PoisonError::into_inner);
        let mut sorted: Vec<_> = series.iter().collect();
        sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (label, s) in sorted {
            f(label, s);
        }
    }
}

#[derive(Default)]
struct RouteStats {
    duration: Histogram,
    /// (method, status, count): a route sees few of each, so a scan beats a map.
    requests: RwLock<Vec<(Box<str>, u16, AtomicU64)>>,
}

#[derive(Default)]
struct AiCounters {
    input: AtomicU64,
    output: AtomicU64,
    /// An `f64`'s bits.
    cost_usd: AtomicU64,
}

/// Which bucket bounds a [`Histogram`] has.
trait Buckets {
    const BOUNDS: &'static [f64];
}

/// [`DEFAULT_BUCKETS`].
struct Standard;

impl Buckets for Standard {
    const BOUNDS: &'static [f64] = DEFAULT_BUCKETS;
}

/// [`EXECUTION_BUCKETS`].
struct Executions;

impl Buckets for Executions {
    const BOUNDS: &'static [f64] = EXECUTION_BUCKETS;
}

/// Observations counted per bucket (not cumulated: each lands in one), plus their sum.
struct Histogram<B: Buckets = Standard> {
    /// One per bound, then `+Inf`.
    counts: Box<[AtomicU64]>,
    sum_nanos: AtomicU64,
    bounds: std::marker::PhantomData<B>,
}

impl<B: Buckets> Default for Histogram<B> {
    fn default() -> Self {
        Self {
            counts: (0..=B::BOUNDS.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
            bounds: std::marker::PhantomData,
        }
    }
}

impl<B: Buckets> Histogram<B> {
    fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let bucket = B::BOUNDS
            .iter()
            .position(|le| secs <= *le)
            .unwrap_or(B::BOUNDS.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

fn add_f64(cell: &AtomicU64, amount: f64) {
    let _ = cell.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
        Some((f64::from_bits(bits) + amount).to_bits())
    });
}

fn load_f64(cell: &AtomicU64) -> f64 {
    f64::from_bits(cell.load(Ordering::Relaxed))
}

/// The exposition text being written.
#[derive(Default)]
struct Text(String);

impl Text {
    fn header(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Value) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (key, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{key}=\"{}\"", escape_label(value));
            }
            self.0.push('}');
        }
        self.0.push(' ');
        value.write(&mut self.0);
        self.0.push('\n');
    }

    /// `_bucket` series (cumulative, `le` last among the labels), then `_sum` and `_count`.
    fn histogram<B: Buckets>(&mut self, name: &str, labels: &[(&str, &str)], h: &Histogram<B>) {
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0;
        for (i, count) in h.counts.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            let le = B::BOUNDS
                .get(i)
                .map_or("+Inf".to_owned(), |b| b.to_string());
            let mut with_le = labels.to_vec();
            with_le.push(("le", le.as_str()));
            self.sample(&bucket, &with_le, cumulative);
        }
        let sum = h.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        self.sample(&format!("{name}_sum"), labels, sum);
        self.sample(&format!("{name}_count"), labels, cumulative);
    }
}

/// A sample's value as the text format writes it.
trait Value {
    fn write(self, out: &mut String);
}

impl Value for u64 {
    fn write(self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl Value for i64 {
    fn write(self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl Value for f64 {
    fn write(self, out: &mut String) {
        if self.is_nan() {
            out.push_str("NaN");
        } else if self.is_infinite() {
            out.push_str(if self > 0.0 { "+Inf" } else { "-Inf" });
        } else {
            let _ = write!(out, "{self}");
        }
    }
}

/// A label value as the text format quotes it: `\`, `"` and line feeds escaped.
fn escape_label(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains(['\\', '"', '\n']) {
        return value.into();
    }
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str, prefix: &str) -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::default();
        m.step_finished("odd\"type\\with\nbreak", Duration::from_millis(1));
        let text = m.render();
        assert!(
            text.contains(
                "automatrix_step_duration_seconds_count{node_type=\"odd\\\"type\\\\with\\nbreak\"} 1\n"
            ),
            "{text}"
        );
        assert_eq!(escape_label("plain"), "plain");
    }

    #[test]
    fn histogram_buckets_are_cumulative_with_sum_and_count() {
        let m = Metrics::default();
        for ms in [3, 7, 7, 300, 20_000] {
            m.step_finished("transform.set", Duration::from_millis(ms));
        }
        let text = m.render();
        let buckets = lines(&text, "automatrix_step_duration_seconds_bucket");
        let expected: Vec<String> = [
            ("0.005", 1),
            ("0.01", 3),
            ("0.025", 3),
            ("0.05", 3),
            ("0.1", 3),
            ("0.25", 3),
            ("0.5", 4),
            ("1", 4),
            ("2.5", 4),
            ("5", 4),
            ("10", 4),
            ("+Inf", 5),
        ]
        .iter()
        .map(|(le, n)| {
            format!(
                "automatrix_step_duration_seconds_bucket{{node_type=\"transform.set\",le=\"{le}\"}} {n}"
            )
        })
        .collect();
        assert_eq!(buckets, expected);
        assert_eq!(
            lines(&text, "automatrix_step_duration_seconds_sum"),
            ["automatrix_step_duration_seconds_sum{node_type=\"transform.set\"} 20.317"]
        );
        assert_eq!(
            lines(&text, "automatrix_step_duration_seconds_count"),
            ["automatrix_step_duration_seconds_count{node_type=\"transform.set\"} 5"]
        );
    }

    #[test]
    fn every_family_has_help_and_type_and_sorted_series() {
        let m = Metrics::default();
        let ms = Duration::from_millis;
        m.http_request("GET", "/health", 200, ms(1));
        m.http_request("POST", "/api/workflows", 201, ms(2));
        m.http_request("GET", "/health", 200, ms(1));
        m.http_request("GET", UNMATCHED_ROUTE, 404, ms(1));
        m.execution_finished(ExecutionStatus::Failed, ms(40));
        m.execution_finished(ExecutionStatus::Completed, ms(40));
        m.execution_finished(ExecutionStatus::Completed, ms(40));
        let busy = m.busy();
        m.observe_queue(Some(QueueStats { due: 3, running: 1 }));
        let text = m.render();
        for family in [
            "automatrix_http_requests_total counter",
            "automatrix_http_request_duration_seconds histogram",
            "automatrix_executions_total counter",
            "automatrix_execution_duration_seconds histogram",
            "automatrix_step_duration_seconds histogram",
            "automatrix_queue_depth gauge",
            "automatrix_queue_running gauge",
            "automatrix_workers_busy gauge",
            "automatrix_ai_tokens_total counter",
            "automatrix_ai_cost_usd_total counter",
        ] {
            assert!(
                text.contains(&format!("# TYPE {family}\n")),
                "{family}: {text}"
            );
            let name = family.split(' ').next().unwrap();
            assert!(text.contains(&format!("# HELP {name} ")), "{name}");
        }
        assert_eq!(
            lines(&text, "automatrix_http_requests_total{"),
            [
                "automatrix_http_requests_total{method=\"POST\",route=\"/api/workflows\",status=\"201\"} 1",
                "automatrix_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2",
                "automatrix_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1",
            ]
        );
        assert_eq!(
            lines(&text, "automatrix_executions_total{"),
            [
                "automatrix_executions_total{status=\"completed\"} 2",
                "automatrix_executions_total{status=\"failed\"} 1",
            ]
        );
        assert!(text.contains("\nautomatrix_execution_duration_seconds_count 3\n"));
        assert!(text.contains("\nautomatrix_queue_depth 3\n"), "{text}");
        assert!(text.contains("\nautomatrix_queue_running 1\n"), "{text}");
        assert!(text.contains("\nautomatrix_workers_busy 1\n"));
        drop(busy);
        m.observe_queue(None);
        let text = m.render();
        assert!(text.contains("\nautomatrix_workers_busy 0\n"));
        assert!(!text.contains("automatrix_queue_depth"), "unknown: absent");
        let snap = m.snapshot();
        assert_eq!(snap.http_requests, 4);
        assert_eq!(snap.executions["completed"], 2);
        assert_eq!((snap.queue_depth, snap.workers_busy), (None, 0));
    }
}
