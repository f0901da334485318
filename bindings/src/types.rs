//! Core types exposed as they are: each declaration mirrors the core definition
//! (uniffi "remote" types), so there is no conversion code to keep in step.

use fieldproof_core::geo::bounding_box::BoundingBox;
use fieldproof_core::geo::datum::Datum;
use fieldproof_core::geo::fix::Fix;
use fieldproof_core::geo::jurisdiction::Placement;
use fieldproof_core::geo::platform_location::PlatformLocation;
use fieldproof_core::geo::point::GeoPoint;
use fieldproof_core::geo::recorder::{SegmentStart, TrackFilter, Verdict};
use fieldproof_core::model::acknowledgement::{Acknowledgement, AcknowledgementInput, SignerRole};
use fieldproof_core::model::checklist::{
    Answer, AnswerValue, ChecklistItem, ChecklistTemplate, ChoiceOption, ItemKind,
};
use fieldproof_core::model::fire::{FireDetection, FireEvent, FireProduct};
use fieldproof_core::model::inspection::{
    DraftFields, Inspection, InspectionFilter, InspectionPage, InspectionSummary, ResponsibleParty,
    Review, Site, SiteJurisdiction, Status,
};
use fieldproof_core::model::matter::Matter;
use fieldproof_core::model::photo::{CaptureContext, CaptureSource, Derivative, Photo, Position};
use fieldproof_core::model::sync::{Enrollment, OpState, OpStatus, PhotoSync, UploadState};
use fieldproof_core::model::task::{
    FireVerdict, Task, TaskClosure, TaskLocation, TaskProgress, TaskState,
};
use fieldproof_core::model::track::{FixOutcome, SealedSegment, Track, TrackPoint, TrackStats};
use fieldproof_core::model::verification::{EvidenceFailure, EvidenceReport, ReceiptReport};
use fieldproof_core::store::{MediaScan, NewTrack, OutboxOp, PreviewReport};
use fieldproof_core::sync::{
    ErrorClass, HttpHeader, HttpRequest, HttpResponse, NextSync, Progress, SyncError, SyncPlan,
    SyncReport, WorkLeft,
};

#[uniffi::remote(Enum)]
pub enum Datum {
    Wgs84,
    Gcj02,
    Bd09,
}

#[uniffi::remote(Record)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
    pub datum: Datum,
}

#[uniffi::remote(Enum)]
pub enum Status {
    Draft,
    Submitted,
    Accepted,
    Returned,
}

#[uniffi::remote(Record)]
pub struct ResponsibleParty {
    pub name: String,
    pub phone: Option<String>,
    pub id_number: Option<String>,
}

#[uniffi::remote(Record)]
pub struct DraftFields {
    pub township_code: String,
    pub county_code: Option<String>,
    pub site: GeoPoint,
    pub address: String,
    pub task_id: Option<String>,
    pub officer_id: String,
    pub started_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    pub findings: String,
    pub responsible_party: Option<ResponsibleParty>,
}

#[uniffi::remote(Record)]
pub struct Site {
    pub lat: f64,
    pub lon: f64,
    pub reported_lat: f64,
    pub reported_lon: f64,
    pub reported_datum: Datum,
    pub address: String,
}

#[uniffi::remote(Enum)]
pub enum AnswerValue {
    YesNo(bool),
    Choice(String),
    Choices(Vec<String>),
    Number(f64),
    Text(String),
}

#[uniffi::remote(Record)]
pub struct Answer {
    pub item_id: String,
    pub value: AnswerValue,
}

#[uniffi::remote(Record)]
pub struct Inspection {
    pub id: String,
    pub matter: String,
    pub checklist_id: String,
    pub checklist_version: u32,
    pub township_code: String,
    pub county_code: String,
    pub site: Site,
    pub task_id: Option<String>,
    pub officer_id: String,
    pub started_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    pub status: Status,
    pub answers: Vec<Answer>,
    pub findings: String,
    pub responsible_party: Option<ResponsibleParty>,
    pub amends_id: Option<String>,
    pub revision: u32,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub submitted_at_ms: Option<i64>,
    pub site_jurisdiction: Option<SiteJurisdiction>,
}

#[uniffi::remote(Record)]
pub struct SiteJurisdiction {
    pub code: String,
    pub inside: bool,
    pub boundary_distance_m: f64,
}

#[uniffi::remote(Record)]
pub struct InspectionSummary {
    pub id: String,
    pub matter: String,
    pub status: Status,
    pub township_code: String,
    pub county_code: String,
    pub lat: f64,
    pub lon: f64,
    pub address: String,
    pub task_id: Option<String>,
    pub started_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    pub amends_id: Option<String>,
    pub revision: u32,
}

#[uniffi::remote(Record)]
pub struct InspectionFilter {
    pub status: Option<Status>,
    pub matter: Option<String>,
    pub started_from_ms: Option<i64>,
    pub started_before_ms: Option<i64>,
    pub task_id: Option<String>,
    pub text: Option<String>,
}

#[uniffi::remote(Record)]
pub struct InspectionPage {
    pub items: Vec<InspectionSummary>,
    pub next_cursor: Option<String>,
}

#[uniffi::remote(Record)]
pub struct ChoiceOption {
    pub code: String,
    pub label: String,
}

#[uniffi::remote(Enum)]
pub enum ItemKind {
    YesNo,
    SingleChoice { options: Vec<ChoiceOption> },
    MultipleChoice { options: Vec<ChoiceOption> },
    Number { unit: String, min: f64, max: f64 },
    Text { max_chars: u32 },
}

#[uniffi::remote(Record)]
pub struct ChecklistItem {
    pub id: String,
    pub label: String,
    pub required: bool,
    pub kind: ItemKind,
}

#[uniffi::remote(Record)]
pub struct ChecklistTemplate {
    pub id: String,
    pub version: u32,
    pub title: String,
    pub items: Vec<ChecklistItem>,
}

#[uniffi::remote(Record)]
pub struct Matter {
    pub code: String,
    pub name: String,
    pub checklist_id: String,
}

#[uniffi::remote(Record)]
pub struct OutboxOp {
    pub seq: i64,
    pub op_id: String,
    pub kind: String,
    pub entity_id: String,
    pub payload: String,
    pub created_at_ms: i64,
}

// --- location ---

#[uniffi::remote(Record)]
pub struct Fix {
    pub lat: f64,
    pub lon: f64,
    pub datum: Datum,
    pub accuracy_m: Option<f64>,
    pub altitude_m: Option<f64>,
    pub speed_mps: Option<f64>,
    pub bearing_deg: Option<f64>,
    pub time_ms: i64,
    pub provider: String,
    pub mock: bool,
}

#[uniffi::remote(Record)]
pub struct PlatformLocation {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    pub altitude_m: Option<f64>,
    pub speed_mps: Option<f64>,
    pub bearing_deg: Option<f64>,
    pub time_ms: i64,
    pub provider: String,
    pub mock: bool,
    pub elapsed_realtime_ms: Option<u64>,
}

#[uniffi::remote(Record)]
pub struct TrackFilter {
    pub max_accuracy_m: f64,
    pub max_speed_mps: f64,
    pub min_distance_m: f64,
    pub min_interval_ms: i64,
    pub gap_ms: i64,
    pub segment_max_ms: i64,
}

#[uniffi::remote(Record)]
pub struct NewTrack {
    pub officer_id: String,
    pub inspection_id: Option<String>,
    pub task_id: Option<String>,
    pub filter: Option<TrackFilter>,
}

#[uniffi::remote(Enum)]
pub enum Verdict {
    Accepted,
    Invalid,
    LowAccuracy,
    SpeedJump,
    TooClose,
    TooFrequent,
    DuplicateTime,
    OutOfOrder,
}

#[uniffi::remote(Enum)]
pub enum SegmentStart {
    First,
    Gap,
    Interval,
    Jump,
}

#[uniffi::remote(Record)]
pub struct BoundingBox {
    pub min_lat: f64,
    pub min_lon: f64,
    pub max_lat: f64,
    pub max_lon: f64,
}

#[uniffi::remote(Record)]
pub struct TrackStats {
    pub segments: u32,
    pub accepted: u64,
    pub mock: u64,
    pub invalid: u64,
    pub low_accuracy: u64,
    pub speed_jump: u64,
    pub too_close: u64,
    pub too_frequent: u64,
    pub duplicate_time: u64,
    pub out_of_order: u64,
    pub length_m: f64,
    pub duration_ms: i64,
    pub moving_ms: i64,
    pub max_speed_mps: f64,
    pub first_fix_ms: Option<i64>,
    pub last_fix_ms: Option<i64>,
    pub bbox: Option<BoundingBox>,
}

#[uniffi::remote(Record)]
pub struct Track {
    pub id: String,
    pub officer_id: String,
    pub inspection_id: Option<String>,
    pub task_id: Option<String>,
    pub filter: TrackFilter,
    pub started_at_ms: i64,
    pub stopped_at_ms: Option<i64>,
    pub stats: TrackStats,
}

#[uniffi::remote(Record)]
pub struct TrackPoint {
    pub segment: u32,
    pub lat: f64,
    pub lon: f64,
    pub time_ms: i64,
    pub accuracy_m: Option<f64>,
    pub altitude_m: Option<f64>,
    pub speed_mps: Option<f64>,
    pub bearing_deg: Option<f64>,
    pub provider: String,
    pub mock: bool,
}

#[uniffi::remote(Record)]
pub struct SealedSegment {
    pub track_id: String,
    pub segment: u32,
    pub start_reason: SegmentStart,
    pub point_count: u64,
    pub first_time_ms: i64,
    pub last_time_ms: i64,
    pub points_sha256: String,
}

#[uniffi::remote(Record)]
pub struct FixOutcome {
    pub verdict: Verdict,
    pub error_code: Option<String>,
    pub segment: Option<u32>,
    pub sealed: Option<SealedSegment>,
}

#[uniffi::remote(Record)]
pub struct Placement {
    pub code: String,
    pub name: String,
    pub inside: bool,
    pub distance_m: f64,
}

// --- evidence ---

#[uniffi::remote(Enum)]
pub enum CaptureSource {
    Camera,
    Import,
}

#[uniffi::remote(Record)]
pub struct CaptureContext {
    pub source: CaptureSource,
    pub inspection_id: Option<String>,
    pub task_id: Option<String>,
    pub officer_id: Option<String>,
    pub monotonic_ms: Option<u64>,
    pub boot_id: Option<String>,
    pub app_version: String,
}

#[uniffi::remote(Enum)]
pub enum Derivative {
    Pending,
    Ok,
    Unavailable,
}

#[uniffi::remote(Record)]
pub struct Position {
    pub lat: f64,
    pub lon: f64,
}

#[uniffi::remote(Record)]
pub struct Photo {
    pub id: String,
    pub inspection_id: Option<String>,
    pub record_seq: u64,
    pub source: CaptureSource,
    pub sha256: String,
    pub size: u64,
    pub mime: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub orientation: Option<u16>,
    pub taken_at: Option<String>,
    pub taken_at_utc_ms: Option<i64>,
    pub exif_position: Option<Position>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub fix_position: Option<Position>,
    pub fix_accuracy_m: Option<f64>,
    pub fix_jurisdiction: Option<SiteJurisdiction>,
    pub thumbnail: Derivative,
    pub preview: Derivative,
    pub warnings: Vec<String>,
    pub captured_at_ms: i64,
}

#[uniffi::remote(Record)]
pub struct EvidenceFailure {
    pub code: String,
    pub detail: String,
}

#[uniffi::remote(Record)]
pub struct EvidenceReport {
    pub records: u64,
    pub photos: u64,
    pub failures: Vec<EvidenceFailure>,
}

#[uniffi::remote(Record)]
pub struct PreviewReport {
    pub made: u32,
    pub unavailable: u32,
    pub remaining: u32,
}

#[uniffi::remote(Record)]
pub struct MediaScan {
    pub temp_files_removed: u64,
    pub orphans: Vec<String>,
}

// --- sync ---

#[uniffi::remote(Record)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

#[uniffi::remote(Record)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
    pub timeout_ms: u64,
    pub tls_pin: Option<String>,
}

#[uniffi::remote(Record)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
}

#[uniffi::remote(Record)]
pub struct WorkLeft {
    pub ops: u32,
    pub uploads: u32,
}

#[uniffi::remote(Enum)]
pub enum ErrorClass {
    Offline,
    Server,
    Auth,
    Local,
    Custody,
}

#[uniffi::remote(Record)]
pub struct SyncError {
    pub code: String,
    // `class` is a keyword in Kotlin, Swift and Python.
    #[uniffi(name = "error_class")]
    pub class: ErrorClass,
    pub message: String,
}

#[uniffi::remote(Record)]
pub struct SyncReport {
    pub ops_pushed: u32,
    pub records_pulled: u32,
    pub bytes_uploaded: u64,
    pub receipts: u32,
    pub work_left: WorkLeft,
    pub next_attempt_ms: Option<i64>,
    pub last_error: Option<SyncError>,
    pub cancelled: bool,
}

#[uniffi::remote(Enum)]
pub enum NextSync {
    Continue,
    Retry,
    Poll,
    Reenroll,
    CustodyAlarm,
}

#[uniffi::remote(Record)]
pub struct SyncPlan {
    pub next: NextSync,
    pub delay_ms: Option<u64>,
    pub needs_network: bool,
    pub uploads_waiting: bool,
}

#[uniffi::remote(Enum)]
pub enum Progress {
    Pushed {
        ops: u32,
    },
    Pulled {
        changes: u32,
    },
    Uploading {
        photo_id: String,
        role: String,
        sent: u64,
        size: u64,
    },
}

#[uniffi::remote(Record)]
pub struct Enrollment {
    pub server_url: String,
    pub device_id: String,
    pub officer_id: String,
    pub jurisdiction: String,
    pub role: String,
    pub token_expires_ms: Option<i64>,
    pub certificate: Vec<u8>,
    pub bureau_public_key: Vec<u8>,
    pub enrolled_at_ms: i64,
    pub tls_pin: Option<String>,
}

#[uniffi::remote(Enum)]
pub enum OpState {
    Pending,
    Applied,
    Conflict,
    Rejected,
}

#[uniffi::remote(Record)]
pub struct OpStatus {
    pub op_id: String,
    pub kind: String,
    pub state: OpState,
    pub reason: Option<String>,
    pub attempts: u32,
    pub last_error: Option<String>,
}

#[uniffi::remote(Enum)]
pub enum UploadState {
    NotStarted,
    Sending,
    Complete,
    Failed,
}

#[uniffi::remote(Record)]
pub struct PhotoSync {
    pub upload: UploadState,
    pub uploaded_bytes: u64,
    pub size: u64,
    pub upload_reason: Option<String>,
    pub photo_op: Option<OpStatus>,
    pub record_op: Option<OpStatus>,
}

#[uniffi::remote(Record)]
pub struct ReceiptReport {
    pub receipts: u64,
    pub failures: Vec<EvidenceFailure>,
}

#[uniffi::remote(Record)]
pub struct Review {
    pub inspection_id: String,
    pub decision: Status,
    pub comment: Option<String>,
    pub reviewed_ms: i64,
}

#[uniffi::remote(Record)]
pub struct TaskLocation {
    pub lat: f64,
    pub lon: f64,
    pub reported_lat: f64,
    pub reported_lon: f64,
    pub reported_datum: Datum,
}

#[uniffi::remote(Record)]
pub struct Task {
    pub id: String,
    pub jurisdiction: String,
    pub title: String,
    pub note: Option<String>,
    pub location: Option<TaskLocation>,
    pub due_ms: Option<i64>,
    pub created_ms: i64,
    pub event: Option<FireEvent>,
    pub closed: Option<TaskClosure>,
}

#[uniffi::remote(Enum)]
pub enum FireProduct {
    Modis,
    Viirs,
}

#[uniffi::remote(Record)]
pub struct FireDetection {
    pub product: FireProduct,
    pub satellite: String,
    pub time_ms: i64,
    pub lat: f64,
    pub lon: f64,
    pub confidence: String,
    pub frp_mw: Option<f64>,
    pub daynight: String,
}

#[uniffi::remote(Record)]
pub struct FireEvent {
    pub id: String,
    pub first_detected_ms: i64,
    pub last_detected_ms: i64,
    pub lat: f64,
    pub lon: f64,
    pub detections: Vec<FireDetection>,
    pub key_zone: Option<String>,
}

#[uniffi::remote(Enum)]
pub enum FireVerdict {
    ConfirmedBurning,
    NoFireFound,
    StaticSource,
    NotReachable,
}

#[uniffi::remote(Record)]
pub struct TaskClosure {
    pub inspection_id: String,
    pub verdict: Option<FireVerdict>,
    pub closed_ms: i64,
}

#[uniffi::remote(Enum)]
pub enum TaskState {
    Dispatched,
    Received,
    InProgress,
    Completed,
    Declined,
    Closed,
}

#[uniffi::remote(Record)]
pub struct TaskProgress {
    pub task_id: String,
    pub state: TaskState,
    pub state_ms: i64,
    pub reason: Option<String>,
    pub inspection_id: Option<String>,
}

#[uniffi::remote(Enum)]
pub enum SignerRole {
    Party,
    Witness,
    Officer,
}

#[uniffi::remote(Record)]
pub struct AcknowledgementInput {
    pub role: SignerRole,
    pub name: Option<String>,
    pub refused: bool,
    pub image_png: Vec<u8>,
}

#[uniffi::remote(Record)]
pub struct Acknowledgement {
    pub inspection_id: String,
    pub revision: u32,
    pub inspection_sha256: String,
    pub role: SignerRole,
    pub refused: bool,
    pub image_sha256: String,
    pub photo_id: String,
    pub record_seq: u64,
}
