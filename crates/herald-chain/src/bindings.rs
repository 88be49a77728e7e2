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
