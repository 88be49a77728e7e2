//! What the `herald` binary a user builds does not contain.

/// The test faults live in the integration tests' own keeper binary. When they were a cargo
/// feature of `herald-keeper`, Cargo's feature unification compiled them into `herald` by any
/// workspace build that also built the tests (`cargo build --workspace`, `cargo test`), and an
/// environment variable then made a production keeper lie. Their names and messages must not be
/// in the binary.
#[test]
fn the_herald_binary_holds_no_fault_injection() {
    let path = env!("CARGO_BIN_EXE_herald");
    let binary = std::fs::read(path).expect("read the herald binary");
    for marker in [
        "HERALD_BYZANTINE",
        "HERALD_TEST_FAULT",
        "byzantine test mode",
        "delivered-elsewhere",
    ] {
        assert!(
            !contains(&binary, marker.as_bytes()),
            "{path} contains {marker:?}: fault injection ships in the binary users run"
        );
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
