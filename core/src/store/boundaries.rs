//! Jurisdiction boundaries as loaded from the bureau, kept in their source form
//! (GeoJSON plus declared datum) so the index can always be rebuilt exactly.

use crate::error::Result;
use crate::geo::datum::Datum;
use crate::geo::jurisdiction::JurisdictionIndex;
use rusqlite::{params, Connection};

pub fn insert_source(conn: &Connection, geojson: &str, datum: Datum, now_ms: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO boundary_sources (datum, geojson, loaded_at_ms) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![datum.code(), geojson, now_ms])?;
    Ok(())
}

/// Builds the lookup index from every source, oldest first, so a later load of the
/// same jurisdiction code replaces the earlier polygon.
pub fn build_index(conn: &Connection) -> Result<JurisdictionIndex> {
    let mut index = JurisdictionIndex::new();
    let mut stmt =
        conn.prepare_cached("SELECT datum, geojson FROM boundary_sources ORDER BY id")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let datum: Datum = row.get(0)?;
        let geojson: String = row.get(1)?;
        index.load_geojson(geojson.as_bytes(), datum)?;
    }
    Ok(index)
}
