//! Pinning the bureau's TLS key. A bureau often runs on an intranet with a
//! self-signed certificate no public CA vouches for, and a device must never send
//! its token to a server that only claims to be it. So the device learns, at
//! enrollment, the SHA-256 of the bureau certificate's public key (its SPKI; the
//! enrollment code and its QR payload carry it) and from then on talks only to a
//! server that proves it holds that key in the TLS handshake. Another key is
//! `tls_pin_mismatch`, before any request is sent.
//!
//! A pin is written `sha256/<base64 of the digest>`, as OkHttp's
//! `CertificatePinner` writes it, so a platform transport pins with the same text.
//!
//! The built-in transport (ureq) has no pinning option, so it gets its own TLS
//! step: [`PinnedTls`], a ureq connector with rustls and [`PinVerifier`], which
//! checks the leaf certificate's key against the pin and the handshake
//! signatures with the crypto provider's own algorithms. Host names and CA
//! chains are not consulted: the pin is the identity.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::fmt;
use std::io::{Read, Write};
use std::sync::Arc;
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, TcpConnector,
    Transport, TransportAdapter,
};

/// What a TLS failure says when the server's key is not the pinned one; the
/// transport turns it back into `TransportError::PinMismatch`.
pub(crate) const MISMATCH: &str = "tls_pin_mismatch";

const PREFIX: &str = "sha256/";

/// The pin of a certificate (DER): `sha256/` and the base64 SHA-256 of its
/// SubjectPublicKeyInfo. `None` for bytes that are not a certificate.
pub fn pin_of(certificate_der: &[u8]) -> Option<String> {
    let der = CertificateDer::from(certificate_der);
    let cert = webpki::EndEntityCert::try_from(&der).ok()?;
    let spki = cert.subject_public_key_info();
    Some(format!(
        "{PREFIX}{}",
        BASE64.encode(crate::evidence::sha256(spki.as_ref()))
    ))
}

/// The digest a pin names; `None` for text that is not a pin.
pub fn parse(pin: &str) -> Option<[u8; 32]> {
    let digest = BASE64.decode(pin.strip_prefix(PREFIX)?).ok()?;
    digest.try_into().ok()
}

/// Accepts exactly the servers whose leaf certificate holds the pinned key.
pub(crate) struct PinVerifier {
    pin: String,
    provider: Arc<CryptoProvider>,
}

impl PinVerifier {
    pub fn new(pin: &str, provider: Arc<CryptoProvider>) -> Self {
        Self {
            pin: pin.to_owned(),
            provider,
        }
    }
}

impl fmt::Debug for PinVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PinVerifier({})", self.pin)
    }
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match pin_of(end_entity) {
            Some(pin) if pin == self.pin => Ok(ServerCertVerified::assertion()),
            _ => Err(rustls::Error::General(MISMATCH.into())),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A ureq agent that reaches only a server holding the key `pin` names (for
/// `https` URLs; it has no TLS for others, so callers refuse those first).
pub fn pinned_agent(pin: &str, config: ureq::config::Config) -> ureq::Agent {
    let connector = TcpConnector::default().chain(PinnedTls::new(pin));
    ureq::Agent::with_parts(config, connector, DefaultResolver::default())
}

/// The TLS step of a ureq connector chain for one pinned bureau.
#[derive(Debug)]
pub(crate) struct PinnedTls {
    config: Arc<ClientConfig>,
}

impl PinnedTls {
    pub fn new(pin: &str) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinVerifier::new(pin, provider)))
            .with_no_client_auth();
        Self {
            config: Arc::new(config),
        }
    }
}

impl<In: Transport> Connector<In> for PinnedTls {
    type Out = Either<In, PinnedTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        // The name only feeds SNI: the pin, not the name, is what is checked.
        let host = details.uri.host().unwrap_or("bureau");
        let name = ServerName::try_from(host.trim_matches(['[', ']']))
            .map_err(|_| ureq::Error::Tls("the bureau's host is not a valid TLS name"))?
            .to_owned();
        let mut connection = ClientConnection::new(self.config.clone(), name)?;
        let mut socket = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        socket.set_timeout(details.timeout);
        connection.complete_io(&mut socket)?;
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(Either::B(PinnedTransport {
            buffers,
            stream: StreamOwned::new(connection, socket),
        })))
    }
}

/// A TLS connection to the pinned bureau.
pub(crate) struct PinnedTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl fmt::Debug for PinnedTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PinnedTransport")
    }
}

impl Transport for PinnedTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_read_back_and_other_text_is_no_pin() {
        let digest = [7u8; 32];
        let pin = format!("sha256/{}", BASE64.encode(digest));
        assert_eq!(parse(&pin), Some(digest));
        for bad in ["", "sha256/", "sha1/AAAA", "sha256/!!!!", "sha256/AAAA"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert_eq!(pin_of(b"not a certificate"), None);
    }
}
