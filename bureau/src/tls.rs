//! The bureau's TLS identity: the certificate and key it serves HTTPS with, and
//! the pin devices hold it to (`fieldproof_core::sync::tls_pin`: the SHA-256 of
//! the certificate's public key, which every enrollment code carries).
//!
//! Either configured files (a certificate chain and its key, PEM), or, without
//! them, a self-signed certificate made at first start under `data_dir/tls/`
//! (mode 0600) and kept: its pin stays the same across restarts. Rotating the
//! key changes the pin, so devices enrolled before must enroll again
//! (docs: README, "Bureau").

use crate::config::TlsSettings;
use crate::error::{Error, Result};
use fieldproof_core::private_files;
use fieldproof_core::sync::tls_pin;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

pub struct TlsIdentity {
    config: Arc<ServerConfig>,
    pin: String,
}

impl TlsIdentity {
    /// Loads the configured certificate, or the self-signed one under `data_dir`
    /// (made now if absent).
    pub fn load(settings: &TlsSettings, data_dir: &Path) -> Result<Self> {
        let (cert_file, key_file) = match (&settings.cert_file, &settings.key_file) {
            (Some(cert), Some(key)) => (cert.clone(), key.clone()),
            (None, None) => self_signed(data_dir, &settings.self_signed_names)?,
            _ => return Err(invalid("tls.cert_file and tls.key_file go together".into())),
        };
        let chain = CertificateDer::pem_file_iter(&cert_file)
            .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(|e| invalid(format!("{}: {e}", cert_file.display())))?;
        let leaf = chain
            .first()
            .ok_or_else(|| invalid(format!("{}: no certificate", cert_file.display())))?;
        let pin = tls_pin::pin_of(leaf)
            .ok_or_else(|| invalid(format!("{}: not an X.509 certificate", cert_file.display())))?;
        let key = PrivateKeyDer::from_pem_file(&key_file)
            .map_err(|e| invalid(format!("{}: {e}", key_file.display())))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| invalid(format!("the certificate and key do not go together: {e}")))?;
        Ok(Self {
            config: Arc::new(config),
            pin,
        })
    }

    /// What devices pin: `sha256/<base64 of the SHA-256 of the certificate's key>`.
    pub fn pin(&self) -> &str {
        &self.pin
    }

    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.config.clone())
    }
}

fn invalid(reason: String) -> Error {
    Error::InvalidConfig {
        reason: format!("tls: {reason}"),
    }
}

/// The self-signed certificate's files, made for `names` (host names and IP
/// addresses) if they are not there yet.
fn self_signed(
    data_dir: &Path,
    names: &[String],
) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    let dir = data_dir.join("tls");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    private_files::create_dir(&dir)?;
    let names = if names.is_empty() {
        vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ]
    } else {
        names.to_vec()
    };
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| invalid(format!("cannot make a self-signed certificate: {e}")))?;
    // The key first: a certificate without its key would be kept and useless.
    private_files::write_whole(&key, made.signing_key.serialize_pem().as_bytes())?;
    private_files::write_whole(&cert, made.cert.pem().as_bytes())?;
    Ok((cert, key))
}
