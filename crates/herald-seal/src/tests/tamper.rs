//! Tampering: flipped bytes, swapped or moved wraps and dropped recipients never open.

use super::fixtures::{context, keepers, pairs, recipients, seal, secrets, slot};
use crate::{Envelope, OpenError, Secrets};

#[test]
fn every_single_byte_flip_is_caught() {
    let keepers = keepers(2);
    let original = pairs(&secrets());
    // One recipient: every flip must fail to parse or fail to open.
    let single = seal(&keepers[..1]).to_bytes();
    for position in 0..single.len() {
        for mask in [0x01u8, 0x80, 0xFF] {
            let mut bytes = single.clone();
            bytes[position] ^= mask;
            if let Ok(envelope) = Envelope::from_bytes(&bytes) {
                assert!(
                    envelope
                        .open(&context(), keepers[0].0, &keepers[0].1)
                        .is_err(),
                    "flip {mask:#04x} at byte {position} still opened"
                );
            }
        }
    }
    // Two recipients: a flip in the other's wrapped key cannot be noticed (it is the other's),
    // but no flip may yield different secrets, and every flip breaks someone.
    let double = seal(&keepers).to_bytes();
    for position in 0..double.len() {
        let mut bytes = double.clone();
        bytes[position] ^= 0x01;
        let Ok(envelope) = Envelope::from_bytes(&bytes) else {
            continue;
        };
        let mut someone_failed = false;
        for (address, key) in &keepers {
            match envelope.open(&context(), *address, key) {
                Ok(opened) => assert_eq!(pairs(&opened), original, "byte {position}"),
                Err(_) => someone_failed = true,
            }
        }
        assert!(someone_failed, "flip at byte {position} went unnoticed");
    }
}

#[test]
fn swapped_wraps_fail() {
    let keepers = keepers(2);
    let bytes = seal(&keepers).to_bytes();
    // Swap encapsulated key and wrapped key, keeping the addresses in place.
    let mut swapped = bytes.clone();
    let (a, b) = (slot(0), slot(1));
    swapped[a.start + 20..a.end].copy_from_slice(&bytes[b.start + 20..b.end]);
    swapped[b.start + 20..b.end].copy_from_slice(&bytes[a.start + 20..a.end]);
    let envelope = Envelope::from_bytes(&swapped).expect("still well-formed");
    for (address, key) in &keepers {
        assert_eq!(
            envelope.open(&context(), *address, key).err(),
            Some(OpenError::Rejected)
        );
    }
    // Swapping whole slots (reordering recipients) fails too: the body binds the order.
    let mut reordered = bytes.clone();
    reordered[a.clone()].copy_from_slice(&bytes[b.clone()]);
    reordered[b].copy_from_slice(&bytes[a]);
    let envelope = Envelope::from_bytes(&reordered).expect("still well-formed");
    for (address, key) in &keepers {
        assert_eq!(
            envelope.open(&context(), *address, key).err(),
            Some(OpenError::Rejected)
        );
    }
}

#[test]
fn removing_a_recipient_fails_for_the_rest() {
    let keepers = keepers(3);
    let bytes = seal(&keepers).to_bytes();
    let mut shorter = vec![bytes[0], 0, 2];
    shorter.extend_from_slice(&bytes[slot(0)]);
    shorter.extend_from_slice(&bytes[slot(2).start..]);
    let envelope = Envelope::from_bytes(&shorter).expect("still well-formed");
    assert!(!envelope.is_for(keepers[1].0));
    for i in [0, 2] {
        assert_eq!(
            envelope.open(&context(), keepers[i].0, &keepers[i].1).err(),
            Some(OpenError::Rejected)
        );
    }
}

#[test]
fn wrap_moved_to_another_envelope_fails() {
    let keepers = keepers(1);
    let first = seal(&keepers).to_bytes();
    let mut other_secrets = Secrets::new();
    other_secrets
        .insert("webhook_secret", "whsec_attacker_chosen_value_0000")
        .expect("valid");
    let second = Envelope::seal(&other_secrets, &context(), &recipients(&keepers))
        .expect("seals")
        .to_bytes();
    // First's slot (same recipient) on second's body, and the other way round.
    for (wrap_from, body_from) in [(&first, &second), (&second, &first)] {
        let mut spliced = body_from[..3].to_vec();
        spliced.extend_from_slice(&wrap_from[slot(0)]);
        spliced.extend_from_slice(&body_from[slot(0).end..]);
        let envelope = Envelope::from_bytes(&spliced).expect("still well-formed");
        assert_eq!(
            envelope.open(&context(), keepers[0].0, &keepers[0].1).err(),
            Some(OpenError::Rejected)
        );
    }
}
