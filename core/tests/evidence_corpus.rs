//! Every photo in the shared corpus (`photos/`) through media sniffing, EXIF
//! reading and thumbnailing, with each file's expected outcome written down in
//! `CASES`, and the EXIF values cross-checked against exiftool, an independent
//! reader (`exiftool -n -json -G1`).
//!
//! Intended differences from exiftool, each asserted explicitly:
//!
//! * Garbage GPS (`odd/garbage_gps_lat_4294967295.jpg`): exiftool reports the
//!   raw latitude 4294967295; we drop the position with a warning.
//! * Orientation 0 (`orientation/Landscape_0.jpg`): exiftool reports 0; we
//!   report no orientation, with a warning.
//! * Capture times are compared with exiftool's EXIF group
//!   (`ExifIFD:DateTimeOriginal`), because its unqualified `DateTimeOriginal`
//!   also draws on vendor makernotes (Reconyx) and IPTC (`progressive_multi_app13`),
//!   which are not camera EXIF and which we do not read.
//!
//! Also here: thumbnails of the EXIF orientation set come out upright (same
//! size and same coarse picture as the untransformed `Landscape_1`), and the
//! decoder's peak memory for a 48 MP photo, measured with a counting allocator.

use fieldproof_core::evidence::exif::{read_metadata, PhotoMetadata};
use fieldproof_core::evidence::media::{sniff, MediaType, SNIFF_BYTES};
use fieldproof_core::evidence::thumbnail::{
    make_thumbnail, DecodeLimits, Thumbnail, PREVIEW_EDGE, THUMBNAIL_EDGE,
};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

#[path = "support/counting_allocator.rs"]
mod counting_allocator;
mod support;

use counting_allocator::{peak_growth, CountingAllocator};

/// Expected outcome for one corpus file.
struct Case {
    file: &'static str,
    /// Thumbnail size at 320 px, or the error code of "preview unavailable".
    thumbnail: Result<(u32, u32), &'static str>,
    /// Metadata warnings, exactly.
    warnings: &'static [&'static str],
    has_gps: bool,
}

const fn ok(file: &'static str, size: (u32, u32), has_gps: bool) -> Case {
    Case {
        file,
        thumbnail: Ok(size),
        warnings: &[],
        has_gps,
    }
}

const CASES: &[Case] = &[
    // Real cameras and phones: everything readable.
    ok("camera/canon_sx60_orient6.jpg", (240, 320), false), // 2048x1536 stored, shown portrait
    ok(
        "camera/nikon_coolpix_p6000_gps_DSCN0010.jpg",
        (320, 240),
        true,
    ),
    ok(
        "camera/nikon_coolpix_p6000_gps_DSCN0021.jpg",
        (320, 240),
        true,
    ),
    ok(
        "camera/olympus_ep3_12mp_42_IndexError.jpg",
        (320, 240),
        false,
    ),
    ok("camera/phone_iphone6_gps_hdr.jpg", (320, 240), true),
    ok("camera/phone_jolla_nogps.jpg", (320, 240), false),
    ok("camera/phone_nokia83_gps.jpg", (320, 137), true), // GPS as signed rationals
    ok("camera/reconyx_trailcam_hc500.jpg", (320, 240), false),
    // Known-bad files.
    Case {
        // Scan data has 1214 stray bytes before the first restart marker
        // (libjpeg warns and resyncs; jpeg-decoder refuses): no preview.
        file: "odd/bad_ifd0_exif.jpg",
        thumbnail: Err("image_corrupt"),
        warnings: &["EXIF partly unreadable: Truncated IFD"],
        has_gps: false,
    },
    Case {
        file: "odd/garbage_gps_lat_4294967295.jpg",
        thumbnail: Ok((8, 8)), // never enlarged
        warnings: &[
            "EXIF partly unreadable: Unexpected next IFD",
            "EXIF partly unreadable: Unexpected next IFD",
            "EXIF GPS latitude out of range; position ignored",
            "EXIF GPS longitude missing; position ignored",
        ],
        has_gps: false,
    },
    Case {
        file: "odd/malformed_app1_exif.jpg",
        thumbnail: Ok((200, 200)),
        warnings: &["EXIF unreadable: Invalid TIFF byte order"],
        has_gps: false,
    },
    Case {
        // Header and EXIF intact, image data cut off at 48 kB.
        file: "odd/pixel6_ultrahdr_gps_zhejiang_truncated.jpg",
        thumbnail: Err("image_truncated"),
        warnings: &[],
        has_gps: true,
    },
    ok("odd/progressive_multi_app13.jpg", (256, 160), false),
    Case {
        file: "odd/truncated_progressive.jpg",
        thumbnail: Err("image_truncated"),
        warnings: &[],
        has_gps: false,
    },
    // 10x10 pixels (SOF) although EXIF claims 4000x3000; empty GPS IFD.
    ok(
        "odd/xiaomi_redmi_note9s_empty_gps_ifd_orient6.jpg",
        (10, 10),
        false,
    ),
    // One 1800x1200 photo stored in each EXIF orientation; all come out 320x213.
    Case {
        file: "orientation/Landscape_0.jpg",
        thumbnail: Ok((320, 213)),
        warnings: &["EXIF Orientation is not 1-8; ignored"],
        has_gps: false,
    },
    ok("orientation/Landscape_1.jpg", (320, 213), false),
    ok("orientation/Landscape_2.jpg", (320, 213), false),
    ok("orientation/Landscape_3.jpg", (320, 213), false),
    ok("orientation/Landscape_4.jpg", (320, 213), false),
    ok("orientation/Landscape_5.jpg", (320, 213), false),
    ok("orientation/Landscape_6.jpg", (320, 213), false),
    ok("orientation/Landscape_7.jpg", (320, 213), false),
    ok("orientation/Landscape_8.jpg", (320, 213), false),
];

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// The allocator counts every thread, so the tests of this file run one at a
/// time: the memory test then measures itself only.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Where the photos live (the shared corpus; missing, the test fails).
fn photos_dir() -> PathBuf {
    support::corpus_dir("photos")
}

/// Every `.jpg` under `photos/`, as paths relative to it.
fn corpus_files(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for group in std::fs::read_dir(dir).unwrap() {
        let group = group.unwrap().path();
        if !group.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&group).unwrap() {
            let path = entry.unwrap().path();
            if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("jpg"))
            {
                files.push(
                    path.strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    files.sort();
    files
}

fn metadata(path: &Path) -> PhotoMetadata {
    let mut reader = BufReader::new(File::open(path).unwrap());
    read_metadata(&mut reader).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn thumbnail(path: &Path, edge: u32, orientation: Option<u16>) -> Result<Thumbnail, String> {
    let mut file = File::open(path).unwrap();
    make_thumbnail(&mut file, edge, orientation, &DecodeLimits::default())
        .map_err(|e| e.code().to_owned())
}

/// `exiftool -n -json -G1` for all files at once, keyed by path relative to `dir`.
fn exiftool(dir: &Path, files: &[String]) -> BTreeMap<String, Json> {
    let output = Command::new("exiftool")
        .args(["-n", "-json", "-G1"])
        .args(files.iter().map(|f| dir.join(f)))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run exiftool ({e}): the EXIF cross-check needs it on PATH; \
                 install it with `apt-get install libimage-exiftool-perl`"
            )
        });
    let parsed: Vec<Json> = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "exiftool output is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    parsed
        .into_iter()
        .map(|entry| {
            let source = PathBuf::from(entry["SourceFile"].as_str().unwrap());
            let relative = source
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (relative, entry)
        })
        .collect()
}

fn text(value: &Json) -> Option<String> {
    match value {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[test]
fn every_corpus_photo_has_its_documented_outcome() {
    let _serial = serial();
    let dir = photos_dir();
    let files = corpus_files(&dir);
    let documented: Vec<&str> = CASES.iter().map(|c| c.file).collect();
    assert_eq!(
        files, documented,
        "every corpus photo must have a documented outcome in CASES"
    );

    for case in CASES {
        let path = dir.join(case.file);
        let mut head = Vec::new();
        File::open(&path)
            .unwrap()
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut head)
            .unwrap();
        let media_type = sniff(&head).unwrap();
        assert_eq!(
            (media_type, media_type.mime()),
            (MediaType::Jpeg, "image/jpeg"),
            "{}",
            case.file
        );

        let meta = metadata(&path);
        assert_eq!(meta.warnings, case.warnings, "{}: warnings", case.file);
        assert_eq!(meta.gps.is_some(), case.has_gps, "{}: GPS", case.file);

        let thumb = thumbnail(&path, THUMBNAIL_EDGE, meta.orientation);
        let size = thumb
            .as_ref()
            .map(|t| (t.width, t.height))
            .map_err(|e| e.as_str());
        assert_eq!(size, case.thumbnail, "{}: thumbnail", case.file);
        if let Ok(thumb) = thumb {
            let decoded = decode_gray(&thumb);
            assert_eq!(
                (decoded.0, decoded.1),
                (thumb.width as usize, thumb.height as usize)
            );
        }
    }
}

#[test]
fn previews_have_the_preview_long_edge() {
    let _serial = serial();
    let dir = photos_dir();
    for (file, expected) in [
        ("camera/phone_nokia83_gps.jpg", (1280, 549)),
        ("camera/canon_sx60_orient6.jpg", (960, 1280)),
        ("camera/nikon_coolpix_p6000_gps_DSCN0010.jpg", (640, 480)), // never enlarged
    ] {
        let path = dir.join(file);
        let preview = thumbnail(&path, PREVIEW_EDGE, metadata(&path).orientation).unwrap();
        assert_eq!((preview.width, preview.height), expected, "{file}");
    }
}

/// (file, field, why): where we knowingly differ from exiftool. Each entry
/// must still differ, so it is removed once the two agree.
const EXIFTOOL_DIFFERENCES: &[(&str, &str, &str)] = &[(
    "odd/bad_ifd0_exif.jpg",
    "orientation",
    "IFD0 declares 32 entries but the segment holds 8: exiftool discards the whole \
     directory, we keep the intact entries (Orientation 1) and warn",
)];

fn check_agreement(file: &str, field: &str, agrees: bool, detail: impl Fn() -> String) {
    let known = EXIFTOOL_DIFFERENCES
        .iter()
        .any(|(f, w, _)| *f == file && *w == field);
    if known {
        assert!(
            !agrees,
            "{file}: {field} now agrees with exiftool; remove it from EXIFTOOL_DIFFERENCES"
        );
    } else {
        assert!(
            agrees,
            "{file}: {field} differs from exiftool: {}",
            detail()
        );
    }
}

#[test]
fn exif_agrees_with_exiftool() {
    let _serial = serial();
    let dir = photos_dir();
    let files = corpus_files(&dir);
    let reference = exiftool(&dir, &files);
    for file in &files {
        let ours = metadata(&dir.join(file));
        let theirs = &reference[file];
        let compare = |field: &str, ours: &dyn std::fmt::Debug, expected: &dyn std::fmt::Debug| {
            let (ours, expected) = (format!("{ours:?}"), format!("{expected:?}"));
            check_agreement(file, field, ours == expected, || {
                format!("ours {ours}, exiftool {expected}")
            });
        };

        let size = (
            theirs["File:ImageWidth"].as_u64(),
            theirs["File:ImageHeight"].as_u64(),
        );
        compare(
            "size",
            &(ours.width.map(u64::from), ours.height.map(u64::from)),
            &size,
        );

        // exiftool prints invalid values such as 0 as they are; we drop them.
        let orientation = theirs["IFD0:Orientation"]
            .as_u64()
            .filter(|o| (1..=8).contains(o));
        compare(
            "orientation",
            &ours.orientation.map(u64::from),
            &orientation,
        );

        let exif_text = |tag: &str| text(&theirs[tag]);
        compare(
            "DateTimeOriginal",
            &ours.datetime_original,
            &exif_text("ExifIFD:DateTimeOriginal"),
        );
        compare(
            "OffsetTimeOriginal",
            &ours.offset_time_original,
            &exif_text("ExifIFD:OffsetTimeOriginal"),
        );
        compare("Make", &ours.make, &exif_text("IFD0:Make"));
        compare("Model", &ours.model, &exif_text("IFD0:Model"));

        let position = (
            theirs["Composite:GPSLatitude"].as_f64(),
            theirs["Composite:GPSLongitude"].as_f64(),
        );
        let altitude = theirs["Composite:GPSAltitude"].as_f64();
        let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() < 1e-6,
            (a, b) => a.is_none() && b.is_none(),
        };
        let gps = ours.gps.as_ref();
        let agrees = close(gps.map(|g| g.lat), position.0)
            && close(gps.map(|g| g.lon), position.1)
            && close(gps.and_then(|g| g.altitude_m), altitude);
        check_agreement(file, "gps", agrees, || {
            format!("ours {gps:?}, exiftool {position:?} alt {altitude:?}")
        });
        // Where exiftool shows a raw latitude but no position, it is garbage we
        // dropped on purpose, with a warning.
        if let (None, Some(raw)) = (gps, theirs["GPS:GPSLatitude"].as_f64()) {
            assert!(
                raw > 90.0,
                "{file}: latitude {raw} dropped although in range"
            );
            assert!(
                ours.warnings
                    .iter()
                    .any(|w| w.contains("latitude out of range")),
                "{file}"
            );
        }
    }
}

/// Decodes a thumbnail to gray: (width, height, pixels).
fn decode_gray(thumb: &Thumbnail) -> (usize, usize, Vec<f64>) {
    let mut decoder = jpeg_decoder::Decoder::new(thumb.jpeg.as_slice());
    let pixels = decoder.decode().unwrap();
    let info = decoder.info().unwrap();
    let channels = pixels.len() / (usize::from(info.width) * usize::from(info.height));
    let gray = pixels
        .chunks_exact(channels)
        .map(|p| p.iter().map(|&v| f64::from(v)).sum::<f64>() / channels as f64)
        .collect();
    (info.width.into(), info.height.into(), gray)
}

/// Mean gray of each cell of an 8x8 grid: a coarse picture that survives
/// resampling and JPEG noise but not a rotation or mirror.
fn grid_signature(thumb: &Thumbnail) -> [f64; 64] {
    let (width, height, gray) = decode_gray(thumb);
    let mut sums = [0.0; 64];
    let mut counts = [0.0; 64];
    for (i, value) in gray.iter().enumerate() {
        let cell = (i / width * 8 / height) * 8 + (i % width * 8 / width);
        sums[cell] += value;
        counts[cell] += 1.0;
    }
    std::array::from_fn(|i| sums[i] / counts[i])
}

fn mean_abs_difference(a: &[f64; 64], b: &[f64; 64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / 64.0
}

#[test]
fn orientation_set_comes_out_upright() {
    let _serial = serial();
    let dir = photos_dir().join("orientation");
    let upright = |n: u32, orientation: Option<u16>| {
        thumbnail(
            &dir.join(format!("Landscape_{n}.jpg")),
            THUMBNAIL_EDGE,
            orientation,
        )
        .unwrap()
    };
    let reference = upright(1, Some(1));
    let reference_signature = grid_signature(&reference);
    for n in 0..=8u32 {
        let path = dir.join(format!("Landscape_{n}.jpg"));
        let thumb = upright(n, metadata(&path).orientation);
        assert_eq!(
            (thumb.width, thumb.height),
            (reference.width, reference.height),
            "Landscape_{n}"
        );
        let difference = mean_abs_difference(&grid_signature(&thumb), &reference_signature);
        assert!(
            difference < 3.0,
            "Landscape_{n}: differs from upright by {difference:.2} gray levels"
        );
        // The check does tell orientations apart: ignoring EXIF leaves every
        // transformed file either portrait (5-8) or far from upright (2-4).
        let stored = upright(n, None);
        if n >= 2 && (stored.width, stored.height) == (reference.width, reference.height) {
            let as_stored = mean_abs_difference(&grid_signature(&stored), &reference_signature);
            assert!(
                as_stored > 10.0,
                "Landscape_{n} as stored is too close to upright: {as_stored:.2}"
            );
        }
    }
}

/// A synthetic 8000x6000 (48 MP) photo, generated row by row.
struct Synthetic;

impl jpeg_encoder::ImageBuffer for Synthetic {
    fn get_jpeg_color_type(&self) -> jpeg_encoder::JpegColorType {
        jpeg_encoder::JpegColorType::Ycbcr
    }

    fn width(&self) -> u16 {
        8000
    }

    fn height(&self) -> u16 {
        6000
    }

    fn fill_buffers(&self, y: u16, buffers: &mut [Vec<u8>; 4]) {
        for x in 0..self.width() {
            buffers[0].push(((x / 31) as u8).wrapping_mul(7) ^ (y / 17) as u8);
            buffers[1].push((x / 64) as u8);
            buffers[2].push((y / 48) as u8);
        }
    }
}

fn synthetic_48mp(progressive: bool) -> Vec<u8> {
    let mut jpeg = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut jpeg, 80);
    encoder.set_progressive(progressive);
    encoder.encode_image(Synthetic).unwrap();
    jpeg
}

#[test]
fn a_48_megapixel_photo_stays_well_under_64_mib() {
    let _serial = serial();
    const BUDGET: usize = 32 << 20;
    let limits = DecodeLimits::default();

    let baseline = synthetic_48mp(false);
    for (edge, expected) in [(THUMBNAIL_EDGE, (320, 240)), (PREVIEW_EDGE, (1280, 960))] {
        let (thumb, peak) =
            peak_growth(|| make_thumbnail(&mut baseline.as_slice(), edge, Some(6), &limits));
        let thumb = thumb.unwrap();
        assert_eq!((thumb.height, thumb.width), expected);
        eprintln!(
            "48 MP baseline JPEG → {edge} px: peak heap growth {:.1} MiB",
            peak as f64 / 1048576.0
        );
        assert!(
            peak < BUDGET,
            "peak {peak} bytes for a {edge} px thumbnail of 48 MP"
        );
    }

    // A progressive one: its thumbnail from the DC scans alone and its
    // preview from the low-frequency coefficients it keeps, each within the
    // same budget; under a tighter limit the preview is refused from the
    // header, before anything large is allocated.
    let progressive = synthetic_48mp(true);
    let (thumb, peak) = peak_growth(|| {
        make_thumbnail(
            &mut progressive.as_slice(),
            THUMBNAIL_EDGE,
            Some(6),
            &limits,
        )
    });
    let thumb = thumb.unwrap();
    assert_eq!((thumb.height, thumb.width), (320, 240));
    eprintln!(
        "48 MP progressive JPEG → {THUMBNAIL_EDGE} px: peak heap growth {:.1} MiB",
        peak as f64 / 1048576.0
    );
    assert!(
        peak < BUDGET,
        "peak {peak} bytes for a progressive thumbnail"
    );
    let (preview, peak) =
        peak_growth(|| make_thumbnail(&mut progressive.as_slice(), PREVIEW_EDGE, None, &limits));
    let preview = preview.unwrap();
    assert_eq!((preview.width, preview.height), (PREVIEW_EDGE, 960));
    eprintln!(
        "48 MP progressive JPEG → {PREVIEW_EDGE} px: peak heap growth {:.1} MiB",
        peak as f64 / 1048576.0
    );
    assert!(peak < BUDGET, "peak {peak} bytes for a progressive preview");
    let tight = DecodeLimits {
        max_decode_bytes: 16 << 20,
        ..limits
    };
    let (result, peak) =
        peak_growth(|| make_thumbnail(&mut progressive.as_slice(), PREVIEW_EDGE, None, &tight));
    assert_eq!(result.unwrap_err().code(), "image_too_large");
    assert!(peak < 1 << 20, "refusal allocated {peak} bytes");
}
