//! Herald's REST API, served by the keeper (and by `herald devnet`).
//!
//! `/health`, `/ready`, `/metrics`, `/openapi.json` and `/docs` are open; everything under `/v1`
//! needs an API key (`Authorization: Bearer hk_…`; see [`auth`]): executions with their logs, event
//! types and events (seed 003), and read-only views of the chain (triggers, balances, keepers).
//! Every error is a JSON body with a stable code; bodies over 64 KiB are refused with 413; bad
//! input is a 4xx, never a 500. The OpenAPI 3.1 document is generated from the handlers
//! themselves (utoipa), so it cannot drift from the routes.

pub mod auth;
pub mod chain;
pub mod error;
pub mod event_types;
pub mod executions;
pub mod metrics;
pub mod signing;
pub mod subscriptions;
pub mod system;

use std::sync::Arc;

use axum::{Router, extract::DefaultBodyLimit, middleware};
use herald_store::Store;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
};
use utoipa_axum::{router::OpenApiRouter, routes};
use utoipa_scalar::{Scalar, Servable};

pub use chain::Chain;
pub use metrics::Metrics;

/// The largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The keeper's store.
    pub store: Store,
    /// The chain, for triggers, balances and keepers.
    pub chain: Option<Chain>,
    /// The keeper's metrics.
    pub metrics: Arc<Metrics>,
    /// Per-key rate limiters.
    pub limits: Arc<auth::RateLimits>,
    /// Where accepted events go to be dispatched (the keeper's HTTP connector), if anywhere. A
    /// bounded queue: while the keeper is behind, posting waits rather than memory growing.
    pub events: Option<tokio::sync::mpsc::Sender<herald_core::Event>>,
    /// The deployment emitters and owners sign for (chain id, Herald address): given, or read
    /// once from the chain's node.
    deployment: Arc<tokio::sync::OnceCell<(u64, alloy::primitives::Address)>>,
}

impl ApiState {
    /// State over `store` and, if given, a chain.
    pub fn new(store: Store, chain: Option<Chain>, metrics: Arc<Metrics>) -> Self {
        Self {
            store,
            chain,
            metrics,
            limits: Arc::default(),
            events: None,
            deployment: Arc::default(),
        }
    }

    /// Verifies signatures for the deployment `herald` on chain `chain_id` (an API without a
    /// chain cannot read them from a node).
    pub fn with_deployment(self, chain_id: u64, herald: alloy::primitives::Address) -> Self {
        let _ = self.deployment.set((chain_id, herald));
        self
    }

    /// The EIP-712 domain emitters and owners sign under, and the chain id.
    pub(crate) async fn signing_domain(
        &self,
    ) -> Result<(alloy::sol_types::Eip712Domain, u64), error::ApiError> {
        use alloy::providers::Provider;
        let (chain_id, herald) = *self
            .deployment
            .get_or_try_init(|| async {
                let Some(chain) = &self.chain else {
                    return Err(error::ApiError::new(
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        "no_chain",
                        "this API knows no deployment to verify signatures against",
                    ));
                };
                let id = chain
                    .provider
                    .get_chain_id()
                    .await
                    .map_err(error::ApiError::internal)?;
                Ok((id, chain.herald))
            })
            .await?;
        Ok((herald_chain::receipt::domain(chain_id, herald), chain_id))
    }

    /// Hands every accepted event to `feed` after it is stored; a full feed holds the request
    /// until there is room (the event is stored already: a keeper that stops first finds it).
    pub fn with_event_feed(mut self, feed: tokio::sync::mpsc::Sender<herald_core::Event>) -> Self {
        self.events = Some(feed);
        self
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Herald", description = "Events in, actions out, settled on chain."),
    modifiers(&ApiKeyScheme),
    tags((name = "executions"), (name = "events"), (name = "chain"), (name = "system"))
)]
struct ApiDoc;

struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The routes and their OpenAPI document.
pub fn router(state: ApiState) -> Router {
    let v1 = OpenApiRouter::new()
        .routes(routes!(executions::list))
        .routes(routes!(executions::show))
        .routes(routes!(event_types::list, event_types::create))
        .routes(routes!(
            event_types::show,
            event_types::update,
            event_types::delete
        ))
        .routes(routes!(event_types::emit))
        .routes(routes!(subscriptions::list, subscriptions::create))
        .routes(routes!(
            subscriptions::show,
            subscriptions::update,
            subscriptions::delete
        ))
        .routes(routes!(chain::triggers))
        .routes(routes!(chain::trigger))
        .routes(routes!(chain::balance))
        .routes(routes!(chain::keepers))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_key,
        ));
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(system::health))
        .routes(routes!(system::ready))
        .routes(routes!(system::metrics))
        .nest("/v1", v1)
        .split_for_parts();
    let document = openapi.clone();
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || async move { axum::Json(document.clone()) }),
        )
        .merge(Scalar::with_url("/docs", openapi))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, Router::new(), shutdown).await
}

/// Serves the API and `extra` routes (the keeper's peer protocol, which authenticates by keeper
/// signatures rather than API keys and is not part of the public document) on `listener`.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: ApiState,
    extra: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state).merge(extra))
        .with_graceful_shutdown(shutdown)
        .await
}
