//! Running the bureau: bind, serve, and shut down gracefully on SIGINT/SIGTERM
//! (in-flight requests finish; nothing half-written is left, since every write
//! is one transaction and every file is renamed into place). Connections are
//! accepted and bounded by [`connections`].

mod connections;

use crate::bureau::Bureau;
use crate::config::Config;
use crate::error::Result;
use crate::{api, console};
use crate::{fires, uploads};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Serves `bureau` on an already bound listener until `shutdown` completes.
/// Expired photo uploads are swept at start-up and periodically while it serves;
/// a configured fire source is fetched likewise. Fire files a crash left
/// spooled are removed first.
pub async fn serve(
    bureau: Arc<Bureau>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    fires::spool::clear(&bureau.data_dir)?;
    let sweeper = tokio::spawn(uploads::sweep_periodically(bureau.clone()));
    let fire_fetch = bureau
        .fires
        .fetch_url
        .clone()
        .map(|url| tokio::spawn(fires::fetch::poll_periodically(bureau.clone(), url)));
    let limits = connections::ConnectionLimits {
        max_connections: bureau.limits.max_connections,
        header_timeout: Duration::from_secs(bureau.limits.header_timeout_s),
        tls: bureau.tls.as_ref().map(|tls| tls.acceptor()),
    };
    let pages = console::routes(bureau.clone());
    connections::serve_connections(
        listener,
        api::router(bureau.clone(), pages),
        limits,
        shutdown,
    )
    .await;
    sweeper.abort();
    let _ = sweeper.await;
    if let Some(fetch) = fire_fetch {
        fetch.abort();
        let _ = fetch.await;
    }
    // The bureau's last handle goes on a blocking thread: closing a PostgreSQL
    // pool blocks, which an async thread must not do.
    let _ = tokio::task::spawn_blocking(move || drop(bureau)).await;
    Ok(())
}

/// Opens the bureau from `config`, binds, reports through `started` (the bound
/// address, any admin token generated at first start, and the TLS pin when it
/// serves HTTPS), and serves until a SIGINT or SIGTERM. Blocks; builds its own
/// runtime.
pub fn run(
    config: &Config,
    started: impl FnOnce(SocketAddr, Option<String>, Option<String>),
) -> Result<()> {
    let (bureau, first_start) = Bureau::open(config)?;
    let pin = bureau.tls.as_ref().map(|tls| tls.pin().to_owned());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(config.listen).await?;
        started(listener.local_addr()?, first_start.admin_token, pin);
        serve(Arc::new(bureau), listener, shutdown_signal()).await
    })
}

/// A bureau serving on a thread with its own runtime until stopped: the
/// embedded bureau of the CLI demo, the tests and the benchmarks. Dropping it
/// stops it gracefully.
pub struct BackgroundServer {
    pub bureau: Arc<Bureau>,
    pub addr: SocketAddr,
    control: Option<oneshot::Sender<Stop>>,
    thread: Option<JoinHandle<()>>,
}

enum Stop {
    /// In-flight requests finish, as on SIGTERM.
    Graceful,
    /// Everything ends where it is, as when the process is killed.
    Abort,
}

impl BackgroundServer {
    /// Opens the bureau from `config` and serves it on `listener` (already bound,
    /// so the caller knows the address before anything runs).
    pub fn start(config: &Config, listener: std::net::TcpListener) -> Result<Self> {
        let (bureau, _) = Bureau::open(config)?;
        let bureau = Arc::new(bureau);
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let (control, commands) = oneshot::channel();
        let served = bureau.clone();
        let thread = std::thread::spawn(move || {
            runtime.block_on(run_until_stopped(served, listener, commands));
            // A write already running on a blocking thread finishes (it is one
            // transaction either way); nothing waits for connections.
            runtime.shutdown_timeout(Duration::from_secs(5));
        });
        Ok(Self {
            bureau,
            addr,
            control: Some(control),
            thread: Some(thread),
        })
    }

    pub fn url(&self) -> String {
        url(self.addr, self.bureau.tls.is_some())
    }

    /// Stops as on SIGTERM: in-flight requests finish first.
    pub fn stop(mut self) {
        self.halt(Stop::Graceful);
    }

    /// Stops as a killed process would: requests in flight get no answer and
    /// their connections are dropped. Whatever a request had committed stays.
    pub fn crash(mut self) {
        self.halt(Stop::Abort);
    }

    fn halt(&mut self, how: Stop) {
        if let Some(control) = self.control.take() {
            let _ = control.send(how);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        self.halt(Stop::Graceful);
    }
}

async fn run_until_stopped(
    bureau: Arc<Bureau>,
    listener: std::net::TcpListener,
    commands: oneshot::Receiver<Stop>,
) {
    let Ok(listener) = TcpListener::from_std(listener) else {
        return;
    };
    let (graceful, graceful_signal) = oneshot::channel::<()>();
    let serving = serve(bureau, listener, async {
        let _ = graceful_signal.await;
    });
    tokio::pin!(serving);
    tokio::select! {
        served = &mut serving => report(served),
        command = commands => match command {
            Ok(Stop::Abort) => {}
            // Told to stop, or the handle is gone: finish what is in flight.
            Ok(Stop::Graceful) | Err(_) => {
                let _ = graceful.send(());
                report(serving.await);
            }
        },
    }
}

fn report(served: Result<()>) {
    if let Err(e) = served {
        eprintln!("bureau server failed [{}]: {e}", e.code());
    }
}

/// The bureau's address as a URL: `https` when it serves TLS.
pub fn url(addr: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{addr}")
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).expect("SIGTERM handler installs");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
