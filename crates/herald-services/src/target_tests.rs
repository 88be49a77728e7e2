//! The classifier against every special-purpose range, written out by hand (not derived from the
//! tables under test), and the endpoint checks. Nothing here connects anywhere.

use super::*;

/// (range, addresses inside it: first, last, and one in between where the range is wider).
const NON_PUBLIC: &[(&str, &[&str])] = &[
    ("0.0.0.0/8", &["0.0.0.0", "0.1.2.3", "0.255.255.255"]),
    ("10.0.0.0/8", &["10.0.0.0", "10.1.2.3", "10.255.255.255"]),
    (
        "100.64.0.0/10",
        &["100.64.0.0", "100.100.100.200", "100.127.255.255"],
    ),
    (
        "127.0.0.0/8",
        &["127.0.0.1", "127.1.2.3", "127.255.255.255"],
    ),
    (
        "169.254.0.0/16",
        &["169.254.0.0", "169.254.169.254", "169.254.255.255"],
    ),
    (
        "172.16.0.0/12",
        &["172.16.0.0", "172.20.1.1", "172.31.255.255"],
    ),
    (
        "192.0.0.0/24",
        &["192.0.0.0", "192.0.0.8", "192.0.0.9", "192.0.0.255"],
    ),
    ("192.0.2.0/24", &["192.0.2.0", "192.0.2.1", "192.0.2.255"]),
    (
        "192.88.99.0/24",
        &["192.88.99.0", "192.88.99.1", "192.88.99.255"],
    ),
    (
        "192.168.0.0/16",
        &["192.168.0.0", "192.168.1.1", "192.168.255.255"],
    ),
    (
        "198.18.0.0/15",
        &["198.18.0.0", "198.18.5.5", "198.19.255.255"],
    ),
    (
        "198.51.100.0/24",
        &["198.51.100.0", "198.51.100.7", "198.51.100.255"],
    ),
    (
        "203.0.113.0/24",
        &["203.0.113.0", "203.0.113.9", "203.0.113.255"],
    ),
    (
        "224.0.0.0/4",
        &["224.0.0.1", "233.252.0.1", "239.255.255.255"],
    ),
    (
        "240.0.0.0/4",
        &["240.0.0.0", "250.1.2.3", "255.255.255.255"],
    ),
    ("::/128", &["::"]),
    ("::1/128", &["::1"]),
    (
        "::/96 IPv4-compatible",
        &["::2", "::8.8.8.8", "::127.0.0.1", "::ffff:ffff"],
    ),
    (
        "::ffff:0:0/96 mapped, private inside",
        &[
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
        ],
    ),
    (
        "::ffff:0:0:0/96 IPv4-translated",
        &[
            "::ffff:0:0:0",
            "::ffff:0:8.8.8.8",
            "::ffff:0:127.0.0.1",
            "::ffff:0:ffff:ffff",
        ],
    ),
    (
        "64:ff9b::/96 NAT64, private inside",
        &[
            "64:ff9b::127.0.0.1",
            "64:ff9b::169.254.169.254",
            "64:ff9b::a00:1",
            "64:ff9b::",
        ],
    ),
    (
        "64:ff9b:1::/48 local-use NAT64",
        &[
            "64:ff9b:1::",
            "64:ff9b:1::8.8.8.8",
            "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
        ],
    ),
    (
        "100::/64 discard",
        &["100::", "100::1", "100::ffff:ffff:ffff:ffff"],
    ),
    ("100:0:0:1::/64 dummy", &["100:0:0:1::", "100:0:0:1::1"]),
    (
        "2001::/32 Teredo",
        &[
            "2001::",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:0:ffff::1",
        ],
    ),
    (
        "2001:1::/32 PCP/TURN anycast",
        &["2001:1::1", "2001:1::2", "2001:1::3"],
    ),
    (
        "2001:2::/48 benchmarking",
        &["2001:2::", "2001:2::1", "2001:2:0:ffff::1"],
    ),
    ("2001:3::/32 AMT", &["2001:3::1"]),
    ("2001:4:112::/48 AS112-v6", &["2001:4:112::1"]),
    (
        "2001:10::/28 ORCHID",
        &["2001:10::", "2001:10::1", "2001:1f:ffff::1"],
    ),
    (
        "2001:20::/28 ORCHIDv2",
        &["2001:20::", "2001:20::1", "2001:2f:ffff::1"],
    ),
    ("2001:30::/28 DRIP", &["2001:30::1"]),
    ("2001::/23 rest", &["2001:100::1", "2001:1ff:ffff::1"]),
    (
        "2001:db8::/32 documentation",
        &["2001:db8::", "2001:db8::1", "2001:db8:ffff::1"],
    ),
    (
        "2002::/16 6to4",
        &[
            "2002::",
            "2002:c000:0204::1",
            "2002:7f00:1::1",
            "2002:ffff::1",
        ],
    ),
    (
        "3fff::/20 documentation",
        &["3fff::", "3fff::1", "3fff:fff:ffff::1"],
    ),
    ("5f00::/16 SRv6", &["5f00::", "5f00::1", "5f00:ffff::1"]),
    (
        "fc00::/7 unique local",
        &["fc00::", "fd00::1", "fdff:ffff::1"],
    ),
    (
        "fe80::/10 link-local",
        &["fe80::", "fe80::1", "febf:ffff::1"],
    ),
    (
        "fec0::/10 site-local",
        &["fec0::", "fec0::1", "feff:ffff::1"],
    ),
    (
        "ff00::/8 multicast",
        &["ff02::1", "ff05::2", "ffff:ffff::1"],
    ),
    (
        "outside 2000::/3",
        &["1::1", "4000::1", "8000::1", "e000::1", "c000::1"],
    ),
];

/// Public addresses, some just outside a special range.
const PUBLIC: &[&str] = &[
    "93.184.216.34",
    "1.1.1.1",
    "8.8.8.8",
    "9.255.255.255",
    "11.0.0.0",
    "100.63.255.255",
    "100.128.0.0",
    "126.255.255.255",
    "128.0.0.0",
    "169.253.255.255",
    "169.255.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.0.1.0",
    "192.0.3.0",
    "192.31.196.1",
    "192.52.193.1",
    "192.88.98.255",
    "192.88.100.0",
    "192.167.255.255",
    "192.169.0.0",
    "192.175.48.1",
    "198.17.255.255",
    "198.20.0.0",
    "198.51.99.255",
    "203.0.112.255",
    "223.255.255.255",
    "2606:4700:4700::1111",
    "2a00:1450:4001:82b::200e",
    "2001:200::1",
    "2001:4860:4860::8888",
    "2001:db7:ffff::1",
    "2001:db9::1",
    "2003::1",
    "2620:4f:8000::1",
    "3ffe::1",
    "3fff:1000::1",
    "::ffff:8.8.8.8",
    "::ffff:93.184.216.34",
    "64:ff9b::8.8.8.8",
    "64:ff9b::93.184.216.34",
];

fn ip(text: &str) -> IpAddr {
    text.parse()
        .unwrap_or_else(|e| panic!("{text} is an address: {e}"))
}

#[test]
fn every_special_purpose_range_is_refused() {
    for (range, addresses) in NON_PUBLIC {
        for address in *addresses {
            assert!(
                !is_public(ip(address)),
                "{address} ({range}) must not be public"
            );
            assert!(special_purpose(ip(address)).is_some(), "{address} is named");
        }
    }
}

#[test]
fn public_addresses_pass() {
    for address in PUBLIC {
        assert_eq!(special_purpose(ip(address)), None, "{address} is public");
    }
}

#[test]
fn each_table_entry_refuses_its_own_edges() {
    for (net, len, name) in SPECIAL_V4 {
        let first = net.to_bits();
        let last = first | u32::MAX.checked_shr(u32::from(*len)).unwrap_or(0);
        for edge in [first, last] {
            assert!(!is_public(IpAddr::V4(Ipv4Addr::from_bits(edge))), "{name}");
        }
    }
    for (net, len, name) in SPECIAL_V6 {
        let first = net.to_bits();
        let last = first | u128::MAX.checked_shr(u32::from(*len)).unwrap_or(0);
        for edge in [first, last] {
            assert!(!is_public(IpAddr::V6(Ipv6Addr::from_bits(edge))), "{name}");
        }
    }
}

#[test]
fn embedded_ipv4_is_judged_by_the_ipv4_address() {
    assert_eq!(
        special_purpose(ip("::ffff:169.254.169.254")),
        Some("link-local (cloud metadata) 169.254.0.0/16")
    );
    assert_eq!(
        special_purpose(ip("64:ff9b::7f00:1")),
        Some("loopback 127.0.0.0/8")
    );
    assert_eq!(
        special_purpose(ip("2002:7f00:1::1")),
        Some("6to4 2002::/16")
    );
}

#[test]
fn literals_are_found_in_every_spelling() {
    let literal_of = |text: &str| literal(&parse(text).expect("a URL"));
    assert_eq!(literal_of("http://127.0.0.1:8080/x"), Some(ip("127.0.0.1")));
    assert_eq!(literal_of("http://2130706433/x"), Some(ip("127.0.0.1")));
    assert_eq!(literal_of("http://0x7f.1/x"), Some(ip("127.0.0.1")));
    assert_eq!(
        literal_of("http://[::ffff:7f00:1]/x"),
        Some(ip("::ffff:127.0.0.1"))
    );
    assert_eq!(literal_of("https://example.com/x"), None);
}

#[tokio::test]
async fn refuses_bad_and_private_targets_before_sending_anything() {
    assert!(matches!(
        check("not a url", false).await,
        Err(RequestError::NotAUrl(_))
    ));
    assert!(matches!(
        check("ftp://example.com/x", false).await,
        Err(RequestError::Scheme(_))
    ));
    for private in [
        "http://127.0.0.1:8080/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest",
        "http://[64:ff9b::a9fe:a9fe]/latest",
        "http://[::ffff:0:a9fe:a9fe]/latest",
        "http://[2002:a9fe:a9fe::1]/latest",
        "http://192.0.0.170/",
        "http://localhost/hook",
    ] {
        let refused = check(private, false).await;
        assert!(
            matches!(refused, Err(RequestError::NonPublic { .. })),
            "{private}: {refused:?}"
        );
    }
    assert!(
        check("http://127.0.0.1:8080/hook", true).await.is_ok(),
        "allowed when configured"
    );
}
