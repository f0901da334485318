//! `fieldproof serve` and `fieldproof admin` as an operator would use them: the
//! real binary serving on loopback, the admin commands against it, a device
//! enrolled over HTTP with a printed code, and an inspection recorded with the
//! device commands, pushed, listed and reviewed; satellite fire points imported
//! from a file with their tasks and figures. Every wait is bounded.

mod support;

use fieldproof_core::evidence::keys::{Signer, SoftwareKey};
use fieldproof_core::hex;
use fieldproof_core::wire::enrollment::possession_message;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};
use support::corpus;

const BIN: &str = env!("CARGO_BIN_EXE_fieldproof");
const WAIT: Duration = Duration::from_secs(60);

/// A `fieldproof serve --json` child and the lines it prints.
struct Server {
    child: Child,
    lines: Receiver<String>,
    url: String,
    /// The token printed at first start, if it was.
    generated_token: Option<String>,
}

impl Server {
    /// Starts on `data` at a free loopback port; `env` is added to a clean
    /// environment (no FIELDPROOF_* from the caller).
    fn start(data: &Path, env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(BIN);
        command
            .args([
                "serve",
                "--data",
                data.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
                "--json",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for var in [
            "FIELDPROOF_ADMIN_TOKEN",
            "FIELDPROOF_DATA",
            "FIELDPROOF_LISTEN",
            "FIELDPROOF_DATABASE_URL",
        ] {
            command.env_remove(var);
        }
        command.envs(env.iter().copied());
        let mut child = command.spawn().expect("fieldproof serve starts");
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        let mut server = Server {
            child,
            lines,
            url: String::new(),
            generated_token: None,
        };
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = server.lines.recv_timeout(left) else {
                let _ = server.child.kill();
                panic!("fieldproof serve printed no listening line within {WAIT:?}");
            };
            let value: Value = serde_json::from_str(&line).expect("serve --json prints JSON lines");
            if let Some(token) = value["admin_token"].as_str() {
                server.generated_token = Some(token.to_owned());
            }
            if let Some(url) = value["url"].as_str() {
                server.url = url.to_owned();
                return server;
            }
        }
    }

    /// SIGTERM, then the exit status (bounded wait).
    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("fieldproof serve did not stop within {WAIT:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A test that failed midway must not leave its server running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `fieldproof admin --server URL ARGS…` with the token in the environment.
fn admin(url: &str, token: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(["admin", "--server", url])
        .args(args)
        .env("FIELDPROOF_ADMIN_TOKEN", token)
        .output()
        .expect("runs fieldproof admin")
}

/// A `--json` admin command that must succeed: its lines.
fn ok(url: &str, token: &str, args: &[&str]) -> Vec<Value> {
    lines(&admin(url, token, &[args, &["--json"]].concat()), args)
}

fn lines(out: &Output, args: &[&str]) -> Vec<Value> {
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

/// A `--json` command that must fail: (error code, exit status), checking that
/// stderr names the code too.
fn failure(out: &Output) -> (String, i32) {
    assert!(!out.status.success());
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let line: Value = serde_json::from_str(stdout.lines().last().expect("an error line")).unwrap();
    let code = line["error"]["code"].as_str().unwrap().to_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("error[{code}]")), "{stderr}");
    (code, out.status.code().unwrap())
}

/// Device-side `fieldproof` commands (the ones README lists): JSON lines.
fn device_cli(args: &[&str]) -> Vec<Value> {
    let out = Command::new(BIN).args(args).arg("--json").output().unwrap();
    lines(&out, args)
}

fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(WAIT))
        .build()
        .new_agent()
}

fn post(url: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = http().post(url);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    answer(request.send_json(body))
}

fn get(url: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = http().get(url);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    answer(request.call())
}

fn answer(sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
    let response = sent.expect("bureau answers");
    let status = response.status().as_u16();
    let text = response.into_body().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// An inspection recorded and submitted in a device database with the device
/// commands; returns its id and the outbox op to push.
fn submitted_inspection(db: &str, officer: &str) -> (String, Value) {
    let created = device_cli(&[
        "inspections",
        "create",
        "--db",
        db,
        "--matter",
        "straw_burning",
        "--township",
        "430121101",
        "--lat",
        "28.2476",
        "--lon",
        "113.0855",
        "--datum",
        "gcj02",
        "--address",
        "高桥镇",
        "--officer",
        officer,
    ]);
    let id = created[0]["id"].as_str().unwrap().to_owned();
    for (item, value) in [
        ("fire_on_arrival", "yes"),
        ("burned_area_mu", "2.5"),
        ("material", "rice_straw"),
        ("extinguished", "yes"),
        ("extinguish_method", "water"),
        ("responsible_party_identified", "no"),
        ("warning_issued", "yes"),
    ] {
        device_cli(&["inspections", "answer", "--db", db, &id, item, value]);
    }
    device_cli(&["inspections", "submit", "--db", db, &id]);
    let outbox = device_cli(&["outbox", "list", "--db", db]);
    let op = outbox
        .iter()
        .find(|op| op["entity_id"] == id.as_str())
        .unwrap();
    let push = json!({
        "op_id": op["op_id"],
        "kind": op["kind"],
        "entity_id": op["entity_id"],
        "payload": serde_json::from_str::<Value>(op["payload"].as_str().unwrap()).unwrap(),
    });
    (id, push)
}

#[test]
fn first_start_token_admin_commands_enrollment_review_and_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bureau");
    let server = Server::start(&data, &[]);
    let token = server
        .generated_token
        .clone()
        .expect("first start prints the generated token");
    assert!(token.starts_with("fpa_"));
    let url = server.url.clone();
    let ok = |args: &[&str]| ok(&url, &token, args);
    let admin = |args: &[&str]| admin(&url, &token, args);

    // People and the enrollment code, which enrolls a real device over HTTP once.
    let officer = &ok(&["officers", "create", "李四"])[0];
    let officers = ok(&["officers", "list"]);
    assert_eq!(officers.len(), 1);
    assert_eq!(&officers[0], officer);
    let issued = &ok(&[
        "enrollment-code",
        "create",
        "--officer",
        "李四",
        "--jurisdiction",
        "430121",
        "--role",
        "county_officer",
    ])[0];
    assert_eq!(
        issued["officer_id"], officer["id"],
        "the named officer, not a new one"
    );
    let code = issued["code"].as_str().unwrap();
    let key = SoftwareKey::load_or_create(&dir.path().join("device-key.p8")).unwrap();
    let public_key = hex::encode(&key.public_key());
    let enroll = format!("{url}/v1/enroll");
    let proven = |code: &str| {
        let (status, challenge) = post(&format!("{url}/v1/enroll/challenge"), None, &json!({}));
        assert_eq!(status, 201, "{challenge}");
        let nonce = hex::decode32(challenge["nonce"].as_str().unwrap()).unwrap();
        let signature = key.sign(&possession_message(&nonce, code)).unwrap();
        json!({ "code": code, "public_key": public_key, "nonce": challenge["nonce"],
                "signature": hex::encode(&signature) })
    };
    let (status, enrollment) = post(&enroll, None, &proven(code));
    assert_eq!(status, 201, "{enrollment}");
    assert_eq!(enrollment["jurisdiction"], "430121");
    let (status, _) = post(&enroll, None, &proven(code));
    assert_eq!(status, 409, "a code enrolls once");
    let device_token = enrollment["token"].as_str().unwrap();
    // A device asking for a proof up to a checkpoint beyond the log (as after
    // a restore from an older backup) shows in the custody alarms.
    assert!(ok(&["custody", "alarms"]).is_empty());
    let (status, _) = get(
        &format!("{url}/v1/custody/consistency?old_size=0&new_size=5"),
        Some(device_token),
    );
    assert_eq!(status, 400);
    let alarms = ok(&["custody", "alarms"]);
    assert_eq!(
        (
            &alarms[0]["device_id"],
            &alarms[0]["held_size"],
            &alarms[0]["log_size"]
        ),
        (&enrollment["device_id"], &json!(5), &json!(0))
    );
    let devices = ok(&["devices", "list"]);
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0]["id"], enrollment["device_id"]);
    assert_eq!(devices[0]["role"], "county_officer");

    // A task from a GCJ-02 map, and reference data from the corpus.
    let task = &ok(&[
        "tasks",
        "create",
        "--jurisdiction",
        "430121",
        "--title",
        "核查卫星火点",
        "--lat",
        "28.2476",
        "--lon",
        "113.0855",
        "--datum",
        "gcj02",
        "--due-ms",
        "1790086400000",
    ])[0];
    assert_eq!(task["location"]["reported_datum"], "gcj02");
    assert_ne!(
        task["location"]["lat"], task["location"]["reported_lat"],
        "stored in WGS-84"
    );
    let tasks = ok(&["tasks", "list", "--jurisdiction", "4301"]);
    assert_eq!(tasks.len(), 1);
    // The task as made, with where it stands beside it.
    for (field, value) in task.as_object().unwrap() {
        assert_eq!(&tasks[0][field], value, "{field}");
    }
    assert_eq!(tasks[0]["state"], "dispatched");
    assert_eq!(tasks[0]["history"], json!([]));
    let changsha = corpus("boundaries").join("counties_by_city/430100.json");
    let changsha = changsha.to_str().unwrap();
    let loaded = &ok(&["boundaries", "load", changsha, "--datum", "gcj02"])[0];
    assert_eq!(
        (loaded["loaded"].as_u64(), loaded["unchanged"].as_u64()),
        (Some(9), Some(0))
    );
    assert_eq!(loaded["file"], changsha);
    let boundaries = ok(&["boundaries", "list"]);
    assert_eq!(boundaries.len(), 9);
    assert!(boundaries
        .iter()
        .any(|b| b["code"] == "430121" && b["name"] == "长沙县"));
    let template = dir.path().join("straw_burning_v2.json");
    let mut checklist = device_cli(&[
        "checklists",
        "show",
        "--db",
        dir.path().join("d0.db").to_str().unwrap(),
        "straw_burning",
    ])
    .remove(0);
    checklist["version"] = json!(2);
    std::fs::write(&template, checklist.to_string()).unwrap();
    let template = template.to_str().unwrap();
    let load = [
        "checklists",
        "load",
        template,
        "--matter",
        "straw_burning",
        "--matter-name",
        "露天焚烧秸秆",
    ];
    let published = &ok(&load)[0];
    assert_eq!(
        (
            published["version"].as_u64(),
            published["unchanged"].as_bool()
        ),
        (Some(2), Some(false))
    );
    assert_eq!(ok(&load)[0]["unchanged"], true);
    assert_eq!(ok(&["checklists", "list"]).len(), 1);

    // An inspection recorded with the device commands, pushed, then reviewed.
    assert!(ok(&["inspections", "list"]).is_empty());
    let db = dir.path().join("device.db");
    let (id, op) = submitted_inspection(db.to_str().unwrap(), officer["id"].as_str().unwrap());
    let (status, pushed) = post(
        &format!("{url}/v1/sync/push"),
        Some(device_token),
        &json!({ "ops": [op] }),
    );
    assert_eq!(
        (status, pushed["results"][0]["status"].as_str()),
        (200, Some("applied")),
        "{pushed}"
    );
    let listed = ok(&[
        "inspections",
        "list",
        "--jurisdiction",
        "430121",
        "--status",
        "submitted",
    ]);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["evidence"]["status"], "none");
    let case = &ok(&["inspections", "get", &id])[0];
    assert_eq!(case["inspection"]["id"], id.as_str());
    assert_eq!(case["evidence_records"], json!([]));
    // A second officer joins the case; the text says so.
    let partner = &ok(&["officers", "create", "赵六"])[0];
    let partner_id = partner["id"].as_str().unwrap();
    let joint = &ok(&["inspections", "assign", &id, "--officer", partner_id])[0];
    assert_eq!(joint["assigned_officers"], json!([partner_id]));
    let text = String::from_utf8(admin(&["inspections", "get", &id]).stdout).unwrap();
    assert!(
        text.contains(&format!("also assigned: {partner_id}")),
        "{text}"
    );

    let out = admin(&["review", "return", &id, "--json"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "return without --comment is a usage error"
    );
    let returned = &ok(&["review", "return", &id, "--comment", "请补拍现场照片"])[0];
    assert_eq!(returned["status"], "returned");
    assert_eq!(
        failure(&admin(&["review", "accept", &id, "--json"])),
        ("already_reviewed".into(), 5)
    );
    let text = String::from_utf8(admin(&["inspections", "list"]).stdout).unwrap();
    assert!(
        text.contains(&id) && text.contains("returned") && text.contains("evidence none"),
        "{text}"
    );
    assert!(ok(&["inspections", "list", "--status", "submitted"]).is_empty());

    // Refusals: exit status by kind, the bureau's code on the last line.
    let unknown = "0190f3a4-7b1c-7def-8000-0123456789ab";
    assert_eq!(
        failure(&admin(&["inspections", "get", unknown, "--json"])),
        ("not_found".into(), 4)
    );
    // A case file: written whole, or not at all.
    let zip = dir.path().join("case.zip");
    let zip_arg = zip.to_str().unwrap();
    let written = &ok(&["inspections", "bundle", &id, "-o", zip_arg])[0];
    assert_eq!(
        written["bytes"].as_u64(),
        Some(std::fs::metadata(&zip).unwrap().len())
    );
    let absent = dir.path().join("absent.zip");
    assert_eq!(
        failure(&admin(&[
            "inspections",
            "bundle",
            unknown,
            "-o",
            absent.to_str().unwrap(),
            "--json"
        ])),
        ("not_found".into(), 4)
    );
    assert!(!absent.exists());
    assert_eq!(
        failure(&admin(&[
            "inspections",
            "list",
            "--status",
            "draft",
            "--json"
        ])),
        ("invalid_request".into(), 3)
    );
    assert_eq!(
        failure(&admin(&[
            "boundaries",
            "load",
            template,
            "--datum",
            "gcj02",
            "--json"
        ])),
        ("invalid_geojson".into(), 3)
    );
    assert_eq!(
        failure(&admin(&[
            "tasks",
            "create",
            "--jurisdiction",
            "430121",
            "--title",
            "t",
            "--lat",
            "91",
            "--lon",
            "113",
            "--json"
        ])),
        ("invalid_coordinate".into(), 3)
    );
    assert_eq!(
        failure(&admin(&["review", "accept", "../x", "--json"])),
        ("invalid_id".into(), 3)
    );
    let wrong = self::admin(
        &url,
        "fpa_not-the-admin-token",
        &["officers", "list", "--json"],
    );
    assert_eq!(failure(&wrong), ("invalid_token".into(), 3));
    let no_token = Command::new(BIN)
        .args(["admin", "--server", &url, "officers", "list", "--json"])
        .env_remove("FIELDPROOF_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert_eq!(failure(&no_token), ("missing_token".into(), 2));

    // SIGTERM: a graceful stop, exit status 0.
    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "{status:?}");

    // A restart keeps the token (only its hash is stored) and prints none.
    let server = Server::start(&data, &[]);
    assert_eq!(server.generated_token, None);
    assert_eq!(
        self::ok(&server.url, &token, &["officers", "list"]).len(),
        2,
        "the enrolled officer and the one assigned to the case"
    );
    assert_eq!(server.terminate().code(), Some(0));
}

#[test]
fn a_configured_token_is_used_and_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let token = "configured-admin-token-0123456789";
    let server = Server::start(dir.path(), &[("FIELDPROOF_ADMIN_TOKEN", token)]);
    assert_eq!(server.generated_token, None);
    assert!(ok(&server.url, token, &["officers", "list"]).is_empty());
    // Plain output is for people: no JSON.
    let out = admin(&server.url, token, &["officers", "create", "王五"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("officer ") && text.contains("王五"),
        "{text}"
    );
    assert_eq!(server.terminate().code(), Some(0));
}

/// `fieldproof admin ARGS… --json` with `stdin` written to its standard input.
fn admin_with_stdin(url: &str, token: &str, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(["admin", "--server", url])
        .args(args)
        .arg("--json")
        .env("FIELDPROOF_ADMIN_TOKEN", token)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs fieldproof admin");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn staff_accounts_and_the_audit_log_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let token = "configured-admin-token-0123456789";
    let server = Server::start(dir.path(), &[("FIELDPROOF_ADMIN_TOKEN", token)]);
    let create = [
        "users",
        "create",
        "zhang.wei",
        "--name",
        "张伟",
        "--role",
        "reviewer:430121",
        "--role",
        "dispatcher:4301",
    ];
    let out = admin_with_stdin(&server.url, token, &create, "a long enough password\n");
    let user = &lines(&out, &create)[0];
    assert_eq!(user["username"], "zhang.wei");
    assert_eq!(user["grants"].as_array().unwrap().len(), 2);
    // The password was read from standard input: it signs in.
    let (status, session) = post(
        &format!("{}/v1/session", server.url),
        None,
        &json!({ "username": "zhang.wei", "password": "a long enough password" }),
    );
    assert_eq!(status, 200, "{session}");
    // A short password is refused by the bureau, with its code and exit status.
    let again = [
        "users",
        "create",
        "li.si",
        "--name",
        "李四",
        "--role",
        "admin:430121",
    ];
    let refused = admin_with_stdin(&server.url, token, &again, "short\n");
    assert_eq!(failure(&refused), ("invalid_password".into(), 3));
    let bad_role = admin(
        &server.url,
        token,
        &[
            "users",
            "create",
            "x.y",
            "--name",
            "x",
            "--role",
            "boss:4301",
        ],
    );
    assert_eq!(bad_role.status.code(), Some(2), "a usage error");

    let listed = ok(&server.url, token, &["users", "list"]);
    assert_eq!(listed.len(), 1);
    let id = user["id"].as_str().unwrap();
    let disabled = ok(&server.url, token, &["users", "disable", id]);
    assert!(disabled[0]["disabled_ms"].is_i64());

    let entries = ok(&server.url, token, &["audit", "list", "--all"]);
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["user.disable", "session.login", "user.create"]);
    let csv = dir.path().join("audit.csv");
    let saved = ok(
        &server.url,
        token,
        &["audit", "export", csv.to_str().unwrap()],
    );
    assert!(saved[0]["bytes"].as_u64().unwrap() > 0);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        text.lines().count(),
        4,
        "a header and three entries: {text}"
    );
    assert!(!text.contains("张伟"), "names stay out of the audit log");
    let verified = ok(&server.url, token, &["audit", "verify"]);
    assert_eq!(verified[0]["entries"], 3);
    assert_eq!(server.terminate().code(), Some(0));
}

/// Serves one HTTP/1.1 200 answer with `body` to the first connection on
/// loopback, then stops: a stand-in for something that is not a bureau.
fn answer_once(body: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut request = [0u8; 4096];
        let _ = socket.read(&mut request);
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let _ = socket.write_all(head.as_bytes());
        let _ = socket.write_all(body.as_bytes());
    });
    url
}

#[test]
fn an_answer_that_is_not_json_or_not_of_the_admin_api_is_a_bad_response() {
    for body in [
        "<html>proxy login</html>",
        r#"{"officers": []}"#,
        "[{\"id\": 1}]",
    ] {
        let out = admin(
            &answer_once(body),
            "any-token",
            &["officers", "list", "--json"],
        );
        assert_eq!(failure(&out), ("bad_response".into(), 7), "{body}");
    }
    // The one well-formed answer of this shape is accepted.
    let out = admin(
        &answer_once(r#"[{"id": "o1", "name": "n", "created_ms": 1}]"#),
        "any-token",
        &["officers", "list", "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_unreachable_bureau_and_a_bad_configuration_fail_distinctly() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = admin(
        &format!("http://127.0.0.1:{port}"),
        "any-token",
        &["officers", "list", "--json"],
    );
    assert_eq!(failure(&out), ("unreachable".into(), 7));
    let out = admin(
        "ftp://example.org",
        "any-token",
        &["officers", "list", "--json"],
    );
    assert_eq!(failure(&out), ("invalid_server_url".into(), 3));

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bureau.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\nno_such_key = 1\n").unwrap();
    let serve = |extra: &[&str], env: &[(&str, &str)]| {
        Command::new(BIN)
            .args(["serve", "--data", dir.path().to_str().unwrap(), "--json"])
            .args(extra)
            .env_remove("FIELDPROOF_ADMIN_TOKEN")
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };
    assert_eq!(
        failure(&serve(&["--config", config.to_str().unwrap()], &[])),
        ("invalid_config".into(), 3)
    );
    assert_eq!(
        failure(&serve(
            &["--listen", "127.0.0.1:0"],
            &[("FIELDPROOF_ADMIN_TOKEN", "short")]
        )),
        ("invalid_config".into(), 3)
    );
    assert_eq!(
        failure(&serve(
            &["--listen", "127.0.0.1:0", "--database", "mysql://x"],
            &[]
        )),
        ("invalid_config".into(), 3)
    );
}

#[test]
fn fire_points_are_imported_from_a_file_and_counted() {
    use fieldproof_core::fixtures::{modis_csv, point_inside, FirmsRow};
    use fieldproof_core::geo::datum::Datum;
    use fieldproof_core::geo::jurisdiction::JurisdictionIndex;

    let dir = tempfile::tempdir().unwrap();
    let token = "fires-cli-test-admin-token";
    let server = Server::start(
        &dir.path().join("bureau"),
        &[("FIELDPROOF_ADMIN_TOKEN", token)],
    );
    let url = server.url.clone();
    let ok = |args: &[&str]| ok(&url, token, args);
    let admin = |args: &[&str]| admin(&url, token, args);
    let changsha = corpus("boundaries").join("counties_by_city/430100.json");
    ok(&[
        "boundaries",
        "load",
        changsha.to_str().unwrap(),
        "--datum",
        "gcj02",
    ]);

    // Two fire points a pass apart in one county, one in another: two events.
    let mut index = JurisdictionIndex::new();
    index
        .load_geojson(&std::fs::read(&changsha).unwrap(), Datum::Gcj02)
        .unwrap();
    let now = fieldproof_core::time::now_ms();
    let row = |code: &str, seed: u64, time_ms: i64| {
        let p = point_inside(&index, code, seed);
        FirmsRow {
            lat: p.lat,
            lon: p.lon,
            time_ms,
            satellite: "T".into(),
            confidence: "80".into(),
            day: true,
        }
    };
    let first = row("430121", 1, now - 3_600_000);
    let again = FirmsRow {
        time_ms: now - 1_800_000,
        ..first.clone()
    };
    let csv = dir.path().join("MODIS_C6_1_China_24h.csv");
    std::fs::write(&csv, modis_csv(&[first, again, row("430181", 2, now)])).unwrap();
    let csv = csv.to_str().unwrap();

    let import = &ok(&["fires", "import", csv])[0];
    assert_eq!(import["product"], "modis", "{import}");
    assert_eq!(import["imported"], 3, "{import}");
    assert_eq!(import["events_new"], 2, "{import}");
    assert_eq!(import["tasks_created"], 2, "{import}");
    let again = &ok(&["fires", "import", csv])[0];
    assert_eq!(again["duplicates"], 3, "{again}");
    assert_eq!(again["tasks_created"], 0, "{again}");

    let tasks = ok(&["tasks", "list", "--state", "dispatched"]);
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    assert!(tasks.iter().all(|t| t["event"]["detections"].is_array()));
    let stats = &ok(&["fires", "stats", "--jurisdiction", "4301"])[0];
    assert_eq!(stats["total"]["events"], 2, "{stats}");
    assert_eq!(stats["counties"].as_array().unwrap().len(), 2, "{stats}");

    // The human-readable lines, and files that are not FIRMS files.
    let text = admin(&["fires", "import", csv]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.starts_with("modis: 3 rows, 0 imported, 3 duplicates"),
        "{text}"
    );
    let not_firms = dir.path().join("notes.csv");
    std::fs::write(&not_firms, "name,place\nfoo,bar\n").unwrap();
    let refused = admin(&["fires", "import", not_firms.to_str().unwrap(), "--json"]);
    assert_eq!(failure(&refused).0, "unknown_fire_product");
    let cut = dir.path().join("cut.csv");
    std::fs::write(
        &cut,
        "latitude,longitude,brightness,acq_date\n28.1,113.1,330,2026-12-01\n",
    )
    .unwrap();
    let refused = admin(&["fires", "import", cut.to_str().unwrap(), "--json"]);
    assert_eq!(failure(&refused).0, "missing_column");
    let absent = admin(&["fires", "import", "/nonexistent/fires.csv", "--json"]);
    assert_eq!(failure(&absent), ("io_error".into(), 4));
    let no_datum = admin(&["fires", "key-zones", csv]);
    assert!(!no_datum.status.success(), "the datum is required");
    assert_eq!(ok(&["fires", "stats"])[0]["total"]["events"], 2);
}

#[test]
fn a_bureau_is_backed_up_while_serving_and_restored_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let token = "backup-cli-test-admin-token";
    let data = dir.path().join("bureau");
    let server = Server::start(&data, &[("FIELDPROOF_ADMIN_TOKEN", token)]);
    let url = server.url.clone();
    ok(&url, token, &["officers", "create", "王芳"]);
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(["admin"])
            .args(args)
            .arg("--json")
            .env_remove("FIELDPROOF_DATABASE_URL")
            .output()
            .expect("runs fieldproof admin")
    };
    let backup = dir.path().join("backup");
    let done = lines(
        &run(&[
            "backup",
            "--data",
            data.to_str().unwrap(),
            "--to",
            backup.to_str().unwrap(),
        ]),
        &["backup"],
    );
    assert_eq!(
        done[0]["format"], "fieldproof-bureau-backup/1",
        "{}",
        done[0]
    );
    assert_eq!(done[0]["database"], "sqlite");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&backup), 0o700);
    assert_eq!(mode(&backup.join("bureau-key.p8")), 0o600);
    assert_eq!(mode(&backup.join("bureau.sqlite3")), 0o600);
    // Into a folder that holds something: refused (exit 5, invalid state).
    let again = run(&[
        "backup",
        "--data",
        data.to_str().unwrap(),
        "--to",
        backup.to_str().unwrap(),
    ]);
    assert_eq!(failure(&again), ("restore_target_not_empty".into(), 5));
    // A folder with no bureau in it: refused (exit 3, bad configuration).
    let empty = dir.path().join("nothing");
    let none = run(&[
        "backup",
        "--data",
        empty.to_str().unwrap(),
        "--to",
        dir.path().join("b2").to_str().unwrap(),
    ]);
    assert_eq!(failure(&none), ("invalid_config".into(), 3));
    assert_eq!(server.terminate().code(), Some(0));

    let restored = dir.path().join("restored");
    let report = lines(
        &run(&[
            "restore",
            "--data",
            restored.to_str().unwrap(),
            "--from",
            backup.to_str().unwrap(),
        ]),
        &["restore"],
    );
    assert_eq!(report[0]["tree_size"], done[0]["checkpoint"]["tree_size"]);
    // Over a bureau: refused, and it is left as it was.
    let before = std::fs::read(restored.join("bureau.sqlite3")).unwrap();
    let over = run(&[
        "restore",
        "--data",
        restored.to_str().unwrap(),
        "--from",
        backup.to_str().unwrap(),
    ]);
    assert_eq!(failure(&over), ("restore_target_not_empty".into(), 5));
    assert_eq!(
        std::fs::read(restored.join("bureau.sqlite3")).unwrap(),
        before
    );
    // Not a backup: refused (exit 3).
    let bogus = run(&[
        "restore",
        "--data",
        dir.path().join("r2").to_str().unwrap(),
        "--from",
        empty.to_str().unwrap(),
    ]);
    assert_eq!(failure(&bogus), ("backup_invalid".into(), 3));

    // The restored bureau serves what was backed up, with the same admin token.
    let server = Server::start(&restored, &[("FIELDPROOF_ADMIN_TOKEN", token)]);
    let officers = ok(&server.url, token, &["officers", "list"]);
    assert!(officers.iter().any(|o| o["name"] == "王芳"), "{officers:?}");
}
