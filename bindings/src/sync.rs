//! Sync with the bureau for the platforms: the engine as an object, the progress
//! listener as a foreign trait, and the sync status the device database keeps.
//! WorkManager / BGTaskScheduler call `sync_once` off the main thread; another
//! thread may `interrupt` it.

use crate::error::FieldproofError;
use crate::inspection_store::InspectionStore;
use crate::transport::{PlatformTransport, Transport};
use fieldproof_core::evidence::receipt;
use fieldproof_core::model::inspection::Review;
use fieldproof_core::model::sync::{Enrollment, OpStatus, PhotoSync};
use fieldproof_core::model::task::{Task, TaskProgress};
use fieldproof_core::model::verification::ReceiptReport;
use fieldproof_core::sync::{
    self as core_sync, EnrollOptions, HttpTransport, InterruptHandle, Progress, ProgressListener,
    SyncEngine, SyncReport,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, FieldproofError>;

/// The longest `sync_once` timeout taken as given; longer ones count as this.
const MAX_SYNC_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// Receives progress while `sync_once` runs (a notification, a bar), on the thread
/// running the sync. Must return quickly.
#[uniffi::export(with_foreign)]
pub trait SyncListener: Send + Sync {
    fn on_progress(&self, progress: Progress);
}

struct PlatformListener(Arc<dyn SyncListener>);

impl ProgressListener for PlatformListener {
    fn on_progress(&self, progress: Progress) {
        self.0.on_progress(progress);
    }
}

#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct SyncOptions {
    /// Talk to this address instead of the enrolled one (e.g. through a proxy).
    #[uniffi(default)]
    pub server_url: Option<String>,
    /// Below this link speed (bytes/s) previews are uploaded before originals;
    /// `None`: the core's default (128 KiB/s).
    #[uniffi(default)]
    pub slow_link_bytes_per_s: Option<u64>,
}

impl From<SyncOptions> for core_sync::SyncOptions {
    fn from(options: SyncOptions) -> Self {
        let defaults = core_sync::SyncOptions::default();
        core_sync::SyncOptions {
            server_url: options.server_url,
            slow_link_bytes_per_s: options
                .slow_link_bytes_per_s
                .unwrap_or(defaults.slow_link_bytes_per_s),
        }
    }
}

/// Syncs one device database with the bureau it is enrolled with.
#[derive(uniffi::Object)]
pub struct BureauSync {
    engine: SyncEngine,
    interrupt: InterruptHandle,
}

#[uniffi::export]
impl BureauSync {
    /// An engine for `store`, speaking HTTP through `transport` (default: the
    /// built-in one, rustls with the webpki roots).
    #[uniffi::constructor(default(transport = None, listener = None, options))]
    pub fn new(
        store: Arc<InspectionStore>,
        transport: Option<Arc<dyn Transport>>,
        listener: Option<Arc<dyn SyncListener>>,
        options: SyncOptions,
    ) -> Arc<Self> {
        let transport: Arc<dyn core_sync::Transport> = match transport {
            Some(platform) => Arc::new(PlatformTransport(platform)),
            None => Arc::new(HttpTransport::new()),
        };
        let mut engine =
            SyncEngine::new(store.shared_store(), transport).with_options(options.into());
        if let Some(listener) = listener {
            engine = engine.with_listener(Arc::new(PlatformListener(listener)));
        }
        let interrupt = engine.interrupt_handle();
        Arc::new(BureauSync { engine, interrupt })
    }

    /// Enrolls this device with the bureau at `server_url` using a one-time code
    /// (a challenge and the enrollment, at most 60 s). `tls_pin`, given with the
    /// code (`sha256/<base64>`), pins the bureau's TLS key from then on.
    /// `external_gnss` declares that fixes come from an external GNSS receiver
    /// (a mock provider on Android), so they still prove visits.
    /// `attestation_chain` is the platform's attestation of the evidence key
    /// (Android Keystore: its certificate chain, leaf first, DER), kept by the
    /// bureau as sent.
    /// Refusals are `InvalidInput`/`InvalidState` with the bureau's code; no
    /// answer is `Network` (`offline`, `timeout`, `tls_pin_mismatch`).
    #[uniffi::method(default(tls_pin = None, external_gnss = false, attestation_chain = []))]
    pub fn enroll(
        &self,
        server_url: String,
        code: String,
        tls_pin: Option<String>,
        external_gnss: bool,
        attestation_chain: Vec<Vec<u8>>,
    ) -> Result<Enrollment> {
        let options = EnrollOptions {
            tls_pin,
            external_gnss,
            attestation: attestation_chain,
        };
        Ok(self.engine.enroll_with(&server_url, &code, &options)?)
    }

    /// Does as much sync as fits in `timeout_ms` and reports what is left and when
    /// to call again. Link, bureau and token failures are in the report's
    /// `last_error`; errors are for the device's storage and `not_enrolled`.
    pub fn sync_once(&self, timeout_ms: u64) -> Result<SyncReport> {
        let timeout = Duration::from_millis(timeout_ms).min(MAX_SYNC_TIMEOUT);
        Ok(self.engine.sync_once(Instant::now() + timeout)?)
    }

    /// Ends the `sync_once` calls running now (not later ones) at their next
    /// request or chunk; their reports say `cancelled`. Callable from any thread.
    pub fn interrupt(&self) {
        self.interrupt.interrupt();
    }
}

/// The bureau's signed statement that its custody log held `tree_size` records
/// with root `root` at `time_ms`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SignedCheckpoint {
    pub tree_size: u64,
    /// SHA-256, 32 bytes.
    pub root: Vec<u8>,
    /// Bureau wall clock, UTC ms.
    pub time_ms: i64,
    /// ECDSA P-256, raw r ‖ s.
    pub signature: Vec<u8>,
}

/// Proof that the bureau's log holds an evidence record: an RFC 9162 inclusion
/// proof against a signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Receipt {
    pub leaf_index: u64,
    pub checkpoint: SignedCheckpoint,
    /// The audit path, leaf end first; 32 bytes each.
    pub inclusion_proof: Vec<Vec<u8>>,
}

impl From<receipt::SignedCheckpoint> for SignedCheckpoint {
    fn from(c: receipt::SignedCheckpoint) -> Self {
        SignedCheckpoint {
            tree_size: c.tree_size,
            root: c.root.to_vec(),
            time_ms: c.time_ms,
            signature: c.signature,
        }
    }
}

impl From<receipt::Receipt> for Receipt {
    fn from(r: receipt::Receipt) -> Self {
        Receipt {
            leaf_index: r.leaf_index,
            checkpoint: r.checkpoint.into(),
            inclusion_proof: r.inclusion_proof.iter().map(|h| h.to_vec()).collect(),
        }
    }
}

#[uniffi::export]
impl InspectionStore {
    /// The bureau this device is enrolled with, if any (the token stays inside).
    pub fn enrollment(&self) -> Result<Option<Enrollment>> {
        Ok(self.store().enrollment()?)
    }

    /// The sync status of an inspection's submission or amendment, once submitted.
    pub fn inspection_sync(&self, inspection_id: String) -> Result<Option<OpStatus>> {
        Ok(self.store().inspection_sync(&inspection_id)?)
    }

    /// How far a photo got on its way to the bureau.
    pub fn photo_sync(&self, photo_id: String) -> Result<PhotoSync> {
        Ok(self.store().photo_sync(&photo_id)?)
    }

    /// The bureau's review of an inspection, once it arrived.
    pub fn review(&self, inspection_id: String) -> Result<Option<Review>> {
        Ok(self.store().review(&inspection_id)?)
    }

    /// Tasks from the bureau, newest first.
    pub fn tasks(&self) -> Result<Vec<Task>> {
        Ok(self.store().tasks()?)
    }

    /// How a task stands on this device; `None` for one it never received.
    pub fn task_progress(&self, task_id: String) -> Result<Option<TaskProgress>> {
        Ok(self.store().task_progress(&task_id)?)
    }

    /// Declines a task the team cannot or will not do, with the reason the
    /// dispatcher reads (`task_finished` once completed or declined).
    pub fn decline_task(&self, task_id: String, reason: String) -> Result<TaskProgress> {
        Ok(self.store().decline_task(&task_id, &reason)?)
    }

    /// The bureau's receipt for evidence record `seq`, once received.
    pub fn receipt(&self, seq: u64) -> Result<Option<Receipt>> {
        Ok(self.store().receipt(seq)?.map(Into::into))
    }

    /// Checks every stored receipt against its record and the enrolled bureau's key.
    pub fn verify_receipts(&self) -> Result<ReceiptReport> {
        Ok(self.store().verify_receipts()?)
    }

    /// The newest bureau checkpoint this device holds (it goes into the next
    /// evidence record).
    pub fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>> {
        Ok(self.store().latest_checkpoint()?.map(Into::into))
    }
}
