//! Whether a log of this chain is final enough to sign a receipt of (`chain.sign_at`).
//!
//! A signed receipt of a log of the settlement chain can be challenged, and only a proof that the
//! log is in a block of the chain answers the challenge: a log that a reorganisation removed after
//! it was signed cannot be proven, and its signers lose their bonds as if they had fabricated it.
//! The confirmation depth bounds the reorgs a keeper survives; the node's `finalized` block is
//! what the chain's consensus promises never to reorganise. So a keeper signs, as performer and as
//! co-signer, only logs at or below it. The execution does not wait: only the signature does.

use alloy::{eips::BlockNumberOrTag, providers::Provider};

/// What a node without finality answers.
const NO_FINALIZED_BLOCK: &str =
    "the node serves no finalized block (eth_getBlockByNumber(\"finalized\") is null)";

/// The node's finalized block number (`eth_getBlockByNumber("finalized")`), or why it has none:
/// the call failed, or the node answered null (a chain or node without finality).
pub async fn finalized_block<P: Provider>(provider: &P) -> Result<u64, String> {
    match provider
        .get_block_by_number(BlockNumberOrTag::Finalized)
        .await
    {
        Ok(Some(block)) => Ok(block.header.number),
        Ok(None) => Err(NO_FINALIZED_BLOCK.into()),
        Err(e) => Err(format!("reading the node's finalized block: {e}")),
    }
}

/// Why a log in `block` may not be signed yet, given what [`finalized_block`] found; `None` when
/// it is final. A node without a finalized block makes nothing final: signing at the depth
/// instead would be the risk `chain.sign_at = "finalized"` is there to refuse.
pub fn not_final(block: u64, finalized: &Result<u64, String>) -> Option<String> {
    match finalized {
        Ok(finalized) if block <= *finalized => None,
        Ok(finalized) => Some(format!(
            "block {block} is not final yet (the node's finalized block is {finalized})"
        )),
        Err(why) => Some(format!("block {block} cannot be known final: {why}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_is_final_at_or_below_the_finalized_block_and_never_without_one() {
        assert_eq!(not_final(9, &Ok(10)), None);
        assert_eq!(
            not_final(10, &Ok(10)),
            None,
            "the finalized block itself is final"
        );
        assert_eq!(
            not_final(11, &Ok(10)).as_deref(),
            Some("block 11 is not final yet (the node's finalized block is 10)")
        );
        let none = not_final(1, &Err("the node serves no finalized block".into()));
        assert_eq!(
            none.as_deref(),
            Some("block 1 cannot be known final: the node serves no finalized block")
        );
    }

    /// A node that cannot be asked is no licence to sign at the depth.
    #[tokio::test]
    async fn an_unreachable_node_makes_nothing_final() {
        let url = "http://127.0.0.1:9".parse().expect("url");
        let provider = alloy::providers::ProviderBuilder::new().connect_http(url);
        let finalized = finalized_block(&provider).await;
        assert!(
            finalized
                .as_ref()
                .is_err_and(|why| why.starts_with("reading the node's finalized block")),
            "{finalized:?}"
        );
        let why = not_final(1, &finalized).expect("not final");
        assert!(
            why.starts_with("block 1 cannot be known final: reading"),
            "{why}"
        );
    }
}
