//! What the CLI's test files share.

use std::path::{Path, PathBuf};

/// A folder of the shared corpus; fails clearly when the corpus is absent.
pub fn corpus(folder: &str) -> PathBuf {
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    let root = std::env::var_os("FIELDPROOF_CORPUS").map_or(default.clone(), PathBuf::from);
    let dir = root.join(folder);
    assert!(
        dir.is_dir(),
        "corpus folder {folder}/ not found at {}: set FIELDPROOF_CORPUS (default {})",
        dir.display(),
        default.display()
    );
    dir
}
