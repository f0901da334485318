//! `fieldproof serve`: runs the bureau server until SIGTERM or SIGINT (in-flight
//! requests finish; exit status 0).
//!
//! Settings come from the optional `--config` TOML file, then the environment
//! (`FIELDPROOF_DATA`, `FIELDPROOF_LISTEN`, `FIELDPROOF_DATABASE_URL`,
//! `FIELDPROOF_ADMIN_TOKEN`), then flags; later wins. Prints the admin token once
//! when it was generated at first start, then one line when listening with the
//! bound address (so `--listen 127.0.0.1:0` is usable from scripts). The request
//! log goes to stderr as JSON lines.

use crate::output::{Failure, Output};
use clap::Args as ClapArgs;
use fieldproof_bureau::config::TlsSettings;
use fieldproof_bureau::Config;
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Which bureau: its configuration file, then the environment and these flags.
#[derive(ClapArgs)]
pub struct BureauArgs {
    /// Data folder: the SQLite database, photos, the bureau key and the admin
    /// token's hash (created if absent) [env: FIELDPROOF_DATA]
    #[arg(long, env = "FIELDPROOF_DATA", hide_env = true)]
    data: Option<PathBuf>,
    /// TOML configuration file (data_dir, listen, database_url, photo_store,
    /// limits, …); the environment and flags override its keys.
    #[arg(long)]
    config: Option<PathBuf>,
    /// postgres://… keeps metadata in PostgreSQL instead of SQLite in the data
    /// folder [env: FIELDPROOF_DATABASE_URL]
    #[arg(
        long,
        env = "FIELDPROOF_DATABASE_URL",
        hide_env = true,
        hide_env_values = true
    )]
    database: Option<String>,
}

impl BureauArgs {
    /// The file (or the defaults), then the environment and flags (clap has
    /// already let flags win over the environment), then the admin token from
    /// the environment.
    pub fn config(&self) -> fieldproof_bureau::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        if let Some(data) = &self.data {
            config.data_dir = data.clone();
        }
        if let Some(url) = self.database.as_ref().filter(|u| !u.trim().is_empty()) {
            config.database_url = Some(url.trim().to_owned());
        }
        if let Ok(token) = std::env::var("FIELDPROOF_ADMIN_TOKEN") {
            if !token.trim().is_empty() {
                config.admin_token = Some(token.trim().to_owned());
            }
        }
        Ok(config)
    }
}

#[derive(ClapArgs)]
pub struct Args {
    #[command(flatten)]
    bureau: BureauArgs,
    /// Address to listen on, e.g. 0.0.0.0:8440; port 0 takes a free port
    /// [env: FIELDPROOF_LISTEN]
    #[arg(long, env = "FIELDPROOF_LISTEN", hide_env = true)]
    listen: Option<SocketAddr>,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS with a self-signed certificate made at first start in the
    /// data folder (devices pin its key; no CA needed).
    #[arg(long, conflicts_with = "tls_cert")]
    tls_self_signed: bool,
    /// Print the start-up lines as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> ExitCode {
    log_requests_to_stderr();
    let out = Output::new(args.json);
    let config = match config(&args) {
        Ok(config) => config,
        Err(error) => return Failure::from_bureau(&error).report(&out),
    };
    let backend = if config.database_url.is_some() {
        "postgres".to_owned()
    } else {
        format!("sqlite in {}", config.data_dir.display())
    };
    let started = |addr: SocketAddr, admin_token: Option<String>, tls_pin: Option<String>| {
        if let Some(token) = admin_token {
            let line = json!({
                "admin_token": token,
                "generated": true,
                "note": "shown only this once; only its hash is kept",
            });
            out.print(&line, || {
                format!(
                    "admin token (generated at first start, shown only this once: store it now; \
                     only its hash is kept, in the data folder): {token}"
                )
            });
        }
        let url = fieldproof_bureau::server::url(addr, tls_pin.is_some());
        out.print(
            &json!({ "listening": addr.to_string(), "url": url, "tls_pin": tls_pin }),
            || match &tls_pin {
                Some(pin) => format!(
                    "fieldproof bureau listening on {url} (storage: {backend}; TLS pin {pin})"
                ),
                None => format!("fieldproof bureau listening on {url} (storage: {backend})"),
            },
        );
    };
    match fieldproof_bureau::server::run(&config, started) {
        Ok(()) => {
            eprintln!("fieldproof bureau stopped");
            ExitCode::SUCCESS
        }
        Err(error) => Failure::from_bureau(&error).report(&out),
    }
}

/// The bureau's request log (one JSON object per line, `bureau/src/api/request_log.rs`)
/// goes to stderr, apart from the start-up lines on stdout.
fn log_requests_to_stderr() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The bureau's settings, then where to listen and TLS from the flags.
fn config(args: &Args) -> fieldproof_bureau::Result<Config> {
    let mut config = args.bureau.config()?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let (Some(cert_file), Some(key_file)) = (&args.tls_cert, &args.tls_key) {
        config.tls = Some(TlsSettings {
            cert_file: Some(cert_file.clone()),
            key_file: Some(key_file.clone()),
            ..TlsSettings::default()
        });
    } else if args.tls_self_signed && config.tls.is_none() {
        config.tls = Some(TlsSettings::default());
    }
    Ok(config)
}
