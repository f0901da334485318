//! The evidence record payload: what a device attests about one event.
//!
//! Encoded as a deterministic CBOR map with text keys (self-describing, so the
//! bureau, a Python verifier or a reviewer with any CBOR tool can read a record
//! without this code), then signed with [`EvidencePayload::sign`]. Integers
//! only, no floats. A value the device does not know is absent, never guessed
//! or zero-filled. Decoding is strict: unknown keys, wrong types and missing
//! required fields are `InvalidRecord`, so a record has exactly one meaning.
//!
//! # Fields (format version 1)
//!
//! | key           | type        | presence               | meaning |
//! |---------------|-------------|------------------------|---------|
//! | `version`     | uint        | always                 | format version, `1` |
//! | `kind`        | text        | always                 | `capture`, `import`, `note`, `app_start`, `clock_jump`, `key_rotation`, `track_segment`, `acknowledgement` |
//! | `kid`         | bstr (32)   | always                 | device key id: SHA-256 of the SEC1 public key |
//! | `seq`         | uint        | always                 | per-device sequence number: first record 1, then +1 per record, at most 2^53 − 1 |
//! | `prev`        | bstr (32)   | iff `seq` > 1          | SHA-256 of the previous record's payload bytes (this map's encoding, not the COSE envelope) |
//! | `wall_ms`     | int         | always                 | device wall clock at the event, UTC ms since 1970 (possibly wrong: see `checkpoint`) |
//! | `mono`        | map         | when known             | `{boot_id: text, ms: uint}`: monotonic clock since boot, and which boot |
//! | `app_version` | text        | always                 | version of the app that made the record |
//! | `fix`         | map         | when there is a fix    | GNSS fix, see below |
//! | `context`     | map         | when any is known      | `{inspection?: text, task?: text, officer?: text}` ids |
//! | `checkpoint`  | map         | when one is held       | `{tree_size: uint, root: bstr(32)}`: latest bureau log checkpoint the device holds |
//! | `media`       | map         | `capture`, `import`, `acknowledgement` | `{sha256: bstr(32), size: uint, mime: text, width?: uint, height?: uint}` of the exact original bytes (for an acknowledgement: the signature image) |
//! | `note`        | text        | `note`                 | the note text |
//! | `clock_jump`  | map         | `clock_jump`           | `{prev_wall_ms: int, prev_mono_ms: uint}`: the clocks just before the jump (same boot as `mono`) |
//! | `new_key`     | bstr (65)   | `key_rotation`         | SEC1 public key of the successor key, signed by the old key |
//! | `acknowledgement` | map     | `acknowledgement`      | `{role: text, refused: bool, name?: text, inspection_sha256: bstr(32), revision: uint}`: who signed on site (`party`, `witness` or `officer`), whether the party refused (a witness then signs), the name if given, and the SHA-256 of the inspection's canonical content ([`crate::model::canonical`]) at that revision |
//! | `segment`     | map         | `track_segment`        | `{track_id: text, index: uint, points_sha256: bstr(32), point_count: uint, first_time_ms: int, last_time_ms: int}` |
//!
//! `fix` = `{lat_e7: int, lon_e7: int, accuracy_mm?: uint, altitude_mm?: int,
//! time_ms?: int, provider?: text, mock?: bool}`: WGS-84 degrees × 10^7,
//! horizontal accuracy and altitude in millimetres, GNSS fix time in UTC ms, the
//! platform's provider name, and whether the OS flagged the fix as mocked
//! (absent where the OS cannot tell).
//!
//! Map keys are sorted by their encoded bytes (shorter keys first), as
//! deterministic CBOR requires; readers must not depend on the order.

use super::cbor::{self, Map, Value};
use super::cose;
use super::invalid_record;
use super::keys::{key_id, Signer, PUBLIC_KEY_LEN};
use crate::error::Result;

/// The payload format version this code writes and reads.
pub const VERSION: u64 = 1;

/// The largest seq a record may carry: 2^53 − 1, the largest integer every
/// JSON reader holds exactly (receipts and the console carry seqs as JSON
/// numbers) and far inside the stores' signed 64-bit integers, so that the seq
/// after it is representable too. At one record a second, 285 million years.
pub const MAX_SEQ: u64 = (1 << 53) - 1;

const MAX_LAT_E7: i64 = 900_000_000;
const MAX_LON_E7: i64 = 1_800_000_000;

/// One evidence record's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidencePayload {
    pub kid: [u8; 32],
    pub seq: u64,
    pub prev: Option<[u8; 32]>,
    pub event: Event,
    pub wall_ms: i64,
    pub monotonic: Option<Monotonic>,
    pub app_version: String,
    pub fix: Option<RecordedFix>,
    pub context: Context,
    pub checkpoint: Option<CheckpointRef>,
}

/// What happened, with the data only that kind of event carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Capture(Media),
    Import(Media),
    Note(String),
    AppStart,
    ClockJump(ClockJump),
    KeyRotation {
        new_public_key: Vec<u8>,
    },
    TrackSegment(TrackSegment),
    /// Someone on site signed the record of the inspection: the signature
    /// image is the media, the rest says who and over which content.
    Acknowledgement(Acknowledgement),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    pub role: String,
    pub refused: bool,
    pub name: Option<String>,
    pub inspection_sha256: [u8; 32],
    pub revision: u64,
    pub image: Media,
}

/// Who may sign an acknowledgement.
pub const ACKNOWLEDGEMENT_ROLES: [&str; 3] = ["party", "witness", "officer"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub sha256: [u8; 32],
    pub size: u64,
    pub mime: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Monotonic {
    pub boot_id: String,
    pub ms: u64,
}

/// A GNSS fix as a record encodes it (`fix`): integers only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedFix {
    pub lat_e7: i32,
    pub lon_e7: i32,
    pub accuracy_mm: Option<u64>,
    pub altitude_mm: Option<i64>,
    pub time_ms: Option<i64>,
    pub provider: Option<String>,
    pub mock: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub inspection_id: Option<String>,
    pub task_id: Option<String>,
    pub officer_id: Option<String>,
}

/// The bureau checkpoint a record names (`checkpoint`): the log's size and root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRef {
    pub tree_size: u64,
    pub root: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockJump {
    pub prev_wall_ms: i64,
    pub prev_mono_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackSegment {
    pub track_id: String,
    pub index: u64,
    pub points_sha256: [u8; 32],
    pub point_count: u64,
    pub first_time_ms: i64,
    pub last_time_ms: i64,
}

impl Event {
    /// The `kind` string on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Capture(_) => "capture",
            Event::Import(_) => "import",
            Event::Note(_) => "note",
            Event::AppStart => "app_start",
            Event::ClockJump(_) => "clock_jump",
            Event::KeyRotation { .. } => "key_rotation",
            Event::TrackSegment(_) => "track_segment",
            Event::Acknowledgement(_) => "acknowledgement",
        }
    }

    /// The photo or file the event is about, if any.
    pub fn media(&self) -> Option<&Media> {
        match self {
            Event::Capture(media) | Event::Import(media) => Some(media),
            Event::Acknowledgement(ack) => Some(&ack.image),
            _ => None,
        }
    }
}

/// The chain link to a record: SHA-256 of its exact payload bytes.
pub fn payload_digest(payload_bytes: &[u8]) -> [u8; 32] {
    super::sha256(payload_bytes)
}

impl EvidencePayload {
    /// The deterministic CBOR encoding; sign it with [`EvidencePayload::sign`],
    /// which also checks the payload first.
    pub fn encode(&self) -> Vec<u8> {
        let mut map = Map::new();
        map.insert("version", VERSION);
        map.insert("kind", self.event.kind());
        map.insert("kid", self.kid.as_slice());
        map.insert("seq", self.seq);
        insert_opt(&mut map, "prev", self.prev.map(|p| p.to_vec()));
        map.insert("wall_ms", self.wall_ms);
        insert_opt(
            &mut map,
            "mono",
            self.monotonic.as_ref().map(Monotonic::to_map),
        );
        map.insert("app_version", self.app_version.as_str());
        insert_opt(&mut map, "fix", self.fix.as_ref().map(RecordedFix::to_map));
        insert_opt(&mut map, "context", self.context.to_map());
        insert_opt(
            &mut map,
            "checkpoint",
            self.checkpoint.as_ref().map(CheckpointRef::to_map),
        );
        self.event.insert_into(&mut map);
        cbor::encode(&Value::Map(map))
    }

    /// Strictly decodes and checks a payload (the inverse of `encode`).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > cose::MAX_PAYLOAD_BYTES {
            return Err(invalid_record("payload too large"));
        }
        let mut f = Fields::new(cbor::decode(bytes)?, "payload")?;
        let version: u64 = f.required("version", uint)?;
        if version != VERSION {
            return Err(invalid_record(format!(
                "unsupported payload version {version}"
            )));
        }
        let kind: String = f.required("kind", text)?;
        let payload = EvidencePayload {
            kid: f.required("kid", bytes32)?,
            seq: f.required("seq", uint)?,
            prev: f.optional("prev", bytes32)?,
            wall_ms: f.required("wall_ms", int)?,
            monotonic: f.optional_map("mono", Monotonic::parse)?,
            app_version: f.required("app_version", text)?,
            fix: f.optional_map("fix", RecordedFix::parse)?,
            context: f
                .optional_map("context", Context::parse)?
                .unwrap_or_default(),
            checkpoint: f.optional_map("checkpoint", CheckpointRef::parse)?,
            event: Event::take_from(&kind, &mut f)?,
        };
        f.finish()?;
        payload.check()?;
        Ok(payload)
    }

    /// Checks, encodes and signs the payload into a COSE_Sign1 record, whose
    /// bytes are then stored and shipped as they are.
    pub fn sign(&self, signer: &dyn Signer) -> Result<Vec<u8>> {
        self.check()?;
        if self.kid != key_id(&signer.public_key()) {
            return Err(invalid_record("payload kid is not the signer's key id"));
        }
        cose::sign1(&self.encode(), &self.kid, signer)
    }

    /// Invariants beyond types, so that whatever is signed also decodes.
    fn check(&self) -> Result<()> {
        if self.seq == 0 {
            return Err(invalid_record("seq starts at 1"));
        }
        if self.seq > MAX_SEQ {
            return Err(invalid_record("seq beyond 2^53 - 1"));
        }
        if self.prev.is_some() != (self.seq > 1) {
            return Err(invalid_record("prev must be present exactly when seq > 1"));
        }
        if let Some(fix) = &self.fix {
            if i64::from(fix.lat_e7).abs() > MAX_LAT_E7 || i64::from(fix.lon_e7).abs() > MAX_LON_E7
            {
                return Err(invalid_record("fix coordinates out of range"));
            }
        }
        match &self.event {
            Event::KeyRotation { new_public_key }
                if new_public_key.len() != PUBLIC_KEY_LEN || new_public_key[0] != 0x04 =>
            {
                Err(invalid_record(
                    "new_key must be an uncompressed SEC1 P-256 key",
                ))
            }
            Event::TrackSegment(s) if s.first_time_ms > s.last_time_ms => {
                Err(invalid_record("segment ends before it starts"))
            }
            Event::Acknowledgement(a) if !ACKNOWLEDGEMENT_ROLES.contains(&a.role.as_str()) => Err(
                invalid_record("acknowledgement role is party, witness or officer"),
            ),
            Event::Acknowledgement(_) if self.context.inspection_id.is_none() => {
                Err(invalid_record("an acknowledgement names its inspection"))
            }
            _ => Ok(()),
        }
    }
}

impl Event {
    fn insert_into(&self, map: &mut Map) {
        match self {
            Event::Capture(media) | Event::Import(media) => map.insert("media", media.to_map()),
            Event::Note(note) => map.insert("note", note.as_str()),
            Event::AppStart => None,
            Event::ClockJump(jump) => map.insert("clock_jump", jump.to_map()),
            Event::KeyRotation { new_public_key } => {
                map.insert("new_key", new_public_key.as_slice())
            }
            Event::TrackSegment(segment) => map.insert("segment", segment.to_map()),
            Event::Acknowledgement(ack) => {
                map.insert("media", ack.image.to_map());
                map.insert("acknowledgement", ack.to_map())
            }
        };
    }

    fn take_from(kind: &str, f: &mut Fields) -> Result<Event> {
        Ok(match kind {
            "capture" => Event::Capture(f.required_map("media", Media::parse)?),
            "import" => Event::Import(f.required_map("media", Media::parse)?),
            "note" => Event::Note(f.required("note", text)?),
            "app_start" => Event::AppStart,
            "clock_jump" => Event::ClockJump(f.required_map("clock_jump", ClockJump::parse)?),
            "key_rotation" => Event::KeyRotation {
                new_public_key: f.required("new_key", bytes)?,
            },
            "track_segment" => Event::TrackSegment(f.required_map("segment", TrackSegment::parse)?),
            "acknowledgement" => {
                let image = f.required_map("media", Media::parse)?;
                f.required_map("acknowledgement", |a| Acknowledgement::parse(a, image))?
            }
            _ => return Err(invalid_record("unknown record kind")),
        })
    }
}

impl Media {
    fn to_map(&self) -> Map {
        let mut map = Map::new();
        map.insert("sha256", self.sha256.as_slice());
        map.insert("size", self.size);
        map.insert("mime", self.mime.as_str());
        insert_opt(&mut map, "width", self.width.map(u64::from));
        insert_opt(&mut map, "height", self.height.map(u64::from));
        map
    }

    fn parse(f: &mut Fields) -> Result<Self> {
        Ok(Media {
            sha256: f.required("sha256", bytes32)?,
            size: f.required("size", uint)?,
            mime: f.required("mime", text)?,
            width: f.optional("width", u32_value)?,
            height: f.optional("height", u32_value)?,
        })
    }
}

impl Monotonic {
    fn to_map(&self) -> Map {
        let mut map = Map::new();
        map.insert("boot_id", self.boot_id.as_str());
        map.insert("ms", self.ms);
        map
    }

    fn parse(f: &mut Fields) -> Result<Self> {
        Ok(Monotonic {
            boot_id: f.required("boot_id", text)?,
            ms: f.required("ms", uint)?,
        })
    }
}

impl RecordedFix {
    fn to_map(&self) -> Map {
        let mut map = Map::new();
        map.insert("lat_e7", i64::from(self.lat_e7));
        map.insert("lon_e7", i64::from(self.lon_e7));
        insert_opt(&mut map, "accuracy_mm", self.accuracy_mm);
        insert_opt(&mut map, "altitude_mm", self.altitude_mm);
        insert_opt(&mut map, "time_ms", self.time_ms);
        insert_opt(&mut map, "provider", self.provider.as_deref());
        insert_opt(&mut map, "mock", self.mock);
        map
    }

    fn parse(f: &mut Fields) -> Result<Self> {
        Ok(RecordedFix {
            lat_e7: f.required("lat_e7", i32_value)?,
            lon_e7: f.required("lon_e7", i32_value)?,
            accuracy_mm: f.optional("accuracy_mm", uint)?,
            altitude_mm: f.optional("altitude_mm", int)?,
            time_ms: f.optional("time_ms", int)?,
            provider: f.optional("provider", text)?,
            mock: f.optional("mock", boolean)?,
        })
    }
}

impl Context {
    /// `None` when nothing is known, so the key is left out entirely.
    fn to_map(&self) -> Option<Map> {
        let mut map = Map::new();
        insert_opt(&mut map, "inspection", self.inspection_id.as_deref());
        insert_opt(&mut map, "task", self.task_id.as_deref());
        insert_opt(&mut map, "officer", self.officer_id.as_deref());
        (!map.is_empty()).then_some(map)
    }

    fn parse(f: &mut Fields) -> Result<Self> {
        let context = Context {
            inspection_id: f.optional("inspection", text)?,
            task_id: f.optional("task", text)?,
            officer_id: f.optional("officer", text)?,
        };
        // An empty map would be a second encoding of "nothing known".
        match context.to_map() {
            Some(_) => Ok(context),
            None => Err(invalid_record("context map is empty")),
        }
    }
}

impl CheckpointRef {
    fn to_map(&self) -> Map {
        let mut map = Map::new();
        map.insert("tree_size", self.tree_size);
        map.insert("root", self.root.as_slice());
        map
    }

    fn parse(f: &mut Fields) -> Result<Self> {
        Ok(CheckpointRef {
            tree_size: f.required("tree_size", uint)?,
            root: f.required("root", bytes32)?,
        })
    }
}

impl ClockJump {
    fn to_map(&self) -> Map {
        let mut map = Map::new();
        map.insert("prev_wall_ms", self.prev_wall_ms);
        map.insert("prev_mono_ms", self.prev_mono_ms);
        map
    }

    fn parse(f: &mut Fields) -> Result<Self> {
        Ok(ClockJump {
            prev_wall_ms: f.required("prev_wall_ms", int)?,
            prev_mono_ms: f.required("prev_mono_ms", uint)?,
        })
    }
}

impl TrackSegment {
    fn to_map(&self) -> Map {
        let mut map = Map::new();
        map.insert("track_id", self.track_id.as_str());
        map.insert("index", self.index);
        map.insert("points_sha256", self.points_sha256.as_slice());
        map.insert("point_count", self.point_count);
        map.insert("first_time_ms", self.first_time_ms);
        map.insert("last_time_ms", self.last_time_ms);
        map
    }

    fn parse(f: &mut Fields) -> Result<Self> {
        Ok(TrackSegment {
            track_id: f.required("track_id", text)?,
            index: f.required("index", uint)?,
            points_sha256: f.required("points_sha256", bytes32)?,
            point_count: f.required("point_count", uint)?,
            first_time_ms: f.required("first_time_ms", int)?,
            last_time_ms: f.required("last_time_ms", int)?,
        })
    }
}

impl Acknowledgement {
    fn to_map(&self) -> Map {
        let mut map = Map::new();
        map.insert("role", self.role.as_str());
        map.insert("refused", self.refused);
        insert_opt(&mut map, "name", self.name.as_deref());
        map.insert("inspection_sha256", self.inspection_sha256.as_slice());
        map.insert("revision", self.revision);
        map
    }

    fn parse(f: &mut Fields, image: Media) -> Result<Event> {
        let ack = Acknowledgement {
            role: f.required("role", text)?,
            refused: f.required("refused", boolean)?,
            name: f.optional("name", text)?,
            inspection_sha256: f.required("inspection_sha256", bytes32)?,
            revision: f.required("revision", uint)?,
            image,
        };
        Ok(Event::Acknowledgement(ack))
    }
}

fn insert_opt<V: Into<Value>>(map: &mut Map, key: &str, value: Option<V>) {
    if let Some(value) = value {
        map.insert(key, value);
    }
}

/// A map being taken apart field by field: each known key is removed as it is
/// read, and whatever is left at the end is an unknown field and refused.
struct Fields {
    map: Map,
    what: &'static str,
}

impl Fields {
    fn new(value: Value, what: &'static str) -> Result<Self> {
        let map = value
            .into_map()
            .ok_or_else(|| invalid_record(format!("{what} is not a map")))?;
        Ok(Fields { map, what })
    }

    /// A scalar field; `convert` returns `None` for a wrong type or range.
    fn optional<T>(
        &mut self,
        key: &'static str,
        convert: fn(Value) -> Option<T>,
    ) -> Result<Option<T>> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(value) => convert(value).map(Some).ok_or_else(|| {
                invalid_record(format!("{}.{key} has the wrong type or range", self.what))
            }),
        }
    }

    fn required<T>(&mut self, key: &'static str, convert: fn(Value) -> Option<T>) -> Result<T> {
        self.optional(key, convert)?
            .ok_or_else(|| self.missing(key))
    }

    /// A nested map, read completely by `parse`.
    fn optional_map<T>(
        &mut self,
        key: &'static str,
        parse: impl FnOnce(&mut Fields) -> Result<T>,
    ) -> Result<Option<T>> {
        let Some(value) = self.map.remove(key) else {
            return Ok(None);
        };
        let mut fields = Fields::new(value, key)?;
        let parsed = parse(&mut fields)?;
        fields.finish()?;
        Ok(Some(parsed))
    }

    fn required_map<T>(
        &mut self,
        key: &'static str,
        parse: impl FnOnce(&mut Fields) -> Result<T>,
    ) -> Result<T> {
        self.optional_map(key, parse)?
            .ok_or_else(|| self.missing(key))
    }

    fn missing(&self, key: &str) -> crate::Error {
        invalid_record(format!("{}.{key} is missing", self.what))
    }

    fn finish(self) -> Result<()> {
        if self.map.is_empty() {
            Ok(())
        } else {
            Err(invalid_record(format!(
                "{} has an unknown field",
                self.what
            )))
        }
    }
}

fn uint(value: Value) -> Option<u64> {
    value.as_u64()
}

fn int(value: Value) -> Option<i64> {
    value.as_i64()
}

fn u32_value(value: Value) -> Option<u32> {
    u32::try_from(value.as_u64()?).ok()
}

fn i32_value(value: Value) -> Option<i32> {
    i32::try_from(value.as_i64()?).ok()
}

fn boolean(value: Value) -> Option<bool> {
    value.as_bool()
}

fn text(value: Value) -> Option<String> {
    match value {
        Value::Text(text) => Some(text),
        _ => None,
    }
}

fn bytes(value: Value) -> Option<Vec<u8>> {
    match value {
        Value::Bytes(bytes) => Some(bytes),
        _ => None,
    }
}

fn bytes32(value: Value) -> Option<[u8; 32]> {
    bytes(value)?.try_into().ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::evidence::keys::SoftwareKey;

    /// A capture record with every optional field filled in.
    pub(crate) fn full_capture(kid: [u8; 32], seq: u64, prev: Option<[u8; 32]>) -> EvidencePayload {
        EvidencePayload {
            kid,
            seq,
            prev,
            event: Event::Capture(Media {
                sha256: [7; 32],
                size: 2_190_194,
                mime: "image/jpeg".into(),
                width: Some(4608),
                height: Some(1976),
            }),
            wall_ms: 1_764_230_400_000 + seq as i64,
            monotonic: Some(Monotonic {
                boot_id: "6f1c7c5e-1b47-4f0e-9d55-3a0c1b2f7e11".into(),
                ms: 86_400_000,
            }),
            app_version: "1.0.0 (42)".into(),
            fix: Some(RecordedFix {
                lat_e7: 281_940_000,
                lon_e7: 1_129_820_000,
                accuracy_mm: Some(4_500),
                altitude_mm: Some(-12_000),
                time_ms: Some(1_764_230_399_000),
                provider: Some("gps".into()),
                mock: Some(false),
            }),
            context: Context {
                inspection_id: Some("0192f0c4-5b1e-7c3a-8d2f-1a2b3c4d5e6f".into()),
                task_id: Some("0192f0c4-5b1e-7c3a-8d2f-1a2b3c4d5e70".into()),
                officer_id: Some("0192f0c4-5b1e-7c3a-8d2f-1a2b3c4d5e71".into()),
            },
            checkpoint: Some(CheckpointRef {
                tree_size: 1234,
                root: [9; 32],
            }),
        }
    }

    fn minimal(event: Event) -> EvidencePayload {
        EvidencePayload {
            kid: [1; 32],
            seq: 1,
            prev: None,
            event,
            wall_ms: 0,
            monotonic: None,
            app_version: "1".into(),
            fix: None,
            context: Context::default(),
            checkpoint: None,
        }
    }

    fn every_kind() -> Vec<Event> {
        let media = Media {
            sha256: [2; 32],
            size: 10,
            mime: "image/heic".into(),
            width: None,
            height: None,
        };
        vec![
            Event::Capture(media.clone()),
            Event::Import(media),
            Event::Note("河道旁有焚烧秸秆痕迹".into()),
            Event::AppStart,
            Event::ClockJump(ClockJump {
                prev_wall_ms: -5,
                prev_mono_ms: 99,
            }),
            Event::KeyRotation {
                new_public_key: [vec![0x04], vec![3; 64]].concat(),
            },
            Event::TrackSegment(TrackSegment {
                track_id: "0192f0c4-5b1e-7c3a-8d2f-1a2b3c4d5e72".into(),
                index: 3,
                points_sha256: [4; 32],
                point_count: 120,
                first_time_ms: 1_000,
                last_time_ms: 61_000,
            }),
        ]
    }

    #[test]
    fn every_kind_round_trips_minimal_and_full() {
        for event in every_kind() {
            let small = minimal(event.clone());
            assert_eq!(EvidencePayload::decode(&small.encode()).unwrap(), small);
            let mut full = full_capture([5; 32], 2, Some([6; 32]));
            full.event = event;
            let bytes = full.encode();
            assert_eq!(EvidencePayload::decode(&bytes).unwrap(), full);
            // Deterministic: re-encoding the decoded value gives the same bytes.
            assert_eq!(EvidencePayload::decode(&bytes).unwrap().encode(), bytes);
        }
    }

    #[test]
    fn unknown_values_are_absent_not_zero() {
        let payload = minimal(Event::AppStart);
        let map = cbor::decode(&payload.encode()).unwrap().into_map().unwrap();
        let keys: Vec<&str> = map.iter().filter_map(|(k, _)| k.as_text()).collect();
        assert_eq!(
            keys,
            ["kid", "seq", "kind", "version", "wall_ms", "app_version"]
        );
    }

    /// The wire format is a contract with the bureau and external verifiers:
    /// this exact encoding must never change under format version 1.
    #[test]
    fn golden_encoding_of_a_note() {
        let payload = minimal(Event::Note("hi".into()));
        let expected = [
            "a7",
            "636b6964 5820 0101010101010101010101010101010101010101010101010101010101010101",
            "63736571 01",
            "646b696e64 646e6f7465",
            "646e6f7465 626869",
            "6776657273696f6e 01",
            "6777616c6c5f6d73 00",
            "6b6170705f76657273696f6e 6131",
        ]
        .concat()
        .replace(' ', "");
        assert_eq!(crate::hex::encode(&payload.encode()), expected);
    }

    fn reencode_with(payload: &EvidencePayload, edit: impl FnOnce(&mut Map)) -> Vec<u8> {
        let mut map = cbor::decode(&payload.encode()).unwrap().into_map().unwrap();
        edit(&mut map);
        cbor::encode(&Value::Map(map))
    }

    #[test]
    fn strict_decoding_refuses_anything_ambiguous() {
        let base = full_capture([5; 32], 2, Some([6; 32]));
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "unknown field",
                reencode_with(&base, |m| {
                    m.insert("extra", 1u64);
                }),
            ),
            (
                "version 2",
                reencode_with(&base, |m| {
                    m.insert("version", 2u64);
                }),
            ),
            (
                "missing seq",
                reencode_with(&base, |m| {
                    m.remove("seq");
                }),
            ),
            (
                "missing media",
                reencode_with(&base, |m| {
                    m.remove("media");
                }),
            ),
            (
                "note on a capture",
                reencode_with(&base, |m| {
                    m.insert("note", "x");
                }),
            ),
            (
                "unknown kind",
                reencode_with(&base, |m| {
                    m.insert("kind", "selfie");
                }),
            ),
            (
                "seq as text",
                reencode_with(&base, |m| {
                    m.insert("seq", "2");
                }),
            ),
            (
                "short kid",
                reencode_with(&base, |m| {
                    m.insert("kid", vec![1u8; 31]);
                }),
            ),
            (
                "prev missing after seq 1",
                reencode_with(&base, |m| {
                    m.remove("prev");
                }),
            ),
            (
                "prev on seq 1",
                reencode_with(&base, |m| {
                    m.insert("seq", 1u64);
                }),
            ),
            (
                "seq beyond 2^53 - 1",
                reencode_with(&base, |m| {
                    m.insert("seq", MAX_SEQ + 1);
                }),
            ),
            (
                "seq 0",
                reencode_with(&base, |m| {
                    m.insert("seq", 0u64);
                    m.remove("prev");
                }),
            ),
            (
                "empty context",
                reencode_with(&base, |m| {
                    m.insert("context", Map::new());
                }),
            ),
            (
                "latitude beyond 90",
                reencode_with(&base, |m| {
                    let mut fix = m.remove("fix").unwrap().into_map().unwrap();
                    fix.insert("lat_e7", 900_000_001i64);
                    m.insert("fix", fix);
                }),
            ),
            (
                "width beyond u32",
                reencode_with(&base, |m| {
                    let mut media = m.remove("media").unwrap().into_map().unwrap();
                    media.insert("width", 1u64 << 32);
                    m.insert("media", media);
                }),
            ),
            (
                "unknown media field",
                reencode_with(&base, |m| {
                    let mut media = m.remove("media").unwrap().into_map().unwrap();
                    media.insert("exif", true);
                    m.insert("media", media);
                }),
            ),
            ("not a map", cbor::encode(&Value::Array(vec![]))),
            ("trailing byte", [base.encode(), vec![0]].concat()),
            ("too large", vec![0x40; cose::MAX_PAYLOAD_BYTES + 1]),
        ];
        for (what, bytes) in cases {
            let err = EvidencePayload::decode(&bytes).expect_err(what);
            assert_eq!(err.code(), "invalid_record", "{what}");
        }
    }

    #[test]
    fn sign_checks_the_payload_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = SoftwareKey::load_or_create(&dir.path().join("k")).unwrap();
        let kid = key_id(&key.public_key());
        let payload = full_capture(kid, 1, None);
        let signed = payload.sign(&key).unwrap();
        let parsed = cose::parse_sign1(&signed).unwrap();
        cose::verify_sign1(&parsed, &key.public_key()).unwrap();
        assert_eq!(parsed.payload, payload.encode());
        assert_eq!(EvidencePayload::decode(&parsed.payload).unwrap(), payload);

        let wrong_kid = full_capture([0; 32], 1, None);
        assert_eq!(wrong_kid.sign(&key).unwrap_err().code(), "invalid_record");
        let bad_chain = full_capture(kid, 2, None);
        assert_eq!(bad_chain.sign(&key).unwrap_err().code(), "invalid_record");
        let mut huge = minimal(Event::Note("x".repeat(cose::MAX_PAYLOAD_BYTES)));
        huge.kid = kid;
        assert_eq!(huge.sign(&key).unwrap_err().code(), "invalid_record");
    }
}
