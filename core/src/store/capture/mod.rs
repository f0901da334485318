//! Photo evidence on the device: the capture path (shutter to safe), the device's
//! signed record chain, previews made off the capture path, and verification.

mod acknowledgement;
mod chain;
mod photos;
mod previews;
mod signer;
mod verification;

#[cfg(test)]
pub(in crate::store) use chain::core_context;
pub use photos::PhotoSource;
pub use previews::PreviewReport;
pub(in crate::store) use signer::DeviceSigner;

use crate::store::media::MediaDir;
use crate::store::Store;

impl Store {
    pub(super) fn media(&self) -> MediaDir {
        MediaDir::beside(self.path())
    }
}
