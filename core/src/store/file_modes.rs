//! The store's files are private (`crate::private_files`): database, key,
//! originals and derivatives, whatever the umask.

use crate::private_files::not_private;
use crate::store::capture::core_context;
use crate::store::{PhotoSource, Store};

#[test]
fn a_device_store_keeps_its_database_key_and_photos_private() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.db")).unwrap();
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 80)
        .encode(&[90; 16 * 16 * 3], 16, 16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    let photo = store
        .capture_photo(PhotoSource::Bytes(jpeg), None, core_context())
        .unwrap();
    store.preview(&photo.id).unwrap().unwrap();
    let original = store.original_path(&photo.id).unwrap();
    assert!(dir.path().join("device.db-wal").exists());
    assert!(original.starts_with(dir.path()));
    assert_eq!(not_private(dir.path()), Vec::<String>::new());
}
