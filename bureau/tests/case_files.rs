//! Case files from the bureau over real HTTP on loopback, on both storage
//! backends: a joint inspection's whole amendment line with both officers'
//! devices and certificates, nothing from devices outside the case, and a case
//! whose photo never arrived reported incomplete by the offline verifier, and
//! track points kept for GPX and GeoJSON only when they match the seal.

#[macro_use]
mod support;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use fieldproof_core::case_file::format::{self, Manifest};
use fieldproof_core::case_file::track_files;
use fieldproof_core::case_file::{verify_case_file, BureauKeyGiven, VerifyReport};
use fieldproof_core::evidence::record::{Event, TrackSegment};
use fieldproof_core::evidence::track_seal::{seal_of, SealedFix};
use serde_json::{json, Value};
use std::io::Read;
use support::cases::{inspection, op, photo, push, record};
use support::{http, record_op, Backend, TestBureau, TestDevice, ADMIN_TOKEN};

on_every_store!(
    a_joint_case_file_holds_its_line_and_both_officers_and_no_one_else,
    a_case_whose_photo_never_arrived_is_incomplete,
    track_points_are_kept_only_when_they_hash_to_the_signed_seal,
);

/// Downloads the case file of `id` into the bureau's temp folder; returns
/// (status, path).
fn download(bureau: &TestBureau, id: &str, token: Option<&str>) -> (u16, std::path::PathBuf) {
    let mut request = http().get(format!("{}/v1/admin/inspections/{id}/bundle", bureau.url));
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let response = request.call().unwrap();
    let status = response.status().as_u16();
    if status == 200 {
        assert_eq!(response.headers()["content-type"], "application/zip");
    }
    let mut bytes = Vec::new();
    response
        .into_body()
        .into_with_config()
        .limit(u64::MAX)
        .reader()
        .read_to_end(&mut bytes)
        .unwrap();
    let path = bureau
        .data
        .path()
        .join(format!("case-{}.zip", uuid::Uuid::now_v7()));
    std::fs::write(&path, bytes).unwrap();
    (status, path)
}

fn verify(bureau: &TestBureau, zip: &std::path::Path) -> VerifyReport {
    let key = std::fs::read(bureau.data.path().join(format::BUREAU_KEY)).unwrap();
    verify_case_file(zip, &BureauKeyGiven::from_file_bytes(&key).unwrap()).unwrap()
}

fn manifest(zip: &std::path::Path) -> Manifest {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let mut bytes = Vec::new();
    archive
        .by_name(format::MANIFEST)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn note(device: &mut TestDevice, inspection: &Value, text: &str) -> Value {
    record_op(&record(device, Event::Note(text.into()), inspection))
}

fn a_joint_case_file_holds_its_line_and_both_officers_and_no_one_else(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let mut first = bureau.officer_device("430121", "county_officer");
    let mut second = bureau.officer_device("430121", "county_officer");
    let mut outsider = bureau.officer_device("430121", "county_officer");
    let x = inspection(&first, "430121101", None);
    push(&first, vec![op("inspection.submit", &x)]);
    let on_x = note(&mut first, &x, "到场时仍有明火");
    push(&first, vec![on_x]);
    let (status, body) = bureau.admin(
        "POST",
        &format!(
            "/v1/admin/inspections/{}/officers",
            x["id"].as_str().unwrap()
        ),
        Some(json!({ "officer_id": second.enrollment["officer_id"] })),
    );
    assert_eq!(status, 200, "{body}");
    let by_second = note(&mut second, &x, "第二名执法人员到场");
    let by_outsider = note(&mut outsider, &x, "不是本案人员");
    push(&second, vec![by_second]);
    push(&outsider, vec![by_outsider]);
    let x1 = inspection(&first, "430121101", Some(&x));
    push(&first, vec![op("inspection.amend", &x1)]);
    let on_x1 = note(&mut first, &x1, "补充笔录");
    push(&first, vec![on_x1]);

    // Asked by the original's id, the case file is the whole line.
    let original = x["id"].as_str().unwrap();
    let (status, zip) = download(&bureau, original, Some(ADMIN_TOKEN));
    assert_eq!(status, 200);
    let report = verify(&bureau, &zip);
    assert!(report.ok, "{}", report.to_text());
    let manifest = manifest(&zip);
    let ids = [original.to_owned(), x1["id"].as_str().unwrap().to_owned()];
    assert_eq!(manifest.inspection_id, ids[1]);
    assert_eq!(manifest.amendment_line, ids);
    let paths: Vec<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    for (i, id) in ids.iter().enumerate() {
        assert!(
            paths.contains(&format::revision_path(i + 1, id).as_str()),
            "{paths:?}"
        );
    }
    // Both officers, each with the device and certificate that signed; the
    // outsider's record is not in it, nor its certificate.
    let officer = |d: &TestDevice| d.enrollment["officer_id"].as_str().unwrap().to_owned();
    let device = |d: &TestDevice| d.enrollment["device_id"].as_str().unwrap().to_owned();
    let listed: Vec<(String, String, Vec<String>)> = manifest
        .officers
        .iter()
        .map(|o| (o.officer_id.clone(), o.role.clone(), o.devices.clone()))
        .collect();
    let mut expected = vec![
        (
            officer(&first),
            "submitted".to_owned(),
            vec![device(&first)],
        ),
        (
            officer(&second),
            "assigned".to_owned(),
            vec![device(&second)],
        ),
    ];
    expected.sort();
    assert_eq!(listed, expected);
    for d in [&first, &second] {
        assert!(paths.contains(&format::certificate_path(&device(d)).as_str()));
    }
    assert!(
        !paths.iter().any(|p| p.contains(&device(&outsider))),
        "{paths:?}"
    );
    assert_eq!(report.items.len(), 3, "{}", report.to_text());
    assert_eq!(report.signers.len(), 2);

    // Only the admin may take a case out; an unknown case is not found.
    assert_eq!(download(&bureau, original, None).0, 401);
    assert_eq!(download(&bureau, original, Some(&first.token)).0, 401);
    let unknown = uuid::Uuid::now_v7().to_string();
    assert_eq!(download(&bureau, &unknown, Some(ADMIN_TOKEN)).0, 404);
}

fn a_case_whose_photo_never_arrived_is_incomplete(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let mut officer = bureau.officer_device("430121", "county_officer");
    let x = inspection(&officer, "430121101", None);
    push(&officer, vec![op("inspection.submit", &x)]);
    let capture = record_op(&record(&mut officer, photo(), &x));
    push(&officer, vec![capture]);
    let (status, zip) = download(&bureau, x["id"].as_str().unwrap(), Some(ADMIN_TOKEN));
    assert_eq!(status, 200);
    let report = verify(&bureau, &zip);
    assert!(!report.ok);
    let codes: Vec<&str> = report.failures.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["media_missing"], "{}", report.to_text());
    assert!(!report.items[0].intact);
}

fn track_points_are_kept_only_when_they_hash_to_the_signed_seal(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let mut officer = bureau.officer_device("430121", "county_officer");
    let x = inspection(&officer, "430121101", None);
    push(&officer, vec![op("inspection.submit", &x)]);
    let walked: Vec<SealedFix> = (0..5)
        .map(|i| SealedFix {
            time_ms: 1_790_000_000_000 + i * 1_000,
            lat_e7: 282_547_000 + i as i32 * 450,
            lon_e7: 1_130_800_000,
            accuracy_mm: Some(3_500),
            mock: i == 4,
        })
        .collect();
    let encoded = |fixes: &[SealedFix]| {
        BASE64.encode(fixes.iter().flat_map(|f| f.encode()).collect::<Vec<u8>>())
    };
    let segment = |index: u64| {
        Event::TrackSegment(TrackSegment {
            track_id: "01a23d4f-7f5d-723b-a86f-65ea0abdac1a".into(),
            index,
            points_sha256: seal_of(&walked).finish(),
            point_count: walked.len() as u64,
            first_time_ms: walked[0].time_ms,
            last_time_ms: walked[4].time_ms,
        })
    };
    // The points sealed; points of another walk; points that are not base64.
    let mut other = walked.clone();
    other[2].lat_e7 += 1;
    let mut ops = Vec::new();
    for (index, points) in [
        (0, encoded(&walked)),
        (1, encoded(&other)),
        (2, "not base64!".to_owned()),
    ] {
        let mut op = record_op(&record(&mut officer, segment(index), &x));
        op["payload"]["points"] = points.into();
        ops.push(op);
    }
    // Every record is accepted: the seal is the evidence, the points only its
    // readable form.
    push(&officer, ops);

    let (status, zip) = download(&bureau, x["id"].as_str().unwrap(), Some(ADMIN_TOKEN));
    assert_eq!(status, 200);
    let report = verify(&bureau, &zip);
    assert!(report.ok, "{}", report.to_text());
    let manifest = manifest(&zip);
    let tracks: Vec<&str> = manifest
        .files
        .iter()
        .map(|f| f.path.as_str())
        .filter(|p| p.starts_with("tracks/"))
        .collect();
    let first = &manifest.records[0];
    assert_eq!(
        tracks,
        [
            format::track_path(&first.device_id, first.seq, format::GEOJSON),
            format::track_path(&first.device_id, first.seq, format::GPX),
        ]
    );
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
    let mut gpx = Vec::new();
    archive
        .by_name(tracks[1])
        .unwrap()
        .read_to_end(&mut gpx)
        .unwrap();
    assert_eq!(track_files::fixes_from_gpx(&gpx).unwrap(), walked);
}
