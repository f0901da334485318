//! The offline case-file verifier: everything checked with the case file and
//! the bureau's public key alone, each failure named (file, code, detail)
//! rather than stopping at the first. The steps follow `docs/evidence-bundle.md`
//! ("Verifying"), in its order.

use super::archive::{CaseArchive, ReadFailure, Refusal};
use super::consistency::{self, Revision};
use super::format::{self, Manifest, OmittedRecord, RecordEntry};
use super::report::{CaseItem, CaseSigner, ChainSpan, VerifyReport, LIMITS};
use super::track_files;
use crate::evidence::certificate::{verify_certificate, DeviceCertificate};
use crate::evidence::chain::{judge, ChainHead, FailureKind};
use crate::evidence::cose::{self, MAX_SIGN1_BYTES};
use crate::evidence::keys::{key_id, signature_verifies};
use crate::evidence::merkle::{leaf_hash, verify_inclusion};
use crate::evidence::receipt::SignedCheckpoint;
use crate::evidence::record::{Event, EvidencePayload, TrackSegment};
use crate::evidence::track_seal::{seals, SealedFix};
use crate::hex;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::convert::Infallible;
use std::path::Path;

/// The largest JSON file of a case file (the manifest of thousands of records).
const MAX_JSON_BYTES: u64 = 64 << 20;

/// The bureau key, as the person verifying was given it out of band.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BureauKeyGiven {
    /// The SEC1 public key itself.
    PublicKey(Vec<u8>),
    /// SHA-256 of it: the key in the case file must hash to this.
    KeyId([u8; 32]),
}

impl BureauKeyGiven {
    /// The key as a verifier's caller gives it: exactly one of the key (its
    /// file's bytes: SEC1 hex or raw) and the key id (64 hex digits).
    pub fn from_either(key_file: Option<&[u8]>, key_id: Option<&str>) -> crate::Result<Self> {
        let invalid = |reason| crate::Error::InvalidField {
            field: "bureau_key",
            reason,
        };
        match (key_file, key_id) {
            (Some(bytes), None) => Self::from_file_bytes(bytes).ok_or(invalid(
                "not a P-256 public key (SEC1, as hex or raw bytes)",
            )),
            (None, Some(id)) => hex::decode32(id.trim())
                .map(BureauKeyGiven::KeyId)
                .ok_or(invalid("a key id is 64 hex digits")),
            _ => Err(invalid("give either the bureau key or its key id")),
        }
    }

    /// A key file's content: the SEC1 key as hex (as the bureau publishes it,
    /// `bureau-key.hex`) or raw (65 bytes).
    pub fn from_file_bytes(bytes: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(bytes).map(str::trim);
        let key = match text.ok().and_then(hex::decode) {
            Some(key) => key,
            None => bytes.to_vec(),
        };
        (key.len() == 65 && key[0] == 4).then_some(BureauKeyGiven::PublicKey(key))
    }
}

/// Verifies the case file at `path`. Only an unreadable file is an error; any
/// other problem is a failure in the report.
pub fn verify_case_file(path: &Path, key: &BureauKeyGiven) -> std::io::Result<VerifyReport> {
    let mut report = VerifyReport {
        limits: LIMITS.iter().map(|s| s.to_string()).collect(),
        ..VerifyReport::default()
    };
    match CaseArchive::open(path) {
        Ok(mut archive) => Verification::new(&mut archive, &mut report).run(key),
        Err(Ok(refusal)) => refuse(&mut report, &refusal),
        Err(Err(io)) => return Err(io),
    }
    report.ok = report.failures.is_empty();
    Ok(report)
}

fn refuse(report: &mut VerifyReport, refusal: &Refusal) {
    report.fail(
        refusal.entry().unwrap_or(""),
        refusal.code(),
        refusal.detail(),
    );
}

struct Verification<'a> {
    archive: &'a mut CaseArchive,
    report: &'a mut VerifyReport,
    /// Files whose bytes match their manifest entry.
    intact_files: HashSet<String>,
}

impl<'a> Verification<'a> {
    fn new(archive: &'a mut CaseArchive, report: &'a mut VerifyReport) -> Self {
        Self {
            archive,
            report,
            intact_files: HashSet::new(),
        }
    }

    fn run(mut self, key: &BureauKeyGiven) {
        let Some(manifest_bytes) = self.read_json(format::MANIFEST) else {
            return;
        };
        let manifest: Manifest = match serde_json::from_slice(&manifest_bytes) {
            Ok(m) => m,
            Err(e) => {
                let detail = format!(
                    "not a case-file manifest (line {} column {})",
                    e.line(),
                    e.column()
                );
                return self
                    .report
                    .fail(format::MANIFEST, "manifest_invalid", detail);
            }
        };
        if manifest.format != format::FORMAT {
            return self.report.fail(
                format::MANIFEST,
                "unsupported_format",
                format!(
                    "format {:?}; this verifier reads {}",
                    manifest.format,
                    format::FORMAT
                ),
            );
        }
        self.report.inspection_id = Some(manifest.inspection_id.clone());
        let Some(bureau_key) = self.bureau_key(key, &manifest) else {
            return;
        };
        self.report.bureau_key_id = Some(hex::encode(&key_id(&bureau_key)));
        self.check_manifest_signature(&manifest_bytes, &bureau_key);
        self.check_files(&manifest);
        self.check_checkpoint(&manifest.checkpoint, &bureau_key);
        let certificates = self.certificates(&bureau_key);
        let records = self.records(&manifest);
        self.check_chains(&manifest, &certificates, &records);
        let revisions = self.revisions(&manifest);
        self.check_records_against_case(&manifest, &records, &revisions);
    }

    fn read_json(&mut self, name: &str) -> Option<Vec<u8>> {
        self.read(name, MAX_JSON_BYTES)
    }

    fn read(&mut self, name: &str, limit: u64) -> Option<Vec<u8>> {
        if !self.archive.contains(name) {
            self.report
                .fail(name, "file_missing", "the case file has no such file");
            return None;
        }
        match self.archive.read(name, limit) {
            Ok(bytes) => Some(bytes),
            Err(failure) => {
                self.read_failed(name, failure);
                None
            }
        }
    }

    fn read_failed(&mut self, name: &str, failure: ReadFailure) {
        match failure {
            ReadFailure::Unreadable(why) => self.report.fail(name, "file_unreadable", why),
            ReadFailure::TooLarge { limit } => self.report.fail(
                name,
                "entry_too_large",
                format!("larger than {limit} bytes"),
            ),
        }
    }

    /// The key in the case file, if it is the one given out of band.
    fn bureau_key(&mut self, given: &BureauKeyGiven, manifest: &Manifest) -> Option<Vec<u8>> {
        let text = self.read(format::BUREAU_KEY, 1024)?;
        let Some(BureauKeyGiven::PublicKey(in_file)) = BureauKeyGiven::from_file_bytes(&text)
        else {
            self.report.fail(
                format::BUREAU_KEY,
                "bureau_key_invalid",
                "not a P-256 public key in hex",
            );
            return None;
        };
        let matches = match given {
            BureauKeyGiven::PublicKey(key) => *key == in_file,
            BureauKeyGiven::KeyId(id) => *id == key_id(&in_file),
        };
        if !matches {
            self.report.fail(
                format::BUREAU_KEY,
                "bureau_key_mismatch",
                "the case file's bureau key is not the key given to verify with: nothing in it can be trusted",
            );
            return None;
        }
        if manifest.bureau_key_id != key_id(&in_file) {
            self.report.fail(
                format::MANIFEST,
                "bureau_key_mismatch",
                "bureau_key_id is not the bureau key's id",
            );
        }
        Some(in_file)
    }

    fn check_manifest_signature(&mut self, manifest_bytes: &[u8], bureau_key: &[u8]) {
        let Some(signature) = self.read(format::MANIFEST_SIGNATURE, 1024) else {
            return;
        };
        if !signature_verifies(
            bureau_key,
            &format::manifest_message(manifest_bytes),
            &signature,
        ) {
            self.report.fail(
                format::MANIFEST_SIGNATURE,
                "manifest_signature_invalid",
                "the manifest is not signed by the bureau key: it was edited or forged",
            );
        }
    }

    /// Every file in the zip is in the manifest and vice versa, with its size and hash.
    fn check_files(&mut self, manifest: &Manifest) {
        let listed: HashMap<&str, _> = manifest
            .files
            .iter()
            .map(|f| (f.path.as_str(), f))
            .collect();
        if listed.len() != manifest.files.len() {
            self.report.fail(
                format::MANIFEST,
                "manifest_invalid",
                "a file is listed twice",
            );
        }
        let unlisted: Vec<String> = self
            .archive
            .names()
            .filter(|n| *n != format::MANIFEST && *n != format::MANIFEST_SIGNATURE)
            .filter(|n| !listed.contains_key(n))
            .map(str::to_owned)
            .collect();
        for name in unlisted {
            self.report.fail(
                &name,
                "file_not_in_manifest",
                "the zip holds a file the manifest does not list",
            );
        }
        for entry in &manifest.files {
            if !self.archive.contains(&entry.path) {
                self.report.fail(
                    &entry.path,
                    "file_missing",
                    "listed in the manifest but not in the zip",
                );
                continue;
            }
            match self.archive.digest(&entry.path) {
                Ok((size, sha256)) if size == entry.size && sha256 == entry.sha256 => {
                    self.intact_files.insert(entry.path.clone());
                }
                Ok((size, sha256)) => self.report.fail(
                    &entry.path,
                    "file_hash_mismatch",
                    format!(
                        "{size} bytes with SHA-256 {}; the manifest says {} bytes with {}",
                        hex::encode(&sha256),
                        entry.size,
                        hex::encode(&entry.sha256)
                    ),
                ),
                Err(failure) => self.read_failed(&entry.path, failure),
            }
        }
        self.report.files_checked = manifest.files.len() as u64;
    }

    fn check_checkpoint(&mut self, checkpoint: &SignedCheckpoint, bureau_key: &[u8]) {
        self.report.checkpoint_tree_size = Some(checkpoint.tree_size);
        self.report.checkpoint_time_ms = Some(checkpoint.time_ms);
        if !checkpoint.verify(bureau_key) {
            self.report.fail(
                format::MANIFEST,
                "checkpoint_signature_invalid",
                "the checkpoint is not signed by the bureau key",
            );
        }
    }

    /// The device certificates the bureau signed, by device id.
    fn certificates(&mut self, bureau_key: &[u8]) -> BTreeMap<String, DeviceCertificate> {
        let names: Vec<String> = self
            .archive
            .names()
            .filter(|n| n.starts_with("certificates/"))
            .map(str::to_owned)
            .collect();
        let mut certificates = BTreeMap::new();
        for name in names {
            let Some(bytes) = self.read(&name, MAX_SIGN1_BYTES as u64) else {
                continue;
            };
            match verify_certificate(&bytes, bureau_key) {
                Ok(cert) if name == format::certificate_path(&cert.device_id) => {
                    certificates.insert(cert.device_id.clone(), cert);
                }
                Ok(_) => self.report.fail(
                    &name,
                    "certificate_misplaced",
                    "the certificate is of another device",
                ),
                Err(_) => self.report.fail(
                    &name,
                    "certificate_invalid",
                    "not a device certificate signed by the bureau key",
                ),
            }
        }
        certificates
    }

    /// Reads every listed record, checks its place in the log and in the
    /// file tree; returns them by device and seq.
    fn records(&mut self, manifest: &Manifest) -> BTreeMap<(String, u64), (RecordEntry, Vec<u8>)> {
        let checkpoint = &manifest.checkpoint;
        let listed: HashSet<&str> = manifest.records.iter().map(|r| r.path.as_str()).collect();
        let strays: Vec<String> = self
            .archive
            .names()
            .filter(|n| n.starts_with("records/") && !listed.contains(n))
            .map(str::to_owned)
            .collect();
        for name in strays {
            self.report.fail(
                &name,
                "record_not_listed",
                "a record file the manifest does not list as a record",
            );
        }
        let mut leaves = HashSet::new();
        let mut records = BTreeMap::new();
        for entry in &manifest.records {
            if entry.seq == 0 || entry.path != format::record_path(&entry.device_id, entry.seq) {
                self.report.fail(
                    &entry.path,
                    "record_misplaced",
                    "the path does not name the record's device and seq",
                );
                continue;
            }
            let Some(bytes) = self.read(&entry.path, MAX_SIGN1_BYTES as u64) else {
                continue;
            };
            if !leaves.insert(entry.leaf_index) {
                self.report.fail(
                    &entry.path,
                    "duplicate_record",
                    "two records claim one place in the log",
                );
            }
            let included = verify_inclusion(
                &leaf_hash(&bytes),
                entry.leaf_index,
                checkpoint.tree_size,
                &entry.inclusion_proof,
                &checkpoint.root,
            );
            if !included {
                self.report.fail(
                    &entry.path,
                    "not_included",
                    format!(
                        "the proof does not place the record at leaf {} of the checkpoint's log",
                        entry.leaf_index
                    ),
                );
            }
            let key = (entry.device_id.clone(), entry.seq);
            if records.insert(key, (entry.clone(), bytes)).is_some() {
                self.report.fail(
                    &entry.path,
                    "duplicate_record",
                    "the record is listed twice",
                );
            }
        }
        for omitted in &manifest.omitted {
            if !leaves.insert(omitted.leaf_index) {
                self.report.fail(
                    format::MANIFEST,
                    "duplicate_record",
                    format!("leaf {} is named twice", omitted.leaf_index),
                );
            }
            let included = verify_inclusion(
                &omitted.leaf_hash,
                omitted.leaf_index,
                checkpoint.tree_size,
                &omitted.inclusion_proof,
                &checkpoint.root,
            );
            if !included {
                self.report.fail(
                    format::MANIFEST,
                    "not_included",
                    format!(
                        "omitted record {} of device {} is not at leaf {} of the log",
                        omitted.seq, omitted.device_id, omitted.leaf_index
                    ),
                );
            }
        }
        records
    }

    /// Each device's records, with the omitted ones between them, form one
    /// unbroken chain signed by its certified key (and the keys it rotated to).
    fn check_chains(
        &mut self,
        manifest: &Manifest,
        certificates: &BTreeMap<String, DeviceCertificate>,
        records: &BTreeMap<(String, u64), (RecordEntry, Vec<u8>)>,
    ) {
        let mut omitted: BTreeMap<(String, u64), &OmittedRecord> = BTreeMap::new();
        for o in &manifest.omitted {
            let key = (o.device_id.clone(), o.seq);
            if records.contains_key(&key) || omitted.insert(key, o).is_some() {
                self.report.fail(
                    format::MANIFEST,
                    "duplicate_record",
                    format!("seq {} of device {} is given twice", o.seq, o.device_id),
                );
            }
        }
        let devices: Vec<String> = records
            .keys()
            .map(|(d, _)| d.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for device in devices {
            let Some(cert) = certificates.get(&device) else {
                self.report.fail(
                    &format::certificate_path(&device),
                    "unknown_signer",
                    "no certificate from the bureau for this device: its records cannot be attributed",
                );
                continue;
            };
            let seqs = records
                .range((device.clone(), 0)..=(device.clone(), u64::MAX))
                .map(|((_, s), _)| *s);
            let (first, last) = (seqs.clone().min().unwrap_or(0), seqs.max().unwrap_or(0));
            let mut head: Option<ChainHead> = None;
            let (mut present, mut skipped) = (0, 0);
            let failures_before = self.report.failures.len();
            let mut signed = 0;
            // Only the seqs the case file names are walked (a hostile manifest
            // may claim seqs 1 and 2^60); what lies between them is a gap.
            let named: BTreeSet<u64> = records
                .range((device.clone(), first)..=(device.clone(), last))
                .map(|((_, s), _)| *s)
                .chain(
                    omitted
                        .range((device.clone(), first)..=(device.clone(), last))
                        .map(|((_, s), _)| *s),
                )
                .collect();
            let mut expected = first;
            for seq in named {
                if seq > expected {
                    let missing = if seq - 1 == expected {
                        format!("record {expected}")
                    } else {
                        format!("records {expected} to {}", seq - 1)
                    };
                    self.report.fail(
                        format::MANIFEST,
                        "chain_gap",
                        format!("device {device} has no {missing} in the case file, neither copied nor named by hash"),
                    );
                    head = None;
                }
                expected = seq.saturating_add(1);
                let key = (device.clone(), seq);
                if let Some((entry, bytes)) = records.get(&key) {
                    present += 1;
                    let start = head.clone().unwrap_or_else(|| start_of(cert, bytes, seq));
                    let Ok(judgement) = judge(&start, bytes, |_| Ok::<_, Infallible>(None));
                    match (judgement.record, judgement.failure) {
                        (Some(record), None) => {
                            signed += 1;
                            head = Some(start.after(&record));
                        }
                        (_, Some(kind)) => {
                            let (code, detail) = chain_failure(kind);
                            self.report.fail(&entry.path, code, detail);
                            head = None;
                        }
                        (None, None) => {
                            unreachable!("a judgement without a record names its failure")
                        }
                    }
                } else if let Some(o) = omitted.get(&key) {
                    skipped += 1;
                    let public_key = head
                        .as_ref()
                        .map_or_else(|| cert.public_key.clone(), |h| h.public_key.clone());
                    head = Some(ChainHead {
                        public_key,
                        seq,
                        payload_sha256: Some(o.payload_sha256),
                    });
                }
            }
            self.report.signers.push(CaseSigner {
                device_id: device.clone(),
                officer_id: cert.officer_id.clone(),
                jurisdiction: cert.jurisdiction.clone(),
                role: cert.role.clone(),
                certified_ms: cert.issued_ms,
                records: signed,
            });
            self.report.chains.push(ChainSpan {
                device_id: device,
                first_seq: first,
                last_seq: last,
                present,
                omitted: skipped,
                unbroken: self.report.failures.len() == failures_before,
            });
        }
    }

    /// The inspection revisions of the amendment line.
    fn revisions(&mut self, manifest: &Manifest) -> Vec<Revision> {
        let mut revisions = Vec::new();
        for (i, id) in manifest.amendment_line.iter().enumerate() {
            let path = format::revision_path(i + 1, id);
            let Some(bytes) = self.read_json(&path) else {
                continue;
            };
            match Revision::from_json(&bytes) {
                Some(revision) if revision.inspection.id == *id => revisions.push(revision),
                Some(_) => self.report.fail(
                    &path,
                    "inspection_mismatch",
                    "the revision is of another inspection",
                ),
                _ => self.report.fail(
                    &path,
                    "inspection_invalid",
                    "not an inspection as a device sends it",
                ),
            }
        }
        if manifest.amendment_line.last() != Some(&manifest.inspection_id) {
            self.report.fail(
                format::MANIFEST,
                "manifest_invalid",
                "the inspection is not the last of its amendment line",
            );
        }
        revisions
    }

    /// Every record is of this case, its media is here and intact; then the
    /// flags a reviewer must see.
    fn check_records_against_case(
        &mut self,
        manifest: &Manifest,
        records: &BTreeMap<(String, u64), (RecordEntry, Vec<u8>)>,
        revisions: &[Revision],
    ) {
        let files: HashMap<&str, _> = manifest
            .files
            .iter()
            .map(|f| (f.path.as_str(), f))
            .collect();
        let mut checked_tracks = BTreeSet::new();
        for ((device, seq), (entry, bytes)) in records {
            let Some(payload) = decoded_payload(bytes) else {
                continue; // named by the chain check
            };
            let mut media_file = None;
            if let Some(media) = payload.event.media() {
                let path = format::media_path(&media.sha256, &media.mime);
                match files.get(path.as_str()) {
                    Some(f) if f.sha256 == media.sha256 && f.size == media.size => {}
                    Some(_) => self.report.fail(
                        &path,
                        "media_mismatch",
                        "the file is not the one the record signed",
                    ),
                    None => self.report.fail(
                        &entry.path,
                        "media_missing",
                        format!("the original {path} the record names is not in the case file"),
                    ),
                }
                media_file = Some(path);
            }
            if let Event::TrackSegment(segment) = &payload.event {
                let checked = self.check_track_files(device, *seq, segment);
                checked_tracks.extend(checked);
            }
            let names = payload.context.inspection_id.as_ref();
            if needs_case_context(&payload.event)
                && !names.is_some_and(|id| manifest.amendment_line.contains(id))
            {
                self.report.fail(
                    &entry.path,
                    "record_outside_case",
                    "the record does not name an inspection of this case",
                );
            }
            self.flag_against_site(&entry.path, &payload, revisions);
            // Intact: the record and its media match the manifest and no check failed on either.
            let tracks =
                [format::GPX, format::GEOJSON].map(|ext| format::track_path(device, *seq, ext));
            let own_tracks = tracks.iter().filter(|t| checked_tracks.contains(*t));
            let intact = std::iter::once(&entry.path)
                .chain(&media_file)
                .chain(own_tracks)
                .all(|f| {
                    self.intact_files.contains(f)
                        && !self.report.failures.iter().any(|x| &x.file == f)
                });
            self.report.items.push(CaseItem {
                file: entry.path.clone(),
                kind: payload.event.kind().into(),
                device_id: device.clone(),
                seq: *seq,
                device_time_ms: payload.wall_ms,
                signed_after_tree_size: payload.checkpoint.as_ref().map(|c| c.tree_size),
                media: media_file,
                intact,
            });
        }
        let strays: Vec<String> = self
            .archive
            .names()
            .filter(|n| n.starts_with("tracks/") && !checked_tracks.contains(*n))
            .map(str::to_owned)
            .collect();
        for name in strays {
            self.report.fail(
                &name,
                "track_file_unmatched",
                "a track file of no track segment record in the case file",
            );
        }
    }

    /// The segment's GPX and GeoJSON, where the case file has them, hold
    /// exactly the points its signed seal covers. Returns the files checked.
    fn check_track_files(&mut self, device: &str, seq: u64, segment: &TrackSegment) -> Vec<String> {
        let mut checked = Vec::new();
        let readers: [(&str, ReadFixes); 2] = [
            (format::GPX, track_files::fixes_from_gpx),
            (format::GEOJSON, track_files::fixes_from_geojson),
        ];
        for (ext, read_fixes) in readers {
            let path = format::track_path(device, seq, ext);
            if !self.archive.contains(&path) {
                continue;
            }
            checked.push(path.clone());
            let Some(bytes) = self.read(&path, MAX_JSON_BYTES) else {
                continue;
            };
            match read_fixes(&bytes) {
                Some(fixes) if seals(segment, &fixes) => {}
                Some(_) => self.report.fail(
                    &path,
                    "track_points_mismatch",
                    "the points do not hash to the seal the device signed: they were altered",
                ),
                None => self.report.fail(
                    &path,
                    "track_file_invalid",
                    "not one track segment's points as a case file writes them",
                ),
            }
        }
        checked
    }

    fn flag_against_site(&mut self, path: &str, payload: &EvidencePayload, revisions: &[Revision]) {
        for flag in consistency::flags(payload, revisions) {
            self.report.flag(path, flag.code, flag.detail);
        }
    }
}

/// Reads the fixes back from one kind of track file.
type ReadFixes = fn(&[u8]) -> Option<Vec<SealedFix>>;

/// Where a run of a device's chain starts: at the record itself, on the key
/// the bureau certified, trusting its `prev` (the records before it are not
/// this case's and the log vouches for them).
fn start_of(cert: &DeviceCertificate, bytes: &[u8], seq: u64) -> ChainHead {
    ChainHead {
        public_key: cert.public_key.clone(),
        seq: seq - 1, // listed seqs start at 1 (`records` refuses 0)
        payload_sha256: decoded_payload(bytes).and_then(|p| p.prev),
    }
}

/// The payload of a record, decoded; its signature is the chain check's.
fn decoded_payload(bytes: &[u8]) -> Option<EvidencePayload> {
    EvidencePayload::decode(&cose::parse_sign1(bytes).ok()?.payload).ok()
}

/// Records about the scene must name the case (an acknowledgement too); chain housekeeping (app
/// starts, clock jumps, key rotations) and patrol track segments need not.
fn needs_case_context(event: &Event) -> bool {
    matches!(
        event,
        Event::Capture(_) | Event::Import(_) | Event::Note(_) | Event::Acknowledgement(_)
    )
}

fn chain_failure(kind: FailureKind) -> (&'static str, String) {
    match kind {
        FailureKind::WrongKey | FailureKind::BadSignature => (
            "record_signature_invalid",
            "not signed by the key the bureau certified for this device".into(),
        ),
        FailureKind::Undecodable => ("record_undecodable", "not an evidence record".into()),
        FailureKind::PrevMismatch => (
            "chain_broken",
            "does not link to the record before it".into(),
        ),
        other => (
            "chain_broken",
            format!("chain check failed: {}", other.code()),
        ),
    }
}
