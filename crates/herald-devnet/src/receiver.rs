//! A real webhook receiver on 127.0.0.1 that records every request, with its arrival time, and
//! answers as told.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU16, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use eyre::WrapErr;
use tokio::sync::watch;

/// One request as received.
#[derive(Clone, Debug)]
pub struct Received {
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Bytes,
    /// The status the receiver answered.
    pub answered: u16,
    /// When it arrived.
    pub at: Instant,
}

impl Received {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }

    /// Whether the receiver accepted it (answered 2xx).
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.answered)
    }
}

#[derive(Clone)]
struct Shared {
    seen: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
    accepted: Arc<watch::Sender<usize>>,
    /// The distinct `webhook-id`s answered 2xx: what a redelivery does not add to.
    distinct: Arc<Mutex<std::collections::HashSet<String>>>,
    distinct_count: Arc<watch::Sender<usize>>,
}

/// A running receiver; `POST /hook` is recorded and answered with the current status.
pub struct Receiver {
    /// Where it listens.
    pub addr: SocketAddr,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Starts a receiver answering 200 on a free port of 127.0.0.1.
    pub async fn start() -> eyre::Result<Self> {
        let shared = Shared {
            seen: Arc::default(),
            status: Arc::new(AtomicU16::new(200)),
            accepted: Arc::new(watch::Sender::new(0)),
            distinct: Arc::default(),
            distinct_count: Arc::new(watch::Sender::new(0)),
        };
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .wrap_err("binding the webhook receiver to 127.0.0.1")?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            shared,
            server,
        })
    }

    /// The endpoint to put in a trigger.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Answers every request from now on with `status` (e.g. 503 while "down").
    pub fn answer(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// Everything received so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.lock().clone()
    }

    /// Requests answered 2xx so far.
    pub fn delivered(&self) -> Vec<Received> {
        self.lock()
            .iter()
            .filter(|r| r.accepted())
            .cloned()
            .collect()
    }

    /// When the latest request arrived.
    pub fn last_arrival(&self) -> Option<Instant> {
        self.lock().last().map(|r| r.at)
    }

    /// How many requests were answered 2xx so far.
    pub fn accepted_count(&self) -> usize {
        *self.shared.accepted.borrow()
    }

    /// Waits until at least `count` requests were answered 2xx; false if `timeout` passed first.
    pub async fn wait_for_accepted(&self, count: usize, timeout: Duration) -> bool {
        let mut accepted = self.shared.accepted.subscribe();
        tokio::time::timeout(timeout, accepted.wait_for(|n| *n >= count))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Waits until requests with at least `count` distinct `webhook-id`s were answered 2xx (a
    /// redelivery counts once); false if `timeout` passed first.
    pub async fn wait_for_distinct(&self, count: usize, timeout: Duration) -> bool {
        let mut distinct = self.shared.distinct_count.subscribe();
        tokio::time::timeout(timeout, distinct.wait_for(|n| *n >= count))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Received>> {
        // A panic while holding the lock leaves a complete Vec behind: keep reading it.
        self.shared
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Records the request and answers with the current status; a refusal echoes the headers it got,
/// as many servers' error pages do, so tests can check that nothing secret a keeper sent comes back
/// into what the keeper keeps.
async fn hook(
    State(shared): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let at = Instant::now();
    let answered = shared.status.load(Ordering::SeqCst);
    let request = Received {
        headers,
        body,
        answered,
        at,
    };
    let accepted = request.accepted();
    let id = request.header("webhook-id").map(str::to_owned);
    let echo = if accepted {
        String::new()
    } else {
        let sent: Vec<String> = request
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("?")))
            .collect();
        format!("refused; you sent {}", sent.join("; "))
    };
    shared
        .seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(request);
    if accepted {
        shared.accepted.send_modify(|n| *n += 1);
        if let Some(id) = id
            && shared
                .distinct
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(id)
        {
            shared.distinct_count.send_modify(|n| *n += 1);
        }
    }
    (
        StatusCode::from_u16(answered).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        echo,
    )
}
