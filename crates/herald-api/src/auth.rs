//! API keys: `Authorization: Bearer hk_…`, stored as SHA-256 only, each with a scope and its own
//! rate limit (seed 001). Missing or unknown keys get 401, a read key writing gets 403, a key over
//! its rate gets 429 with `Retry-After`.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, Mutex},
};

use axum::{
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter, clock::Clock};
use herald_store::{ApiKey, KeyScope};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{ApiState, error::ApiError};

/// A new key: the secret (shown once) and what is stored.
#[derive(Debug)]
pub struct IssuedKey {
    /// `hk_<id>_<secret>`: give it to the client; it is not stored.
    pub secret: String,
    /// What is stored.
    pub key: ApiKey,
    /// SHA-256 of the secret, 0x hex.
    pub hash: String,
}

/// Makes a key with a random secret.
pub fn issue(name: &str, scope: KeyScope, rate_per_minute: u32) -> IssuedKey {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let id = alloy::hex::encode(&bytes[..4]);
    let secret = format!("hk_{id}_{}", alloy::hex::encode(&bytes[4..]));
    IssuedKey {
        hash: hash(&secret),
        key: ApiKey {
            id,
            name: name.to_string(),
            scope,
            rate_per_minute,
            revoked: false,
        },
        secret,
    }
}

/// SHA-256 of a secret key, 0x hex.
pub fn hash(secret: &str) -> String {
    format!(
        "0x{}",
        alloy::hex::encode(Sha256::digest(secret.as_bytes()))
    )
}

/// Per-key rate limiters, made on first use with the key's own quota.
#[derive(Default)]
pub struct RateLimits {
    limiters: Mutex<HashMap<String, Arc<DefaultDirectRateLimiter>>>,
}

impl RateLimits {
    /// Takes one request from `key`'s allowance; the wait in seconds if there is none left.
    fn check(&self, key: &ApiKey) -> Result<(), u64> {
        let limiter = {
            let mut limiters = self
                .limiters
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            limiters
                .entry(key.id.clone())
                .or_insert_with(|| {
                    let per_minute =
                        NonZeroU32::new(key.rate_per_minute).unwrap_or(NonZeroU32::MIN);
                    Arc::new(RateLimiter::direct(Quota::per_minute(per_minute)))
                })
                .clone()
        };
        limiter.check().map_err(|not_until| {
            let clock = governor::clock::DefaultClock::default();
            not_until.wait_time_from(clock.now()).as_secs().max(1)
        })
    }
}

/// The middleware guarding `/v1`.
pub async fn require_key(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(secret) = presented else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "an API key is required: Authorization: Bearer hk_…",
        )
        .into_response();
    };
    let key = match state.store.api_key_by_hash(&hash(secret)).await {
        Ok(Some(key)) if !key.revoked => key,
        Ok(_) => {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "unknown or revoked API key",
            )
            .into_response();
        }
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let writes = !matches!(*request.method(), Method::GET | Method::HEAD);
    if writes && key.scope == KeyScope::Read {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "key {} is read-only; {} needs a write key",
                key.id,
                request.method()
            ),
        )
        .into_response();
    }
    if let Err(retry_after) = state.limits.check(&key) {
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "key {} is limited to {} requests per minute; retry in {retry_after} s",
                key.id, key.rate_per_minute
            ),
        )
        .into_response();
        if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    next.run(request).await
}
