//! Webhook delivery against a real HTTP receiver on 127.0.0.1.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    Router,
    body::Bytes,
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
    routing::post,
};
use herald_services::{
    Delivery, WebhookClient, WebhookConfig, WebhookRequest, WebhookSecret, verify,
};
use serde_json::json;

/// What the receiver saw, per request.
#[derive(Clone, Debug)]
struct Seen {
    at: Instant,
    headers: HeaderMap,
    body: Bytes,
}

/// A receiver that answers each request with the next scripted response (the last one repeats).
async fn receiver(
    script: Vec<(u16, &'static str, Option<&'static str>, Duration)>,
) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            let script = script.clone();
            async move {
                let n = {
                    let mut log = log.lock().expect("lock");
                    log.push(Seen {
                        at: Instant::now(),
                        headers,
                        body,
                    });
                    log.len() - 1
                };
                let (status, text, retry_after, pause) = script[n.min(script.len() - 1)];
                tokio::time::sleep(pause).await;
                let mut response =
                    (StatusCode::from_u16(status).expect("status"), text).into_response();
                if let Some(value) = retry_after {
                    response
                        .headers_mut()
                        .insert("retry-after", value.parse().expect("header"));
                }
                response
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (url, seen)
}

fn client(max_attempts: u32) -> WebhookClient {
    WebhookClient::new(WebhookConfig {
        timeout: Duration::from_millis(500),
        max_attempts,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(2),
        allow_private_targets: true, // the receiver is on loopback
        body_excerpt: 16,
        nameservers: Vec::new(),
    })
}

/// The parts of a request that tests do not vary.
struct Fixture {
    secret: WebhookSecret,
    headers: BTreeMap<String, String>,
    body: serde_json::Value,
}

impl Fixture {
    fn new() -> Self {
        Self {
            secret: WebhookSecret::generate(),
            headers: BTreeMap::new(),
            body: json!({"n": 1}),
        }
    }

    fn request<'a>(&'a self, url: &'a str, id: &'a str) -> WebhookRequest<'a> {
        WebhookRequest {
            endpoint: url,
            headers: &self.headers,
            body: &self.body,
            id,
            secret: Some(&self.secret),
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

#[tokio::test]
async fn delivers_signed_with_the_trigger_headers() {
    let (url, seen) = receiver(vec![(200, "ok", None, Duration::ZERO)]).await;
    let secret = WebhookSecret::generate();
    let headers = BTreeMap::from([("foo".to_string(), "bar".to_string())]);
    let body = json!({"event": {"id": "e1"}, "data": {"amount": "11"}});
    let request = WebhookRequest {
        endpoint: &url,
        headers: &headers,
        body: &body,
        id: "7:0xabc",
        secret: Some(&secret),
    };

    assert_eq!(
        client(3).deliver(&request).await.expect("deliverable"),
        Delivery::Delivered {
            status: 200,
            attempts: 1
        }
    );
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    let h = &seen[0].headers;
    let get = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(get("foo"), "bar");
    assert_eq!(get("webhook-id"), "7:0xabc");
    assert_eq!(get("content-type"), "application/json");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&seen[0].body).expect("json"),
        body
    );
    verify(
        &secret,
        "7:0xabc",
        &get("webhook-timestamp"),
        &get("webhook-signature"),
        &seen[0].body,
        now(),
        300,
    )
    .expect("the receiver can verify the signature");
}

#[tokio::test]
async fn retries_until_the_receiver_recovers_honouring_retry_after() {
    let (url, seen) = receiver(vec![
        (503, "down", Some("1"), Duration::ZERO),
        (503, "down", None, Duration::ZERO),
        (200, "ok", None, Duration::ZERO),
    ])
    .await;
    let fixture = Fixture::new();
    let request = fixture.request(&url, "1:0x01");
    assert_eq!(
        client(5).deliver(&request).await.expect("deliverable"),
        Delivery::Delivered {
            status: 200,
            attempts: 3
        }
    );
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 3);
    assert!(
        seen[1].at - seen[0].at >= Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    let ids: Vec<_> = seen
        .iter()
        .map(|s| s.headers["webhook-id"].clone())
        .collect();
    assert!(
        ids.iter().all(|id| id == "1:0x01"),
        "the same webhook-id on every attempt, so receivers can deduplicate"
    );
}

#[tokio::test]
async fn gives_up_after_the_attempt_limit_with_the_last_status_and_body() {
    let (url, seen) = receiver(vec![(
        500,
        "internal error: database unavailable",
        None,
        Duration::ZERO,
    )])
    .await;
    let fixture = Fixture::new();
    let request = fixture.request(&url, "1:0x02");
    assert_eq!(
        client(3).deliver(&request).await.expect("deliverable"),
        Delivery::Failed {
            attempts: 3,
            last_status: Some(500),
            detail: "internal error: …".to_string()
        }
    );
    assert_eq!(seen.lock().expect("lock").len(), 3);
}

#[tokio::test]
async fn a_client_error_is_final() {
    let (url, seen) = receiver(vec![(400, "bad request", None, Duration::ZERO)]).await;
    let fixture = Fixture::new();
    let request = fixture.request(&url, "1:0x03");
    let delivery = client(5).deliver(&request).await.expect("deliverable");
    assert!(
        matches!(
            delivery,
            Delivery::Failed {
                attempts: 1,
                last_status: Some(400),
                ..
            }
        ),
        "{delivery:?}"
    );
    assert_eq!(seen.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn slow_receivers_time_out_and_are_retried() {
    let (url, seen) = receiver(vec![(200, "late", None, Duration::from_secs(2))]).await;
    let fixture = Fixture::new();
    let request = fixture.request(&url, "1:0x04");
    let delivery = client(2).deliver(&request).await.expect("deliverable");
    assert_eq!(
        delivery,
        Delivery::Failed {
            attempts: 2,
            last_status: None,
            detail: "timed out".to_string()
        }
    );
    assert_eq!(seen.lock().expect("lock").len(), 2);
}

#[tokio::test]
async fn refuses_loopback_unless_allowed_and_reserved_headers_always() {
    let (url, seen) = receiver(vec![(200, "ok", None, Duration::ZERO)]).await;
    let mut fixture = Fixture::new();
    let strict = WebhookClient::new(WebhookConfig::default());
    let err = strict
        .deliver(&fixture.request(&url, "1:0x05"))
        .await
        .expect_err("loopback refused")
        .to_string();
    assert!(err.contains("non-public address"), "{err}");

    fixture
        .headers
        .insert("Webhook-Signature".to_string(), "v1,forged".to_string());
    let err = client(1)
        .deliver(&fixture.request(&url, "1:0x05"))
        .await
        .expect_err("reserved header")
        .to_string();
    assert!(err.contains("set by Herald"), "{err}");
    assert!(seen.lock().expect("lock").is_empty(), "nothing was sent");
}
