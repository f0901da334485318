//! Acknowledgements on site: the responsible party signs the on-site record on
//! the phone — or, when the party refuses, a witness (or an officer) signs and
//! the refusal is noted. The core writes an `acknowledgement` evidence record
//! binding the signature image, who signed, and the SHA-256 of the
//! inspection's canonical content at that revision ([`super::canonical`]), so
//! that a later change to the inspection shows against it.

use crate::error::{Error, Result};
use serde::Serialize;

/// The largest signature image (a PNG of the strokes) accepted.
pub const MAX_SIGNATURE_IMAGE_BYTES: u64 = 512 * 1024;
/// The longest signer's name, in characters.
pub const MAX_SIGNER_NAME_CHARS: usize = 50;

/// Who signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignerRole {
    /// The responsible party.
    Party,
    /// A witness, typically when the party refuses to sign.
    Witness,
    /// An officer of the case.
    Officer,
}

impl SignerRole {
    pub fn as_str(self) -> &'static str {
        match self {
            SignerRole::Party => "party",
            SignerRole::Witness => "witness",
            SignerRole::Officer => "officer",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "party" => Ok(SignerRole::Party),
            "witness" => Ok(SignerRole::Witness),
            "officer" => Ok(SignerRole::Officer),
            _ => Err(Error::InvalidField {
                field: "role",
                reason: "party, witness or officer",
            }),
        }
    }
}

/// What the platform passes when someone has signed on the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcknowledgementInput {
    pub role: SignerRole,
    /// The signer's name, if they gave it (personal data: signed, never logged).
    pub name: Option<String>,
    /// The party refused to sign; `role` is then the witness or officer who did.
    pub refused: bool,
    /// The signature strokes as a PNG, at most [`MAX_SIGNATURE_IMAGE_BYTES`].
    pub image_png: Vec<u8>,
}

/// The acknowledgement as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Acknowledgement {
    pub inspection_id: String,
    /// The inspection's revision it acknowledges (0 for an original).
    pub revision: u32,
    /// SHA-256 (hex) of the inspection's canonical content it binds.
    pub inspection_sha256: String,
    pub role: SignerRole,
    pub refused: bool,
    /// The signature image, kept and uploaded like a photo.
    pub image_sha256: String,
    pub photo_id: String,
    /// The evidence record's seq.
    pub record_seq: u64,
}
