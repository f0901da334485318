//! Support for the end-to-end tests in `tests/`: a real bureau serving on
//! loopback in this process (which can crash and start again), real device
//! stores, the shared corpus, transports and TCP proxies that count, slow down and
//! cut what goes over the wire ([`faults`]: the noxious fault proxy), and the
//! invariants that must hold once sync settles ([`invariants`]).

pub mod cluster;
pub mod faults;
pub mod invariants;
#[path = "../../../bureau/tests/support/servers.rs"]
pub mod servers;

pub use invariants::{assert_consistent, assert_settled, BureauUnderTest, BureauView, Tally};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use fieldproof_bureau::server::BackgroundServer;
use fieldproof_bureau::storage::photo_store::folder::FolderStore;
use fieldproof_bureau::storage::photo_store::s3::S3Store;
use fieldproof_bureau::storage::{Database, PhotoStore};
use fieldproof_bureau::Config;
use fieldproof_core::fixtures::{draft_fields, straw_burning_answers};
use fieldproof_core::geo::datum::Datum;
use fieldproof_core::geo::fix::Fix;
use fieldproof_core::geo::point::GeoPoint;
use fieldproof_core::model::inspection::DraftFields;
use fieldproof_core::model::photo::{CaptureContext, CaptureSource, Photo};
use fieldproof_core::store::{NewTrack, PhotoSource, Store};
use fieldproof_core::sync::{
    HttpRequest, HttpResponse, HttpTransport, SyncEngine, SyncOptions, SyncReport, Transport,
    TransportError,
};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const ADMIN_TOKEN: &str = "e2e-admin-token-0123456789";

/// A bureau serving on 127.0.0.1 until dropped, with its data in a temp folder.
/// It can be crashed and started again on the same data and port mid-test.
pub struct TestBureau {
    pub url: String,
    pub addr: SocketAddr,
    pub data: tempfile::TempDir,
    pub config: Config,
    serving: Option<BackgroundServer>,
}

impl TestBureau {
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    /// Starts with a config adjusted by `tune` (limits).
    pub fn start_with(tune: impl FnOnce(&mut Config)) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let mut config = Config {
            data_dir: data.path().to_owned(),
            listen: "127.0.0.1:0".parse().unwrap(),
            admin_token: Some(ADMIN_TOKEN.into()),
            ..Config::default()
        };
        tune(&mut config);
        let listener = std::net::TcpListener::bind(config.listen).expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        config.listen = addr;
        let serving = Some(BackgroundServer::start(&config, listener).expect("bureau opens"));
        Self {
            url: fieldproof_bureau::server::url(addr, config.tls.is_some()),
            addr,
            data,
            config,
            serving,
        }
    }

    /// Stops the bureau at once, as a killed process would: requests in flight
    /// get no answer and their connections are dropped. Whatever a request had
    /// committed stays; nothing else is flushed or finished.
    pub fn crash(&mut self) {
        if let Some(serving) = self.serving.take() {
            serving.crash();
        }
    }

    /// Starts the bureau again on the same data folder and port.
    pub fn start_again(&mut self) {
        assert!(self.serving.is_none(), "the bureau is running");
        // The port was just released; its old connections may linger a moment.
        let listener = (0..50)
            .find_map(|_| {
                std::net::TcpListener::bind(self.addr)
                    .map_err(|_| std::thread::sleep(Duration::from_millis(100)))
                    .ok()
            })
            .expect("the bureau's port binds again");
        self.serving = Some(BackgroundServer::start(&self.config, listener).expect("bureau opens"));
    }

    /// The running bureau's shared state, for work done in process.
    pub fn bureau(&self) -> &fieldproof_bureau::Bureau {
        &self.serving.as_ref().expect("the bureau is running").bureau
    }

    /// The TLS pin enrollment codes carry, when the bureau serves HTTPS.
    pub fn tls_pin(&self) -> Option<String> {
        let serving = self.serving.as_ref()?;
        Some(serving.bureau.tls.as_ref()?.pin().to_owned())
    }

    /// A crash, then a start on the same data and port.
    pub fn restart(&mut self) {
        self.crash();
        self.start_again();
    }

    /// The bureau's own database, opened read-only beside the running server
    /// (WAL lets a reader look while it writes).
    pub fn database(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(
            self.data.path().join("bureau.sqlite3"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .expect("the bureau database opens")
    }

    /// An admin request: (status, JSON body or Null). `body` is JSON.
    pub fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        admin_request(&self.url, method, path, body)
    }

    /// Downloads the case file of inspection `id` to `to`; returns the HTTP status.
    pub fn case_file(&self, id: &str, to: &Path) -> u16 {
        let response = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent()
            .get(format!("{}/v1/admin/inspections/{id}/bundle", self.url))
            .header("Authorization", format!("Bearer {ADMIN_TOKEN}"))
            .call()
            .expect("the bureau answers");
        let status = response.status().as_u16();
        let mut reader = response
            .into_body()
            .into_with_config()
            .limit(u64::MAX)
            .reader();
        let mut file = std::fs::File::create(to).unwrap();
        std::io::copy(&mut reader, &mut file).expect("the case file streams whole");
        status
    }

    /// The bureau's public key file, as an operator hands it out.
    pub fn public_key_file(&self) -> PathBuf {
        self.data.path().join("bureau-key.hex")
    }

    /// The bureau's signing key, as an insider holding its data folder has it.
    pub fn signing_key(&self) -> fieldproof_bureau::custody_log::BureauKey {
        let pkcs8 = std::fs::read(self.data.path().join("bureau-key.p8")).unwrap();
        fieldproof_bureau::custody_log::BureauKey::from_pkcs8(&pkcs8).unwrap()
    }

    /// A one-time enrollment code for a new officer in `jurisdiction`.
    pub fn enrollment_code(&self, jurisdiction: &str) -> String {
        enrollment_code_at(&self.url, jurisdiction)
    }

    /// A complete photo as the bureau stores it.
    pub fn photo_path(&self, sha256: &str) -> PathBuf {
        self.data.path().join("photos").join(sha256)
    }
}

/// An admin request to the bureau at `url`: (status, JSON body or Null).
fn admin_request(url: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let builder = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{url}{path}"))
        .header("Authorization", format!("Bearer {ADMIN_TOKEN}"));
    let response = match body {
        Some(body) => agent.run(
            builder
                .header("Content-Type", "application/json")
                .body(body.to_string().into_bytes())
                .unwrap(),
        ),
        None => agent.run(builder.body(()).unwrap()),
    }
    .expect("the bureau answers");
    let status = response.status().as_u16();
    let text = response.into_body().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A one-time enrollment code, from the bureau at `url`, for a new officer in
/// `jurisdiction`.
fn enrollment_code_at(url: &str, jurisdiction: &str) -> String {
    let body = serde_json::json!({
        "officer_name": format!("officer of {jurisdiction}"),
        "jurisdiction": jurisdiction,
        "role": "county_officer",
    });
    let (status, code) = admin_request(url, "POST", "/v1/admin/enrollment-codes", Some(&body));
    assert_eq!(status, 201, "{code}");
    code["code"].as_str().unwrap().to_owned()
}

impl BureauUnderTest for TestBureau {
    /// Its database (for SQLite, a second connection beside the server's, as
    /// WAL allows) and its photo store, as configured.
    fn view(&self) -> BureauView {
        let data = &self.config.data_dir;
        let db = match &self.config.database_url {
            Some(url) => Database::open_postgres(url, 2),
            None => Database::open_sqlite(&data.join("bureau.sqlite3")),
        };
        let photos = match &self.config.photo_store {
            Some(s3) => S3Store::open(s3).map(PhotoStore::s3),
            None => FolderStore::open(data).map(PhotoStore::folder),
        };
        BureauView {
            db: db.expect("the bureau's database opens"),
            photos: photos.expect("the bureau's photo store opens"),
        }
    }
}

impl Drop for TestBureau {
    fn drop(&mut self) {
        self.crash();
    }
}

/// A file of the shared corpus: under `FIELDPROOF_CORPUS`, else `../shared/corpus`
/// beside the checkout. Missing data fails the test, naming both places.
pub fn corpus(relative: &str) -> PathBuf {
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let root = std::env::var_os("FIELDPROOF_CORPUS").map_or(default.clone(), PathBuf::from);
    let path = root.join(relative);
    assert!(
        path.exists(),
        "corpus file {relative} not found at {} (set FIELDPROOF_CORPUS to the corpus root; \
         unset, the tests look in {})",
        path.display(),
        default.display()
    );
    path
}

/// A device database in a temp folder. Several `Store`s may open it, as the app
/// and a background worker do.
pub struct Device {
    pub dir: tempfile::TempDir,
    pub store: Arc<Store>,
}

impl Default for Device {
    fn default() -> Self {
        Self::new()
    }
}

impl Device {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path().join("device.db")).unwrap());
        Self { dir, store }
    }

    /// The database file.
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("device.db")
    }

    /// Another connection to the same database, like a second process.
    pub fn open_again(&self) -> Arc<Store> {
        Arc::new(Store::open(self.dir.path().join("device.db")).unwrap())
    }

    pub fn engine(&self, transport: Arc<dyn Transport>) -> SyncEngine {
        SyncEngine::new(self.store.clone(), transport)
    }

    /// Records a complete straw-burning inspection draft in `township`; returns its id.
    pub fn record_inspection(&self, township: &str, address: &str) -> String {
        record_inspection(&self.store, township, address)
    }

    /// Takes a corpus photo into evidence for `inspection_id`.
    pub fn capture(&self, inspection_id: &str, corpus_photo: &str) -> Photo {
        capture(&self.store, inspection_id, &corpus(corpus_photo))
    }

    /// Signs a note into the device chain, about `inspection_id` if given;
    /// returns its seq.
    pub fn note(&self, inspection_id: Option<&str>, text: &str) -> u64 {
        let context = CaptureContext {
            inspection_id: inspection_id.map(str::to_owned),
            officer_id: inspection_id.map(|_| "officer-e2e".to_owned()),
            ..camera_context()
        };
        self.store
            .record_event(
                fieldproof_core::evidence::record::Event::Note(text.into()),
                context,
            )
            .unwrap()
    }

    /// Replays a corpus GPX recording as a patrol; its sealed segments become
    /// evidence records.
    pub fn patrol(&self, corpus_gpx: &str) {
        let bytes = std::fs::read(corpus(corpus_gpx)).unwrap();
        let track = self.store.import_gpx(&bytes, "officer-e2e").unwrap();
        assert!(track.stats.segments > 0, "the track sealed segments");
    }

    /// Walks a live patrol on the inspection's site: `fixes` GPS fixes a
    /// second and about 5 m apart, the last one now. The stopped track's
    /// sealed segment becomes an evidence record covering the visit.
    pub fn walk(&self, inspection_id: &str, fixes: usize) -> String {
        let track = self
            .store
            .start_track(NewTrack {
                officer_id: "officer-e2e".into(),
                inspection_id: Some(inspection_id.into()),
                task_id: None,
                filter: None,
            })
            .unwrap();
        let now = fieldproof_core::time::now_ms();
        let walked = (0..fixes).map(|i| Fix {
            lat: 28.2547 + i as f64 * 0.000_045,
            lon: 113.0800,
            datum: Datum::Gcj02,
            accuracy_m: Some(3.0 + (i % 4) as f64 * 0.25),
            altitude_m: Some(52.0),
            speed_mps: Some(5.0),
            bearing_deg: Some(0.0),
            time_ms: now - (fixes - 1 - i) as i64 * 1_000,
            provider: "gps".into(),
            mock: false,
        });
        self.store
            .append_fixes(&track.id, walked.collect())
            .unwrap();
        let stopped = self.store.stop_track(&track.id).unwrap();
        assert_eq!(stopped.stats.segments, 1, "one sealed segment");
        track.id
    }

    /// Enrolls with `bureau` over plain HTTP.
    pub fn enroll(&self, bureau: &TestBureau) {
        self.enroll_at(&bureau.url, &bureau.enrollment_code("430121"));
    }

    /// Enrolls with `code` at the bureau at `url`.
    pub fn enroll_at(&self, url: &str, code: &str) {
        let engine = self.engine(Arc::new(HttpTransport::new()));
        engine.enroll(url, code, None).expect("enrollment");
    }
}

/// Records a complete straw-burning inspection draft in `township` on `store`;
/// returns its id.
pub fn record_inspection(store: &Store, township: &str, address: &str) -> String {
    let fields = DraftFields {
        site: GeoPoint {
            lat: 28.2547,
            lon: 113.0800,
            datum: Datum::Gcj02,
        },
        address: address.into(),
        officer_id: "officer-e2e".into(),
        findings: "田间焚烧秸秆约两亩".into(),
        ..draft_fields(township)
    };
    let answers = straw_burning_answers();
    store
        .create_draft("straw_burning", fields, &answers)
        .unwrap()
        .id
}

/// Takes the photo at `path` into evidence for `inspection_id` on `store`.
pub fn capture(store: &Store, inspection_id: &str, path: &Path) -> Photo {
    let context = CaptureContext {
        inspection_id: Some(inspection_id.into()),
        officer_id: Some("officer-e2e".into()),
        ..camera_context()
    };
    store
        .capture_photo(PhotoSource::Path(path.to_owned()), None, context)
        .unwrap()
}

/// The context of a camera capture about nothing in particular (tests set what they need).
pub fn camera_context() -> CaptureContext {
    CaptureContext {
        source: CaptureSource::Camera,
        inspection_id: None,
        task_id: None,
        officer_id: None,
        monotonic_ms: None,
        boot_id: None,
        app_version: "e2e".into(),
    }
}

/// Calls `sync_once` (30 s each) until no work is left; returns every report.
/// Panics after `max_calls`.
pub fn sync_until_done(engine: &SyncEngine, max_calls: usize) -> Vec<SyncReport> {
    let mut reports = Vec::new();
    for _ in 0..max_calls {
        let report = engine
            .sync_once(Instant::now() + Duration::from_secs(30))
            .expect("sync");
        let done = !report.work_left.any();
        reports.push(report);
        if done {
            return reports;
        }
    }
    panic!(
        "work left after {max_calls} sync calls: {:#?}",
        reports.last()
    );
}

/// A sync engine talking to `url` instead of the enrolled address.
pub fn engine_via(device: &Device, transport: Arc<dyn Transport>, url: &str) -> SyncEngine {
    device.engine(transport).with_options(SyncOptions {
        server_url: Some(url.to_owned()),
        ..SyncOptions::default()
    })
}

/// One request as the wire saw it.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub path: String,
    pub body_len: usize,
    /// The op ids of a push.
    pub op_ids: Vec<String>,
    /// The `role` of an upload's metadata (creation requests).
    pub upload_role: Option<String>,
    /// A tus request (it carries `Tus-Resumable`), to any server.
    pub tus: bool,
    /// `None` when no answer came back.
    pub status: Option<u16>,
}

/// The built-in transport, recording every exchange, optionally slowed down or
/// losing answers.
pub struct Wire {
    inner: HttpTransport,
    /// Every request on a new connection (no keep-alive pool).
    fresh_connections: bool,
    delay: Duration,
    /// Every n-th chunk request reaches the bureau but its answer is lost.
    lose_every: usize,
    chunks: AtomicUsize,
    pub log: Mutex<Vec<Exchange>>,
    /// Told of each request just before it goes (method, path, body length).
    before_send: Mutex<Option<SendHook>>,
}

type SendHook = Box<dyn Fn(&str, &str, usize) + Send>;

impl Wire {
    pub fn new() -> Arc<Self> {
        Self::slowed(Duration::ZERO)
    }

    /// Every request waits `delay` before it goes.
    pub fn slowed(delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            inner: HttpTransport::new(),
            fresh_connections: false,
            delay,
            lose_every: 0,
            chunks: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
            before_send: Mutex::new(None),
        })
    }

    /// The bureau gets every request, but the device hears nothing back from every
    /// `n`-th chunk (POST or PATCH with bytes): the link died on the way back.
    pub fn losing_answers(n: usize) -> Arc<Self> {
        Arc::new(Self {
            inner: HttpTransport::new(),
            fresh_connections: false,
            delay: Duration::ZERO,
            lose_every: n,
            chunks: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
            before_send: Mutex::new(None),
        })
    }

    /// Every request on a connection of its own, so that a fault proxy's
    /// per-connection toxics (a byte limit) hit one request each, and no
    /// connection stays open between calls.
    pub fn unpooled() -> Arc<Self> {
        Arc::new(Self {
            inner: HttpTransport::new(),
            fresh_connections: true,
            delay: Duration::ZERO,
            lose_every: 0,
            chunks: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
            before_send: Mutex::new(None),
        })
    }

    /// Calls `hook` with each request's method, path and body length just
    /// before it goes: a test can act while a given request is in flight.
    pub fn before_send(&self, hook: impl Fn(&str, &str, usize) + Send + 'static) {
        *self.before_send.lock().unwrap() = Some(Box::new(hook));
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.log.lock().unwrap().clear();
    }
}

impl Transport for Wire {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        std::thread::sleep(self.delay);
        let path = request
            .url
            .splitn(4, '/')
            .nth(3)
            .map(|p| format!("/{p}"))
            .unwrap_or_default();
        let op_ids = if path == "/v1/sync/push" {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            body["ops"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|op| op["op_id"].as_str().map(String::from))
                .collect()
        } else {
            Vec::new()
        };
        let upload_role = request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("Upload-Metadata"))
            .and_then(|h| metadata_value(&h.value, "role"));
        let tus = request
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("Tus-Resumable"));
        let mut exchange = Exchange {
            method: request.method.clone(),
            path,
            body_len: request.body.len(),
            op_ids,
            upload_role,
            tus,
            status: None,
        };
        let is_chunk = exchange.path.starts_with("/v1/uploads") && exchange.body_len > 0;
        let lose = is_chunk
            && self.lose_every > 0
            && self.chunks.fetch_add(1, Ordering::SeqCst) % self.lose_every == self.lose_every - 1;
        if let Some(hook) = self.before_send.lock().unwrap().as_ref() {
            hook(&exchange.method, &exchange.path, exchange.body_len);
        }
        let mut answer = if self.fresh_connections {
            HttpTransport::new().send(request)
        } else {
            self.inner.send(request)
        };
        if lose && answer.is_ok() {
            answer = Err(TransportError::Offline {
                reason: "answer lost".into(),
            });
        }
        exchange.status = answer.as_ref().ok().map(|r| r.status);
        self.log.lock().unwrap().push(exchange);
        answer
    }
}

/// One value of a tus `Upload-Metadata` header.
fn metadata_value(header: &str, key: &str) -> Option<String> {
    header.split(',').find_map(|pair| {
        let (k, v) = pair.trim().split_once(' ')?;
        (k == key).then(|| String::from_utf8(BASE64.decode(v).ok()?).ok())?
    })
}

/// A TCP proxy on loopback that counts the bytes it carries each way and cuts
/// each connection once it has carried `budget` bytes towards the bureau: an
/// upload cut at an arbitrary byte, as when a 2G cell drops. Stops when dropped.
pub struct CuttingProxy {
    pub url: String,
    pub addr: SocketAddr,
    cuts: Arc<AtomicUsize>,
    /// Bytes carried towards the target, and back.
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl CuttingProxy {
    pub fn start(target: SocketAddr, budget: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let cuts = Arc::new(AtomicUsize::new(0));
        let (up, down) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let stop = Arc::new(AtomicBool::new(false));
        let (cuts_seen, stopping) = (cuts.clone(), stop.clone());
        let (up_count, down_count) = (up.clone(), down.clone());
        let thread = std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let (Ok(client), Ok(server)) = (client, TcpStream::connect(target)) else {
                    continue;
                };
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                let cuts = cuts_seen.clone();
                let (up, down) = (up_count.clone(), down_count.clone());
                let (down_from, down_to) =
                    (server.try_clone().unwrap(), client.try_clone().unwrap());
                std::thread::spawn(move || {
                    pipe(
                        down_from.try_clone().unwrap(),
                        down_to.try_clone().unwrap(),
                        usize::MAX,
                        &down,
                    );
                    close(&down_from, &down_to);
                });
                std::thread::spawn(move || {
                    let cut = pipe(
                        client.try_clone().unwrap(),
                        server.try_clone().unwrap(),
                        budget,
                        &up,
                    );
                    if cut {
                        cuts.fetch_add(1, Ordering::SeqCst);
                    }
                    close(&client, &server);
                });
            }
        });
        Self {
            url: format!("http://{addr}"),
            addr,
            cuts,
            up,
            down,
            stop,
            thread: Some(thread),
        }
    }

    /// A proxy that only counts: what went over the wire, headers and all.
    pub fn counting(target: SocketAddr) -> Self {
        Self::start(target, usize::MAX)
    }

    /// Connections cut so far.
    pub fn cuts(&self) -> usize {
        self.cuts.load(Ordering::SeqCst)
    }

    /// Bytes carried towards the target so far.
    pub fn bytes_up(&self) -> u64 {
        self.up.load(Ordering::SeqCst)
    }

    /// Bytes carried back from the target so far.
    pub fn bytes_down(&self) -> u64 {
        self.down.load(Ordering::SeqCst)
    }
}

fn close(a: &TcpStream, b: &TcpStream) {
    let _ = a.shutdown(Shutdown::Both);
    let _ = b.shutdown(Shutdown::Both);
}

/// Copies `from` to `to` until either ends or `budget` bytes went, adding what
/// went to `carried_total`; true when cut.
fn pipe(mut from: TcpStream, mut to: TcpStream, budget: usize, carried_total: &AtomicU64) -> bool {
    let mut buffer = [0u8; 16 * 1024];
    let mut carried = 0;
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        let allowed = n.min(budget - carried);
        if to.write_all(&buffer[..allowed]).is_err() {
            return false;
        }
        carried += allowed;
        carried_total.fetch_add(allowed as u64, Ordering::SeqCst);
        if carried >= budget {
            return true;
        }
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A small seeded random generator (SplitMix64), so that a failing run of a
/// randomised test can be repeated from the seed it printed.
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    /// Seeded from the environment variable `var` when set, else from the clock;
    /// the seed is printed.
    pub fn from_env(var: &str) -> Self {
        let seed = std::env::var(var)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        println!("{var}={seed}");
        Self(seed)
    }

    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `range` (inclusive start, exclusive end).
    pub fn below(&mut self, range: std::ops::Range<u64>) -> u64 {
        range.start + self.next_u64() % (range.end - range.start).max(1)
    }
}
