//! `waymark serve`: the Step Functions API on localhost over the embedded database.

use std::sync::Arc;

use anyhow::{Context, Result};

use crate::args::ServeArgs;
use crate::runtime;

pub fn serve(a: ServeArgs) -> Result<i32> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    rt.block_on(async {
        let (local, _mocks) = runtime::open(&a.db, &a.runtime, None).await?;
        let local = Arc::new(local);
        tokio::spawn(local.clone().run_scheduler());
        let addr = format!("{}:{}", a.host, a.port);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let data = if a.db == ":memory:" {
            "in memory (nothing is kept)".to_string()
        } else {
            a.db.clone()
        };
        let time = if a.runtime.wait_scale == 0.0 {
            "virtual (waits take no time)".to_string()
        } else {
            format!("{}x real time", a.runtime.wait_scale)
        };
        tracing::info!(
            "Waymark serves the Step Functions API at http://{addr} — data: {data}; time: {time}"
        );
        tracing::info!("try: aws stepfunctions list-state-machines --endpoint-url http://{addr}");
        let app = waymark_api::router(local.engine.clone());
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
                tracing::info!("shutting down");
            })
            .await
            .context("the server stopped")?;
        Ok(0)
    })
}
