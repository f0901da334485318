//! The one error type of the bureau crate.
//!
//! Every variant has a stable machine-readable [`Error::code`]: the bureau API will
//! hand it to devices and admin tools, so a code never changes once released.
//! Messages carry sizes and indices only, never record contents.

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("leaf index {index} is not below tree size {tree_size}")]
    LeafIndexOutOfRange { index: u64, tree_size: u64 },
    #[error("tree size {tree_size} is larger than the log ({log_size} records)")]
    TreeSizeTooLarge { tree_size: u64, log_size: u64 },
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    TreeSizesOutOfOrder { old_size: u64, new_size: u64 },
    #[error("bureau key is not a valid ECDSA P-256 PKCS#8 document")]
    InvalidBureauKey,
    #[error("the system random number generator failed")]
    RandomUnavailable,
}

impl Error {
    /// Stable error code; part of the public contract (API, CLI).
    pub fn code(&self) -> &'static str {
        match self {
            Error::LeafIndexOutOfRange { .. } => "leaf_index_out_of_range",
            Error::TreeSizeTooLarge { .. } => "tree_size_too_large",
            Error::TreeSizesOutOfOrder { .. } => "tree_sizes_out_of_order",
            Error::InvalidBureauKey => "invalid_bureau_key",
            Error::RandomUnavailable => "random_unavailable",
        }
    }
}
