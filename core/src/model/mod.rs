//! Domain types: what an inspection is, independent of storage and FFI.

pub mod checklist;
pub mod division;
pub mod id;
pub mod inspection;
pub mod photo;
pub mod task;
pub mod track;
