//! Case files end to end: a real device syncs a case with real photos to a real
//! bureau on loopback, the bureau streams the case file over HTTP, and the
//! offline verifier checks it with nothing but the zip and the public key. Then
//! every tampering a court must not miss, each named by its code, and hostile
//! archives refused without a byte written anywhere.

use fieldproof_core::case_file::format::{self, Manifest};
use fieldproof_core::case_file::{verify_case_file, BureauKeyGiven, VerifyReport};
use fieldproof_core::evidence::keys::key_id;
use fieldproof_core::geo::gpx;
use fieldproof_core::model::acknowledgement::{Acknowledgement, AcknowledgementInput, SignerRole};
use fieldproof_core::model::photo::CaptureContext;
use fieldproof_e2e::{camera_context, corpus, sync_until_done, Device, TestBureau, Wire};
use serde_json::Value;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

const PHOTO_A1: &str = "photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg";
const PHOTO_A2: &str = "photos/camera/canon_sx60_orient6.jpg";
const PHOTO_OTHER: &str = "photos/camera/phone_iphone6_gps_hdr.jpg";
const OTHER_ADDRESS: &str = "望城区乌山街道另一案现场";
const WALKED_FIXES: usize = 30;

/// A synced case: inspection `case` (with two photos, a note and a patrol on
/// the site) and, between its records, another inspection's photo on the same
/// device.
struct Case {
    bureau: TestBureau,
    _device: Device,
    case: String,
    other: String,
    other_photo_sha256: String,
    dir: tempfile::TempDir,
    zip: PathBuf,
}

fn case() -> Case {
    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    let case = device.record_inspection("430121001", "望城区白箬铺镇光明村");
    let other = device.record_inspection("430121001", OTHER_ADDRESS);
    device.capture(&case, PHOTO_A1);
    let other_photo = device.capture(&other, PHOTO_OTHER);
    device.note(Some(&case), "焚烧点已熄灭，当事人在场");
    device.walk(&case, WALKED_FIXES);
    device.capture(&case, PHOTO_A2);
    device.store.submit(&case).unwrap();
    device.store.submit(&other).unwrap();
    sync_until_done(&device.engine(Wire::new()), 10);
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("case.zip");
    assert_eq!(bureau.case_file(&case, &zip), 200);
    Case {
        bureau,
        _device: device,
        case,
        other,
        other_photo_sha256: other_photo.sha256,
        dir,
        zip,
    }
}

fn key(bureau: &TestBureau) -> BureauKeyGiven {
    BureauKeyGiven::from_file_bytes(&std::fs::read(bureau.public_key_file()).unwrap()).unwrap()
}

/// The Rust verdict, after checking that the independent Python verifier
/// (tests/python/case_file_verifier.py, written from docs/evidence-bundle.md)
/// reaches the same one with the same failures.
fn verify(case: &Case, zip: &Path) -> VerifyReport {
    verify_both(&case.bureau, zip)
}

fn verify_both(bureau: &TestBureau, zip: &Path) -> VerifyReport {
    let report = verify_case_file(zip, &key(bureau)).unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../python/case_file_verifier.py"
    );
    let output = std::process::Command::new("python3")
        .arg(script)
        .arg(zip)
        .arg("--bureau-key")
        .arg(bureau.public_key_file())
        .output()
        .expect("python3 runs (scripts/install-test-deps installs what it needs)");
    let python: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "case_file_verifier.py answered no JSON:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    // Failures and flags as sorted (code, file) sets, from either verifier.
    let python_set = |list: &Value| {
        let pairs = list.as_array().unwrap().iter().map(|f| {
            let text = |k: &str| f[k].as_str().unwrap().to_owned();
            (text("code"), text("file"))
        });
        sorted_set(pairs.collect())
    };
    let rust_set = |list: &[fieldproof_core::case_file::Finding]| {
        sorted_set(
            list.iter()
                .map(|f| (f.code.clone(), f.file.clone()))
                .collect(),
        )
    };
    let what = zip.display();
    assert_eq!(
        rust_set(&report.failures),
        python_set(&python["failures"]),
        "Rust and Python disagree on {what}"
    );
    assert_eq!(
        rust_set(&report.flags),
        python_set(&python["flags"]),
        "Rust and Python flag differently on {what}"
    );
    assert_eq!(python["ok"], report.ok);
    assert_eq!(output.status.success(), report.ok);
    report
}

fn codes(report: &VerifyReport) -> Vec<(String, String)> {
    report
        .failures
        .iter()
        .map(|f| (f.code.clone(), f.file.clone()))
        .collect()
}

fn sorted_set(mut pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    pairs.sort();
    pairs.dedup();
    pairs
}

/// Every entry of a zip, in order.
fn entries(zip: &Path) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).unwrap();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            (entry.name().unwrap().into_owned(), bytes)
        })
        .collect()
}

fn write_zip(path: &Path, entries: &[(String, Vec<u8>)]) {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(bytes).unwrap();
    }
    std::fs::write(path, zip.finish().unwrap().into_inner()).unwrap();
}

/// A copy of the case file with `change` applied to its entries.
fn tampered(case: &Case, name: &str, change: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) -> PathBuf {
    let mut all = entries(&case.zip);
    change(&mut all);
    let path = case.dir.path().join(format!("{name}.zip"));
    write_zip(&path, &all);
    path
}

fn entry<'a>(all: &'a mut [(String, Vec<u8>)], name: &str) -> &'a mut Vec<u8> {
    &mut all
        .iter_mut()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} in the zip"))
        .1
}

fn manifest_of(all: &[(String, Vec<u8>)]) -> Manifest {
    serde_json::from_slice(&all.iter().find(|(n, _)| n == format::MANIFEST).unwrap().1).unwrap()
}

/// What an insider holding the bureau's signing key (but no device key) can do:
/// edit the manifest and sign it again.
fn resign(case: &Case, all: &mut [(String, Vec<u8>)], edit: impl FnOnce(&mut Value)) {
    let mut manifest: Value = serde_json::from_slice(entry(all, format::MANIFEST)).unwrap();
    edit(&mut manifest);
    let bytes = serde_json::to_vec_pretty(&manifest).unwrap();
    let signature = case
        .bureau
        .signing_key()
        .sign_message(&format::manifest_message(&bytes))
        .unwrap();
    *entry(all, format::MANIFEST) = bytes;
    *entry(all, format::MANIFEST_SIGNATURE) = signature;
}

/// The GPX and GeoJSON of the case's one track segment.
fn track_files(case: &Case) -> (Vec<u8>, Vec<u8>) {
    let all = entries(&case.zip);
    let tracks: Vec<&(String, Vec<u8>)> = all
        .iter()
        .filter(|(n, _)| n.starts_with("tracks/"))
        .collect();
    let names: Vec<&str> = tracks.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(tracks.len(), 2, "{names:?}");
    let of = |ext: &str| {
        tracks
            .iter()
            .find(|(n, _)| n.ends_with(ext))
            .unwrap_or_else(|| panic!("a {ext} in {names:?}"))
            .1
            .clone()
    };
    (of(".gpx"), of(".geojson"))
}

/// An insider's edit: file `path` replaced by `bytes`, the manifest listing
/// the new size and hash, and signed again.
fn replace_and_resign(case: &Case, all: &mut [(String, Vec<u8>)], path: &str, bytes: Vec<u8>) {
    let (size, sha256) = (
        bytes.len() as u64,
        fieldproof_core::evidence::sha256(&bytes),
    );
    *entry(all, path) = bytes;
    resign(case, all, |m| {
        for f in m["files"].as_array_mut().unwrap() {
            if f["path"] == path {
                f["size"] = size.into();
                f["sha256"] = fieldproof_core::hex::encode(&sha256).into();
            }
        }
    });
}

fn media_entries(all: &[(String, Vec<u8>)]) -> Vec<String> {
    all.iter()
        .map(|(n, _)| n.clone())
        .filter(|n| n.starts_with("media/"))
        .collect()
}

#[test]
fn a_case_file_verifies_offline_and_holds_nothing_of_another_case() {
    let case = case();
    let report = verify(&case, &case.zip);
    assert!(report.ok, "{}", report.to_text());
    assert_eq!(report.inspection_id.as_deref(), Some(case.case.as_str()));
    // Two captures, the note and the patrol segment, each intact, signed by
    // the enrolled device.
    let kinds: Vec<&str> = report.items.iter().map(|i| i.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["capture", "note", "track_segment", "capture"],
        "{}",
        report.to_text()
    );
    assert!(report.items.iter().all(|i| i.intact));
    assert_eq!(report.signers.len(), 1);
    assert_eq!(report.signers[0].records, 4);
    // The other case's photo lies between them: named by hash, not copied.
    assert_eq!(report.chains.len(), 1);
    assert_eq!((report.chains[0].present, report.chains[0].omitted), (4, 1));
    // The segment's points, as GPX and GeoJSON, are the fixes walked.
    let (gpx, geojson) = track_files(&case);
    let walked = gpx::parse_gpx(&gpx).unwrap();
    let points = &walked.tracks[0].segments[0];
    assert_eq!(points.len(), WALKED_FIXES);
    assert!(
        (points[0].lat - 28.2547).abs() < 0.01,
        "WGS-84 near the site"
    );
    assert!(points
        .iter()
        .all(|p| p.mock == Some(false) && p.accuracy_m.is_some()));
    let feature: Value = serde_json::from_slice(&geojson).unwrap();
    assert_eq!(feature["geometry"]["type"], "LineString");
    assert_eq!(
        feature["geometry"]["coordinates"][0],
        serde_json::json!([points[0].lon, points[0].lat])
    );
    assert_eq!(
        feature["properties"]["time_ms"][0],
        points[0].time_ms.unwrap()
    );

    let all = entries(&case.zip);
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(media_entries(&all).len(), 2, "{names:?}");
    for (name, bytes) in &all {
        assert!(!name.contains(&case.other), "{name}");
        assert!(!name.contains(&case.other_photo_sha256), "{name}");
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains(OTHER_ADDRESS),
            "{name} holds the other case's address"
        );
        assert!(!text.contains(&case.other), "{name} names the other case");
    }
    // The photos are the device's originals, byte for byte.
    let originals: Vec<Vec<u8>> = [PHOTO_A1, PHOTO_A2]
        .iter()
        .map(|p| std::fs::read(corpus(p)).unwrap())
        .collect();
    for name in media_entries(&all) {
        let bytes = &all.iter().find(|(n, _)| *n == name).unwrap().1;
        assert!(originals.contains(bytes), "{name} is an original");
    }
    // Given by key id instead of the key, the same verdict.
    let id = key_id(&hex_key(&case.bureau));
    let by_id = verify_case_file(&case.zip, &BureauKeyGiven::KeyId(id)).unwrap();
    assert!(by_id.ok);
    // Another bureau's key: nothing in the case file is trusted.
    let stranger = TestBureau::start();
    let report = verify_case_file(&case.zip, &key(&stranger)).unwrap();
    assert_eq!(
        codes(&report),
        [("bureau_key_mismatch".into(), format::BUREAU_KEY.into())]
    );
    // An inspection the bureau does not have.
    assert_eq!(
        case.bureau.case_file(
            "0191e7c4-0000-7000-8000-000000000000",
            &case.dir.path().join("none.zip")
        ),
        404
    );
}

fn hex_key(bureau: &TestBureau) -> Vec<u8> {
    match key(bureau) {
        BureauKeyGiven::PublicKey(key) => key,
        BureauKeyGiven::KeyId(_) => unreachable!(),
    }
}

#[test]
fn every_tampering_is_named() {
    let case = case();
    let all = entries(&case.zip);
    let manifest = manifest_of(&all);
    let media = media_entries(&all);
    let records: Vec<String> = manifest.records.iter().map(|r| r.path.clone()).collect();
    let revision = format::revision_path(1, &case.case);
    let has = |report: &VerifyReport, code: &str, file: &str| {
        report
            .failures
            .iter()
            .any(|f| f.code == code && f.file == file)
    };
    let check = |name: &str, path: PathBuf, expected: &[(&str, &str)]| {
        let report = verify(&case, &path);
        assert!(!report.ok, "{name}: passed");
        for (code, file) in expected {
            assert!(
                has(&report, code, file),
                "{name}: no {code} on {file}: {:?}",
                codes(&report)
            );
        }
    };

    let photo = media[0].clone();
    check(
        "one byte of a photo flipped",
        tampered(&case, "flip", |all| entry(all, &photo)[1000] ^= 1),
        &[("file_hash_mismatch", &photo)],
    );
    let (a, b) = (media[0].clone(), media[1].clone());
    check(
        "two photos swapped",
        tampered(&case, "swap", |all| {
            let first = entry(all, &a).clone();
            let second = std::mem::replace(entry(all, &b), first);
            *entry(all, &a) = second;
        }),
        &[("file_hash_mismatch", &a), ("file_hash_mismatch", &b)],
    );
    let removed = records[1].clone();
    check(
        "a record removed",
        tampered(&case, "removed", |all| all.retain(|(n, _)| *n != removed)),
        &[("file_missing", &removed)],
    );
    let copy = records[0].replace(".cose", "-copy.cose");
    check(
        "a record duplicated",
        tampered(&case, "duplicated", |all| {
            let bytes = entry(all, &records[0]).clone();
            all.push((copy.clone(), bytes));
        }),
        &[
            ("file_not_in_manifest", &copy),
            ("record_not_listed", &copy),
        ],
    );
    check(
        "two records reordered",
        tampered(&case, "reordered", |all| {
            let first = entry(all, &records[0]).clone();
            let second = std::mem::replace(entry(all, &records[2]), first);
            *entry(all, &records[0]) = second;
        }),
        &[
            ("file_hash_mismatch", &records[0]),
            ("not_included", &records[0]),
            ("chain_broken", &records[0]),
        ],
    );
    check(
        "inspection edited",
        tampered(&case, "edited", |all| {
            let text = String::from_utf8(entry(all, &revision).clone()).unwrap();
            *entry(all, &revision) = text
                .replace("田间焚烧秸秆约两亩", "未发现焚烧")
                .into_bytes();
        }),
        &[("file_hash_mismatch", &revision)],
    );
    check(
        "a file added outside the manifest",
        tampered(&case, "added", |all| {
            all.push(("media/extra.jpg".into(), b"not evidence".to_vec()))
        }),
        &[("file_not_in_manifest", "media/extra.jpg")],
    );
    check(
        "the manifest edited",
        tampered(&case, "manifest", |all| {
            let text = String::from_utf8(entry(all, format::MANIFEST).clone()).unwrap();
            *entry(all, format::MANIFEST) =
                text.replacen("\"seq\": 1", "\"seq\": 9", 1).into_bytes();
        }),
        &[("manifest_signature_invalid", format::MANIFEST_SIGNATURE)],
    );

    // An insider with the bureau's key re-signs the manifest: still caught.
    let forged = records[0].clone();
    check(
        "a record signed by a key the bureau did not enroll",
        tampered(&case, "unenrolled", |all| {
            let stranger = Device::new();
            let seq = stranger.note(Some(&case.case), "伪造的记录");
            let signed = stranger.store.evidence_record(seq).unwrap();
            replace_and_resign(&case, all, &forged, signed);
        }),
        &[
            ("record_signature_invalid", &forged),
            ("not_included", &forged),
        ],
    );
    let certificate = manifest
        .files
        .iter()
        .find(|f| f.path.starts_with("certificates/"))
        .unwrap()
        .path
        .clone();
    check(
        "a certificate signed by another key",
        tampered(&case, "certificate", |all| {
            let other = TestBureau::start();
            let device = Device::new();
            device.enroll(&other);
            let bytes = other
                .database()
                .query_row("SELECT certificate FROM devices", [], |r| {
                    r.get::<_, Vec<u8>>(0)
                })
                .unwrap();
            *entry(all, &certificate) = bytes;
        }),
        &[
            ("certificate_invalid", &certificate),
            ("unknown_signer", &certificate),
        ],
    );
    check(
        "the checkpoint's signature forged",
        tampered(&case, "checkpoint", |all| {
            resign(&case, all, |m| {
                let signature = m["checkpoint"]["signature"].as_str().unwrap().to_owned();
                let flipped = if signature.starts_with('0') { "1" } else { "0" };
                m["checkpoint"]["signature"] = format!("{flipped}{}", &signature[1..]).into();
            })
        }),
        &[("checkpoint_signature_invalid", format::MANIFEST)],
    );
    let last = manifest.records.last().unwrap().clone();
    let (_, smaller) = case.bureau.admin(
        "GET",
        &format!(
            "/v1/custody/inclusion?leaf_index=0&tree_size={}",
            manifest.checkpoint.tree_size - 1
        ),
        None,
    );
    check(
        "an inclusion proof for another tree size",
        tampered(&case, "proof", |all| {
            resign(&case, all, |m| {
                let first = &mut m["records"][0];
                first["inclusion_proof"] = smaller["proof"].clone();
            })
        }),
        &[("not_included", &manifest.records[0].path)],
    );
    assert_ne!(last.path, manifest.records[0].path);

    // The patrol's points: a moved point is caught from either file, even
    // when an insider lists the edited file in a re-signed manifest.
    let track = |ext: &str| {
        let (name, _) = all
            .iter()
            .find(|(n, _)| n.starts_with("tracks/") && n.ends_with(ext))
            .unwrap();
        name.clone()
    };
    let (gpx_file, geojson_file) = (track(".gpx"), track(".geojson"));
    let (gpx_bytes, geojson_bytes) = track_files(&case);
    let first_lat = gpx::parse_gpx(&gpx_bytes).unwrap().tracks[0].segments[0][0].lat;
    let moved_gpx = String::from_utf8(gpx_bytes.clone())
        .unwrap()
        .replacen(&format!("lat=\"{first_lat}\""), "lat=\"28.3\"", 1)
        .into_bytes();
    assert_ne!(moved_gpx, gpx_bytes);
    check(
        "a patrol point moved in the GPX",
        tampered(&case, "gpx", |all| {
            *entry(all, &gpx_file) = moved_gpx.clone()
        }),
        &[
            ("file_hash_mismatch", &gpx_file),
            ("track_points_mismatch", &gpx_file),
        ],
    );
    let mut feature: Value = serde_json::from_slice(&geojson_bytes).unwrap();
    feature["geometry"]["coordinates"][3][1] = 28.3.into();
    check(
        "a patrol point moved in the GeoJSON, the manifest re-signed",
        tampered(&case, "geojson", |all| {
            replace_and_resign(
                &case,
                all,
                &geojson_file,
                serde_json::to_vec(&feature).unwrap(),
            )
        }),
        &[("track_points_mismatch", &geojson_file)],
    );
    let mut cut: Value = serde_json::from_slice(&geojson_bytes).unwrap();
    cut["properties"]["mock"].as_array_mut().unwrap().pop();
    check(
        "a GeoJSON whose columns disagree",
        tampered(&case, "columns", |all| {
            replace_and_resign(&case, all, &geojson_file, serde_json::to_vec(&cut).unwrap())
        }),
        &[("track_file_invalid", &geojson_file)],
    );
    let stray = "tracks/another-device/000000000001.gpx".to_owned();
    check(
        "a track file of no record in the case",
        tampered(&case, "stray", |all| {
            all.push((stray.clone(), gpx_bytes.clone()));
            let sha256 =
                fieldproof_core::hex::encode(&fieldproof_core::evidence::sha256(&gpx_bytes));
            resign(&case, all, |m| {
                m["files"].as_array_mut().unwrap().push(
                    serde_json::json!({ "path": stray, "size": gpx_bytes.len(), "sha256": sha256 }),
                );
            })
        }),
        &[("track_file_unmatched", &stray)],
    );

    // A manifest naming seqs far apart (or seq 0) is a gap, checked at once.
    for (name, seq, expected) in [
        ("far", 1u64 << 60, ["chain_gap", "not_included"]),
        ("zero", 0, ["record_misplaced", "record_misplaced"]),
    ] {
        let device = manifest.records[0].device_id.clone();
        let path = format::record_path(&device, seq);
        let copy = path.clone();
        check(
            name,
            tampered(&case, name, |all| {
                let bytes = entry(all, &records[0]).clone();
                all.push((copy.clone(), bytes.clone()));
                resign(&case, all, |m| {
                    let mut record = m["records"][0].clone();
                    record["path"] = copy.as_str().into();
                    record["seq"] = seq.into();
                    record["leaf_index"] = 999.into();
                    m["records"].as_array_mut().unwrap().push(record);
                    let sha256 =
                        fieldproof_core::hex::encode(&fieldproof_core::evidence::sha256(&bytes));
                    m["files"].as_array_mut().unwrap().push(
                        serde_json::json!({ "path": copy, "size": bytes.len(), "sha256": sha256 }),
                    );
                })
            }),
            &[
                (expected[0], if seq == 0 { &path } else { format::MANIFEST }),
                (expected[1], &path),
            ],
        );
    }
}

#[test]
fn hostile_archives_are_refused_cleanly() {
    let case = case();
    let dir = case.dir.path();
    let refused = |name: &str, bytes: Vec<u8>| -> Vec<(String, String)> {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let report = verify(&case, &path);
        assert!(!report.ok, "{name} passed");
        codes(&report)
    };
    let before = listing(dir);
    let one = |code: &str, file: &str| vec![(code.to_owned(), file.to_owned())];
    assert_eq!(
        refused("up.zip", raw_zip(&[("../evil.txt", b"x", false)])),
        one("unsafe_entry_name", "../evil.txt")
    );
    assert_eq!(
        refused("abs.zip", raw_zip(&[("/tmp/evil.txt", b"x", false)])),
        one("unsafe_entry_name", "/tmp/evil.txt")
    );
    assert_eq!(
        refused(
            "dup.zip",
            raw_zip(&[
                ("manifest.json", b"{}", false),
                ("manifest.json", b"[]", false)
            ])
        ),
        one("duplicate_entry", "")
    );
    assert_eq!(
        refused(
            "link.zip",
            raw_zip(&[("media/a.jpg", b"/etc/passwd", true)])
        ),
        one("symlink_entry", "media/a.jpg")
    );
    assert_eq!(
        refused("bomb.zip", bomb()),
        one("compression_ratio", "inspection/case.json")
    );
    let whole = std::fs::read(&case.zip).unwrap();
    assert_eq!(
        refused("truncated.zip", whole[..whole.len() / 2].to_vec()),
        one("truncated_archive", "")
    );
    assert_eq!(
        refused("photo.zip", std::fs::read(corpus(PHOTO_A1)).unwrap()),
        one("not_a_zip", "")
    );
    assert_eq!(refused("empty.zip", Vec::new()), one("not_a_zip", ""));
    // Nothing was extracted anywhere: the folder holds what the test wrote.
    let after = listing(dir);
    let new: Vec<_> = after.iter().filter(|n| !before.contains(n)).collect();
    assert_eq!(
        new,
        [
            "abs.zip",
            "bomb.zip",
            "dup.zip",
            "empty.zip",
            "link.zip",
            "photo.zip",
            "truncated.zip",
            "up.zip"
        ]
    );
    assert!(!dir.join("../evil.txt").exists() && !Path::new("/tmp/evil.txt").exists());
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// 64 MiB of zeros deflated to a few tens of kilobytes.
fn bomb() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("inspection/case.json", options).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        zip.write_all(&zeros).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A stored zip written byte by byte, to make what well-behaved writers refuse
/// to: two entries of one name, names that climb out, symbolic links.
fn raw_zip(entries: &[(&str, &[u8], bool)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data, symlink) in entries {
        let offset = out.len() as u32;
        let crc = fieldproof_core::fixtures::crc32(data);
        let fixed = |buf: &mut Vec<u8>| {
            buf.extend_from_slice(&0u16.to_le_bytes()); // flags
            buf.extend_from_slice(&0u16.to_le_bytes()); // stored
            buf.extend_from_slice(&0u32.to_le_bytes()); // time, date
            buf.extend_from_slice(&crc.to_le_bytes());
            buf.extend_from_slice(&(data.len() as u32).to_le_bytes());
            buf.extend_from_slice(&(data.len() as u32).to_le_bytes());
            buf.extend_from_slice(&(name.len() as u16).to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes()); // extra
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes());
        fixed(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&0x031eu16.to_le_bytes()); // made by: Unix
        central.extend_from_slice(&20u16.to_le_bytes());
        fixed(&mut central);
        central.extend_from_slice(&0u16.to_le_bytes()); // comment
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        let mode: u32 = if *symlink { 0o120_777 } else { 0o100_644 };
        central.extend_from_slice(&(mode << 16).to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let central_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn signature(role: SignerRole, refused: bool) -> AcknowledgementInput {
    AcknowledgementInput {
        role,
        name: Some("张三".into()),
        refused,
        image_png: fieldproof_core::fixtures::signature_png(),
    }
}

fn acknowledge(
    device: &Device,
    id: &str,
    input: AcknowledgementInput,
) -> fieldproof_core::Result<Acknowledgement> {
    device.store.acknowledge(id, input, None, camera_context())
}

#[test]
fn an_acknowledgement_binds_the_revision_it_was_signed_over() {
    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    let id = device.record_inspection("430121001", "望城区白箬铺镇光明村");
    device.capture(&id, PHOTO_A1);
    let ack = acknowledge(&device, &id, signature(SignerRole::Party, false)).unwrap();
    assert_eq!((ack.revision, ack.role), (0, SignerRole::Party));
    let now = serde_json::to_value(device.store.get_inspection(&id).unwrap()).unwrap();
    let content = fieldproof_core::model::canonical::content_sha256(&now).unwrap();
    assert_eq!(
        ack.inspection_sha256,
        fieldproof_core::hex::encode(&content)
    );
    let witness = acknowledge(&device, &id, signature(SignerRole::Witness, true)).unwrap();
    assert!(witness.refused);
    // Kept and uploaded like photos, the signatures are not photos of the scene.
    assert_eq!(device.store.photos_of_inspection(&id).unwrap().len(), 1);
    assert_eq!(device.store.photo(&ack.photo_id).unwrap().mime, "image/png");
    // Submitting changes the status, not the content the party signed.
    device.store.submit(&id).unwrap();
    let engine = device.engine(Wire::new());
    sync_until_done(&engine, 10);
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("signed.zip");
    assert_eq!(bureau.case_file(&id, &zip), 200);
    let report = verify_both(&bureau, &zip);
    assert!(report.ok, "{}", report.to_text());
    let kinds: Vec<&str> = report.items.iter().map(|i| i.kind.as_str()).collect();
    assert_eq!(kinds, ["capture", "acknowledgement", "acknowledgement"]);
    let png = report.items[1].media.clone().unwrap();
    assert_eq!(png, format!("media/{}.png", ack.image_sha256));
    assert!(
        report
            .flags
            .iter()
            .all(|f| f.code != "acknowledgement_outdated"),
        "{:?}",
        report.flags
    );

    // Amended afterwards: the old acknowledgement does not carry over.
    let amendment = device.store.amend(&id).unwrap().id;
    device.store.submit(&amendment).unwrap();
    sync_until_done(&engine, 10);
    let zip = dir.path().join("amended.zip");
    assert_eq!(bureau.case_file(&id, &zip), 200);
    let report = verify_both(&bureau, &zip);
    assert!(report.ok, "{}", report.to_text());
    let outdated: Vec<&str> = report
        .flags
        .iter()
        .filter(|f| f.code == "acknowledgement_outdated")
        .map(|f| f.detail.as_str())
        .collect();
    assert_eq!(outdated.len(), 2, "{:?}", report.flags);
    assert!(outdated[0].contains("revision 1"), "{outdated:?}");
}

#[test]
fn a_bad_acknowledgement_is_refused_and_stores_nothing() {
    let device = Device::new();
    let id = device.record_inspection("430121001", "望城区白箬铺镇光明村");
    let records = || device.store.verify_evidence().unwrap().records;
    let before = (records(), device.store.pending_outbox(100).unwrap().len());
    let code =
        |input: AcknowledgementInput, on: &str| acknowledge(&device, on, input).unwrap_err().code();
    assert_eq!(
        code(signature(SignerRole::Party, true), &id),
        "invalid_field"
    );
    let jpeg = AcknowledgementInput {
        image_png: std::fs::read(corpus(PHOTO_A1)).unwrap(),
        ..signature(SignerRole::Party, false)
    };
    assert_eq!(code(jpeg, &id), "unsupported_media");
    let text = AcknowledgementInput {
        image_png: b"not an image".to_vec(),
        ..signature(SignerRole::Party, false)
    };
    assert_eq!(code(text, &id), "unsupported_media");
    let mut huge = fieldproof_core::fixtures::signature_png();
    huge.resize(600 * 1024, 0);
    let huge = AcknowledgementInput {
        image_png: huge,
        ..signature(SignerRole::Party, false)
    };
    assert_eq!(code(huge, &id), "media_too_large");
    let long = AcknowledgementInput {
        name: Some("张".repeat(51)),
        ..signature(SignerRole::Party, false)
    };
    assert_eq!(code(long, &id), "text_too_long");
    let unknown = "0191e7c4-0000-7000-8000-000000000000";
    assert_eq!(
        code(signature(SignerRole::Party, false), unknown),
        "not_found"
    );
    assert_eq!(
        code(signature(SignerRole::Party, false), "../etc"),
        "invalid_id"
    );
    assert_eq!(
        (records(), device.store.pending_outbox(100).unwrap().len()),
        before
    );
    assert!(device.store.photos_of_inspection(&id).unwrap().is_empty());

    // A keystore that fails to sign: nothing recorded, and the draft is not
    // settled either (its end stays open).
    struct Locked(Vec<u8>);
    impl fieldproof_core::evidence::keys::Signer for Locked {
        fn public_key(&self) -> Vec<u8> {
            self.0.clone()
        }
        fn sign(&self, _: &[u8]) -> fieldproof_core::Result<Vec<u8>> {
            Err(fieldproof_core::Error::KeyUnavailable {
                reason: "keystore locked".into(),
            })
        }
    }
    let key = fieldproof_core::evidence::keys::SoftwareKey::load_or_create(
        &device.dir.path().join("other.p8"),
    )
    .unwrap();
    let public_key = fieldproof_core::evidence::keys::Signer::public_key(&key);
    device
        .store
        .use_platform_signer(std::sync::Arc::new(Locked(public_key)))
        .unwrap();
    assert_eq!(
        code(signature(SignerRole::Party, false), &id),
        "key_unavailable"
    );
    assert_eq!(device.store.get_inspection(&id).unwrap().ended_at_ms, None);
    assert_eq!(
        (records(), device.store.pending_outbox(100).unwrap().len()),
        before
    );
}

#[test]
fn what_a_reviewer_must_see_is_flagged_without_failing_the_file() {
    use fieldproof_core::fixtures::{draft_fields, straw_burning_answers};
    use fieldproof_core::geo::datum::Datum;
    use fieldproof_core::geo::fix::Fix;
    use fieldproof_core::model::inspection::DraftFields;
    use fieldproof_core::store::PhotoSource;

    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    // A visit of ten minutes, long past; the photo is taken now, 5 km away, by
    // a phone that says the position is mocked.
    let started = 1_790_000_000_000;
    let fields = DraftFields {
        ended_at_ms: Some(started + 600_000),
        started_at_ms: started,
        ..draft_fields("430121001")
    };
    let id = device
        .store
        .create_draft("straw_burning", fields, &straw_burning_answers())
        .unwrap()
        .id;
    let site = device.store.get_inspection(&id).unwrap().site;
    let fix = Fix {
        lat: site.lat + 0.045,
        lon: site.lon,
        datum: Datum::Wgs84,
        accuracy_m: Some(5.0),
        altitude_m: None,
        speed_mps: None,
        bearing_deg: None,
        time_ms: fieldproof_core::time::now_ms(),
        provider: "gps".into(),
        mock: true,
    };
    let context = CaptureContext {
        inspection_id: Some(id.clone()),
        ..camera_context()
    };
    device
        .store
        .capture_photo(PhotoSource::Path(corpus(PHOTO_A1)), Some(fix), context)
        .unwrap();
    device.store.submit(&id).unwrap();
    sync_until_done(&device.engine(Wire::new()), 10);
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("flagged.zip");
    assert_eq!(bureau.case_file(&id, &zip), 200);
    let report = verify_both(&bureau, &zip);
    assert!(report.ok, "flags are not failures: {}", report.to_text());
    let mut flags: Vec<&str> = report.flags.iter().map(|f| f.code.as_str()).collect();
    flags.sort();
    assert_eq!(
        flags,
        ["far_from_site", "mock_location", "outside_time_window"]
    );
    let far = report
        .flags
        .iter()
        .find(|f| f.code == "far_from_site")
        .unwrap();
    assert!(
        far.detail.contains("500") || far.detail.contains(" m "),
        "{}",
        far.detail
    );
    assert!(report.to_text().contains("For the reviewer (3)"));
}
