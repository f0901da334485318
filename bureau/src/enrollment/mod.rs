//! Who may sync: officers, the one-time enrollment codes the bureau issues them,
//! and the devices enrolled with those codes (their keys, certificates and tokens).
//!
//! Jurisdictions are administrative division codes (`fieldproof_core::model::division`):
//! a jurisdiction covers every code that starts with it, so a county officer sees
//! the county's townships.

mod certificate;
pub mod challenges;
mod devices;
mod officers;

pub use certificate::{verify_certificate, DeviceCertificate};
pub use devices::{authenticate, enroll, find_device, list_devices, revoke_device, Device};
pub use fieldproof_core::wire::enrollment::{EnrollAnswer, EnrollRequest, Role};
pub use officers::{
    create_enrollment_code, create_officer, find_or_create_officer, list_officers, officers_by_id,
    EnrollmentCode, Officer,
};

pub use fieldproof_core::model::division::covers;

use crate::error::{Error, Result};
use fieldproof_core::model::division::DivisionCode;

/// A role named in a request or a stored row.
pub fn parse_role(text: &str) -> Result<Role> {
    Role::parse(text).ok_or_else(|| Error::InvalidRequest {
        reason: "role must be township_staff, county_officer or reviewer".into(),
    })
}

/// Checks a jurisdiction code: a [`DivisionCode`] of any level, province to village.
pub fn check_jurisdiction(code: &str) -> Result<()> {
    DivisionCode::parse(code)
        .map(|_| ())
        .ok_or_else(|| Error::InvalidRequest {
            reason: "jurisdiction must be an administrative division code of 2 to 12 digits".into(),
        })
}
