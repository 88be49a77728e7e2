//! `Store::check` against real SQLite files: a file removed or replaced under an open store is
//! reported as gone, for good; a healthy store checks clean.

use herald_store::{Store, StoreError};

async fn opened() -> (tempfile::TempDir, std::path::PathBuf, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keeper.db");
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("connect");
    (dir, path, store)
}

#[tokio::test]
async fn a_healthy_store_checks_clean() {
    let (_dir, _path, store) = opened().await;
    store.check().await.expect("healthy");
}

#[tokio::test]
async fn a_removed_file_is_gone() {
    let (_dir, path, store) = opened().await;
    std::fs::remove_file(&path).expect("remove");
    match store.check().await {
        Err(e @ StoreError::Gone { .. }) => {
            let message = e.to_string();
            assert!(message.contains("was removed"), "{message}");
            assert!(message.contains(&path.display().to_string()), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_file_replaced_at_its_path_is_gone() {
    let (dir, path, store) = opened().await;
    // Restored from a backup, say: the same name, another file.
    let other = dir.path().join("restored.db");
    std::fs::copy(&path, &other).expect("copy");
    std::fs::rename(&other, &path).expect("rename over");
    match store.check().await {
        Err(e @ StoreError::Gone { .. }) => {
            assert!(e.to_string().contains("was replaced"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}
