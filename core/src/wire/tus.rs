//! Photo uploads speak tus 1.0.0 (<https://tus.io/protocols/resumable-upload>):
//! the constants both sides share, and the role of the file an upload carries.

/// The only protocol version spoken (`Tus-Resumable`, `Tus-Version`).
pub const VERSION: &str = "1.0.0";
/// Where the bureau creates uploads.
pub const UPLOADS_PATH: &str = "/v1/uploads";
/// The content type of every chunk (PATCH, and POST with creation-with-upload).
pub const CHUNK_CONTENT_TYPE: &str = "application/offset+octet-stream";

/// The file an upload carries, sent as the `role` metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoRole {
    /// The photo's exact bytes: the evidence. The default when `role` is absent.
    Original,
    /// A smaller preview sent ahead of the original on a slow link, so that the
    /// bureau sees every case early. Kept apart: it never vouches for evidence.
    Preview,
}

impl PhotoRole {
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoRole::Original => "original",
            PhotoRole::Preview => "preview",
        }
    }

    /// The role a `role` metadata value names (`None`: absent, the original).
    pub fn parse(value: Option<&str>) -> Option<Self> {
        match value {
            None | Some("original") => Some(PhotoRole::Original),
            Some("preview") => Some(PhotoRole::Preview),
            Some(_) => None,
        }
    }
}
