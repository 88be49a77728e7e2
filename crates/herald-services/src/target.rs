//! Which addresses Herald may connect to for someone else: public unicast only, unless the keeper
//! allows private targets (the devnet allows loopback).
//!
//! [`special_purpose`] names the IANA special-purpose range an address falls in (loopback, private,
//! link-local and so cloud metadata, CGNAT, documentation, benchmarking, multicast, reserved, the
//! transition prefixes that embed or tunnel to an IPv4 address, …); [`is_public`] is its absence.
//! IPv6 is public only inside global unicast `2000::/3`, so a range the IETF has not assigned yet is
//! refused too. Addresses that name an IPv4 address — IPv4-mapped `::ffff:a.b.c.d` and the NAT64
//! well-known prefix `64:ff9b::a.b.c.d` (DNS64 answers with it on IPv6-only hosts) — are judged by
//! that IPv4 address.
//!
//! [`check`] parses an endpoint and checks every address its host resolves to: a fast path that
//! gives a clear error before anything is sent. It is never the only guard: the connection is made
//! by [`crate::outbound`], whose resolver refuses the same addresses at connect time, so a name that
//! changes its answer between the two lookups (DNS rebinding) still cannot reach a private address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use reqwest::Url;

/// Why a request can never be sent as given (so it is not retried).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The trigger sets a header Herald owns (`webhook-*`, `content-type`, `host`).
    #[error("header {0:?} is set by Herald and cannot be overridden")]
    ReservedHeader(String),
    /// Not a URL.
    #[error("endpoint {0:?} is not a URL with a host")]
    NotAUrl(String),
    /// Not http or https.
    #[error("endpoint {0:?} must be http:// or https://")]
    Scheme(String),
    /// The host is, or resolves to, a loopback, private, link-local or otherwise non-public address.
    #[error(
        "endpoint {url:?} resolves to {address}, a non-public address ({range}); \
         expected public addresses only (allow_private_targets is off)"
    )]
    NonPublic {
        /// The endpoint.
        url: String,
        /// The offending address.
        address: IpAddr,
        /// The special-purpose range it falls in.
        range: &'static str,
    },
    /// The host does not resolve.
    #[error("endpoint {url:?}: cannot resolve the host: {reason}")]
    Resolve {
        /// The endpoint.
        url: String,
        /// The resolver's explanation.
        reason: String,
    },
}

/// Parses an endpoint: an `http` or `https` URL with a host.
pub fn parse(endpoint: &str) -> Result<Url, RequestError> {
    let url = Url::parse(endpoint).map_err(|_| RequestError::NotAUrl(endpoint.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(RequestError::Scheme(endpoint.to_string()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(RequestError::NotAUrl(endpoint.to_string()));
    }
    Ok(url)
}

/// The address a URL's host spells out, if it is an IP literal (`http://10.0.0.1/`,
/// `http://[::1]/`, and the forms URL parsing normalises into one, like `http://2130706433/`).
pub fn literal(url: &Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .parse()
        .ok()
}

/// Refuses the first non-public address among `addresses`, naming `endpoint`.
pub fn check_addresses(
    endpoint: &str,
    addresses: impl IntoIterator<Item = IpAddr>,
) -> Result<(), RequestError> {
    for address in addresses {
        if let Some(range) = special_purpose(address) {
            return Err(RequestError::NonPublic {
                url: endpoint.to_string(),
                address,
                range,
            });
        }
    }
    Ok(())
}

/// Parses and checks an endpoint, resolving its host with the system resolver. (Webhooks resolve
/// with the outbound client's resolver instead: see [`crate::outbound::Outbound::check`].)
pub async fn check(endpoint: &str, allow_private: bool) -> Result<Url, RequestError> {
    let url = parse(endpoint)?;
    if allow_private {
        return Ok(url);
    }
    if let Some(ip) = literal(&url) {
        check_addresses(endpoint, [ip])?;
        return Ok(url);
    }
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(80);
    let addresses = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| RequestError::Resolve {
            url: endpoint.to_string(),
            reason: e.to_string(),
        })?
        .map(|a| a.ip());
    check_addresses(endpoint, addresses)?;
    Ok(url)
}

/// Whether an address is reachable on the public internet (and so safe to let users point at).
pub fn is_public(ip: IpAddr) -> bool {
    special_purpose(ip).is_none()
}

/// The special-purpose range `ip` falls in (with its prefix), or `None` for a public address.
pub fn special_purpose(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

/// IPv4 ranges that are not globally reachable unicast (IANA IPv4 Special-Purpose Address
/// Registry, plus multicast and the reserved class E). `192.0.0.0/24` is refused whole, its two
/// anycast addresses (PCP, TURN) included: no webhook lives there.
pub const SPECIAL_V4: &[(Ipv4Addr, u8, &str)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8, "\"this network\" 0.0.0.0/8"),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "private 10.0.0.0/8"),
    (
        Ipv4Addr::new(100, 64, 0, 0),
        10,
        "shared address space (CGNAT) 100.64.0.0/10",
    ),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback 127.0.0.0/8"),
    (
        Ipv4Addr::new(169, 254, 0, 0),
        16,
        "link-local (cloud metadata) 169.254.0.0/16",
    ),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "private 172.16.0.0/12"),
    (
        Ipv4Addr::new(192, 0, 0, 0),
        24,
        "IETF protocol assignments 192.0.0.0/24",
    ),
    (
        Ipv4Addr::new(192, 0, 2, 0),
        24,
        "documentation 192.0.2.0/24",
    ),
    (
        Ipv4Addr::new(192, 88, 99, 0),
        24,
        "6to4 relay anycast 192.88.99.0/24",
    ),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "private 192.168.0.0/16"),
    (
        Ipv4Addr::new(198, 18, 0, 0),
        15,
        "benchmarking 198.18.0.0/15",
    ),
    (
        Ipv4Addr::new(198, 51, 100, 0),
        24,
        "documentation 198.51.100.0/24",
    ),
    (
        Ipv4Addr::new(203, 0, 113, 0),
        24,
        "documentation 203.0.113.0/24",
    ),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast 224.0.0.0/4"),
    (
        Ipv4Addr::new(240, 0, 0, 0),
        4,
        "reserved 240.0.0.0/4 (and broadcast)",
    ),
];

/// IPv6 ranges that are not globally reachable unicast (IANA IPv6 Special-Purpose Address
/// Registry and the deprecated ones), most specific first. `2001::/23` is refused whole: besides
/// Teredo, benchmarking and ORCHID it holds only a few anycast services, no webhook's home.
/// Anything outside `2000::/3` that is not listed is refused as not (yet) global unicast.
pub const SPECIAL_V6: &[(Ipv6Addr, u8, &str)] = &[
    (Ipv6Addr::UNSPECIFIED, 128, "unspecified ::/128"),
    (Ipv6Addr::LOCALHOST, 128, "loopback ::1/128"),
    (
        Ipv6Addr::UNSPECIFIED,
        96,
        "IPv4-compatible ::/96 (deprecated)",
    ),
    (
        Ipv6Addr::new(0, 0, 0, 0, 0xffff, 0, 0, 0),
        96,
        "IPv4-translated ::ffff:0:0:0/96",
    ),
    (
        Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0),
        48,
        "local-use NAT64 64:ff9b:1::/48",
    ),
    (
        Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0),
        64,
        "discard-only 100::/64",
    ),
    (
        Ipv6Addr::new(0x100, 0, 0, 1, 0, 0, 0, 0),
        64,
        "dummy prefix 100:0:0:1::/64",
    ),
    (
        Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0),
        32,
        "Teredo 2001::/32",
    ),
    (
        Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0),
        48,
        "benchmarking 2001:2::/48",
    ),
    (
        Ipv6Addr::new(0x2001, 0x10, 0, 0, 0, 0, 0, 0),
        28,
        "ORCHID 2001:10::/28 (deprecated)",
    ),
    (
        Ipv6Addr::new(0x2001, 0x20, 0, 0, 0, 0, 0, 0),
        28,
        "ORCHIDv2 2001:20::/28",
    ),
    (
        Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0),
        23,
        "IETF protocol assignments 2001::/23",
    ),
    (
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),
        32,
        "documentation 2001:db8::/32",
    ),
    (
        Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0),
        16,
        "6to4 2002::/16",
    ),
    (
        Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0),
        20,
        "documentation 3fff::/20",
    ),
    (
        Ipv6Addr::new(0x5f00, 0, 0, 0, 0, 0, 0, 0),
        16,
        "SRv6 SIDs 5f00::/16",
    ),
    (
        Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0),
        7,
        "unique local fc00::/7",
    ),
    (
        Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0),
        10,
        "link-local fe80::/10",
    ),
    (
        Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0),
        10,
        "site-local fec0::/10 (deprecated)",
    ),
    (
        Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0),
        8,
        "multicast ff00::/8",
    ),
];

/// IPv4-mapped `::ffff:0:0/96`: the IPv4 address itself, to the socket layer.
const MAPPED: (Ipv6Addr, u8) = (Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96);
/// The NAT64 well-known prefix `64:ff9b::/96` (RFC 6052): reaches the IPv4 address it embeds.
const NAT64: (Ipv6Addr, u8) = (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96);
/// Global unicast `2000::/3`: the only IPv6 space that is public.
const GLOBAL_UNICAST: (Ipv6Addr, u8) = (Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3);

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    SPECIAL_V4
        .iter()
        .find(|(net, len, _)| prefix_v4(ip, *net, *len))
        .map(|(_, _, name)| *name)
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if prefix_v6(ip, MAPPED.0, MAPPED.1) || prefix_v6(ip, NAT64.0, NAT64.1) {
        let [.., a, b, c, d] = ip.octets();
        return special_v4(Ipv4Addr::new(a, b, c, d));
    }
    if let Some((_, _, name)) = SPECIAL_V6
        .iter()
        .find(|(net, len, _)| prefix_v6(ip, *net, *len))
    {
        return Some(name);
    }
    if !prefix_v6(ip, GLOBAL_UNICAST.0, GLOBAL_UNICAST.1) {
        return Some("reserved by the IETF (outside global unicast 2000::/3)");
    }
    None
}

fn prefix_v4(ip: Ipv4Addr, net: Ipv4Addr, len: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    ip.to_bits() & mask == net.to_bits() & mask
}

fn prefix_v6(ip: Ipv6Addr, net: Ipv6Addr, len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    ip.to_bits() & mask == net.to_bits() & mask
}

#[cfg(test)]
#[path = "target_tests.rs"]
mod tests;
