//! Webhook delivery: a signed JSON POST, retried with exponential backoff and jitter.
//!
//! The `webhook-id` is the execution key, identical on every attempt (and after a keeper restart or a
//! takeover), so a receiver can deduplicate; each attempt gets a fresh timestamp and signature.
//! Network errors, timeouts, 408, 429 and 5xx are retried; other 4xx are final (retrying a request
//! the receiver rejected as malformed only repeats the rejection). `Retry-After` (seconds or an
//! HTTP date) is honoured, up to `max_delay`.

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use rand::Rng;
use reqwest::{StatusCode, header::HeaderMap};
use serde_json::Value;

use crate::{
    signature::{WebhookSecret, sign},
    target::{self, RequestError},
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
    /// How much of a failing response body to keep.
    pub body_excerpt: usize,
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
        }
    }
}

/// One webhook to deliver.
#[derive(Clone, Debug)]
pub struct WebhookRequest<'a> {
    /// The trigger's endpoint.
    pub endpoint: &'a str,
    /// The trigger's extra headers (`webhook-*` and `content-type` are Herald's and refused).
    pub headers: &'a BTreeMap<String, String>,
    /// The JSON body: the event and the trigger's data.
    pub body: &'a Value,
    /// The execution key, sent as `webhook-id`.
    pub id: &'a str,
    /// The trigger's signing secret.
    pub secret: &'a WebhookSecret,
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
    http: reqwest::Client,
    config: WebhookConfig,
}

impl WebhookClient {
    /// A client with its own connection pool.
    pub fn new(config: WebhookConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none()) // a redirect could point anywhere
            .user_agent(concat!("herald/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a client with these options always builds");
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
            // Checked at every attempt: a name's answer can change between attempts.
            let url = target::check(request.endpoint, self.config.allow_private_targets).await?;
            let timestamp = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let mut builder = self
                .http
                .post(url)
                .header("content-type", "application/json")
                .header("webhook-id", request.id)
                .header("webhook-timestamp", timestamp.to_string())
                .header(
                    "webhook-signature",
                    sign(request.secret, request.id, timestamp, &body),
                );
            for (name, value) in request.headers {
                builder = builder.header(name, value);
            }
            let (retry, last_status, detail, retry_after) =
                match builder.body(body.clone()).send().await {
                    Ok(response) if response.status().is_success() => {
                        return Ok(Delivery::Delivered {
                            status: response.status().as_u16(),
                            attempts: attempt,
                        });
                    }
                    Ok(response) => {
                        let status = response.status();
                        let retry_after = retry_after(response.headers());
                        let text = response.text().await.unwrap_or_default();
                        (
                            retryable(status),
                            Some(status.as_u16()),
                            excerpt(&text, self.config.body_excerpt),
                            retry_after,
                        )
                    }
                    Err(e) => (true, None, describe(&e), None),
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

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        format!("could not connect: {e}")
    } else {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
