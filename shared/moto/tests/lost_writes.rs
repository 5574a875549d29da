//! Through the proxy, moto's transactions cannot erase other requests' writes: the load of
//! `workload` (which damages the table when sent to `moto_server` directly: see
//! `examples/lost_writes.rs`) leaves every write in place and every cancelled put out.

mod workload;

use waymark_moto::Moto;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_write_is_lost_while_transactions_are_cancelled() {
    let moto = Moto::start();
    let outcome = workload::run(&moto.endpoint).await;
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    assert_eq!(outcome.written, workload::WRITES);
    assert_eq!(outcome.cancelled, workload::CANCELLED);
    assert!(
        outcome.lost.is_empty(),
        "{} of {} writes lost: {:?}",
        outcome.lost.len(),
        outcome.written,
        outcome.lost
    );
    assert!(outcome.leaked.is_empty(), "{:?}", outcome.leaked);
}
