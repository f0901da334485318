//! `fieldproof inspections|checklists|outbox`: the device database from a shell.

use crate::output::Output;
use clap::{Args, Subcommand};
use fieldproof_core::geo::datum::Datum;
use fieldproof_core::geo::point::GeoPoint;
use fieldproof_core::model::acknowledgement::{AcknowledgementInput, SignerRole};
use fieldproof_core::model::checklist::Answer;
use fieldproof_core::model::inspection::{
    DraftFields, Inspection, InspectionFilter, ResponsibleParty, Status,
};
use fieldproof_core::model::photo::CaptureSource;
use fieldproof_core::store::Store;
use fieldproof_core::time::now_ms;
use fieldproof_core::{Error, Result};
use std::path::PathBuf;

#[derive(Args)]
pub struct DbArgs {
    /// Device database file (created if absent).
    #[arg(long)]
    pub db: PathBuf,
    /// Print one JSON object per line.
    #[arg(long)]
    pub json: bool,
}

impl DbArgs {
    pub fn open(&self) -> Result<Store> {
        Store::open(&self.db)
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Create a draft inspection; prints it (with its new `id`).
    Create {
        #[command(flatten)]
        db: DbArgs,
        /// Enforcement matter code, e.g. straw_burning or waste_burning.
        #[arg(long)]
        matter: String,
        #[command(flatten)]
        fields: FieldArgs,
    },
    /// Change fields of a draft; unspecified fields keep their value.
    Update {
        #[command(flatten)]
        db: DbArgs,
        id: String,
        #[command(flatten)]
        fields: UpdateArgs,
    },
    /// Answer one checklist item; VALUE is read by the item's type (yes/no,
    /// option code, comma-separated codes, number, text).
    Answer {
        #[command(flatten)]
        db: DbArgs,
        id: String,
        item: String,
        #[arg(allow_negative_numbers = true)]
        value: String,
    },
    /// Remove the answer to one checklist item of a draft.
    ClearAnswer {
        #[command(flatten)]
        db: DbArgs,
        id: String,
        item: String,
    },
    /// Check required items, freeze the inspection and queue it for the bureau.
    Submit {
        #[command(flatten)]
        db: DbArgs,
        id: String,
    },
    /// Start an amendment (a new linked draft) of a submitted inspection.
    Amend {
        #[command(flatten)]
        db: DbArgs,
        id: String,
    },
    /// Record that someone on site signed the inspection as it stands: the
    /// party, or a witness or officer when the party refuses (`--refused`).
    Acknowledge {
        #[command(flatten)]
        db: DbArgs,
        id: String,
        /// party, witness or officer.
        #[arg(long)]
        role: String,
        /// The signature strokes as a PNG (at most 512 KiB).
        #[arg(long)]
        image: PathBuf,
        /// The signer's name, if given.
        #[arg(long)]
        name: Option<String>,
        /// The party refused to sign (a witness or officer signs instead).
        #[arg(long)]
        refused: bool,
    },
    /// Print one inspection in full.
    Show {
        #[command(flatten)]
        db: DbArgs,
        id: String,
    },
    /// List inspections, newest first, one per line.
    List {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        filter: FilterArgs,
    },
}

impl Command {
    pub fn json(&self) -> bool {
        match self {
            Command::Create { db, .. }
            | Command::Update { db, .. }
            | Command::Answer { db, .. }
            | Command::ClearAnswer { db, .. }
            | Command::Submit { db, .. }
            | Command::Amend { db, .. }
            | Command::Acknowledge { db, .. }
            | Command::Show { db, .. }
            | Command::List { db, .. } => db.json,
        }
    }
}

#[derive(Args)]
pub struct FieldArgs {
    /// Township (9 or 12 digits) or county (6 digits) division code.
    #[arg(long)]
    township: String,
    /// County code (6 digits); derived from the township code when absent.
    #[arg(long)]
    county: Option<String>,
    #[arg(long, allow_negative_numbers = true)]
    lat: f64,
    #[arg(long, allow_negative_numbers = true)]
    lon: f64,
    /// Datum of --lat/--lon: wgs84, gcj02 or bd09. Stored as WGS-84.
    #[arg(long, default_value = "wgs84")]
    datum: String,
    #[arg(long, default_value = "")]
    address: String,
    /// Officer id. Once the device is enrolled, what it submits names its
    /// enrolled officer whatever this says.
    #[arg(long, env = "FIELDPROOF_OFFICER", default_value = "unassigned")]
    officer: String,
    #[arg(long)]
    task: Option<String>,
    /// Start time, UTC milliseconds; now when absent.
    #[arg(long)]
    started_at: Option<i64>,
    #[arg(long)]
    ended_at: Option<i64>,
    #[arg(long, default_value = "")]
    findings: String,
    #[command(flatten)]
    party: PartyArgs,
}

#[derive(Args)]
pub struct PartyArgs {
    /// Responsible party's name (personal data: never logged).
    #[arg(long)]
    party_name: Option<String>,
    #[arg(long, requires = "party_name")]
    party_phone: Option<String>,
    #[arg(long, requires = "party_name")]
    party_id_number: Option<String>,
}

impl PartyArgs {
    fn party(self) -> Option<ResponsibleParty> {
        self.party_name.map(|name| ResponsibleParty {
            name,
            phone: self.party_phone,
            id_number: self.party_id_number,
        })
    }
}

#[derive(Args)]
pub struct UpdateArgs {
    #[arg(long)]
    township: Option<String>,
    #[arg(long)]
    county: Option<String>,
    #[arg(long, allow_negative_numbers = true, requires_all = ["lon", "datum"])]
    lat: Option<f64>,
    #[arg(long, allow_negative_numbers = true, requires_all = ["lat", "datum"])]
    lon: Option<f64>,
    #[arg(long, requires_all = ["lat", "lon"])]
    datum: Option<String>,
    #[arg(long)]
    address: Option<String>,
    #[arg(long)]
    task: Option<String>,
    #[arg(long)]
    started_at: Option<i64>,
    #[arg(long)]
    ended_at: Option<i64>,
    #[arg(long)]
    findings: Option<String>,
    #[command(flatten)]
    party: PartyArgs,
}

#[derive(Args)]
pub struct FilterArgs {
    /// draft, submitted, accepted or returned.
    #[arg(long)]
    status: Option<String>,
    #[arg(long)]
    matter: Option<String>,
    /// Started at or after this time (UTC ms).
    #[arg(long)]
    from: Option<i64>,
    /// Started before this time (UTC ms).
    #[arg(long)]
    before: Option<i64>,
    #[arg(long)]
    task: Option<String>,
    /// Text to find in the address or findings.
    #[arg(long)]
    text: Option<String>,
    /// Page size.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Continue after this cursor (from a previous `next_cursor` line).
    #[arg(long)]
    cursor: Option<String>,
    /// Follow every page instead of stopping after one.
    #[arg(long)]
    all: bool,
}

pub fn run(command: Command, out: &Output) -> Result<()> {
    match command {
        Command::Create { db, matter, fields } => {
            let store = db.open()?;
            let fields = draft_fields(fields)?;
            print_inspection(out, &store.create_draft(&matter, fields, &[])?);
        }
        Command::Update { db, id, fields } => {
            let store = db.open()?;
            let current = store.get_inspection(&id)?;
            let updated = store.update_draft(&id, updated_fields(&current, fields)?)?;
            print_inspection(out, &updated);
        }
        Command::Answer {
            db,
            id,
            item,
            value,
        } => {
            let store = db.open()?;
            let current = store.get_inspection(&id)?;
            let template =
                store.checklist_for_version(&current.checklist_id, current.checklist_version)?;
            let value = template.item(&item)?.parse_answer(&value)?;
            let answer = Answer {
                item_id: item,
                value,
            };
            print_inspection(out, &store.set_answers(&id, &[answer])?);
        }
        Command::ClearAnswer { db, id, item } => {
            print_inspection(out, &db.open()?.clear_answer(&id, &item)?)
        }
        Command::Submit { db, id } => print_inspection(out, &db.open()?.submit(&id)?),
        Command::Amend { db, id } => print_inspection(out, &db.open()?.amend(&id)?),
        Command::Acknowledge {
            db,
            id,
            role,
            image,
            name,
            refused,
        } => {
            let input = AcknowledgementInput {
                role: SignerRole::parse(&role)?,
                name,
                refused,
                image_png: std::fs::read(&image)?,
            };
            let context = crate::evidence::cli_context(CaptureSource::Camera, None, None);
            let ack = db.open()?.acknowledge(&id, input, None, context)?;
            out.print(&ack, || {
                format!(
                    "{} signed revision {} of {} (content {}), record {}",
                    ack.role.as_str(),
                    ack.revision,
                    ack.inspection_id,
                    ack.inspection_sha256,
                    ack.record_seq
                )
            });
        }
        Command::Show { db, id } => {
            let inspection = db.open()?.get_inspection(&id)?;
            out.print(&inspection, || {
                serde_json::to_string_pretty(&inspection).expect("serialises")
            });
        }
        Command::List { db, filter } => list(&db.open()?, filter, out)?,
    }
    Ok(())
}

fn print_inspection(out: &Output, inspection: &Inspection) {
    out.print(inspection, || {
        format!(
            "{} {} {} answers={} {}",
            inspection.id,
            inspection.status.code(),
            inspection.matter,
            inspection.answers.len(),
            inspection.site.address
        )
    });
}

fn draft_fields(args: FieldArgs) -> Result<DraftFields> {
    Ok(DraftFields {
        township_code: args.township,
        county_code: args.county,
        site: GeoPoint {
            lat: args.lat,
            lon: args.lon,
            datum: Datum::parse(&args.datum)?,
        },
        address: args.address,
        task_id: args.task,
        officer_id: args.officer,
        started_at_ms: args.started_at.unwrap_or_else(now_ms),
        ended_at_ms: args.ended_at,
        findings: args.findings,
        responsible_party: args.party.party(),
    })
}

fn updated_fields(current: &Inspection, args: UpdateArgs) -> Result<DraftFields> {
    // Without new coordinates the site keeps what the platform originally reported.
    let site = match (args.lat, args.lon, args.datum) {
        (Some(lat), Some(lon), Some(datum)) => GeoPoint {
            lat,
            lon,
            datum: Datum::parse(&datum)?,
        },
        _ => GeoPoint {
            lat: current.site.reported_lat,
            lon: current.site.reported_lon,
            datum: current.site.reported_datum,
        },
    };
    let township_changed = args.township.is_some();
    Ok(DraftFields {
        township_code: args
            .township
            .unwrap_or_else(|| current.township_code.clone()),
        // A new township without a county re-derives the county from it.
        county_code: args
            .county
            .or((!township_changed).then(|| current.county_code.clone())),
        site,
        address: args.address.unwrap_or_else(|| current.site.address.clone()),
        task_id: args.task.or_else(|| current.task_id.clone()),
        officer_id: current.officer_id.clone(),
        started_at_ms: args.started_at.unwrap_or(current.started_at_ms),
        ended_at_ms: args.ended_at.or(current.ended_at_ms),
        findings: args.findings.unwrap_or_else(|| current.findings.clone()),
        responsible_party: args
            .party
            .party()
            .or_else(|| current.responsible_party.clone()),
    })
}

fn list(store: &Store, args: FilterArgs, out: &Output) -> Result<()> {
    let status = match args.status.as_deref() {
        Some(code) => Some(Status::from_code(code).ok_or(Error::InvalidField {
            field: "status",
            reason: "must be draft, submitted, accepted or returned",
        })?),
        None => None,
    };
    let filter = InspectionFilter {
        status,
        matter: args.matter,
        started_from_ms: args.from,
        started_before_ms: args.before,
        task_id: args.task,
        text: args.text,
    };
    let mut cursor = args.cursor;
    loop {
        let page = store.list_inspections(&filter, args.limit, cursor.as_deref())?;
        for item in &page.items {
            out.print(item, || {
                format!(
                    "{} {} {} {} {}",
                    item.id,
                    item.status.code(),
                    item.matter,
                    item.started_at_ms,
                    item.address
                )
            });
        }
        match page.next_cursor {
            Some(next) if args.all => cursor = Some(next),
            Some(next) => {
                let line = serde_json::json!({ "next_cursor": next });
                out.print(&line, || format!("more: --cursor {next}"));
                return Ok(());
            }
            None => return Ok(()),
        }
    }
}

#[derive(Subcommand)]
pub enum ChecklistCommand {
    /// List enforcement matters.
    Matters {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Print the current checklist for a matter.
    Show {
        #[command(flatten)]
        db: DbArgs,
        matter: String,
    },
}

impl ChecklistCommand {
    pub fn json(&self) -> bool {
        match self {
            ChecklistCommand::Matters { db } | ChecklistCommand::Show { db, .. } => db.json,
        }
    }
}

pub fn run_checklists(command: ChecklistCommand, out: &Output) -> Result<()> {
    match command {
        ChecklistCommand::Matters { db } => {
            for matter in db.open()?.list_matters()? {
                out.print(&matter, || {
                    format!(
                        "{} {} (checklist {})",
                        matter.code, matter.name, matter.checklist_id
                    )
                });
            }
        }
        ChecklistCommand::Show { db, matter } => {
            let template = db.open()?.checklist_for_matter(&matter)?;
            out.print(&template, || {
                serde_json::to_string_pretty(&template).expect("serialises")
            });
        }
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum OutboxCommand {
    /// Ops waiting for the bureau, oldest first.
    List {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

impl OutboxCommand {
    pub fn json(&self) -> bool {
        match self {
            OutboxCommand::List { db, .. } => db.json,
        }
    }
}

pub fn run_outbox(command: OutboxCommand, out: &Output) -> Result<()> {
    match command {
        OutboxCommand::List { db, limit } => {
            for op in db.open()?.pending_outbox(limit)? {
                out.print(&op, || {
                    format!("{} {} {} {}", op.seq, op.op_id, op.kind, op.entity_id)
                });
            }
        }
    }
    Ok(())
}
