//! Domain types: what an inspection is, independent of storage and FFI.

pub mod acknowledgement;
pub mod canonical;
pub mod checklist;
pub mod division;
pub mod fire;
pub mod id;
pub mod inspection;
pub mod matter;
pub mod photo;
pub mod sync;
pub mod task;
pub mod track;
pub mod verification;
