//! A local HTTP server standing in for outside services (CRMs, lead providers).

use std::net::SocketAddr;

use tokio_util::sync::CancellationToken;

pub struct MockServer {
    pub addr: SocketAddr,
    stop: CancellationToken,
}

impl MockServer {
    /// Serves `router` on 127.0.0.1 and a free port until dropped.
    pub async fn start(router: axum::Router) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind mock");
        Self::serve(listener, router)
    }

    /// Serves `router` on `listener` (bound by the caller, who needed its address first).
    pub fn serve(listener: tokio::net::TcpListener, router: axum::Router) -> Self {
        let addr = listener.local_addr().expect("mock addr");
        let stop = CancellationToken::new();
        let s = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move { s.cancelled().await })
                .await;
        });
        Self { addr, stop }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
