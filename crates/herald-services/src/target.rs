//! Webhook targets: http(s) URLs whose host resolves to public addresses only, unless the keeper is
//! configured to allow private ones (the devnet allows loopback).
//!
//! Every address a host resolves to is checked, at every attempt, so a name cannot point a keeper at
//! its own network. (A name that changes its answer between our lookup and the connection — DNS
//! rebinding — is not covered; pinning the connection to the checked address is future work.)

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use reqwest::Url;

/// Why a webhook request can never be delivered as given (so it is not retried).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The trigger sets a header Herald owns (`webhook-*`, `content-type`, `host`).
    #[error("header {0:?} is set by Herald and cannot be overridden")]
    ReservedHeader(String),
    /// Not a URL.
    #[error("webhook endpoint {0:?} is not a URL")]
    NotAUrl(String),
    /// Not http or https.
    #[error("webhook endpoint {0:?} must be http:// or https://")]
    Scheme(String),
    /// The host resolves to a loopback, private, link-local or otherwise non-public address.
    #[error(
        "webhook endpoint {url:?} resolves to {address}, a non-public address (allow_private_targets is off)"
    )]
    NonPublic {
        /// The endpoint.
        url: String,
        /// The offending address.
        address: IpAddr,
    },
    /// The host does not resolve.
    #[error("webhook endpoint {url:?}: cannot resolve the host: {reason}")]
    Resolve {
        /// The endpoint.
        url: String,
        /// The resolver's explanation.
        reason: String,
    },
}

/// Parses and checks an endpoint.
pub async fn check(endpoint: &str, allow_private: bool) -> Result<Url, RequestError> {
    let url = Url::parse(endpoint).map_err(|_| RequestError::NotAUrl(endpoint.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(RequestError::Scheme(endpoint.to_string()));
    }
    let host = url
        .host_str()
        .ok_or_else(|| RequestError::NotAUrl(endpoint.to_string()))?;
    if allow_private {
        return Ok(url);
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| RequestError::Resolve {
                url: endpoint.to_string(),
                reason: e.to_string(),
            })?
            .map(|a| a.ip())
            .collect(),
    };
    if let Some(address) = addresses.into_iter().find(|ip| !is_public(*ip)) {
        return Err(RequestError::NonPublic {
            url: endpoint.to_string(),
            address,
        });
    }
    Ok(url)
}

/// Whether an address is reachable on the public internet (and so safe to let users point at).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier-grade NAT)
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!is_public(private.parse().expect("ip")), "{private}");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().expect("ip")), "{public}");
        }
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
        assert!(matches!(
            check("http://127.0.0.1:8080/hook", false).await,
            Err(RequestError::NonPublic { .. })
        ));
        assert!(matches!(
            check("http://[::1]/hook", false).await,
            Err(RequestError::NonPublic { .. })
        ));
        assert!(matches!(
            check("http://169.254.169.254/latest", false).await,
            Err(RequestError::NonPublic { .. })
        ));
        assert!(matches!(
            check("http://localhost/hook", false).await,
            Err(RequestError::NonPublic { .. })
        ));
        assert!(
            check("http://127.0.0.1:8080/hook", true).await.is_ok(),
            "allowed when configured"
        );
    }
}
