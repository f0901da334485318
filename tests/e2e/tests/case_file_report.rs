//! The case file's `report.pdf` read as a person reads it: a real device
//! syncs a case (real photos, a note, the party's and a witness's signatures,
//! then an amendment) to a real bureau, and poppler — the renderer behind most
//! Linux PDF viewers — extracts its text, lists its fonts and renders every
//! page. The Chinese labels, the hashes and the checkpoint must be in the text,
//! the font embedded as a subset with a Unicode map, every page must render.

use fieldproof_core::case_file::format::{self, Manifest};
use fieldproof_core::fixtures::draft_fields;
use fieldproof_core::geo::point::GeoPoint;
use fieldproof_core::hex;
use fieldproof_core::model::acknowledgement::{AcknowledgementInput, SignerRole};
use fieldproof_core::model::inspection::{DraftFields, ResponsibleParty};
use fieldproof_e2e::{camera_context, sync_until_done, Device, TestBureau, Wire};
use std::io::Read;
use std::path::Path;
use std::process::Command;

const PHOTO: &str = "photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg";
/// EXIF orientation 6: the thumbnail must come out upright.
const PHOTO_ROTATED: &str = "photos/camera/canon_sx60_orient6.jpg";
const ADDRESS: &str = "望城区白箬铺镇光明村";

/// Runs a poppler tool; says which package to install when it is missing.
fn poppler(tool: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!(
            "{tool} is not runnable ({e}): install poppler-utils (scripts/install-test-deps does)"
        )
    });
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn unzip(zip: &Path, name: &str) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let mut bytes = Vec::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    bytes
}

fn signature(role: SignerRole, name: &str, refused: bool) -> AcknowledgementInput {
    AcknowledgementInput {
        role,
        name: Some(name.into()),
        refused,
        image_png: fieldproof_core::fixtures::signature_png(),
    }
}

/// The share of a page's pixels that are not paper white.
fn inked_share(png_bytes: &[u8]) -> f64 {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let channels = info.color_type.samples();
    let px = &pixels[..info.buffer_size()];
    let inked = px
        .chunks_exact(channels)
        .filter(|p| p.iter().take(3).any(|&c| c < 200))
        .count();
    inked as f64 / (px.len() / channels) as f64
}

#[test]
fn the_on_site_record_reads_in_chinese_with_every_hash_and_renders() {
    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    let id = device.record_inspection("430121001", ADDRESS);
    let held = device.store.get_inspection(&id).unwrap();
    let fields = DraftFields {
        site: GeoPoint {
            lat: held.site.reported_lat,
            lon: held.site.reported_lon,
            datum: held.site.reported_datum,
        },
        address: ADDRESS.into(),
        officer_id: held.officer_id.clone(),
        findings: held.findings.clone(),
        started_at_ms: held.started_at_ms,
        responsible_party: Some(ResponsibleParty {
            name: "李四".into(),
            phone: Some("13800000000".into()),
            id_number: None,
        }),
        ..draft_fields("430121001")
    };
    device.store.update_draft(&id, fields).unwrap();
    let photo = device.capture(&id, PHOTO);
    let rotated = device.capture(&id, PHOTO_ROTATED);
    device.note(Some(&id), "焚烧点已熄灭，当事人在场");
    device.walk(&id, 30);
    let party = device
        .store
        .acknowledge(
            &id,
            signature(SignerRole::Party, "李四", false),
            None,
            camera_context(),
        )
        .unwrap();
    device.store.submit(&id).unwrap();
    let engine = device.engine(Wire::new());
    sync_until_done(&engine, 10);
    // Amended after the party signed: the record must say the signature no
    // longer covers what it shows.
    let amendment = device.store.amend(&id).unwrap().id;
    device.store.submit(&amendment).unwrap();
    sync_until_done(&engine, 10);

    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("case.zip");
    assert_eq!(bureau.case_file(&id, &zip), 200);
    let manifest: Manifest = serde_json::from_slice(&unzip(&zip, format::MANIFEST)).unwrap();
    let listed = manifest
        .files
        .iter()
        .find(|f| f.path == format::REPORT)
        .expect("report.pdf is a file of the manifest");
    let gpx = manifest
        .files
        .iter()
        .find(|f| f.path.ends_with(".gpx"))
        .expect("the patrol's GPX is a file of the manifest")
        .path
        .clone();
    let pdf = unzip(&zip, format::REPORT);
    assert_eq!(listed.sha256, fieldproof_core::evidence::sha256(&pdf));
    let report = fieldproof_core::case_file::verify_case_file(
        &zip,
        &fieldproof_core::case_file::BureauKeyGiven::from_file_bytes(
            &std::fs::read(bureau.public_key_file()).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(report.ok, "{}", report.to_text());
    let pdf_path = dir.path().join("report.pdf");
    std::fs::write(&pdf_path, &pdf).unwrap();
    let pdf_arg = pdf_path.to_str().unwrap();

    let text = String::from_utf8(poppler("pdftotext", &["-enc", "UTF-8", pdf_arg, "-"])).unwrap();
    // pdftotext breaks long values across lines as they are printed.
    let joined: String = text.split_whitespace().collect();
    for expected in [
        "现场检查（勘察）笔录",
        "案件基本情况",
        "露天焚烧秸秆",
        ADDRESS,
        "坐标GCJ-02",
        "执法人员及设备证书",
        // A checklist label from the version the inspection was answered on.
        "到达现场时是否有明火",
        "检查情况",
        "田间焚烧秸秆约两亩",
        "李四",
        "13800000000",
        "证据清单",
        "焚烧点已熄灭，当事人在场",
        "当事人签名确认",
        "第1版笔录。笔录此后已修改，本签名不适用于当前第2版",
        "巡查轨迹",
        // 29 steps of about 5 m, and where the points are.
        "检查时间内共1段轨迹、30个定位点",
        "长约",
        &gpx,
        "核验摘要",
        "核验通过不证明照片内容真实反映现场情况",
        &amendment,
        &photo.sha256,
        &rotated.sha256,
        &party.image_sha256,
        &hex::encode(&manifest.checkpoint.root),
        &hex::encode(&manifest.bureau_key_id),
    ] {
        let expected: String = expected.split_whitespace().collect();
        assert!(joined.contains(&expected), "{expected} not in:\n{text}");
    }

    let fonts = String::from_utf8(poppler("pdffonts", &[pdf_arg])).unwrap();
    let font = fonts.lines().nth(2).expect("one font listed");
    assert!(font.contains("CID TrueType"), "{fonts}");
    // emb sub uni: embedded, a subset, with a Unicode map.
    assert!(font.contains("yes yes yes"), "{fonts}");
    assert!(
        pdf.len() < 1 << 20,
        "the font is a subset: {} bytes",
        pdf.len()
    );

    let info = String::from_utf8(poppler("pdfinfo", &[pdf_arg])).unwrap();
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("pdfinfo names the page count");
    assert!(pages >= 2, "{info}");
    let prefix = dir.path().join("page");
    poppler(
        "pdftoppm",
        &["-r", "50", "-png", pdf_arg, prefix.to_str().unwrap()],
    );
    let mut rendered: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    rendered.sort();
    assert_eq!(rendered.len(), pages);
    let first = inked_share(&std::fs::read(&rendered[0]).unwrap());
    assert!(
        (0.01..0.5).contains(&first),
        "page 1 is text on paper, {first:.3} of it inked"
    );
}
