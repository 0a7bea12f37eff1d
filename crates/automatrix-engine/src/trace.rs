//! One trace from the HTTP trigger through the queue to every step: the span that queues an
//! execution leaves its W3C `traceparent` with the job ([`automatrix_store::Origin`]), and the
//! worker's span of the run ([`job_span`]) takes it as its parent; each step attempt runs in a
//! [`step_span`] below it.
//!
//! Spans reach an OpenTelemetry collector only when the binary installed the
//! `tracing-opentelemetry` layer (`OTEL_EXPORTER_OTLP_ENDPOINT`); without it, [`current`] has
//! nothing to tell and setting a parent does nothing, at the cost of a failed downcast.

use automatrix_store::ClaimedJob;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing::{Span, field, info_span};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The span of a job's run: `execution_id`, `worker`, and `request_id` once the execution is
/// read ([`record_request_id`]); the child of the job's trace context, when it has one.
pub fn job_span(job: &ClaimedJob, worker: &str) -> Span {
    let span = info_span!(
        "execution",
        execution_id = %job.execution_id,
        worker = %worker,
        request_id = field::Empty,
    );
    if let Some(traceparent) = job.trace_context.as_deref() {
        adopt(&span, traceparent);
    }
    span
}

/// Notes the id of the request that created the execution on the current [`job_span`].
pub fn record_request_id(request_id: Option<&str>) {
    if let Some(id) = request_id {
        Span::current().record("request_id", id);
    }
}

/// The span of one attempt of a step. (Numbers go as `i64`: the OpenTelemetry layer exports
/// unsigned ones as text.)
pub fn step_span(node_id: &str, node_type: &str, attempt: u32) -> Span {
    info_span!("step", node_id, node_type, attempt = i64::from(attempt))
}

/// Makes the remote span `traceparent` names the parent of `span` (not yet entered). A
/// malformed value is ignored.
pub fn adopt(span: &Span, traceparent: &str) {
    if let Some(parent) = parse(traceparent) {
        let cx = opentelemetry::Context::new().with_remote_span_context(parent);
        // Fails only without the OpenTelemetry layer: then there is no trace to continue.
        let _ = span.set_parent(cx);
    }
}

/// The `traceparent` of the current span, when it is part of an exported trace.
pub fn current() -> Option<String> {
    let cx = Span::current().context();
    let span = cx.span();
    let context = span.span_context();
    context.is_valid().then(|| format(context))
}

/// A W3C `traceparent` (version 00): `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`,
/// with neither id all zeros.
pub fn parse(traceparent: &str) -> Option<SpanContext> {
    let mut parts = traceparent.trim().split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let lower_hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if parts.next().is_some()
        || version != "00"
        || !lower_hex(trace, 32)
        || !lower_hex(span, 16)
        || !lower_hex(flags, 2)
    {
        return None;
    }
    let context = SpanContext::new(
        TraceId::from_hex(trace).ok()?,
        SpanId::from_hex(span).ok()?,
        TraceFlags::new(u8::from_str_radix(flags, 16).ok()? & 1),
        true,
        TraceState::default(),
    );
    context.is_valid().then_some(context)
}

fn format(context: &SpanContext) -> String {
    format!(
        "00-{}-{}-{:02x}",
        context.trace_id(),
        context.span_id(),
        context.trace_flags().to_u8()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_traceparent_round_trips() {
        let context = parse(SAMPLE).expect("valid");
        assert_eq!(
            context.trace_id(),
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap()
        );
        assert!(context.is_sampled() && context.is_remote());
        assert_eq!(format(&context), SAMPLE);
    }

    #[test]
    fn a_malformed_traceparent_is_refused() {
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn without_the_opentelemetry_layer_there_is_no_current_context() {
        let span = info_span!("request");
        adopt(&span, SAMPLE);
        assert_eq!(span.in_scope(current), None);
    }
}
