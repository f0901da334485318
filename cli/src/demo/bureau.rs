//! The demo's second half: the patrol reaches an embedded bureau on loopback and
//! the bureau's answers come back. A real bureau (SQLite and files in a temporary
//! folder) and the device's real sync engine over real HTTP; only the admin's part
//! (issuing the code, reviewing, sending a task) is done by library calls.

use super::console;
use fieldproof_bureau::bureau::PUBLIC_KEY_FILE;
use fieldproof_bureau::cases::case_file;
use fieldproof_bureau::cases::inspections::{get, review, Decision};
use fieldproof_bureau::cases::tasks::{create, NewTask};
use fieldproof_bureau::enrollment::{create_enrollment_code, find_or_create_officer, Role};
use fieldproof_bureau::server::BackgroundServer;
use fieldproof_bureau::Config;
use fieldproof_core::case_file::{verify_case_file, BureauKeyGiven};
use fieldproof_core::store::Store;
use fieldproof_core::sync::{HttpTransport, SyncEngine, SyncReport};
use fieldproof_core::{Error, Result};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the demo's township post reports.
const JURISDICTION: &str = "430121101";
/// The demo bureau's admin token: on loopback only, for the demo's own calls.
const ADMIN_TOKEN: &str = "demo-admin-token-not-for-use";
/// Enough rounds for everything to go out and come back; each is bounded in time.
const MAX_ROUNDS: usize = 5;

/// A bureau serving on 127.0.0.1 until dropped.
struct EmbeddedBureau {
    server: BackgroundServer,
    url: String,
    /// Kept after the demo, like the device database, to be looked at.
    data: std::path::PathBuf,
}

impl EmbeddedBureau {
    fn start() -> Result<Self> {
        let data = tempfile::Builder::new()
            .prefix("fieldproof-demo-bureau-")
            .tempdir()?
            .keep();
        let config = Config {
            data_dir: data.clone(),
            listen: ([127, 0, 0, 1], 0).into(),
            admin_token: Some(ADMIN_TOKEN.into()),
            ..Config::default()
        };
        let listener = std::net::TcpListener::bind(config.listen)?;
        let server = BackgroundServer::start(&config, listener).map_err(bureau_error)?;
        Ok(Self {
            url: server.url(),
            server,
            data,
        })
    }

    /// Runs admin work in one bureau transaction.
    fn admin<T>(
        &self,
        f: impl FnOnce(&mut fieldproof_bureau::storage::Tx) -> fieldproof_bureau::Result<T>,
    ) -> Result<T> {
        self.server.bureau.db.write(f).map_err(bureau_error)
    }
}

/// The demo's bureau and the device's sync engine, enrolled with it.
pub struct Office {
    bureau: EmbeddedBureau,
    engine: SyncEngine,
    store: Arc<Store>,
}

/// Before the patrol, at the office: the bureau issues a code and the device
/// enrolls, so what it records in the field names its enrolled officer.
pub fn enroll(store: Arc<Store>, step: &dyn Fn(&str, Value)) -> Result<Office> {
    let bureau = EmbeddedBureau::start()?;
    step(
        "bureau",
        json!({ "url": bureau.url, "data": bureau.data.display().to_string() }),
    );
    let code = bureau.admin(|tx| {
        let officer = find_or_create_officer(tx, "Demo Officer")?;
        create_enrollment_code(tx, &officer.id, JURISDICTION, Role::TownshipStaff, 600_000)
    })?;
    let engine = SyncEngine::new(store.clone(), Arc::new(HttpTransport::new()));
    // Plain HTTP on loopback: nothing to pin.
    let enrollment = engine.enroll(&bureau.url, &code.code, None)?;
    step(
        "enrolled",
        json!({ "device_id": enrollment.device_id, "jurisdiction": enrollment.jurisdiction }),
    );
    Ok(Office {
        bureau,
        engine,
        store,
    })
}

/// Back from the patrol: syncs, has the bureau review the inspection (its latest
/// revision; the evidence hangs on the original) and send a task, and syncs again
/// to bring both back.
pub fn round_trip(
    office: Office,
    original_id: &str,
    latest_id: &str,
    serve: bool,
    step: &dyn Fn(&str, Value),
) -> Result<()> {
    let Office {
        bureau,
        engine,
        store,
    } = office;
    let report = sync_until_settled(&engine)?;
    step("synced", summary(&report));

    let fires = bureau.server.bureau.fires.clone();
    let evidence = bureau.admin(|tx| {
        create(
            tx,
            &NewTask {
                jurisdiction: JURISDICTION.into(),
                title: "Verify satellite fire point near the village road".into(),
                note: None,
                location: None,
                due_ms: None,
            },
        )?;
        review(
            tx,
            latest_id,
            Decision::Accept,
            Some("Evidence complete."),
            false,
            &fires,
        )?;
        Ok(get(tx, original_id, &fires)?.summary.evidence)
    })?;
    step(
        "reviewed",
        json!({ "accepted": latest_id, "evidence": evidence }),
    );

    let report = sync_until_settled(&engine)?;
    let receipts = store.verify_receipts()?;
    step(
        "pulled",
        json!({
            "records_pulled": report.records_pulled,
            "review": store.review(latest_id)?.map(|r| r.decision),
            "tasks": store.tasks()?.len(),
            "receipts": receipts,
        }),
    );
    case_file(&bureau, original_id, step)?;
    let login = if serve {
        Some(console_login(&bureau)?)
    } else {
        None
    };
    bureau.server.stop();
    if let Some((username, password)) = login {
        let (url, pid) = console::leave_running(&bureau.data, ADMIN_TOKEN)?;
        step(
            "console",
            json!({
                "url": format!("{url}/console/"),
                "username": username,
                "password": password,
                "pid": pid,
                "stop": format!("kill {pid}"),
                "log": bureau.data.join(console::LOG_FILE).display().to_string(),
            }),
        );
    }
    Ok(())
}

/// A demo account for the console: every role over the demo's county, with a
/// fresh random password (printed once, like any first password).
fn console_login(bureau: &EmbeddedBureau) -> Result<(String, String)> {
    use fieldproof_bureau::people::{accounts, Actor, Grant, NewStaffUser, StaffRole};
    let password = accounts::generate_password().map_err(bureau_error)?;
    let new = NewStaffUser {
        username: "demo.reviewer".into(),
        display_name: "演示 审核员".into(),
        password: password.clone(),
        grants: StaffRole::ALL
            .into_iter()
            .map(|role| Grant {
                role,
                jurisdiction: JURISDICTION[..6].into(),
            })
            .collect(),
    };
    let hash = accounts::hash_password(&password).map_err(bureau_error)?;
    bureau.admin(|tx| fieldproof_bureau::acts::create_user(tx, &Actor::AdminToken, &new, &hash))?;
    Ok((new.username, password))
}

/// The case taken out of the system, as for a court: the bureau writes its case
/// file, and the offline verifier checks it with the bureau's public key only.
fn case_file(
    bureau: &EmbeddedBureau,
    inspection_id: &str,
    step: &dyn Fn(&str, Value),
) -> Result<()> {
    let path = bureau.data.join(format!("case-{inspection_id}.zip"));
    let file = std::fs::File::create(&path)?;
    let plan = case_file::plan_now(&bureau.server.bureau, inspection_id).map_err(bureau_error)?;
    plan.write(std::io::BufWriter::new(file), &bureau.server.bureau.key)
        .and_then(|mut w| Ok(std::io::Write::flush(&mut w)?))
        .map_err(bureau_error)?;
    let key_file = bureau.data.join(PUBLIC_KEY_FILE);
    let key =
        BureauKeyGiven::from_file_bytes(&std::fs::read(&key_file)?).ok_or(Error::InvalidField {
            field: "bureau_key",
            reason: "the bureau's key file is not a P-256 public key",
        })?;
    let report = verify_case_file(&path, &key)?;
    step(
        "case_file",
        json!({
            "file": path.display().to_string(),
            "verified": report.ok,
            "records": report.items.len(),
            "failures": report.failures,
            "check_again": format!("fieldproof verify {} --bureau-key {}", path.display(), key_file.display()),
        }),
    );
    Ok(())
}

/// Syncs until nothing is left (or a few rounds have passed), each round bounded.
fn sync_until_settled(engine: &SyncEngine) -> Result<SyncReport> {
    let mut total: Option<SyncReport> = None;
    for _ in 0..MAX_ROUNDS {
        let report = engine.sync_once(Instant::now() + Duration::from_secs(30))?;
        if let Some(error) = &report.last_error {
            return Err(Error::Io(std::io::Error::other(format!(
                "sync failed: {} ({})",
                error.code, error.message
            ))));
        }
        let settled = !report.work_left.any();
        total = Some(match total {
            None => report,
            Some(sum) => SyncReport {
                ops_pushed: sum.ops_pushed + report.ops_pushed,
                records_pulled: sum.records_pulled + report.records_pulled,
                bytes_uploaded: sum.bytes_uploaded + report.bytes_uploaded,
                receipts: sum.receipts + report.receipts,
                ..report
            },
        });
        if settled {
            break;
        }
    }
    Ok(total.expect("at least one round"))
}

fn summary(report: &SyncReport) -> Value {
    json!({ "ops_pushed": report.ops_pushed, "bytes_uploaded": report.bytes_uploaded,
            "receipts": report.receipts, "work_left": report.work_left })
}

fn bureau_error(error: fieldproof_bureau::Error) -> Error {
    Error::Io(std::io::Error::other(format!(
        "embedded bureau: {error} ({})",
        error.code()
    )))
}
