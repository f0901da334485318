//! A point as the platform reports it, with its datum, and its validation.

use super::datum::{convert, Datum, LatLon};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// A point in the datum the platform gave it in (GNSS: WGS-84; Chinese map SDKs:
/// GCJ-02 or BD-09).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
    pub datum: Datum,
}

impl GeoPoint {
    /// Validates the point and returns it in WGS-84, the storage datum.
    pub fn to_wgs84(&self) -> Result<LatLon> {
        check_coordinate(self.lat, 90.0, "latitude")?;
        check_coordinate(self.lon, 180.0, "longitude")?;
        Ok(convert(
            LatLon {
                lat: self.lat,
                lon: self.lon,
            },
            self.datum,
            Datum::Wgs84,
        ))
    }
}

impl GeoPoint {
    /// Validates the point and expresses it in another datum (e.g. WGS-84 fixes on
    /// a GCJ-02 base map).
    pub fn to_datum(&self, to: Datum) -> Result<GeoPoint> {
        let p = convert(self.to_wgs84()?, Datum::Wgs84, to);
        Ok(GeoPoint {
            lat: p.lat,
            lon: p.lon,
            datum: to,
        })
    }
}

fn check_coordinate(value: f64, limit: f64, field: &'static str) -> Result<()> {
    if value.is_finite() && value.abs() <= limit {
        Ok(())
    } else {
        Err(Error::InvalidCoordinate { field })
    }
}

impl Datum {
    /// Parses a datum code from user input (CLI flags, JSON from the bureau).
    pub fn parse(code: &str) -> Result<Datum> {
        Datum::from_code(code).ok_or(Error::UnknownDatum)
    }
}

impl Serialize for Datum {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Datum {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Datum::from_code(&code).ok_or_else(|| serde::de::Error::custom("unknown datum"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(lat: f64, lon: f64) -> GeoPoint {
        GeoPoint {
            lat,
            lon,
            datum: Datum::Wgs84,
        }
    }

    #[test]
    fn rejects_non_finite_and_out_of_range() {
        for (lat, lon) in [
            (f64::NAN, 112.0),
            (28.0, f64::INFINITY),
            (f64::NEG_INFINITY, 112.0),
            (90.5, 112.0),
            (28.0, -180.01),
        ] {
            let err = point(lat, lon).to_wgs84().unwrap_err();
            assert_eq!(err.code(), "invalid_coordinate", "{lat},{lon}");
        }
        assert!(point(90.0, -180.0).to_wgs84().is_ok());
    }

    #[test]
    fn gcj02_input_is_moved_to_wgs84() {
        let gcj = GeoPoint {
            lat: 28.2282,
            lon: 112.9388,
            datum: Datum::Gcj02,
        };
        let wgs = gcj.to_wgs84().unwrap();
        // Hunan's GCJ-02 offset is a few hundred metres: roughly 0.003° in each axis.
        assert!((gcj.lat - wgs.lat).abs() > 0.001 && (gcj.lat - wgs.lat).abs() < 0.01);
        assert!((gcj.lon - wgs.lon).abs() > 0.001 && (gcj.lon - wgs.lon).abs() < 0.01);
    }

    #[test]
    fn datum_codes_parse() {
        assert_eq!(Datum::parse("gcj02").unwrap(), Datum::Gcj02);
        assert_eq!(Datum::parse("mars").unwrap_err().code(), "unknown_datum");
    }
}
