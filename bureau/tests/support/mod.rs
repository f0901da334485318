//! Shared test support: a real bureau on loopback, HTTP helpers, and simulated
//! devices with real P-256 keys that sign real evidence records.
//!
//! Storage backend: SQLite in a temporary data directory by default. With
//! `FIELDPROOF_TEST_POSTGRES_URL` set, [`Backend::Postgres`] bureaus use a fresh
//! schema-less database created on that server for each test.
#![allow(dead_code)] // each test binary uses a different part of this module

use fieldproof_bureau::{api, Bureau, Config};
use fieldproof_core::evidence::keys::{key_id, Signer};
use fieldproof_core::hex;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

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
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
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
        let (bureau, _) = Bureau::open(&config).expect("bureau opens");
        let bureau = Arc::new(bureau);
        let listener = std::net::TcpListener::bind(config.listen).expect("bind loopback");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                fieldproof_bureau::server::serve(bureau, listener, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            });
        });
        let _ = api::router; // the router is what serve() runs
        Self {
            url: format!("http://{addr}"),
            addr,
            data,
            config,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Stops the server (gracefully) and hands back its data directory and config.
    pub fn stop(mut self) -> (tempfile::TempDir, Config) {
        self.shutdown();
        let data = std::mem::replace(&mut self.data, tempfile::tempdir().unwrap());
        (data, self.config.clone())
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
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
}

impl TestDevice {
    pub fn enroll(url: &str, code: &str) -> Self {
        let key = TestKey::generate();
        let (status, enrollment) = request(
            "POST",
            &format!("{url}/v1/enroll"),
            None,
            Some(json!({ "code": code, "public_key": hex::encode(&key.public_key()) })),
        );
        assert_eq!(status, 201, "enrollment: {enrollment}");
        Self {
            url: url.to_owned(),
            token: enrollment["token"].as_str().unwrap().to_owned(),
            device_id: enrollment["device_id"].as_str().unwrap().to_owned(),
            key,
            enrollment,
            seq: 0,
            prev: None,
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
}
