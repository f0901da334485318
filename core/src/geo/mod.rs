//! Location: datums, fixes, patrol track recording, jurisdictions, GPX/GeoJSON.

pub mod bounding_box;
pub mod datum;
pub mod fix;
pub mod geodesy;
pub mod geojson;
pub mod gpx;
pub mod jurisdiction;
pub mod platform_location;
pub mod point;
pub mod recorder;
pub mod simplify;
