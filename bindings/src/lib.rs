//! Fieldproof for Kotlin, Swift and Python: a thin uniffi layer over
//! `fieldproof-core`. Conversions and error mapping only; the logic lives in core.

mod case_file;
mod error;
mod evidence;
mod inspection_store;
mod platform;
mod sync;
mod transport;
mod types;

pub use error::FieldproofError;
pub use evidence::{EvidenceSigner, PhotoInput};
pub use inspection_store::{InspectionStore, StoreOptions};
pub use sync::{BureauSync, Receipt, SignedCheckpoint, SyncListener, SyncOptions};
pub use transport::{Transport, TransportError};

uniffi::setup_scaffolding!();
