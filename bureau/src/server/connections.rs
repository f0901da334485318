//! The bureau's edge: accepting connections and keeping each within bounds.
//! `axum::serve` has neither a connection cap nor timeouts, so the accept loop
//! is ours, on hyper's connection builder and hyper-util's graceful shutdown:
//!
//! - at most `limits.max_connections` connections at once: past that, new ones
//!   wait in the kernel's backlog, holding no file descriptor or memory here;
//! - `limits.header_timeout_s` to send a request's headers, counted from the
//!   connection's start and, on a kept-alive connection, from the end of the
//!   previous answer (hyper starts its header timer whenever it waits for a
//!   request), so a slow or idle client frees its slot;
//! - request bodies: `limits.body_idle_timeout_s` between two pieces, in the
//!   router (`tower-http`), so a 2G upload may take long but not stall;
//! - with TLS, the handshake within the header timeout too.

use crate::api::ClientAddr;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// How long in-flight requests get to finish once shutdown starts.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// A failed accept (out of file descriptors, most likely) is retried after this.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Bounds on the connections themselves, and TLS when the bureau serves HTTPS.
#[derive(Clone)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub tls: Option<TlsAcceptor>,
}

/// Serves `app` on `listener` until `shutdown` completes, then lets in-flight
/// requests finish (for at most [`DRAIN_TIMEOUT`]).
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
        };
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(_) => {
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let (app, http, watcher) = (app.clone(), http.clone(), graceful.watcher());
        let (tls, handshake) = (limits.tls.clone(), limits.header_timeout);
        // A connection that ends badly (timeout, reset, failed handshake)
        // concerns only its client.
        tokio::spawn(async move {
            match tls {
                None => serve_one(&http, watcher, stream, app, peer).await,
                Some(acceptor) => {
                    let accepted = tokio::time::timeout(handshake, acceptor.accept(stream)).await;
                    if let Ok(Ok(stream)) = accepted {
                        serve_one(&http, watcher, stream, app, peer).await;
                    }
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
}

/// Serves one connection (plain or TLS) until it ends or shutdown drains it;
/// every request carries the client's address.
async fn serve_one<I>(
    http: &hyper::server::conn::http1::Builder,
    watcher: Watcher,
    io: I,
    app: Router,
    peer: SocketAddr,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ClientAddr(peer));
        app.clone().oneshot(request)
    });
    let _ = watcher
        .watch(http.serve_connection(TokioIo::new(io), service))
        .await;
}
