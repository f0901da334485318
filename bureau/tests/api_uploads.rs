//! tus 1.0 photo uploads over real HTTP on loopback, with real corpus photos, on
//! SQLite, on PostgreSQL, and on PostgreSQL with photos in S3 (see `support` for
//! the servers).

#[macro_use]
mod support;

use std::os::unix::fs::PermissionsExt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use fieldproof_bureau::storage::Database;
use fieldproof_core::evidence::sha256;
use fieldproof_core::hex;
use ring::digest;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};
use support::{corpus, send, Backend, Reply, TestBureau, TestDevice};

on_every_store!(
    options_advertises_the_protocol_without_a_token,
    a_photo_uploads_in_checksummed_chunks_and_is_stored_byte_identical,
    creation_with_upload_and_a_photo_already_held,
    a_checksum_mismatch_discards_the_chunk,
    bad_offsets_sizes_and_content_types_are_refused,
    bad_metadata_and_path_traversal_are_refused,
    the_tus_version_is_required,
    another_devices_upload_does_not_exist_for_it,
    termination_removes_an_unfinished_upload_only,
    a_photo_not_matching_its_declared_hash_is_refused_and_deleted,
    unfinished_uploads_are_held_to_a_quota_per_device,
    expired_uploads_answer_410_and_are_swept,
    a_cut_connection_keeps_the_bytes_that_arrived,
    concurrent_patches_never_interleave,
    two_bureau_processes_take_turns_on_one_upload,
    a_preview_is_kept_apart_from_the_evidence,
    answers_that_need_no_body_still_read_it,
);

/// 161 KB, sent in several chunks.
const PHOTO: &str = "photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg";
const OTHER_PHOTO: &str = "photos/camera/nikon_coolpix_p6000_gps_DSCN0021.jpg";
const CHUNK: usize = 50_000;

fn photo(path: &str) -> Vec<u8> {
    std::fs::read(corpus(path)).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// Upload-Metadata for `bytes`, with a fresh photo id.
fn metadata_for(bytes: &[u8]) -> String {
    format!(
        "photo_id {},sha256 {},filename {},mime {}",
        b64(uuid::Uuid::now_v7().to_string().as_bytes()),
        b64(hex::encode(&sha256(bytes)).as_bytes()),
        b64(b"DSCN0010.jpg"),
        b64(b"image/jpeg"),
    )
}

fn checksum(algorithm: &'static digest::Algorithm, name: &str, chunk: &[u8]) -> String {
    format!("{name} {}", b64(digest::digest(algorithm, chunk).as_ref()))
}

/// A device speaking tus by hand, one request at a time.
struct Client<'a> {
    url: &'a str,
    token: &'a str,
}

impl<'a> Client<'a> {
    fn new(bureau: &'a TestBureau, device: &'a TestDevice) -> Self {
        Self {
            url: &bureau.url,
            token: &device.token,
        }
    }

    /// A request with `Tus-Resumable: 1.0.0` added; `path` is absolute or a Location.
    fn tus(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let mut all = vec![("Tus-Resumable", "1.0.0")];
        all.extend_from_slice(headers);
        send(
            method,
            &format!("{}{path}", self.url),
            Some(self.token),
            &all,
            body,
        )
    }

    fn create(&self, length: usize, metadata: &str) -> Reply {
        let length = length.to_string();
        self.tus(
            "POST",
            "/v1/uploads",
            &[("Upload-Length", &length), ("Upload-Metadata", metadata)],
            b"",
        )
    }

    /// Creates an upload for `bytes` and returns its Location.
    fn start(&self, bytes: &[u8]) -> String {
        let reply = self.create(bytes.len(), &metadata_for(bytes));
        assert_eq!(reply.status, 201, "{:?}", reply.code());
        reply.header("Location").unwrap().to_owned()
    }

    fn patch(&self, location: &str, offset: usize, chunk: &[u8], extra: &[(&str, &str)]) -> Reply {
        let offset = offset.to_string();
        let mut headers = vec![
            ("Upload-Offset", offset.as_str()),
            ("Content-Type", "application/offset+octet-stream"),
        ];
        headers.extend_from_slice(extra);
        self.tus("PATCH", location, &headers, chunk)
    }

    fn head(&self, location: &str) -> Reply {
        self.tus("HEAD", location, &[], b"")
    }

    fn offset(&self, location: &str) -> u64 {
        let reply = self.head(location);
        assert_eq!(reply.status, 200, "{:?}", reply.code());
        reply.header("Upload-Offset").unwrap().parse().unwrap()
    }

    /// Sends `bytes[from..]` in [`CHUNK`]-sized PATCHes; returns the last reply.
    fn send_rest(&self, location: &str, bytes: &[u8], from: usize) -> Reply {
        let mut offset = from;
        loop {
            let end = (offset + CHUNK).min(bytes.len());
            let reply = self.patch(location, offset, &bytes[offset..end], &[]);
            if reply.status != 204 || end == bytes.len() {
                return reply;
            }
            offset = end;
        }
    }
}

fn status_and_code(reply: &Reply) -> (u16, String) {
    (reply.status, reply.code().unwrap_or_default())
}

/// The photo store's copy of `bytes`, if it holds one.
fn stored_photo(bureau: &TestBureau, bytes: &[u8]) -> Option<Vec<u8>> {
    bureau.bureau().photos.photo_bytes(&sha256(bytes)).unwrap()
}

fn upload_id(location: &str) -> &str {
    location.strip_prefix("/v1/uploads/").unwrap()
}

/// Whether the photo store holds bytes of the upload at `location`.
fn holds_upload_bytes(bureau: &TestBureau, location: &str) -> bool {
    let ids = bureau.bureau().photos.upload_ids().unwrap();
    ids.iter().any(|id| id == upload_id(location))
}

/// The upload's file, where the photos are in the data folder.
fn upload_file(bureau: &TestBureau, location: &str) -> Option<PathBuf> {
    (bureau.config.photo_store.is_none())
        .then(|| bureau.data.path().join("uploads").join(upload_id(location)))
}

fn expires_at(reply: &Reply) -> SystemTime {
    httpdate::parse_http_date(reply.header("Upload-Expires").expect("Upload-Expires")).unwrap()
}

fn options_advertises_the_protocol_without_a_token(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    for path in [
        "/v1/uploads",
        "/v1/uploads/0190a6e2-5b7c-7d3e-8f00-123456789abc",
    ] {
        let reply = send("OPTIONS", &format!("{}{path}", bureau.url), None, &[], b"");
        assert_eq!(reply.status, 204);
        assert_eq!(reply.header("Tus-Resumable"), Some("1.0.0"));
        assert_eq!(reply.header("Tus-Version"), Some("1.0.0"));
        assert_eq!(
            reply.header("Tus-Extension"),
            Some("creation,creation-with-upload,checksum,termination,expiration")
        );
        assert_eq!(reply.header("Tus-Max-Size"), Some("67108864"));
        assert_eq!(reply.header("Tus-Checksum-Algorithm"), Some("sha1,sha256"));
    }
}

fn a_photo_uploads_in_checksummed_chunks_and_is_stored_byte_identical(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let device = bureau.device("430102001");
    let client = Client::new(&bureau, &device);
    let bytes = photo(PHOTO);
    let metadata = metadata_for(&bytes);

    let created = client.create(bytes.len(), &metadata);
    assert_eq!(created.status, 201, "{:?}", created.code());
    assert_eq!(created.header("Tus-Resumable"), Some("1.0.0"));
    assert_eq!(created.header("Upload-Offset"), Some("0"));
    let location = created.header("Location").unwrap().to_owned();
    let id = uuid::Uuid::parse_str(location.strip_prefix("/v1/uploads/").unwrap()).unwrap();
    assert_eq!(id.get_version_num(), 7, "upload ids are server-made UUIDv7");
    // Default expiry: seven days after creation, as an HTTP-date.
    let week = SystemTime::now() + Duration::from_secs(7 * 86_400);
    let expires = expires_at(&created);
    assert!(expires > week - Duration::from_secs(60) && expires < week + Duration::from_secs(60));

    let status = client.head(&location);
    assert_eq!(status.status, 200);
    assert!(status.body.is_empty());
    assert_eq!(status.header("Upload-Offset"), Some("0"));
    assert_eq!(
        status.header("Upload-Length"),
        Some(bytes.len().to_string().as_str())
    );
    assert_eq!(status.header("Cache-Control"), Some("no-store"));
    assert_eq!(expires_at(&status), expires);
    // The metadata kept is the metadata sent (here, every key is one the bureau keeps).
    assert_eq!(status.header("Upload-Metadata"), Some(metadata.as_str()));

    // Chunks alternate between the two checksum algorithms.
    let algorithms = [
        (&digest::SHA1_FOR_LEGACY_USE_ONLY, "sha1"),
        (&digest::SHA256, "sha256"),
    ];
    for (i, chunk) in bytes.chunks(CHUNK).enumerate() {
        let offset = i * CHUNK;
        let (algorithm, name) = algorithms[i % 2];
        let sum = checksum(algorithm, name, chunk);
        let reply = client.patch(&location, offset, chunk, &[("Upload-Checksum", &sum)]);
        assert_eq!(reply.status, 204, "chunk {i}: {:?}", reply.code());
        let reached = (offset + chunk.len()).to_string();
        assert_eq!(reply.header("Upload-Offset"), Some(reached.as_str()));
        // Upload-Expires only while the upload is unfinished.
        let last = offset + chunk.len() == bytes.len();
        assert_eq!(reply.header("Upload-Expires").is_none(), last);
    }

    assert_eq!(client.offset(&location), bytes.len() as u64);
    assert_eq!(stored_photo(&bureau, &bytes), Some(bytes.clone()));
    assert!(
        !holds_upload_bytes(&bureau, &location),
        "the upload's own file is gone"
    );
    // The bureau's own thumbnail of the original, for the printed record, is
    // made when first needed, not on the upload's path; then it is kept.
    let photos = &bureau.bureau().photos;
    assert_eq!(photos.thumbnail(&sha256(&bytes)), None);
    let made = fieldproof_bureau::photo_thumbnails::of(photos, &sha256(&bytes)).unwrap();
    assert_eq!(made.width.max(made.height), 360);
    assert_eq!(photos.thumbnail(&sha256(&bytes)), Some(made.jpeg));

    // The photo, an upload in flight, the database and the bureau key: the
    // bureau's alone, the data folder too.
    let other = photo(OTHER_PHOTO);
    let unfinished = client.create(other.len(), &metadata_for(&other));
    let unfinished = unfinished.header("Location").unwrap().to_owned();
    assert_eq!(client.patch(&unfinished, 0, &other[..100], &[]).status, 204);
    assert!(holds_upload_bytes(&bureau, &unfinished));
    let data = bureau.data.path();
    assert_eq!(
        std::fs::metadata(data).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(
        fieldproof_core::private_files::not_private(data),
        Vec::<String>::new()
    );
}

fn creation_with_upload_and_a_photo_already_held(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let device = bureau.device("430102001");
    let client = Client::new(&bureau, &device);
    let bytes = photo(OTHER_PHOTO);
    let length = bytes.len().to_string();
    let upload = |client: &Client| {
        client.tus(
            "POST",
            "/v1/uploads",
            &[
                ("Upload-Length", &length),
                ("Upload-Metadata", &metadata_for(&bytes)),
                ("Content-Type", "application/offset+octet-stream"),
            ],
            &bytes,
        )
    };

    let first = upload(&client);
    assert_eq!(first.status, 201, "{:?}", first.code());
    assert_eq!(first.header("Upload-Offset"), Some(length.as_str()));
    assert!(first.header("Upload-Expires").is_none());
    assert_eq!(stored_photo(&bureau, &bytes), Some(bytes.clone()));

    // The same device offering the same bytes again gets its finished upload back.
    let again = client.create(bytes.len(), &metadata_for(&bytes));
    assert_eq!(again.status, 201);
    assert_eq!(again.header("Location"), first.header("Location"));
    assert_eq!(again.header("Upload-Offset"), Some(length.as_str()));

    // Another device's copy of the same bytes is its own upload; one file is kept.
    let other = bureau.device("430102002");
    let theirs = upload(&Client::new(&bureau, &other));
    assert_eq!(theirs.status, 201, "{:?}", theirs.code());
    assert_ne!(theirs.header("Location"), first.header("Location"));
    assert_eq!(stored_photo(&bureau, &bytes), Some(bytes.clone()));

    // Each device is recorded as holding the photo.
    let (data, config) = bureau.stop();
    let db = match &config.database_url {
        Some(url) => Database::open_postgres(url, 1),
        None => Database::open_sqlite(&data.path().join("bureau.sqlite3")),
    }
    .unwrap();
    let holders = db
        .read(|tx| {
            tx.query(
                "SELECT device_id, size FROM photos WHERE sha256 = $1 ORDER BY device_id",
                &[sha256(&bytes).to_vec().into()],
            )
        })
        .unwrap();
    let mut expected = vec![device.device_id.clone(), other.device_id.clone()];
    expected.sort();
    let found: Vec<String> = holders.iter().map(|r| r.text(0).unwrap()).collect();
    assert_eq!(found, expected);
    assert!(holders
        .iter()
        .all(|r| r.int(1).unwrap() == bytes.len() as i64));
}

fn a_checksum_mismatch_discards_the_chunk(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let device = bureau.device("430102001");
    let client = Client::new(&bureau, &device);
    let bytes = photo(PHOTO);
    let location = client.start(&bytes);
    let first = &bytes[..CHUNK];
    let sum = checksum(&digest::SHA256, "sha256", first);
    assert_eq!(
        client
            .patch(&location, 0, first, &[("Upload-Checksum", &sum)])
            .status,
        204
    );

    let second = &bytes[CHUNK..2 * CHUNK];
    let wrong = checksum(&digest::SHA256, "sha256", &bytes[..CHUNK]);
    let reply = client.patch(&location, CHUNK, second, &[("Upload-Checksum", &wrong)]);
    assert_eq!(status_and_code(&reply), (460, "checksum_mismatch".into()));
    assert_eq!(client.offset(&location), CHUNK as u64);
    if let Some(file) = upload_file(&bureau, &location) {
        let kept = std::fs::metadata(file).unwrap().len();
        assert_eq!(kept, CHUNK as u64, "the discarded bytes are not kept");
    }

    for (header, expected) in [
        (
            "md5 XrY7u+Ae7tCTyyK7j1rNww==",
            (400, "unsupported_checksum_algorithm"),
        ),
        ("sha1 not-base64!", (400, "invalid_tus_header")),
        ("sha256", (400, "invalid_tus_header")),
        ("sha1 AAAA", (400, "invalid_tus_header")), // wrong digest length
    ] {
        let reply = client.patch(&location, CHUNK, second, &[("Upload-Checksum", header)]);
        assert_eq!(
            status_and_code(&reply),
            (expected.0, expected.1.into()),
            "{header}"
        );
    }

    let right = checksum(&digest::SHA1_FOR_LEGACY_USE_ONLY, "sha1", second);
    let reply = client.patch(&location, CHUNK, second, &[("Upload-Checksum", &right)]);
    assert_eq!(reply.status, 204);
    assert_eq!(client.send_rest(&location, &bytes, 2 * CHUNK).status, 204);
    assert_eq!(stored_photo(&bureau, &bytes), Some(bytes.clone()));
}

fn bad_offsets_sizes_and_content_types_are_refused(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let device = bureau.device("430102001");
    let client = Client::new(&bureau, &device);
    let bytes = photo(PHOTO);
    let location = client.start(&bytes);
    let metadata = metadata_for(&bytes);

    let reply = client.patch(&location, 5, &bytes[5..100], &[]);
    assert_eq!(status_and_code(&reply), (409, "offset_mismatch".into()));

    // More than the upload's length: refused whole, before or while it is read.
    let mut longer = bytes.clone();
    longer.push(0);
    let reply = client.patch(&location, 0, &longer, &[]);
    assert_eq!(
        status_and_code(&reply),
        (413, "beyond_upload_length".into())
    );
    let reply = client.tus(
        "PATCH",
        &location,
        &[
            ("Upload-Offset", "0"),
            ("Content-Type", "application/offset+octet-stream"),
            ("Transfer-Encoding", "chunked"),
        ],
        &longer,
    );
    assert_eq!(
        status_and_code(&reply),
        (413, "beyond_upload_length".into())
    );
    assert_eq!(client.offset(&location), 0);

    let reply = client.tus(
        "PATCH",
        &location,
        &[
            ("Upload-Offset", "0"),
            ("Content-Type", "application/octet-stream"),
        ],
        &bytes[..100],
    );
    assert_eq!(
        status_and_code(&reply),
        (415, "unsupported_content_type".into())
    );
    let reply = client.tus(
        "PATCH",
        &location,
        &[("Content-Type", "application/offset+octet-stream")],
        b"x",
    );
    assert_eq!(status_and_code(&reply), (400, "invalid_tus_header".into()));
    let reply = client.tus(
        "PATCH",
        &location,
        &[
            ("Upload-Offset", "-1"),
            ("Content-Type", "application/offset+octet-stream"),
        ],
        b"x",
    );
    assert_eq!(status_and_code(&reply), (400, "invalid_tus_header".into()));

    let too_large = (64u64 << 20) + 1;
    let reply = client.create(too_large as usize, &metadata);
    assert_eq!(status_and_code(&reply), (413, "upload_too_large".into()));
    let reply = client.create(0, &metadata);
    assert_eq!(status_and_code(&reply), (400, "invalid_request".into()));
    let reply = client.tus(
        "POST",
        "/v1/uploads",
        &[("Upload-Metadata", &metadata)],
        b"",
    );
    assert_eq!(status_and_code(&reply), (400, "invalid_tus_header".into()));
    let reply = client.tus(
        "POST",
        "/v1/uploads",
        &[
            ("Upload-Length", "100"),
            ("Upload-Metadata", &metadata),
            ("Content-Type", "image/jpeg"),
        ],
        &bytes[..100],
    );
    assert_eq!(
        status_and_code(&reply),
        (415, "unsupported_content_type".into())
    );
}

fn bad_metadata_and_path_traversal_are_refused(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let device = bureau.device("430102001");
    let client = Client::new(&bureau, &device);
    let sha = format!("sha256 {}", b64(hex::encode(&[7; 32]).as_bytes()));
    let id = format!(
        "photo_id {}",
        b64(uuid::Uuid::now_v7().to_string().as_bytes())
    );
    let filename = |name: &str| format!("{id},{sha},filename {}", b64(name.as_bytes()));
    let cases = [
        String::new(),
        sha.clone(),
        id.clone(),
        format!("{sha},photo_id {}", b64(b"../../bureau.sqlite3")),
        format!("{sha},photo_id {}", b64(b"photos/x")),
        format!("{id},sha256 {}", b64(b"../../etc/passwd")),
        format!("{id},sha256 {}", b64("ab".repeat(31).as_bytes())),
        format!("{id},{sha},{sha}"),
        format!("{id},sha256 ***"),
        filename("../../bureau-key.p8"),
        filename("/etc/passwd"),
        filename("photos\\x.jpg"),
        filename(".."),
        filename("a\0.jpg"),
        filename("a\r\n.jpg"),
        format!("{id},{sha},mime {}", b64(b"image/jpeg\nX: y")),
        format!("{id},{sha},filename {}", "x".repeat(5000)),
    ];
    for metadata in &cases {
        let reply = client.create(1000, metadata);
        assert_eq!(
            status_and_code(&reply),
            (400, "invalid_upload_metadata".into()),
            "{metadata}"
        );
    }

    // Upload ids in the path are UUIDs; anything else never reaches the disk.
    for path in [
        "/v1/uploads/..%2F..%2Fbureau.sqlite3",
        "/v1/uploads/..",
        "/v1/uploads/%2e%2e",
        "/v1/uploads/not-a-uuid",
        "/v1/uploads/0190a6e2-5b7c-7d3e-8f00-123456789abc%00",
    ] {
        for method in ["HEAD", "PATCH", "DELETE"] {
            let reply = match method {
                "PATCH" => client.patch(path, 0, b"x", &[]),
                _ => client.tus(method, path, &[], b""),
            };
            assert_eq!(reply.status, 400, "{method} {path}");
            if method != "HEAD" {
                assert_eq!(
                    reply.code().as_deref(),
                    Some("invalid_id"),
                    "{method} {path}"
                );
            }
        }
    }
    let unknown = format!("/v1/uploads/{}", uuid::Uuid::now_v7());
    assert_eq!(
        status_and_code(&client.patch(&unknown, 0, b"x", &[])),
        (404, "upload_not_found".into())
    );
    assert_eq!(client.head(&unknown).status, 404);
    assert_eq!(
        status_and_code(&client.tus("DELETE", &unknown, &[], b"")),
        (404, "upload_not_found".into())
    );
    assert!(bureau.bureau().photos.upload_ids().unwrap().is_empty());
    assert!(bureau.bureau().photos.photo_hashes().unwrap().is_empty());
}

fn the_tus_version_is_required(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let device = bureau.device("430102001");
    let url = format!("{}/v1/uploads", bureau.url);
    for version in [None, Some("0.2.2"), Some("1.0")] {
        let headers: Vec<(&str, &str)> =
            version.map(|v| ("Tus-Resumable", v)).into_iter().collect();
        let reply = send("POST", &url, Some(&device.token), &headers, b"");
        assert_eq!(
            status_and_code(&reply),
            (412, "tus_version_unsupported".into())
        );
        assert_eq!(reply.header("Tus-Version"), Some("1.0.0"));
        assert_eq!(reply.header("Tus-Resumable"), Some("1.0.0"));
    }
    // Errors carry Tus-Resumable too; HEAD errors have no body.
    let reply = send(
        "HEAD",
        &format!("{url}/{}", uuid::Uuid::now_v7()),
        Some(&device.token),
        &[],
        b"",
    );
    assert_eq!(reply.status, 412);
    assert!(reply.body.is_empty());
    let reply = send("POST", &url, None, &[("Tus-Resumable", "1.0.0")], b"");
    assert_eq!(status_and_code(&reply), (401, "unauthenticated".into()));
    assert_eq!(reply.header("Tus-Resumable"), Some("1.0.0"));
}

fn another_devices_upload_does_not_exist_for_it(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let owner = bureau.device("430102001");
    let stranger = bureau.device("430102001");
    let bytes = photo(PHOTO);
    let mine = Client::new(&bureau, &owner);
    let location = mine.start(&bytes);
    assert_eq!(mine.patch(&location, 0, &bytes[..CHUNK], &[]).status, 204);

    let theirs = Client::new(&bureau, &stranger);
    let not_found = (404, "upload_not_found".to_owned());
    assert_eq!(theirs.head(&location).status, 404);
    assert_eq!(
        status_and_code(&theirs.patch(&location, CHUNK, &bytes[CHUNK..], &[])),
        not_found
    );
    assert_eq!(
        status_and_code(&theirs.tus("DELETE", &location, &[], b"")),
        not_found
    );

    assert_eq!(mine.offset(&location), CHUNK as u64);
    assert_eq!(mine.send_rest(&location, &bytes, CHUNK).status, 204);
    // Even complete, it stays the owner's alone.
    assert_eq!(theirs.head(&location).status, 404);
}

fn termination_removes_an_unfinished_upload_only(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let device = bureau.device("430102001");
    let client = Client::new(&bureau, &device);
    let bytes = photo(PHOTO);
    let location = client.start(&bytes);
    assert_eq!(client.patch(&location, 0, &bytes[..CHUNK], &[]).status, 204);
    assert!(holds_upload_bytes(&bureau, &location));

    let reply = client.tus("DELETE", &location, &[], b"");
    assert_eq!(reply.status, 204);
    assert_eq!(reply.header("Tus-Resumable"), Some("1.0.0"));
    assert!(!holds_upload_bytes(&bureau, &location));
    assert_eq!(client.head(&location).status, 404);
    let reply = client.patch(&location, CHUNK, &bytes[CHUNK..], &[]);
    assert_eq!(status_and_code(&reply), (404, "upload_not_found".into()));

    // A complete photo is evidence: it cannot be terminated.
    let location = client.start(&bytes);
    assert_eq!(client.send_rest(&location, &bytes, 0).status, 204);
    let reply = client.tus("DELETE", &location, &[], b"");
    assert_eq!(status_and_code(&reply), (409, "upload_finished".into()));
    assert_eq!(stored_photo(&bureau, &bytes), Some(bytes.clone()));
}

fn a_photo_not_matching_its_declared_hash_is_refused_and_deleted(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let device = bureau.device("430102001");
    let client = Client::new(&bureau, &device);
    let bytes = photo(PHOTO);
    // Declares the other photo's hash, with this photo's length.
    let reply = client.create(bytes.len(), &metadata_for(&photo(OTHER_PHOTO)));
    let location = reply.header("Location").unwrap().to_owned();

    let reply = client.send_rest(&location, &bytes, 0);
    assert_eq!(status_and_code(&reply), (460, "photo_hash_mismatch".into()));
    assert!(
        !holds_upload_bytes(&bureau, &location),
        "the refused bytes are deleted"
    );
    assert!(bureau.bureau().photos.photo_hashes().unwrap().is_empty());

    // From then on the upload answers the same.
    let reply = client.head(&location);
    assert_eq!(reply.status, 460);
    assert!(reply.body.is_empty());
    let reply = client.patch(&location, bytes.len(), b"", &[]);
    assert_eq!(status_and_code(&reply), (460, "photo_hash_mismatch".into()));
    let reply = client.tus("DELETE", &location, &[], b"");
    assert_eq!(status_and_code(&reply), (460, "photo_hash_mismatch".into()));

    // A refused upload's file left by a crash (or an older bureau) goes at restart.
    let photos = bureau.bureau().photos.clone();
    let leftover = async {
        let mut writer = photos.chunk_writer(upload_id(&location), 0).await?;
        writer.write(&bytes).await?;
        writer.keep().await
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    assert_eq!(runtime.block_on(leftover).unwrap(), bytes.len() as u64);
    assert!(holds_upload_bytes(&bureau, &location));
    let (data, config) = bureau.stop();
    let bureau = TestBureau::start_in(data, config);
    // The start-up sweep runs beside the first requests: wait for it, boundedly.
    let gone = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        !holds_upload_bytes(&bureau, &location)
    });
    assert!(gone, "swept at start-up");
}

fn unfinished_uploads_are_held_to_a_quota_per_device(backend: Backend) {
    let bytes = photo(PHOTO);
    let quota = 2 * bytes.len() as u64 + 10;
    let Some(bureau) = TestBureau::start_backend_with(backend, |c| {
        c.limits.max_photo_bytes = bytes.len() as u64 + 10;
        c.limits.max_upload_bytes_in_flight = quota;
    }) else {
        return;
    };
    let device = bureau.device("430102001");
    let client = Client::new(&bureau, &device);
    let metadata = |n: u8| {
        let mut other = bytes.clone();
        other[bytes.len() - 3] ^= n; // a distinct photo, so no upload is reused
        metadata_for(&other)
    };
    let first = client.create(bytes.len(), &metadata(1));
    let second = client.create(bytes.len(), &metadata(2));
    assert_eq!((first.status, second.status), (201, 201));
    let refused = client.create(bytes.len(), &metadata(3));
    assert_eq!(
        status_and_code(&refused),
        (409, "upload_quota_exceeded".into())
    );
    assert!(bureau.bureau().photos.upload_ids().unwrap().len() <= 2);
    // The same photo started again (its Location lost in a crash) is not owed twice.
    assert_eq!(client.create(bytes.len(), &metadata(2)).status, 201);
    // Another device has its own quota.
    let other = bureau.device("430102001");
    let theirs = Client::new(&bureau, &other).create(bytes.len(), &metadata(3));
    assert_eq!(theirs.status, 201);
    // Ending an upload frees its share.
    let location = first.header("Location").unwrap().to_owned();
    assert_eq!(client.tus("DELETE", &location, &[], b"").status, 204);
    assert_eq!(client.create(bytes.len(), &metadata(3)).status, 201);
}

fn expired_uploads_answer_410_and_are_swept(backend: Backend) {
    let Some(bureau) =
        TestBureau::start_backend_with(backend, |config| config.limits.upload_expiry_s = 1)
    else {
        return;
    };
    let device = bureau.device("430102001");
    let client = Client::new(&bureau, &device);
    let bytes = photo(PHOTO);
    let created = client.create(bytes.len(), &metadata_for(&bytes));
    let location = created.header("Location").unwrap().to_owned();
    assert!(expires_at(&created) <= SystemTime::now() + Duration::from_secs(2));
    assert_eq!(client.patch(&location, 0, &bytes[..CHUNK], &[]).status, 204);
    assert!(holds_upload_bytes(&bureau, &location));

    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(client.head(&location).status, 410);
    let reply = client.patch(&location, CHUNK, &bytes[CHUNK..], &[]);
    assert_eq!(status_and_code(&reply), (410, "upload_expired".into()));
    let reply = client.tus("DELETE", &location, &[], b"");
    assert_eq!(status_and_code(&reply), (410, "upload_expired".into()));

    // The sweep runs every second with this expiry.
    let deadline = Instant::now() + Duration::from_secs(10);
    while holds_upload_bytes(&bureau, &location) {
        assert!(
            Instant::now() < deadline,
            "the expired upload's file was not swept"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(client.head(&location).status, 410);
}

/// Starts a PATCH of the whole `chunk` by hand, sending only its first `sent` bytes.
fn raw_patch(
    bureau: &TestBureau,
    token: &str,
    location: &str,
    chunk: &[u8],
    sent: usize,
) -> TcpStream {
    let mut stream = TcpStream::connect(bureau.addr).unwrap();
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n\
         Content-Type: application/offset+octet-stream\r\nContent-Length: {}\r\n\r\n",
        bureau.addr,
        chunk.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&chunk[..sent]).unwrap();
    stream.flush().unwrap();
    stream
}

fn a_cut_connection_keeps_the_bytes_that_arrived(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let device = bureau.device("430102001");
    let client = Client::new(&bureau, &device);
    let bytes = photo(PHOTO);
    let location = client.start(&bytes);

    let cut_at = 70_000;
    drop(raw_patch(&bureau, &device.token, &location, &bytes, cut_at));
    // The server notices the cut on its own time; HEAD then reports what arrived.
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.offset(&location) != cut_at as u64 {
        assert!(
            Instant::now() < deadline,
            "HEAD never reported the bytes before the cut"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(client.send_rest(&location, &bytes, cut_at).status, 204);
    assert_eq!(stored_photo(&bureau, &bytes), Some(bytes.clone()));
}

fn concurrent_patches_never_interleave(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let device = bureau.device("430102001");
    let client = Client::new(&bureau, &device);
    let bytes = photo(PHOTO);
    let location = client.start(&bytes);

    // One PATCH of the whole photo stalls halfway while a second one is sent.
    let mut slow = raw_patch(&bureau, &device.token, &location, &bytes, bytes.len() / 2);
    std::thread::sleep(Duration::from_millis(300));
    let fast = std::thread::scope(|s| {
        let fast = s.spawn(|| client.patch(&location, 0, &bytes, &[]));
        std::thread::sleep(Duration::from_millis(300));
        slow.write_all(&bytes[bytes.len() / 2..]).unwrap();
        fast.join().unwrap()
    });
    let mut status_line = String::new();
    BufReader::new(&slow).read_line(&mut status_line).unwrap();
    let slow_status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();

    // One of them wrote the photo; the other found the offset moved.
    let mut statuses = [slow_status, fast.status];
    statuses.sort();
    assert_eq!(statuses, [204, 409], "{:?}", fast.code());
    assert_eq!(client.offset(&location), bytes.len() as u64);
    assert_eq!(stored_photo(&bureau, &bytes), Some(bytes.clone()));
}

/// Two bureaus on one database and one photo store, as behind a load balancer:
/// the upload's lease in the database makes them take turns.
fn two_bureau_processes_take_turns_on_one_upload(backend: Backend) {
    let Some(first) = TestBureau::start_backend(backend) else {
        return;
    };
    let second = TestBureau::start_with(|config| *config = first.config.clone());
    let device = first.device("430102001");
    let (via_first, via_second) = (Client::new(&first, &device), Client::new(&second, &device));
    let bytes = photo(PHOTO);
    let location = via_first.start(&bytes);

    // A PATCH through the first stalls halfway; the second is asked meanwhile.
    let mut slow = raw_patch(&first, &device.token, &location, &bytes, bytes.len() / 2);
    std::thread::sleep(Duration::from_millis(300));
    let (head, patch) = std::thread::scope(|s| {
        let head = s.spawn(|| via_second.head(&location));
        let patch = s.spawn(|| via_second.patch(&location, 0, &bytes, &[]));
        std::thread::sleep(Duration::from_millis(500));
        slow.write_all(&bytes[bytes.len() / 2..]).unwrap();
        (head.join().unwrap(), patch.join().unwrap())
    });
    let mut status_line = String::new();
    BufReader::new(&slow).read_line(&mut status_line).unwrap();
    assert!(status_line.starts_with("HTTP/1.1 204"), "{status_line}");
    // HEAD waited for the PATCH in flight rather than report its old offset, and
    // the second PATCH found the offset moved instead of writing over it.
    let length = bytes.len().to_string();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("Upload-Offset"), Some(length.as_str()));
    assert_eq!(status_and_code(&patch), (409, "offset_mismatch".into()));
    assert_eq!(stored_photo(&second, &bytes), Some(bytes.clone()));

    // A process killed while holding an upload's lease: the others wait for it
    // to run out, then carry on.
    let other = photo(OTHER_PHOTO);
    let location = via_first.start(&other);
    let held_until = fieldproof_core::time::now_ms() + 1_500;
    let id = upload_id(&location).to_owned();
    first
        .bureau()
        .db
        .write(|tx| {
            tx.execute(
                "UPDATE uploads SET lease_token = 'killed', lease_until_ms = $1 WHERE id = $2",
                &[held_until.into(), id.as_str().into()],
            )
        })
        .unwrap();
    let reply = via_second.patch(&location, 0, &other, &[]);
    assert_eq!(reply.status, 204, "{:?}", reply.code());
    assert!(
        fieldproof_core::time::now_ms() >= held_until,
        "the lease was honoured"
    );
    assert_eq!(stored_photo(&first, &other), Some(other.clone()));
}

fn a_preview_is_kept_apart_from_the_evidence(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let device = bureau.device("430102001");
    let client = Client::new(&bureau, &device);
    let original = photo(PHOTO);
    let preview = photo(OTHER_PHOTO); // stands in for the device's smaller derivative
    let photo_id = uuid::Uuid::now_v7().to_string();
    let metadata = |bytes: &[u8], role: &str| {
        format!(
            "photo_id {},sha256 {},role {}",
            b64(photo_id.as_bytes()),
            b64(hex::encode(&sha256(bytes)).as_bytes()),
            b64(role.as_bytes())
        )
    };
    let upload = |bytes: &[u8], role: &str| {
        let length = bytes.len().to_string();
        client.tus(
            "POST",
            "/v1/uploads",
            &[
                ("Upload-Length", &length),
                ("Upload-Metadata", &metadata(bytes, role)),
                ("Content-Type", "application/offset+octet-stream"),
            ],
            bytes,
        )
    };
    let photo_op = |bytes: &[u8]| {
        serde_json::json!({
            "op_id": uuid::Uuid::now_v7().to_string(),
            "kind": "photo.upload",
            "entity_id": photo_id,
            "payload": { "photo_id": photo_id, "sha256": hex::encode(&sha256(bytes)), "size": bytes.len() },
        })
    };
    assert_eq!(status_and_code(&upload(&original, "thumbnail")).0, 400);

    // The preview arrives first and is stored, but vouches for nothing.
    let sent = upload(&preview, "preview");
    assert_eq!(sent.status, 201, "{:?}", sent.code());
    assert!(sent.header("Location").is_some_and(|l| client
        .head(l)
        .header("Upload-Metadata")
        .unwrap_or("")
        .contains(&b64(b"preview"))));
    let (_, body) = device.push(vec![photo_op(&preview)]);
    assert_eq!(body["results"][0]["reason"], "photo_not_uploaded", "{body}");

    // The original completes the photo.
    assert_eq!(upload(&original, "original").status, 201);
    let (_, body) = device.push(vec![photo_op(&original)]);
    assert_eq!(body["results"][0]["status"], "applied", "{body}");
}

/// Sends a whole request over a fresh connection, a few KB at a time as a slow
/// link would, and returns the status line: a server that answered early and
/// closed would make these writes fail with a broken pipe instead.
fn slow_request(bureau: &TestBureau, head: &str, body: &[u8]) -> String {
    let mut stream = TcpStream::connect(bureau.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    for piece in body.chunks(4096) {
        stream
            .write_all(piece)
            .expect("the bureau reads the whole body");
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut status = String::new();
    BufReader::new(stream).read_line(&mut status).unwrap();
    status.trim_end().to_owned()
}

fn answers_that_need_no_body_still_read_it(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let device = bureau.device("430102001");
    let bytes = photo(PHOTO);
    let metadata = metadata_for(&bytes);
    let create = |token: &str| {
        format!(
            "POST /v1/uploads HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
             Tus-Resumable: 1.0.0\r\nUpload-Length: {len}\r\nUpload-Metadata: {metadata}\r\n\
             Content-Type: application/offset+octet-stream\r\nContent-Length: {len}\r\n\r\n",
            bureau.addr,
            len = bytes.len()
        )
    };
    // The first upload stores the photo; the second is answered from what is held.
    assert!(slow_request(&bureau, &create(&device.token), &bytes).contains(" 201 "));
    assert!(slow_request(&bureau, &create(&device.token), &bytes).contains(" 201 "));
    // A refused token is refused after the body, too.
    assert!(slow_request(&bureau, &create("fpd_forged"), &bytes).contains(" 401 "));
}
