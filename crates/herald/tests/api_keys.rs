//! `herald api-key`: the secret is shown once, only its hash is stored, and revocation sticks.

use assert_cmd::Command;
use herald_store::{KeyScope, Store};
use serde_json::Value;

fn herald(store: &str, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("herald")
        .expect("binary")
        .env("DATABASE_URL", store)
        .arg("--json")
        .args(args)
        .output()
        .expect("runs")
}

fn json(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_are_created_hashed_listed_without_secrets_and_revoked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("keeper.db").display());
    let created = json(&herald(
        &url,
        &[
            "api-key", "create", "--name", "ci", "--scope", "write", "--rate", "5",
        ],
    ));
    let secret = created["secret"].as_str().expect("secret").to_string();
    assert!(secret.starts_with(&format!("hk_{}_", created["id"].as_str().expect("id"))));

    let store = Store::connect(&url).await.expect("store");
    let key = store
        .api_key_by_hash(&herald_api::auth::hash(&secret))
        .await
        .expect("read")
        .expect("found by the secret's hash");
    assert_eq!(
        (key.scope, key.rate_per_minute, key.revoked),
        (KeyScope::Write, 5, false)
    );

    let listed = herald(&url, &["api-key", "list"]);
    assert!(!String::from_utf8_lossy(&listed.stdout).contains(&secret[12..]));
    assert_eq!(json(&listed)[0]["name"], "ci");

    json(&herald(&url, &["api-key", "revoke", &key.id]));
    let key = store
        .api_key_by_hash(&herald_api::auth::hash(&secret))
        .await
        .expect("read");
    assert!(key.expect("still listed").revoked);
    let out = herald(&url, &["api-key", "revoke", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    let out = herald(
        &url,
        &["api-key", "create", "--name", "x", "--scope", "admin"],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--scope: unknown scope"));
}
