//! Services a keeper runs for matched events.
//!
//! - [`signature`]: Standard Webhooks signing and verification (`webhook-id`, `webhook-timestamp`,
//!   `webhook-signature: v1,<base64 HMAC-SHA256>`), with `whsec_` secrets.
//! - [`target`]: which addresses may be connected to (public ones only, unless configured).
//! - [`outbound`]: the HTTP client for every address the keeper did not choose (webhooks, the alert
//!   webhook, peers): checked at connect time, no redirects, timeouts, bounded bodies.
//! - [`webhook`]: delivery with timeouts, retries with exponential backoff and jitter, `Retry-After`.

pub mod outbound;
pub mod signature;
pub mod target;
pub mod webhook;

pub use outbound::{Capped, Outbound, OutboundConfig, OutboundError, read_capped};
pub use signature::{SignatureError, WebhookSecret, sign, verify};
pub use target::RequestError;
pub use webhook::{Delivery, WebhookClient, WebhookConfig, WebhookRequest};
