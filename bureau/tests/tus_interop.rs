//! The bureau's tus endpoint against the tus project's own clients, run as
//! subprocesses: tuspy (Python, tests/interop/tus_upload.py) and tus-js-client
//! (Node, tests/interop/tus_upload.mjs). They upload real corpus photos, in chunks,
//! with checksums, and resume after a loopback TCP proxy cuts a connection mid-upload.
//!
//! Needs python3 with tuspy and Node with tus-js-client, as scripts/install-test-deps
//! installs them; without them the tests fail saying so (they never skip).

mod support;

use fieldproof_core::evidence::sha256;
use fieldproof_core::hex;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use support::{corpus, send, TestBureau, TestDevice};

const INSTALL: &str = "run scripts/install-test-deps";
/// 1.9 MB: large enough to cut well inside one request.
const LARGE_PHOTO: &str = "photos/camera/phone_iphone6_gps_hdr.jpg";
/// Where the proxy cuts: past the creation request, inside the first big PATCH.
const CUT_AFTER: u64 = 600_000;

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// `python3` with tuspy importable.
fn python() -> Command {
    let found = Command::new("python3")
        .args(["-c", "import tusclient"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "python3 with tuspy (tests/requirements.txt) is needed: {INSTALL}"
    );
    let mut command = Command::new("python3");
    command.arg(workspace().join("tests/interop/tus_upload.py"));
    command
}

/// `node` (18 or newer, as tus-js-client requires) with tus-js-client from target/tools.
fn node() -> Command {
    let version = Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let major = version
        .as_deref()
        .and_then(|v| v.strip_prefix('v')?.split('.').next()?.parse::<u32>().ok());
    assert!(
        major.is_some_and(|m| m >= 18),
        "Node.js 18 or newer is needed (found {version:?}): {INSTALL}"
    );
    let dir = workspace().join("target/tools/tus-js-client");
    assert!(
        dir.join("node_modules/tus-js-client/package.json")
            .is_file(),
        "tus-js-client is missing from {}: {INSTALL}",
        dir.display()
    );
    let mut command = Command::new("node");
    command
        .arg(workspace().join("tests/interop/tus_upload.mjs"))
        .env("TUS_JS_CLIENT_DIR", dir);
    command
}

/// A corpus photo and what a device declares about it.
struct Photo {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl Photo {
    fn load(relative: &str) -> Self {
        let path = corpus(relative);
        let bytes = std::fs::read(&path).unwrap();
        Self { path, bytes }
    }

    /// The client arguments both scripts share.
    fn args(&self, command: &mut Command, endpoint: &str, device: &TestDevice) {
        command
            .args(["--endpoint", &format!("{endpoint}/v1/uploads")])
            .args(["--token", &device.token])
            .arg("--file")
            .arg(&self.path)
            .args(["--photo-id", &uuid::Uuid::now_v7().to_string()])
            .args(["--sha256", &hex::encode(&sha256(&self.bytes))]);
    }

    /// Asserts the bureau holds exactly these bytes as a photo.
    fn assert_stored(&self, bureau: &TestBureau) {
        let stored = bureau
            .data
            .path()
            .join("photos")
            .join(hex::encode(&sha256(&self.bytes)));
        let held = std::fs::read(&stored)
            .unwrap_or_else(|e| panic!("{} is not stored ({e})", self.path.display()));
        assert!(
            held == self.bytes,
            "{} stored with other bytes",
            self.path.display()
        );
    }
}

/// What a client run printed and how it ended.
struct Run {
    success: bool,
    events: Vec<Value>,
    output: String,
}

impl Run {
    fn events(&self, name: &str) -> Vec<&Value> {
        self.events.iter().filter(|e| e["event"] == name).collect()
    }

    fn assert_success(&self) {
        assert!(self.success, "the client failed:\n{}", self.output);
        assert_eq!(self.events("done").len(), 1, "{}", self.output);
    }
}

/// Runs a client to its end, for two minutes at most.
fn run(mut command: Command) -> Run {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?} ({e}): {INSTALL}"));
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = read_all(Box::new(child.stdout.take().unwrap()));
    let stderr = read_all(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} was still running after two minutes");
        }
        thread::sleep(Duration::from_millis(50));
    };
    let stdout = stdout.join().unwrap();
    let output = format!("{stdout}{}", stderr.join().unwrap());
    Run {
        success: status.success(),
        events: stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
        output,
    }
}

/// A loopback TCP proxy to the bureau. The first connection to carry `cut_after`
/// bytes from its client is cut right there, both ways at once, as when a mobile
/// link drops; every other connection passes untouched.
struct CuttingProxy {
    url: String,
    cut: Arc<AtomicBool>,
}

impl CuttingProxy {
    fn start(target: SocketAddr, cut_after: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let cut = Arc::new(AtomicBool::new(false));
        let cut_once = cut.clone();
        // Serves for as long as the test process lives.
        thread::spawn(move || {
            for client in listener.incoming() {
                let (Ok(client), Ok(server)) = (client, TcpStream::connect(target)) else {
                    return;
                };
                let (mut from_server, mut to_client) =
                    (server.try_clone().unwrap(), client.try_clone().unwrap());
                thread::spawn(move || {
                    let _ = std::io::copy(&mut from_server, &mut to_client);
                    let _ = to_client.shutdown(Shutdown::Write);
                });
                let cut_once = cut_once.clone();
                thread::spawn(move || forward(client, server, cut_after, &cut_once));
            }
        });
        Self { url, cut }
    }

    fn has_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }
}

/// Copies client → server, cutting both at `cut_after` bytes if no connection was
/// cut yet.
fn forward(mut client: TcpStream, mut server: TcpStream, cut_after: u64, cut: &AtomicBool) {
    let mut sent = 0;
    let mut buffer = [0; 16 * 1024];
    loop {
        let n = match client.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if sent + n as u64 >= cut_after
            && cut
                .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            let _ = server.write_all(&buffer[..(cut_after - sent) as usize]);
            let _ = server.shutdown(Shutdown::Both);
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        if server.write_all(&buffer[..n]).is_err() {
            break;
        }
        sent += n as u64;
    }
    let _ = server.shutdown(Shutdown::Write);
}

/// The offset the bureau holds for an upload URL (on any host), asked directly.
fn offset_held(bureau: &TestBureau, device: &TestDevice, upload_url: &str) -> u64 {
    let path = &upload_url[upload_url.find("/v1/uploads/").expect("an upload URL")..];
    let reply = send(
        "HEAD",
        &format!("{}{path}", bureau.url),
        Some(&device.token),
        &[("Tus-Resumable", "1.0.0")],
        b"",
    );
    assert_eq!(reply.status, 200, "{:?}", reply.code());
    reply.header("Upload-Offset").unwrap().parse().unwrap()
}

#[test]
fn tuspy_uploads_in_checksummed_chunks() {
    let bureau = TestBureau::start();
    let device = bureau.device("430102001");
    for (relative, checksum) in [
        ("photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg", "sha1"),
        ("photos/orientation/Landscape_3.jpg", "sha256"),
    ] {
        let photo = Photo::load(relative);
        let mut command = python();
        photo.args(&mut command, &bureau.url, &device);
        command.args(["--chunk-size", "65536", "--checksum", checksum]);
        run(command).assert_success();
        photo.assert_stored(&bureau);
    }
}

#[test]
fn tus_js_client_uploads_in_chunks_and_with_creation() {
    let bureau = TestBureau::start();
    let device = bureau.device("430102001");
    let how: [(&str, &[&str]); 2] = [
        (
            "photos/camera/canon_sx60_orient6.jpg",
            &["--chunk-size", "100000"],
        ),
        (
            "photos/camera/reconyx_trailcam_hc500.jpg",
            &["--data-during-creation"],
        ),
    ];
    for (relative, options) in how {
        let photo = Photo::load(relative);
        let mut command = node();
        photo.args(&mut command, &bureau.url, &device);
        command.args(options);
        run(command).assert_success();
        photo.assert_stored(&bureau);
    }
}

#[test]
fn tuspy_resumes_a_cut_upload_from_the_offset_held() {
    let bureau = TestBureau::start();
    let device = bureau.device("430102001");
    let proxy = CuttingProxy::start(bureau.addr, CUT_AFTER);
    let photo = Photo::load(LARGE_PHOTO);
    let client = |extra: &[&str]| {
        let mut command = python();
        photo.args(&mut command, &proxy.url, &device);
        // tuspy opens a connection per request: one PATCH of the whole photo is cut.
        command.args(["--chunk-size", &photo.bytes.len().to_string()]);
        command.args(extra);
        run(command)
    };

    let first = client(&[]);
    assert!(proxy.has_cut(), "the proxy never cut: {}", first.output);
    assert!(
        !first.success,
        "the cut upload cannot have succeeded:\n{}",
        first.output
    );
    let created = first.events("created");
    let url = created.first().expect("created event")["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let held = offset_held(&bureau, &device, &url);
    assert!(
        held > 0 && held < photo.bytes.len() as u64,
        "the bytes before the cut are kept: held {held}"
    );

    let second = client(&["--url", &url]);
    second.assert_success();
    let resumed = second.events("resumed");
    assert_eq!(
        resumed.first().unwrap()["offset"],
        held,
        "resumed from HEAD's offset, not zero"
    );
    photo.assert_stored(&bureau);
}

#[test]
fn tus_js_client_resumes_by_itself_after_a_cut() {
    let bureau = TestBureau::start();
    let device = bureau.device("430102001");
    let proxy = CuttingProxy::start(bureau.addr, CUT_AFTER);
    let photo = Photo::load(LARGE_PHOTO);
    let mut command = node();
    photo.args(&mut command, &proxy.url, &device);

    let outcome = run(command);
    outcome.assert_success();
    assert!(proxy.has_cut(), "the proxy never cut: {}", outcome.output);
    let offsets: Vec<u64> = outcome
        .events("resumed")
        .iter()
        .map(|e| e["offset"].as_u64().unwrap())
        .collect();
    assert!(
        offsets
            .first()
            .is_some_and(|&o| o > 0 && o < photo.bytes.len() as u64),
        "the retry resumed mid-file, not from zero: {offsets:?}\n{}",
        outcome.output
    );
    photo.assert_stored(&bureau);
}
