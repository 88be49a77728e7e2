//! The outbound client against real servers on 127.0.0.1: a DNS server that rebinds a name, a
//! receiver that redirects, one whose answer never ends. Only loopback is ever dialed: the public
//! address the DNS server gives out first is answered, never connected to.

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use herald_services::{
    Delivery, Outbound, OutboundConfig, RequestError, WebhookClient, WebhookConfig, WebhookRequest,
    WebhookSecret, read_capped,
};
use hickory_proto::{
    op::Message,
    rr::{RData, Record, RecordType, rdata::A},
};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, UdpSocket},
};

/// Answered to the first lookup only; public, so the check passes; never dialed.
const PUBLIC: Ipv4Addr = Ipv4Addr::new(93, 184, 216, 34);

/// A DNS server on 127.0.0.1 answering A queries for any name with `first` once, then `then`
/// (TTL 0, so nothing is cached); AAAA queries get no records. Counts the A queries.
async fn dns(first: Ipv4Addr, then: Ipv4Addr) -> (SocketAddr, Arc<AtomicUsize>) {
    let socket = UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind the DNS port");
    let addr = socket.local_addr().expect("DNS address");
    let queries = Arc::new(AtomicUsize::new(0));
    let seen = queries.clone();
    tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut answer = Message::response(query.metadata.id, query.metadata.op_code);
            answer.metadata.recursion_desired = query.metadata.recursion_desired;
            answer.metadata.recursion_available = true;
            answer.metadata.authoritative = true;
            for q in &query.queries {
                answer.add_query(q.clone());
                if q.query_type() == RecordType::A {
                    let ip = match seen.fetch_add(1, Ordering::SeqCst) {
                        0 => first,
                        _ => then,
                    };
                    answer.add_answer(Record::from_rdata(q.name().clone(), 0, RData::A(A(ip))));
                }
            }
            if let Ok(bytes) = answer.to_vec() {
                let _ = socket.send_to(&bytes, from).await;
            }
        }
    });
    (addr, queries)
}

/// A TCP server on 127.0.0.1 that counts connections and answers each with `response`, then
/// (when `endless`) with body bytes until the client goes away.
async fn server(response: String, endless: bool) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let connections = Arc::new(AtomicUsize::new(0));
    let count = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let response = response.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                if stream.write_all(response.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = [b'x'; 16 * 1024];
                while endless && stream.write_all(&chunk).await.is_ok() {}
            });
        }
    });
    (port, connections)
}

/// A server that answers `200 OK`.
async fn receiver() -> (u16, Arc<AtomicUsize>) {
    server(
        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".into(),
        false,
    )
    .await
}

fn webhook(allow_private_targets: bool, nameservers: Vec<SocketAddr>) -> WebhookClient {
    WebhookClient::new(WebhookConfig {
        timeout: Duration::from_secs(5),
        max_attempts: 1,
        allow_private_targets,
        body_excerpt: 16,
        nameservers,
        ..WebhookConfig::default()
    })
}

async fn deliver(client: &WebhookClient, url: &str) -> Result<Delivery, RequestError> {
    let secret = WebhookSecret::generate();
    let headers = BTreeMap::new();
    let body = json!({"n": 1});
    client
        .deliver(&WebhookRequest {
            endpoint: url,
            headers: &headers,
            body: &body,
            id: "1:0x01",
            secret: Some(&secret),
        })
        .await
}

#[tokio::test]
async fn a_name_rebound_to_loopback_after_the_check_is_refused_when_dialed() {
    let (nameserver, lookups) = dns(PUBLIC, Ipv4Addr::LOCALHOST).await;
    let (port, connections) = receiver().await;
    let url = format!("http://rebind.herald.test:{port}/hook");

    let result = deliver(&webhook(false, vec![nameserver]), &url).await;

    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "the loopback listener was reached: {result:?}"
    );
    assert_eq!(
        lookups.load(Ordering::SeqCst),
        2,
        "the check saw the public answer, the connection the rebound one"
    );
    let err = result.expect_err("the rebound name is refused");
    assert!(
        matches!(
            &err,
            RequestError::NonPublic { address, .. } if *address == IpAddr::V4(Ipv4Addr::LOCALHOST)
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("non-public address"), "{message}");
    assert!(message.contains("loopback"), "{message}");
}

#[tokio::test]
async fn a_name_from_the_configured_nameservers_is_dialed_when_private_targets_are_allowed() {
    let (nameserver, _) = dns(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST).await;
    let (port, connections) = receiver().await;
    let url = format!("http://devnet.herald.test:{port}/hook");
    assert_eq!(
        deliver(&webhook(true, vec![nameserver]), &url)
            .await
            .expect("deliverable"),
        Delivery::Delivered {
            status: 200,
            attempts: 1
        }
    );
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn ip_literals_are_refused_before_anything_is_sent() {
    let (port, connections) = receiver().await;
    let outbound = Outbound::new(&OutboundConfig::default());
    for url in [
        format!("http://127.0.0.1:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://2130706433:{port}/"),
        format!("http://0x7f.1:{port}/"),
    ] {
        let refused = outbound.post(&url);
        assert!(
            matches!(refused, Err(RequestError::NonPublic { .. })),
            "{url}: {refused:?}"
        );
    }
    let err = deliver(
        &webhook(false, Vec::new()),
        &format!("http://127.0.0.1:{port}/"),
    )
    .await
    .expect_err("refused");
    assert!(err.to_string().contains("non-public address"), "{err}");
    assert_eq!(connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (elsewhere, followed) = receiver().await;
    let (port, _) = server(
        format!(
            "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{elsewhere}/stolen\r\n\
             content-length: 0\r\nconnection: close\r\n\r\n"
        ),
        false,
    )
    .await;
    let url = format!("http://127.0.0.1:{port}/hook");

    let outbound = Outbound::new(&OutboundConfig {
        allow_private_targets: true,
        ..OutboundConfig::default()
    });
    let response = outbound
        .send(outbound.post(&url).expect("allowed"))
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 302);

    let delivery = deliver(&webhook(true, Vec::new()), &url)
        .await
        .expect("deliverable");
    assert!(
        matches!(
            delivery,
            Delivery::Failed {
                attempts: 1,
                last_status: Some(302),
                ..
            }
        ),
        "{delivery:?}"
    );
    assert_eq!(
        followed.load(Ordering::SeqCst),
        0,
        "the redirect went nowhere"
    );
}

#[tokio::test]
async fn an_endless_error_body_is_cut_at_the_cap() {
    let (port, _) = server(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 1000000000000\r\n\r\n".into(),
        true,
    )
    .await;
    let url = format!("http://127.0.0.1:{port}/hook");

    let outbound = Outbound::new(&OutboundConfig {
        allow_private_targets: true,
        ..OutboundConfig::default()
    });
    let response = outbound
        .send(outbound.post(&url).expect("allowed"))
        .await
        .expect("an answer");
    let body = read_capped(response, 1000).await.expect("read");
    assert_eq!(body.bytes.len(), 1000);
    assert!(body.truncated);

    let started = Instant::now();
    let delivery = deliver(&webhook(true, Vec::new()), &url)
        .await
        .expect("deliverable");
    assert_eq!(
        delivery,
        Delivery::Failed {
            attempts: 1,
            last_status: Some(500),
            detail: format!("{}…", "x".repeat(16)),
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "read only the excerpt, not until the timeout: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_body_within_the_cap_is_read_whole() {
    let (port, _) = server(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 10\r\nconnection: close\r\n\r\n\
         0123456789"
            .into(),
        false,
    )
    .await;
    let outbound = Outbound::new(&OutboundConfig {
        allow_private_targets: true,
        ..OutboundConfig::default()
    });
    let url = format!("http://127.0.0.1:{port}/");
    let response = outbound
        .send(outbound.post(&url).expect("allowed"))
        .await
        .expect("an answer");
    let body = read_capped(response, 10).await.expect("read");
    assert_eq!(body.bytes, b"0123456789");
    assert!(!body.truncated);
}
