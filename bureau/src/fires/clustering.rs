//! Fire events from detections: detections close in space and time, across
//! satellites and passes, are one fire on the ground.
//!
//! Two detections are close when their centres lie within √2 times the mean
//! of their products' pixel sizes (neighbouring pixels, diagonals included:
//! 1.41 km for two MODIS pixels, 0.53 km for two VIIRS ones, 0.97 km mixed),
//! and a detection joins an event when it is close to any of its detections
//! and no more than the window (default 24 h) before its first or after its
//! last. A detection close to several events joins the one first seen; events
//! are never merged, so a task once dispatched keeps its event.
//!
//! Distances here are equirectangular, exact to well under a metre at these
//! scales, and detections are found through a grid of 0.03° cells, which
//! stays wider than the largest join distance up to 60° of latitude (China
//! lies below 54°).

use fieldproof_core::model::fire::FireProduct;
use std::collections::HashMap;

/// Grid cell size in millionths of a degree.
const CELL_E6: i32 = 30_000;
const METRES_PER_DEGREE_LAT: f64 = 110_574.0;
const METRES_PER_DEGREE_LON_AT_EQUATOR: f64 = 111_320.0;

/// A detection's place, time and pixel size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub lat_e6: i32,
    pub lon_e6: i32,
    pub time_ms: i64,
    pub product: FireProduct,
}

/// An event: its detections so far (held and new), the jurisdiction of its
/// first, and the stored event and task it is, if any.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    pub event_id: Option<String>,
    pub task_id: Option<String>,
    pub jurisdiction: String,
    pub first_ms: i64,
    pub last_ms: i64,
    pub points: Vec<Point>,
    /// Which of the import's detections joined it (their indices).
    pub joined: Vec<usize>,
}

pub struct Clustering {
    window_ms: i64,
    pub clusters: Vec<Cluster>,
    /// Cell → (cluster, point) of every point.
    grid: HashMap<(i32, i32), Vec<(usize, usize)>>,
}

impl Clustering {
    pub fn new(window_ms: i64) -> Self {
        Clustering {
            window_ms,
            clusters: Vec::new(),
            grid: HashMap::new(),
        }
    }

    /// An event already held, with its detections.
    pub fn add_existing(&mut self, cluster: Cluster) {
        let index = self.clusters.len();
        for (k, point) in cluster.points.iter().enumerate() {
            self.grid.entry(cell(point)).or_default().push((index, k));
        }
        self.clusters.push(cluster);
    }

    /// Adds the import's detection `detection` (placed in `jurisdiction`)
    /// to the event it is close to, or to a new one; returns the event's index.
    pub fn add(&mut self, point: Point, jurisdiction: &str, detection: usize) -> usize {
        let index = self.joinable(&point).unwrap_or_else(|| {
            self.clusters.push(Cluster {
                jurisdiction: jurisdiction.to_owned(),
                first_ms: point.time_ms,
                last_ms: point.time_ms,
                ..Cluster::default()
            });
            self.clusters.len() - 1
        });
        let cluster = &mut self.clusters[index];
        cluster.first_ms = cluster.first_ms.min(point.time_ms);
        cluster.last_ms = cluster.last_ms.max(point.time_ms);
        cluster.joined.push(detection);
        cluster.points.push(point);
        let k = cluster.points.len() - 1;
        self.grid.entry(cell(&point)).or_default().push((index, k));
        index
    }

    /// The earliest-made event `point` may join.
    fn joinable(&self, point: &Point) -> Option<usize> {
        let (row, column) = cell(point);
        let mut best: Option<usize> = None;
        for r in row - 1..=row + 1 {
            for c in column - 1..=column + 1 {
                for &(index, k) in self.grid.get(&(r, c)).into_iter().flatten() {
                    if best.is_some_and(|b| b <= index) {
                        continue;
                    }
                    let cluster = &self.clusters[index];
                    let in_time = point.time_ms >= cluster.first_ms - self.window_ms
                        && point.time_ms <= cluster.last_ms + self.window_ms;
                    if in_time && close(point, &cluster.points[k]) {
                        best = Some(index);
                    }
                }
            }
        }
        best
    }
}

fn cell(point: &Point) -> (i32, i32) {
    (
        point.lat_e6.div_euclid(CELL_E6),
        point.lon_e6.div_euclid(CELL_E6),
    )
}

/// Whether two detections are neighbouring pixels (see the module docs).
pub fn close(a: &Point, b: &Point) -> bool {
    let reach = std::f64::consts::SQRT_2 * (a.product.pixel_m() + b.product.pixel_m()) / 2.0;
    let mean_lat = f64::from(a.lat_e6 + b.lat_e6) / 2e6;
    let dy = f64::from(a.lat_e6 - b.lat_e6) / 1e6 * METRES_PER_DEGREE_LAT;
    let dx = f64::from(a.lon_e6 - b.lon_e6) / 1e6
        * METRES_PER_DEGREE_LON_AT_EQUATOR
        * mean_lat.to_radians().cos();
    dx * dx + dy * dy <= reach * reach
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn point(lat: f64, lon: f64, hours: i64, product: FireProduct) -> Point {
        Point {
            lat_e6: (lat * 1e6) as i32,
            lon_e6: (lon * 1e6) as i32,
            time_ms: 1_790_000_000_000 + hours * HOUR,
            product,
        }
    }

    #[test]
    fn neighbouring_pixels_of_each_product_are_close() {
        use FireProduct::{Modis, Viirs};
        let at =
            |metres_north: f64, product| point(28.0 + metres_north / 110_574.0, 113.0, 0, product);
        let origin = |product| at(0.0, product);
        assert!(close(&origin(Modis), &at(1400.0, Modis)));
        assert!(!close(&origin(Modis), &at(1430.0, Modis)));
        assert!(close(&origin(Viirs), &at(520.0, Viirs)));
        assert!(!close(&origin(Viirs), &at(540.0, Viirs)));
        assert!(close(&origin(Viirs), &at(960.0, Modis)));
        assert!(!close(&origin(Viirs), &at(980.0, Modis)));
    }

    #[test]
    fn passes_and_satellites_join_one_event_in_its_window_and_no_other() {
        use FireProduct::{Modis, Viirs};
        let mut clusters = Clustering::new(24 * HOUR);
        let a = clusters.add(point(28.0, 113.0, 0, Viirs), "430121101", 0);
        // A later VIIRS pass and a MODIS pixel over it: the same fire.
        assert_eq!(
            clusters.add(point(28.003, 113.0, 12, Viirs), "430121101", 1),
            a
        );
        assert_eq!(
            clusters.add(point(28.011, 113.0, 13, Modis), "430121102", 2),
            a
        );
        // Close, but more than a day after the event's last detection.
        let b = clusters.add(point(28.0, 113.0, 13 + 25, Viirs), "430121101", 3);
        assert_ne!(a, b);
        // Far away, at the same time.
        let c = clusters.add(point(28.2, 113.0, 1, Viirs), "430121101", 4);
        assert_ne!(c, a);
        let event = &clusters.clusters[a];
        assert_eq!(event.joined, [0, 1, 2]);
        assert_eq!(event.jurisdiction, "430121101", "the first detection's");
        assert_eq!(
            (event.first_ms, event.last_ms),
            (
                point(0.0, 0.0, 0, Viirs).time_ms,
                point(0.0, 0.0, 13, Viirs).time_ms
            )
        );
    }

    #[test]
    fn a_held_event_takes_new_detections_before_a_new_one_is_made() {
        let mut clusters = Clustering::new(24 * HOUR);
        let held = point(28.0, 113.0, 0, FireProduct::Modis);
        clusters.add_existing(Cluster {
            event_id: Some("e".into()),
            task_id: Some("t".into()),
            jurisdiction: "430121".into(),
            first_ms: held.time_ms,
            last_ms: held.time_ms,
            points: vec![held],
            joined: Vec::new(),
        });
        let joined = clusters.add(point(28.005, 113.005, 3, FireProduct::Modis), "430122", 0);
        assert_eq!(joined, 0);
        assert_eq!(
            clusters.clusters[0].jurisdiction, "430121",
            "the event keeps its place"
        );
        // A detection across a cell boundary still finds it.
        let edge = point(27.9999, 113.0, 4, FireProduct::Modis);
        assert_eq!(clusters.add(edge, "430121", 1), 0);
    }
}
