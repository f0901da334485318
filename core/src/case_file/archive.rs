//! A case file opened for reading, which may be hostile: it came from outside.
//!
//! Nothing is extracted: the verifier reads each entry through this type,
//! straight from the zip, so a hostile name can never write anywhere. Before any
//! entry is read the whole central directory is checked: entry names are plain
//! relative paths, none twice, no symbolic links, no encryption, and the sizes it
//! declares stay within limits (a zip bomb is refused from its directory). While
//! an entry is read, reading stops at its declared size, so a lying header cannot
//! make it longer.

use ring::digest::{Context, SHA256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use zip::result::ZipError;
use zip::{CompressionMethod, ZipArchive};

/// The most entries a case file may have (thousands of records and photos).
pub const MAX_ENTRIES: usize = 200_000;
/// The largest total a case file may declare uncompressed.
pub const MAX_TOTAL_BYTES: u64 = 64 << 30;
/// The largest single entry (a video would be the largest thing in a case).
pub const MAX_ENTRY_BYTES: u64 = 4 << 30;
/// Deflated entries may not expand more than this (text compresses ~10×).
pub const MAX_RATIO: u64 = 200;

/// Why a file is not a case file that can be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NotAZip,
    Truncated,
    UnsafeName { name: String },
    DuplicateName,
    Symlink { name: String },
    Encrypted { name: String },
    UnsupportedCompression { name: String },
    TooManyEntries { count: usize },
    TooLarge { name: String, size: u64 },
    CompressionRatio { name: String },
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotAZip => "not_a_zip",
            Refusal::Truncated => "truncated_archive",
            Refusal::UnsafeName { .. } => "unsafe_entry_name",
            Refusal::DuplicateName => "duplicate_entry",
            Refusal::Symlink { .. } => "symlink_entry",
            Refusal::Encrypted { .. } => "encrypted_entry",
            Refusal::UnsupportedCompression { .. } => "unsupported_compression",
            Refusal::TooManyEntries { .. } => "too_many_entries",
            Refusal::TooLarge { .. } => "entry_too_large",
            Refusal::CompressionRatio { .. } => "compression_ratio",
        }
    }

    /// The entry concerned, if it is one entry.
    pub fn entry(&self) -> Option<&str> {
        match self {
            Refusal::UnsafeName { name }
            | Refusal::Symlink { name }
            | Refusal::Encrypted { name }
            | Refusal::UnsupportedCompression { name }
            | Refusal::TooLarge { name, .. }
            | Refusal::CompressionRatio { name } => Some(name),
            _ => None,
        }
    }

    pub fn detail(&self) -> String {
        match self {
            Refusal::NotAZip => "the file is not a zip archive".into(),
            Refusal::Truncated => "the zip archive is cut short (no central directory)".into(),
            Refusal::UnsafeName { .. } => {
                "entry name is not a plain relative path (absolute, `..`, backslash or control character)".into()
            }
            Refusal::DuplicateName => "two entries of the zip have one name".into(),
            Refusal::Symlink { .. } => "entry is a symbolic link".into(),
            Refusal::Encrypted { .. } => "entry is encrypted".into(),
            Refusal::UnsupportedCompression { .. } => {
                "entry is neither stored nor deflated".into()
            }
            Refusal::TooManyEntries { count } => {
                format!("{count} entries, more than the {MAX_ENTRIES} a case file may have")
            }
            Refusal::TooLarge { size, .. } => format!("declares {size} bytes, over the limit"),
            Refusal::CompressionRatio { .. } => {
                format!("expands more than {MAX_RATIO}× (a zip bomb?)")
            }
        }
    }
}

/// An entry that could not be read to its end as declared.
#[derive(Debug)]
pub enum ReadFailure {
    /// Damaged data, a CRC mismatch, or more bytes than allowed.
    Unreadable(String),
    /// Larger than the caller's limit for that kind of file.
    TooLarge { limit: u64 },
}

pub struct CaseArchive {
    zip: ZipArchive<File>,
    /// Entry name → index, for the entries that are files.
    entries: BTreeMap<String, usize>,
}

impl CaseArchive {
    /// Opens and checks the archive at `path`. `Err(Ok(refusal))` when it is
    /// no case file to read; `Err(Err(io))` when the file itself cannot be read.
    pub fn open(path: &Path) -> Result<Self, Result<Refusal, io::Error>> {
        let mut file = File::open(path).map_err(Err)?;
        let mut head = [0u8; 4];
        let starts_like_zip = file.read_exact(&mut head).is_ok() && head == *b"PK\x03\x04";
        let file = File::open(path).map_err(Err)?;
        let mut zip = match ZipArchive::new(file) {
            Ok(zip) => zip,
            Err(ZipError::Io(e)) if e.kind() != io::ErrorKind::UnexpectedEof => return Err(Err(e)),
            Err(_) if starts_like_zip => return Err(Ok(Refusal::Truncated)),
            Err(_) => return Err(Ok(Refusal::NotAZip)),
        };
        let entries = check_directory(&mut zip).map_err(Ok)?;
        Ok(Self { zip, entries })
    }

    /// Names of the file entries, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// The whole entry, which must be at most `limit` bytes (JSON, records).
    pub fn read(&mut self, name: &str, limit: u64) -> Result<Vec<u8>, ReadFailure> {
        let mut bytes = Vec::new();
        self.stream(name, limit, |chunk| bytes.extend_from_slice(chunk))?;
        Ok(bytes)
    }

    /// Size and SHA-256 of the entry, streamed (photos of any size).
    pub fn digest(&mut self, name: &str) -> Result<(u64, [u8; 32]), ReadFailure> {
        let mut context = Context::new(&SHA256);
        let size = self.stream(name, MAX_ENTRY_BYTES, |chunk| context.update(chunk))?;
        let mut hash = [0u8; 32];
        hash.copy_from_slice(context.finish().as_ref());
        Ok((size, hash))
    }

    fn stream(
        &mut self,
        name: &str,
        limit: u64,
        mut sink: impl FnMut(&[u8]),
    ) -> Result<u64, ReadFailure> {
        let index = *self
            .entries
            .get(name)
            .ok_or_else(|| ReadFailure::Unreadable("no such entry".into()))?;
        let unreadable = |e: &dyn std::fmt::Display| ReadFailure::Unreadable(e.to_string());
        let entry = self.zip.by_index(index).map_err(|e| unreadable(&e))?;
        if entry.size() > limit {
            return Err(ReadFailure::TooLarge { limit });
        }
        // One byte past the declared size shows a header that lies about it.
        let declared = entry.size();
        let mut reader = entry.take(declared + 1);
        let mut buffer = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            let n = reader.read(&mut buffer).map_err(|e| unreadable(&e))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > declared {
                return Err(ReadFailure::Unreadable(
                    "entry is longer than its header declares".into(),
                ));
            }
            sink(&buffer[..n]);
        }
        Ok(total)
    }
}

/// Checks every entry of the central directory before anything is read.
fn check_directory(zip: &mut ZipArchive<File>) -> Result<BTreeMap<String, usize>, Refusal> {
    let count = zip.len();
    if count > MAX_ENTRIES {
        return Err(Refusal::TooManyEntries { count });
    }
    // The reader keeps one entry per name; it counts the directory's own records.
    if zip.has_duplicate_names() {
        return Err(Refusal::DuplicateName);
    }
    let mut entries = BTreeMap::new();
    let mut total = 0u64;
    for index in 0..count {
        let entry = zip.by_index_raw(index).map_err(|_| Refusal::Truncated)?;
        let name = entry.name().map_err(|_| Refusal::UnsafeName {
            name: String::from_utf8_lossy(entry.name_raw()).into_owned(),
        })?;
        let name = name.into_owned();
        if !is_safe_name(&name) {
            return Err(Refusal::UnsafeName { name });
        }
        if entry.is_symlink() {
            return Err(Refusal::Symlink { name });
        }
        if entry.encrypted() {
            return Err(Refusal::Encrypted { name });
        }
        let size = entry.size();
        match entry.compression() {
            CompressionMethod::Stored => {}
            CompressionMethod::Deflated => {
                if size > entry.compressed_size().max(1) * MAX_RATIO && size > 1 << 20 {
                    return Err(Refusal::CompressionRatio { name });
                }
            }
            _ => return Err(Refusal::UnsupportedCompression { name }),
        }
        total = total.saturating_add(size);
        if size > MAX_ENTRY_BYTES || total > MAX_TOTAL_BYTES {
            return Err(Refusal::TooLarge { name, size });
        }
        if !entry.is_dir() {
            entries.insert(name, index);
        }
    }
    Ok(entries)
}

/// A plain relative path: no leading `/`, no `..` or `.` or empty component,
/// no backslash, drive letter or control character.
fn is_safe_name(name: &str) -> bool {
    let name = name.strip_suffix('/').unwrap_or(name);
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && !name.contains(':')
        && !name.chars().any(char::is_control)
        && name.split('/').all(|part| !matches!(part, "" | "." | ".."))
}

#[cfg(test)]
mod tests {
    use super::is_safe_name;

    #[test]
    fn only_plain_relative_names_are_safe() {
        for good in [
            "manifest.json",
            "records/d/000000000001.cose",
            "media/ab.jpg",
            "inspection/",
        ] {
            assert!(is_safe_name(good), "{good}");
        }
        for bad in [
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "./a",
            "a\\b",
            "C:x",
            "a\0b",
            "",
            "a\nb",
        ] {
            assert!(!is_safe_name(bad), "{bad:?}");
        }
    }
}
