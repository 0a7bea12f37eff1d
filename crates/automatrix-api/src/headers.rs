//! Security headers on every response (DESIGN §7, the identity issue's hardening): no MIME
//! sniffing, no referrer, no framing, a content security policy (strict for the API; for the
//! interactive docs, what Swagger UI needs from this origin; for the web UI, what it loads from
//! this origin), and HSTS when the request came
//! over TLS through a proxy (`X-Forwarded-Proto: https`). A handler that set one keeps its own.

use axum::extract::Request;
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::ui::Area;

/// The API answers JSON and server-sent events: nothing in it may load or run anything.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
/// Swagger UI at `/docs`: its scripts, styles (some inline) and icons (data: URIs), all served
/// by the binary, and the OpenAPI document from this origin.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                        img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";
/// The web UI: its own scripts and styles (the canvas positions nodes with inline styles), its
/// images, and the API and its sockets on this origin.
const UI_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                      img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; \
                      object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// One year, subdomains included (sent only over TLS).
const HSTS: &str = "max-age=31536000; includeSubDomains";

pub(crate) async fn security_headers(req: Request, next: Next) -> Response {
    let over_tls = req
        .headers()
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let csp = match crate::ui::area(req.uri().path()) {
        Area::Api => API_CSP,
        Area::Docs => DOCS_CSP,
        Area::Ui => UI_CSP,
    };
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::CONTENT_SECURITY_POLICY, csp);
    if over_tls {
        set(header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    res
}
