//! The photo store on its own, in the data folder and in S3 (SeaweedFS on
//! loopback, see `support`): uploads assembled from their pieces, pieces a crash
//! left off the chain ignored, refused bytes never kept, and S3 credentials checked.

#[macro_use]
mod support;

use fieldproof_bureau::storage::photo_store::folder::FolderStore;
use fieldproof_bureau::storage::photo_store::s3::S3Store;
use fieldproof_bureau::storage::PhotoStore;
use fieldproof_core::evidence::sha256;
use support::{corpus, test_s3_store};

/// A store of each kind: the folder in `dir`, and a fresh prefix in the test S3
/// server (unless S3 tests are skipped).
fn stores(dir: &std::path::Path) -> Vec<PhotoStore> {
    let mut stores = vec![PhotoStore::folder(FolderStore::open(dir).unwrap())];
    if let Some(settings) = test_s3_store() {
        stores.push(PhotoStore::s3(S3Store::open(&settings).unwrap()));
    }
    stores
}

/// Writes `bytes` as one chunk of upload `id` at `offset`; returns the end.
fn write_chunk(
    runtime: &tokio::runtime::Runtime,
    store: &PhotoStore,
    id: &str,
    offset: u64,
    bytes: &[u8],
) -> u64 {
    runtime.block_on(async {
        let mut writer = store.chunk_writer(id, offset).await.unwrap();
        // In small writes, as a request body arrives.
        for part in bytes.chunks(64 * 1024) {
            writer.write(part).await.unwrap();
        }
        writer.keep().await.unwrap()
    })
}

#[test]
fn uploads_are_assembled_from_their_pieces_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let photo =
        std::fs::read(corpus("photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg")).unwrap();
    // Longer than a piece (8 MiB), so one chunk is kept as several objects.
    let mut large = photo.repeat(9 * (1 << 20) / photo.len() + 1);
    large.truncate(9 * (1 << 20) + 12_345);
    for store in stores(dir.path()) {
        let what = store.describe();

        // Three chunks; a crash left a longer second chunk unrecorded at 50,000,
        // which the retry from there overwrites.
        let id = uuid::Uuid::now_v7().to_string();
        assert_eq!(
            write_chunk(&runtime, &store, &id, 0, &photo[..50_000]),
            50_000
        );
        write_chunk(&runtime, &store, &id, 50_000, &[0xAA; 90_000]);
        write_chunk(&runtime, &store, &id, 50_000, &photo[50_000..100_000]);
        assert_eq!(
            write_chunk(&runtime, &store, &id, 100_000, &photo[100_000..]),
            photo.len() as u64
        );
        assert!(store.upload_ids().unwrap().contains(&id), "{what}");
        let hash = sha256(&photo);
        assert!(!store.contains_photo(&hash).unwrap(), "{what}");
        assert!(
            store.keep_upload(&id, photo.len() as u64, &hash).unwrap(),
            "{what}"
        );
        assert_eq!(
            store.photo_bytes(&hash).unwrap(),
            Some(photo.clone()),
            "{what}"
        );
        assert!(store.photo_hashes().unwrap().contains(&hash), "{what}");
        store.remove_upload(&id).unwrap();
        assert!(!store.upload_ids().unwrap().contains(&id), "{what}");

        // A chunk of several pieces.
        let id = uuid::Uuid::now_v7().to_string();
        assert_eq!(
            write_chunk(&runtime, &store, &id, 0, &large),
            large.len() as u64
        );
        let hash = sha256(&large);
        assert!(
            store.keep_upload(&id, large.len() as u64, &hash).unwrap(),
            "{what}"
        );
        let stored = store.photo(&hash).unwrap().expect("kept");
        assert_eq!(stored.size, large.len() as u64, "{what}");
        assert_eq!(
            store.photo_bytes(&hash).unwrap(),
            Some(large.clone()),
            "{what}"
        );

        // Bytes that are not what was declared are never kept as a photo.
        let id = uuid::Uuid::now_v7().to_string();
        let mut damaged = photo.clone();
        damaged[1_000] ^= 1;
        write_chunk(&runtime, &store, &id, 0, &damaged);
        let declared = sha256(b"what the device said it would send");
        assert!(
            !store
                .keep_upload(&id, photo.len() as u64, &declared)
                .unwrap(),
            "{what}"
        );
        assert!(!store.contains_photo(&declared).unwrap(), "{what}");
        assert_eq!(
            store.photo_bytes(&sha256(&damaged)).unwrap(),
            None,
            "{what}"
        );
        // Short of its declared length: refused too.
        let id = uuid::Uuid::now_v7().to_string();
        write_chunk(&runtime, &store, &id, 0, &photo[..1_000]);
        assert!(
            !store
                .keep_upload(&id, photo.len() as u64, &sha256(&photo))
                .unwrap(),
            "{what}"
        );

        // Thumbnails are kept beside.
        assert_eq!(store.thumbnail(&hash), None, "{what}");
        store.keep_thumbnail(&hash, b"jpeg bytes").unwrap();
        assert_eq!(
            store.thumbnail(&hash),
            Some(b"jpeg bytes".to_vec()),
            "{what}"
        );
    }
}

#[test]
fn a_wrong_secret_is_refused_by_the_server() {
    let Some(mut settings) = test_s3_store() else {
        return;
    };
    settings.secret_access_key = Some("not-the-secret".into());
    let store = PhotoStore::s3(S3Store::open(&settings).unwrap());
    let error = store.photo_hashes().unwrap_err();
    assert_eq!(error.code(), "photo_store_failed");
    assert!(
        error.to_string().contains("SignatureDoesNotMatch"),
        "{error}"
    );
    assert!(!error.to_string().contains("not-the-secret"), "{error}");
}
