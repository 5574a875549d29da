//! The load of `tests/lost_writes.rs` sent to `moto_server` directly and through the proxy,
//! to see what the proxy prevents: `cargo run -p waymark-moto --example lost_writes`.

#[path = "../tests/workload/mod.rs"]
mod workload;

use waymark_moto::Moto;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    for (name, through_proxy) in [("moto_server directly", false), ("through the proxy", true)] {
        let moto = Moto::start();
        let endpoint = if through_proxy {
            &moto.endpoint
        } else {
            &moto.direct_endpoint
        };
        let started = std::time::Instant::now();
        let outcome = workload::run(endpoint).await;
        println!(
            "{name}: {} of {} writes lost ({} puts made), {} of {} transactions cancelled, {} cancelled items leaked, {} requests failed otherwise ({:.1} s)",
            outcome.lost.len(),
            outcome.written,
            workload::WRITES,
            outcome.cancelled,
            workload::CANCELLED,
            outcome.leaked.len(),
            outcome.errors.len(),
            started.elapsed().as_secs_f64()
        );
        for e in outcome.errors.iter().take(5) {
            println!("  {e}");
        }
    }
}
