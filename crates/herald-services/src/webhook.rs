//! Webhook delivery: a signed JSON POST, retried with exponential backoff and jitter.
//!
//! The `webhook-id` is the execution key, identical on every attempt (and after a keeper restart or a
//! takeover), so a receiver can deduplicate; each attempt gets a fresh timestamp and signature.
//! Network errors, timeouts, 408, 429 and 5xx are retried; other 4xx are final (retrying a request
//! the receiver rejected as malformed only repeats the rejection). `Retry-After` (seconds or an
//! HTTP date) is honoured, up to `max_delay`.
//!
//! Requests go through [`crate::outbound`]: the target is checked before each attempt (a clear
//! error) and again by the resolver when it is dialed (DNS rebinding); redirects are not followed;
//! of a failing answer only the excerpt's worth is read.

use std::{
    collections::BTreeMap,
    fmt,
    net::SocketAddr,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use rand::Rng;
use reqwest::{StatusCode, header::HeaderMap};
use serde_json::Value;

use crate::{
    outbound::{Outbound, OutboundConfig, OutboundError, read_capped},
    signature::{WebhookSecret, sign},
    target::RequestError,
};

/// How webhooks are delivered.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// Limit on one attempt, connection to last byte.
    pub timeout: Duration,
    /// Attempts before the execution is recorded as failed.
    pub max_attempts: u32,
    /// Delay before the second attempt; doubles each time.
    pub base_delay: Duration,
    /// Longest wait between attempts (also caps `Retry-After`).
    pub max_delay: Duration,
    /// Allow loopback and private targets (the devnet does; a public keeper must not).
    pub allow_private_targets: bool,
    /// How much of a failing response body to keep, in characters (at most four bytes each are
    /// read).
    pub body_excerpt: usize,
    /// DNS servers to resolve targets with; empty means the system's configuration.
    pub nameservers: Vec<SocketAddr>,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            allow_private_targets: false,
            body_excerpt: 512,
            nameservers: Vec::new(),
        }
    }
}

/// One webhook to deliver. Its `Debug` names the headers but never shows their values: by the
/// time a request is built, headers the trigger sealed carry the opened secrets.
#[derive(Clone)]
pub struct WebhookRequest<'a> {
    /// The trigger's endpoint.
    pub endpoint: &'a str,
    /// The trigger's extra headers (`webhook-*` and `content-type` are Herald's and refused).
    pub headers: &'a BTreeMap<String, String>,
    /// The JSON body: the event and the trigger's data.
    pub body: &'a Value,
    /// The execution key, sent as `webhook-id`.
    pub id: &'a str,
    /// The trigger's signing secret; without one the delivery carries no `webhook-signature`
    /// (a trigger whose owner sealed no secret).
    pub secret: Option<&'a WebhookSecret>,
}

impl fmt::Debug for WebhookRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookRequest")
            .field("endpoint", &self.endpoint)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body", &self.body)
            .field("id", &self.id)
            .field("secret", &self.secret)
            .finish()
    }
}

/// How a delivery ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The receiver answered 2xx.
    Delivered {
        /// Its status.
        status: u16,
        /// Attempts made, this one included.
        attempts: u32,
    },
    /// Every attempt failed, or a final 4xx came back.
    Failed {
        /// Attempts made.
        attempts: u32,
        /// The last HTTP status, if any response came back.
        last_status: Option<u16>,
        /// The start of the last response body, or the network error.
        detail: String,
    },
}

/// Delivers webhooks.
#[derive(Clone, Debug)]
pub struct WebhookClient {
    http: Outbound,
    config: WebhookConfig,
}

impl WebhookClient {
    /// A client with its own connection pool.
    pub fn new(config: WebhookConfig) -> Self {
        let http = Outbound::new(&OutboundConfig {
            timeout: config.timeout,
            allow_private_targets: config.allow_private_targets,
            nameservers: config.nameservers.clone(),
            ..OutboundConfig::default()
        });
        Self { http, config }
    }

    /// Delivers one webhook, retrying as configured. Errors are only for requests that can never
    /// succeed (a bad or forbidden target, a reserved header); delivery failures are a [`Delivery`].
    pub async fn deliver(&self, request: &WebhookRequest<'_>) -> Result<Delivery, RequestError> {
        for name in request.headers.keys() {
            let lower = name.to_ascii_lowercase();
            if lower.starts_with("webhook-") || lower == "content-type" || lower == "host" {
                return Err(RequestError::ReservedHeader(name.clone()));
            }
        }
        let body = serde_json::to_vec(request.body).expect("a JSON value always serialises");
        let mut attempt = 0;
        loop {
            attempt += 1;
            // Checked at every attempt for a clear error (a name's answer can change between
            // attempts), and again when the connection is made.
            let url = self.http.check(request.endpoint).await?;
            let timestamp = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let mut builder = self
                .http
                .post(url.as_str())?
                .header("content-type", "application/json")
                .header("webhook-id", request.id)
                .header("webhook-timestamp", timestamp.to_string());
            if let Some(secret) = request.secret {
                builder = builder.header(
                    "webhook-signature",
                    sign(secret, request.id, timestamp, &body),
                );
            }
            for (name, value) in request.headers {
                builder = builder.header(name, value);
            }
            let (retry, last_status, detail, retry_after) =
                match self.http.send(builder.body(body.clone())).await {
                    Ok(response) if response.status().is_success() => {
                        return Ok(Delivery::Delivered {
                            status: response.status().as_u16(),
                            attempts: attempt,
                        });
                    }
                    Ok(response) => {
                        let status = response.status();
                        let retry_after = retry_after(response.headers());
                        (
                            retryable(status),
                            Some(status.as_u16()),
                            self.excerpt(response).await,
                            retry_after,
                        )
                    }
                    Err(OutboundError::Refused(e)) => return Err(e),
                    Err(e) => (true, None, e.to_string(), None),
                };
            if !retry || attempt >= self.config.max_attempts {
                return Ok(Delivery::Failed {
                    attempts: attempt,
                    last_status,
                    detail,
                });
            }
            tokio::time::sleep(self.delay(attempt, retry_after)).await;
        }
    }

    /// The start of a failing answer's body: at most `body_excerpt` characters, of which at most
    /// four bytes each are read.
    async fn excerpt(&self, response: reqwest::Response) -> String {
        let limit = self.config.body_excerpt;
        match read_capped(response, limit.saturating_mul(4)).await {
            Ok(body) => {
                let text = utf8_prefix(&body.bytes);
                let cut = excerpt(&text, limit);
                if body.truncated && !cut.ends_with('…') {
                    format!("{cut}…")
                } else {
                    cut
                }
            }
            Err(e) => format!("unreadable body: {e}"),
        }
    }

    /// Full-jitter exponential backoff (half to all of base × 2^(attempt-1)), or `Retry-After` when
    /// the receiver asked for longer; never above `max_delay`.
    fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exponential = self
            .config
            .base_delay
            .saturating_mul(1 << (attempt - 1).min(20))
            .min(self.config.max_delay);
        let half = exponential / 2;
        let jittered = half + rand::rng().random_range(Duration::ZERO..=half);
        retry_after
            .map_or(jittered, |asked| asked.max(jittered))
            .min(self.config.max_delay)
    }
}

fn retryable(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
}

/// `Retry-After` as a delay: delta-seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

fn excerpt(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// `bytes` as text, lossily, without the replacement character a cut through the last character
/// would leave.
fn utf8_prefix(bytes: &[u8]) -> String {
    let complete = match std::str::from_utf8(bytes) {
        Err(e) if e.error_len().is_none() => &bytes[..e.valid_up_to()],
        _ => bytes,
    };
    String::from_utf8_lossy(complete).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_requests_debug_names_its_headers_but_never_shows_their_values() {
        let headers = BTreeMap::from([("authorization".to_string(), "Bearer s3cr3t-t0ken".into())]);
        let secret: WebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
            .parse()
            .expect("secret");
        let body = serde_json::json!({"amount": 11});
        let request = WebhookRequest {
            endpoint: "https://hooks.example/in",
            headers: &headers,
            body: &body,
            id: "1:0xab",
            secret: Some(&secret),
        };
        let shown = format!("{request:?}");
        assert!(shown.contains("authorization"), "{shown}");
        assert!(shown.contains("hooks.example"), "{shown}");
        assert!(!shown.contains("s3cr3t"), "a header value leaked: {shown}");
        assert!(
            !shown.contains("MfKQ9r8"),
            "the signing secret leaked: {shown}"
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_and_respects_caps() {
        let client = WebhookClient::new(WebhookConfig {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..WebhookConfig::default()
        });
        for attempt in 1..=3 {
            let full = Duration::from_millis(100 << (attempt - 1));
            let d = client.delay(attempt, None);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
        assert!(client.delay(10, None) <= Duration::from_secs(1));
        assert_eq!(
            client.delay(1, Some(Duration::from_millis(700))),
            Duration::from_millis(700)
        );
        assert_eq!(
            client.delay(1, Some(Duration::from_secs(30))),
            Duration::from_secs(1),
            "Retry-After is capped"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "3".parse().expect("header"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        headers.insert("retry-after", soon.parse().expect("header"));
        let d = retry_after(&headers).expect("date");
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
        headers.insert("retry-after", "later".parse().expect("header"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn excerpts_cut_on_character_boundaries() {
        assert_eq!(excerpt("héllo", 2), "hé…");
        assert_eq!(excerpt("short", 10), "short");
        assert_eq!(utf8_prefix("hé".as_bytes()), "hé");
        assert_eq!(
            utf8_prefix(&"hé".as_bytes()[..2]),
            "h",
            "a cut character is dropped"
        );
        assert_eq!(
            utf8_prefix(b"a\xffb"),
            "a\u{fffd}b",
            "invalid bytes inside are replaced"
        );
    }
}
