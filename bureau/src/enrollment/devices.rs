//! Enrolled devices: enrollment with a one-time code, access tokens, revocation.

use super::certificate::DeviceCertificate;
use super::challenges;
use super::officers::code_hash;
use super::{parse_role, EnrollAnswer, EnrollRequest};
use crate::custody_log::BureauKey;
use crate::error::{Error, Result};
use crate::storage::{Row, Tx};
use crate::{now_ms, params, secrets};
use fieldproof_core::evidence::keys::{key_id, signature_verifies};
use fieldproof_core::hex;
use fieldproof_core::wire::enrollment::possession_message;

pub use fieldproof_core::wire::admin::Device;

const MAX_ATTESTATION_BYTES: usize = 64 * 1024;

/// Redeems a one-time code for a device certificate and an access token, once
/// the device has proven it holds the key: its signature over a challenge this
/// bureau issued and the code.
pub fn enroll(
    tx: &mut Tx,
    bureau_key: &BureauKey,
    request: &EnrollRequest,
    token_ttl_ms: i64,
) -> Result<EnrollAnswer> {
    let public_key = parse_public_key(&request.public_key)?;
    let nonce = challenges::spend(tx, &request.nonce)?;
    check_possession(&public_key, &nonce, request)?;
    let attestation = match &request.attestation {
        Some(text) => Some(
            hex::decode(text)
                .filter(|b| b.len() <= MAX_ATTESTATION_BYTES)
                .ok_or_else(|| Error::InvalidRequest {
                    reason: format!(
                        "attestation must be hex, at most {MAX_ATTESTATION_BYTES} bytes"
                    ),
                })?,
        ),
        None => None,
    };
    let now = now_ms();
    let code = tx
        .query_opt(
            "SELECT officer_id, jurisdiction, role, expires_ms, used_ms FROM enrollment_codes WHERE code_hash = $1",
            params![&code_hash(&request.code)],
        )?
        .ok_or(Error::UnknownEnrollmentCode)?;
    if code.opt_int(4)?.is_some() {
        return Err(Error::EnrollmentCodeUsed);
    }
    if code.int(3)? <= now {
        return Err(Error::EnrollmentCodeExpired);
    }
    let kid = key_id(&public_key);
    if let Some(device) = tx.query_opt(
        "SELECT d.id FROM device_keys k JOIN devices d ON d.id = k.device_id WHERE k.key_id = $1",
        params![&kid],
    )? {
        return reenroll(
            tx,
            bureau_key,
            request,
            &code,
            &device.text(0)?,
            now,
            token_ttl_ms,
        );
    }
    let role = parse_role(&code.text(2)?)?;
    let certificate = DeviceCertificate {
        device_id: uuid::Uuid::now_v7().to_string(),
        public_key: public_key.clone(),
        officer_id: code.text(0)?,
        jurisdiction: code.text(1)?,
        role: role.as_str().to_owned(),
        issued_ms: now,
    };
    let signed = certificate
        .sign(bureau_key)
        .map_err(|_| Error::InvalidBureauKey)?;
    let id = &certificate.device_id;
    spend_code(tx, &request.code, id, now)?;
    tx.execute(
        "INSERT INTO devices (id, officer_id, jurisdiction, role, public_key, key_id, attestation, certificate, enrolled_ms, external_gnss)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        params![id, &certificate.officer_id, &certificate.jurisdiction, role.as_str(), public_key.clone(), &kid, attestation, signed.clone(), now, i64::from(request.external_gnss)],
    )?;
    tx.execute(
        "INSERT INTO device_keys (key_id, device_id, public_key, from_seq) VALUES ($1, $2, $3, 1)",
        params![&kid, id, public_key],
    )?;
    tx.execute(
        "INSERT INTO device_chains (device_id, key_id, last_seq) VALUES ($1, $2, 0)",
        params![id, &kid],
    )?;
    let (token, token_expires_ms) = issue_token(tx, id, now, token_ttl_ms)?;
    Ok(EnrollAnswer {
        device_id: id.clone(),
        officer_id: certificate.officer_id,
        jurisdiction: certificate.jurisdiction,
        role,
        certificate: hex::encode(&signed),
        token,
        token_expires_ms,
        bureau_public_key: hex::encode(bureau_key.public_key()),
    })
}

/// A device already enrolled with this key comes back with a new code, e.g. after
/// its token expired: if the code binds it exactly as before (officer,
/// jurisdiction, role) and it is not revoked, the code is spent and a new token
/// issued for the same device, whose chain goes on. Its earlier tokens stop
/// working: a device holds one token, the one it enrolled for last. A code
/// binding it differently is refused: moving a key to another officer or place
/// needs a new key.
fn reenroll(
    tx: &mut Tx,
    bureau_key: &BureauKey,
    request: &EnrollRequest,
    code: &Row,
    device_id: &str,
    now: i64,
    token_ttl_ms: i64,
) -> Result<EnrollAnswer> {
    let row = tx.query_one(
        &format!("SELECT {DEVICE_COLUMNS}, d.certificate FROM devices d WHERE d.id = $1"),
        params![device_id],
    )?;
    let existing = device(&row)?;
    if existing.revoked_ms.is_some() {
        return Err(Error::DeviceRevoked);
    }
    let same_binding = existing.officer_id == code.text(0)?
        && existing.jurisdiction == code.text(1)?
        && existing.role.as_str() == code.text(2)?;
    if !same_binding {
        return Err(Error::KeyAlreadyEnrolled);
    }
    spend_code(tx, &request.code, device_id, now)?;
    tx.execute(
        "DELETE FROM device_tokens WHERE device_id = $1",
        params![device_id],
    )?;
    let (token, token_expires_ms) = issue_token(tx, device_id, now, token_ttl_ms)?;
    Ok(EnrollAnswer {
        device_id: existing.id,
        officer_id: existing.officer_id,
        jurisdiction: existing.jurisdiction,
        role: existing.role,
        certificate: hex::encode(&row.blob(9)?),
        token,
        token_expires_ms,
        bureau_public_key: hex::encode(bureau_key.public_key()),
    })
}

/// Marks the code used by `device_id`. A conditional update, so two devices racing
/// for one code cannot both win, whatever the backend's isolation.
fn spend_code(tx: &mut Tx, code: &str, device_id: &str, now: i64) -> Result<()> {
    let spent = tx.execute(
        "UPDATE enrollment_codes SET used_ms = $1, device_id = $2 WHERE code_hash = $3 AND used_ms IS NULL",
        params![now, device_id, &code_hash(code)],
    )?;
    if spent != 1 {
        return Err(Error::EnrollmentCodeUsed);
    }
    Ok(())
}

fn issue_token(tx: &mut Tx, device_id: &str, now: i64, ttl_ms: i64) -> Result<(String, i64)> {
    let token = secrets::new_token("fpd_")?;
    let expires_ms = now + ttl_ms;
    tx.execute(
        "INSERT INTO device_tokens (token_hash, device_id, issued_ms, expires_ms) VALUES ($1, $2, $3, $4)",
        params![&secrets::sha256(token.as_bytes()), device_id, now, expires_ms],
    )?;
    Ok((token, expires_ms))
}

/// The request's signature must be `public_key`'s over the challenge and the code.
fn check_possession(public_key: &[u8], nonce: &[u8; 32], request: &EnrollRequest) -> Result<()> {
    let signature = hex::decode(&request.signature).ok_or(Error::PossessionNotProven)?;
    let message = possession_message(nonce, &request.code);
    signature_verifies(public_key, &message, &signature)
        .then_some(())
        .ok_or(Error::PossessionNotProven)
}

/// A SEC1 uncompressed P-256 point, checked to be on the curve: an ECDH agreement
/// with a throwaway key fails for any invalid point.
fn parse_public_key(text: &str) -> Result<Vec<u8>> {
    use ring::agreement::{agree_ephemeral, EphemeralPrivateKey, UnparsedPublicKey, ECDH_P256};
    let invalid = |reason: &str| Error::InvalidPublicKey {
        reason: reason.to_owned(),
    };
    let bytes = hex::decode(text).ok_or_else(|| invalid("public_key must be hex"))?;
    if bytes.len() != 65 || bytes[0] != 0x04 {
        return Err(invalid(
            "public_key must be a 65-byte uncompressed P-256 point",
        ));
    }
    let rng = ring::rand::SystemRandom::new();
    let ours =
        EphemeralPrivateKey::generate(&ECDH_P256, &rng).map_err(|_| Error::RandomUnavailable)?;
    agree_ephemeral(ours, &UnparsedPublicKey::new(&ECDH_P256, &bytes), |_| ())
        .map_err(|_| invalid("public_key is not a point on P-256"))?;
    Ok(bytes)
}

/// The device behind an access token, if the token is valid, unexpired and its
/// device unrevoked.
pub fn authenticate(db: &crate::storage::Database, token: &str) -> Result<Device> {
    let row = db
        .read(|tx| {
            tx.query_opt(
                &format!("SELECT {DEVICE_COLUMNS}, t.expires_ms FROM device_tokens t JOIN devices d ON d.id = t.device_id WHERE t.token_hash = $1"),
                params![&secrets::sha256(token.as_bytes())],
            )
        })?
        .ok_or(Error::InvalidToken)?;
    let device = device(&row)?;
    if device.revoked_ms.is_some() {
        return Err(Error::DeviceRevoked);
    }
    if row.int(9)? <= now_ms() {
        return Err(Error::TokenExpired);
    }
    Ok(device)
}

const DEVICE_COLUMNS: &str =
    "d.id, d.officer_id, d.jurisdiction, d.role, d.key_id, d.enrolled_ms, \
     d.revoked_ms, d.external_gnss, CAST(COALESCE(length(d.attestation), 0) AS BIGINT)";

fn device(row: &Row) -> Result<Device> {
    Ok(Device {
        id: row.text(0)?,
        officer_id: row.text(1)?,
        jurisdiction: row.text(2)?,
        role: parse_role(&row.text(3)?)?,
        key_id: row.blob(4)?,
        enrolled_ms: row.int(5)?,
        revoked_ms: row.opt_int(6)?,
        external_gnss: row.int(7)? != 0,
        attestation_bytes: u64::try_from(row.int(8)?).unwrap_or(0),
    })
}

pub fn list_devices(tx: &mut Tx) -> Result<Vec<Device>> {
    tx.query(
        &format!("SELECT {DEVICE_COLUMNS} FROM devices d ORDER BY d.enrolled_ms, d.id"),
        &[],
    )?
    .iter()
    .map(device)
    .collect()
}

/// Revokes a device: its tokens stop working at once. Its records stay.
pub fn revoke_device(tx: &mut Tx, device_id: &str) -> Result<Device> {
    tx.execute(
        "UPDATE devices SET revoked_ms = $1 WHERE id = $2 AND revoked_ms IS NULL",
        params![now_ms(), device_id],
    )?;
    find_device(tx, device_id)
}

/// One device by id.
pub fn find_device(tx: &mut Tx, device_id: &str) -> Result<Device> {
    let row = tx
        .query_opt(
            &format!("SELECT {DEVICE_COLUMNS} FROM devices d WHERE d.id = $1"),
            params![device_id],
        )?
        .ok_or(Error::NotFound { what: "device" })?;
    device(&row)
}
