//! Bureau configuration: an optional TOML file, then environment variables and
//! command-line flags (the CLI applies those two, flags winning), then defaults.

use crate::error::{Error, Result};
use fieldproof_core::geo::datum::Datum;
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
    /// HTTPS (`[tls]`). Without it the bureau speaks plain HTTP, which it does
    /// only on a loopback address unless `allow_plain_http` says otherwise.
    pub tls: Option<TlsSettings>,
    /// Serve plain HTTP on a non-loopback address: only behind a proxy that
    /// terminates TLS on the same machine or network segment.
    pub allow_plain_http: bool,
    /// The CJK font (TrueType/OpenType, or a collection) case files'
    /// `report.pdf` embeds a subset of. Unset: the first found of Debian's
    /// fonts-wqy-microhei, fonts-wqy-zenhei, fonts-noto-cjk, fonts-droid-fallback.
    pub report_font: Option<PathBuf>,
    pub limits: Limits,
    /// Satellite fire points (`[fires]`, see bureau/docs/fires.md).
    pub fires: FireSettings,
    /// The web console (`[console]`, see bureau/docs/console.md).
    pub console: ConsoleSettings,
    /// Photos in an S3-compatible object store (`[photo_store]`, see
    /// bureau/docs/photo-store.md); unset: in `data_dir`.
    pub photo_store: Option<S3Settings>,
}

/// An S3-compatible bucket for photos, shared by every bureau process. The
/// keys may come from the environment instead (`FIELDPROOF_S3_ACCESS_KEY_ID`,
/// `FIELDPROOF_S3_SECRET_ACCESS_KEY`), which wins, so the file holds no secret.
/// Printed for debugging, the secret key is left out.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Settings {
    /// `http(s)://host:port` of the server; unset: Amazon S3 itself.
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    /// Keys start with this (e.g. the bureau's name), so a bucket may be shared.
    pub prefix: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "(set)"),
            )
            .finish()
    }
}

impl S3Settings {
    pub fn access_key_id(&self) -> Result<String> {
        Self::secret(
            "FIELDPROOF_S3_ACCESS_KEY_ID",
            &self.access_key_id,
            "access_key_id",
        )
    }

    pub fn secret_access_key(&self) -> Result<String> {
        Self::secret(
            "FIELDPROOF_S3_SECRET_ACCESS_KEY",
            &self.secret_access_key,
            "secret_access_key",
        )
    }

    fn secret(env: &str, configured: &Option<String>, key: &str) -> Result<String> {
        std::env::var(env)
            .ok()
            .or_else(|| configured.clone())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::InvalidConfig {
                reason: format!("photo_store.{key} is required (or set {env})"),
            })
    }

    fn validate(&self) -> Result<()> {
        let invalid = |reason: &str| {
            Err(Error::InvalidConfig {
                reason: format!("photo_store: {reason}"),
            })
        };
        if self.bucket.is_empty() || self.region.is_empty() {
            return invalid("bucket and region are required");
        }
        if self
            .endpoint
            .as_deref()
            .is_some_and(|e| !(e.starts_with("http://") || e.starts_with("https://")))
        {
            return invalid("endpoint must be an http(s) URL");
        }
        if self
            .prefix
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
        {
            return invalid("prefix must be non-empty path segments without . or ..");
        }
        self.access_key_id()?;
        self.secret_access_key()?;
        Ok(())
    }
}

/// The web console (`[console]`). Without a tile server the map shows the
/// boundaries, points and tracks on a plain background: nothing is fetched
/// from outside the bureau unless configured here.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleSettings {
    /// A base-map tile URL template with `{z}`, `{x}` and `{y}`, e.g. an
    /// intranet tile server or Tianditu (`https://…/{z}/{x}/{y}.png`).
    pub tile_url: Option<String>,
    /// The datum the tiles are drawn in: `gcj02` (most Chinese base maps) or
    /// `wgs84` (Tianditu, OpenStreetMap). Points are converted to it.
    pub tile_datum: Option<String>,
}

impl ConsoleSettings {
    /// The tiles' datum (GCJ-02 unless said otherwise).
    pub fn tile_datum(&self) -> Datum {
        self.tile_datum
            .as_deref()
            .and_then(Datum::from_code)
            .unwrap_or(Datum::Gcj02)
    }

    /// `scheme://host[:port]` of the tile server, for the browser's content policy.
    pub fn tile_origin(&self) -> Option<String> {
        let url = self.tile_url.as_deref()?;
        let (scheme, rest) = url.split_once("://")?;
        let host = rest.split('/').next()?;
        Some(format!("{scheme}://{host}"))
    }

    fn validate(&self) -> Result<()> {
        if let Some(url) = &self.tile_url {
            let placeholders = ["{z}", "{x}", "{y}"].iter().all(|p| url.contains(p));
            let scheme = url.starts_with("http://") || url.starts_with("https://");
            let plain = !url.contains(['"', '\'', '<', '>', ' ', ';']);
            if !(placeholders && scheme && plain) {
                return Err(Error::InvalidConfig {
                    reason: "console.tile_url must be an http(s) URL with {z}, {x} and {y}".into(),
                });
            }
        }
        if let Some(datum) = &self.tile_datum {
            if Datum::from_code(datum).is_none() {
                return Err(Error::InvalidConfig {
                    reason: "console.tile_datum must be wgs84, gcj02 or bd09".into(),
                });
            }
        }
        Ok(())
    }
}

/// How fire points become tasks, and how visits are judged.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FireSettings {
    /// MODIS detections of lower confidence (0–100) are kept, not dispatched.
    pub modis_min_confidence: u8,
    /// The lowest VIIRS confidence dispatched: `l`, `n` or `h`.
    pub viirs_min_confidence: String,
    /// Which detections are dispatched: `both`, `day` or `night`.
    pub daynight: String,
    /// A detection joins an event whose detections are this close in time.
    pub cluster_window_h: u64,
    /// A fire task is due this long after the event's first detection (a
    /// key zone may set a shorter time).
    pub due_h: u64,
    /// A visit counts within this distance of one of the event's detections.
    pub visit_radius_m: u64,
    /// A task no device has received this long after it was dispatched is
    /// flagged to the dispatcher.
    pub unreceived_after_h: u64,
    /// A FIRMS CSV to import every `fetch_every_min` (the FIRMS area API with
    /// its map key, or an intranet mirror); unset: no fetching.
    pub fetch_url: Option<String>,
    pub fetch_every_min: u64,
    /// Longest wait for the fetch's answer, all of it.
    pub fetch_timeout_s: u64,
}

impl Default for FireSettings {
    fn default() -> Self {
        Self {
            modis_min_confidence: 30,
            viirs_min_confidence: "n".into(),
            daynight: "both".into(),
            cluster_window_h: 24,
            due_h: 24,
            visit_radius_m: 300,
            unreceived_after_h: 6,
            fetch_url: None,
            fetch_every_min: 60,
            fetch_timeout_s: 120,
        }
    }
}

/// Where the bureau's certificate comes from.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSettings {
    /// A PEM certificate chain (leaf first) and its PEM private key; both or neither.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// Without files: a self-signed certificate made at first start in
    /// `data_dir/tls/`, for these host names and IP addresses (default
    /// `localhost`, `127.0.0.1`, `::1`). Devices pin its key, so no CA is needed.
    pub self_signed_names: Vec<String>,
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
    /// Bytes one device may have declared in unfinished uploads at once.
    pub max_upload_bytes_in_flight: u64,
    pub max_pull_page: usize,
    /// Bytes of entry bodies per pull page (a device may ask for fewer).
    pub max_pull_bytes: usize,
    /// An unfinished upload is kept this long after its creation.
    pub upload_expiry_s: u64,
    pub token_ttl_s: u64,
    pub enrollment_code_ttl_s: u64,
    /// A console session ends after this long without a request.
    pub session_idle_s: u64,
    /// A console session ends this long after sign-in, however busy.
    pub session_max_s: u64,
    /// Connections served at once; more wait in the kernel's backlog. Keep it
    /// below the process's file-descriptor limit (`ulimit -n`), leaving room
    /// for the database and photo files.
    pub max_connections: usize,
    /// Time to send a request's headers, from the connection's start or the
    /// previous answer on a kept-alive one: what a slow or idle client gets.
    pub header_timeout_s: u64,
    /// Longest pause within a request body: uploads may take long on 2G, but
    /// not stall.
    pub body_idle_timeout_s: u64,
    /// Enrollment requests (challenges, enrollments) per client address per minute.
    pub enroll_per_minute: u32,
    /// Failed authentications per client address per minute (device and admin tokens).
    pub auth_failures_per_minute: u32,
    /// Requests per enrolled device per minute (keyed on the device, not the address).
    pub device_requests_per_minute: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("bureau-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8440)),
            database_url: None,
            database_connections: 16,
            admin_token: None,
            tls: None,
            allow_plain_http: false,
            report_font: None,
            limits: Limits::default(),
            fires: FireSettings::default(),
            console: ConsoleSettings::default(),
            photo_store: None,
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
            max_upload_bytes_in_flight: 256 << 20,
            max_pull_page: 500,
            max_pull_bytes: 1 << 20,
            upload_expiry_s: 7 * 86_400,
            token_ttl_s: 180 * 86_400,
            enrollment_code_ttl_s: 14 * 86_400,
            session_idle_s: 30 * 60,
            session_max_s: 12 * 3_600,
            max_connections: 512,
            header_timeout_s: 30,
            body_idle_timeout_s: 60,
            enroll_per_minute: 60,
            auth_failures_per_minute: 30,
            device_requests_per_minute: 3_000,
        }
    }
}

const KIB: u64 = 1 << 10;
const GIB: u64 = 1 << 30;
const DAY_S: u64 = 86_400;

impl Config {
    /// Refuses values a handler could not work with (a zero page size, an expiry
    /// whose milliseconds overflow), naming the key and its range, so a bad file
    /// stops the bureau at start-up rather than failing requests later.
    pub fn validate(&self) -> Result<()> {
        if self.tls.is_none() && !self.listen.ip().is_loopback() && !self.allow_plain_http {
            return Err(Error::InvalidConfig {
                reason: format!(
                    "listen = {} is not a loopback address: configure [tls] (devices send \
                     their tokens), or set allow_plain_http = true behind a TLS proxy",
                    self.listen
                ),
            });
        }
        if let Some(font) = self.report_font.as_ref().filter(|f| !f.is_file()) {
            return Err(Error::InvalidConfig {
                reason: format!("report_font = {} is not a file", font.display()),
            });
        }
        self.console.validate()?;
        if let Some(store) = &self.photo_store {
            store.validate()?;
        }
        let l = &self.limits;
        check(
            "database_connections",
            self.database_connections as u64,
            1,
            1_000,
        )?;
        check("limits.max_body_bytes", l.max_body_bytes, KIB, GIB)?;
        check(
            "limits.max_reference_bytes",
            l.max_reference_bytes,
            KIB,
            4 * GIB,
        )?;
        check(
            "limits.max_ops_per_push",
            l.max_ops_per_push as u64,
            1,
            100_000,
        )?;
        check("limits.max_photo_bytes", l.max_photo_bytes, KIB, 1 << 40)?;
        check(
            "limits.max_upload_bytes_in_flight",
            l.max_upload_bytes_in_flight,
            l.max_photo_bytes,
            1 << 40,
        )?;
        check("limits.max_pull_page", l.max_pull_page as u64, 1, 100_000)?;
        check("limits.max_pull_bytes", l.max_pull_bytes as u64, KIB, GIB)?;
        // 0 makes tokens, codes and uploads expire at once: only tests want it.
        check("limits.upload_expiry_s", l.upload_expiry_s, 0, 365 * DAY_S)?;
        check("limits.token_ttl_s", l.token_ttl_s, 0, 10 * 365 * DAY_S)?;
        check("limits.session_idle_s", l.session_idle_s, 60, DAY_S)?;
        check("limits.session_max_s", l.session_max_s, 60, 30 * DAY_S)?;
        check(
            "limits.max_connections",
            l.max_connections as u64,
            1,
            100_000,
        )?;
        check("limits.header_timeout_s", l.header_timeout_s, 1, 600)?;
        check(
            "limits.body_idle_timeout_s",
            l.body_idle_timeout_s,
            1,
            3_600,
        )?;
        check(
            "limits.enrollment_code_ttl_s",
            l.enrollment_code_ttl_s,
            0,
            365 * DAY_S,
        )?;
        self.fires.validate()
    }

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

impl FireSettings {
    fn validate(&self) -> Result<()> {
        let f = self;
        check(
            "fires.modis_min_confidence",
            f.modis_min_confidence.into(),
            0,
            100,
        )?;
        one_of(
            "fires.viirs_min_confidence",
            &f.viirs_min_confidence,
            &["l", "n", "h"],
        )?;
        one_of("fires.daynight", &f.daynight, &["both", "day", "night"])?;
        check("fires.cluster_window_h", f.cluster_window_h, 1, 24 * 30)?;
        check("fires.due_h", f.due_h, 1, 24 * 30)?;
        check("fires.visit_radius_m", f.visit_radius_m, 10, 10_000)?;
        // 0 flags every task no device has yet: only tests want it.
        check("fires.unreceived_after_h", f.unreceived_after_h, 0, 24 * 30)?;
        check("fires.fetch_every_min", f.fetch_every_min, 1, 24 * 60)?;
        check("fires.fetch_timeout_s", f.fetch_timeout_s, 1, 3_600)?;
        match &f.fetch_url {
            Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                Err(Error::InvalidConfig {
                    reason: "fires.fetch_url must be an http:// or https:// URL".into(),
                })
            }
            _ => Ok(()),
        }
    }
}

fn one_of(key: &str, value: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(Error::InvalidConfig {
        reason: format!("{key} must be one of {}", allowed.join(", ")),
    })
}

fn check(key: &str, value: u64, min: u64, max: u64) -> Result<()> {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    Err(Error::InvalidConfig {
        reason: format!("{key} = {value} is outside {min}..={max}"),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_tile_server_is_checked_and_its_origin_allowed() {
        let tiles = |url: &str| ConsoleSettings {
            tile_url: Some(url.into()),
            tile_datum: None,
        };
        let ok = tiles("https://tiles.intranet:8443/map/{z}/{x}/{y}.png");
        assert!(ok.validate().is_ok());
        assert_eq!(
            ok.tile_origin().as_deref(),
            Some("https://tiles.intranet:8443")
        );
        assert_eq!(ok.tile_datum(), Datum::Gcj02);
        for bad in [
            "https://tiles/{z}/{x}.png",
            "ftp://t/{z}/{x}/{y}",
            "https://t/{z}/{x}/{y}'; script-src *",
        ] {
            assert!(tiles(bad).validate().is_err(), "{bad}");
        }
        let datum = ConsoleSettings {
            tile_url: None,
            tile_datum: Some("mercator".into()),
        };
        assert!(datum.validate().is_err());
    }

    use super::*;

    fn refusal(edit: impl FnOnce(&mut Config)) -> String {
        let mut config = Config::default();
        edit(&mut config);
        match config.validate() {
            Err(Error::InvalidConfig { reason }) => reason,
            other => panic!("accepted: {other:?}"),
        }
    }

    #[test]
    fn the_defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn values_a_handler_cannot_work_with_are_refused_by_name() {
        assert_eq!(
            refusal(|c| c.limits.upload_expiry_s = 1_000_000_000_000),
            "limits.upload_expiry_s = 1000000000000 is outside 0..=31536000"
        );
        assert_eq!(
            refusal(|c| c.limits.max_pull_page = 0),
            "limits.max_pull_page = 0 is outside 1..=100000"
        );
        assert!(refusal(|c| c.limits.max_ops_per_push = 0).starts_with("limits.max_ops_per_push"));
        assert!(refusal(|c| c.limits.max_pull_bytes = 10).starts_with("limits.max_pull_bytes"));
        assert!(refusal(|c| c.database_connections = 0).starts_with("database_connections"));
        assert!(refusal(|c| c.limits.token_ttl_s = u64::MAX).starts_with("limits.token_ttl_s"));
        assert!(refusal(|c| c.limits.max_reference_bytes = 5 * GIB)
            .starts_with("limits.max_reference_bytes"));
    }

    #[test]
    fn a_photo_store_is_checked_before_the_bureau_opens() {
        let store = S3Settings {
            endpoint: Some("https://s3.intranet:9000".into()),
            region: "us-east-1".into(),
            bucket: "fieldproof".into(),
            prefix: "hunan/bureau".into(),
            access_key_id: Some("key".into()),
            secret_access_key: Some("secret".into()),
        };
        let with = |edit: &dyn Fn(&mut S3Settings)| {
            let mut config = Config::default();
            let mut settings = store.clone();
            edit(&mut settings);
            config.photo_store = Some(settings);
            config.validate().err().map(|e| e.to_string())
        };
        assert_eq!(with(&|_| {}), None);
        let printed = format!("{store:?}");
        assert!(
            printed.contains("hunan/bureau") && !printed.contains("\"secret\""),
            "{printed}"
        );
        for (edit, said) in [
            (
                &(|s: &mut S3Settings| s.bucket.clear()) as &dyn Fn(&mut S3Settings),
                "bucket and region",
            ),
            (
                &|s: &mut S3Settings| s.endpoint = Some("ftp://s3".into()),
                "endpoint",
            ),
            (&|s: &mut S3Settings| s.prefix = "a/../b".into(), "prefix"),
            (&|s: &mut S3Settings| s.prefix.clear(), "prefix"),
            (
                &|s: &mut S3Settings| s.secret_access_key = None,
                "secret_access_key",
            ),
        ] {
            let refused = with(edit).expect("refused");
            assert!(refused.contains(said), "{refused}");
            assert!(!refused.contains("secret\""), "no secret in {refused}");
        }
    }

    #[test]
    fn plain_http_is_served_only_on_loopback_unless_allowed() {
        let open = |edit: &dyn Fn(&mut Config)| {
            let mut config = Config {
                listen: "0.0.0.0:8440".parse().unwrap(),
                ..Config::default()
            };
            edit(&mut config);
            config.validate()
        };
        let refused = open(&|_| {}).unwrap_err().to_string();
        assert!(
            refused.contains("0.0.0.0:8440 is not a loopback address"),
            "{refused}"
        );
        open(&|c| c.allow_plain_http = true).unwrap();
        open(&|c| c.tls = Some(TlsSettings::default())).unwrap();
        open(&|c| c.listen = "[::1]:8440".parse().unwrap()).unwrap();
    }

    #[test]
    fn a_missing_report_font_stops_the_bureau() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().join("data"),
            report_font: Some(dir.path().join("no-such-font.ttc")),
            ..Config::default()
        };
        let refused = crate::Bureau::open(&config).err().unwrap();
        assert_eq!(refused.code(), "invalid_config");
        assert!(refused.to_string().contains("report_font"), "{refused}");
        assert!(!config.data_dir.exists());
    }

    #[test]
    fn a_file_with_a_bad_value_is_refused_when_the_bureau_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bureau.toml");
        std::fs::write(&path, "[limits]\nupload_expiry_s = 1e12\n").unwrap();
        // A float where an integer belongs is refused by the parser already.
        assert!(matches!(
            Config::from_file(&path),
            Err(Error::InvalidConfig { .. })
        ));
        std::fs::write(&path, "[limits]\nmax_pull_page = 0\n").unwrap();
        let mut config = Config::from_file(&path).unwrap();
        config.data_dir = dir.path().join("data");
        let refused = crate::Bureau::open(&config).err().unwrap();
        assert_eq!(refused.code(), "invalid_config");
        assert!(
            !config.data_dir.exists(),
            "nothing is created for a bad config"
        );
    }
}
