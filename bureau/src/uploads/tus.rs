//! The tus 1.0.0 protocol's rules for headers and metadata (<https://tus.io/protocols/resumable-upload>):
//! pure parsing and formatting, no I/O.

use crate::error::{Error, Result};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use fieldproof_core::hex;
use ring::digest;
use std::time::{Duration, UNIX_EPOCH};

pub use fieldproof_core::wire::tus::{PhotoRole, CHUNK_CONTENT_TYPE, VERSION};

pub const EXTENSIONS: &str = "creation,creation-with-upload,checksum,termination,expiration";
pub const CHECKSUM_ALGORITHMS: &str = "sha1,sha256";

/// Upload-Metadata is small: ids, a hash and a short file name.
const MAX_METADATA_BYTES: usize = 4096;
const MAX_FILENAME_BYTES: usize = 255;
const MAX_MIME_BYTES: usize = 127;

/// What a device declares about the photo it is about to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// The photo's id on the device (UUID), hyphenated lower case.
    pub photo_id: String,
    /// SHA-256 of the whole file, checked when the upload completes.
    pub sha256: [u8; 32],
    /// The file's name on the device; informative only, never used as a path.
    pub filename: Option<String>,
    pub mime: Option<String>,
    /// The original (the evidence) or a smaller preview sent ahead of it on a slow
    /// link so reviewers see the case early. Previews are kept apart: they never
    /// vouch for an evidence record's media.
    pub role: PhotoRole,
}

impl Metadata {
    /// Parses `key base64value` pairs separated by commas. `photo_id` and `sha256`
    /// are required; `filename`, `mime` and `role` (`original`, the default, or
    /// `preview`) optional; other keys are ignored (clients
    /// add their own, and nothing here would use them).
    pub fn parse(header: &str) -> Result<Self> {
        let invalid = |reason| Error::InvalidUploadMetadata { reason };
        if header.len() > MAX_METADATA_BYTES {
            return Err(invalid("longer than 4096 bytes"));
        }
        let (mut photo_id, mut sha256, mut filename, mut mime, mut role) =
            (None, None, None, None, None);
        for pair in header.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
            let slot = match key {
                "photo_id" => &mut photo_id,
                "sha256" => &mut sha256,
                "filename" => &mut filename,
                "mime" => &mut mime,
                "role" => &mut role,
                _ => continue,
            };
            if slot.is_some() {
                return Err(invalid("a key appears twice"));
            }
            let bytes = BASE64
                .decode(value.trim())
                .map_err(|_| invalid("a value is not valid base64"))?;
            *slot = Some(String::from_utf8(bytes).map_err(|_| invalid("a value is not UTF-8"))?);
        }

        let photo_id = photo_id.ok_or(invalid("photo_id is required"))?;
        let photo_id = uuid::Uuid::try_parse(&photo_id)
            .map_err(|_| invalid("photo_id is not a UUID"))?
            .hyphenated()
            .to_string();
        let sha256 = sha256
            .ok_or(invalid("sha256 is required"))
            .and_then(|s| hex::decode32(&s).ok_or(invalid("sha256 must be 64 hex digits")))?;
        if let Some(name) = &filename {
            check_filename(name)?;
        }
        if let Some(mime) = &mime {
            check_mime(mime)?;
        }
        let role =
            PhotoRole::parse(role.as_deref()).ok_or(invalid("role must be original or preview"))?;
        Ok(Self {
            photo_id,
            sha256,
            filename,
            mime,
            role,
        })
    }

    /// The metadata as an Upload-Metadata header, with only the keys kept; HEAD
    /// answers with it.
    pub fn to_header(&self) -> String {
        let pairs = [
            ("photo_id", Some(self.photo_id.clone())),
            ("sha256", Some(hex::encode(&self.sha256))),
            ("filename", self.filename.clone()),
            ("mime", self.mime.clone()),
            // `original` is the default and goes unsaid.
            (
                "role",
                (self.role == PhotoRole::Preview).then(|| self.role.as_str().to_owned()),
            ),
        ];
        pairs
            .into_iter()
            .filter_map(|(key, value)| Some(format!("{key} {}", BASE64.encode(value?))))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A file name is only ever shown, but it is refused if it could be mistaken for a
/// path anywhere downstream (exports, reviewers' downloads).
fn check_filename(name: &str) -> Result<()> {
    let path_like = name.is_empty()
        || name.len() > MAX_FILENAME_BYTES
        || name.contains(['/', '\\'])
        || name.contains("..")
        || name.chars().any(char::is_control); // NUL and every other control character
    if path_like {
        return Err(Error::InvalidUploadMetadata {
            reason:
                "filename must be 1-255 bytes without path separators, '..' or control characters",
        });
    }
    Ok(())
}

/// `type/subtype`, each a non-empty run of RFC 9110 token characters.
fn check_mime(mime: &str) -> Result<()> {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    match mime.split_once('/') {
        Some((kind, sub)) if mime.len() <= MAX_MIME_BYTES && token(kind) && token(sub) => Ok(()),
        _ => Err(Error::InvalidUploadMetadata {
            reason: "mime must be a media type such as image/jpeg",
        }),
    }
}

/// An `Upload-Checksum` header (`sha1 <base64>` or `sha256 <base64>`) and the
/// running digest of the chunk it describes.
pub struct Checksum {
    expected: Vec<u8>,
    running: digest::Context,
}

impl Checksum {
    pub fn parse(header: &str) -> Result<Self> {
        let malformed = || Error::InvalidTusHeader {
            header: "Upload-Checksum",
        };
        let (name, value) = header.trim().split_once(' ').ok_or_else(malformed)?;
        let algorithm = match name {
            "sha1" => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            "sha256" => &digest::SHA256,
            _ => return Err(Error::UnsupportedChecksumAlgorithm),
        };
        let expected = BASE64
            .decode(value.trim())
            .ok()
            .filter(|d| d.len() == algorithm.output_len())
            .ok_or_else(malformed)?;
        Ok(Self {
            expected,
            running: digest::Context::new(algorithm),
        })
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.running.update(bytes);
    }

    /// Whether the bytes seen hash to the declared value.
    pub fn matches(self) -> bool {
        self.running.finish().as_ref() == self.expected.as_slice()
    }
}

/// A decimal header value (`Upload-Length`, `Upload-Offset`): digits only, no sign.
pub fn parse_number(text: &str, header: &'static str) -> Result<u64> {
    Some(text.trim())
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse().ok())
        .ok_or(Error::InvalidTusHeader { header })
}

/// UTC milliseconds as an RFC 9110 HTTP-date (`Upload-Expires`).
pub fn http_date(ms: i64) -> String {
    let since_epoch = Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    httpdate::fmt_http_date(UNIX_EPOCH + since_epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(key: &str, value: &str) -> String {
        format!("{key} {}", BASE64.encode(value))
    }

    fn metadata(extra: &[(&str, &str)]) -> String {
        let mut pairs = vec![
            pair("photo_id", "0190a6e2-5b7c-7d3e-8f00-123456789abc"),
            pair("sha256", &"ab".repeat(32)),
        ];
        pairs.extend(extra.iter().map(|(k, v)| pair(k, v)));
        pairs.join(",")
    }

    fn reason(header: &str) -> &'static str {
        match Metadata::parse(header) {
            Err(Error::InvalidUploadMetadata { reason }) => reason,
            other => panic!("expected invalid metadata, got {other:?}"),
        }
    }

    #[test]
    fn metadata_round_trips_and_ignores_unknown_keys() {
        let header = metadata(&[
            ("filename", "IMG 0001.jpg"),
            ("mime", "image/jpeg"),
            ("x", "y"),
        ]);
        let parsed = Metadata::parse(&header).unwrap();
        assert_eq!(parsed.photo_id, "0190a6e2-5b7c-7d3e-8f00-123456789abc");
        assert_eq!(parsed.sha256, [0xab; 32]);
        assert_eq!(parsed.filename.as_deref(), Some("IMG 0001.jpg"));
        assert_eq!(Metadata::parse(&parsed.to_header()).unwrap(), parsed);
        // A key without a value is allowed by tus; an ignored one costs nothing.
        assert!(Metadata::parse(&format!("{header},flag")).is_ok());
    }

    #[test]
    fn bad_metadata_is_refused() {
        let sha = pair("sha256", &"ab".repeat(32));
        assert_eq!(reason(&sha), "photo_id is required");
        assert_eq!(
            reason(&format!("{sha},{}", pair("photo_id", "../../etc/passwd"))),
            "photo_id is not a UUID"
        );
        assert_eq!(
            reason(&pair("photo_id", "0190a6e2-5b7c-7d3e-8f00-123456789abc")),
            "sha256 is required"
        );
        assert_eq!(
            reason(&metadata(&[("sha256", "ab")])),
            "a key appears twice"
        );
        assert_eq!(reason("photo_id !!!"), "a value is not valid base64");
        for name in [
            "../x.jpg", "a/b.jpg", "a\\b.jpg", "a\0.jpg", "a\nb.jpg", "..", "",
        ] {
            assert!(
                reason(&metadata(&[("filename", name)])).starts_with("filename"),
                "{name:?}"
            );
        }
        for mime in ["image", "image/", "/jpeg", "image/jp eg", "image/jpeg\r\n"] {
            assert!(
                reason(&metadata(&[("mime", mime)])).starts_with("mime"),
                "{mime:?}"
            );
        }
    }

    #[test]
    fn checksums_verify_chunks() {
        let mut sha1 = Checksum::parse("sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=").unwrap(); // "hello world"
        sha1.update(b"hello ");
        sha1.update(b"world");
        assert!(sha1.matches());
        let sha256 = "sha256 uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=";
        let mut wrong = Checksum::parse(sha256).unwrap();
        wrong.update(b"hello world!");
        assert!(!wrong.matches());
        assert!(matches!(
            Checksum::parse("md5 XrY7u+Ae7tCTyyK7j1rNww=="),
            Err(Error::UnsupportedChecksumAlgorithm)
        ));
        assert!(matches!(
            Checksum::parse("sha1 AAAA"),
            Err(Error::InvalidTusHeader { .. })
        ));
        assert!(matches!(
            Checksum::parse("sha1"),
            Err(Error::InvalidTusHeader { .. })
        ));
    }

    #[test]
    fn numbers_and_dates() {
        assert_eq!(parse_number("1024", "Upload-Length").unwrap(), 1024);
        for bad in ["", "-1", "+1", "1e3", "0x10", "99999999999999999999"] {
            assert!(parse_number(bad, "Upload-Length").is_err(), "{bad}");
        }
        assert_eq!(http_date(784_111_777_000), "Sun, 06 Nov 1994 08:49:37 GMT");
    }
}
