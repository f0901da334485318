//! The box around a set of WGS-84 points: a patrol track's extent, a
//! jurisdiction's, a boundary set's.

use super::datum::LatLon;
use serde::Serialize;

/// WGS-84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BoundingBox {
    pub min_lat: f64,
    pub min_lon: f64,
    pub max_lat: f64,
    pub max_lon: f64,
}

impl BoundingBox {
    /// The box of one point.
    pub fn at(p: LatLon) -> Self {
        Self {
            min_lat: p.lat,
            min_lon: p.lon,
            max_lat: p.lat,
            max_lon: p.lon,
        }
    }

    /// The box of `points`; `None` when there are none.
    pub fn of<'a>(points: impl IntoIterator<Item = &'a LatLon>) -> Option<Self> {
        points
            .into_iter()
            .map(|p| Self::at(*p))
            .reduce(|a, b| a.union(b))
    }

    /// The smallest box holding both.
    pub fn union(self, other: Self) -> Self {
        Self {
            min_lat: self.min_lat.min(other.min_lat),
            min_lon: self.min_lon.min(other.min_lon),
            max_lat: self.max_lat.max(other.max_lat),
            max_lon: self.max_lon.max(other.max_lon),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_box_holds_every_point_and_nothing_more() {
        let points = [
            LatLon {
                lat: 28.1,
                lon: 112.9,
            },
            LatLon {
                lat: 27.9,
                lon: 113.2,
            },
            LatLon {
                lat: 28.0,
                lon: 113.0,
            },
        ];
        let b = BoundingBox::of(&points).unwrap();
        assert_eq!(
            (b.min_lat, b.min_lon, b.max_lat, b.max_lon),
            (27.9, 112.9, 28.1, 113.2)
        );
        assert_eq!(BoundingBox::of(&[]), None);
        assert_eq!(b.union(BoundingBox::at(points[2])), b);
    }
}
