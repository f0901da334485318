//! The restore drill (`bureau/docs/backup.md`), on the embedded bureau (SQLite and
//! its folder) and on the provincial one (PostgreSQL through pg_dump/pg_restore,
//! photos in S3): a device syncs, the bureau is backed up twice, it is lost, and
//!
//! - the newer backup is restored into a new data folder (and a new database and
//!   bucket prefix): every photo is there and hashes to its name, the restored
//!   log proves consistent with the checkpoint the device holds, and the device
//!   keeps syncing with every invariant holding;
//! - the older backup (older than the device's checkpoint) is restored too: the
//!   restore checks out on its own, but the device's next sync fails with
//!   `log_inconsistent` (never silently accepted) and the bureau records a
//!   custody alarm for the device.

use fieldproof_bureau::backup;
use fieldproof_bureau::Config;
use fieldproof_core::evidence::merkle::verify_consistency;
use fieldproof_core::evidence::receipt::SignedCheckpoint;
use fieldproof_core::sync::ErrorClass;
use fieldproof_core::wire::custody::ConsistencyProof;
use fieldproof_e2e::servers::{test_s3_store, ScratchDatabase};
use fieldproof_e2e::{assert_settled, engine_via, sync_until_done, Device, TestBureau, Wire};

const TOWNSHIP: &str = "430121101";

/// One inspection with one photo, submitted.
fn field_work(device: &Device, photo: &str) {
    let id = device.record_inspection(TOWNSHIP, "稻田");
    device.capture(&id, photo);
    device.store.submit(&id).unwrap();
}

fn sync(device: &Device, bureau: &TestBureau) {
    let engine = engine_via(device, Wire::new(), &bureau.url);
    let reports = sync_until_done(&engine, 20);
    assert_eq!(reports.last().unwrap().last_error, None);
}

/// Where a fresh bureau keeps its data: SQLite and a folder, or a new scratch
/// database and a new bucket prefix. `None` when those servers are skipped.
fn fresh(provincial: bool, data: &std::path::Path) -> Option<Config> {
    let mut config = Config {
        data_dir: data.to_owned(),
        listen: "127.0.0.1:0".parse().unwrap(),
        admin_token: Some(fieldproof_e2e::ADMIN_TOKEN.into()),
        ..Config::default()
    };
    if provincial {
        config.database_url = Some(ScratchDatabase::create()?.keep());
        config.photo_store = Some(test_s3_store()?);
    }
    Some(config)
}

fn get<T: serde::de::DeserializeOwned>(bureau: &TestBureau, path: &str) -> T {
    let (status, body) = bureau.admin("GET", path, None);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_value(body).unwrap()
}

fn drill(provincial: bool) {
    let folders = tempfile::tempdir().unwrap();
    let Some(config) = fresh(provincial, &folders.path().join("bureau")) else {
        return;
    };
    let mut bureau = TestBureau::start_with(|c| *c = config.clone());
    let device = Device::new();
    device.enroll(&bureau);
    field_work(&device, "photos/camera/canon_sx60_orient6.jpg");
    sync(&device, &bureau);
    let old = backup::backup(&bureau.config, &folders.path().join("old")).unwrap();
    field_work(&device, "photos/camera/phone_jolla_nogps.jpg");
    sync(&device, &bureau);
    let new = backup::backup(&bureau.config, &folders.path().join("new")).unwrap();
    let held: SignedCheckpoint = device.store.latest_checkpoint().unwrap().expect("held");
    assert!(old.checkpoint.tree_size < held.tree_size);
    assert!(new.checkpoint.tree_size >= held.tree_size);
    assert_eq!(
        (old.photos, new.photos),
        (1, 2),
        "originals (previews are not sent on a fast link)"
    );
    // A backup never goes into a folder that holds something.
    let refused = backup::backup(&bureau.config, &folders.path().join("new")).unwrap_err();
    assert_eq!(refused.code(), "restore_target_not_empty");
    bureau.crash();

    // The newer backup, into a new bureau.
    let target = fresh(provincial, &folders.path().join("restored")).unwrap();
    let restored = backup::restore(&folders.path().join("new"), &target).unwrap();
    assert_eq!(restored.photos_verified, 2);
    assert_eq!(restored.tree_size, new.checkpoint.tree_size);
    // Restoring over it again is refused, changing nothing.
    let again = backup::restore(&folders.path().join("new"), &target).unwrap_err();
    assert_eq!(again.code(), "restore_target_not_empty");
    let restored_bureau = TestBureau::start_with(|c| *c = target.clone());
    let now: SignedCheckpoint = get(&restored_bureau, "/v1/custody/checkpoint");
    let proof: ConsistencyProof = get(
        &restored_bureau,
        &ConsistencyProof::path(held.tree_size, now.tree_size),
    );
    assert!(
        verify_consistency(
            held.tree_size,
            now.tree_size,
            &held.root,
            &now.root,
            &proof.proof
        ),
        "the restored log extends the checkpoint the device holds"
    );
    field_work(
        &device,
        "photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg",
    );
    sync(&device, &restored_bureau);
    let tally = assert_settled(&device.db_path(), &restored_bureau);
    assert_eq!((tally.photos, tally.pending), (3, 0));

    // The older backup: consistent in itself, but behind the device.
    let stale = fresh(provincial, &folders.path().join("stale")).unwrap();
    let restored = backup::restore(&folders.path().join("old"), &stale).unwrap();
    assert_eq!(restored.photos_verified, 1);
    let stale_bureau = TestBureau::start_with(|c| *c = stale.clone());
    let held_now = device.store.latest_checkpoint().unwrap().expect("held");
    field_work(
        &device,
        "photos/camera/nikon_coolpix_p6000_gps_DSCN0021.jpg",
    );
    let engine = engine_via(&device, Wire::new(), &stale_bureau.url);
    let report = engine
        .sync_once(std::time::Instant::now() + std::time::Duration::from_secs(30))
        .unwrap();
    let error = report.last_error.expect("the stale log is not accepted");
    assert_eq!(
        (error.code.as_str(), error.class),
        ("log_inconsistent", ErrorClass::Custody)
    );
    assert_eq!(
        device.store.latest_checkpoint().unwrap(),
        Some(held_now.clone()),
        "the device keeps its checkpoint"
    );
    // It asked for a proof up to that checkpoint, beyond the stale log: the
    // bureau's operator sees the device and sizes.
    let alarms: serde_json::Value = get(&stale_bureau, "/v1/admin/custody/alarms");
    let alarm = &alarms["alarms"][0];
    assert_eq!(alarm["held_size"].as_u64(), Some(held_now.tree_size));
    assert_eq!(alarm["log_size"].as_u64(), Some(old.checkpoint.tree_size));
    assert_eq!(alarms["alarms"].as_array().unwrap().len(), 1);
}

#[test]
fn restore_drill_on_the_embedded_bureau() {
    drill(false);
}

#[test]
fn restore_drill_on_postgresql_and_s3() {
    drill(true);
}
