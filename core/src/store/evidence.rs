//! SQL for the evidence chain, device keys and photos.

use crate::error::{Error, Result};
use crate::model::inspection::SiteJurisdiction;
use crate::model::photo::{CaptureSource, Derivative, Photo, Position};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};
use rusqlite::{params, Connection, OptionalExtension, Row};

/// The newest record: what the next one chains to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: u64,
    pub kind: String,
    pub kid: Vec<u8>,
    pub next_kid: Option<Vec<u8>>,
    pub payload_sha256: [u8; 32],
    pub wall_ms: i64,
    pub mono_ms: Option<u64>,
    pub boot_id: Option<String>,
}

/// A record ready to store: the exact signed bytes and what is indexed from them.
pub struct NewRecord<'a> {
    pub seq: u64,
    pub kind: &'a str,
    pub kid: &'a [u8],
    pub next_kid: Option<&'a [u8]>,
    pub signed: &'a [u8],
    pub payload_sha256: &'a [u8; 32],
    pub wall_ms: i64,
    pub mono_ms: Option<u64>,
    pub boot_id: Option<&'a str>,
}

pub fn head(conn: &Connection) -> Result<Option<ChainHead>> {
    let found = conn
        .prepare_cached(
            "SELECT seq, kind, kid, next_kid, payload_sha256, wall_ms, mono_ms, boot_id FROM evidence_records
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([], |row| {
            Ok(ChainHead {
                seq: row.get(0)?,
                kind: row.get(1)?,
                kid: row.get(2)?,
                next_kid: row.get(3)?,
                payload_sha256: row.get(4)?,
                wall_ms: row.get(5)?,
                mono_ms: row.get(6)?,
                boot_id: row.get(7)?,
            })
        })
        .optional()?;
    Ok(found)
}

pub fn insert_record(conn: &Connection, r: &NewRecord) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO evidence_records (seq, kind, kid, next_kid, signed, payload_sha256, wall_ms,
             mono_ms, boot_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        r.seq,
        r.kind,
        r.kid,
        r.next_kid,
        r.signed,
        r.payload_sha256,
        r.wall_ms,
        r.mono_ms,
        r.boot_id
    ])?;
    Ok(())
}

/// Every signed record, by seq.
pub fn signed_records(conn: &Connection) -> Result<Vec<(u64, Vec<u8>)>> {
    let mut stmt = conn.prepare_cached("SELECT seq, signed FROM evidence_records ORDER BY seq")?;
    let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn signed_record(conn: &Connection, seq: u64) -> Result<Vec<u8>> {
    conn.prepare_cached("SELECT signed FROM evidence_records WHERE seq = ?1")?
        .query_row([seq], |row| row.get(0))
        .optional()?
        .ok_or_else(|| Error::NotFound {
            what: "evidence record",
            id: seq.to_string(),
        })
}

/// The key id that signed record 1: where verification starts.
pub fn genesis_kid(conn: &Connection) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT kid FROM evidence_records ORDER BY seq LIMIT 1")?
        .query_row([], |row| row.get(0))
        .optional()?)
}

pub fn remember_key(
    conn: &Connection,
    kid: &[u8],
    public_key: &[u8],
    source: &str,
    now_ms: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO device_keys (kid, public_key, source, first_used_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kid) DO NOTHING",
    )?
    .execute(params![kid, public_key, source, now_ms])?;
    Ok(())
}

pub fn public_key(conn: &Connection, kid: &[u8]) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT public_key FROM device_keys WHERE kid = ?1")?
        .query_row([kid], |row| row.get(0))
        .optional()?)
}

pub fn insert_photo(conn: &Connection, p: &Photo) -> Result<()> {
    let warnings = serde_json::to_string(&p.warnings).expect("warnings serialise");
    let fix = p.fix_jurisdiction.as_ref();
    conn.prepare_cached(
        "INSERT INTO photos (id, inspection_id, record_seq, source, sha256, size, mime, width,
             height, orientation, taken_at, taken_at_utc_ms, exif_lat, exif_lon, make, model,
             fix_lat, fix_lon, fix_accuracy_m, fix_jurisdiction, fix_inside, fix_boundary_m,
             thumbnail, preview, warnings, captured_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
             ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
    )?
    .execute(params![
        p.id,
        p.inspection_id,
        p.record_seq,
        p.source.code(),
        p.sha256,
        p.size,
        p.mime,
        p.width,
        p.height,
        p.orientation,
        p.taken_at,
        p.taken_at_utc_ms,
        p.exif_position.map(|g| g.lat),
        p.exif_position.map(|g| g.lon),
        p.make,
        p.model,
        p.fix_position.map(|g| g.lat),
        p.fix_position.map(|g| g.lon),
        p.fix_accuracy_m,
        fix.map(|j| &j.code),
        fix.map(|j| j.inside),
        fix.map(|j| j.boundary_distance_m),
        p.thumbnail.code(),
        p.preview.code(),
        warnings,
        p.captured_at_ms,
    ])?;
    Ok(())
}

const PHOTO_COLUMNS: &str =
    "id, inspection_id, record_seq, source, sha256, size, mime, width, height,
    orientation, taken_at, taken_at_utc_ms, exif_lat, exif_lon, make, model, fix_lat, fix_lon,
    fix_accuracy_m, fix_jurisdiction, fix_inside, fix_boundary_m, thumbnail, preview, warnings,
    captured_at_ms";

pub fn photo(conn: &Connection, id: &str) -> Result<Photo> {
    let sql = format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE id = ?1");
    conn.prepare_cached(&sql)?
        .query_row([id], photo_from_row)
        .optional()?
        .ok_or_else(|| Error::NotFound {
            what: "photo",
            id: id.to_owned(),
        })
}

/// Photos matching a WHERE clause over the photos table, oldest first.
fn photos_where(conn: &Connection, clause: &str, arg: &dyn rusqlite::ToSql) -> Result<Vec<Photo>> {
    let sql = format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE {clause} ORDER BY record_seq");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([arg], photo_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The photos of an inspection; signature images of acknowledgements are kept
/// and uploaded like photos but are not photos of the scene.
pub fn photos_of_inspection(conn: &Connection, inspection_id: &str) -> Result<Vec<Photo>> {
    photos_where(
        conn,
        "inspection_id = ?1 AND record_seq NOT IN
             (SELECT seq FROM evidence_records WHERE kind = 'acknowledgement')",
        &inspection_id,
    )
}

pub fn all_photos(conn: &Connection) -> Result<Vec<Photo>> {
    photos_where(conn, "?1", &true)
}

pub fn pending_previews(conn: &Connection) -> Result<Vec<Photo>> {
    photos_where(conn, "preview = ?1", &Derivative::Pending.code())
}

pub fn set_preview(
    conn: &Connection,
    id: &str,
    preview: Derivative,
    warning: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE photos SET preview = ?2,
             warnings = CASE WHEN ?3 IS NULL THEN warnings ELSE json_insert(warnings, '$[#]', ?3) END
         WHERE id = ?1",
    )?
    .execute(params![id, preview.code(), warning])?;
    Ok(())
}

pub fn has_original(conn: &Connection, sha256: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM photos WHERE sha256 = ?1)")?
        .query_row([sha256], |row| row.get(0))?)
}

impl FromSql for CaptureSource {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value.as_str()? {
            "camera" => Ok(CaptureSource::Camera),
            "import" => Ok(CaptureSource::Import),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}

impl FromSql for Derivative {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        Derivative::from_code(value.as_str()?).ok_or(FromSqlError::InvalidType)
    }
}

fn position(lat: Option<f64>, lon: Option<f64>) -> Option<Position> {
    Some(Position {
        lat: lat?,
        lon: lon?,
    })
}

fn photo_from_row(row: &Row) -> rusqlite::Result<Photo> {
    let warnings: String = row.get(24)?;
    let warnings = serde_json::from_str(&warnings).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(24, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let fix_jurisdiction = match (row.get(19)?, row.get(20)?, row.get(21)?) {
        (Some(code), Some(inside), Some(boundary_distance_m)) => Some(SiteJurisdiction {
            code,
            inside,
            boundary_distance_m,
        }),
        _ => None,
    };
    Ok(Photo {
        id: row.get(0)?,
        inspection_id: row.get(1)?,
        record_seq: row.get(2)?,
        source: row.get(3)?,
        sha256: row.get(4)?,
        size: row.get(5)?,
        mime: row.get(6)?,
        width: row.get(7)?,
        height: row.get(8)?,
        orientation: row.get(9)?,
        taken_at: row.get(10)?,
        taken_at_utc_ms: row.get(11)?,
        exif_position: position(row.get(12)?, row.get(13)?),
        make: row.get(14)?,
        model: row.get(15)?,
        fix_position: position(row.get(16)?, row.get(17)?),
        fix_accuracy_m: row.get(18)?,
        fix_jurisdiction,
        thumbnail: row.get(22)?,
        preview: row.get(23)?,
        warnings,
        captured_at_ms: row.get(25)?,
    })
}
