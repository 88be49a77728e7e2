//! Unit tests, one submodule per idea; here: an envelope opens for its recipients, in its context.

mod fixtures;
mod keys;
mod limits;
mod malformed;
mod round_trip;
mod secrecy;
mod tamper;

use crate::{Context, EncryptionKey, OpenError};
use fixtures::{address, context, keepers, seal};

// docs/security.md cites `tests::other_context_opens_nowhere` by path, so it stays here rather
// than in a submodule; the recipient check beside it is the same question asked of the address.

#[test]
fn non_recipient_cannot_open() {
    let keepers = keepers(2);
    let envelope = seal(&keepers);
    let outsider = EncryptionKey::generate();
    assert_eq!(
        envelope.open(&context(), address(50), &outsider).err(),
        Some(OpenError::NotARecipient {
            address: address(50)
        })
    );
    // Claiming a recipient's address does not help without its key.
    assert_eq!(
        envelope.open(&context(), keepers[0].0, &outsider).err(),
        Some(OpenError::Rejected)
    );
    // Nor does another recipient's key.
    assert_eq!(
        envelope.open(&context(), keepers[0].0, &keepers[1].1).err(),
        Some(OpenError::Rejected)
    );
}

#[test]
fn other_context_opens_nowhere() {
    let keepers = keepers(1);
    let envelope = seal(&keepers);
    let (me, key) = (&keepers[0].0, &keepers[0].1);
    let base = context();
    for other in [
        Context {
            owner: address(9_002),
            ..base
        },
        Context {
            chain_id: 1,
            ..base
        },
        Context {
            herald: address(9_003),
            ..base
        },
        // Another trigger of the same owner: an owner contract several users share.
        Context { trigger: 8, ..base },
    ] {
        assert_eq!(
            envelope.open(&other, *me, key).err(),
            Some(OpenError::Rejected)
        );
    }
}
