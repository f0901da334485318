//! The acknowledgement on site through the capture path: the signature image is
//! stored and uploaded like a photo, and its record binds the inspection's
//! canonical content at its current revision (see `model::acknowledgement`).

use super::photos::PhotoSource;
use crate::error::{Error, Result};
use crate::evidence::media::{sniff, MediaType};
use crate::evidence::record::{self, Event};
use crate::geo::fix::Fix;
use crate::hex;
use crate::model::acknowledgement::{
    Acknowledgement, AcknowledgementInput, SignerRole, MAX_SIGNATURE_IMAGE_BYTES,
    MAX_SIGNER_NAME_CHARS,
};
use crate::model::canonical::content_sha256;
use crate::model::photo::{CaptureContext, CaptureSource};
use crate::store::{close_for_signing, Store};
use crate::time::now_ms;

impl Store {
    /// Records that someone on site signed inspection `inspection_id` as it
    /// stands now. Refused before anything is stored: a role that cannot sign a
    /// refusal (the party), a name too long, an image that is not a PNG or is
    /// too large; an unknown inspection is `not_found`.
    pub fn acknowledge(
        &self,
        inspection_id: &str,
        input: AcknowledgementInput,
        fix: Option<Fix>,
        context: CaptureContext,
    ) -> Result<Acknowledgement> {
        if input.refused && input.role == SignerRole::Party {
            return Err(Error::InvalidField {
                field: "role",
                reason: "a party who refuses does not sign: the witness or officer who signs notes the refusal",
            });
        }
        let name = input
            .name
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        if name
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_SIGNER_NAME_CHARS)
        {
            return Err(Error::TextTooLong {
                field: "name".into(),
                max: MAX_SIGNER_NAME_CHARS,
            });
        }
        if input.image_png.len() as u64 > MAX_SIGNATURE_IMAGE_BYTES {
            return Err(Error::MediaTooLarge {
                max_bytes: MAX_SIGNATURE_IMAGE_BYTES,
            });
        }
        if sniff(&input.image_png)? != MediaType::Png {
            return Err(Error::UnsupportedMedia);
        }
        // Before the image is stored: an unknown inspection leaves nothing behind.
        self.get_inspection(inspection_id)?;
        let context = CaptureContext {
            source: CaptureSource::Camera,
            inspection_id: Some(inspection_id.to_owned()),
            ..context
        };
        let (role, refused) = (input.role, input.refused);
        let mut bound = None;
        let photo = self.take_into_evidence(
            PhotoSource::Bytes(input.image_png),
            fix,
            context,
            |tx, image, inspection| {
                let inspection = inspection.ok_or(Error::NotFound {
                    what: "inspection",
                    id: inspection_id.to_owned(),
                })?;
                // A draft is settled as submitting would settle it, in the
                // record's own transaction, so what is signed is what the
                // bureau receives and a failed signature settles nothing.
                close_for_signing(tx, inspection, now_ms())?;
                let inspection = &self.load(tx, &inspection.id)?;
                let value = serde_json::to_value(inspection).map_err(|_| Error::DatabaseCorrupt)?;
                let sha256 = content_sha256(&value).ok_or(Error::DatabaseCorrupt)?;
                bound = Some((inspection.revision, sha256));
                Ok(Event::Acknowledgement(record::Acknowledgement {
                    role: role.as_str().to_owned(),
                    refused,
                    name,
                    inspection_sha256: sha256,
                    revision: u64::from(inspection.revision),
                    image,
                }))
            },
        )?;
        let (revision, sha256) = bound.expect("the event was made");
        Ok(Acknowledgement {
            inspection_id: inspection_id.to_owned(),
            revision,
            inspection_sha256: hex::encode(&sha256),
            role,
            refused,
            image_sha256: photo.sha256,
            photo_id: photo.id,
            record_seq: photo.record_seq,
        })
    }
}
