//! Asking peers to co-sign: the performer's side of attestation.
//!
//! Peers' endpoints are whatever they registered on chain, so requests go through the outbound
//! client (`herald_services::outbound`): targets checked when dialed (loopback and private ones only
//! when the keeper allows private targets, as the devnet does), no redirects, and at most
//! [`ANSWER_LIMIT`] bytes of an answer read.

use std::{
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use alloy::{
    primitives::{Address, B256, Bytes},
    signers::local::PrivateKeySigner,
};
use herald_chain::receipt::{order_signatures, recover_signer, sign_digest};
use herald_services::outbound::{Outbound, OutboundConfig, read_capped};
use serde::de::DeserializeOwned;
use tokio::task::JoinSet;

use super::{
    attest::now_ms,
    peers::Peers,
    protocol::{
        AttestBody, AttestRequest, AttestResponse, Attestable, Domain, EventSource, Refusal,
    },
};
use crate::{
    conduct::{Conduct, Honest},
    cosign::{CosignError, Cosigner},
};

/// The most of a peer's answer read: a signature, or a refusal with a reason per receipt.
pub const ANSWER_LIMIT: usize = 1 << 20;

/// Collects a quorum of co-signatures from the other active keepers.
pub struct NetworkCosigner {
    signer: PrivateKeySigner,
    domain: Domain,
    peers: Arc<RwLock<Peers>>,
    http: Outbound,
    /// The last request time used: each request gets a later one, so none looks like a replay.
    last_issued: AtomicU64,
    conduct: Arc<dyn Conduct>,
}

impl NetworkCosigner {
    /// Signs as `signer` and asks the peers in `peers`, waiting at most `timeout` for each; peers
    /// on loopback or private addresses are asked only when `allow_private_targets`.
    pub fn new(
        signer: PrivateKeySigner,
        domain: Domain,
        peers: Arc<RwLock<Peers>>,
        timeout: Duration,
        allow_private_targets: bool,
    ) -> Self {
        Self {
            signer,
            domain,
            peers,
            http: Outbound::new(&OutboundConfig {
                timeout,
                allow_private_targets,
                ..OutboundConfig::default()
            }),
            last_issued: AtomicU64::new(0),
            conduct: Arc::new(Honest),
        }
    }

    /// Asks as `conduct` decides (see [`Conduct`]).
    pub fn with_conduct(mut self, conduct: Arc<dyn Conduct>) -> Self {
        self.conduct = conduct;
        self
    }

    /// The request asking `to` to co-sign `batch`.
    fn request(
        &self,
        to: Address,
        batch: &[Attestable],
        batch_signature: &Bytes,
    ) -> Result<AttestRequest, alloy::signers::Error> {
        let now = now_ms();
        let issued_at = match self.last_issued.fetch_max(now, Ordering::SeqCst) {
            last if last >= now => self.last_issued.fetch_add(1, Ordering::SeqCst) + 1,
            _ => now,
        };
        let body = AttestBody {
            receipts: batch.to_vec(),
            batch_signature: batch_signature.clone(),
        };
        AttestRequest::new(&self.signer, self.domain, to, issued_at, &body)
    }

    /// Sends one request; the co-signer's signature, checked, or why there is none.
    async fn ask(
        http: Outbound,
        endpoint: String,
        peer: Address,
        digest: B256,
        request: AttestRequest,
    ) -> Result<Bytes, String> {
        let url = format!("{}/v1/peer/attest", endpoint.trim_end_matches('/'));
        let post = http
            .post(&url)
            .map_err(|e| format!("{peer} at {url}: {e}"))?
            .headers(request.headers.to_header_map())
            .body(request.body);
        let response = http
            .send(post)
            .await
            .map_err(|e| format!("{peer} at {url}: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            let refusal = read_json::<Refusal>(response)
                .await
                .map(|r| format!("{}: {:?}", r.error, r.receipts))
                .unwrap_or_else(|e| format!("unreadable answer: {e}"));
            return Err(format!("{peer} refused ({status}): {refusal}"));
        }
        let answer: AttestResponse = read_json(response)
            .await
            .map_err(|e| format!("{peer}: unreadable answer: {e}"))?;
        if answer.signer != peer || recover_signer(&digest, &answer.signature) != Some(peer) {
            return Err(format!(
                "{peer} answered with a signature that is not its own"
            ));
        }
        Ok(answer.signature)
    }

    /// Completes the evidence of API events: the emitter's signature, which the stored event
    /// carries, travels beside it. This keeper adds no signature of its own: as the keeper an
    /// event was posted to, it vouches for nothing.
    fn with_emitter_signatures(batch: &[Attestable]) -> Vec<Attestable> {
        batch
            .iter()
            .map(|item| {
                let mut item = item.clone();
                if let EventSource::Http { event, signature } = &mut item.source
                    && signature.is_empty()
                    && let Some(carried) = event
                        .get(herald_api::signing::SIGNATURE_EXTENSION)
                        .and_then(|s| s.as_str())
                        .and_then(|s| s.parse::<Bytes>().ok())
                {
                    *signature = carried;
                }
                item
            })
            .collect()
    }
}

impl Cosigner for NetworkCosigner {
    async fn cosign(&self, digest: B256, batch: &[Attestable]) -> Result<Vec<Bytes>, CosignError> {
        let batch = Self::with_emitter_signatures(batch);
        let me = self.signer.address();
        let (_, own) = sign_digest(&self.signer, &digest)?;
        let mut signed = vec![(me, own.clone())];
        let now = now_ms() / 1_000;
        // The registry (quorum, bonds) and the peers as of the logs this keeper has read.
        let (registry, peers): (super::peers::Peers, Vec<(Address, String)>) = {
            let registry = self.peers.read().expect("peers").clone();
            let others = registry
                .active_at(now)
                .into_iter()
                .filter(|k| k.address != me)
                .map(|k| (k.address, k.endpoint.clone()))
                .collect();
            (registry, others)
        };
        let reached = |signed: &[(Address, Bytes)]| {
            let signers: Vec<Address> = signed.iter().map(|(a, _)| *a).collect();
            registry.reached(&signers, now)
        };
        let mut asking = JoinSet::new();
        for (peer, endpoint) in &peers {
            let request = self.request(*peer, &batch, &own)?;
            asking.spawn(Self::ask(
                self.http.clone(),
                endpoint.clone(),
                *peer,
                digest,
                request,
            ));
        }
        if let Some(other) = self.conduct.also_asks(&batch) {
            self.send_to_all(&other, &peers).await;
        }
        let mut refusals = Vec::new();
        while !reached(&signed) {
            let Some(answer) = asking.join_next().await else {
                break;
            };
            match answer {
                Ok(Ok(signature)) => {
                    if let Some(peer) = recover_signer(&digest, &signature) {
                        signed.push((peer, signature));
                    }
                }
                Ok(Err(reason)) => refusals.push(reason),
                Err(e) => refusals.push(e.to_string()),
            }
        }
        if !reached(&signed) {
            for reason in &refusals {
                tracing::warn!(%reason, "co-signature refused");
            }
            return Err(CosignError::Quorum {
                got: signed.len(),
                needed: registry.quorum().min_signers,
            });
        }
        // The other requests are dropped: their signatures are not needed.
        Ok(order_signatures(signed))
    }
}

/// A peer's JSON answer, read up to [`ANSWER_LIMIT`] bytes.
pub(super) async fn read_json<T: DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, String> {
    let body = read_capped(response, ANSWER_LIMIT)
        .await
        .map_err(|e| e.to_string())?;
    if body.truncated {
        return Err(format!("longer than {ANSWER_LIMIT} bytes"));
    }
    serde_json::from_slice(&body.bytes).map_err(|e| e.to_string())
}

impl NetworkCosigner {
    /// Asks every peer to co-sign `batch`, one after another, ignoring the answers: a second
    /// batch a faulty [`Conduct`] sends.
    async fn send_to_all(&self, batch: &[Attestable], peers: &[(Address, String)]) {
        let receipts: Vec<_> = batch
            .iter()
            .filter_map(|a| a.receipt.to_receipt())
            .collect();
        let digest = herald_chain::receipt::batch_digest(
            &herald_chain::receipt::domain(self.domain.chain_id, self.domain.herald),
            &receipts,
        );
        let Ok((_, own)) = sign_digest(&self.signer, &digest) else {
            return;
        };
        for (peer, endpoint) in peers {
            if let Ok(request) = self.request(*peer, batch, &own) {
                let _ =
                    Self::ask(self.http.clone(), endpoint.clone(), *peer, digest, request).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! `ask` against peers on 127.0.0.1 (nothing else is ever dialed).

    use std::sync::atomic::AtomicUsize;

    use axum::{
        Router,
        http::{StatusCode, header::LOCATION},
        response::IntoResponse,
        routing::post,
    };

    use super::*;
    use crate::network::protocol::AttestBody;

    /// A peer on loopback answering every request with `answer`; counts the requests.
    async fn peer<R: IntoResponse + Clone + Send + Sync + 'static>(
        answer: R,
    ) -> (String, Arc<AtomicUsize>) {
        let hits = Arc::new(AtomicUsize::new(0));
        let count = hits.clone();
        let app = Router::new().fallback(post(move || {
            count.fetch_add(1, Ordering::SeqCst);
            let answer = answer.clone();
            async move { answer }
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        (endpoint, hits)
    }

    async fn ask(endpoint: &str, allow_private_targets: bool) -> Result<Bytes, String> {
        let signer = PrivateKeySigner::random();
        let domain = Domain {
            chain_id: 1,
            herald: Address::ZERO,
        };
        let body = AttestBody {
            receipts: Vec::new(),
            batch_signature: Bytes::new(),
        };
        let request =
            AttestRequest::new(&signer, domain, Address::ZERO, 1, &body).expect("a request");
        let http = Outbound::new(&OutboundConfig {
            timeout: Duration::from_secs(5),
            allow_private_targets,
            ..OutboundConfig::default()
        });
        NetworkCosigner::ask(
            http,
            endpoint.to_string(),
            Address::ZERO,
            B256::ZERO,
            request,
        )
        .await
    }

    #[tokio::test]
    async fn a_peer_on_loopback_is_asked_only_when_private_targets_are_allowed() {
        let (endpoint, hits) = peer((StatusCode::UNPROCESSABLE_ENTITY, "{\"error\":\"no\"}")).await;
        let refused = ask(&endpoint, false).await.expect_err("refused");
        assert!(refused.contains("non-public address"), "{refused}");
        assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing was sent");
        let answered = ask(&endpoint, true).await.expect_err("the peer refuses");
        assert!(answered.contains("422"), "{answered}");
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_peer_redirect_is_not_followed() {
        let (elsewhere, followed) = peer(StatusCode::OK).await;
        let (endpoint, _) = peer((StatusCode::FOUND, [(LOCATION, format!("{elsewhere}/x"))])).await;
        let err = ask(&endpoint, true).await.expect_err("not a signature");
        assert!(err.contains("302"), "{err}");
        assert_eq!(followed.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn an_oversized_peer_answer_is_not_read_whole() {
        let (endpoint, _) = peer(vec![b' '; ANSWER_LIMIT + 1]).await;
        let err = ask(&endpoint, true).await.expect_err("too long");
        assert!(err.contains("longer than"), "{err}");
    }
}
