//! Fieldproof core: the domain logic of the offline field-inspection app, free of
//! any FFI. The platform calls in; the core never runs work of its own in the
//! background.

pub mod case_file;
pub mod error;
pub mod evidence;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod geo;
pub mod hex;
pub mod model;
pub mod private_files;
pub mod store;
pub mod sync;
pub mod time;
pub mod wire;

pub use error::{Error, ErrorKind, Result};
