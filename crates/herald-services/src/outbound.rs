//! The HTTP client for every address the keeper did not choose: webhook targets, the alert webhook,
//! and the endpoints peers registered on chain.
//!
//! - **Connect-time checks.** Its DNS resolver ([`GuardedResolver`], hickory) refuses an answer
//!   holding any non-public address (see [`crate::target`]) unless private targets are allowed.
//!   reqwest dials exactly the addresses its resolver returns, so the address connected to is the
//!   address checked: a name that answers a public address to a first lookup and `127.0.0.1` or
//!   `169.254.169.254` to the next (DNS rebinding) is refused when it is dialed.
//! - **IP literals** never reach a resolver, so [`Outbound::request`] checks them before anything
//!   is sent.
//! - **No redirects** (one could point anywhere) and **no proxy** from the environment (a proxy
//!   would resolve and connect for us, unchecked).
//! - **Timeouts**: one to connect, one for the whole request, body included.
//! - **Bounded bodies**: [`read_capped`] reads at most a given number of bytes of an answer.

use std::{
    net::{IpAddr, SocketAddr},
    sync::{Arc, OnceLock},
    time::Duration,
};

use hickory_resolver::{
    TokioResolver,
    config::{LookupIpStrategy, NameServerConfig, ResolverConfig},
    net::runtime::TokioRuntimeProvider,
};
use reqwest::{
    Method, RequestBuilder, Response, Url,
    dns::{Addrs, Name, Resolve, Resolving},
};

use crate::target::{self, RequestError};

/// How the outbound client connects.
#[derive(Clone, Debug)]
pub struct OutboundConfig {
    /// Limit on one request, connection to last byte of the body.
    pub timeout: Duration,
    /// Limit on establishing the connection.
    pub connect_timeout: Duration,
    /// Allow loopback and private targets (the devnet does; a public keeper must not).
    pub allow_private_targets: bool,
    /// DNS servers to ask (port included); empty means the system's configuration
    /// (`/etc/resolv.conf`, and the hosts file).
    pub nameservers: Vec<SocketAddr>,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            allow_private_targets: false,
            nameservers: Vec::new(),
        }
    }
}

/// Why an outbound request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The target is not allowed: it never will be, so do not retry.
    #[error(transparent)]
    Refused(#[from] RequestError),
    /// No answer within the timeout.
    #[error("timed out")]
    Timeout,
    /// No connection (refused, unreachable, or the name did not resolve).
    #[error("could not connect: {0}")]
    Connect(String),
    /// Any other failure of the exchange.
    #[error("{0}")]
    Http(String),
}

/// The outbound HTTP client: cheap to clone (clones share one connection pool and resolver).
#[derive(Clone, Debug)]
pub struct Outbound {
    http: reqwest::Client,
    resolver: GuardedResolver,
}

impl Outbound {
    /// A client as configured.
    pub fn new(config: &OutboundConfig) -> Self {
        let resolver =
            GuardedResolver::new(config.nameservers.clone(), config.allow_private_targets);
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout.min(config.timeout))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(resolver.clone())
            .user_agent(concat!("herald/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a client with these options always builds");
        Self { http, resolver }
    }

    /// Whether loopback and private targets are allowed.
    pub fn allows_private_targets(&self) -> bool {
        self.resolver.allows_private()
    }

    /// Parses `endpoint` and checks every address its host resolves to now, with this client's
    /// resolver: a clear error before anything is sent. The connection is checked again.
    pub async fn check(&self, endpoint: &str) -> Result<Url, RequestError> {
        let url = target::parse(endpoint)?;
        if self.resolver.allows_private() {
            return Ok(url);
        }
        if let Some(ip) = target::literal(&url) {
            target::check_addresses(endpoint, [ip])?;
            return Ok(url);
        }
        let host = url.host_str().unwrap_or_default();
        let addresses =
            self.resolver
                .lookup(host)
                .await
                .map_err(|reason| RequestError::Resolve {
                    url: endpoint.to_string(),
                    reason,
                })?;
        target::check_addresses(endpoint, addresses)?;
        Ok(url)
    }

    /// A request to `endpoint`, refused now if it is not http(s) or its host is an IP literal that
    /// is not public (a name is checked by the resolver when it is dialed).
    pub fn request(&self, method: Method, endpoint: &str) -> Result<RequestBuilder, RequestError> {
        let url = target::parse(endpoint)?;
        if !self.resolver.allows_private()
            && let Some(ip) = target::literal(&url)
        {
            target::check_addresses(endpoint, [ip])?;
        }
        Ok(self.http.request(method, url))
    }

    /// A POST to `endpoint`: see [`Outbound::request`].
    pub fn post(&self, endpoint: &str) -> Result<RequestBuilder, RequestError> {
        self.request(Method::POST, endpoint)
    }

    /// Sends a request built by [`Outbound::request`], telling a refused target (final) from a
    /// network failure (worth retrying).
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, OutboundError> {
        request.send().await.map_err(classify)
    }
}

/// A response body, read up to a limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capped {
    /// At most the limit's worth of bytes.
    pub bytes: Vec<u8>,
    /// Whether the body went on past the limit (the rest was not read).
    pub truncated: bool,
}

/// Reads at most `limit` bytes of `response`'s body; the rest is never read (the connection is
/// dropped), so a receiver or peer cannot make the keeper buffer an endless answer.
pub async fn read_capped(mut response: Response, limit: usize) -> Result<Capped, OutboundError> {
    let mut bytes = Vec::with_capacity(limit.min(16 * 1024));
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        let room = limit - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            return Ok(Capped {
                bytes,
                truncated: true,
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Capped {
        bytes,
        truncated: false,
    })
}

/// What the resolver says when it refuses an answer; found again in reqwest's error chain.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to {address}, a non-public address ({range})")]
struct Refusal {
    host: String,
    address: IpAddr,
    range: &'static str,
}

/// Tells a refusal by the resolver, a timeout and a connection failure apart.
fn classify(e: reqwest::Error) -> OutboundError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(cause) = source {
        if let Some(refusal) = cause.downcast_ref::<Refusal>() {
            return OutboundError::Refused(RequestError::NonPublic {
                url: e.url().map_or_else(|| refusal.host.clone(), Url::to_string),
                address: refusal.address,
                range: refusal.range,
            });
        }
        source = cause.source();
    }
    if e.is_timeout() {
        OutboundError::Timeout
    } else if e.is_connect() {
        OutboundError::Connect(chain(&e))
    } else {
        OutboundError::Http(chain(&e))
    }
}

/// An error and its causes on one line (reqwest's own message leaves the causes out).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A [`reqwest::dns::Resolve`] that resolves with hickory and refuses any answer holding a
/// non-public address, unless private targets are allowed. Clones share one resolver.
#[derive(Clone)]
pub struct GuardedResolver(Arc<Guard>);

struct Guard {
    nameservers: Vec<SocketAddr>,
    allow_private: bool,
    /// Built on first use (inside the runtime), or why it could not be.
    resolver: OnceLock<Result<TokioResolver, String>>,
}

impl std::fmt::Debug for GuardedResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardedResolver")
            .field("nameservers", &self.0.nameservers)
            .field("allow_private", &self.0.allow_private)
            .finish_non_exhaustive()
    }
}

impl GuardedResolver {
    /// Asks `nameservers` (the system's configuration when empty); refuses non-public answers
    /// unless `allow_private`.
    pub fn new(nameservers: Vec<SocketAddr>, allow_private: bool) -> Self {
        Self(Arc::new(Guard {
            nameservers,
            allow_private,
            resolver: OnceLock::new(),
        }))
    }

    /// Whether non-public answers are let through.
    pub fn allows_private(&self) -> bool {
        self.0.allow_private
    }

    /// Every address `host` resolves to, unchecked.
    pub async fn lookup(&self, host: &str) -> Result<Vec<IpAddr>, String> {
        let resolver = self
            .0
            .resolver
            .get_or_init(|| build_resolver(&self.0.nameservers))
            .as_ref()
            .map_err(Clone::clone)?;
        let lookup = resolver.lookup_ip(host).await.map_err(|e| e.to_string())?;
        let addresses: Vec<IpAddr> = lookup.iter().collect();
        if addresses.is_empty() {
            return Err(format!("{host} has no addresses"));
        }
        Ok(addresses)
    }

    /// The addresses `host` resolves to, all of them public unless private targets are allowed.
    async fn resolve_checked(
        &self,
        host: &str,
    ) -> Result<Vec<IpAddr>, Box<dyn std::error::Error + Send + Sync>> {
        let addresses = self.lookup(host).await?;
        if !self.0.allow_private
            && let Some((address, range)) = addresses
                .iter()
                .find_map(|ip| target::special_purpose(*ip).map(|range| (*ip, range)))
        {
            return Err(Box::new(Refusal {
                host: host.to_string(),
                address,
                range,
            }));
        }
        Ok(addresses)
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.clone();
        Box::pin(async move {
            let addresses = guard.resolve_checked(name.as_str()).await?;
            // Port 0: reqwest puts the URL's port (or the scheme's) on each address.
            let addrs: Addrs = Box::new(addresses.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

fn build_resolver(nameservers: &[SocketAddr]) -> Result<TokioResolver, String> {
    let mut builder = if nameservers.is_empty() {
        TokioResolver::builder_tokio().map_err(|e| {
            format!("cannot read the system's DNS configuration (/etc/resolv.conf): {e}")
        })?
    } else {
        let servers = nameservers
            .iter()
            .map(|server| {
                let mut config = NameServerConfig::udp_and_tcp(server.ip());
                for connection in &mut config.connections {
                    connection.port = server.port();
                }
                config
            })
            .collect();
        TokioResolver::builder_with_config(
            ResolverConfig::from_name_servers(servers),
            TokioRuntimeProvider::default(),
        )
    };
    // Both families, IPv4 first: every address is checked, whichever is dialed.
    builder.options_mut().ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    builder
        .build()
        .map_err(|e| format!("cannot set up the DNS resolver: {e}"))
}
