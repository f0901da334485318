//! gzip for bureau answers. Pull pages carry reference data (the corpus county
//! boundaries: 1.34 MB of JSON, 0.38 MB gzipped), minutes on a 2G link, so every
//! request asks for gzip and the core decodes it here, once, for every
//! platform's transport: a transport passes bodies as received.
//!
//! A transport that decodes by itself (URLSession does, and keeps the
//! `Content-Encoding` header) hands over JSON, which never starts with gzip's
//! magic bytes; such a body is taken as it is.

use super::transport::{HttpHeader, HttpResponse};
use crate::error::{Error, Result};
use flate2::read::GzDecoder;
use std::io::Read;

/// What every request sends.
pub(crate) const ACCEPT: (&str, &str) = ("Accept-Encoding", "gzip");

/// A decoded answer larger than this is refused, so a hostile or broken
/// server cannot make a small body fill the phone's memory.
const MAX_DECODED_BYTES: u64 = 64 * 1024 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// `response` with its body decoded, if the bureau gzipped it.
pub(crate) fn decode(mut response: HttpResponse) -> Result<HttpResponse> {
    let gzipped = response
        .header("Content-Encoding")
        .is_some_and(|e| e.trim().eq_ignore_ascii_case("gzip"));
    if !gzipped || !response.body.starts_with(&GZIP_MAGIC) {
        return Ok(response);
    }
    let mut decoded = Vec::with_capacity(response.body.len() * 4);
    let read = GzDecoder::new(response.body.as_slice())
        .take(MAX_DECODED_BYTES + 1)
        .read_to_end(&mut decoded);
    match read {
        Ok(n) if n as u64 <= MAX_DECODED_BYTES => {}
        Ok(_) => {
            return Err(Error::BadResponse {
                reason: format!("a gzipped answer decodes to more than {MAX_DECODED_BYTES} bytes"),
            })
        }
        Err(e) => {
            return Err(Error::BadResponse {
                reason: format!("a gzipped answer does not decode: {e}"),
            })
        }
    }
    response.body = decoded;
    response
        .headers
        .retain(|HttpHeader { name, .. }| !name.eq_ignore_ascii_case("Content-Encoding"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn answer(encoding: Option<&str>, body: Vec<u8>) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: encoding
                .map(|e| HttpHeader {
                    name: "content-encoding".into(),
                    value: e.into(),
                })
                .into_iter()
                .collect(),
            body,
        }
    }

    #[test]
    fn a_gzipped_body_is_decoded_and_anything_else_taken_as_it_is() {
        let json = br#"{"changes":[],"next_cursor":"0"}"#.repeat(100);
        let decoded = decode(answer(Some("gzip"), gzip(&json))).unwrap();
        assert_eq!(decoded.body, json);
        assert_eq!(decoded.header("Content-Encoding"), None);
        // Already decoded by the platform, the header kept: JSON as it is.
        let as_is = decode(answer(Some("GZIP"), json.clone())).unwrap();
        assert_eq!(as_is.body, json);
        let plain = decode(answer(None, gzip(&json))).unwrap();
        assert_eq!(plain.body, gzip(&json), "not labelled gzip: not decoded");
    }

    #[test]
    fn a_broken_or_oversized_gzip_body_is_a_bad_response() {
        let mut cut = gzip(&b"x".repeat(10_000));
        cut.truncate(cut.len() / 2);
        let refused = decode(answer(Some("gzip"), cut)).unwrap_err();
        assert_eq!(refused.code(), "bad_response");
        // 65 MiB of zeros gzip to about 64 KiB.
        let bomb = {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
            let zeros = vec![0u8; 1 << 20];
            for _ in 0..65 {
                encoder.write_all(&zeros).unwrap();
            }
            encoder.finish().unwrap()
        };
        assert!(bomb.len() < 1 << 20);
        let refused = decode(answer(Some("gzip"), bomb)).unwrap_err();
        assert!(refused.to_string().contains("more than"), "{refused}");
    }
}
