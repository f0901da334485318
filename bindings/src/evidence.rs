//! Photo evidence for the platforms: the capture call, the foreign signer
//! (Android Keystore, Secure Enclave) and verification.

use crate::error::FieldproofError;
use crate::inspection_store::InspectionStore;
use fieldproof_core::evidence::keys::Signer;
use fieldproof_core::evidence::record::Event;
use fieldproof_core::geo::fix::Fix;
use fieldproof_core::model::acknowledgement::{Acknowledgement, AcknowledgementInput};
use fieldproof_core::model::photo::{CaptureContext, Photo};
use fieldproof_core::model::verification::EvidenceReport;
use fieldproof_core::store::{MediaScan, PhotoSource, PreviewReport};
use std::sync::Arc;
use std::time::Duration;

type Result<T> = std::result::Result<T, FieldproofError>;

/// A P-256 key held by the platform. `sign` hashes with SHA-256 and returns a DER
/// or raw r‖s ECDSA signature; the core verifies it before storing anything.
#[uniffi::export(with_foreign)]
pub trait EvidenceSigner: Send + Sync {
    /// SEC1 uncompressed public key (65 bytes, 0x04 ‖ x ‖ y).
    fn public_key(&self) -> Vec<u8>;
    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>>;
}

struct PlatformSigner(Arc<dyn EvidenceSigner>);

impl Signer for PlatformSigner {
    fn public_key(&self) -> Vec<u8> {
        self.0.public_key()
    }

    fn sign(&self, message: &[u8]) -> fieldproof_core::Result<Vec<u8>> {
        self.0
            .sign(message.to_vec())
            .map_err(|err| fieldproof_core::Error::KeyUnavailable {
                reason: format!("platform signer failed: {err}"),
            })
    }
}

/// Where the photo comes from: a file path (preferred for large photos) or bytes.
#[derive(uniffi::Enum)]
pub enum PhotoInput {
    Path { path: String },
    Bytes { bytes: Vec<u8> },
}

#[uniffi::export]
impl InspectionStore {
    /// Signs evidence with a platform key from now on (it must be the key that
    /// signed this device's chain so far, if any).
    pub fn use_platform_signer(&self, signer: Arc<dyn EvidenceSigner>) -> Result<()> {
        Ok(self
            .store()
            .use_platform_signer(Arc::new(PlatformSigner(signer)))?)
    }

    /// Hands the device chain to a new platform key: the current key signs a
    /// `key_rotation` record naming it. Returns that record's seq.
    pub fn rotate_key(
        &self,
        new_signer: Arc<dyn EvidenceSigner>,
        context: CaptureContext,
    ) -> Result<u64> {
        Ok(self
            .store()
            .rotate_key(Arc::new(PlatformSigner(new_signer)), context)?)
    }

    pub fn device_public_key(&self) -> Result<Vec<u8>> {
        Ok(self.store().device_public_key()?)
    }

    /// Shutter to safe: stores, hashes, reads EXIF, makes the thumbnail and signs
    /// the evidence record, all before returning.
    pub fn capture_photo(
        &self,
        input: PhotoInput,
        fix: Option<Fix>,
        context: CaptureContext,
    ) -> Result<Photo> {
        let source = match input {
            PhotoInput::Path { path } => PhotoSource::Path(path.into()),
            PhotoInput::Bytes { bytes } => PhotoSource::Bytes(bytes),
        };
        Ok(self.store().capture_photo(source, fix, context)?)
    }

    /// Records that someone on site signed the inspection as it stands: the
    /// signature image (PNG of the strokes) is kept and uploaded like a photo,
    /// and the record binds the inspection's content at this revision.
    pub fn acknowledge(
        &self,
        inspection_id: String,
        input: AcknowledgementInput,
        fix: Option<Fix>,
        context: CaptureContext,
    ) -> Result<Acknowledgement> {
        Ok(self
            .store()
            .acknowledge(&inspection_id, input, fix, context)?)
    }

    /// Records that the app started (call once per process start); returns the seq.
    pub fn record_app_start(&self, context: CaptureContext) -> Result<u64> {
        Ok(self.store().record_event(Event::AppStart, context)?)
    }

    /// Records an officer's note as evidence; returns the seq.
    pub fn record_note(&self, text: String, context: CaptureContext) -> Result<u64> {
        Ok(self.store().record_event(Event::Note(text), context)?)
    }

    /// The exact signed COSE_Sign1 bytes of record `seq`.
    pub fn evidence_record(&self, seq: u64) -> Result<Vec<u8>> {
        Ok(self.store().evidence_record(seq)?)
    }

    pub fn photo(&self, photo_id: String) -> Result<Photo> {
        Ok(self.store().photo(&photo_id)?)
    }

    pub fn photos_of_inspection(&self, inspection_id: String) -> Result<Vec<Photo>> {
        Ok(self.store().photos_of_inspection(&inspection_id)?)
    }

    pub fn thumbnail(&self, photo_id: String) -> Result<Option<Vec<u8>>> {
        Ok(self.store().thumbnail(&photo_id)?)
    }

    /// The 1280 px preview, made on first request.
    pub fn preview(&self, photo_id: String) -> Result<Option<Vec<u8>>> {
        Ok(self.store().preview(&photo_id)?)
    }

    /// Makes pending previews for at most `budget_ms`; call again while work remains.
    pub fn prepare_previews(&self, budget_ms: u64) -> Result<PreviewReport> {
        Ok(self
            .store()
            .prepare_previews(Duration::from_millis(budget_ms))?)
    }

    pub fn verify_evidence(&self) -> Result<EvidenceReport> {
        Ok(self.store().verify_evidence()?)
    }

    /// Removes unfinished temp files and reports orphaned originals (call at start-up).
    pub fn scan_media(&self) -> Result<MediaScan> {
        Ok(self.store().scan_media()?)
    }
}
