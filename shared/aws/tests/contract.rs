//! The engine's store contract over DynamoDB (moto, through the harness's serialising proxy):
//! the same suite the in-memory and SQLite stores pass.

mod common;

use common::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dynamodb_store_keeps_the_contract() {
    let h = Harness::start("the_dynamodb_store_keeps_the_contract", 900).await;
    waymark_engine::contract::check(&*h.check.store).await;
    waymark_engine::contract::check_map_children(&*h.check.store).await;
}
