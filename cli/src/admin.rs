//! `fieldproof admin`: the bureau's admin API from a shell — officers, enrollment
//! codes, devices, tasks, reference data, inspections and their review.
//!
//! Results print as text, or with `--json` one JSON document per line. A refusal
//! by the bureau prints its own `{"error":{"code","message"}}` and exits by kind:
//! 3 invalid input (HTTP 400, 401, 403, 413, 415), 4 not found (404), 5 invalid
//! state (409, 410), 6 server or storage failure (5xx), 7 bureau unreachable or
//! not answering as a bureau; 2 is a usage error.

use crate::output::{exit_for_status, Failure, Output};
use clap::{Args as ClapArgs, Subcommand};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(ClapArgs)]
pub struct Args {
    /// The bureau's URL, e.g. http://127.0.0.1:8440 [env: FIELDPROOF_SERVER]
    #[arg(long, global = true, env = "FIELDPROOF_SERVER", hide_env = true)]
    server: Option<String>,
    /// The admin token; prefer the environment variable, since arguments are
    /// visible to other users of the machine [env: FIELDPROOF_ADMIN_TOKEN]
    #[arg(
        long,
        global = true,
        env = "FIELDPROOF_ADMIN_TOKEN",
        hide_env = true,
        hide_env_values = true
    )]
    token: Option<String>,
    /// One JSON document per line.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Officers: the people devices are enrolled for.
    #[command(subcommand)]
    Officers(OfficerCommand),
    /// One-time codes that enroll a device for an officer, jurisdiction and role.
    #[command(subcommand, name = "enrollment-code")]
    EnrollmentCode(EnrollmentCodeCommand),
    /// Enrolled devices.
    #[command(subcommand)]
    Devices(DeviceCommand),
    /// Tasks dispatched to a jurisdiction (e.g. a fire point to verify).
    #[command(subcommand)]
    Tasks(TaskCommand),
    /// Jurisdiction boundaries (GeoJSON), sent to the devices they concern.
    #[command(subcommand)]
    Boundaries(BoundaryCommand),
    /// Checklist templates, published to devices.
    #[command(subcommand)]
    Checklists(ChecklistCommand),
    /// Inspections received from devices, with their evidence status.
    #[command(subcommand)]
    Inspections(InspectionCommand),
    /// Review a submitted inspection: accept it, or return it with a comment.
    #[command(subcommand)]
    Review(ReviewCommand),
}

#[derive(Subcommand)]
enum OfficerCommand {
    /// Create an officer; prints `id, name, created_ms`.
    Create { name: String },
    /// List officers.
    List,
}

#[derive(Subcommand)]
enum EnrollmentCodeCommand {
    /// Issue a one-time enrollment code; prints `code, officer_id, jurisdiction,
    /// role, expires_ms`. The code is shown only now.
    Create {
        /// The officer's name (created if no officer has it yet).
        #[arg(
            long,
            required_unless_present = "officer_id",
            conflicts_with = "officer_id"
        )]
        officer: Option<String>,
        /// An existing officer's id.
        #[arg(long)]
        officer_id: Option<String>,
        /// Administrative division code (county 6 digits, township 9 or 12).
        #[arg(long)]
        jurisdiction: String,
        /// township_staff, county_officer or reviewer.
        #[arg(long)]
        role: String,
    },
}

#[derive(Subcommand)]
enum DeviceCommand {
    /// List enrolled devices.
    List,
    /// Revoke a device: its token stops working at once.
    Revoke { id: String },
}

#[derive(Subcommand)]
enum TaskCommand {
    /// Create a task; prints it (`location` in WGS-84 plus as given).
    Create {
        #[arg(long)]
        jurisdiction: String,
        #[arg(long)]
        title: String,
        #[arg(long)]
        note: Option<String>,
        #[arg(long, requires = "lon", allow_negative_numbers = true)]
        lat: Option<f64>,
        #[arg(long, requires = "lat", allow_negative_numbers = true)]
        lon: Option<f64>,
        /// Datum of --lat/--lon: wgs84, gcj02 or bd09.
        #[arg(long, default_value = "wgs84")]
        datum: String,
        /// Due time, UTC milliseconds.
        #[arg(long)]
        due_ms: Option<i64>,
    },
    /// List tasks, newest first.
    List {
        /// Tasks within this jurisdiction (codes starting with it).
        #[arg(long)]
        jurisdiction: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
}

#[derive(Subcommand)]
enum BoundaryCommand {
    /// Load GeoJSON FeatureCollections of Polygon/MultiPolygon features coded by
    /// `adcode` or `code` (a file, or a folder of .json files); prints one line per
    /// file: `file, datum, loaded, unchanged, jurisdictions`.
    Load {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Datum of the files (DataV exports are gcj02). Required: never guessed.
        #[arg(long)]
        datum: String,
    },
    /// List loaded boundaries: `code, name, loaded_ms`.
    List,
}

#[derive(Subcommand)]
enum ChecklistCommand {
    /// Publish a checklist template (a JSON file as `fieldproof checklists show`
    /// prints it); prints `id, version, title, items, matter, jurisdiction,
    /// loaded_ms, unchanged`.
    Load {
        file: PathBuf,
        /// The enforcement matter that uses this checklist (e.g. straw_burning).
        #[arg(long, requires = "matter_name")]
        matter: Option<String>,
        /// The matter's display name.
        #[arg(long, requires = "matter")]
        matter_name: Option<String>,
        /// Publish only to devices within this jurisdiction (default: everyone).
        #[arg(long)]
        jurisdiction: Option<String>,
    },
    /// List published checklist versions.
    List,
}

#[derive(Subcommand)]
enum InspectionCommand {
    /// List received inspections, newest first, each with its evidence status.
    List {
        /// Inspections within this jurisdiction (codes starting with it).
        #[arg(long)]
        jurisdiction: Option<String>,
        /// submitted, accepted or returned.
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// One inspection in full: the inspection as sent, its evidence records.
    Get { id: String },
}

#[derive(Subcommand)]
enum ReviewCommand {
    /// Accept a submitted inspection.
    Accept {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Return a submitted inspection to its officer, saying what to change.
    Return {
        id: String,
        #[arg(long)]
        comment: String,
    },
}

#[derive(ClapArgs)]
struct PageArgs {
    /// Page size (1 to 500, default 50).
    #[arg(long)]
    limit: Option<usize>,
    /// Continue after a previous page (its `next_cursor`).
    #[arg(long)]
    cursor: Option<String>,
    /// Every page, not just one.
    #[arg(long, conflicts_with = "cursor")]
    all: bool,
}

type Result<T> = std::result::Result<T, Failure>;

pub fn run(args: Args) -> ExitCode {
    let out = Output::new(args.json);
    match execute(args, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(&out),
    }
}

fn execute(args: Args, out: &Output) -> Result<()> {
    let client = Client::new(args.server, args.token)?;
    match args.command {
        Command::Officers(OfficerCommand::Create { name }) => {
            let officer = client.post("/v1/admin/officers", &json!({ "name": name }))?;
            out.print(&officer, || {
                format!("officer {}  {}", officer["id"].s(), officer["name"].s())
            });
        }
        Command::Officers(OfficerCommand::List) => {
            for officer in items(client.get("/v1/admin/officers", &[])?) {
                out.print(&officer, || {
                    format!("{}  {}", officer["id"].s(), officer["name"].s())
                });
            }
        }
        Command::EnrollmentCode(EnrollmentCodeCommand::Create {
            officer,
            officer_id,
            jurisdiction,
            role,
        }) => {
            let mut body = json!({ "jurisdiction": jurisdiction, "role": role });
            match (officer, officer_id) {
                (_, Some(id)) => body["officer_id"] = json!(id),
                (Some(name), None) => body["officer_name"] = json!(name),
                (None, None) => unreachable!("clap requires one of them"),
            }
            let code = client.post("/v1/admin/enrollment-codes", &body)?;
            out.print(&code, || {
                format!(
                    "enrollment code {}  (one use; officer {}, jurisdiction {}, role {}, expires at {} ms UTC)",
                    code["code"].s(),
                    code["officer_id"].s(),
                    code["jurisdiction"].s(),
                    code["role"].s(),
                    code["expires_ms"]
                )
            });
        }
        Command::Devices(DeviceCommand::List) => {
            for device in items(client.get("/v1/admin/devices", &[])?) {
                out.print(&device, || device_line(&device));
            }
        }
        Command::Devices(DeviceCommand::Revoke { id }) => {
            let device = client.post(
                &format!("/v1/admin/devices/{}/revoke", segment(&id)?),
                &json!({}),
            )?;
            out.print(&device, || device_line(&device));
        }
        Command::Tasks(TaskCommand::Create {
            jurisdiction,
            title,
            note,
            lat,
            lon,
            datum,
            due_ms,
        }) => {
            let location = match (lat, lon) {
                (Some(lat), Some(lon)) => json!({ "lat": lat, "lon": lon, "datum": datum }),
                _ => Value::Null,
            };
            let mut body = json!({ "jurisdiction": jurisdiction, "title": title });
            for (key, value) in [
                ("note", json!(note)),
                ("location", location),
                ("due_ms", json!(due_ms)),
            ] {
                if !value.is_null() {
                    body[key] = value;
                }
            }
            let task = client.post("/v1/admin/tasks", &body)?;
            out.print(&task, || task_line(&task));
        }
        Command::Tasks(TaskCommand::List { jurisdiction, page }) => {
            let filter = [("jurisdiction", jurisdiction)];
            list_pages(&client, out, "/v1/admin/tasks", &filter, &page, task_line)?;
        }
        Command::Boundaries(BoundaryCommand::Load { files, datum }) => {
            for file in json_files(&files)? {
                let bytes = std::fs::read(&file).map_err(|e| io_failure(&file, &e))?;
                let mut load = client.send(
                    "POST",
                    "/v1/admin/boundaries",
                    &[("datum", Some(datum.clone()))],
                    Some(bytes),
                )?;
                let name = file.display().to_string();
                let line = json!({
                    "file": name,
                    "datum": load["datum"].take(),
                    "loaded": load["loaded"].take(),
                    "unchanged": load["unchanged"].take(),
                    "jurisdictions": load["jurisdictions"].take(),
                });
                out.print(&line, || {
                    let codes: Vec<&str> = line["jurisdictions"]
                        .as_array()
                        .map(|list| list.iter().map(|j| j["code"].s()).collect())
                        .unwrap_or_default();
                    format!(
                        "{name}: {} loaded, {} unchanged, converted from {} to WGS-84 ({})",
                        line["loaded"],
                        line["unchanged"],
                        line["datum"].s(),
                        codes.join(" ")
                    )
                });
            }
        }
        Command::Boundaries(BoundaryCommand::List) => {
            for boundary in items(client.get("/v1/admin/boundaries", &[])?) {
                out.print(&boundary, || {
                    format!("{}  {}", boundary["code"].s(), boundary["name"].s())
                });
            }
        }
        Command::Checklists(ChecklistCommand::Load {
            file,
            matter,
            matter_name,
            jurisdiction,
        }) => {
            let bytes = std::fs::read(&file).map_err(|e| io_failure(&file, &e))?;
            let template: Value = serde_json::from_slice(&bytes).map_err(|e| {
                Failure::new(
                    "malformed_json",
                    format!(
                        "{} is not JSON: line {} column {}",
                        file.display(),
                        e.line(),
                        e.column()
                    ),
                    3,
                )
            })?;
            let mut body = json!({ "template": template });
            if let (Some(code), Some(name)) = (matter, matter_name) {
                body["matter"] = json!({ "code": code, "name": name });
            }
            if let Some(code) = jurisdiction {
                body["jurisdiction"] = json!(code);
            }
            let published = client.send(
                "POST",
                "/v1/admin/checklists",
                &[],
                Some(serde_json::to_vec(&body).expect("JSON serialises")),
            )?;
            out.print(&published, || {
                let what = if published["unchanged"] == true {
                    "already published, unchanged"
                } else {
                    "published"
                };
                format!("{}  {what}", checklist_line(&published))
            });
        }
        Command::Checklists(ChecklistCommand::List) => {
            for checklist in items(client.get("/v1/admin/checklists", &[])?) {
                out.print(&checklist, || checklist_line(&checklist));
            }
        }
        Command::Inspections(InspectionCommand::List {
            jurisdiction,
            status,
            page,
        }) => {
            let filter = [("jurisdiction", jurisdiction), ("status", status)];
            list_pages(
                &client,
                out,
                "/v1/admin/inspections",
                &filter,
                &page,
                inspection_line,
            )?;
        }
        Command::Inspections(InspectionCommand::Get { id }) => {
            let case = client.get(&format!("/v1/admin/inspections/{}", segment(&id)?), &[])?;
            out.print(&case, || case_text(&case));
        }
        Command::Review(command) => {
            let (id, body) = match command {
                ReviewCommand::Accept { id, comment } => {
                    (id, json!({ "decision": "accept", "comment": comment }))
                }
                ReviewCommand::Return { id, comment } => {
                    (id, json!({ "decision": "return", "comment": comment }))
                }
            };
            let path = format!("/v1/admin/inspections/{}/review", segment(&id)?);
            let case = client.post(&path, &body)?;
            out.print(&case, || case_text(&case));
        }
    }
    Ok(())
}

// --- the HTTP client ---

struct Client {
    agent: ureq::Agent,
    base: String,
    token: String,
}

impl Client {
    fn new(server: Option<String>, token: Option<String>) -> Result<Self> {
        let server = server.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
            Failure::new(
                "missing_server",
                "give the bureau's URL: --server URL or FIELDPROOF_SERVER",
                2,
            )
        })?;
        let token = token.filter(|t| !t.trim().is_empty()).ok_or_else(|| {
            Failure::new(
                "missing_token",
                "give the admin token: FIELDPROOF_ADMIN_TOKEN (or --token)",
                2,
            )
        })?;
        let base = server.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Failure::new(
                "invalid_server_url",
                "--server must be an http:// or https:// URL",
                3,
            ));
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_global(Some(Duration::from_secs(600)))
            .build()
            .new_agent();
        Ok(Self {
            agent,
            base,
            token: token.trim().to_owned(),
        })
    }

    fn get(&self, path: &str, query: &[(&str, Option<String>)]) -> Result<Value> {
        self.send("GET", path, query, None)
    }

    fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(
            "POST",
            path,
            &[],
            Some(serde_json::to_vec(body).expect("JSON serialises")),
        )
    }

    /// One request; a 2xx JSON answer, or the failure it stands for.
    fn send(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, Option<String>)],
        body: Option<Vec<u8>>,
    ) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let authorization = format!("Bearer {}", self.token);
        let query = query.iter().filter_map(|(k, v)| Some((*k, v.as_deref()?)));
        let sent = match (method, body) {
            ("GET", None) => self
                .agent
                .get(&url)
                .query_pairs(query)
                .header("Authorization", &authorization)
                .call(),
            (_, body) => self
                .agent
                .post(&url)
                .query_pairs(query)
                .header("Authorization", &authorization)
                .content_type("application/json")
                .send(&body.unwrap_or_default()[..]),
        };
        let response = sent.map_err(|e| {
            Failure::new(
                "unreachable",
                format!("cannot reach the bureau at {}: {e}", self.base),
                7,
            )
        })?;
        let status = response.status().as_u16();
        let text = response
            .into_body()
            .with_config()
            .limit(256 << 20)
            .read_to_string()
            .map_err(|e| {
                Failure::new(
                    "unreachable",
                    format!("the bureau's answer was cut off: {e}"),
                    7,
                )
            })?;
        let value: Option<Value> = serde_json::from_str(&text).ok();
        match value {
            Some(value) if (200..300).contains(&status) => Ok(value),
            Some(value) if value["error"]["code"].is_string() => Err(Failure::new(
                value["error"]["code"].s(),
                value["error"]["message"].s(),
                exit_for_status(status),
            )),
            _ if (200..300).contains(&status) => Err(Failure::new(
                "bad_response",
                format!(
                    "{} did not answer with JSON: is it a Fieldproof bureau?",
                    self.base
                ),
                7,
            )),
            _ => Err(Failure::new(
                "bad_response",
                format!("{} answered HTTP {status} without an error code", self.base),
                7,
            )),
        }
    }
}

/// One page (or, with `--all`, every page) of a list endpoint; with `--json` a
/// last line `{"next_cursor": …}` when more pages follow.
fn list_pages(
    client: &Client,
    out: &Output,
    path: &str,
    filter: &[(&str, Option<String>)],
    page: &PageArgs,
    human: fn(&Value) -> String,
) -> Result<()> {
    let mut cursor = page.cursor.clone();
    loop {
        let mut query: Vec<(&str, Option<String>)> = filter.to_vec();
        query.push(("limit", page.limit.map(|n| n.to_string())));
        query.push(("cursor", cursor.take()));
        let mut answer = client.get(path, &query)?;
        for item in items(answer["items"].take()) {
            out.print(&item, || human(&item));
        }
        let next = answer["next_cursor"].as_str().map(str::to_owned);
        match next {
            Some(next) if page.all => cursor = Some(next),
            Some(next) => {
                out.print(&json!({ "next_cursor": next }), || {
                    format!("more: --cursor {next}")
                });
                return Ok(());
            }
            None => return Ok(()),
        }
    }
}

// --- helpers ---

/// A JSON string's text, or "" (for human output).
trait Text {
    fn s(&self) -> &str;
}

impl Text for Value {
    fn s(&self) -> &str {
        self.as_str().unwrap_or("")
    }
}

fn items(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        _ => Vec::new(),
    }
}

/// An id for a URL path: a UUID, so nothing in it can change the path.
fn segment(id: &str) -> Result<String> {
    let ok =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    if ok {
        Ok(id.to_owned())
    } else {
        Err(Failure::new("invalid_id", "ids are UUIDs", 3))
    }
}

/// FILE arguments: files as given, folders as their .json files in name order.
fn json_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| io_failure(path, &e))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json" || e == "geojson"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn io_failure(path: &Path, error: &std::io::Error) -> Failure {
    let exit = if error.kind() == std::io::ErrorKind::NotFound {
        4
    } else {
        6
    };
    Failure::new(
        "io_error",
        format!("cannot read {}: {}", path.display(), error.kind()),
        exit,
    )
}

fn device_line(device: &Value) -> String {
    let state = match device["revoked_ms"].as_i64() {
        Some(ms) => format!("revoked at {ms}"),
        None => "active".into(),
    };
    format!(
        "{}  {}  {}  officer {}  {state}",
        device["id"].s(),
        device["jurisdiction"].s(),
        device["role"].s(),
        device["officer_id"].s()
    )
}

fn task_line(task: &Value) -> String {
    let at = &task["location"];
    let place = if at.is_null() {
        String::new()
    } else {
        format!(
            "  at {},{} WGS-84 (given {},{} {})",
            at["lat"],
            at["lon"],
            at["reported_lat"],
            at["reported_lon"],
            at["reported_datum"].s()
        )
    };
    format!(
        "{}  {}  {}{place}",
        task["id"].s(),
        task["jurisdiction"].s(),
        task["title"].s()
    )
}

fn checklist_line(checklist: &Value) -> String {
    let mut line = format!(
        "{} v{}  {} ({} items)",
        checklist["id"].s(),
        checklist["version"],
        checklist["title"].s(),
        checklist["items"]
    );
    if let Some(matter) = checklist["matter"]["code"].as_str() {
        line += &format!("  matter {matter}");
    }
    if let Some(code) = checklist["jurisdiction"].as_str() {
        line += &format!("  for {code}");
    }
    line
}

fn inspection_line(inspection: &Value) -> String {
    format!(
        "{}  {}  {}  {}  evidence {} ({} records)  received {}",
        inspection["id"].s(),
        inspection["status"].s(),
        inspection["jurisdiction"].s(),
        inspection["matter"].s(),
        inspection["evidence"]["status"].s(),
        inspection["evidence"]["records"],
        inspection["received_ms"]
    )
}

/// An inspection case as a few lines of text.
fn case_text(case: &Value) -> String {
    let e = &case["evidence"];
    let mut text = inspection_line(case);
    text += &format!(
        "\n  site {},{} (WGS-84) {}",
        case["lat"],
        case["lon"],
        case["address"].s()
    );
    text += &format!(
        "\n  evidence {}: {} records, {} accepted, {} flagged; media {} pending, {} verified, {} mismatch",
        e["status"].s(),
        e["records"],
        e["accepted"],
        e["flagged"],
        e["media_pending"],
        e["media_verified"],
        e["media_mismatch"]
    );
    for record in case["evidence_records"].as_array().into_iter().flatten() {
        text += &format!(
            "\n    seq {} {} {}{} media {}",
            record["seq"],
            record["kind"].s(),
            record["status"].s(),
            record["failure"]
                .as_str()
                .map(|f| format!(" ({f})"))
                .unwrap_or_default(),
            record["media_status"].s()
        );
    }
    if let Some(ms) = case["reviewed_ms"].as_i64() {
        text += &format!("\n  reviewed at {ms}: {}", case["status"].s());
        if let Some(comment) = case["review_comment"].as_str() {
            text += &format!(" — {comment}");
        }
    }
    if let Some(amendment) = case["amended_by"].as_str() {
        text += &format!("\n  amended by {amendment}");
    }
    text
}
