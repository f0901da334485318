//! The map: boundaries, inspections, tasks and patrol tracks drawn on the
//! server as SVG in Web Mercator, so it shows with no tile server, no
//! JavaScript and no internet. With `[console] tile_url` the base map's tiles
//! are placed under the drawing, and everything drawn is converted to the
//! tiles' datum first (most Chinese base maps are GCJ-02: a WGS-84 point drawn
//! on them as is lands a few hundred metres off).
//!
//! Our own few lines rather than a map library: a JavaScript one would need
//! Node or a CDN, and the projection and the tile grid are the standard
//! formulas (EPSG:3857, the XYZ tile scheme).

use super::labels;
use super::page::page;
use super::viewer::Viewer;
use super::PageResult;
use crate::api::{blocking, State};
use crate::cases::map_data::{self, MapPoint};
use crate::cases::reference_data;
use crate::config::ConsoleSettings;
use crate::now_ms;
use axum::extract::State as Extract;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use fieldproof_core::geo::datum::{convert, Datum, LatLon};
use fieldproof_core::geo::jurisdiction::JurisdictionIndex;
use maud::{html, Markup};
use std::f64::consts::PI;

pub fn routes() -> Router<State> {
    Router::new().route("/console/map", get(map_page))
}

/// The drawing's size in SVG units (it scales to the page's width).
const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 640.0;
const TILE: f64 = 256.0;
/// The most points and track segments one map shows.
const MAX_POINTS: usize = 500;
const MAX_TRACKS: usize = 200;
const TRACK_DAYS: i64 = 7;

/// What one map shows.
#[derive(Default)]
pub struct Layers {
    /// Boundaries, each as its polygons' rings.
    pub boundaries: Vec<(String, String, Vec<Vec<LatLon>>)>,
    pub points: Vec<MapPoint>,
    pub tracks: Vec<Vec<LatLon>>,
}

impl Layers {
    /// The boundaries of `index` that `keep` accepts (by code).
    pub fn with_boundaries(
        mut self,
        index: &JurisdictionIndex,
        keep: impl Fn(&str) -> bool,
    ) -> Self {
        for j in index.iter().filter(|j| keep(&j.code)) {
            let rings = j.polygons.iter().flatten().cloned().collect();
            self.boundaries
                .push((j.code.clone(), j.name.clone(), rings));
        }
        self
    }
}

/// Web Mercator at an integer zoom, offset to the drawing's top left.
struct View {
    zoom: u8,
    origin_x: f64,
    origin_y: f64,
    datum: Datum,
}

impl View {
    /// The largest zoom at which everything in `layers` fits, centred.
    fn fit(layers: &Layers, datum: Datum) -> View {
        let all = layers
            .boundaries
            .iter()
            .flat_map(|(_, _, rings)| rings.iter().flatten())
            .chain(layers.points.iter().map(|p| &p.at))
            .chain(layers.tracks.iter().flatten())
            .map(|p| world(convert(*p, Datum::Wgs84, datum), 0));
        let (mut min, mut max) = ((f64::MAX, f64::MAX), (f64::MIN, f64::MIN));
        for (x, y) in all {
            min = (min.0.min(x), min.1.min(y));
            max = (max.0.max(x), max.1.max(y));
        }
        if min.0 > max.0 {
            // Nothing to show: China, whole.
            (min, max) = (
                world(
                    LatLon {
                        lat: 54.0,
                        lon: 73.0,
                    },
                    0,
                ),
                world(
                    LatLon {
                        lat: 18.0,
                        lon: 135.0,
                    },
                    0,
                ),
            );
        }
        let zoom = (0..=18u8)
            .rev()
            .find(|z| {
                let scale = f64::from(1u32 << z);
                (max.0 - min.0) * scale <= WIDTH * 0.9 && (max.1 - min.1) * scale <= HEIGHT * 0.9
            })
            .unwrap_or(0);
        let scale = f64::from(1u32 << zoom);
        View {
            zoom,
            origin_x: (min.0 + max.0) / 2.0 * scale - WIDTH / 2.0,
            origin_y: (min.1 + max.1) / 2.0 * scale - HEIGHT / 2.0,
            datum,
        }
    }

    /// Where a WGS-84 point is drawn.
    fn xy(&self, p: LatLon) -> (f64, f64) {
        let (x, y) = world(convert(p, Datum::Wgs84, self.datum), self.zoom);
        (x - self.origin_x, y - self.origin_y)
    }

    fn path(&self, points: &[LatLon], close: bool) -> String {
        let mut d = String::new();
        for (i, p) in points.iter().enumerate() {
            let (x, y) = self.xy(*p);
            d.push_str(&format!("{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" }));
        }
        if close {
            d.push('Z');
        }
        d
    }
}

/// EPSG:3857 pixel coordinates at `zoom` (256-pixel tiles).
fn world(p: LatLon, zoom: u8) -> (f64, f64) {
    let size = TILE * f64::from(1u32 << zoom);
    let lat = p.lat.clamp(-85.05, 85.05).to_radians();
    let x = (p.lon + 180.0) / 360.0 * size;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / PI) / 2.0 * size;
    (x, y)
}

/// The map as SVG: tiles (if configured), boundaries, tracks, points. Points
/// link to their case or task; the SVG carries its projection so the page's
/// script can turn a click into a place (a new task).
pub fn draw(layers: &Layers, console: &ConsoleSettings) -> Markup {
    let view = View::fit(
        layers,
        console
            .tile_url
            .as_ref()
            .map_or(Datum::Wgs84, |_| console.tile_datum()),
    );
    let tiles = console
        .tile_url
        .as_deref()
        .map(|url| tiles(&view, url))
        .unwrap_or_default();
    html! {
        svg.map xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH} {HEIGHT}"))
            role="img" aria-label="地图"
            data-zoom=(view.zoom) data-origin-x=(view.origin_x) data-origin-y=(view.origin_y)
            data-datum=(view.datum.code()) {
            rect.sea x="0" y="0" width=(WIDTH) height=(HEIGHT) {}
            @for (href, x, y) in &tiles {
                image href=(href) x=(x) y=(y) width=(TILE) height=(TILE) {}
            }
            @for (code, name, rings) in &layers.boundaries {
                path.boundary d=(rings.iter().map(|r| view.path(r, true)).collect::<String>()) {
                    title { (name) " " (code) }
                }
            }
            @for track in &layers.tracks {
                path.track d=(view.path(track, false)) {}
            }
            @for point in &layers.points {
                @let (x, y) = view.xy(point.at);
                @let dot = html! {
                    circle class=(format!("point {} {}", point.kind, point.status)) cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="6" {
                        title { (point_label(point)) " " (point.jurisdiction) }
                    }
                };
                @match point.kind {
                    "task" => a href=(format!("/console/tasks#task-{}", point.id)) { (dot) },
                    "inspection" => a href=(format!("/console/cases/{}", point.id)) { (dot) },
                    _ => (dot),
                }
            }
        }
    }
}

fn point_label(point: &MapPoint) -> &str {
    match point.kind {
        "task" => labels::task_state(&point.status),
        "inspection" => labels::review_status(&point.status),
        _ => "现场",
    }
}

/// The tiles covering the drawing: (URL, x, y) each.
fn tiles(view: &View, template: &str) -> Vec<(String, f64, f64)> {
    let count = 1i64 << view.zoom;
    let first_x = (view.origin_x / TILE).floor() as i64;
    let first_y = (view.origin_y / TILE).floor() as i64;
    let last_x = ((view.origin_x + WIDTH) / TILE).floor() as i64;
    let last_y = ((view.origin_y + HEIGHT) / TILE).floor() as i64;
    let mut out = Vec::new();
    for ty in first_y.max(0)..=last_y.min(count - 1) {
        for tx in first_x..=last_x {
            let wrapped = tx.rem_euclid(count);
            let url = template
                .replace("{z}", &view.zoom.to_string())
                .replace("{x}", &wrapped.to_string())
                .replace("{y}", &ty.to_string());
            out.push((
                url,
                tx as f64 * TILE - view.origin_x,
                ty as f64 * TILE - view.origin_y,
            ));
        }
    }
    out
}

async fn map_page(viewer: Viewer, Extract(state): Extract<State>) -> PageResult {
    let scope = viewer.actor.scope();
    let (index, points, tracks) = blocking(&state, move |b| {
        b.db.read(|tx| {
            let since = now_ms() - TRACK_DAYS * 86_400_000;
            Ok((
                reference_data::boundary_index(tx)?,
                map_data::points(tx, &scope, MAX_POINTS)?,
                map_data::recent_tracks(tx, &scope, since, MAX_TRACKS)?,
            ))
        })
    })
    .await?;
    let scope = viewer.actor.scope();
    let layers = Layers {
        points,
        tracks,
        ..Layers::default()
    }
    .with_boundaries(&index, |code| scope.covers(code));
    let may_dispatch = viewer
        .actor
        .require_role(crate::people::StaffRole::Dispatcher)
        .is_ok();
    let body = html! {
        p.legend {
            span.key.inspection { "案件" } span.key.task { "任务" } span.key.track { "巡查轨迹（近 " (TRACK_DAYS) " 天）" }
            " · 边界 " (layers.boundaries.len()) " 个，点位 " (layers.points.len()) " 个"
        }
        figure.map-frame { (draw(&layers, &state.console)) }
        @if may_dispatch {
            section {
                h2 { "在地图上派发任务" }
                p.hint { "点击地图选定位置（或直接填写坐标），再填写任务。" }
                (super::tasks::task_form(&viewer, None))
            }
        }
    };
    Ok(page(&viewer, "地图", body).into_response())
}

/// A small map of one case: its jurisdiction's boundary, the site, its tracks.
pub fn case_map(
    index: &JurisdictionIndex,
    jurisdiction: &str,
    site: Option<LatLon>,
    tracks: Vec<Vec<LatLon>>,
    console: &ConsoleSettings,
) -> Markup {
    let layers = Layers {
        points: site
            .map(|at| MapPoint {
                id: String::new(),
                at,
                kind: "site",
                status: String::new(),
                jurisdiction: jurisdiction.to_owned(),
            })
            .into_iter()
            .collect(),
        tracks,
        ..Layers::default()
    }
    .with_boundaries(index, |code| code == jurisdiction);
    draw(&layers, console)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_point() -> Layers {
        Layers {
            points: vec![MapPoint {
                id: "i".into(),
                at: LatLon {
                    lat: 28.2476,
                    lon: 113.0855,
                },
                kind: "inspection",
                status: "submitted".into(),
                jurisdiction: "430121101".into(),
            }],
            tracks: vec![vec![
                LatLon {
                    lat: 28.24,
                    lon: 113.08,
                },
                LatLon {
                    lat: 28.26,
                    lon: 113.09,
                },
            ]],
            ..Layers::default()
        }
    }

    #[test]
    fn without_tiles_nothing_is_fetched_and_the_drawing_is_wgs84() {
        let svg = draw(&one_point(), &ConsoleSettings::default()).into_string();
        assert!(!svg.contains("<image"), "{svg}");
        assert!(svg.contains(r#"data-datum="wgs84""#));
        assert!(
            svg.contains("class=\"point inspection submitted\"") && svg.contains("class=\"track\"")
        );
    }

    #[test]
    fn on_gcj02_tiles_points_are_converted_and_tiles_laid_under_them() {
        let layers = one_point();
        let tiles = ConsoleSettings {
            tile_url: Some("https://tiles.intranet/{z}/{x}/{y}.png".into()),
            tile_datum: Some("gcj02".into()),
        };
        let svg = draw(&layers, &tiles).into_string();
        assert!(svg.contains(r#"data-datum="gcj02""#));
        let view = View::fit(&layers, Datum::Gcj02);
        // The tile holding the (converted) point is among those laid under it.
        let at = convert(layers.points[0].at, Datum::Wgs84, Datum::Gcj02);
        let (x, y) = world(at, view.zoom);
        let tile = format!(
            "https://tiles.intranet/{}/{}/{}.png",
            view.zoom,
            (x / TILE) as i64,
            (y / TILE) as i64
        );
        assert!(svg.contains(&tile), "{tile} in {svg}");
        // Drawn in GCJ-02 the point sits where the GCJ-02 base map has it,
        // hundreds of metres from where WGS-84 would put it at this zoom.
        let (gx, gy) = view.xy(layers.points[0].at);
        let (wx, wy) = world(layers.points[0].at, view.zoom);
        let offset = ((gx + view.origin_x - wx).powi(2) + (gy + view.origin_y - wy).powi(2)).sqrt();
        assert!(offset > 10.0, "{offset} px");
    }
}
