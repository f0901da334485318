//! Capture benchmark, in one long-lived process as on the phone: `capture_photo`
//! (copy + fsync + SHA-256 beside EXIF + 320 px thumbnail, then the signed record
//! and its SQLite commit) and one 1280 px preview (`prepare_previews`), on the
//! 12 MP corpus photo and a 48 MP photo made from it, against in the same run:
//!
//! * libjpeg-turbo (TurboJPEG 3, with its SIMD) decoding the same file at 1/8
//!   (the decode a thumbnail cannot avoid), at 1/2 (what the goal names for
//!   the preview) and at the scale our preview decodes at (3/8 for 12 MP, 1/4
//!   for 48 MP: the smallest that still gives 1280 px);
//! * the copy + SHA-256 + fsync of the same file: the storage capture cannot avoid.
//!
//! Goals (issue 17): capture ≤ 1.3 × max(decode 1/8, copy+hash+fsync) + 5 ms;
//! preview ≤ 1.3 × decode 1/2; peak heap growth ≤ 64 MiB at 48 MP. Each round
//! captures a new photo (the file differs by a comment segment, so every copy is
//! a new content address), and the five measurements of a round run in a
//! rotating order. Prints medians and ratios; asserts nothing about time.
//!
//!     cargo bench -p fieldproof-core --features bench-libjpeg-turbo --bench capture [-- ROUNDS]
//!
//! The feature builds libjpeg-turbo from source (cmake and nasm); it is for this
//! benchmark only and never part of the core.

use fieldproof_core::model::photo::{CaptureContext, CaptureSource};
use fieldproof_core::store::{PhotoSource, Store};
use ring::digest::{Context, SHA256};
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};
use turbojpeg::{Decompressor, Image, PixelFormat, ScalingFactor};

// libjpeg-turbo allocates with malloc, outside the count: only our own heap
// is measured.
#[path = "../tests/support/counting_allocator.rs"]
mod counting_allocator;
#[path = "../tests/support/mod.rs"]
mod support;

use counting_allocator::{peak_growth, CountingAllocator};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn decode(jpeg: &[u8], scale: ScalingFactor) -> Image<Vec<u8>> {
    let mut decompressor = Decompressor::new().unwrap();
    let header = decompressor.read_header(jpeg).unwrap().scaled(scale);
    decompressor.set_scaling_factor(scale).unwrap();
    let mut image = Image {
        pixels: vec![0; 3 * header.width * header.height],
        width: header.width,
        pitch: 3 * header.width,
        height: header.height,
        format: PixelFormat::RGB,
    };
    decompressor.decompress(jpeg, image.as_deref_mut()).unwrap();
    image
}

/// A 48 MP photo from the 12 MP one: decoded, tiled 2 × 2 with mirrored
/// copies (so it has a photo's detail at every scale and no seams), encoded
/// at quality 92 with 4:2:0 as phone cameras do, the original's EXIF kept.
fn forty_eight_megapixels(original: &[u8]) -> Vec<u8> {
    let small = decode(original, ScalingFactor::ONE);
    let (w, h) = (small.width, small.height);
    let (big_w, big_h) = (2 * w, 2 * h);
    let mut pixels = Vec::with_capacity(3 * big_w * big_h);
    for y in 0..big_h {
        let sy = if y < h { y } else { 2 * h - 1 - y };
        for x in 0..big_w {
            let sx = if x < w { x } else { 2 * w - 1 - x };
            let at = 3 * (sy * w + sx);
            pixels.extend_from_slice(&small.pixels[at..at + 3]);
        }
    }
    let image = Image {
        pixels: pixels.as_slice(),
        width: big_w,
        pitch: 3 * big_w,
        height: big_h,
        format: PixelFormat::RGB,
    };
    let mut compressor = turbojpeg::Compressor::new().unwrap();
    compressor.set_quality(92).unwrap();
    compressor.set_subsamp(turbojpeg::Subsamp::Sub2x2).unwrap();
    let encoded = compressor.compress_to_vec(image).unwrap();
    with_segment_after_soi(&encoded, exif_segment(original))
}

/// The original's first APP1 (EXIF) segment, marker included.
fn exif_segment(jpeg: &[u8]) -> &[u8] {
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xff {
        let length = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        if jpeg[at + 1] == 0xe1 {
            return &jpeg[at..at + 2 + length];
        }
        at += 2 + length;
    }
    panic!("the corpus photo has no EXIF segment")
}

fn with_segment_after_soi(jpeg: &[u8], segment: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(jpeg.len() + segment.len());
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(segment);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// The photo with a comment segment naming the round: new bytes, same pixels.
fn round_variant(jpeg: &[u8], round: usize) -> Vec<u8> {
    let text = format!("fieldproof capture bench, round {round}");
    let mut comment = vec![0xff, 0xfe];
    comment.extend_from_slice(&(text.len() as u16 + 2).to_be_bytes());
    comment.extend_from_slice(text.as_bytes());
    with_segment_after_soi(jpeg, &comment)
}

/// What capture cannot avoid: the file copied, hashed and made durable.
fn copy_hash_fsync(source: &Path, target: &Path) -> [u8; 32] {
    let mut input = File::open(source).unwrap();
    let mut output = File::create(target).unwrap();
    let mut hash = Context::new(&SHA256);
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = input.read(&mut buffer).unwrap();
        if n == 0 {
            break;
        }
        hash.update(&buffer[..n]);
        output.write_all(&buffer[..n]).unwrap();
    }
    output.sync_all().unwrap();
    hash.finish().as_ref().try_into().unwrap()
}

fn read_and_decode(path: &Path, scale: ScalingFactor) -> usize {
    let bytes = std::fs::read(path).unwrap();
    decode(&bytes, scale).pixels.len()
}

fn context() -> CaptureContext {
    CaptureContext {
        source: CaptureSource::Camera,
        inspection_id: None,
        task_id: None,
        officer_id: Some("officer-bench".into()),
        monotonic_ms: None,
        boot_id: None,
        app_version: "bench".into(),
    }
}

fn median_ms(samples: &mut [Duration]) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e3
}

#[derive(Default)]
struct Samples {
    capture: Vec<Duration>,
    preview: Vec<Duration>,
    decode_eighth: Vec<Duration>,
    decode_half: Vec<Duration>,
    decode_preview_scale: Vec<Duration>,
    copy: Vec<Duration>,
}

/// The smallest scale libjpeg offers (n/8) that still gives a 1280 px preview.
fn preview_scale(jpeg: &[u8]) -> ScalingFactor {
    let header = Decompressor::new().unwrap().read_header(jpeg).unwrap();
    let long = header.width.max(header.height);
    (1..=8)
        .map(|n| ScalingFactor::new(n, 8))
        .find(|s| (long * s.num()).div_ceil(s.denom()) >= 1280)
        .unwrap_or(ScalingFactor::ONE)
}

fn bench(label: &str, jpeg: &[u8], rounds: usize, work: &Path) {
    let dir = work.join(label);
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(dir.join("device.db")).unwrap();
    // Schema, key and first record exist before anything is timed.
    let warm = dir.join("warm.jpg");
    std::fs::write(&warm, round_variant(jpeg, usize::MAX)).unwrap();
    store
        .capture_photo(PhotoSource::Path(warm.clone()), None, context())
        .unwrap();
    store.prepare_previews(Duration::from_secs(600)).unwrap();

    let mut s = Samples::default();
    let own_scale = preview_scale(jpeg);
    let (mut capture_peak, mut preview_peak) = (0, 0);
    for round in 0..rounds {
        let photo = dir.join(format!("photo-{round}.jpg"));
        std::fs::write(&photo, round_variant(jpeg, round)).unwrap();
        for step in 0..6 {
            match (step + round) % 6 {
                0 => {
                    let start = Instant::now();
                    let (captured, peak) = peak_growth(|| {
                        store.capture_photo(PhotoSource::Path(photo.clone()), None, context())
                    });
                    s.capture.push(start.elapsed());
                    let captured = captured.unwrap();
                    assert_eq!(
                        captured.thumbnail,
                        fieldproof_core::model::photo::Derivative::Ok
                    );
                    capture_peak = capture_peak.max(peak);
                    let start = Instant::now();
                    let (report, peak) =
                        peak_growth(|| store.prepare_previews(Duration::from_secs(600)));
                    s.preview.push(start.elapsed());
                    assert_eq!(report.unwrap().made, 1, "one preview made");
                    preview_peak = preview_peak.max(peak);
                }
                1 => {
                    let start = Instant::now();
                    std::hint::black_box(read_and_decode(&photo, ScalingFactor::ONE_EIGHTH));
                    s.decode_eighth.push(start.elapsed());
                }
                2 => {
                    let start = Instant::now();
                    std::hint::black_box(read_and_decode(&photo, ScalingFactor::ONE_HALF));
                    s.decode_half.push(start.elapsed());
                }
                4 => {
                    let start = Instant::now();
                    std::hint::black_box(read_and_decode(&photo, own_scale));
                    s.decode_preview_scale.push(start.elapsed());
                }
                3 => {
                    let target = dir.join(format!("copy-{round}"));
                    let start = Instant::now();
                    std::hint::black_box(copy_hash_fsync(&photo, &target));
                    s.copy.push(start.elapsed());
                }
                _ => {}
            }
        }
    }

    let capture = median_ms(&mut s.capture);
    let preview = median_ms(&mut s.preview);
    let eighth = median_ms(&mut s.decode_eighth);
    let half = median_ms(&mut s.decode_half);
    let own = median_ms(&mut s.decode_preview_scale);
    let copy = median_ms(&mut s.copy);
    let floor = eighth.max(copy);
    let mib = |b: usize| b as f64 / 1048576.0;
    println!(
        "== {label}: {} KiB, median of {rounds} rounds",
        jpeg.len() / 1024
    );
    println!(
        "  capture_photo                      {capture:8.1} ms  peak heap +{:.1} MiB",
        mib(capture_peak)
    );
    println!("  libjpeg-turbo decode 1/8           {eighth:8.1} ms");
    println!("  copy + SHA-256 + fsync             {copy:8.1} ms");
    println!(
        "  capture / max(decode, copy)        {:8.2}    goal: capture <= 1.3 x {floor:.1} + 5 = {:.1} ms ({})",
        capture / floor,
        1.3 * floor + 5.0,
        if capture <= 1.3 * floor + 5.0 { "met" } else { "missed" }
    );
    println!(
        "  preview (prepare_previews, 1 photo){preview:8.1} ms  peak heap +{:.1} MiB",
        mib(preview_peak)
    );
    println!("  libjpeg-turbo decode 1/2           {half:8.1} ms");
    println!(
        "  libjpeg-turbo decode {}/{}           {own:8.1} ms  (the scale the preview decodes at)",
        own_scale.num(),
        own_scale.denom()
    );
    println!(
        "  preview / decode 1/2               {:8.2}    goal <= 1.3 ({})",
        preview / half,
        if preview <= 1.3 * half {
            "met"
        } else {
            "missed"
        }
    );
    println!(
        "  preview / decode {}/{}               {:8.2}",
        own_scale.num(),
        own_scale.denom(),
        preview / own
    );
}

fn main() {
    let rounds = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(9usize);
    let photo = support::corpus_dir("photos").join("camera/olympus_ep3_12mp_42_IndexError.jpg");
    let original = std::fs::read(photo).unwrap();
    let big = forty_eight_megapixels(&original);
    let work = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    bench("12mp", &original, rounds, work.path());
    bench("48mp", &big, rounds, work.path());
    println!("peak memory goal at 48 MP: <= 64 MiB of heap growth per capture and per preview");
}
