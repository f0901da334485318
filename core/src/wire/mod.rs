//! The sync protocol between a device and its bureau, written once: every body,
//! kind, status, code and constant that crosses the wire. The device's sync engine
//! (`crate::sync`) and the bureau both use these types, so the two sides cannot
//! drift apart; the HTTP routes themselves are documented in `docs/`.
//!
//! - [`admin`]: `/v1/admin/…` — the bureau's admin API, for the CLI and the console.
//! - [`custody`]: `/v1/custody/…` — the custody log's public proofs.
//! - [`enrollment`]: `POST /v1/enroll` — a code and a key for a certificate and a token.
//! - [`fires`]: `/v1/admin/fires…` — fire points in, the dispatcher's tasks, the figures.
//! - [`ops`]: `POST /v1/sync/push` — outbox ops and what became of each.
//! - [`pull`]: `GET /v1/sync/pull` — the change feed after a cursor.
//! - [`refusal`]: the bureau's error codes a device acts on.
//! - [`tus`]: the photo upload protocol's constants and the photo's role.

pub mod admin;
pub mod custody;
pub mod enrollment;
pub mod fires;
pub mod ops;
pub mod pull;
pub mod refusal;
pub mod tus;
