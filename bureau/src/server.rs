//! Running the bureau: bind, serve, and shut down gracefully on SIGINT/SIGTERM
//! (in-flight requests finish; nothing half-written is left, since every write
//! is one transaction and every file is renamed into place).

use crate::api;
use crate::bureau::Bureau;
use crate::config::Config;
use crate::error::Result;
use crate::uploads;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Serves `bureau` on an already bound listener until `shutdown` completes.
/// Expired photo uploads are swept at start-up and periodically while it serves.
pub async fn serve(
    bureau: Arc<Bureau>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let sweeper = tokio::spawn(uploads::sweep_periodically(bureau.clone()));
    let served = axum::serve(listener, api::router(bureau.clone()))
        .with_graceful_shutdown(shutdown)
        .await;
    sweeper.abort();
    let _ = sweeper.await;
    // The bureau's last handle goes on a blocking thread: closing a PostgreSQL
    // pool blocks, which an async thread must not do.
    let _ = tokio::task::spawn_blocking(move || drop(bureau)).await;
    served?;
    Ok(())
}

/// Opens the bureau from `config`, binds, reports through `started` (the bound
/// address and any admin token generated at first start), and serves until a
/// SIGINT or SIGTERM. Blocks; builds its own runtime.
pub fn run(config: &Config, started: impl FnOnce(SocketAddr, Option<String>)) -> Result<()> {
    let (bureau, first_start) = Bureau::open(config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(config.listen).await?;
        started(listener.local_addr()?, first_start.admin_token);
        serve(Arc::new(bureau), listener, shutdown_signal()).await
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).expect("SIGTERM handler installs");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
