//! Services a keeper runs for matched events.
//!
//! - [`signature`]: Standard Webhooks signing and verification (`webhook-id`, `webhook-timestamp`,
//!   `webhook-signature: v1,<base64 HMAC-SHA256>`), with `whsec_` secrets.
//! - [`target`]: which webhook targets are allowed (public addresses only, unless configured).
//! - [`webhook`]: delivery with timeouts, retries with exponential backoff and jitter, `Retry-After`.

pub mod signature;
pub mod target;
pub mod webhook;

pub use signature::{SignatureError, WebhookSecret, sign, verify};
pub use target::RequestError;
pub use webhook::{Delivery, WebhookClient, WebhookConfig, WebhookRequest};
