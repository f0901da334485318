//! Photo evidence through the store: the capture path on corpus photos, the
//! device chain, tampering of every kind detected, previews, and the file store.

mod support;

use fieldproof_core::evidence::keys::{Signer, SoftwareKey};
use fieldproof_core::evidence::record::Event;
use fieldproof_core::geo::datum::Datum;
use fieldproof_core::geo::fix::Fix;
use fieldproof_core::geo::point::GeoPoint;
use fieldproof_core::model::inspection::DraftFields;
use fieldproof_core::model::photo::{CaptureContext, CaptureSource, Derivative};
use fieldproof_core::store::{PhotoSource, Store};
use fieldproof_core::time::now_ms;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

fn photo(path: &str) -> PathBuf {
    support::corpus_dir("photos").join(path)
}

fn context(inspection: Option<&str>) -> CaptureContext {
    CaptureContext {
        source: CaptureSource::Camera,
        inspection_id: inspection.map(String::from),
        task_id: None,
        officer_id: Some("officer-17".into()),
        monotonic_ms: Some(5_000_000),
        boot_id: Some("boot-1".into()),
        app_version: "0.1.0-test".into(),
    }
}

fn draft(store: &Store) -> String {
    let fields = DraftFields {
        township_code: "430121101".into(),
        county_code: None,
        site: GeoPoint {
            lat: 28.2935,
            lon: 113.0790,
            datum: Datum::Gcj02,
        },
        address: "长沙县".into(),
        task_id: Some("task-3".into()),
        officer_id: "officer-17".into(),
        started_at_ms: 1_790_000_000_000,
        ended_at_ms: None,
        findings: String::new(),
        responsible_party: None,
    };
    store.create_draft("straw_burning", fields, &[]).unwrap().id
}

fn gnss_fix() -> Fix {
    Fix {
        lat: 28.2935,
        lon: 113.0790,
        datum: Datum::Gcj02,
        accuracy_m: Some(4.5),
        altitude_m: Some(52.0),
        speed_mps: None,
        bearing_deg: None,
        time_ms: now_ms() - 1_000,
        provider: "gps".into(),
        mock: false,
    }
}

fn codes(store: &Store) -> Vec<String> {
    store
        .verify_evidence()
        .unwrap()
        .failures
        .into_iter()
        .map(|f| f.code)
        .collect()
}

#[test]
fn capture_stores_hashes_signs_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.db")).unwrap();
    let inspection = draft(&store);
    let boundaries =
        std::fs::read(support::corpus_dir("boundaries").join("counties_by_city/430100.json"))
            .unwrap();
    store.load_boundaries(&boundaries, Datum::Gcj02).unwrap();

    let source = photo("camera/nikon_coolpix_p6000_gps_DSCN0010.jpg");
    let original = std::fs::read(&source).unwrap();
    let p = store
        .capture_photo(
            PhotoSource::Path(source.clone()),
            Some(gnss_fix()),
            context(Some(&inspection)),
        )
        .unwrap();
    assert_eq!(p.record_seq, 1);
    assert_eq!((p.width, p.height), (Some(640), Some(480)));
    assert_eq!(p.thumbnail, Derivative::Ok);
    assert_eq!(p.preview, Derivative::Pending);
    let exif = p.exif_position.unwrap();
    assert!((exif.lat - 43.46745).abs() < 1e-4 && (exif.lon - 11.88513).abs() < 1e-4);
    assert_eq!(p.fix_jurisdiction.as_ref().unwrap().code, "430121");
    assert!(p.fix_jurisdiction.as_ref().unwrap().inside);
    // The original is stored byte for byte under its SHA-256.
    let stored = std::fs::read(store.original_path(&p.id).unwrap()).unwrap();
    assert_eq!(stored, original);
    let digest = ring::digest::digest(&ring::digest::SHA256, &original);
    assert_eq!(
        p.sha256,
        digest
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );

    let thumb = store.thumbnail(&p.id).unwrap().unwrap();
    assert_eq!(&thumb[..2], b"\xff\xd8");
    let preview = store.preview(&p.id).unwrap().unwrap();
    assert!(preview.len() > thumb.len());
    assert_eq!(store.photo(&p.id).unwrap().preview, Derivative::Ok);

    // Same bytes again: a second record, one stored file.
    let again = store
        .capture_photo(
            PhotoSource::Bytes(original),
            None,
            context(Some(&inspection)),
        )
        .unwrap();
    assert_eq!(
        (again.record_seq, again.sha256.clone()),
        (2, p.sha256.clone())
    );
    assert_eq!(store.photos_of_inspection(&inspection).unwrap().len(), 2);

    let report = store.verify_evidence().unwrap();
    assert!(report.is_intact(), "{:?}", report.failures);
    assert_eq!((report.records, report.photos), (2, 2));
    let kinds: Vec<String> = store
        .pending_outbox(10)
        .unwrap()
        .into_iter()
        .map(|op| op.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "evidence.record",
            "photo.upload",
            "evidence.record",
            "photo.upload"
        ]
    );
}

#[test]
fn every_corpus_photo_is_kept_and_non_images_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.db")).unwrap();
    let mut seq = 0;
    for folder in ["camera", "odd", "orientation"] {
        for entry in std::fs::read_dir(photo(folder)).unwrap() {
            let path = entry.unwrap().path();
            let p = store
                .capture_photo(PhotoSource::Path(path.clone()), None, context(None))
                .unwrap();
            seq += 1;
            assert_eq!(p.record_seq, seq);
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.contains("truncated") {
                assert_eq!(p.thumbnail, Derivative::Unavailable, "{name}");
                assert!(
                    p.warnings
                        .iter()
                        .any(|w| w.contains("thumbnail unavailable")),
                    "{name}: {:?}",
                    p.warnings
                );
            }
        }
    }
    assert!(store.verify_evidence().unwrap().is_intact());

    let before = store.verify_evidence().unwrap().records;
    for bytes in [
        b"%PDF-1.7 a document, not a photo".to_vec(),
        Vec::new(),
        vec![0u8; 4096],
    ] {
        let err = store
            .capture_photo(PhotoSource::Bytes(bytes), None, context(None))
            .unwrap_err();
        assert_eq!(err.code(), "unsupported_media");
    }
    let missing = store.capture_photo(
        PhotoSource::Path("/no/such/photo.jpg".into()),
        None,
        context(None),
    );
    assert_eq!(missing.unwrap_err().code(), "io_error");
    assert_eq!(
        store.verify_evidence().unwrap().records,
        before,
        "refusals record nothing"
    );

    let report = store.prepare_previews(Duration::from_secs(120)).unwrap();
    assert_eq!(report.remaining, 0);
    assert!(report.made > 10);
}

fn flip_last_bit(store_path: &Path, seq: u64) {
    let conn = Connection::open(store_path).unwrap();
    let mut signed: Vec<u8> = conn
        .query_row(
            "SELECT signed FROM evidence_records WHERE seq = ?1",
            [seq],
            |r| r.get(0),
        )
        .unwrap();
    *signed.last_mut().unwrap() ^= 0x01;
    conn.execute(
        "UPDATE evidence_records SET signed = ?1 WHERE seq = ?2",
        rusqlite::params![signed, seq],
    )
    .unwrap();
}

fn sql(store_path: &Path, statement: &str) {
    Connection::open(store_path)
        .unwrap()
        .execute_batch(statement)
        .unwrap();
}

#[test]
fn tampering_is_detected_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("device.db");
    let store = Store::open(&db).unwrap();
    let mut photos = Vec::new();
    for name in [
        "nikon_coolpix_p6000_gps_DSCN0010.jpg",
        "nikon_coolpix_p6000_gps_DSCN0021.jpg",
        "canon_sx60_orient6.jpg",
    ] {
        photos.push(
            store
                .capture_photo(
                    PhotoSource::Path(photo(&format!("camera/{name}"))),
                    None,
                    context(None),
                )
                .unwrap(),
        );
    }
    store
        .record_event(Event::Note("现场已拍照".into()), context(None))
        .unwrap();
    assert!(codes(&store).is_empty());

    // One flipped bit in a stored photo.
    let path = store.original_path(&photos[0].id).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[5000] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(codes(&store), ["media_mismatch"]);
    bytes[5000] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();

    // One flipped bit in a signature (the last byte of the COSE message), then
    // one in a payload.
    flip_last_bit(&db, 2);
    let found = codes(&store);
    assert!(found.contains(&"bad_signature".to_string()), "{found:?}");
    assert!(
        found.contains(&"media_unvouched".to_string()),
        "the photo of record 2 lost its voucher: {found:?}"
    );
    flip_last_bit(&db, 2);
    assert!(codes(&store).is_empty(), "flipped back, intact again");
    let conn = Connection::open(&db).unwrap();
    let mut signed: Vec<u8> = conn
        .query_row(
            "SELECT signed FROM evidence_records WHERE seq = 4",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let note = signed
        .windows(3)
        .position(|w| w == "现".as_bytes())
        .expect("the note text is in the payload");
    signed[note] ^= 0x01;
    conn.execute(
        "UPDATE evidence_records SET signed = ?1 WHERE seq = 4",
        [&signed],
    )
    .unwrap();
    let found = codes(&store);
    assert!(found.contains(&"bad_signature".to_string()), "{found:?}");

    // A record deleted from the middle of the chain.
    let dir2 = tempfile::tempdir().unwrap();
    let db2 = dir2.path().join("device.db");
    let store2 = Store::open(&db2).unwrap();
    for _ in 0..4 {
        store2.record_event(Event::AppStart, context(None)).unwrap();
    }
    sql(&db2, "DELETE FROM evidence_records WHERE seq = 2");
    assert_eq!(codes(&store2), ["gap"]);
}

/// A platform signer (Android Keystore, Secure Enclave) returning DER signatures.
struct DerSigner(SoftwareKey);

impl Signer for DerSigner {
    fn public_key(&self) -> Vec<u8> {
        self.0.public_key()
    }

    fn sign(&self, message: &[u8]) -> fieldproof_core::Result<Vec<u8>> {
        let raw = self.0.sign(message)?;
        let int = |half: &[u8]| {
            let trimmed: Vec<u8> = half.iter().copied().skip_while(|b| *b == 0).collect();
            let mut out = if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
                vec![0]
            } else {
                vec![]
            };
            out.extend(trimmed);
            let mut der = vec![0x02, out.len() as u8];
            der.extend(out);
            der
        };
        let (r, s) = (int(&raw[..32]), int(&raw[32..]));
        let mut der = vec![0x30, (r.len() + s.len()) as u8];
        der.extend(r);
        der.extend(s);
        Ok(der)
    }
}

/// A signer whose signatures are garbage: the core must refuse to store.
struct BrokenSigner(SoftwareKey);

impl Signer for BrokenSigner {
    fn public_key(&self) -> Vec<u8> {
        self.0.public_key()
    }

    fn sign(&self, _message: &[u8]) -> fieldproof_core::Result<Vec<u8>> {
        Ok(vec![7; 64])
    }
}

#[test]
fn platform_signers_are_verified_and_cannot_switch_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.db")).unwrap();
    let key = SoftwareKey::load_or_create(&dir.path().join("platform.p8")).unwrap();
    store.use_platform_signer(Arc::new(DerSigner(key))).unwrap();
    store.record_event(Event::AppStart, context(None)).unwrap();
    store
        .capture_photo(
            PhotoSource::Path(photo("camera/reconyx_trailcam_hc500.jpg")),
            None,
            context(None),
        )
        .unwrap();
    assert!(store.verify_evidence().unwrap().is_intact());

    let broken =
        BrokenSigner(SoftwareKey::load_or_create(&dir.path().join("platform.p8")).unwrap());
    store.use_platform_signer(Arc::new(broken)).unwrap();
    let err = store
        .record_event(Event::AppStart, context(None))
        .unwrap_err();
    assert_eq!(err.code(), "signature_invalid");

    let other = SoftwareKey::load_or_create(&dir.path().join("other.p8")).unwrap();
    let err = store.use_platform_signer(Arc::new(other)).unwrap_err();
    assert_eq!(err.code(), "key_unavailable");
    assert_eq!(
        store.verify_evidence().unwrap().records,
        2,
        "nothing was added by the failures"
    );
}

#[test]
fn a_clock_jump_is_itself_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.db")).unwrap();
    store.record_event(Event::AppStart, context(None)).unwrap();
    // Ten seconds of monotonic time later, yet the wall clock reads as if an hour
    // had passed in the other direction relative to it.
    let mut later = context(None);
    later.monotonic_ms = Some(5_000_000 - 3_600_000);
    store
        .record_event(Event::Note("after".into()), later)
        .unwrap();
    let db = Connection::open(dir.path().join("device.db")).unwrap();
    let kinds: Vec<String> = db
        .prepare("SELECT kind FROM evidence_records ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(kinds, ["app_start", "clock_jump", "note"]);
    assert!(store.verify_evidence().unwrap().is_intact());
}

#[test]
fn startup_scan_removes_temp_files_and_reports_orphans() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("device.db");
    let store = Store::open(&db).unwrap();
    let p = store
        .capture_photo(
            PhotoSource::Path(photo("camera/reconyx_trailcam_hc500.jpg")),
            None,
            context(None),
        )
        .unwrap();
    let data = dir.path().join("device.db.data");
    std::fs::write(data.join("tmp").join("half-written"), b"partial").unwrap();
    let orphan = data.join("originals").join("ab").join("ab".repeat(32));
    std::fs::create_dir_all(orphan.parent().unwrap()).unwrap();
    std::fs::write(&orphan, b"a photo whose row was lost").unwrap();
    let scan = store.scan_media().unwrap();
    assert_eq!(scan.temp_files_removed, 1);
    assert_eq!(scan.orphans, ["ab".repeat(32)]);
    assert!(orphan.exists(), "orphans are reported, never deleted");
    assert!(store.original_path(&p.id).unwrap().exists());
}

#[test]
fn a_key_rotation_hands_the_chain_to_the_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("device.db");
    let store = Store::open(&db).unwrap();
    store.record_event(Event::AppStart, context(None)).unwrap();
    let old = store.device_public_key().unwrap();
    let new_key = Arc::new(SoftwareKey::load_or_create(&dir.path().join("hardware.p8")).unwrap());
    assert_eq!(store.rotate_key(new_key.clone(), context(None)).unwrap(), 2);
    store
        .capture_photo(
            PhotoSource::Path(photo("camera/reconyx_trailcam_hc500.jpg")),
            None,
            context(None),
        )
        .unwrap();
    assert_eq!(store.device_public_key().unwrap(), new_key.public_key());
    assert!(codes(&store).is_empty(), "{:?}", codes(&store));
    assert_eq!(
        store.rotate_key(new_key, context(None)).unwrap_err().code(),
        "invalid_field"
    );

    // The old key may not sign on after the rotation.
    let old_key =
        SoftwareKey::load_or_create(&dir.path().join("device.db.data/device-key.p8")).unwrap();
    assert_eq!(old_key.public_key(), old);
    assert_eq!(
        store
            .use_platform_signer(Arc::new(old_key))
            .unwrap_err()
            .code(),
        "key_unavailable"
    );

    // Reopened, the store still knows which key continues the chain.
    drop(store);
    let store = Store::open(&db).unwrap();
    let hardware = SoftwareKey::load_or_create(&dir.path().join("hardware.p8")).unwrap();
    store.use_platform_signer(Arc::new(hardware)).unwrap();
    store
        .record_event(Event::Note("after restart".into()), context(None))
        .unwrap();
    assert!(codes(&store).is_empty());

    // Tampering with the rotation record breaks everything it vouches for.
    flip_last_bit(&db, 2);
    let found = codes(&store);
    assert!(found.contains(&"bad_signature".to_string()), "{found:?}");
    assert!(
        found.contains(&"wrong_key".to_string()),
        "later records no longer verify: {found:?}"
    );
}

/// HEIC (iPhones, many Android phones): kept as evidence, hashed and signed,
/// without a preview (no sound pure-Rust decoder).
#[test]
fn heic_is_kept_as_evidence_without_preview() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.db")).unwrap();
    let mut heic = vec![0, 0, 0, 24];
    heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    heic.extend_from_slice(&[0x5a; 2048]);
    let p = store
        .capture_photo(PhotoSource::Bytes(heic.clone()), None, context(None))
        .unwrap();
    assert_eq!(p.mime, "image/heic");
    assert_eq!(
        (p.thumbnail, p.preview),
        (Derivative::Unavailable, Derivative::Unavailable)
    );
    assert_eq!(p.size, heic.len() as u64);
    assert_eq!(
        std::fs::read(store.original_path(&p.id).unwrap()).unwrap(),
        heic
    );
    assert!(store.verify_evidence().unwrap().is_intact());
}
