//! Device certificates are the core's format ([`fieldproof_core::evidence::certificate`]),
//! so that a case-file verifier reads them with the code the bureau signs them
//! with; the bureau signs them with its key, which this makes a core signer.

use crate::custody_log::BureauKey;
use fieldproof_core::evidence::keys::Signer;

pub use fieldproof_core::evidence::certificate::{verify_certificate, DeviceCertificate};

impl Signer for BureauKey {
    fn public_key(&self) -> Vec<u8> {
        BureauKey::public_key(self).to_vec()
    }

    fn sign(&self, message: &[u8]) -> fieldproof_core::Result<Vec<u8>> {
        self.sign_message(message)
            .map_err(|_| fieldproof_core::Error::SignatureInvalid)
    }
}
