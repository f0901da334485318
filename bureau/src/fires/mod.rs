//! Satellite fire points: NASA FIRMS detections in ([`firms`], [`import`]),
//! placed in the bureau's territory ([`territory`]), filtered, clustered into
//! fire events across satellites and passes ([`clustering`]), one task per
//! event for the township to verify on site; the figures a county is judged
//! on ([`stats`]); and the optional scheduled fetch of a FIRMS file
//! ([`fetch`]). A file is spooled to disk before its import ([`spool`]).
//!
//! The tasks themselves, where they stand, how they close and the proof of
//! visit are the cases' ([`crate::cases::tasks`], [`crate::cases::visits`]);
//! static heat sources and key zones are reference data
//! ([`crate::cases::fire_reference`]). See bureau/docs/fires.md.

pub mod clustering;
pub mod fetch;
pub mod firms;
pub mod import;
pub mod spool;
pub mod stats;
pub mod territory;
