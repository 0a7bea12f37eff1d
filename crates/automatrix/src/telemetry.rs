//! Logs and traces (docs/logging-tracing.md): log lines on stderr as `text`, `pretty` or
//! `json` (`AUTOMATRIX_LOG_FORMAT`, filtered by `RUST_LOG`), and, when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, the same spans exported to an OpenTelemetry collector
//! over OTLP/HTTP (protobuf) in batches, flushed on shutdown.

use std::time::Duration;

use anyhow::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::Config;

/// The log formats `AUTOMATRIX_LOG_FORMAT` accepts.
pub const LOG_FORMATS: [&str; 3] = ["text", "pretty", "json"];

/// The service name traces carry unless `OTEL_SERVICE_NAME` says otherwise.
const SERVICE_NAME: &str = "automatrix";

/// How long one export to the collector may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// What [`init`] set up; [`shutdown`](Self::shutdown) sends the spans still buffered.
#[must_use = "shut it down to flush the last spans"]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

/// Logs for a short command: no trace export.
pub fn init_logs(config: &Config) {
    install(config, None);
}

/// Logs, and traces when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (a long-running mode; called
/// on the tokio runtime, which the exporter's requests run on).
pub fn init(config: &Config) -> anyhow::Result<Telemetry> {
    let traces = exporting()
        .then(tracer_provider)
        .transpose()
        .context("setting up the OpenTelemetry exporter")?;
    install(config, traces.as_ref());
    if traces.is_some() {
        tracing::info!("exporting traces over OTLP");
    }
    Ok(Telemetry { traces })
}

impl Telemetry {
    /// Exports the spans still buffered (bounded by the export timeout).
    pub async fn shutdown(self) {
        let Some(provider) = self.traces else { return };
        // `shutdown` blocks until the exporter thread is done; its requests run on this runtime.
        let done = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        if let Ok(Err(e)) = done {
            eprintln!("warning: flushing traces: {e}");
        }
    }
}

fn exporting() -> bool {
    std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some_and(|v| !v.is_empty())
}

fn install(config: &Config, traces: Option<&SdkTracerProvider>) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    // Colour only on a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let fmt = match config.log_format.as_str() {
        // Each line also carries the current span and the spans around it, with their fields
        // (`request_id`, `execution_id`, …).
        "json" => fmt
            .json()
            .with_ansi(false)
            .with_current_span(true)
            .with_span_list(true)
            .boxed(),
        "pretty" => fmt.pretty().boxed(),
        _ => fmt.boxed(),
    };
    let otel = traces.map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer(SERVICE_NAME))
            .with_threads(false)
    });
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(otel)
        .with(fmt)
        .try_init();
}

/// A batch exporter to `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` appended; the standard
/// `OTEL_EXPORTER_OTLP_*` and `OTEL_BSP_*` variables apply), as `OTEL_SERVICE_NAME` or
/// `automatrix`.
fn tracer_provider() -> anyhow::Result<SdkTracerProvider> {
    let client = OnRuntime {
        client: reqwest::Client::builder()
            .timeout(EXPORT_TIMEOUT)
            .build()
            .context("building the HTTP client")?,
        runtime: tokio::runtime::Handle::current(),
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_http_client(client)
        .build()?;
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none_or(|v| v.is_empty()) {
        resource = resource.with_service_name(SERVICE_NAME);
    }
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build())
}

/// Our reqwest client, its requests run on the process's tokio runtime: the batch exporter
/// calls from a thread of its own, outside the runtime reqwest needs.
#[derive(Debug)]
struct OnRuntime {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for OnRuntime {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        self.runtime
            .spawn(async move { client.send_bytes(request).await })
            .await?
    }
}
