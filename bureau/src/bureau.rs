//! The bureau's shared state: storage, the bureau key, the custody log and the
//! limits, opened once at start-up and shared by every request.

use crate::config::{Config, ConsoleSettings, FireSettings, Limits};
use crate::custody_log::{BureauKey, LogCache};
use crate::error::{Error, Result};
use crate::rate_limits::RateLimits;
use crate::secrets;
use crate::storage::photo_store::{folder::FolderStore, s3::S3Store};
use crate::storage::{Database, PhotoStore};
use crate::tls::TlsIdentity;
use fieldproof_core::private_files;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const DATABASE_FILE: &str = "bureau.sqlite3";
pub const KEY_FILE: &str = "bureau-key.p8";
pub const ADMIN_TOKEN_HASH_FILE: &str = "admin-token.sha256";
/// The bureau's public key (SEC1, hex), to give out of band to whoever checks
/// a case file (`fieldproof verify --bureau-key`). Public; rewritten at start.
pub const PUBLIC_KEY_FILE: &str = fieldproof_core::case_file::format::BUREAU_KEY;

pub struct Bureau {
    pub db: Database,
    /// Where the database (SQLite), photos, keys and spooled files live.
    pub data_dir: PathBuf,
    pub key: BureauKey,
    pub log: LogCache,
    pub photos: PhotoStore,
    pub limits: Limits,
    pub fires: FireSettings,
    pub console: ConsoleSettings,
    pub rate_limits: RateLimits,
    /// The HTTPS identity, when the bureau serves TLS.
    pub tls: Option<TlsIdentity>,
    /// The font case files' `report.pdf` is set in; `None` when none was
    /// found (case files are then refused with `report_font_missing`).
    pub report_font: Option<PathBuf>,
    admin_token_sha256: [u8; 32],
}

/// What [`Bureau::open`] made that the operator must be told about once.
pub struct FirstStart {
    /// A newly generated admin token: shown once, only its hash is kept.
    pub admin_token: Option<String>,
}

impl Bureau {
    pub fn open(config: &Config) -> Result<(Self, FirstStart)> {
        config.validate()?;
        let dir = &config.data_dir;
        // Everything in it is private; a folder made by hand is tightened too.
        private_files::create_dir(dir)?;
        private_files::restrict_dir(dir)?;
        let db = match &config.database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Database::open_postgres(url, config.database_connections)?
            }
            Some(_) => {
                return Err(Error::InvalidConfig {
                    reason: "database_url must be a postgres:// URL (leave it unset for SQLite)"
                        .into(),
                })
            }
            None => Database::open_sqlite(&dir.join(DATABASE_FILE))?,
        };
        let key = BureauKey::from_pkcs8(&read_or_create_secret(&dir.join(KEY_FILE), || {
            BureauKey::generate_pkcs8()
        })?)?;
        publish_public_key(dir, &key)?;
        let (admin_token_sha256, admin_token) = admin_token(dir, config.admin_token.as_deref())?;
        let photos = match &config.photo_store {
            Some(s3) => PhotoStore::s3(S3Store::open(s3)?),
            None => PhotoStore::folder(FolderStore::open(dir)?),
        };
        let tls = config
            .tls
            .as_ref()
            .map(|settings| TlsIdentity::load(settings, dir))
            .transpose()?;
        let report_font = report_font(config.report_font.as_deref());
        let log = LogCache::default();
        log.refresh(&db)?;
        let bureau = Self {
            db,
            data_dir: dir.clone(),
            key,
            log,
            photos,
            limits: config.limits.clone(),
            fires: config.fires.clone(),
            console: config.console.clone(),
            rate_limits: RateLimits::new(
                config.limits.enroll_per_minute,
                config.limits.auth_failures_per_minute,
                config.limits.device_requests_per_minute,
            ),
            tls,
            report_font,
            admin_token_sha256,
        };
        Ok((bureau, FirstStart { admin_token }))
    }

    /// Whether `token` is the admin token (compared by hash, in constant time).
    pub fn is_admin_token(&self, token: &str) -> bool {
        secrets::same(&secrets::sha256(token.as_bytes()), &self.admin_token_sha256)
    }

    /// How long console sessions last (`limits.session_idle_s`, `session_max_s`).
    pub fn session_lifetime(&self) -> crate::people::sessions::Lifetime {
        crate::people::sessions::Lifetime {
            idle_ms: self.limits.session_idle_s as i64 * 1000,
            max_ms: self.limits.session_max_s as i64 * 1000,
        }
    }
}

/// Where Debian's packages put CJK fonts that read Simplified Chinese, best first.
const REPORT_FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
];

/// The configured report font (checked to exist by [`Config::validate`]);
/// else the first installed of [`REPORT_FONTS`], else none (said once at
/// start, and on each refusal).
fn report_font(configured: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = configured {
        return Some(path.to_owned());
    }
    let found = REPORT_FONTS.iter().map(PathBuf::from).find(|p| p.is_file());
    if found.is_none() {
        tracing::warn!(
            code = Error::ReportFontMissing.code(),
            message = %Error::ReportFontMissing,
            "case files cannot be written"
        );
    }
    found
}

fn publish_public_key(dir: &Path, key: &BureauKey) -> Result<()> {
    let text = format!("{}\n", fieldproof_core::hex::encode(key.public_key()));
    let path = dir.join(PUBLIC_KEY_FILE);
    if fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        private_files::write_whole(&path, text.as_bytes())?;
    }
    Ok(())
}

/// The configured token wins; else the stored hash; else a new token, whose hash is
/// stored and whose text is returned to be printed once.
fn admin_token(dir: &Path, configured: Option<&str>) -> Result<([u8; 32], Option<String>)> {
    if let Some(token) = configured {
        if token.len() < 16 {
            return Err(Error::InvalidConfig {
                reason: "the admin token must be at least 16 characters".into(),
            });
        }
        return Ok((secrets::sha256(token.as_bytes()), None));
    }
    let path = dir.join(ADMIN_TOKEN_HASH_FILE);
    let mut generated = None;
    let hash = read_or_create_secret(&path, || {
        let token = secrets::new_token("fpa_")?;
        let hash = secrets::sha256(token.as_bytes()).to_vec();
        generated = Some(token);
        Ok(hash)
    })?;
    let hash = hash.try_into().map_err(|_| Error::InvalidConfig {
        reason: format!("{ADMIN_TOKEN_HASH_FILE} is damaged; delete it to get a new token"),
    })?;
    Ok((hash, generated))
}

/// Reads a secret file, or creates it (mode 0600, written then renamed into place
/// so a crash never leaves half a key).
fn read_or_create_secret(path: &Path, create: impl FnOnce() -> Result<Vec<u8>>) -> Result<Vec<u8>> {
    match fs::read(path) {
        Ok(bytes) => return Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    let bytes = create()?;
    private_files::write_whole(path, &bytes)?;
    Ok(bytes)
}

/// Runs blocking domain work (SQL, file I/O, hashing) off the async workers.
pub async fn blocking<T: Send + 'static>(
    bureau: &Arc<Bureau>,
    f: impl FnOnce(&Bureau) -> Result<T> + Send + 'static,
) -> Result<T> {
    let bureau = bureau.clone();
    tokio::task::spawn_blocking(move || f(&bureau))
        .await
        .map_err(|_| Error::Storage {
            reason: "worker thread failed".into(),
        })?
}
