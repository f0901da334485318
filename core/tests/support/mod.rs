//! What the integration tests share: finding the shared corpus.

use std::path::PathBuf;

/// A folder of the shared corpus (`coords`, `gpx`, `photos`, …): under
/// `FIELDPROOF_CORPUS` if set, else the checkout's sibling `shared/corpus`.
/// Missing data fails the test loudly, naming both places; it never skips.
pub fn corpus_dir(folder: &str) -> PathBuf {
    let default = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    let from_env = std::env::var_os("FIELDPROOF_CORPUS").map(PathBuf::from);
    let dir = from_env
        .clone()
        .unwrap_or_else(|| default.clone())
        .join(folder);
    if !dir.is_dir() {
        match from_env {
            Some(_) => panic!(
                "corpus folder {folder}/ not found at {} (from FIELDPROOF_CORPUS); with \
                 FIELDPROOF_CORPUS unset the tests would use {}",
                dir.display(),
                default.join(folder).display()
            ),
            None => panic!(
                "corpus folder {folder}/ not found at {} (default), and FIELDPROOF_CORPUS \
                 is not set; set it to the corpus root (the folder containing {folder}/)",
                dir.display()
            ),
        }
    }
    dir
}
