//! The provincial setup on loopback: several bureau processes (the
//! `bureau-process` binary) on one PostgreSQL database and one S3 bucket
//! (SeaweedFS), behind nginx balancing round robin with no stickiness. A
//! process can be killed with SIGKILL and started again on its port.
//!
//! The database and the bucket are the test servers the test command starts
//! (`servers`); when their variables say `skip`, [`BureauCluster::start`]
//! returns `None` after saying so.

use crate::invariants::{BureauUnderTest, BureauView};
use crate::servers::{test_s3_store, ScratchDatabase};
use crate::ADMIN_TOKEN;
use fieldproof_bureau::config::S3Settings;
use fieldproof_bureau::storage::photo_store::s3::S3Store;
use fieldproof_bureau::storage::{Database, PhotoStore};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct BureauCluster {
    /// nginx, in front of every process.
    pub url: String,
    /// The data folder the processes share (they run on one machine), their
    /// configuration files and logs, and nginx's prefix.
    dir: tempfile::TempDir,
    /// The `bureau-process` binary (`env!("CARGO_BIN_EXE_bureau-process")` in a test).
    program: PathBuf,
    /// Configuration tables added to every process's.
    tables: String,
    database_url: String,
    s3: S3Settings,
    processes: Vec<Process>,
    nginx: Child,
    /// One connection to the database, for the test's own looks.
    checks: Database,
}

struct Process {
    addr: SocketAddr,
    child: Option<Child>,
}

impl BureauCluster {
    /// Starts `count` processes of `program` (the `bureau-process` binary), then
    /// nginx in front of them.
    pub fn start(program: &Path, count: usize) -> Option<Self> {
        Self::start_with(program, count, "")
    }

    /// [`Self::start`] with `tables` (TOML tables such as `[limits]`) added to
    /// every process's configuration.
    pub fn start_with(program: &Path, count: usize, tables: &str) -> Option<Self> {
        let database_url = ScratchDatabase::create()?.keep();
        let s3 = test_s3_store()?;
        let dir = tempfile::tempdir().expect("temp dir");
        // The first process alone makes the bureau key; the others then read it.
        let mut processes = Vec::new();
        for i in 0..count {
            let addr = "127.0.0.1:0".parse().unwrap();
            let child = spawn(program, dir.path(), i, addr, &database_url, &s3, tables);
            let (child, addr) = wait_listening(child, i, dir.path());
            processes.push(Process {
                addr,
                child: Some(child),
            });
        }
        let (nginx, url) = start_nginx(dir.path(), &processes);
        let checks = Database::open_postgres(&database_url, 1).expect("the database opens");
        Some(Self {
            checks,
            url,
            dir,
            program: program.to_owned(),
            tables: tables.to_owned(),
            database_url,
            s3,
            processes,
            nginx,
        })
    }

    /// Kills process `i` with SIGKILL, as a power cut would, and reaps it.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.processes[i].child.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reaped");
        }
    }

    /// Starts process `i` again on its port.
    pub fn start_again(&mut self, i: usize) {
        assert!(self.processes[i].child.is_none(), "process {i} is running");
        let addr = self.processes[i].addr;
        let child = spawn(
            &self.program,
            self.dir.path(),
            i,
            addr,
            &self.database_url,
            &self.s3,
            &self.tables,
        );
        let (child, _) = wait_listening(child, i, self.dir.path());
        self.processes[i].child = Some(child);
    }

    /// Whether process `i` is in the middle of a request while an upload's lease
    /// is held. nginx opens a connection per request (no upstream keep-alive),
    /// so a connection established on the process's port is a request in flight.
    pub fn serving_an_upload(&self, i: usize) -> bool {
        let port = self.processes[i].addr.port();
        let in_flight = std::fs::read_to_string("/proc/net/tcp")
            .unwrap_or_default()
            .lines()
            .skip(1)
            .any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let local_port = fields.get(1).and_then(|a| a.rsplit(':').next());
                local_port.and_then(|p| u16::from_str_radix(p, 16).ok()) == Some(port)
                    && fields.get(3) == Some(&"01") // ESTABLISHED
            });
        in_flight && self.leases_held() > 0
    }

    fn leases_held(&self) -> i64 {
        let now = fieldproof_core::time::now_ms();
        self.checks
            .read(|tx| {
                tx.query_one(
                    "SELECT count(*) FROM uploads WHERE lease_until_ms > $1",
                    fieldproof_bureau::params![now],
                )?
                .int(0)
            })
            .unwrap_or(0)
    }

    /// An admin request through nginx: (status, JSON body or Null).
    pub fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        crate::admin_request(&self.url, method, path, body)
    }

    /// A one-time enrollment code for a new officer in `jurisdiction`.
    pub fn enrollment_code(&self, jurisdiction: &str) -> String {
        crate::enrollment_code_at(&self.url, jurisdiction)
    }
}

impl BureauUnderTest for BureauCluster {
    fn view(&self) -> BureauView {
        BureauView {
            db: Database::open_postgres(&self.database_url, 2).expect("the database opens"),
            photos: PhotoStore::s3(S3Store::open(&self.s3).expect("the bucket opens")),
        }
    }
}

impl Drop for BureauCluster {
    fn drop(&mut self) {
        for i in 0..self.processes.len() {
            self.kill(i);
        }
        let _ = self.nginx.kill();
        let _ = self.nginx.wait();
    }
}

/// Starts process `i` on `addr` (port 0: any), its log in `dir/bureau-i.log`.
fn spawn(
    program: &Path,
    dir: &Path,
    i: usize,
    addr: SocketAddr,
    database_url: &str,
    s3: &S3Settings,
    tables: &str,
) -> Child {
    let config = dir.join(format!("bureau-{i}.toml"));
    let text = format!(
        "data_dir = {data:?}\nlisten = \"{addr}\"\ndatabase_url = {database_url:?}\n\
         admin_token = {ADMIN_TOKEN:?}\n\n[photo_store]\nendpoint = {endpoint:?}\n\
         region = {region:?}\nbucket = {bucket:?}\nprefix = {prefix:?}\n\n{tables}",
        data = dir.join("data"),
        endpoint = s3.endpoint.as_deref().unwrap_or_default(),
        region = s3.region,
        bucket = s3.bucket,
        prefix = s3.prefix,
    );
    std::fs::write(&config, text).unwrap();
    let log = std::fs::File::create(dir.join(format!("bureau-{i}.log"))).unwrap();
    // The keys go by the environment, as an operator would give them.
    Command::new(program)
        .arg(&config)
        .env(
            "FIELDPROOF_S3_ACCESS_KEY_ID",
            s3.access_key_id.as_deref().unwrap_or_default(),
        )
        .env(
            "FIELDPROOF_S3_SECRET_ACCESS_KEY",
            s3.secret_access_key.as_deref().unwrap_or_default(),
        )
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("bureau-process starts")
}

/// Waits (up to 60 s) for the process's `listening ADDR` line.
fn wait_listening(mut child: Child, i: usize, dir: &Path) -> (Child, SocketAddr) {
    let stdout = child.stdout.take().expect("piped");
    let (sender, answer) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    let line = answer
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_default();
    let Some(addr) = line.trim().strip_prefix("listening ") else {
        let _ = child.kill();
        let log = std::fs::read_to_string(dir.join(format!("bureau-{i}.log"))).unwrap_or_default();
        panic!("bureau process {i} did not start: {line:?}\n{log}");
    };
    (child, addr.parse().unwrap())
}

/// nginx on a free loopback port, in front of `processes`, round robin. A
/// request that cannot connect to one process goes to the next; one that was
/// sent is not sent again (a killed process's answer is lost, as in the field).
fn start_nginx(dir: &Path, processes: &[Process]) -> (Child, String) {
    let nginx = nginx_binary();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let upstreams: String = processes
        .iter()
        .map(|p| format!("    server {} max_fails=1 fail_timeout=1s;\n", p.addr))
        .collect();
    let prefix = dir.join("nginx");
    std::fs::create_dir_all(prefix.join("logs")).unwrap();
    // As root, nginx's workers would switch to `nobody`, who cannot enter the
    // test's private folder: they stay root instead.
    let user = if is_root() { "user root;\n" } else { "" };
    let conf = format!(
        "{user}daemon off;\nworker_processes 1;\npid {pid};\nerror_log {log} warn;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n  access_log off;\n  client_max_body_size 0;\n\
           client_body_temp_path {p}/body;\n  proxy_temp_path {p}/proxy;\n\
           fastcgi_temp_path {p}/fastcgi;\n  uwsgi_temp_path {p}/uwsgi;\n  scgi_temp_path {p}/scgi;\n\
           upstream bureaus {{\n{upstreams}  }}\n\
           server {{\n    listen 127.0.0.1:{port};\n    location / {{\n\
               proxy_pass http://bureaus;\n      proxy_http_version 1.1;\n\
               proxy_set_header Connection \"\";\n      proxy_request_buffering off;\n\
               proxy_buffering off;\n      proxy_read_timeout 120s;\n\
               proxy_next_upstream error timeout;\n    }}\n  }}\n}}\n",
        pid = prefix.join("nginx.pid").display(),
        log = prefix.join("logs/error.log").display(),
        p = prefix.display(),
    );
    let conf_path = prefix.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = Command::new(&nginx)
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&conf_path)
        .arg("-e")
        .arg(prefix.join("logs/error.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nginx did not listen on {port}: {}",
            std::fs::read_to_string(prefix.join("logs/error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, format!("http://127.0.0.1:{port}"))
}

fn nginx_binary() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect(
            "nginx is not installed: run scripts/install-test-deps (Debian package nginx-light)",
        )
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("Uid:")
                    .map(|u| u.split_whitespace().next() == Some("0"))
            })
        })
        .unwrap_or(false)
}
