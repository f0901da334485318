//! Staff accounts: a username, a display name, an argon2id password hash and
//! the roles granted over jurisdictions. Hashing is deliberately slow (tens of
//! milliseconds), so callers hash before opening a transaction
//! ([`hash_password`]) and verify after reading ([`verify_password`]).

use super::access::{parse_role, Grant};
use crate::enrollment::check_jurisdiction;
use crate::error::{Error, Result};
use crate::storage::Tx;
use crate::{now_ms, params, secrets};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::OnceLock;

pub use fieldproof_core::wire::admin::{NewStaffUser, StaffUser};

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 128;
const MAX_USERNAME_CHARS: usize = 32;
const MAX_DISPLAY_NAME_CHARS: usize = 100;
const MAX_GRANTS: usize = 50;

/// Usernames are compared without case: `Zhang.Wei` and `zhang.wei` are one.
pub fn normalise_username(username: &str) -> String {
    username.trim().to_lowercase()
}

/// The argon2id hash of `password` (RustCrypto's defaults: 19 MiB, 2 passes,
/// the OWASP minimum), after checking its length.
pub fn hash_password(password: &str) -> Result<String> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(Error::InvalidPassword {
            reason: format!(
                "a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
            ),
        });
    }
    let salt = SaltString::encode_b64(&secrets::random_bytes::<16>()?)
        .map_err(|_| Error::RandomUnavailable)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| Error::InvalidPassword {
            reason: "the password could not be hashed".into(),
        })
}

/// A first password for a new account: 256 random bits as 43 characters,
/// to be shown once and changed by its owner.
pub fn generate_password() -> Result<String> {
    secrets::new_token("")
}

/// Whether `password` matches `stored`. With no stored hash (an unknown
/// username) a dummy hash is checked instead, so the answer takes as long
/// either way and does not tell which usernames exist.
pub fn verify_password(stored: Option<&str>, password: &str) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy =
        DUMMY.get_or_init(|| hash_password("not the password of anyone").unwrap_or_default());
    let matched = PasswordHash::new(stored.unwrap_or(dummy)).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    });
    matched && stored.is_some()
}

/// Creates an account whose password was hashed with [`hash_password`].
pub fn create(tx: &mut Tx, new: &NewStaffUser, password_hash: &str) -> Result<StaffUser> {
    let username = normalise_username(&new.username);
    check_username(&username)?;
    if normalise_username(&new.password) == username {
        return Err(Error::InvalidPassword {
            reason: "the password may not be the username".into(),
        });
    }
    let display_name = new.display_name.trim();
    if display_name.is_empty() || display_name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(Error::InvalidRequest {
            reason: format!("display_name must be 1 to {MAX_DISPLAY_NAME_CHARS} characters"),
        });
    }
    check_grants(&new.grants)?;
    if tx
        .query_opt(
            "SELECT 1 FROM users WHERE username = $1",
            params![&username],
        )?
        .is_some()
    {
        return Err(Error::UsernameTaken);
    }
    let user = StaffUser {
        id: uuid::Uuid::now_v7().to_string(),
        username,
        display_name: display_name.to_owned(),
        grants: dedup(&new.grants),
        created_ms: now_ms(),
        disabled_ms: None,
    };
    tx.execute(
        "INSERT INTO users (id, username, display_name, password_hash, created_ms)
         VALUES ($1, $2, $3, $4, $5)",
        params![
            &user.id,
            &user.username,
            &user.display_name,
            password_hash,
            user.created_ms
        ],
    )?;
    for grant in &user.grants {
        tx.execute(
            "INSERT INTO user_roles (user_id, role, jurisdiction) VALUES ($1, $2, $3)",
            params![&user.id, grant.role.code(), &grant.jurisdiction],
        )?;
    }
    Ok(user)
}

/// Checks grants as they arrive in a request: known roles (serde did that),
/// valid jurisdiction codes, at least one and not absurdly many.
pub fn check_grants(grants: &[Grant]) -> Result<()> {
    if grants.is_empty() || grants.len() > MAX_GRANTS {
        return Err(Error::InvalidRequest {
            reason: format!("grants: 1 to {MAX_GRANTS} roles, each over a jurisdiction"),
        });
    }
    grants
        .iter()
        .try_for_each(|grant| check_jurisdiction(&grant.jurisdiction))
}

fn dedup(grants: &[Grant]) -> Vec<Grant> {
    let mut unique: Vec<Grant> = Vec::with_capacity(grants.len());
    for grant in grants {
        if !unique.contains(grant) {
            unique.push(grant.clone());
        }
    }
    unique
}

fn check_username(username: &str) -> Result<()> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
    if (3..=MAX_USERNAME_CHARS).contains(&username.len()) && username.chars().all(allowed) {
        Ok(())
    } else {
        Err(Error::InvalidRequest {
            reason: format!("username: 3 to {MAX_USERNAME_CHARS} of a-z, 0-9, '.', '_' and '-'"),
        })
    }
}

const COLUMNS: &str = "id, username, display_name, created_ms, disabled_ms";

/// Every account, oldest first, with its grants.
pub fn list(tx: &mut Tx) -> Result<Vec<StaffUser>> {
    let rows = tx.query(
        &format!("SELECT {COLUMNS} FROM users ORDER BY created_ms, id"),
        params![],
    )?;
    rows.iter()
        .map(|row| {
            let id = row.text(0)?;
            Ok(StaffUser {
                grants: grants_of(tx, &id)?,
                id,
                username: row.text(1)?,
                display_name: row.text(2)?,
                created_ms: row.int(3)?,
                disabled_ms: row.opt_int(4)?,
            })
        })
        .collect()
}

/// One account by id.
pub fn get(tx: &mut Tx, id: &str) -> Result<StaffUser> {
    let row = tx
        .query_opt(
            &format!("SELECT {COLUMNS} FROM users WHERE id = $1"),
            params![id],
        )?
        .ok_or(Error::NotFound { what: "user" })?;
    Ok(StaffUser {
        id: row.text(0)?,
        username: row.text(1)?,
        display_name: row.text(2)?,
        grants: grants_of(tx, id)?,
        created_ms: row.int(3)?,
        disabled_ms: row.opt_int(4)?,
    })
}

/// What a login needs: the enabled account of `username` and its password
/// hash, if there is one.
pub fn find_for_login(tx: &mut Tx, username: &str) -> Result<Option<(String, String)>> {
    let row = tx.query_opt(
        "SELECT id, password_hash FROM users WHERE username = $1 AND disabled_ms IS NULL",
        params![normalise_username(username)],
    )?;
    row.map(|row| Ok((row.text(0)?, row.text(1)?))).transpose()
}

/// The roles `user_id` holds now (read on every request, so a change takes
/// effect at once).
pub fn grants_of(tx: &mut Tx, user_id: &str) -> Result<Vec<Grant>> {
    tx.query(
        "SELECT role, jurisdiction FROM user_roles WHERE user_id = $1 ORDER BY role, jurisdiction",
        params![user_id],
    )?
    .iter()
    .map(|row| {
        Ok(Grant {
            role: parse_role(&row.text(0)?)?,
            jurisdiction: row.text(1)?,
        })
    })
    .collect()
}

/// Disables an account: it signs in no more, and its sessions open nothing
/// ([`super::sessions::resume`] checks). Disabling twice changes nothing.
pub fn disable(tx: &mut Tx, id: &str, now_ms: i64) -> Result<StaffUser> {
    tx.execute(
        "UPDATE users SET disabled_ms = $1 WHERE id = $2 AND disabled_ms IS NULL",
        params![now_ms, id],
    )?;
    get(tx, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password(Some(&hash), "correct horse battery"));
        assert!(!verify_password(Some(&hash), "correct horse batterY"));
        assert!(!verify_password(None, "correct horse battery"));
        let again = hash_password("correct horse battery").unwrap();
        assert_ne!(hash, again, "each hash has its own salt");
    }

    #[test]
    fn short_and_long_passwords_are_refused() {
        for password in ["", "123456789", &"x".repeat(MAX_PASSWORD_CHARS + 1)] {
            let error = hash_password(password).unwrap_err();
            assert_eq!(error.code(), "invalid_password");
            assert!(!error.to_string().contains(password) || password.is_empty());
        }
        assert!(
            hash_password("十个汉字的密码也可以用").is_ok(),
            "characters, not bytes"
        );
    }

    #[test]
    fn usernames_are_plain_and_caseless() {
        assert_eq!(normalise_username("  Zhang.Wei "), "zhang.wei");
        for bad in ["ab", "zhang wei", "张伟", "a/b", &"a".repeat(33)] {
            assert!(check_username(bad).is_err(), "{bad}");
        }
        assert!(check_username("reviewer-430121_2").is_ok());
    }
}
