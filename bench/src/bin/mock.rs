//! The benchmark suite's stand-in for a slow outside service (workload W3): every request to
//! any path is answered `{"ok":true}` after a fixed delay, and `GET /count` says how many were
//! answered. Binds to 127.0.0.1 only.
//!
//! `mock PORT [DELAY_MS]` (default delay 20 ms); prints `mock listening on 127.0.0.1:PORT`
//! once it accepts connections.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::{any, get};

struct Mock {
    delay: Duration,
    answered: AtomicU64,
}

async fn delayed(State(mock): State<Arc<Mock>>) -> impl IntoResponse {
    tokio::time::sleep(mock.delay).await;
    mock.answered.fetch_add(1, Ordering::Relaxed);
    ([(CONTENT_TYPE, "application/json")], r#"{"ok":true}"#)
}

async fn count(State(mock): State<Arc<Mock>>) -> String {
    mock.answered.load(Ordering::Relaxed).to_string()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = || std::io::Error::other("usage: mock PORT [DELAY_MS]");
    let port: u16 = args.next().and_then(|p| p.parse().ok()).ok_or_else(usage)?;
    let delay_ms: u64 = match args.next() {
        Some(d) => d.parse().map_err(|_| usage())?,
        None => 20,
    };
    let mock = Arc::new(Mock {
        delay: Duration::from_millis(delay_ms),
        answered: AtomicU64::new(0),
    });
    let app = Router::new()
        .route("/count", get(count))
        .fallback(any(delayed))
        .with_state(mock);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("mock listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await
}
