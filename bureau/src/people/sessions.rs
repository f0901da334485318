//! Signed-in browsers. A session is a random token in an HttpOnly cookie; the
//! database keeps only its SHA-256 (a copy of the database signs no one in),
//! with a CSRF token that every change made in the session must carry.
//!
//! A session ends at `expires_ms` (the absolute limit, `session_max_s`), after
//! `session_idle_s` without a request, at logout, or when its account is
//! disabled. The last-seen time is written at most once a minute ([`touch`]),
//! so reading pages does not make every request a write.

use super::access::Actor;
use super::accounts::{self, StaffUser};
use crate::error::{Error, Result};
use crate::storage::Tx;
use crate::{params, secrets};

/// The cookie's name.
pub const COOKIE: &str = "fp_session";
const TOKEN_PREFIX: &str = "fps_";
const LAST_SEEN_GRANULARITY_MS: i64 = 60_000;

/// How long sessions last.
#[derive(Debug, Clone, Copy)]
pub struct Lifetime {
    pub idle_ms: i64,
    pub max_ms: i64,
}

/// A live session: who it belongs to, as they are now.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: StaffUser,
    pub csrf_token: String,
    pub expires_ms: i64,
    last_seen_ms: i64,
}

impl Session {
    /// Whether [`touch`] is due.
    pub fn needs_touch(&self, now_ms: i64) -> bool {
        now_ms - self.last_seen_ms >= LAST_SEEN_GRANULARITY_MS
    }

    pub fn actor(&self) -> Actor {
        Actor::User {
            id: self.user.id.clone(),
            grants: self.user.grants.clone(),
        }
    }

    /// Whether `presented` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, presented: &str) -> bool {
        secrets::same(presented.as_bytes(), self.csrf_token.as_bytes())
    }
}

/// The `Set-Cookie` value that carries a session's token: never readable by
/// scripts, never sent by another site's page, only over HTTPS when `secure`.
/// An empty token and no age clear it.
pub fn cookie(token: &str, max_age_s: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}")
}

/// Starts a session for `user_id`; the token goes in the cookie and nowhere else.
pub fn start(
    tx: &mut Tx,
    user_id: &str,
    lifetime: Lifetime,
    now_ms: i64,
) -> Result<(String, Session)> {
    let token = secrets::new_token(TOKEN_PREFIX)?;
    let csrf_token = secrets::new_token("")?;
    let expires_ms = now_ms + lifetime.max_ms;
    tx.execute(
        "INSERT INTO user_sessions (token_hash, user_id, csrf_token, created_ms, last_seen_ms, expires_ms)
         VALUES ($1, $2, $3, $4, $4, $5)",
        params![secrets::sha256(token.as_bytes()).to_vec(), user_id, &csrf_token, now_ms, expires_ms],
    )?;
    let user = accounts::get(tx, user_id)?;
    Ok((
        token,
        Session {
            user,
            csrf_token,
            expires_ms,
            last_seen_ms: now_ms,
        },
    ))
}

/// The live session a cookie's token opens: `session_expired` for one that
/// ended or timed out, `invalid_token` for one never issued.
pub fn resume(tx: &mut Tx, token: &str, lifetime: Lifetime, now_ms: i64) -> Result<Session> {
    let hash = secrets::sha256(token.as_bytes()).to_vec();
    let row = tx
        .query_opt(
            "SELECT s.user_id, s.csrf_token, s.last_seen_ms, s.expires_ms, s.ended_ms, u.disabled_ms
             FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
            params![hash],
        )?
        .ok_or(Error::InvalidToken)?;
    let (user_id, last_seen_ms, expires_ms) = (row.text(0)?, row.int(2)?, row.int(3)?);
    let ended = row.opt_int(4)?.is_some() || row.opt_int(5)?.is_some();
    if ended || now_ms >= expires_ms || now_ms - last_seen_ms >= lifetime.idle_ms {
        return Err(Error::SessionExpired);
    }
    Ok(Session {
        user: accounts::get(tx, &user_id)?,
        csrf_token: row.text(1)?,
        expires_ms,
        last_seen_ms,
    })
}

/// Records that the session was used now, if its last-seen time is over a
/// minute old (run in a write transaction after [`resume`] said so).
pub fn touch(tx: &mut Tx, token: &str, now_ms: i64) -> Result<()> {
    tx.execute(
        "UPDATE user_sessions SET last_seen_ms = $1 WHERE token_hash = $2 AND ended_ms IS NULL",
        params![now_ms, secrets::sha256(token.as_bytes()).to_vec()],
    )?;
    Ok(())
}

/// Logout: the session's token opens nothing from now on.
pub fn end(tx: &mut Tx, token: &str, now_ms: i64) -> Result<()> {
    tx.execute(
        "UPDATE user_sessions SET ended_ms = $1 WHERE token_hash = $2 AND ended_ms IS NULL",
        params![now_ms, secrets::sha256(token.as_bytes()).to_vec()],
    )?;
    Ok(())
}

/// Ends every session of `user_id` (the account was disabled).
pub fn end_all(tx: &mut Tx, user_id: &str, now_ms: i64) -> Result<()> {
    tx.execute(
        "UPDATE user_sessions SET ended_ms = $1 WHERE user_id = $2 AND ended_ms IS NULL",
        params![now_ms, user_id],
    )?;
    Ok(())
}
