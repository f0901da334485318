//! Case-file benchmark: a case of 30 photos × 4 MB, synced by a real device to
//! a bureau on loopback, then built (the bureau's plan and zip stream, written
//! to a file) and verified (the offline verifier), each against `sha256sum` of
//! the same 30 files and against reading and hashing them in process with ring
//! (the SHA-256 the core uses), in the same run — reading and hashing every
//! byte once is the floor both must do. Figures are printed, never asserted.
//!
//!     cargo bench -p fieldproof-e2e --bench case_file [-- ROUNDS]
//!
//! The build is also timed over HTTP: `GET /v1/admin/inspections/{id}/bundle`
//! streamed to a file by a client in the same process (so its peak counts the
//! bureau's stream and the client together).
//!
//! Goals: verify ≤ 1.5 × sha256sum, build ≤ 2 × sha256sum, peak memory of
//! either well under 64 MiB above the process's resting size. Peak memory is
//! the rise of VmHWM (Linux: reset through /proc/self/clear_refs before each
//! phase). ROUNDS (default 3): medians are printed, and the first build alone,
//! which makes the photos' thumbnails (bureau/src/photo_thumbnails.rs).

use fieldproof_bureau::cases::case_file;
use fieldproof_core::case_file::{verify_case_file, BureauKeyGiven};
use fieldproof_e2e::{corpus, sync_until_done, Device, TestBureau, Wire};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const PHOTOS: usize = 30;
const PHOTO_BYTES: usize = 4 << 20;

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3);
    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    let inspection = device.record_inspection("430121001", "望城区白箬铺镇光明村");
    let dir = tempfile::tempdir().unwrap();
    let photos = four_megabyte_photos(dir.path());
    for photo in &photos {
        fieldproof_e2e::capture(&device.store, &inspection, photo);
    }
    device.store.submit(&inspection).unwrap();
    sync_until_done(&device.engine(Wire::new()), 20);
    let stored: Vec<PathBuf> = photos
        .iter()
        .map(|p| {
            bureau.photo_path(&fieldproof_core::hex::encode(
                &fieldproof_core::evidence::sha256(&std::fs::read(p).unwrap()),
            ))
        })
        .collect();
    let key =
        BureauKeyGiven::from_file_bytes(&std::fs::read(bureau.public_key_file()).unwrap()).unwrap();
    let zip = dir.path().join("case.zip");
    println!(
        "case file: {PHOTOS} photos × {} MiB, {rounds} rounds",
        PHOTO_BYTES >> 20
    );

    let (mut floor, mut ring_floor, mut build, mut verify) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut build_peak, mut verify_peak) = (0u64, 0u64);
    let (mut download, mut download_peak) = (Vec::new(), 0u64);
    for _ in 0..rounds {
        floor.push(timed(|| sha256sum(&stored)).0);
        ring_floor.push(timed(|| hash_in_process(&stored)).0);
        let ((), seconds, peak) = measured(|| {
            let plan = case_file::plan_now(bureau.bureau(), &inspection).unwrap();
            let file = std::io::BufWriter::new(std::fs::File::create(&zip).unwrap());
            let mut file = plan.write(file, &bureau.bureau().key).unwrap();
            file.flush().unwrap();
            file.get_ref().sync_all().unwrap();
        });
        build.push(seconds);
        build_peak = build_peak.max(peak);
        let ((), seconds, peak) = measured(|| {
            assert_eq!(
                bureau.case_file(&inspection, &dir.path().join("download.zip")),
                200
            );
        });
        download.push(seconds);
        download_peak = download_peak.max(peak);
        let (report, seconds, peak) = measured(|| verify_case_file(&zip, &key).unwrap());
        assert!(report.ok, "{}", report.to_text());
        verify.push(seconds);
        verify_peak = verify_peak.max(peak);
    }
    // The first build also makes the photos' thumbnails (kept for the builds
    // after it): the cost of a case exported before anyone opened it.
    let first_build = build[0];
    let (floor, ring_floor) = (median(floor), median(ring_floor));
    let (build, verify, download) = (median(build), median(verify), median(download));
    let size = std::fs::metadata(&zip).unwrap().len();
    println!(
        "sha256sum (baseline): {:.3} s, {:.0} MB/s",
        floor,
        mb(size) / floor
    );
    println!(
        "read + SHA-256 in process (ring, the same code's floor): {:.3} s, {:.0} MB/s",
        ring_floor,
        mb(size) / ring_floor
    );
    for (what, seconds, peak, goal) in [
        ("build ", build, build_peak, 2.0),
        (
            "build over HTTP (bureau streams, client writes; one process)",
            download,
            download_peak,
            2.0,
        ),
        ("verify", verify, verify_peak, 1.5),
    ] {
        println!(
            "{what}: {seconds:.3} s, {:.0} MB/s, {:.2}× sha256sum (goal ≤ {goal}), {:.2}× in-process hashing, peak RSS +{} KiB",
            mb(size) / seconds,
            seconds / floor,
            seconds / ring_floor,
            peak >> 10
        );
    }
    println!(
        "first build (makes the {PHOTOS} thumbnails): {first_build:.3} s, {:.2}× sha256sum",
        first_build / floor
    );
    println!("zip: {size} bytes");
}

/// 30 distinct photos of 4 MiB: the 12 MP corpus photo, its bytes after the
/// end-of-image marker filled up to size (decoders stop at the marker; each
/// photo gets its own fill, so each has its own hash).
fn four_megabyte_photos(dir: &Path) -> Vec<PathBuf> {
    let base = std::fs::read(corpus("photos/camera/olympus_ep3_12mp_42_IndexError.jpg")).unwrap();
    (0..PHOTOS)
        .map(|i| {
            let mut bytes = base.clone();
            let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ i as u64;
            while bytes.len() < PHOTO_BYTES {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                bytes.extend_from_slice(&state.to_le_bytes());
            }
            bytes.truncate(PHOTO_BYTES);
            let path = dir.join(format!("photo-{i:02}.jpg"));
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect()
}

fn sha256sum(files: &[PathBuf]) {
    let status = Command::new("sha256sum")
        .args(files)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

/// Every byte of the files read and hashed once, in 64 KiB reads.
fn hash_in_process(files: &[PathBuf]) {
    let mut buffer = vec![0u8; 64 * 1024];
    for file in files {
        let mut file = std::fs::File::open(file).unwrap();
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        loop {
            let n = std::io::Read::read(&mut file, &mut buffer).unwrap();
            if n == 0 {
                break;
            }
            context.update(&buffer[..n]);
        }
        std::hint::black_box(context.finish());
    }
}

fn timed<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let start = Instant::now();
    let value = f();
    (start.elapsed().as_secs_f64(), value)
}

/// The value, the seconds taken, and how far the resident set's peak rose.
fn measured<T>(f: impl FnOnce() -> T) -> (T, f64, u64) {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_kib("VmRSS:");
    let (seconds, value) = timed(f);
    let peak = status_kib("VmHWM:");
    (value, seconds, peak.saturating_sub(before) * 1024)
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}
