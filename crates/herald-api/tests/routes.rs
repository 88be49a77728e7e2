//! The API as a client sees it: a real server on 127.0.0.1, a real HTTP client, a real SQLite
//! store and a real anvil with the contracts. Every route, the auth failures, the rate limit, the
//! size limit, and the OpenAPI document's coverage and validity.

use std::{collections::BTreeSet, sync::Arc};

use alloy::{
    primitives::{Address, U256, aliases::U96},
    signers::local::PrivateKeySigner,
    sol_types::Eip712Domain,
};
use herald_api::{
    ApiState, Chain, Metrics, auth,
    signing::{self, Emission},
};
use herald_devnet::{Network, create_trigger, depositor, seed_trigger, spawn_anvil, terms};
use herald_store::{KeyScope, Store};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The deployment the tests' signatures are for, when the API has no chain.
const CHAIN_ID: u64 = 31337;
fn herald_address() -> Address {
    Address::repeat_byte(0x42)
}
fn domain() -> Eip712Domain {
    herald_chain::receipt::domain(CHAIN_ID, herald_address())
}

struct Api {
    base: String,
    http: reqwest::Client,
    write: String,
    read: String,
    slow: String,
}

impl Api {
    async fn start(store: Store, chain: Option<Chain>) -> Self {
        Self::start_with(store, chain, None).await
    }

    async fn start_with(
        store: Store,
        chain: Option<Chain>,
        feed: Option<tokio::sync::mpsc::Sender<herald_core::Event>>,
    ) -> Self {
        let mut secrets = Vec::new();
        for (name, scope, rate) in [
            ("writer", KeyScope::Write, 10_000),
            ("reader", KeyScope::Read, 10_000),
            ("slow", KeyScope::Read, 2),
        ] {
            let issued = auth::issue(name, scope, rate);
            assert!(
                store
                    .insert_api_key(&issued.key, &issued.hash)
                    .await
                    .expect("insert")
            );
            secrets.push(issued.secret);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let mut state = ApiState::new(store, chain.clone(), Arc::new(Metrics::default()));
        if chain.is_none() {
            state = state.with_deployment(CHAIN_ID, herald_address());
        }
        if let Some(feed) = feed {
            state = state.with_event_feed(feed);
        }
        tokio::spawn(herald_api::serve(listener, state, std::future::pending()));
        Self {
            base,
            http: reqwest::Client::new(),
            write: secrets[0].clone(),
            read: secrets[1].clone(),
            slow: secrets[2].clone(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Sends `body` as exactly these bytes, with `headers`, as the writer.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Vec<u8>,
        headers: &[(&'static str, String)],
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.write)
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A change to an event type, signed by `owner`.
    async fn change(
        &self,
        owner: &PrivateKeySigner,
        method: reqwest::Method,
        path: &str,
        name: &str,
        action: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let bytes = body
            .map(|b| serde_json::to_vec(&b).expect("json"))
            .unwrap_or_default();
        let headers =
            signing::change_headers(owner, &domain(), name, action, &bytes).expect("sign");
        self.send(method, path, bytes, &headers).await
    }

    /// An event of type `name`, signed by `emitter`.
    async fn emit(
        &self,
        emitter: &PrivateKeySigner,
        name: &str,
        payload: Value,
    ) -> (StatusCode, Value) {
        let emission = Emission::sign(emitter, &domain(), name, &payload).expect("sign");
        let bytes = serde_json::to_vec(&payload).expect("json");
        self.send(
            reqwest::Method::POST,
            &format!("/v1/events/{name}"),
            bytes,
            &emission.headers(),
        )
        .await
    }

    async fn get(&self, path: &str, key: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, Some(key), None).await
    }
}

async fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("api.db").display());
    (Store::connect(&url).await.expect("store"), dir)
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_are_required_scoped_and_rate_limited() {
    let (store, _dir) = store().await;
    let api = Api::start(store, None).await;
    use reqwest::Method;

    let (status, body) = api.call(Method::GET, "/v1/executions", None, None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let (status, body) = api.get("/v1/executions", "hk_00000000_forged").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let (status, body) = api
        .call(
            Method::POST,
            "/v1/event-types",
            Some(&api.read),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, body) = api.get("/v1/executions", &api.read).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"items": [], "next": null}));

    for _ in 0..2 {
        assert_eq!(
            api.get("/v1/event-types", &api.slow).await.0,
            StatusCode::OK
        );
    }
    let response = api
        .http
        .get(format!("{}/v1/event-types", api.base))
        .bearer_auth(&api.slow)
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.expect("json");
    assert_eq!(code(&body), "rate_limited");
    assert_eq!(
        api.get("/v1/event-types", &api.read).await.0,
        StatusCode::OK,
        "limits are per key"
    );

    for open in ["/health", "/ready", "/metrics", "/openapi.json", "/docs"] {
        let (status, _) = api.call(Method::GET, open, None, None).await;
        assert_eq!(status, StatusCode::OK, "{open} needs no key");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn event_types_and_events_follow_their_schema() {
    let (store, _dir) = store().await;
    let api = Api::start(store.clone(), None).await;
    use reqwest::Method;
    let owner = PrivateKeySigner::random();
    let define = async |body: Value| {
        let name = body["name"].as_str().unwrap_or_default().to_string();
        api.change(
            &owner,
            Method::POST,
            "/v1/event-types",
            &name,
            signing::DEFINE,
            Some(body),
        )
        .await
    };
    let schema = json!({
        "type": "object",
        "required": ["order", "amount"],
        "properties": {"order": {"type": "string"}, "amount": {"type": "integer", "minimum": 1}}
    });

    let (status, body) = define(json!({"name": "order.created", "schema": schema})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["schema"], schema);
    let (status, body) = define(json!({"name": "order.created"})).await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "exists"));
    let (status, body) = define(json!({"name": "bad name!"})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_name")
    );
    let (status, body) =
        define(json!({"name": "broken", "schema": {"type": "no-such-type"}})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_schema")
    );
    let (status, body) = define(json!({"name": "x", "colour": 1})).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown fields are refused: {body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("colour")
    );

    let (status, body) = api
        .emit(
            &owner,
            "order.created",
            json!({"order": "A-1", "amount": 3}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id: herald_core::EventId = body["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("an event id");
    let (stored, retracted) = store
        .event(&id)
        .await
        .expect("read")
        .expect("stored durably");
    assert_eq!(stored.data, json!({"order": "A-1", "amount": 3}));
    assert!(!retracted);

    let (status, body) = api
        .emit(&owner, "order.created", json!({"order": 7, "amount": 0}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_payload")
    );
    let message = body["error"]["message"].as_str().expect("message");
    assert!(
        message.contains("/order") && message.contains("/amount"),
        "{message}"
    );
    let (status, body) = api.emit(&owner, "order.shipped", json!({})).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));

    let malformed = api
        .http
        .post(format!("{}/v1/events/order.created", api.base))
        .bearer_auth(&api.write)
        .header("content-type", "application/json")
        .body("{\"order\": ")
        .send()
        .await
        .expect("answer");
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let body: Value = malformed.json().await.expect("a JSON error");
    assert_eq!(code(&body), "invalid_json");
    let huge = json!({"order": "x".repeat(herald_api::MAX_BODY), "amount": 1});
    let (status, _) = api.emit(&owner, "order.created", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    let (status, body) = api
        .change(
            &owner,
            Method::PUT,
            "/v1/event-types/order.created",
            "order.created",
            signing::UPDATE,
            Some(json!({"description": "orders", "schema": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["description"], "orders");
    let (status, _) = api
        .emit(&owner, "order.created", json!({"anything": true}))
        .await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "without a schema any payload goes"
    );
    let (_, list) = api.get("/v1/event-types", &api.read).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let (status, _) = api.get("/v1/event-types/order.created", &api.read).await;
    assert_eq!(status, StatusCode::OK);
    let delete = async || {
        // Signed a millisecond apart at least: a change must be later than the last one.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        api.change(
            &owner,
            Method::DELETE,
            "/v1/event-types/order.created",
            "order.created",
            signing::DELETE,
            None,
        )
        .await
    };
    assert_eq!(delete().await.0, StatusCode::NO_CONTENT);
    assert_eq!(delete().await.0, StatusCode::NOT_FOUND);

    let (status, body) = api.get("/v1/executions?status=done", &api.read).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    let (status, _) = api.get("/v1/executions?limit=0", &api.read).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api.get("/v1/executions?trigger=minus-one", &api.read).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api.get("/v1/executions/garbage", &api.read).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let missing = format!(
        "/v1/executions/1:{}",
        herald_core::EventId::from_bytes(alloy::primitives::B256::repeat_byte(7))
    );
    let (status, _) = api.get(&missing, &api.read).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, metrics) = api.call(Method::GET, "/metrics", None, None).await;
    assert!(
        metrics
            .as_str()
            .unwrap_or("")
            .contains("herald_events_total{connector=\"HTTP_EVENT\"} 2"),
        "{metrics}"
    );
}

/// Audit finding 3: an event type belongs to the key that signed its definition, and only that key
/// or the emitters it named may emit it. Anything else is refused — and neither stored nor
/// dispatched.
#[tokio::test(flavor = "multi_thread")]
async fn only_a_types_owner_and_its_emitters_may_emit_it() {
    use reqwest::Method;
    let (store, _dir) = store().await;
    let (feed, mut dispatched) = tokio::sync::mpsc::channel(16);
    let api = Api::start_with(store.clone(), None, Some(feed)).await;
    let (owner, named, stranger) = (
        PrivateKeySigner::random(),
        PrivateKeySigner::random(),
        PrivateKeySigner::random(),
    );
    let definition = json!({"name": "order.created", "emitters": [named.address()]});
    let (status, body) = api
        .change(
            &owner,
            Method::POST,
            "/v1/event-types",
            "order.created",
            signing::DEFINE,
            Some(definition),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["owner"], owner.address().to_string());
    assert_eq!(body["emitters"], json!([named.address().to_string()]));

    let (status, body) = api
        .emit(&stranger, "order.created", json!({"order": "X"}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "not_an_emitter"),
        "{body}"
    );
    let (status, body) = api
        .send(
            Method::POST,
            "/v1/events/order.created",
            br#"{"order":"X"}"#.to_vec(),
            &[],
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "missing_signature")
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("herald-event-id")
    );
    // Signed over another payload than the one sent: it recovers to some other key.
    let emission =
        Emission::sign(&named, &domain(), "order.created", &json!({"order": "A"})).expect("sign");
    let (status, _) = api
        .send(
            Method::POST,
            "/v1/events/order.created",
            br#"{"order":"B"}"#.to_vec(),
            &emission.headers(),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a signature over another payload"
    );
    // An id ten minutes old, signed as it was then.
    let old_ms = jiff::Timestamp::now().as_millisecond() as u64 - 600_000;
    let old_id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        old_ms / 1_000,
        0,
    ));
    let payload = json!({"order": "OLD"});
    let signature = signing::sign(
        &named,
        &signing::event_digest(
            &domain(),
            old_id,
            "order.created",
            old_ms / 1_000 * 1_000,
            &payload,
        ),
    )
    .expect("sign");
    let (status, body) = api
        .send(
            Method::POST,
            "/v1/events/order.created",
            serde_json::to_vec(&payload).expect("json"),
            &[
                (signing::EVENT_ID_HEADER, old_id.to_string()),
                (
                    signing::EVENT_TIME_HEADER,
                    (old_ms / 1_000 * 1_000).to_string(),
                ),
                (signing::EMITTER_SIGNATURE_HEADER, signature.to_string()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("herald-event-time:"),
        "{body}"
    );
    let none: Option<herald_core::Event> = dispatched.try_recv().ok();
    assert!(none.is_none(), "nothing refused was dispatched");
    assert_eq!(
        store
            .events_after("HTTP_EVENT", 0, 10)
            .await
            .expect("read")
            .len(),
        0,
        "nothing refused was stored"
    );

    // Another key cannot take the type over, nor add itself.
    let (status, body) = api
        .change(
            &stranger,
            Method::PUT,
            "/v1/event-types/order.created",
            "order.created",
            signing::UPDATE,
            Some(json!({"emitters": [stranger.address()]})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "not_the_owner"),
        "{body}"
    );
    let (status, _) = api
        .change(
            &stranger,
            Method::DELETE,
            "/v1/event-types/order.created",
            "order.created",
            signing::DELETE,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    for emitter in [&owner, &named] {
        let (status, body) = api
            .emit(emitter, "order.created", json!({"order": "A-1"}))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let event = dispatched.try_recv().expect("dispatched");
        assert_eq!(signing::emitter_of(&event), Some(emitter.address()));
        assert_eq!(
            event.source,
            format!("eip155:{CHAIN_ID}:{}", emitter.address())
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn chain_views_answer_from_the_deployment() {
    let anvil = spawn_anvil().expect("anvil");
    let net = Network::setup(&anvil, 1, 1).await.expect("network");
    let (store, _dir) = store().await;
    let chain = Chain {
        provider: net.admin.clone(),
        herald: net.herald(),
    };
    let api = Api::start(store, Some(chain)).await;

    let (status, keepers) = api.get("/v1/keepers", &api.read).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keepers.as_array().map(Vec::len), Some(1));
    assert_eq!(keepers[0]["state"], "active");
    assert_eq!(
        keepers[0]["address"],
        format!("{:#x}", net.keepers[0].address())
    );
    assert_eq!(api.get("/v1/triggers", &api.read).await.1, json!([]));

    let user = depositor(&anvil, &net, 9, U256::from(10u64.pow(18)))
        .await
        .expect("deposit");
    let config = seed_trigger(net.deployment.token.address, "https://hooks.example.com/h");
    create_trigger(&user, &net, terms(), U96::from(10u64.pow(17)), &config)
        .await
        .expect("trigger");
    let (_, triggers) = api.get("/v1/triggers", &api.read).await;
    assert_eq!(triggers[0]["id"], 1);
    assert_eq!(triggers[0]["status"], "active");
    assert_eq!(triggers[0]["config"], config);
    let (status, one) = api.get("/v1/triggers/1", &api.read).await;
    assert_eq!(
        (status, one["budget"].as_str()),
        (StatusCode::OK, Some("100000000000000000"))
    );
    assert_eq!(
        api.get("/v1/triggers/9", &api.read).await.0,
        StatusCode::NOT_FOUND
    );

    let owner = herald_devnet::signer(&anvil, 9).address();
    let (status, balance) = api.get(&format!("/v1/balances/{owner}"), &api.read).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(balance["unallocated"], "900000000000000000");
    assert_eq!(
        api.get("/v1/balances/nope", &api.read).await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_is_valid_and_covers_every_route() {
    let (store, _dir) = store().await;
    let api = Api::start(store, None).await;
    let (status, doc) = api
        .call(reqwest::Method::GET, "/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "OpenAPI 3.1"
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());

    // Every route the server answers is documented, with the methods it answers.
    let documented: BTreeSet<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .expect("operations")
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    let served: BTreeSet<String> = [
        "GET /health",
        "GET /ready",
        "GET /metrics",
        "GET /v1/executions",
        "GET /v1/executions/{key}",
        "GET /v1/event-types",
        "POST /v1/event-types",
        "GET /v1/event-types/{name}",
        "PUT /v1/event-types/{name}",
        "DELETE /v1/event-types/{name}",
        "POST /v1/events/{name}",
        "GET /v1/triggers",
        "GET /v1/triggers/{id}",
        "GET /v1/balances/{address}",
        "GET /v1/keepers",
        "GET /v1/subscriptions",
        "POST /v1/subscriptions",
        "GET /v1/subscriptions/{id}",
        "PUT /v1/subscriptions/{id}",
        "DELETE /v1/subscriptions/{id}",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(documented, served);

    // Valid: every operation answers something, every path parameter is declared, every
    // reference resolves, and /v1 operations name the API-key scheme.
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["api_key"]["scheme"], "bearer");
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("ops") {
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} has responses"
            );
            for segment in path.split('/').filter(|s| s.starts_with('{')) {
                let name = segment.trim_matches(|c| c == '{' || c == '}');
                let declared = op["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == name && p["in"] == "path"));
                assert!(declared, "{method} {path} declares {name}");
            }
            if path.starts_with("/v1/") {
                assert!(op["security"].is_array(), "{method} {path} needs a key");
            }
        }
    }
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .expect("a schema ref");
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} resolves"
        );
    }
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
