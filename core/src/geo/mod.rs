//! Location: datums and points. Tracks and geofences come with the location work.

pub mod datum;
pub mod point;
