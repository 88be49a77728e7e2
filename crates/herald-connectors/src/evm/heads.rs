//! Where the follower learns of new blocks: a WebSocket subscription to new heads, or polling.
//!
//! For a plain `ws://` node the subscription runs on a connection of its own that this module
//! opens itself, because of how TCP treats a connection that carries requests and answers: the
//! keeper's kernel delays its ACKs (to piggyback them on the next request), and a node whose
//! socket uses Nagle's algorithm — anvil's does — holds the next head notification back until that
//! ACK, up to 40 ms on Linux. Measured on anvil with events 2 ms apart: notifications 40 ms late on
//! a shared connection, and on a dedicated connection still whenever the previous notification
//! was not yet acknowledged. So this connection carries nothing but notifications and re-arms
//! `TCP_QUICKACK` after every read, acknowledging each notification at once. `wss://` nodes get
//! alloy's subscription on a separate connection (TLS hides the socket); `http(s)://` nodes are
//! polled.

use std::time::Duration;

use alloy::{
    providers::{DynProvider, Provider, ProviderBuilder},
    pubsub::Subscription,
    rpc::types::Header,
};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{broadcast::error::RecvError, watch};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

/// How new heads are learned of.
pub enum HeadSource {
    /// The latest head number, kept current by a task that owns a dedicated connection.
    Watch(watch::Receiver<u64>),
    /// alloy's subscription on a separate connection, with the provider that keeps the
    /// connection's service running (dropping it would close the subscription).
    Subscription(Subscription<Header>, DynProvider),
    /// Nothing: the follower polls.
    Poll,
}

impl HeadSource {
    /// The best source `url` offers.
    pub async fn connect(url: &str) -> Self {
        if url.starts_with("ws://") {
            let (tx, rx) = watch::channel(0);
            tokio::spawn(watch_heads(url.to_string(), tx));
            return Self::Watch(rx);
        }
        if url.starts_with("wss://") {
            if let Ok(provider) = ProviderBuilder::new().connect(url).await {
                let provider = provider.erased();
                if let Ok(subscription) = provider.subscribe_blocks().await {
                    return Self::Subscription(subscription, provider);
                }
            }
            tracing::warn!("the node offers no new-heads subscription; polling instead");
        }
        Self::Poll
    }

    /// Whether heads arrive without polling.
    pub fn is_subscribed(&self) -> bool {
        !matches!(self, Self::Poll)
    }

    /// Waits until a head at or above `wanted` is announced, or `interval` passes. Heads announced
    /// while the caller was busy are not news; a lagged subscription only means some were missed,
    /// so the caller should look at once; a closed one is given up for polling.
    pub async fn wait(&mut self, wanted: u64, interval: Duration) {
        let deadline = tokio::time::Instant::now() + interval;
        match self {
            Self::Poll => tokio::time::sleep(interval).await,
            Self::Watch(latest) => {
                let reached = latest.wait_for(|head| *head >= wanted);
                let closed = matches!(tokio::time::timeout_at(deadline, reached).await, Ok(Err(_)));
                if closed {
                    tracing::warn!("the new-heads watcher stopped; polling from now on");
                    *self = Self::Poll;
                }
            }
            Self::Subscription(heads, _) => loop {
                match tokio::time::timeout_at(deadline, heads.recv()).await {
                    Ok(Ok(head)) if head.number < wanted => continue,
                    Ok(Ok(_)) | Err(_) | Ok(Err(RecvError::Lagged(_))) => return,
                    Ok(Err(RecvError::Closed)) => {
                        tracing::warn!("the new-heads subscription closed; polling from now on");
                        *self = Self::Poll;
                        return;
                    }
                }
            },
        }
    }
}

/// Keeps `latest` at the node's newest head, reconnecting after failures, until every receiver is
/// gone.
async fn watch_heads(url: String, latest: watch::Sender<u64>) {
    let mut retry = Duration::from_millis(100);
    while !latest.is_closed() {
        match subscribe(&url, &latest).await {
            Ok(()) => retry = Duration::from_millis(100),
            Err(error) => {
                tracing::debug!(%error, retry_in = ?retry, "new-heads connection");
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// One connection's life: subscribe, then publish each head until the node closes it.
async fn subscribe(url: &str, latest: &watch::Sender<u64>) -> Result<(), HeadsError> {
    let request = url.into_client_request()?;
    let host = request.uri().host().unwrap_or("127.0.0.1").to_string();
    let port = request.uri().port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
    stream.set_nodelay(true)?;
    let (mut ws, _) = tokio_tungstenite::client_async(request, stream).await?;
    ws.send(Message::text(
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}"#,
    ))
    .await?;
    while let Some(message) = ws.next().await {
        // Acknowledge what was just read now, not 40 ms from now (see the module's docs).
        let _ = socket2::SockRef::from(ws.get_ref()).set_tcp_quickack(true);
        let text = match message? {
            Message::Text(text) => text,
            Message::Close(_) => return Ok(()),
            _ => continue,
        };
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        if let Some(error) = value.get("error") {
            return Err(HeadsError::Refused(error.to_string()));
        }
        let number = value["params"]["result"]["number"]
            .as_str()
            .and_then(|hex| u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok());
        if let Some(number) = number {
            latest.send_if_modified(|head| {
                let newer = number > *head;
                *head = (*head).max(number);
                newer
            });
        }
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
enum HeadsError {
    #[error("{0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("eth_subscribe refused: {0}")]
    Refused(String),
}
