//! Heartbeats: each keeper tells every other one, every few seconds, that it is alive and what it
//! has done; each keeper shows its peers as online or offline and raises an alert (a webhook) when
//! one has been silent longer than a threshold.
//!
//! Heartbeats go to endpoints peers registered on chain, and the alert to a configured webhook:
//! both through the outbound client (`herald_services::outbound`), which checks the target when it
//! is dialed and follows no redirect. Their answers are not read.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

use alloy::{primitives::Address, signers::local::PrivateKeySigner};
use herald_services::outbound::Outbound;
use herald_store::Store;
use serde::Serialize;
use serde_json::json;

use super::{
    attest::{check_fresh, now_ms},
    peers::Peers,
    protocol::{Domain, HEARTBEAT, Heartbeat, heartbeat_content, message_digest, sign, signed_by},
};

/// What this keeper last heard from a peer.
#[derive(Clone, Debug, Default)]
struct Heard {
    last_seen_ms: Option<u64>,
    last_issued_ms: u64,
    executed: u64,
    attested: u64,
    alerted: bool,
}

/// One keeper as `GET /v1/peers` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct PeerView {
    /// Its address.
    pub address: Address,
    /// Its registered endpoint.
    pub endpoint: String,
    /// Whether the registry counts it as active now.
    pub active: bool,
    /// Whether it was heard from within the offline threshold (this keeper itself: always).
    pub online: bool,
    /// When it was last heard from, RFC 3339.
    pub last_seen: Option<String>,
    /// Executions it ran to the end, as it last reported.
    pub executed: u64,
    /// Receipts of other keepers it co-signed, as it last reported.
    pub attested: u64,
    /// Whether this is the keeper answering.
    #[serde(rename = "self")]
    pub is_self: bool,
}

/// Heartbeat settings.
#[derive(Clone, Debug)]
pub struct HealthConfig {
    /// How often heartbeats go out.
    pub interval: Duration,
    /// A peer unheard this long shows offline.
    pub offline_after: Duration,
    /// Where the offline alert is posted, if anywhere.
    pub alert_webhook: Option<String>,
    /// A peer offline this long raises the alert.
    pub alert_after: Duration,
}

/// The peers' health as this keeper sees it.
#[derive(Debug)]
pub struct Health {
    me: Address,
    domain: Domain,
    peers: Arc<RwLock<Peers>>,
    config: HealthConfig,
    heard: Mutex<HashMap<Address, Heard>>,
    /// When each keeper last had a receipt of each trigger settled (the sender of a `settle`
    /// transaction, and the trigger the paid receipt was for).
    settled: Mutex<HashMap<(Address, u64), u64>>,
    /// When each keeper last had any receipt settled.
    settled_any: Mutex<HashMap<Address, u64>>,
    started_ms: u64,
}

impl Health {
    /// Health of `peers` as seen by `me`.
    pub fn new(
        me: Address,
        domain: Domain,
        peers: Arc<RwLock<Peers>>,
        config: HealthConfig,
    ) -> Self {
        Self {
            me,
            domain,
            peers,
            config,
            heard: Mutex::default(),
            settled: Mutex::default(),
            settled_any: Mutex::default(),
            started_ms: now_ms(),
        }
    }

    /// Accepts a heartbeat addressed here, fresh, newer than the sender's last, and signed by a
    /// registered keeper.
    pub fn receive(&self, beat: &Heartbeat) -> Result<(), String> {
        if beat.to != self.me {
            return Err(format!("addressed to {}, not to {}", beat.to, self.me));
        }
        check_fresh(beat.issued_at)?;
        let digest = message_digest(
            self.domain,
            HEARTBEAT,
            beat.to,
            beat.issued_at,
            heartbeat_content(beat.executed, beat.attested),
        );
        if !signed_by(&digest, &beat.signature, beat.from) {
            return Err(format!("the heartbeat is not signed by {}", beat.from));
        }
        if self.peers.read().expect("peers").get(&beat.from).is_none() {
            return Err(format!("{} is not a registered keeper", beat.from));
        }
        let mut heard = self.heard.lock().expect("heard");
        let entry = heard.entry(beat.from).or_default();
        if beat.issued_at <= entry.last_issued_ms {
            return Err("replayed heartbeat".into());
        }
        if entry.alerted {
            tracing::info!(peer = %beat.from, "peer back online");
        }
        *entry = Heard {
            last_seen_ms: Some(now_ms()),
            last_issued_ms: beat.issued_at,
            executed: beat.executed,
            attested: beat.attested,
            alerted: false,
        };
        Ok(())
    }

    /// Records that `keeper` sent a `settle` transaction that paid a receipt of `trigger_id`, just
    /// seen.
    pub fn settled_by(&self, keeper: Address, trigger_id: u64) {
        let now = now_ms();
        self.settled
            .lock()
            .expect("settled")
            .insert((keeper, trigger_id), now);
        self.settled_any
            .lock()
            .expect("settled")
            .insert(keeper, now);
    }

    /// Whether `keeper` is visibly at work on `trigger_id`: heard from within the offline
    /// threshold, and had a receipt of that trigger settled within `window`. A keeper ranked before
    /// this one that is at work is not taken over (its backlog is being settled); a silent one, or
    /// one whose receipts of this trigger do not settle (refused by co-signers, say), is.
    ///
    /// A keeper settling other triggers' receipts counts as at work on this one too while
    /// `lenient` (a takeover only just due: a burst over many triggers takes a busy performer a
    /// while to settle), never for good (security finding 7): judged from any settlement, a
    /// performer could hold back one trigger's events and never be taken over. Co-signers refuse a
    /// trigger's later receipts while an earlier event of it is unpaid, so a performer that skips
    /// an event stops settling that trigger and, once the takeover is no longer just due, is
    /// taken over.
    pub fn at_work(
        &self,
        keeper: Address,
        trigger_id: u64,
        window: Duration,
        lenient: bool,
    ) -> bool {
        let now = now_ms();
        let recent = |t: u64| now.saturating_sub(t) <= window.as_millis() as u64;
        let online = self
            .heard
            .lock()
            .expect("heard")
            .get(&keeper)
            .and_then(|h| h.last_seen_ms)
            .is_some_and(|t| now.saturating_sub(t) <= self.config.offline_after.as_millis() as u64);
        let on_this = self
            .settled
            .lock()
            .expect("settled")
            .get(&(keeper, trigger_id))
            .is_some_and(|t| recent(*t));
        let on_any = || {
            self.settled_any
                .lock()
                .expect("settled")
                .get(&keeper)
                .is_some_and(|t| recent(*t))
        };
        online && (on_this || (lenient && on_any()))
    }

    /// Every registered keeper, this one included, as `GET /v1/peers` shows them.
    pub fn view(&self, own: (u64, u64)) -> Vec<PeerView> {
        let now = now_ms();
        let peers = self.peers.read().expect("peers");
        let heard = self.heard.lock().expect("heard");
        peers
            .all()
            .map(|k| {
                let is_self = k.address == self.me;
                let h = heard.get(&k.address).cloned().unwrap_or_default();
                let (executed, attested) = if is_self {
                    own
                } else {
                    (h.executed, h.attested)
                };
                let last_seen = if is_self { Some(now) } else { h.last_seen_ms };
                PeerView {
                    address: k.address,
                    endpoint: k.endpoint.clone(),
                    active: peers.is_active(k, now / 1_000),
                    online: last_seen.is_some_and(|t| {
                        now.saturating_sub(t) <= self.config.offline_after.as_millis() as u64
                    }),
                    last_seen: last_seen.and_then(|t| {
                        jiff::Timestamp::from_millisecond(t as i64)
                            .ok()
                            .map(|t| t.to_string())
                    }),
                    executed,
                    attested,
                    is_self,
                }
            })
            .collect()
    }

    /// The active peers silent for longer than the alert threshold and not yet alerted about;
    /// marks them alerted.
    fn newly_offline(&self) -> Vec<(Address, u64)> {
        let now = now_ms();
        let threshold = self.config.alert_after.as_millis() as u64;
        let peers = self.peers.read().expect("peers");
        let mut heard = self.heard.lock().expect("heard");
        let mut out = Vec::new();
        for k in peers.active_at(now / 1_000) {
            if k.address == self.me {
                continue;
            }
            let h = heard.entry(k.address).or_default();
            let since = h.last_seen_ms.unwrap_or(self.started_ms);
            if !h.alerted && now.saturating_sub(since) > threshold {
                h.alerted = true;
                out.push((k.address, now - since));
            }
        }
        out
    }
}

/// Sends heartbeats to every other registered keeper, forever.
pub async fn send_heartbeats(
    health: Arc<Health>,
    signer: PrivateKeySigner,
    store: Store,
    http: Outbound,
) {
    let mut tick = tokio::time::interval(health.config.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_issued = 0;
    loop {
        tick.tick().await;
        let (executed, attested) = store.network_counts().await.unwrap_or_default();
        let targets: BTreeMap<Address, String> = health
            .peers
            .read()
            .expect("peers")
            .all()
            .filter(|k| k.address != health.me)
            .map(|k| (k.address, k.endpoint.clone()))
            .collect();
        for (peer, endpoint) in targets {
            let issued_at = now_ms().max(last_issued + 1);
            last_issued = issued_at;
            let digest = message_digest(
                health.domain,
                HEARTBEAT,
                peer,
                issued_at,
                heartbeat_content(executed, attested),
            );
            let Ok(signature) = sign(&signer, &digest) else {
                continue;
            };
            let beat = Heartbeat {
                from: health.me,
                to: peer,
                issued_at,
                executed,
                attested,
                signature,
            };
            let url = format!("{}/v1/peer/heartbeat", endpoint.trim_end_matches('/'));
            let post = match http.post(&url) {
                Ok(post) => post.json(&beat),
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "heartbeat not sent");
                    continue;
                }
            };
            let http = http.clone();
            tokio::spawn(async move {
                if let Err(e) = http.send(post).await {
                    tracing::debug!(%peer, error = %e, "heartbeat not delivered");
                }
            });
        }
    }
}

/// Posts `alert` (JSON) to the operator's alert webhook.
pub(crate) async fn post_alert(
    http: &Outbound,
    url: &str,
    alert: &serde_json::Value,
) -> Result<(), String> {
    let post = http.post(url).map_err(|e| e.to_string())?;
    http.send(post.json(alert))
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Watches for peers offline longer than the threshold and posts an alert for each, once per
/// outage.
pub async fn watch_offline(health: Arc<Health>, http: Outbound) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        for (peer, silent_ms) in health.newly_offline() {
            tracing::warn!(%peer, silent_ms, "peer offline");
            let Some(url) = &health.config.alert_webhook else {
                continue;
            };
            let alert = json!({
                "alert": "keeper_offline",
                "keeper": peer,
                "observer": health.me,
                "offline_for_ms": silent_ms,
                "threshold_ms": health.config.alert_after.as_millis() as u64,
            });
            if let Err(e) = post_alert(&http, url, &alert).await {
                tracing::warn!(%peer, error = %e, "posting the offline alert");
            }
        }
    }
}
