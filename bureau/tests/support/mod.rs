//! Shared test support: a real bureau on loopback, HTTP helpers, and simulated
//! devices with real P-256 keys that sign real evidence records.
//!
//! Storage backend: SQLite in a temporary data directory by default.
//! [`Backend::Postgres`] bureaus and [`TestStorage`]s get a fresh, empty database
//! created for each test on the server at `FIELDPROOF_TEST_POSTGRES_URL` (an admin
//! URL; scripts/test starts a throwaway server with scripts/postgres and sets it).
//! Unset, a PostgreSQL test fails saying so; set to `skip`, it passes after
//! printing a loud `SKIPPED` line (for machines without PostgreSQL).
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod cases;
mod servers;

pub use servers::*;

use fieldproof_bureau::server::BackgroundServer;
use fieldproof_bureau::Config;
use fieldproof_core::evidence::keys::{key_id, Signer};
use fieldproof_core::evidence::record::{Context, Event, EvidencePayload};
use fieldproof_core::hex;
use fieldproof_core::wire::enrollment::possession_message;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};
use std::net::SocketAddr;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

pub fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(60)))
        .build()
        .new_agent()
}

/// A bureau serving on 127.0.0.1 for the duration of a test.
pub struct TestBureau {
    pub url: String,
    pub addr: SocketAddr,
    pub data: tempfile::TempDir,
    pub config: Config,
    server: Option<BackgroundServer>,
}

impl TestBureau {
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    /// Starts with a config adjusted by `tune` (limits, database URL).
    pub fn start_with(tune: impl FnOnce(&mut Config)) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let mut config = Config {
            data_dir: data.path().to_owned(),
            listen: "127.0.0.1:0".parse().unwrap(),
            admin_token: Some(ADMIN_TOKEN.into()),
            ..Config::default()
        };
        tune(&mut config);
        Self::start_in(data, config)
    }

    /// Starts on an existing data directory (a restart).
    pub fn start_in(data: tempfile::TempDir, config: Config) -> Self {
        let listener = std::net::TcpListener::bind(config.listen).expect("bind loopback");
        let server = BackgroundServer::start(&config, listener).expect("bureau opens");
        Self {
            url: server.url(),
            addr: server.addr,
            data,
            config,
            server: Some(server),
        }
    }

    /// Stops the server (gracefully) and hands back its data directory and config.
    pub fn stop(mut self) -> (tempfile::TempDir, Config) {
        self.shutdown();
        let data = std::mem::replace(&mut self.data, tempfile::tempdir().unwrap());
        (data, self.config.clone())
    }

    fn shutdown(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
    }

    /// The running bureau's shared state, for checks against its storage.
    pub fn bureau(&self) -> &fieldproof_bureau::Bureau {
        &self.server.as_ref().expect("the bureau is running").bureau
    }

    /// An admin request: returns (status, JSON body or Null).
    pub fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        request(
            method,
            &format!("{}{path}", self.url),
            Some(ADMIN_TOKEN),
            body,
        )
    }

    /// Creates an officer and an enrollment code; returns the code.
    pub fn enrollment_code(&self, jurisdiction: &str, role: &str) -> String {
        let (status, body) = self.admin(
            "POST",
            "/v1/admin/enrollment-codes",
            Some(json!({ "officer_name": format!("Officer {jurisdiction}"), "jurisdiction": jurisdiction, "role": role })),
        );
        assert_eq!(status, 201, "{body}");
        body["code"].as_str().unwrap().to_owned()
    }

    /// Enrolls a new simulated device in `jurisdiction`.
    pub fn device(&self, jurisdiction: &str) -> TestDevice {
        let code = self.enrollment_code(jurisdiction, "township_staff");
        TestDevice::enroll(&self.url, &code)
    }

    /// Enrolls a simulated device for a new officer of its own, with `role`.
    pub fn officer_device(&self, jurisdiction: &str, role: &str) -> TestDevice {
        let (status, body) = self.admin(
            "POST",
            "/v1/admin/officers",
            Some(json!({ "name": format!("Officer {}", uuid::Uuid::now_v7()) })),
        );
        assert_eq!(status, 201, "{body}");
        let (status, code) = self.admin(
            "POST",
            "/v1/admin/enrollment-codes",
            Some(json!({ "officer_id": body["id"], "jurisdiction": jurisdiction, "role": role })),
        );
        assert_eq!(status, 201, "{code}");
        TestDevice::enroll(&self.url, code["code"].as_str().unwrap())
    }
}

impl Drop for TestBureau {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Sends a JSON request; returns (status, JSON body or Null).
pub fn request(method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let agent = http();
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    if let Some(token) = token {
        builder = builder.header("Authorization", format!("Bearer {token}"));
    }
    let response = match body {
        Some(body) => agent.run(
            builder
                .header("Content-Type", "application/json")
                .body(serde_json::to_vec(&body).unwrap())
                .unwrap(),
        ),
        None => agent.run(builder.body(()).unwrap()),
    }
    .expect("bureau answers");
    let status = response.status().as_u16();
    let text = response.into_body().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Enrolls `public_key` with `code` as a device does: a challenge, then the
/// enrollment with `sign`'s signature over it (proof of possession).
pub fn enroll_with(
    url: &str,
    code: &str,
    public_key: &[u8],
    sign: impl FnOnce(&[u8; 32]) -> Vec<u8>,
) -> (u16, Value) {
    let (status, challenge) = request("POST", &format!("{url}/v1/enroll/challenge"), None, None);
    assert_eq!(status, 201, "challenge: {challenge}");
    let nonce = hex::decode32(challenge["nonce"].as_str().unwrap()).unwrap();
    request(
        "POST",
        &format!("{url}/v1/enroll"),
        None,
        Some(json!({
            "code": code,
            "public_key": hex::encode(public_key),
            "nonce": challenge["nonce"],
            "signature": hex::encode(&sign(&nonce)),
        })),
    )
}

/// A P-256 device key held in memory.
pub struct TestKey(EcdsaKeyPair);

impl TestKey {
    pub fn generate() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        Self(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                .unwrap(),
        )
    }
}

impl Signer for TestKey {
    fn public_key(&self) -> Vec<u8> {
        self.0.public_key().as_ref().to_vec()
    }
    fn sign(&self, message: &[u8]) -> fieldproof_core::Result<Vec<u8>> {
        Ok(self
            .0
            .sign(&SystemRandom::new(), message)
            .unwrap()
            .as_ref()
            .to_vec())
    }
}

/// An enrolled device: its key, token and evidence chain state.
pub struct TestDevice {
    pub url: String,
    pub key: TestKey,
    pub enrollment: Value,
    pub token: String,
    pub device_id: String,
    /// The last record's seq and payload hash, for chaining the next.
    pub seq: u64,
    pub prev: Option<[u8; 32]>,
    /// The bureau checkpoint its records name (none unless a test sets one).
    pub holds: Option<fieldproof_core::evidence::record::CheckpointRef>,
}

impl TestDevice {
    pub fn enroll(url: &str, code: &str) -> Self {
        let key = TestKey::generate();
        let (status, enrollment) = enroll_with(url, code, &key.public_key(), |nonce| {
            key.sign(&possession_message(nonce, code)).unwrap()
        });
        assert_eq!(status, 201, "enrollment: {enrollment}");
        Self {
            url: url.to_owned(),
            token: enrollment["token"].as_str().unwrap().to_owned(),
            device_id: enrollment["device_id"].as_str().unwrap().to_owned(),
            key,
            enrollment,
            seq: 0,
            prev: None,
            holds: None,
        }
    }

    pub fn key_id(&self) -> [u8; 32] {
        key_id(&self.key.public_key())
    }

    /// A request with this device's token.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        request(
            method,
            &format!("{}{path}", self.url),
            Some(&self.token),
            body,
        )
    }

    /// Every feed entry this device can pull, from the start (bounded).
    pub fn pull_all(&self) -> Vec<Value> {
        let mut changes = Vec::new();
        let mut cursor = String::new();
        for _ in 0..1000 {
            let (status, page) = self.call("GET", &format!("/v1/sync/pull?cursor={cursor}"), None);
            assert_eq!(status, 200, "{page}");
            changes.extend(page["changes"].as_array().unwrap().iter().cloned());
            cursor = page["next_cursor"].as_str().unwrap().to_owned();
            if page["has_more"] != true {
                return changes;
            }
        }
        panic!("the feed never ended");
    }
}

impl TestDevice {
    /// Signs the next record of this device's chain (seq + 1, linked to the last).
    pub fn next_record(&mut self, event: Event) -> Vec<u8> {
        let signed = self.record_at(self.seq + 1, self.prev, event);
        let payload = fieldproof_core::evidence::cose::parse_sign1(&signed)
            .unwrap()
            .payload;
        self.seq += 1;
        self.prev = Some(fieldproof_core::evidence::record::payload_digest(&payload));
        signed
    }

    /// Signs a record with any seq and prev, chain state untouched (for forgeries).
    pub fn record_at(&self, seq: u64, prev: Option<[u8; 32]>, event: Event) -> Vec<u8> {
        EvidencePayload {
            kid: self.key_id(),
            seq,
            prev,
            event,
            wall_ms: 1_790_000_000_000 + seq as i64,
            monotonic: None,
            app_version: "bureau-test".into(),
            fix: None,
            context: Context::default(),
            checkpoint: self.holds.clone(),
        }
        .sign(&self.key)
        .unwrap()
    }

    /// Pushes ops; returns (status, body).
    pub fn push(&self, ops: Vec<Value>) -> (u16, Value) {
        self.call("POST", "/v1/sync/push", Some(json!({ "ops": ops })))
    }
}

/// A push op carrying one signed evidence record.
pub fn record_op(signed: &[u8]) -> Value {
    json!({
        "op_id": uuid::Uuid::now_v7().to_string(),
        "kind": "evidence.record",
        "entity_id": "",
        "payload": { "signed": hex::encode(signed) },
    })
}

/// A real device: the core's SQLite store with its own evidence key, enrolled with
/// the bureau. Its outbox ops are what a phone would push.
pub struct FieldDevice {
    pub dir: tempfile::TempDir,
    pub store: fieldproof_core::store::Store,
    pub token: String,
    pub device_id: String,
    /// The officer the bureau enrolled it for: what its inspections and records name.
    pub officer_id: String,
    pub url: String,
}

impl FieldDevice {
    pub fn enroll(bureau: &TestBureau, jurisdiction: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = fieldproof_core::store::Store::open(dir.path().join("device.db")).unwrap();
        let code = bureau.enrollment_code(jurisdiction, "township_staff");
        let public_key = store.device_public_key().unwrap();
        let (status, enrollment) = enroll_with(&bureau.url, &code, &public_key, |nonce| {
            store.prove_possession(nonce, &code).unwrap()
        });
        assert_eq!(status, 201, "{enrollment}");
        Self {
            dir,
            store,
            token: enrollment["token"].as_str().unwrap().to_owned(),
            device_id: enrollment["device_id"].as_str().unwrap().to_owned(),
            officer_id: enrollment["officer_id"].as_str().unwrap().to_owned(),
            url: bureau.url.clone(),
        }
    }

    /// Records and submits a complete straw-burning inspection in `township`.
    pub fn submit_inspection(&self, township: &str) -> String {
        use fieldproof_core::fixtures::{draft_fields, straw_burning_answers};
        let (mut fields, answers) = (draft_fields(township), straw_burning_answers());
        fields.officer_id = self.officer_id.clone();
        let draft = self
            .store
            .create_draft("straw_burning", fields, &answers)
            .unwrap();
        self.store.submit(&draft.id).unwrap().id
    }

    /// Captures a photo (bytes) for an inspection; returns the photo id.
    pub fn capture(
        &self,
        bytes: Vec<u8>,
        inspection_id: Option<&str>,
    ) -> fieldproof_core::model::photo::Photo {
        use fieldproof_core::model::photo::{CaptureContext, CaptureSource};
        let context = CaptureContext {
            source: CaptureSource::Camera,
            inspection_id: inspection_id.map(String::from),
            task_id: None,
            officer_id: Some(self.officer_id.clone()),
            monotonic_ms: Some(1_000),
            boot_id: Some("boot-1".into()),
            app_version: "bureau-test".into(),
        };
        self.store
            .capture_photo(
                fieldproof_core::store::PhotoSource::Bytes(bytes),
                None,
                context,
            )
            .unwrap()
    }

    /// Every pending outbox op, as push ops.
    pub fn outbox(&self) -> Vec<Value> {
        self.store
            .pending_outbox(10_000)
            .unwrap()
            .into_iter()
            .map(|op| {
                json!({
                    "op_id": op.op_id,
                    "kind": op.kind,
                    "entity_id": op.entity_id,
                    "payload": serde_json::from_str::<Value>(&op.payload).unwrap(),
                })
            })
            .collect()
    }

    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        request(
            method,
            &format!("{}{path}", self.url),
            Some(&self.token),
            body,
        )
    }

    pub fn push(&self, ops: Vec<Value>) -> (u16, Value) {
        self.call("POST", "/v1/sync/push", Some(json!({ "ops": ops })))
    }
}

/// The path of a corpus file; fails clearly when the corpus is absent.
pub fn corpus(relative: &str) -> std::path::PathBuf {
    let root = std::env::var_os("FIELDPROOF_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
        });
    let path = root.join(relative);
    assert!(
        path.exists(),
        "test corpus file {} is missing: set FIELDPROOF_CORPUS or put the corpus at ../shared/corpus",
        path.display()
    );
    path
}

// --- Storage backends: SQLite, or a fresh database on the test PostgreSQL ------

/// Which storage backend a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    /// The provincial setup: PostgreSQL, and photos in the test S3 server.
    PostgresS3,
}

/// A test's own storage, not yet opened: a SQLite file in a fresh folder, or a
/// fresh PostgreSQL database (dropped with this value).
pub struct TestStorage {
    pub backend: Backend,
    /// The data folder (SQLite's file lives here; photos would too).
    pub dir: tempfile::TempDir,
    scratch: Option<ScratchDatabase>,
}

impl TestStorage {
    /// `None` only for PostgreSQL when its tests are skipped.
    pub fn new(backend: Backend) -> Option<Self> {
        let scratch = match backend {
            Backend::Sqlite => None,
            Backend::Postgres | Backend::PostgresS3 => Some(ScratchDatabase::create()?),
        };
        Some(Self {
            backend,
            dir: tempfile::tempdir().expect("temp dir"),
            scratch,
        })
    }

    /// What `Config::database_url` takes for this storage.
    pub fn database_url(&self) -> Option<String> {
        self.scratch.as_ref().map(|s| s.url.clone())
    }

    /// Opens (creating and migrating on first use) the database, as the bureau does.
    pub fn open(&self) -> fieldproof_bureau::Result<fieldproof_bureau::storage::Database> {
        use fieldproof_bureau::storage::Database;
        match &self.scratch {
            None => Database::open_sqlite(&self.dir.path().join("bureau.sqlite3")),
            Some(scratch) => Database::open_postgres(&scratch.url, 8),
        }
    }
}

impl TestBureau {
    /// Starts on `backend`: SQLite in the data folder, or a fresh PostgreSQL
    /// database (kept for restarts; the throwaway server goes at the end).
    /// `None` only for PostgreSQL when its tests are skipped.
    pub fn start_backend(backend: Backend) -> Option<Self> {
        Self::start_backend_with(backend, |_| {})
    }

    /// [`Self::start_backend`] with a config adjusted by `tune`.
    pub fn start_backend_with(backend: Backend, tune: impl FnOnce(&mut Config)) -> Option<Self> {
        let database_url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres | Backend::PostgresS3 => Some(ScratchDatabase::create()?.keep()),
        };
        let photo_store = match backend {
            Backend::PostgresS3 => Some(test_s3_store()?),
            Backend::Sqlite | Backend::Postgres => None,
        };
        Some(Self::start_with(|config| {
            config.database_url = database_url;
            config.photo_store = photo_store;
            tune(config);
        }))
    }
}

// --- Raw HTTP, for protocols with headers of their own (tus uploads) ----------

/// A response, read whole.
pub struct Reply {
    pub status: u16,
    pub headers: ureq::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The stable code of a JSON error body.
    pub fn code(&self) -> Option<String> {
        let body: Value = serde_json::from_slice(&self.body).ok()?;
        body["error"]["code"].as_str().map(str::to_owned)
    }
}

/// Sends `body` (none if empty) with `headers` and the bearer `token`, if any.
pub fn send(
    method: &str,
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    if let Some(token) = token {
        builder = builder.header("Authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let response = if body.is_empty() {
        http().run(builder.body(()).unwrap())
    } else {
        http().run(builder.body(body.to_vec()).unwrap())
    }
    .expect("bureau answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().read_to_vec().unwrap_or_default();
    Reply {
        status,
        headers,
        body,
    }
}

/// Defines each named test, a `fn(Backend)`, once per storage backend, in
/// `mod sqlite` and `mod postgres`. Needs `#[macro_use] mod support;`.
#[allow(unused_macros)] // not every test binary runs on both backends
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $test() {
                super::$test(super::Backend::Sqlite)
            })*
        }
        mod postgres {
            $(#[test]
            fn $test() {
                super::$test(super::Backend::Postgres)
            })*
        }
    };
}

/// [`on_both_backends`], and once more on PostgreSQL with photos in S3: for the
/// tests of what touches photo bytes.
#[allow(unused_macros)]
macro_rules! on_every_store {
    ($($test:ident),* $(,)?) => {
        on_both_backends!($($test),*);
        mod postgres_s3 {
            $(#[test]
            fn $test() {
                super::$test(super::Backend::PostgresS3)
            })*
        }
    };
}
