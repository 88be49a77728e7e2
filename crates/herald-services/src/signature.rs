//! Standard Webhooks signatures: HMAC-SHA256 over `{id}.{timestamp}.{body}`, base64, prefixed `v1,`.

use std::{fmt, str::FromStr};

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// A webhook signing secret, written `whsec_<base64>`. Its `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// A fresh random 32-byte secret.
    pub fn generate() -> Self {
        let mut key = vec![0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self(key)
    }

    /// A secret derived from a keeper's seed for one context (e.g. one trigger): HMAC-SHA256 of the
    /// context under the seed. The keeper keeps one seed instead of a secret per trigger, and can
    /// show a trigger's owner the secret again.
    pub fn derive(seed: &[u8], context: &[u8]) -> Self {
        let mut mac = HmacSha256::new_from_slice(seed).expect("HMAC takes keys of any length");
        mac.update(context);
        Self(mac.finalize().into_bytes().to_vec())
    }

    /// The raw key bytes.
    pub fn key(&self) -> &[u8] {
        &self.0
    }
}

impl FromStr for WebhookSecret {
    type Err = SignatureError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let encoded = s
            .strip_prefix("whsec_")
            .ok_or(SignatureError::SecretFormat)?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| SignatureError::SecretFormat)?;
        if key.is_empty() {
            return Err(SignatureError::SecretFormat);
        }
        Ok(Self(key))
    }
}

/// The secret in its `whsec_…` form, for handing to the receiver once.
impl fmt::Display for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "whsec_{}", STANDARD.encode(&self.0))
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

/// Why a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The secret is not `whsec_` followed by base64.
    #[error("a webhook secret is `whsec_` followed by base64")]
    SecretFormat,
    /// `webhook-timestamp` is not unix seconds.
    #[error("webhook-timestamp is not a unix time in seconds")]
    BadTimestamp,
    /// The timestamp is too far from now (a replay, or a badly wrong clock).
    #[error("webhook-timestamp is {0} s away from now, beyond the tolerance")]
    Stale(u64),
    /// No `v1` signature in the header matches.
    #[error("no webhook-signature matches")]
    Mismatch,
}

/// The `webhook-signature` value for one message.
pub fn sign(secret: &WebhookSecret, id: &str, timestamp: u64, body: &[u8]) -> String {
    format!(
        "v1,{}",
        STANDARD.encode(mac(secret, id, timestamp, body).finalize().into_bytes())
    )
}

/// Verifies a message as a receiver would: the timestamp within `tolerance_secs` of `now`, and one
/// of the space-separated `v1,` signatures matching (compared in constant time).
pub fn verify(
    secret: &WebhookSecret,
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: u64,
    tolerance_secs: u64,
) -> Result<(), SignatureError> {
    let ts: u64 = timestamp
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    let skew = now.abs_diff(ts);
    if skew > tolerance_secs {
        return Err(SignatureError::Stale(skew));
    }
    for candidate in signatures.split(' ') {
        let Some(encoded) = candidate.strip_prefix("v1,") else {
            continue;
        };
        let Ok(bytes) = STANDARD.decode(encoded) else {
            continue;
        };
        if mac(secret, id, ts, body).verify_slice(&bytes).is_ok() {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

fn mac(secret: &WebhookSecret, id: &str, timestamp: u64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.key()).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const BODY: &[u8] = br#"{"test": 2432232314}"#;

    #[test]
    fn matches_the_published_test_vector() {
        let secret: WebhookSecret = SECRET.parse().expect("valid secret");
        assert_eq!(
            sign(&secret, ID, 1_614_265_330, BODY),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn verifies_and_refuses() {
        let secret: WebhookSecret = SECRET.parse().expect("valid secret");
        let sig = sign(&secret, ID, 1_614_265_330, BODY);
        let both = format!("v1,bm9wZQ== {sig}");
        assert_eq!(
            verify(&secret, ID, "1614265330", &both, BODY, 1_614_265_331, 300),
            Ok(())
        );
        assert_eq!(
            verify(
                &secret,
                ID,
                "1614265330",
                &sig,
                b"tampered",
                1_614_265_331,
                300
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(
                &secret,
                "msg_other",
                "1614265330",
                &sig,
                BODY,
                1_614_265_331,
                300
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&secret, ID, "1614265330", &sig, BODY, 1_614_266_000, 300),
            Err(SignatureError::Stale(670))
        );
        assert_eq!(
            verify(&secret, ID, "soon", &sig, BODY, 0, 300),
            Err(SignatureError::BadTimestamp)
        );
        let other = WebhookSecret::generate();
        assert_eq!(
            verify(&other, ID, "1614265330", &sig, BODY, 1_614_265_330, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn secrets_round_trip_and_never_print() {
        let secret = WebhookSecret::generate();
        let text = secret.to_string();
        assert!(text.starts_with("whsec_"));
        assert_eq!(text.parse::<WebhookSecret>().expect("parses"), secret);
        assert_eq!(format!("{secret:?}"), "WebhookSecret(***)");
        assert_eq!(
            "nope".parse::<WebhookSecret>(),
            Err(SignatureError::SecretFormat)
        );
        assert_eq!(
            "whsec_!!".parse::<WebhookSecret>(),
            Err(SignatureError::SecretFormat)
        );
    }
}
