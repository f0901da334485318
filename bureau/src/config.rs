//! Bureau configuration: an optional TOML file, then environment variables and
//! command-line flags (the CLI applies those two, flags winning), then defaults.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the SQLite database, photos, uploads and the bureau key live.
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// `postgres://…` selects PostgreSQL for metadata; unset means SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Connections per process to PostgreSQL.
    pub database_connections: usize,
    /// The admin token. Unset: one is generated and printed once at first start.
    pub admin_token: Option<String>,
    pub limits: Limits,
}

/// What the bureau accepts from a device or an admin; over a limit is a 4xx.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// JSON request bodies (push, admin calls).
    pub max_body_bytes: u64,
    /// Reference data (boundaries, checklists) may be larger than an ordinary body.
    pub max_reference_bytes: u64,
    pub max_ops_per_push: usize,
    pub max_photo_bytes: u64,
    pub max_pull_page: usize,
    /// Bytes of entry bodies per pull page (a device may ask for fewer).
    pub max_pull_bytes: usize,
    /// An unfinished upload is kept this long after its creation.
    pub upload_expiry_s: u64,
    pub token_ttl_s: u64,
    pub enrollment_code_ttl_s: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("bureau-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8440)),
            database_url: None,
            database_connections: 16,
            admin_token: None,
            limits: Limits::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            max_reference_bytes: 64 << 20,
            max_ops_per_push: 500,
            max_photo_bytes: 64 << 20,
            max_pull_page: 500,
            max_pull_bytes: 1 << 20,
            upload_expiry_s: 7 * 86_400,
            token_ttl_s: 180 * 86_400,
            enrollment_code_ttl_s: 14 * 86_400,
        }
    }
}

impl Config {
    /// Reads a TOML file; keys not in it keep their defaults.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::InvalidConfig {
            reason: format!("cannot read {}: {}", path.display(), e.kind()),
        })?;
        toml::from_str(&text).map_err(|e| Error::InvalidConfig {
            reason: format!("{}: {}", path.display(), e.message()),
        })
    }
}
