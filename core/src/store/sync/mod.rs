//! What the sync engine keeps in the database: the enrollment, the sync state (pull
//! cursor, checkpoint, consecutive failures, refused token, chunk size), the lease that
//! lets one sync call at a time talk to the bureau, photo uploads, the bureau's
//! answers to pushed ops, and receipts. The engine itself is `crate::sync`.

mod enrollment;
mod lease;
mod push;
mod receipts;
mod state;
mod uploads;

pub(super) use enrollment::enrolled_officer;
pub(crate) use lease::LeaseTake;
pub(super) use receipts::{checkpoint_for_record, keep_receipt, save_checkpoint};
pub(crate) use uploads::UploadJob;

#[cfg(test)]
mod tests;
