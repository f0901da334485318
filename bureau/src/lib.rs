//! Fieldproof bureau: the server that township and county devices sync to, and the
//! place where evidence custody is proved.
//!
//! For now the crate holds the custody log: the append-only Merkle log (RFC 9162
//! hashing) of accepted evidence records and the bureau-signed checkpoints over it.
//! The HTTP API, enrollment, sync, uploads and storage backends will follow here.

pub mod custody_log;
pub mod error;

pub use error::{Error, Result};
