//! Asking peers to co-sign: the performer's side of attestation.

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
use tokio::task::JoinSet;

use super::{
    attest::now_ms,
    peers::Peers,
    protocol::{
        ATTEST, AttestRequest, AttestResponse, Attestable, Domain, EventSource, Refusal,
        http_event_digest, message_digest, sign,
    },
};
use crate::cosign::{CosignError, Cosigner};

/// Collects a quorum of co-signatures from the other active keepers.
pub struct NetworkCosigner {
    signer: PrivateKeySigner,
    domain: Domain,
    peers: Arc<RwLock<Peers>>,
    http: reqwest::Client,
    /// The last request time used: each request gets a later one, so none looks like a replay.
    last_issued: AtomicU64,
    #[cfg(feature = "byzantine")]
    fault: super::fault::Fault,
}

impl NetworkCosigner {
    /// Signs as `signer` and asks the peers in `peers`, waiting at most `timeout` for each.
    pub fn new(
        signer: PrivateKeySigner,
        domain: Domain,
        peers: Arc<RwLock<Peers>>,
        timeout: Duration,
    ) -> Self {
        Self {
            signer,
            domain,
            peers,
            http: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .expect("an HTTP client"),
            last_issued: AtomicU64::new(0),
            #[cfg(feature = "byzantine")]
            fault: super::fault::Fault::from_env(),
        }
    }

    /// The request asking `to` to co-sign `batch`.
    fn request(
        &self,
        to: Address,
        digest: B256,
        batch: &[Attestable],
        batch_signature: &Bytes,
    ) -> Result<AttestRequest, alloy::signers::Error> {
        let now = now_ms();
        let issued_at = match self.last_issued.fetch_max(now, Ordering::SeqCst) {
            last if last >= now => self.last_issued.fetch_add(1, Ordering::SeqCst) + 1,
            _ => now,
        };
        let envelope = message_digest(self.domain, ATTEST, to, issued_at, digest);
        Ok(AttestRequest {
            from: self.signer.address(),
            to,
            issued_at,
            receipts: batch.to_vec(),
            batch_signature: batch_signature.clone(),
            signature: sign(&self.signer, &envelope)?,
        })
    }

    /// Sends one request; the co-signer's signature, checked, or why there is none.
    async fn ask(
        http: reqwest::Client,
        endpoint: String,
        peer: Address,
        digest: B256,
        request: AttestRequest,
    ) -> Result<Bytes, String> {
        let url = format!("{}/v1/peer/attest", endpoint.trim_end_matches('/'));
        let response = http
            .post(&url)
            .json(&request)
            .send()
            .await
            .map_err(|e| format!("{peer} at {url}: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            let refusal = response
                .json::<Refusal>()
                .await
                .map(|r| format!("{}: {:?}", r.error, r.receipts))
                .unwrap_or_else(|e| format!("unreadable answer: {e}"));
            return Err(format!("{peer} refused ({status}): {refusal}"));
        }
        let answer: AttestResponse = response
            .json()
            .await
            .map_err(|e| format!("{peer}: unreadable answer: {e}"))?;
        if answer.signer != peer || recover_signer(&digest, &answer.signature) != Some(peer) {
            return Err(format!(
                "{peer} answered with a signature that is not its own"
            ));
        }
        Ok(answer.signature)
    }

    /// Completes the evidence this keeper vouches for as connector: its signature on HTTP events.
    fn sign_http_events(&self, batch: &[Attestable]) -> Result<Vec<Attestable>, CosignError> {
        batch
            .iter()
            .map(|item| {
                let mut item = item.clone();
                if let EventSource::Http { event, signature } = &mut item.source
                    && signature.is_empty()
                {
                    *signature = sign(&self.signer, &http_event_digest(self.domain, event))?;
                }
                Ok(item)
            })
            .collect()
    }
}

impl Cosigner for NetworkCosigner {
    async fn cosign(&self, digest: B256, batch: &[Attestable]) -> Result<Vec<Bytes>, CosignError> {
        let batch = self.sign_http_events(batch)?;
        let me = self.signer.address();
        let (_, own) = sign_digest(&self.signer, &digest)?;
        let mut signed = vec![(me, own.clone())];
        let now = now_ms() / 1_000;
        // The quorum and the peers as of the registry's logs this keeper has read.
        let (quorum, peers): (usize, Vec<(Address, String)>) = {
            let peers = self.peers.read().expect("peers");
            let others = peers
                .active_at(now)
                .into_iter()
                .filter(|k| k.address != me)
                .map(|k| (k.address, k.endpoint.clone()))
                .collect();
            (peers.quorum(), others)
        };
        let mut asking = JoinSet::new();
        for (peer, endpoint) in &peers {
            let request = self.request(*peer, digest, &batch, &own)?;
            asking.spawn(Self::ask(
                self.http.clone(),
                endpoint.clone(),
                *peer,
                digest,
                request,
            ));
        }
        #[cfg(feature = "byzantine")]
        self.fault.after_asking(self, &batch, &peers).await;
        let mut refusals = Vec::new();
        while signed.len() < quorum {
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
        if signed.len() < quorum {
            for reason in &refusals {
                tracing::warn!(%reason, "co-signature refused");
            }
            return Err(CosignError::Quorum {
                got: signed.len(),
                needed: quorum,
            });
        }
        // The other requests are dropped: their signatures are not needed.
        Ok(order_signatures(signed))
    }
}

#[cfg(feature = "byzantine")]
impl NetworkCosigner {
    /// Sends `batch` to every peer as a signed request (for the byzantine test modes).
    pub(super) async fn send_to_all(&self, batch: &[Attestable], peers: &[(Address, String)]) {
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
            if let Ok(request) = self.request(*peer, digest, batch, &own) {
                let _ =
                    Self::ask(self.http.clone(), endpoint.clone(), *peer, digest, request).await;
            }
        }
    }
}
