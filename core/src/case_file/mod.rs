//! Case files: a case's evidence taken out of the system in a form anyone can
//! check offline, years later, with nothing but the file and the bureau's
//! public key — for legal review, a case transfer to the police, or a court.
//!
//! A case file is a zip ([`format`]): the inspection revisions exactly as
//! received, the exact signed bytes of every evidence record of the case, the
//! original photos, the points of the patrol track segments as GPX and
//! GeoJSON ([`track_files`]), the device certificates, a signed checkpoint of the
//! bureau's custody log with an inclusion proof for every record, and a
//! manifest of every file signed by the bureau. The bureau writes them
//! (`fieldproof-bureau`'s `cases::case_file`); [`verify`] checks them, reading
//! straight from the zip through [`archive`], which refuses hostile archives.
//! The format is specified in `docs/evidence-bundle.md`.

pub mod archive;
pub mod consistency;
pub mod format;
pub mod report;
pub mod track_files;
pub mod verify;

pub use report::{Finding, VerifyReport};
pub use verify::{verify_case_file, BureauKeyGiven};
