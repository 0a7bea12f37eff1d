//! A WebSocket client for the live sockets: connect with a ticket, read JSON frames with a
//! bound, see the close.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// How long one read may wait before the test fails.
pub const WS_BOUND: Duration = Duration::from_secs(20);

/// What the server said at the end.
#[derive(Debug, PartialEq, Eq)]
pub enum WsEnd {
    /// A close frame with this code.
    Closed(u16),
    /// The connection ended without one.
    Dropped,
}

pub struct WsClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// Why a connection was refused: the HTTP status and JSON body of the refusal.
#[derive(Debug)]
pub struct WsRefused {
    pub status: u16,
    pub body: Value,
}

impl WsClient {
    /// Opens `url` (`ws://…`); the handshake's refusal comes back as [`WsRefused`].
    pub async fn connect(url: &str) -> Result<Self, WsRefused> {
        match connect_async(url).await {
            Ok((stream, _)) => Ok(Self { stream }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let status = response.status().as_u16();
                let body = response
                    .body()
                    .as_deref()
                    .and_then(|b| serde_json::from_slice(b).ok())
                    .unwrap_or(Value::Null);
                Err(WsRefused { status, body })
            }
            Err(e) => panic!("connecting to {url}: {e}"),
        }
    }

    /// The next JSON frame (pings and pongs skipped); panics on a close, an end or
    /// [`WS_BOUND`] without one.
    pub async fn next_json(&mut self) -> Value {
        match self.next().await {
            Ok(v) => v,
            Err(end) => panic!("the socket ended ({end:?}) while a message was expected"),
        }
    }

    /// The next JSON frame, or how the socket ended.
    pub async fn next(&mut self) -> Result<Value, WsEnd> {
        loop {
            let frame = tokio::time::timeout(WS_BOUND, self.stream.next())
                .await
                .expect("a WebSocket frame within the bound");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return Ok(serde_json::from_str(&text).expect("a JSON frame"));
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(WsEnd::Closed(frame.map_or(1005, |f| u16::from(f.code))));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Err(WsEnd::Dropped),
            }
        }
    }

    /// JSON frames until one `matches` (returned), collecting the ones before it.
    pub async fn until(&mut self, matches: impl Fn(&Value) -> bool) -> (Vec<Value>, Value) {
        let mut before = Vec::new();
        loop {
            let v = self.next_json().await;
            if matches(&v) {
                return (before, v);
            }
            before.push(v);
        }
    }

    pub async fn close(mut self) {
        let _ = self
            .stream
            .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: CloseCode::Normal,
                reason: "done".into(),
            }))
            .await;
        let _ = self.stream.flush().await;
    }
}
