//! The engine's store contract over SQLite: the same suite the in-memory and DynamoDB stores
//! pass, on a database file of its own.

#[tokio::test]
async fn the_sqlite_store_keeps_the_contract() {
    let dir = std::env::temp_dir().join(format!("waymark-contract-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = dir.join("contract.db");
    let store = waymark_local::SqliteStore::open(db.to_str().unwrap()).expect("open");
    waymark_engine::contract::check(&store).await;
    drop(store);
    let store = waymark_local::SqliteStore::open(":memory:").expect("open");
    waymark_engine::contract::check_map_children(&store).await;
    let _ = std::fs::remove_dir_all(&dir);
}
