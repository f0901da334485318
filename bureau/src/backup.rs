//! Backup and restore of a whole bureau as one folder (`bureau/docs/backup.md`):
//! its database, every photo, and its keys, with a manifest naming the custody
//! log checkpoint the backup holds.
//!
//! Backup order matters: the database is copied first (SQLite's online backup
//! API, or `pg_dump`), then the photos it lists. A photo's bytes are stored
//! before its row is written, so every photo the copied database names exists;
//! photos that arrive meanwhile are copied too, harmlessly.
//!
//! A restore goes into an empty data folder (and an empty database, an empty
//! bucket prefix), then checks what it restored: the custody log still holds
//! what every checkpoint it signed says (else `log_inconsistent`), the log
//! reaches the manifest's checkpoint with the same root, and every photo the
//! database names is there and hashes to its name. What a restore cannot know
//! is whether devices hold a newer checkpoint than the backup: they report that
//! at their next sync (`custody_alarms`, and `log_inconsistent` on the device).

use crate::bureau::{Bureau, ADMIN_TOKEN_HASH_FILE, KEY_FILE};
use crate::config::Config;
use crate::custody_log::persisted::latest_checkpoint;
use crate::custody_log::SignedCheckpoint;
use crate::error::{Error, Result};
use crate::storage::photo_store::folder::FolderStore;
use crate::storage::{Database, PhotoStore, SCHEMA_VERSION};
use crate::{now_ms, params};
use fieldproof_core::{hex, private_files};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const FORMAT: &str = "fieldproof-bureau-backup/1";
const MANIFEST: &str = "backup.json";
const SQLITE_FILE: &str = "bureau.sqlite3";
const POSTGRES_DUMP: &str = "database.pgdump";
/// The files of the data folder a bureau cannot be rebuilt without: the key that
/// signs its checkpoints, the admin token's hash, its TLS identity (devices pin
/// its key).
const KEPT_FILES: &[&str] = &[
    KEY_FILE,
    ADMIN_TOKEN_HASH_FILE,
    "tls/cert.pem",
    "tls/key.pem",
];

/// What a backup holds, written last into its folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub created_ms: i64,
    pub schema_version: i64,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// The custody log as of the backup, signed by the bureau then.
    pub checkpoint: SignedCheckpoint,
    pub photos: u64,
    pub photo_bytes: u64,
}

/// What a restore found, once checked.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    pub manifest: Manifest,
    /// The restored log's size and root (the manifest's checkpoint or later:
    /// the database may hold a little more than the checkpoint signed).
    pub tree_size: u64,
    #[serde(serialize_with = "hex::serialize")]
    pub root: [u8; 32],
    pub photos_verified: u64,
}

/// Backs up the bureau `config` describes into `to`, a new or empty folder.
pub fn backup(config: &Config, to: &Path) -> Result<Manifest> {
    if !config.data_dir.join(KEY_FILE).is_file() {
        return Err(invalid_config(format!(
            "{} holds no bureau (no {KEY_FILE})",
            config.data_dir.display()
        )));
    }
    empty_folder(to)?;
    let (bureau, _) = Bureau::open(config)?;
    // Signed before the copy, so the copied database holds it and the log it signs.
    let checkpoint = latest_checkpoint(&bureau.db, &bureau.log, &bureau.key)?;
    let database = match &bureau.db {
        Database::Sqlite(sqlite) => {
            sqlite.backup_to(&to.join(SQLITE_FILE))?;
            "sqlite"
        }
        Database::Postgres(_) => {
            let url = config.database_url.as_deref().unwrap_or_default();
            let dump = to.join(POSTGRES_DUMP);
            // Made private first: pg_dump writes into it and keeps its mode.
            private_files::create(&dump)?;
            postgres_tool("pg_dump", url)?
                .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
                .arg(&dump)
                .run("pg_dump")?;
            "postgres"
        }
    };
    let copy = PhotoStore::folder(FolderStore::open(to)?);
    let (mut photos, mut photo_bytes) = (0, 0);
    for sha256 in photos_named(&bureau.db)? {
        photo_bytes += copy_verified(&bureau.photos, &copy, &sha256)?;
        photos += 1;
    }
    copy_kept_files(&config.data_dir, to)?;
    let manifest = Manifest {
        format: FORMAT.into(),
        created_ms: now_ms(),
        schema_version: SCHEMA_VERSION,
        database: database.into(),
        checkpoint,
        photos,
        photo_bytes,
    };
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Storage {
        reason: e.to_string(),
    })?;
    private_files::write_whole(&to.join(MANIFEST), &text)?;
    Ok(manifest)
}

/// Restores the backup in `from` into the empty bureau `config` describes (its
/// data folder; its database with `database_url`; its bucket with
/// `[photo_store]`), then checks it.
pub fn restore(from: &Path, config: &Config) -> Result<Restored> {
    let manifest: Manifest = std::fs::read(from.join(MANIFEST))
        .ok()
        .and_then(|text| serde_json::from_slice(&text).ok())
        .filter(|m: &Manifest| m.format == FORMAT)
        .ok_or_else(|| backup_invalid(format!("no {FORMAT} manifest in {}", from.display())))?;
    let data = &config.data_dir;
    if data.join(KEY_FILE).exists() || data.join(SQLITE_FILE).exists() {
        return Err(Error::RestoreTargetNotEmpty {
            what: format!("{} already holds a bureau", data.display()),
        });
    }
    private_files::create_dir(data)?;
    copy_kept_files(from, data)?;
    match (manifest.database.as_str(), &config.database_url) {
        ("sqlite", None) => {
            private_files::write_whole(
                &data.join(SQLITE_FILE),
                &std::fs::read(from.join(SQLITE_FILE))?,
            )?;
        }
        ("postgres", Some(url)) => {
            // One transaction: into a database that is not empty, nothing at all.
            postgres_tool("pg_restore", url)?
                .args([
                    "--no-owner",
                    "--no-privileges",
                    "--single-transaction",
                    "--exit-on-error",
                ])
                .arg(from.join(POSTGRES_DUMP))
                .run("pg_restore")
                .map_err(|e| Error::RestoreTargetNotEmpty {
                    what: format!("the database refused the restore ({e})"),
                })?;
        }
        (kind, _) => {
            return Err(invalid_config(format!(
                "the backup holds a {kind} database: restore it with{} a database_url",
                if kind == "sqlite" { "out" } else { "" }
            )))
        }
    }
    let (bureau, _) = Bureau::open(config)?;
    let backup = PhotoStore::folder(FolderStore::open(from)?);
    let mut photos_verified = 0;
    for sha256 in photos_named(&bureau.db)? {
        copy_verified(&backup, &bureau.photos, &sha256)?;
        photos_verified += 1;
    }
    let (tree_size, root) = check_log(&bureau, &manifest.checkpoint)?;
    Ok(Restored {
        manifest,
        tree_size,
        root,
        photos_verified,
    })
}

/// The restored log against every checkpoint the bureau signed and the
/// manifest's: returns its size and root now.
fn check_log(bureau: &Bureau, backed_up: &SignedCheckpoint) -> Result<(u64, [u8; 32])> {
    if !backed_up.verify(bureau.key.public_key()) {
        return Err(backup_invalid(
            "the manifest's checkpoint is not signed by this bureau's key".into(),
        ));
    }
    // Checks the log against the stored checkpoints (log_inconsistent if not).
    let now = latest_checkpoint(&bureau.db, &bureau.log, &bureau.key)?;
    let root_then = bureau.log.with(|tree| {
        (backed_up.tree_size <= tree.len())
            .then(|| tree.root_at(backed_up.tree_size))
            .transpose()
    })?;
    if root_then != Some(backed_up.root) {
        return Err(Error::LogRewritten {
            tree_size: backed_up.tree_size,
        });
    }
    Ok((now.tree_size, now.root))
}

/// Copies the [`KEPT_FILES`] that `from` holds into `to`, privately.
fn copy_kept_files(from: &Path, to: &Path) -> Result<()> {
    for file in KEPT_FILES {
        let kept = from.join(file);
        if kept.is_file() {
            if let Some(parent) = Path::new(file).parent() {
                private_files::create_dir(&to.join(parent))?;
            }
            private_files::write_whole(&to.join(file), &std::fs::read(kept)?)?;
        }
    }
    Ok(())
}

/// Every photo the database says the bureau holds.
fn photos_named(db: &Database) -> Result<Vec<[u8; 32]>> {
    db.read(|tx| {
        tx.query("SELECT DISTINCT sha256 FROM photos", params![])?
            .iter()
            .map(|row| row.hash(0))
            .collect()
    })
}

/// Copies photo `sha256` from `from` to `to` after checking its bytes hash to
/// its name; returns its size.
fn copy_verified(from: &PhotoStore, to: &PhotoStore, sha256: &[u8; 32]) -> Result<u64> {
    let name = hex::encode(sha256);
    let bytes = from
        .photo_bytes(sha256)?
        .ok_or_else(|| backup_invalid(format!("photo {name} is missing")))?;
    if fieldproof_core::evidence::sha256(&bytes) != *sha256 {
        return Err(backup_invalid(format!(
            "photo {name} does not hash to its name"
        )));
    }
    to.put_photo(sha256, &bytes)?;
    Ok(bytes.len() as u64)
}

fn empty_folder(dir: &Path) -> Result<()> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(Error::RestoreTargetNotEmpty {
            what: format!("{} is not empty", dir.display()),
        });
    }
    Ok(private_files::create_dir(dir)?)
}

fn backup_invalid(reason: String) -> Error {
    Error::BackupInvalid { reason }
}

fn invalid_config(reason: String) -> Error {
    Error::InvalidConfig { reason }
}

/// A PostgreSQL client tool (on PATH, else the newest of Debian's
/// `/usr/lib/postgresql/*/bin`, where the server package puts it), to work on
/// the database at `url`. The URL goes on the command line without its password,
/// which goes in the tool's environment (`PGPASSWORD`): any local user can read
/// a process's arguments, only its owner its environment.
fn postgres_tool(name: &str, url: &str) -> Result<Command> {
    let (url, password) = without_password(url);
    let mut command = postgres_tool_at(name)?;
    command.arg(format!("--dbname={url}"));
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    Ok(command)
}

/// `url` without its password, and the password (percent-decoded). A
/// `key=value` connection string, which is no URL, is left as it is.
fn without_password(url: &str) -> (String, Option<String>) {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let password = parsed.password().map(|p| {
                percent_encoding::percent_decode_str(p)
                    .decode_utf8_lossy()
                    .into_owned()
            });
            // Cannot fail: a URL with a password has a host.
            let _ = parsed.set_password(None);
            (parsed.into(), password)
        }
        _ => (url.to_owned(), None),
    }
}

fn postgres_tool_at(name: &str) -> Result<Command> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    let debian = || {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("bin").join(name))
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        found.pop()
    };
    on_path.or_else(debian).map(Command::new).ok_or_else(|| {
        invalid_config(format!(
            "{name} not found: install the PostgreSQL client (Debian postgresql-client)"
        ))
    })
}

trait Run {
    fn run(&mut self, what: &str) -> Result<()>;
}

impl Run for Command {
    /// Runs to the end; a failure says the tool's last line (never the URL,
    /// which may hold a password: the tools do not print it).
    fn run(&mut self, what: &str) -> Result<()> {
        let output = self.output()?;
        if output.status.success() {
            return Ok(());
        }
        let said = String::from_utf8_lossy(&output.stderr);
        Err(Error::Storage {
            reason: format!(
                "{what} failed: {}",
                said.lines().last().unwrap_or("no message")
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn the_password_leaves_the_url_for_the_environment() {
        assert_eq!(
            without_password("postgres://fp:s%40cr%3At@db.example:5433/bureau?sslmode=require"),
            (
                "postgres://fp@db.example:5433/bureau?sslmode=require".to_owned(),
                Some("s@cr:t".to_owned())
            )
        );
        for kept in [
            "postgres://fp@127.0.0.1/bureau",
            "host=/run/postgresql dbname=bureau",
        ] {
            assert_eq!(without_password(kept), (kept.to_owned(), None));
        }
    }
}
