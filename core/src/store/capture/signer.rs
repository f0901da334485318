//! The key that signs the device's records: the core's own software key, or a
//! platform key (Android Keystore, Secure Enclave) handed in; and its rotation.

use super::chain::check_next_key;
use crate::error::{Error, Result};
use crate::evidence::keys::{key_id, Signer, SoftwareKey};
use crate::evidence::record::Event;
use crate::model::photo::CaptureContext;
use crate::store::evidence as rows;
use crate::store::{lock, Store};
use std::sync::Arc;

/// The signer in use and whether it is the core's own key or the platform's.
#[derive(Clone)]
pub(in crate::store) struct DeviceSigner {
    pub(super) signer: Arc<dyn Signer>,
    pub(super) source: &'static str,
}

impl Store {
    /// Signs with a platform key (Android Keystore, Secure Enclave) instead of the
    /// core's software key. The key must be the one that signed this device's
    /// chain so far, if any: a chain never silently changes keys.
    pub fn use_platform_signer(&self, signer: Arc<dyn Signer>) -> Result<()> {
        self.check_chain_key(&signer.public_key())?;
        *lock(&self.signer) = Some(DeviceSigner {
            signer,
            source: "platform",
        });
        Ok(())
    }

    pub(super) fn device_signer(&self) -> Result<DeviceSigner> {
        let mut current = lock(&self.signer);
        if current.is_none() {
            let media = self.media();
            crate::private_files::create_dir(media.root())?;
            let key = SoftwareKey::load_or_create(&media.key_path())?;
            *current = Some(DeviceSigner {
                signer: Arc::new(key),
                source: "software",
            });
        }
        Ok(current.clone().expect("set above"))
    }

    fn check_chain_key(&self, public_key: &[u8]) -> Result<()> {
        self.read(|conn| check_next_key(rows::head(conn)?.as_ref(), &key_id(public_key)))
    }

    /// Hands the device chain to a new key: a `key_rotation` record naming the
    /// new public key is signed by the current key, and every later record by
    /// the new one. Returns the rotation record's seq.
    pub fn rotate_key(&self, new_signer: Arc<dyn Signer>, context: CaptureContext) -> Result<u64> {
        let signer = self.device_signer()?.signer;
        let new_public_key = new_signer.public_key();
        if key_id(&new_public_key) == key_id(&signer.public_key()) {
            return Err(Error::InvalidField {
                field: "new_signer",
                reason: "is the key already in use",
            });
        }
        let seq = self.record_event(Event::KeyRotation { new_public_key }, context)?;
        *lock(&self.signer) = Some(DeviceSigner {
            signer: new_signer,
            source: "platform",
        });
        Ok(seq)
    }

    /// The device public key (SEC1) that signs its evidence records.
    pub fn device_public_key(&self) -> Result<Vec<u8>> {
        Ok(self.device_signer()?.signer.public_key())
    }

    /// The device key's signature over a bureau's enrollment challenge and the
    /// code (`wire::enrollment::possession_message`): what proves, at
    /// enrollment, that this device holds the key. It signs only that message,
    /// which no evidence record's signed structure can be.
    pub fn prove_possession(&self, nonce: &[u8; 32], code: &str) -> Result<Vec<u8>> {
        let message = crate::wire::enrollment::possession_message(nonce, code);
        self.device_signer()?.signer.sign(&message)
    }
}
