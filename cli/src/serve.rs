//! `waymark serve`: the Step Functions API and the human-approval pages on localhost, over the
//! embedded database.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use waymark_api::approvals::{approval_router, ApprovalKey, ApprovalPages, Links, RejectMode};

use crate::args::ServeArgs;
use crate::runtime;
use crate::server::{self, Limits};

pub fn serve(a: ServeArgs) -> Result<i32> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    rt.block_on(async {
        let addr = format!("{}:{}", a.host, a.port);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let shown_host = if a.host == "0.0.0.0" || a.host == "::" {
            "127.0.0.1"
        } else {
            a.host.as_str()
        };
        // The port the system gave, for `--port 0`.
        let port = listener.local_addr().map_or(a.port, |l| l.port());
        let public = a
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{shown_host}:{port}"));
        // Links stay valid across restarts when the key lives beside the database.
        let key = if a.db == ":memory:" {
            ApprovalKey::random()
        } else {
            let dir = Path::new(&a.db)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let path = dir.join("approval.key");
            ApprovalKey::load_or_create(&path)
                .with_context(|| format!("cannot read or create {}", path.display()))?
        };
        let links = Links::new(key, public.clone());
        let maker = links.clone();
        let (local, _mocks) = runtime::open(
            &a.db,
            &a.runtime,
            Some(Box::new(move |token, expires| maker.make(token, expires))),
        )
        .await?;
        let local = Arc::new(local);
        tokio::spawn(local.clone().run_scheduler());

        let pages = Arc::new(ApprovalPages {
            backend: local.engine.clone(),
            store: local.store.clone(),
            links,
            reject: if a.approval_reject == "fail" {
                RejectMode::Fail
            } else {
                RejectMode::Output
            },
        });
        let app =
            waymark_api::router_with_console(local.engine.clone()).merge(approval_router(pages));

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
            "Waymark serves the Step Functions API at {public} — data: {data}; time: {time}"
        );
        tracing::info!("try: aws stepfunctions list-state-machines --endpoint-url {public}");
        let limits = Limits {
            header_timeout: a.header_timeout,
            idle_timeout: a.idle_timeout,
            body_timeout: a.body_timeout,
            max_connections: a.max_connections as usize,
        };
        server::serve(listener, app, limits, async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
        })
        .await;
        Ok(0)
    })
}
