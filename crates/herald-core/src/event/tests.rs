//! Unit tests of the event module: ids and their positions, the CloudEvents form and the TTL.

use std::collections::BTreeMap;

use alloy_primitives::B256;
use jiff::Timestamp;
use proptest::prelude::*;
use serde_json::json;
use uuid::Uuid;

use super::{CloudEventError, DropReason, DropTally, Event, EventId, LogPosition, Ttl};

fn sample() -> Event {
    Event {
        id: EventId::from_uuid(
            Uuid::parse_str("0190b2a4-6f2e-7c3a-8b1d-2e4f6a8c0e12").expect("uuid"),
        ),
        kind: "order.created".into(),
        source: "/v1/events/orders".into(),
        subject: Some("order-42".into()),
        time: "2026-11-23T10:00:00.123456789Z".parse().expect("time"),
        content_type: Some("application/json".into()),
        data_schema: Some("https://example.com/order.json".into()),
        ttl: Ttl {
            max_hops: 3,
            hops: 1,
            expires_at: Some("2026-11-24T00:00:00Z".parse().expect("time")),
        },
        data: json!({"amount": "1000000000000000000000", "items": [1, 2]}),
        extensions: BTreeMap::from([("traceparent".to_string(), json!("00-abc-def-01"))]),
    }
}

#[test]
fn cloudevent_round_trip_is_lossless() {
    let event = sample();
    let json = event.to_cloudevent();
    assert_eq!(json["specversion"], "1.0");
    assert_eq!(json["type"], "order.created");
    assert_eq!(json["id"], "0190b2a4-6f2e-7c3a-8b1d-2e4f6a8c0e12");
    assert_eq!(json["heraldhops"], 1);
    assert_eq!(json["traceparent"], "00-abc-def-01");
    assert_eq!(Event::from_cloudevent(&json).expect("parses"), event);
}

#[test]
fn cloudevent_errors_name_the_attribute() {
    let mut json = sample().to_cloudevent();
    json.as_object_mut().expect("object").remove("source");
    assert_eq!(
        Event::from_cloudevent(&json),
        Err(CloudEventError::Missing("source"))
    );

    let mut json = sample().to_cloudevent();
    json["time"] = json!("yesterday");
    let err = Event::from_cloudevent(&json)
        .expect_err("bad time")
        .to_string();
    assert!(
        err.starts_with("attribute `time` is not an RFC 3339 time"),
        "{err}"
    );

    let mut json = sample().to_cloudevent();
    json["heraldhops"] = json!(-1);
    assert!(matches!(
        Event::from_cloudevent(&json),
        Err(CloudEventError::WrongType {
            attribute: "heraldhops",
            ..
        })
    ));

    let mut json = sample().to_cloudevent();
    json["specversion"] = json!("0.3");
    assert!(matches!(
        Event::from_cloudevent(&json),
        Err(CloudEventError::UnsupportedSpecVersion(_))
    ));
    assert_eq!(
        Event::from_cloudevent(&json!([1])),
        Err(CloudEventError::NotAnObject)
    );
}

fn at(block_number: u64, tx_index: u64, log_index_in_tx: u64) -> LogPosition {
    LogPosition {
        chain_id: 31337,
        block_number,
        tx_index,
        log_index_in_tx,
    }
}

#[test]
fn chain_ids_carry_block_transaction_and_log_position() {
    let id = |at, block: u8| {
        EventId::from_log(at, B256::repeat_byte(block), B256::repeat_byte(7)).expect("fits")
    };
    let a = id(at(100, 2, 5), 1);
    let b = id(at(100, 2, 6), 1);
    let c = id(at(100, 3, 0), 1);
    let d = id(at(101, 0, 0), 3);
    assert_eq!(a.position(), (100 << 28) | (2 << 14) | 5);
    assert!(
        a < b && b < c && c < d,
        "ids of one chain sort in log order"
    );
    assert_eq!(a.log_position(), Some(at(100, 2, 5)));
    let reorged = id(at(100, 2, 5), 9);
    assert_ne!(a, reorged, "another block hash is another event");
    assert_eq!(a.position(), reorged.position());
    assert_eq!(a.as_uuid(), None);
    assert_eq!(a.to_string().parse::<EventId>().expect("parses"), a);
    assert_eq!(EventId::new_v7().log_position(), None);
}

#[test]
fn chain_ids_refuse_positions_that_do_not_fit() {
    let hash = B256::repeat_byte(1);
    assert!(EventId::from_log(at(1 << 36, 0, 0), hash, hash).is_none());
    assert!(EventId::from_log(at(1, 1 << 14, 0), hash, hash).is_none());
    assert!(EventId::from_log(at(1, 0, 1 << 14), hash, hash).is_none());
    let last = at((1 << 36) - 1, (1 << 14) - 1, (1 << 14) - 1);
    let id = EventId::from_log(last, hash, hash).expect("the largest position fits");
    assert_eq!(id.position(), u64::MAX);
    assert_eq!(id.log_position(), Some(last));
}

#[test]
fn v7_ids_are_time_ordered_and_round_trip() {
    let ids: Vec<EventId> = (0..1000).map(|_| EventId::new_v7()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "monotonic within a process"
    );
    assert!(ids.windows(2).all(|w| w[0].position() <= w[1].position()));
    let text = ids[0].to_string();
    assert_eq!(text.len(), 36);
    assert_eq!(text.parse::<EventId>().expect("parses"), ids[0]);
    assert!(matches!(
        "nope".parse::<EventId>(),
        Err(CloudEventError::InvalidId(_))
    ));
}

#[test]
fn ttl_drops_expired_and_over_hopped_events() {
    let mut event = sample();
    let before: Timestamp = "2026-11-23T12:00:00Z".parse().expect("time");
    let after: Timestamp = "2026-11-25T00:00:00Z".parse().expect("time");
    assert_eq!(event.check_alive(after), Err(DropReason::Expired));
    let next = event.forwarded(before).expect("may hop");
    assert_eq!(next.ttl.hops, 2);
    event.ttl.hops = 3;
    assert_eq!(event.forwarded(before), Err(DropReason::TooManyHops));
    let mut tally = DropTally::default();
    tally.record(DropReason::Expired);
    tally.record(DropReason::TooManyHops);
    tally.record(DropReason::TooManyHops);
    assert_eq!(
        tally,
        DropTally {
            expired: 1,
            too_many_hops: 2
        }
    );
    assert_eq!(DropReason::TooManyHops.as_str(), "too_many_hops");
}

proptest! {
    #[test]
    fn any_event_round_trips(
        kind in "[a-z][a-z.]{0,20}",
        source in "/[a-z/]{0,20}",
        hops in 0u32..10,
        max_hops in 0u32..10,
        amount in any::<u128>(),
        subject in proptest::option::of("[a-z0-9-]{1,12}"),
    ) {
        let mut event = Event::new(kind, source, json!({"amount": amount.to_string(), "n": hops}));
        event.subject = subject;
        event.ttl = Ttl { max_hops, hops, expires_at: None };
        prop_assert_eq!(Event::from_cloudevent(&event.to_cloudevent()).expect("parses"), event);
    }
}
