//! Files only the app's own user may read. The device database holds the bearer
//! token and the parties' names and phone numbers, originals are evidence, and
//! the bureau keeps the same kinds of data: all are created mode 0600 in
//! folders of mode 0700, whatever the process umask. (Android and iOS sandbox
//! the app's folder as well; a bureau's data folder has only this.)

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

/// Creates `dir` and any missing parents mode 0700. Folders already there keep
/// their mode: the app does not own the ones it is given.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder.create(dir)
}

/// Sets a folder the app owns (a bureau's data folder) to 0700, for one made
/// before this rule or by hand.
pub fn restrict_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    Ok(())
}

/// The options to create or open a private file for writing.
pub fn options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    options.mode(0o600);
    options
}

/// Creates (or truncates) a private file, as `File::create` would.
pub fn create(path: &Path) -> io::Result<File> {
    options().create(true).truncate(true).open(path)
}

/// Writes a private file whole: into a temp file beside it, fsync, then renamed
/// into place, so a crash leaves the old file or the new one, never half a key.
pub fn write_whole(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let temp = path.with_extension("tmp");
    let mut file = create(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&temp, path)
}

/// Makes sure a database file is private before SQLite opens it: creates it
/// empty mode 0600, or takes the group's and others' bits off an existing one
/// (a read-only file stays read-only). SQLite gives its `-wal` and `-shm` files
/// the database file's mode.
pub fn prepare_database(path: &Path) -> io::Result<()> {
    match options().create_new(true).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => restrict_file(path),
        Err(e) => Err(e),
    }
}

fn restrict_file(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let mode = fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    Ok(())
}

/// Everything under `root` (not `root` itself) that others could read: each
/// folder not 0700 and each file not 0600, with its mode. For tests.
#[cfg(all(unix, any(test, feature = "fixtures")))]
pub fn not_private(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let children = |dir: &Path| -> Vec<std::path::PathBuf> {
        let entries = fs::read_dir(dir).expect("folders are readable");
        entries
            .map(|e| e.expect("entries are readable").path())
            .collect()
    };
    let mut pending = children(root);
    while let Some(path) = pending.pop() {
        let meta = fs::metadata(&path).expect("walked paths exist");
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            pending.extend(children(&path));
        }
        if mode != if meta.is_dir() { 0o700 } else { 0o600 } {
            found.push(format!("{} {mode:o}", path.display()));
        }
    }
    found.sort();
    found
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_and_files_are_private_whatever_was_there() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        create_dir(&nested).unwrap();
        assert_eq!((mode(&dir.path().join("a")), mode(&nested)), (0o700, 0o700));
        let file = nested.join("f");
        create(&file).unwrap();
        assert_eq!(mode(&file), 0o600);

        let db = nested.join("old.db");
        fs::write(&db, b"kept").unwrap();
        fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).unwrap();
        prepare_database(&db).unwrap();
        assert_eq!(
            (mode(&db), fs::read(&db).unwrap()),
            (0o600, b"kept".to_vec())
        );
        fs::set_permissions(&db, fs::Permissions::from_mode(0o444)).unwrap();
        prepare_database(&db).unwrap();
        assert_eq!(mode(&db), 0o400, "a read-only file stays read-only");
        let new = nested.join("new.db");
        prepare_database(&new).unwrap();
        assert_eq!((mode(&new), fs::read(&new).unwrap()), (0o600, Vec::new()));

        fs::set_permissions(&nested, fs::Permissions::from_mode(0o755)).unwrap();
        restrict_dir(&nested).unwrap();
        assert_eq!(mode(&nested), 0o700);
    }
}
