//! The device's tus uploader — `fieldproof_core::sync::upload_file`, the code the
//! sync engine sends photos with — against another implementation of the
//! protocol: `@tus/server` with `@tus/file-store`, the tus project's server for
//! Node (tests/interop/tus_server.mjs), on loopback. Corpus photos of every size
//! are stored byte-identical, over creation-with-upload and chunked PATCHes; an
//! upload cut mid-chunk by the noxious proxy resumes from the server's offset.
//!
//! Needs Node 20.19 or newer with @tus/server from target/tools/tus-server, as
//! scripts/install-test-deps installs them; without them the tests fail saying so
//! (they never skip).

use fieldproof_core::sync::{upload_file, TusFile, UploadOutcome};
use fieldproof_e2e::faults::{self, FaultProxy, Upstream};
use fieldproof_e2e::invariants::{assert_resent_at_most_in_flight, chunk_requests};
use fieldproof_e2e::{corpus, Wire};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const INSTALL: &str = "run scripts/install-test-deps";

/// Small to large: one request, a few chunks, many chunks.
const PHOTOS: [&str; 6] = [
    "photos/odd/garbage_gps_lat_4294967295.jpg",
    "photos/odd/progressive_multi_app13.jpg",
    "photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg",
    "photos/orientation/Landscape_3.jpg",
    "photos/camera/canon_sx60_orient6.jpg",
    "photos/camera/olympus_ep3_12mp_42_IndexError.jpg",
];

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .unwrap()
}

/// `@tus/server` serving a temp folder on 127.0.0.1, until dropped.
struct TusNodeServer {
    endpoint: String,
    addr: SocketAddr,
    files: tempfile::TempDir,
    child: Child,
    /// `finished` events: (upload id, size).
    finished: mpsc::Receiver<(String, u64)>,
}

impl TusNodeServer {
    fn start() -> Self {
        let version = Command::new("node")
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
        let (major, minor) = version
            .as_deref()
            .and_then(|v| {
                let mut parts = v.strip_prefix('v')?.split('.');
                Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
            })
            .unwrap_or((0u32, 0u32));
        assert!(
            (major, minor) >= (20, 19),
            "Node.js 20.19 or newer is needed by @tus/server (found {version:?}): {INSTALL}"
        );
        let modules = workspace().join("target/tools/tus-server");
        for package in ["server", "file-store"] {
            let manifest = modules.join(format!("node_modules/@tus/{package}/package.json"));
            assert!(
                manifest.is_file(),
                "@tus/{package} is missing from {}: {INSTALL}",
                modules.display()
            );
        }
        let files = tempfile::tempdir().unwrap();
        let mut child = Command::new("node")
            .arg(workspace().join("tests/interop/tus_server.mjs"))
            .arg("--directory")
            .arg(files.path())
            .env("TUS_SERVER_DIR", &modules)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let listening: Value = lines
            .next()
            .and_then(Result::ok)
            .and_then(|line| serde_json::from_str(&line).ok())
            .expect("@tus/server says where it listens");
        assert_eq!(listening["event"], "listening", "{listening}");
        let port = listening["port"].as_u64().unwrap() as u16;
        let (events, finished) = mpsc::channel();
        std::thread::spawn(move || forward_finished(lines, events));
        Self {
            endpoint: listening["endpoint"].as_str().unwrap().to_owned(),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            files,
            child,
            finished,
        }
    }

    /// The file @tus/file-store keeps for the upload at `url`.
    fn stored(&self, url: &str) -> PathBuf {
        let id = url.rsplit('/').next().unwrap();
        self.files.path().join(id)
    }

    /// The next upload the server reported finished.
    fn next_finished(&self) -> (String, u64) {
        self.finished
            .recv_timeout(Duration::from_secs(10))
            .expect("the server reports the upload finished")
    }
}

fn forward_finished(
    lines: std::io::Lines<BufReader<ChildStdout>>,
    events: mpsc::Sender<(String, u64)>,
) {
    for line in lines.map_while(Result::ok) {
        let Ok(event) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if event["event"] == "finished" {
            let id = event["id"].as_str().unwrap_or_default().to_owned();
            let _ = events.send((id, event["size"].as_u64().unwrap_or(0)));
        }
    }
}

impl Drop for TusNodeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn photo_id(n: usize) -> String {
    format!("0190a6f0-0000-7000-8000-{n:012}")
}

#[test]
fn corpus_photos_uploaded_to_tus_node_server_are_stored_byte_identical() {
    let server = TusNodeServer::start();
    let wire = Wire::new();
    for (n, relative) in PHOTOS.iter().enumerate() {
        let path = corpus(relative);
        let mut file = TusFile::new(&path, &photo_id(n), "image/jpeg").unwrap();
        wire.clear();
        let outcome = upload_file(
            &*wire,
            &server.endpoint,
            None,
            &mut file,
            Instant::now() + Duration::from_secs(60),
        )
        .unwrap_or_else(|e| panic!("{relative}: {e}"));
        assert_eq!(outcome, UploadOutcome::Complete, "{relative}");
        assert_eq!(file.offset, file.size);
        let url = file.url.clone().expect("the server named the upload");
        assert!(url.starts_with(&server.endpoint), "{url}");
        let stored = std::fs::read(server.stored(&url)).unwrap();
        assert!(
            stored == std::fs::read(&path).unwrap(),
            "{relative} differs on @tus/server"
        );
        assert_eq!(
            server.next_finished(),
            (url.rsplit('/').next().unwrap().to_owned(), file.size)
        );
        // The first chunk rode on the POST; every byte went once.
        let exchanges = wire.exchanges();
        assert_eq!(exchanges[0].method, "POST");
        assert!(exchanges[0].body_len > 0, "creation-with-upload");
        let sent: u64 = chunk_requests(&exchanges).map(|e| e.body_len as u64).sum();
        assert_eq!(sent, file.size, "{relative}");
    }
}

#[test]
fn an_upload_cut_mid_chunk_resumes_on_the_tus_node_server() {
    let server = TusNodeServer::start();
    let path = corpus("photos/camera/phone_iphone6_gps_hdr.jpg");
    let mut file = TusFile::new(&path, &photo_id(99), "image/jpeg").unwrap();
    // Each connection is cut 600 kB in; every request has one of its own, so the
    // creation (256 KiB) and the first PATCH (512 KiB) pass and the next is cut.
    let proxy = FaultProxy::start(
        server.addr,
        vec![faults::limit_data("cut", Upstream, 600_000, 1.0)],
    );
    let endpoint = format!("{}/files", proxy.url);
    let wire = Wire::unpooled();
    let deadline = Instant::now() + Duration::from_secs(60);
    let cut = upload_file(&*wire, &endpoint, None, &mut file, deadline);
    assert!(
        cut.as_ref().is_err_and(|e| e.code() == "offline"),
        "{cut:?}"
    );
    let url = file.url.clone().expect("the upload was created");
    assert!(file.offset > 0 && file.offset < file.size, "{file:?}");
    let confirmed = file.offset;

    // The link heals; a new call asks the server where it got to and resumes.
    proxy.heal();
    let resumed = upload_file(
        &*wire,
        &endpoint,
        None,
        &mut file,
        Instant::now() + Duration::from_secs(60),
    )
    .unwrap();
    assert_eq!(resumed, UploadOutcome::Complete);
    assert!(file.offset == file.size && confirmed < file.size);
    assert_eq!(file.url.as_deref(), Some(url.as_str()), "the same upload");
    let stored = std::fs::read(server.stored(&url)).unwrap();
    assert!(
        stored == std::fs::read(&path).unwrap(),
        "differs on @tus/server"
    );
    // At most the chunk in flight went twice (the server keeps what arrived of a
    // cut PATCH, so usually less).
    let exchanges = wire.exchanges();
    assert!(
        exchanges.iter().any(|e| e.method == "HEAD"),
        "asked where to resume"
    );
    assert_eq!(assert_resent_at_most_in_flight(&exchanges, file.size), 1);
    assert_eq!(server.next_finished().1, file.size);
}
