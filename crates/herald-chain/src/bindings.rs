//! Contract bindings generated from the committed artifacts in `abi/`.
#![allow(missing_docs, clippy::too_many_arguments)] // generated code mirrors the ABI

use alloy::sol;

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    Herald,
    "../../abi/Herald.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    HeraldChallenges,
    "../../abi/HeraldChallenges.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    HeraldTestToken,
    "../../abi/HeraldTestToken.json"
);

// The contract's shared types (`RejectReason` among them), read from their source: names the ABI
// JSON does not keep (it types an enum as `uint8`).
sol!(
    #[sol(all_derives)]
    "../../contracts/src/HeraldTypes.sol"
);
