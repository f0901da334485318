//! The `fieldproof` binary as a script would use it: JSON lines out, error codes
//! and exit statuses on failure.

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use support::corpus;

const BIN: &str = env!("CARGO_BIN_EXE_fieldproof");

fn fieldproof(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("runs the fieldproof binary")
}

/// Runs a `--json` command that must succeed; returns its lines as JSON.
fn ok(args: &[&str]) -> Vec<Value> {
    let out = fieldproof(args);
    let stdout = String::from_utf8(out.stdout).unwrap();
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

/// Runs a `--json` command that must fail; returns (error code, exit status).
fn err(args: &[&str]) -> (String, i32) {
    let out = fieldproof(args);
    assert!(!out.status.success(), "{args:?} should fail");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let line: Value = serde_json::from_str(stdout.lines().last().expect("an error line")).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let code = line["error"]["code"].as_str().unwrap().to_owned();
    assert!(
        stderr.contains(&code),
        "stderr names the code too: {stderr}"
    );
    (code, out.status.code().unwrap())
}

/// `inspections create` for a straw-burning draft in one township, without a site.
fn create_args(db: &str) -> Vec<&str> {
    let township = ["--matter", "straw_burning", "--township", "430121101"];
    [&["inspections", "create", "--db", db][..], &township].concat()
}

fn create(db: &str, extra: &[&str]) -> String {
    let mut args = create_args(db);
    args.extend_from_slice(&["--lat", "28.2282", "--lon", "112.9388", "--json"]);
    args.extend_from_slice(extra);
    ok(&args)[0]["id"].as_str().unwrap().to_owned()
}

#[test]
fn create_answer_submit_show_list() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("device.db");
    let db = db.to_str().unwrap();
    let id = create(
        db,
        &[
            "--datum",
            "gcj02",
            "--address",
            "黄花镇稻田",
            "--started-at",
            "1790000000000",
        ],
    );

    for (item, value) in [
        ("fire_on_arrival", "yes"),
        ("burned_area_mu", "2.5"),
        ("material", "rice_straw"),
        ("extinguished", "是"),
        ("extinguish_method", "water,soil_cover"),
        ("responsible_party_identified", "no"),
        ("warning_issued", "yes"),
    ] {
        ok(&[
            "inspections",
            "answer",
            "--db",
            db,
            &id,
            item,
            value,
            "--json",
        ]);
    }
    let submitted = &ok(&["inspections", "submit", "--db", db, &id, "--json"])[0];
    assert_eq!(submitted["status"], "submitted");
    assert_eq!(submitted["answers"].as_array().unwrap().len(), 7);

    let shown = &ok(&["inspections", "show", "--db", db, &id, "--json"])[0];
    assert_eq!(shown, submitted);
    assert_eq!(shown["site"]["reported_datum"], "gcj02");
    assert_eq!(shown["county_code"], "430121");
    let lat = shown["site"]["lat"].as_f64().unwrap();
    assert!((lat - 28.2282).abs() > 0.001, "stored in WGS-84");

    let ops = ok(&["outbox", "list", "--db", db, "--json"]);
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0]["kind"], "inspection.submit");

    create(db, &["--started-at", "1790000100000"]);
    let listed = ok(&["inspections", "list", "--db", db, "--json"]);
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1]["id"], id.as_str(), "newest first");
    let page = ok(&["inspections", "list", "--db", db, "--limit", "1", "--json"]);
    let cursor = page[1]["next_cursor"].as_str().expect("a next_cursor line");
    let rest = ok(&[
        "inspections",
        "list",
        "--db",
        db,
        "--limit",
        "1",
        "--cursor",
        cursor,
        "--json",
    ]);
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["id"], id.as_str());
    let submitted_only = ok(&[
        "inspections",
        "list",
        "--db",
        db,
        "--status",
        "submitted",
        "--json",
    ]);
    assert_eq!(submitted_only.len(), 1);

    let amendment = &ok(&["inspections", "amend", "--db", db, &id, "--json"])[0];
    assert_eq!(amendment["amends_id"], id.as_str());
    let amended_id = amendment["id"].as_str().unwrap();
    let updated = &ok(&[
        "inspections",
        "update",
        "--db",
        db,
        amended_id,
        "--findings",
        "复查",
        "--json",
    ])[0];
    assert_eq!(updated["findings"], "复查");
    assert_eq!(
        updated["site"], amendment["site"],
        "update without coordinates keeps the site"
    );
}

#[test]
fn bad_input_gives_codes_and_exit_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("device.db");
    let db = db.to_str().unwrap();
    let id = create(db, &[]);
    let base = create_args(db);
    fn joined<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        [base, extra, &["--json"]].concat()
    }
    let with = |extra: &[&'static str]| joined(&base, extra);

    assert_eq!(
        err(&with(&["--lat", "NaN", "--lon", "112.9"])),
        ("invalid_coordinate".into(), 3)
    );
    assert_eq!(
        err(&with(&["--lat", "28", "--lon", "inf"])).0,
        "invalid_coordinate"
    );
    assert_eq!(
        err(&with(&["--lat", "-91", "--lon", "112.9"])).0,
        "invalid_coordinate"
    );
    assert_eq!(
        err(&with(&["--lat", "28", "--lon", "112.9", "--datum", "mars"])).0,
        "unknown_datum"
    );
    let times = [
        "--lat",
        "28",
        "--lon",
        "112.9",
        "--started-at",
        "1790000000000",
        "--ended-at",
        "1780000000000",
    ];
    assert_eq!(err(&with(&times)).0, "invalid_time_range");
    let answer = |item: &str, value: &str| {
        err(&[
            "inspections",
            "answer",
            "--db",
            db,
            &id,
            item,
            value,
            "--json",
        ])
        .0
    };
    assert_eq!(answer("no_such_item", "yes"), "unknown_checklist_item");
    assert_eq!(answer("fire_on_arrival", "perhaps"), "wrong_answer_type");
    assert_eq!(answer("burned_area_mu", "-1"), "number_out_of_range");
    assert_eq!(answer("remarks", &"长".repeat(501)), "text_too_long");
    assert_eq!(
        err(&["inspections", "submit", "--db", db, &id, "--json"]),
        ("required_item_missing".into(), 3)
    );
    let unknown = "0190f5c2-0000-7000-8000-00000000abcd";
    assert_eq!(
        err(&["inspections", "show", "--db", db, unknown, "--json"]),
        ("not_found".into(), 4)
    );
    assert_eq!(
        err(&[
            "inspections",
            "list",
            "--db",
            db,
            "--status",
            "lost",
            "--json"
        ])
        .0,
        "invalid_field"
    );
    // Nothing above changed the one draft.
    let listed = ok(&["inspections", "list", "--db", db, "--json"]);
    assert_eq!(listed.len(), 1);
    assert_eq!(
        ok(&["inspections", "show", "--db", db, &id, "--json"])[0]["answers"],
        serde_json::json!([])
    );
}

#[test]
fn unusable_database_files() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database\n".repeat(100)).unwrap();
    let list = |db: &Path| {
        err(&[
            "inspections",
            "list",
            "--db",
            db.to_str().unwrap(),
            "--json",
        ])
    };
    assert_eq!(list(&text), ("not_a_database".into(), 6));
    assert_eq!(list(&dir.path().join("missing/dir/x.db")).0, "cannot_open");
}

/// A read-only directory: a new database cannot be created in it and an existing
/// one cannot be written (SQLite's WAL needs its side files). Root ignores
/// permission bits, so as root the command runs as `nobody` via setpriv.
#[cfg(unix)]
#[test]
fn read_only_directory() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let existing = ro.join("existing.db");
    create(existing.to_str().unwrap(), &[]);
    let before = std::fs::read(&existing).unwrap();
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();

    // The checkout may sit in a folder `nobody` cannot enter: run a copy.
    let bin = dir.path().join("fieldproof");
    std::fs::copy(BIN, &bin).unwrap();
    let as_unprivileged = |args: &[&str]| -> Output {
        let root = std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
            .unwrap_or(false);
        let mut command = if root {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(&bin);
            c
        } else {
            Command::new(BIN)
        };
        command.args(args).output().expect("runs fieldproof")
    };
    let code_of = |out: Output| {
        assert!(!out.status.success());
        let line: Value =
            serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
        line["error"]["code"].as_str().unwrap().to_owned()
    };
    let new_db = ro.join("new.db");
    let new_db = new_db.to_str().unwrap();
    let create_args = [
        "inspections",
        "create",
        "--db",
        new_db,
        "--matter",
        "straw_burning",
        "--township",
        "430121101",
        "--lat",
        "28",
        "--lon",
        "112",
        "--json",
    ];
    assert_eq!(code_of(as_unprivileged(&create_args)), "cannot_open");
    assert!(!Path::new(new_db).exists());
    let list_args = [
        "inspections",
        "list",
        "--db",
        existing.to_str().unwrap(),
        "--json",
    ];
    let code = code_of(as_unprivileged(&list_args));
    assert!(
        ["cannot_open", "read_only"].contains(&code.as_str()),
        "{code}"
    );
    assert_eq!(
        std::fs::read(&existing).unwrap(),
        before,
        "the database is untouched"
    );
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn demo_runs_the_scripted_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let steps = ok(&["demo", "--db", db.to_str().unwrap(), "--no-serve", "--json"]);
    let names: Vec<&str> = steps.iter().map(|s| s["step"].as_str().unwrap()).collect();
    let expected = [
        "database",
        "bureau",
        "enrolled",
        "recorded",
        "incomplete",
        "submitted",
        "amended",
        "draft",
        "photo",
        "patrol",
        "verified",
        "summary",
        "synced",
        "reviewed",
        "pulled",
        "case_file",
    ];
    assert_eq!(names, expected);
    assert_eq!(steps[8]["detail"]["thumbnail"], "ok");
    let patrol = &steps[9]["detail"];
    assert_eq!(
        (
            patrol["speed_jump"].as_u64(),
            patrol["low_accuracy"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert!(patrol["accepted"].as_u64().unwrap() > 800);
    assert_eq!(steps[10]["detail"]["intact"], true);
    let summary = &steps[11]["detail"];
    assert_eq!(summary["inspections"], 3);
    let outbox: Vec<&str> = summary["outbox"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(&outbox[..2], ["inspection.submit", "inspection.amend"]);
    assert!(outbox.contains(&"photo.upload") && outbox.contains(&"evidence.record"));

    // The round trip through the embedded bureau: everything out, the answers back.
    let synced = &steps[12]["detail"];
    assert_eq!(synced["ops_pushed"].as_u64(), Some(outbox.len() as u64));
    assert_eq!(
        synced["work_left"],
        serde_json::json!({ "ops": 0, "uploads": 0 })
    );
    let evidence = &steps[13]["detail"]["evidence"];
    assert_eq!(
        (evidence["status"].as_str(), evidence["flagged"].as_u64()),
        (Some("verified"), Some(0))
    );
    let pulled = &steps[14]["detail"];
    assert_eq!(
        (pulled["review"].as_str(), pulled["tasks"].as_u64()),
        (Some("accepted"), Some(1))
    );
    let receipts = &pulled["receipts"];
    assert_eq!(receipts["failures"], serde_json::json!([]));
    assert_eq!(receipts["receipts"].as_u64(), Some(3));

    // The case leaves the system as a case file that verifies offline, again
    // with the command the demo prints.
    let case_file = &steps[15]["detail"];
    assert_eq!(case_file["verified"], true, "{case_file}");
    assert_eq!(case_file["records"].as_u64(), Some(3));
    let again: Vec<String> = case_file["check_again"]
        .as_str()
        .unwrap()
        .split(' ')
        .skip(1)
        .map(str::to_owned)
        .collect();
    let again: Vec<&str> = again.iter().map(String::as_str).chain(["--json"]).collect();
    let verified = ok(&again);
    assert_eq!(verified[0]["ok"], true);
}

#[test]
fn help_lists_subcommands() {
    let out = fieldproof(&["--help"]);
    let help = String::from_utf8(out.stdout).unwrap();
    for sub in ["inspections", "checklists", "outbox", "demo"] {
        assert!(help.contains(sub), "{help}");
    }
}

#[test]
fn track_import_prints_statistics_and_exports_parse() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("device.db");
    let db = db.to_str().unwrap();
    let gpx = corpus("gpx").join("georust_garmin-activity.gpx");
    let track = &ok(&[
        "track",
        "import",
        "--db",
        db,
        gpx.to_str().unwrap(),
        "--json",
    ])[0];
    for key in [
        "id",
        "segments",
        "accepted",
        "invalid",
        "low_accuracy",
        "speed_jump",
        "too_close",
        "too_frequent",
        "duplicate_time",
        "out_of_order",
        "mock",
        "length_m",
        "duration_ms",
        "moving_ms",
        "max_speed_mps",
        "bbox",
    ] {
        assert!(track.get(key).is_some(), "{key} missing from {track}");
    }
    assert_eq!(track["accepted"], 964);
    assert_eq!(track["too_close"], 24);
    let id = track["id"].as_str().unwrap();
    assert_eq!(ok(&["track", "show", "--db", db, id, "--json"])[0], *track);

    let out = fieldproof(&["track", "export", "--db", db, id, "--format", "gpx"]);
    let gpx_text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success() && gpx_text.starts_with("<?xml"));
    assert_eq!(gpx_text.matches("<trkpt ").count(), 964);
    let out = fieldproof(&[
        "track",
        "export",
        "--db",
        db,
        id,
        "--format",
        "geojson",
        "--simplify-m",
        "5",
    ]);
    let feature: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(feature["type"], "Feature");
    assert_eq!(feature["geometry"]["type"], "MultiLineString");

    let bad = dir.path().join("bad.gpx");
    std::fs::write(&bad, "<gpx><trk><trkseg><trkpt lat=").unwrap();
    assert_eq!(
        err(&[
            "track",
            "import",
            "--db",
            db,
            bad.to_str().unwrap(),
            "--json"
        ])
        .0,
        "invalid_gpx"
    );
    let unknown = "0190f5c2-0000-7000-8000-00000000abcd";
    assert_eq!(
        err(&["track", "show", "--db", db, unknown, "--json"]),
        ("not_found".into(), 4)
    );
}

#[test]
fn geo_convert_and_locate() {
    let converted = &ok(&[
        "geo", "convert", "--from", "gcj02", "--to", "wgs84", "28.2282", "112.9388", "--json",
    ])[0];
    let (lat, lon) = (
        converted["lat"].as_f64().unwrap(),
        converted["lon"].as_f64().unwrap(),
    );
    let back = &ok(&[
        "geo",
        "convert",
        "--from",
        "wgs84",
        "--to",
        "gcj02",
        &lat.to_string(),
        &lon.to_string(),
        "--json",
    ])[0];
    assert!((back["lat"].as_f64().unwrap() - 28.2282).abs() < 1e-7);
    assert!((back["lon"].as_f64().unwrap() - 112.9388).abs() < 1e-7);
    assert_eq!(
        err(&["geo", "convert", "--from", "mars", "--to", "wgs84", "28", "112", "--json"]).0,
        "unknown_datum"
    );
    assert_eq!(
        err(&["geo", "convert", "--from", "wgs84", "--to", "gcj02", "95", "112", "--json"]).0,
        "invalid_coordinate"
    );

    let counties = corpus("boundaries").join("counties_by_city");
    let counties = counties.to_str().unwrap();
    // Furong district's own centre (GCJ-02), as DataV gives it.
    let found = &ok(&[
        "geo",
        "locate",
        "--boundaries",
        counties,
        "--datum",
        "gcj02",
        "28.193106",
        "112.988094",
        "--json",
    ])[0];
    assert_eq!(found["code"], "430102");
    assert_eq!(found["inside"], true);
    assert!(found["distance_m"].as_f64().unwrap() > 0.0);
    assert!(found["name"].as_str().unwrap().contains("芙蓉"));
    let wuhan = &ok(&[
        "geo",
        "locate",
        "--boundaries",
        counties,
        "30.5928",
        "114.3055",
        "--point-datum",
        "wgs84",
        "--json",
    ])[0];
    assert_eq!(wuhan["code"], Value::Null);
    assert_eq!(wuhan["inside"], false);
    let relative = &ok(&[
        "geo",
        "locate",
        "--boundaries",
        counties,
        "--jurisdiction",
        "430102",
        "30.5928",
        "114.3055",
        "--json",
    ])[0];
    assert_eq!(relative["inside"], false);
    assert!(relative["distance_m"].as_f64().unwrap() > 100_000.0);
    let unknown = [
        "geo",
        "locate",
        "--boundaries",
        counties,
        "--jurisdiction",
        "999999",
        "28",
        "112",
        "--json",
    ];
    assert_eq!(err(&unknown), ("unknown_jurisdiction".into(), 4));
}

/// Every corpus photo through `fieldproof evidence ingest`, its printed EXIF
/// compared with `exiftool -n -json` on the same file.
#[test]
fn evidence_ingest_matches_exiftool_and_verify_catches_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("device.db");
    let db = db.to_str().unwrap();
    let photos = corpus("photos");
    let mut files: Vec<String> = ["camera", "odd", "orientation"]
        .iter()
        .flat_map(|d| std::fs::read_dir(photos.join(d)).unwrap())
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut args = vec!["evidence", "ingest", "--db", db, "--json"];
    args.extend(files.iter().map(String::as_str));
    let lines = ok(&args);
    assert_eq!(lines.len(), files.len());

    let exiftool = Command::new("exiftool")
        .args(["-n", "-json", "-G1"])
        .args(&files)
        .output()
        .expect("exiftool is needed (apt-get install libimage-exiftool-perl; scripts/install-test-deps does it)");
    let tool: Vec<Value> = serde_json::from_slice(&exiftool.stdout).unwrap();
    for (ours, theirs) in lines.iter().zip(&tool) {
        let file = ours["file"].as_str().unwrap();
        assert_eq!(theirs["SourceFile"], file);
        let name = Path::new(file).file_name().unwrap().to_str().unwrap();
        assert_eq!(ours["width"], theirs["File:ImageWidth"], "{name} width");
        assert_eq!(ours["height"], theirs["File:ImageHeight"], "{name} height");
        assert_eq!(ours["sha256"].as_str().unwrap().len(), 64);
        assert!(ours["seq"].as_u64().unwrap() >= 1);
        // exiftool prints what is written; we drop values that cannot be right.
        let orientation = theirs["IFD0:Orientation"]
            .as_u64()
            .filter(|o| (1..=8).contains(o));
        if name == "bad_ifd0_exif.jpg" {
            // IFD0 declares 32 entries but holds 8: exiftool discards the whole
            // directory, we keep the intact entries (Orientation 1) and warn.
            assert_eq!((ours["orientation"].as_u64(), orientation), (Some(1), None));
        } else {
            assert_eq!(
                ours["orientation"].as_u64(),
                orientation,
                "{name} orientation"
            );
        }
        let taken = theirs["ExifIFD:DateTimeOriginal"].as_str();
        assert_eq!(ours["taken_at"].as_str(), taken, "{name} time original");
        let lat = theirs["Composite:GPSLatitude"].as_f64();
        let lon = theirs["Composite:GPSLongitude"].as_f64();
        match (&ours["gps"], lat, lon) {
            (Value::Null, None, _) | (Value::Null, _, None) => {}
            (Value::Null, Some(lat), _) if name == "garbage_gps_lat_4294967295.jpg" => {
                assert!(
                    lat.abs() > 90.0,
                    "a latitude of {lat} is garbage, so we record none"
                );
            }
            (gps, Some(lat), Some(lon)) => {
                assert!(
                    (gps["lat"].as_f64().unwrap() - lat).abs() < 1e-6,
                    "{name} latitude"
                );
                assert!(
                    (gps["lon"].as_f64().unwrap() - lon).abs() < 1e-6,
                    "{name} longitude"
                );
            }
            (gps, lat, lon) => panic!("{name}: ours {gps}, exiftool {lat:?} {lon:?}"),
        }
        let truncated = name.contains("truncated");
        assert_eq!(
            ours["thumbnail"],
            if truncated || name == "bad_ifd0_exif.jpg" {
                "unavailable"
            } else {
                "ok"
            },
            "{name}"
        );
    }

    let summary = ok(&["evidence", "verify", "--db", db, "--json"]);
    assert_eq!(summary.last().unwrap()["intact"], true);
    assert_eq!(summary.last().unwrap()["records"], files.len());

    // Not an image at all: refused with its code, the other files still ingested.
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let out = fieldproof(&[
        "evidence",
        "ingest",
        "--db",
        db,
        "--json",
        readme.to_str().unwrap(),
        &files[0],
    ]);
    assert!(!out.status.success());
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["error"]["code"], "unsupported_media");
    assert!(lines[1]["photo_id"].is_string());

    // One flipped bit in a stored original: verify names it and fails.
    let originals = dir.path().join("device.db.data/originals");
    let shard = std::fs::read_dir(&originals)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let victim = std::fs::read_dir(shard)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&victim).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&victim, bytes).unwrap();
    let out = fieldproof(&["evidence", "verify", "--db", db, "--json"]);
    assert!(!out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("media_mismatch"), "{stdout}");
}

#[test]
fn acknowledge_binds_the_inspection_as_it_stands() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("device.db");
    let db = db.to_str().unwrap();
    let id = create(db, &[]);
    let image = dir.path().join("sig.png");
    std::fs::write(&image, fieldproof_core::fixtures::signature_png()).unwrap();
    let image = image.to_str().unwrap();
    let base = [
        "inspections",
        "acknowledge",
        "--db",
        db,
        &id,
        "--image",
        image,
    ];
    let ack = &ok(&[&base[..], &["--role", "party", "--name", "张三", "--json"]].concat())[0];
    assert_eq!(
        (ack["role"].as_str(), ack["revision"].as_u64()),
        (Some("party"), Some(0))
    );
    assert_eq!(ack["inspection_sha256"].as_str().unwrap().len(), 64);
    assert!(
        !ack.to_string().contains("张三"),
        "the name is signed, not echoed: {ack}"
    );
    let witness = &ok(&[&base[..], &["--role", "witness", "--refused", "--json"]].concat())[0];
    assert_eq!(witness["refused"], true);
    // Signing settled the visit's end; the content signed stays the same.
    assert_eq!(witness["inspection_sha256"], ack["inspection_sha256"]);

    let refused_party = [&base[..], &["--role", "party", "--refused", "--json"]].concat();
    assert_eq!(err(&refused_party), ("invalid_field".into(), 3));
    assert_eq!(
        err(&[&base[..], &["--role", "judge", "--json"]].concat()),
        ("invalid_field".into(), 3)
    );
    let photo = [
        "inspections",
        "acknowledge",
        "--db",
        db,
        &id,
        "--role",
        "party",
        "--json",
        "--image",
    ];
    let jpeg = corpus("photos").join("camera/nikon_coolpix_p6000_gps_DSCN0010.jpg");
    assert_eq!(
        err(&[&photo[..], &[jpeg.to_str().unwrap()]].concat()),
        ("unsupported_media".into(), 3)
    );
    assert_eq!(
        err(&[&photo[..], &["/nonexistent/sig.png"]].concat()),
        ("io_error".into(), 6)
    );
    let unknown = [
        "inspections",
        "acknowledge",
        "--db",
        db,
        "0191e7c4-0000-7000-8000-000000000000",
        "--role",
        "party",
        "--image",
        image,
        "--json",
    ];
    assert_eq!(err(&unknown), ("not_found".into(), 4));
}

/// Runs `fieldproof` on a pseudo-terminal (util-linux `script`), as a person
/// at a terminal would; returns what the terminal showed.
fn on_terminal(args: &[&str]) -> String {
    let quoted: Vec<String> = std::iter::once(BIN)
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let out = Command::new("script")
        .args(["-qec", &quoted.join(" "), "/dev/null"])
        .output()
        .expect("script (util-linux) gives the command a terminal");
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?} failed on a terminal: {shown}"
    );
    shown
}

#[test]
fn progress_is_drawn_for_a_person_and_never_for_a_script() {
    let dir = tempfile::tempdir().unwrap();
    let photos = corpus("photos/camera");
    let files: Vec<String> = ["canon_sx60_orient6.jpg", "phone_iphone6_gps_hdr.jpg"]
        .iter()
        .map(|f| photos.join(f).to_string_lossy().into_owned())
        .collect();
    let db = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let (person, script, piped) = (db("person.db"), db("script.db"), db("piped.db"));
    let with_files = |args: Vec<&str>| -> Vec<String> {
        args.into_iter()
            .map(str::to_owned)
            .chain(files.iter().cloned())
            .collect()
    };
    let run_on_terminal =
        |args: Vec<String>| on_terminal(&args.iter().map(String::as_str).collect::<Vec<_>>());

    let shown = run_on_terminal(with_files(vec!["evidence", "ingest", "--db", &person]));
    assert!(shown.contains("2/2 photos"), "{shown}");
    assert!(shown.contains("taken into evidence, 0 refused"), "{shown}");

    // --json on a terminal: only the JSON lines.
    let shown = run_on_terminal(with_files(vec![
        "evidence", "ingest", "--db", &script, "--json",
    ]));
    let lines: Vec<&str> = shown
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), 2, "{shown}");
    for line in lines {
        serde_json::from_str::<Value>(line).unwrap_or_else(|_| panic!("not JSON: {line:?}"));
    }
    // Piped, as scripts and CI run it: nothing on stderr at all.
    let args = with_files(vec!["evidence", "ingest", "--db", &piped]);
    let out = fieldproof(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
}
