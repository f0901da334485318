//! A TCP fault proxy on loopback, in this process: [noxious], a Rust port of
//! Toxiproxy, run on its own tokio runtime. Toxics — latency, bandwidth, cut
//! connections, sliced packets — are added and removed while the proxy runs, and
//! apply to the connections already open as well as new ones.
//!
//! noxious 1.0.4's bandwidth toxic sends only 100 bytes per 100 ms (and then
//! panics on a negative sleep) for a read larger than `rate × 100` bytes, where
//! Toxiproxy sends `rate × 100` bytes. [`bandwidth`] therefore slices the stream
//! into pieces of at most that size first, which leaves the toxic its plain
//! sleep-per-piece path: the rate then holds.

use noxious::proxy::{ProxyConfig, ProxyRunner, Runner, Toxics};
use noxious::signal::{Close, Stop, Stopper};
use noxious::socket::TcpListener as NoxiousListener;
use noxious::toxic::{
    StreamDirection, Toxic, ToxicEvent, ToxicEventKind, ToxicEventResult, ToxicKind,
};
use std::net::SocketAddr;
use std::time::Duration;

pub use noxious::toxic::StreamDirection::{Downstream, Upstream};

const PROXY_NAME: &str = "bureau";

/// A noxious proxy on 127.0.0.1 in front of `upstream`, until dropped.
pub struct FaultProxy {
    pub url: String,
    pub addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
    events: bmrng::RequestSender<ToxicEvent, ToxicEventResult>,
    stopper: Option<Stopper>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` with `toxics` in place (in order, per direction).
    pub fn start(upstream: SocketAddr, toxics: Vec<Toxic>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("noxious")
            .enable_all()
            .build()
            .unwrap();
        let (upstream_toxics, downstream_toxics) = toxics
            .into_iter()
            .partition(|t| t.direction == StreamDirection::Upstream);
        let toxics = Toxics {
            upstream: upstream_toxics,
            downstream: downstream_toxics,
        };
        // noxious binds by address and does not say which port it got: take a free
        // one first (on loopback nothing else is racing for it in practice).
        let (listener, info) = (0..20)
            .find_map(|_| {
                let config = ProxyConfig {
                    name: PROXY_NAME.into(),
                    listen: format!("127.0.0.1:{}", free_port()),
                    upstream: upstream.to_string(),
                    enabled: true,
                    rand_seed: None,
                };
                runtime
                    .block_on(ProxyRunner::initialize_proxy::<NoxiousListener>(
                        config,
                        toxics.clone(),
                    ))
                    .ok()
            })
            .expect("the fault proxy binds");
        let addr: SocketAddr = info.config.listen.parse().unwrap();
        let (events, receiver) = bmrng::channel(1);
        let (stop, stopper) = Stop::new();
        let (_closed, closer) = Close::new();
        runtime.spawn(ProxyRunner::run_proxy(
            listener, info, receiver, stop, closer,
        ));
        Self {
            url: format!("http://{addr}"),
            addr,
            runtime: Some(runtime),
            events,
            stopper: Some(stopper),
        }
    }

    /// Adds a toxic; its name must be new. Connections already open get it too.
    pub fn add(&self, toxic: Toxic) {
        self.update(ToxicEventKind::AddToxic(toxic));
    }

    /// Adds several toxics, in order.
    pub fn add_all(&self, toxics: Vec<Toxic>) {
        for toxic in toxics {
            self.add(toxic);
        }
    }

    /// Removes the toxic called `name`.
    pub fn remove(&self, name: &str) {
        self.update(ToxicEventKind::RemoveToxic(name.to_owned()));
    }

    /// Removes every toxic: a clean link from now on.
    pub fn heal(&self) {
        self.update(ToxicEventKind::RemoveAllToxics);
    }

    fn update(&self, kind: ToxicEventKind) {
        let event = ToxicEvent::new(PROXY_NAME.into(), kind);
        let runtime = self.runtime.as_ref().unwrap();
        runtime
            .block_on(self.events.send_receive(event))
            .expect("the proxy takes toxic updates")
            .expect("the toxic update applies");
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stopper) = self.stopper.take() {
            stopper.stop();
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn toxic(name: &str, direction: StreamDirection, kind: ToxicKind) -> Toxic {
    Toxic {
        kind,
        name: name.to_owned(),
        toxicity: 1.0,
        direction,
    }
}

/// Every piece of data waits `ms` ± `jitter_ms` before it goes on.
pub fn latency(name: &str, direction: StreamDirection, ms: u64, jitter_ms: u64) -> Toxic {
    toxic(
        name,
        direction,
        ToxicKind::Latency {
            latency: ms,
            jitter: jitter_ms,
        },
    )
}

/// At most `kb_per_s` × 1000 bytes a second. Two toxics: a slicer named
/// `{name}-slices` that cuts the stream into pieces the bandwidth toxic can pace
/// correctly (see the module docs), then the bandwidth toxic `name`.
pub fn bandwidth(name: &str, direction: StreamDirection, kb_per_s: u64) -> Vec<Toxic> {
    vec![
        slicer(&format!("{name}-slices"), direction, kb_per_s * 50, 0, 0),
        toxic(name, direction, ToxicKind::Bandwidth { rate: kb_per_s }),
    ]
}

/// Cuts the stream into pieces of `average` ± `variation` bytes, each `delay_us`
/// after the last: what a link with a small MTU and jittery timing delivers.
pub fn slicer(
    name: &str,
    direction: StreamDirection,
    average: u64,
    variation: u64,
    delay_us: u64,
) -> Toxic {
    toxic(
        name,
        direction,
        ToxicKind::Slicer {
            average_size: average,
            size_variation: variation,
            delay: delay_us,
        },
    )
}

/// Closes each connection once `bytes` went through in `direction`: upstream, a
/// request cut mid-body; downstream, an answer lost after the bureau acted.
/// `toxicity` is the chance a new connection gets it.
pub fn limit_data(name: &str, direction: StreamDirection, bytes: u64, toxicity: f32) -> Toxic {
    Toxic {
        toxicity,
        ..toxic(name, direction, ToxicKind::LimitData { bytes })
    }
}

/// Nothing goes through; the connection is closed after `ms` (never if 0).
pub fn timeout(name: &str, direction: StreamDirection, ms: u64) -> Toxic {
    toxic(name, direction, ToxicKind::Timeout { timeout: ms })
}

/// A 2G-like link: about 20 KB/s each way and 500 ms round trips (250 ms each
/// way, applied to what arrives before it is paced).
pub fn two_g() -> Vec<Toxic> {
    let mut toxics = Vec::new();
    for (direction, name) in [(Upstream, "2g-up"), (Downstream, "2g-down")] {
        toxics.push(latency(&format!("{name}-latency"), direction, 250, 0));
        toxics.extend(bandwidth(&format!("{name}-bandwidth"), direction, 20));
    }
    toxics
}
