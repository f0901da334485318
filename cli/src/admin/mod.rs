//! `fieldproof admin`: the bureau's admin API from a shell — staff accounts and
//! the audit log, officers, enrollment codes, devices, tasks, satellite fire
//! points, reference data, inspections and their review — and, on the bureau's
//! own machine, backup and restore.
//!
//! Results print as text, or with `--json` one JSON document per line. A refusal
//! by the bureau prints its own `{"error":{"code","message"}}` and exits by kind:
//! 3 invalid input (HTTP 400, 401, 403, 413, 415), 4 not found (404), 5 invalid
//! state (409, 410), 6 server or storage failure (5xx), 7 bureau unreachable or
//! not answering as a bureau; 2 is a usage error.

mod backup;
mod cases;
mod client;
mod custody;
mod enrollment;
mod fires;
mod people;
mod reference;
mod tasks;

use crate::output::{Failure, Output};
use cases::{InspectionCommand, ReviewCommand};
use clap::{Args as ClapArgs, Subcommand};
use client::Client;
use enrollment::{DeviceCommand, EnrollmentCodeCommand, OfficerCommand};
use fires::FireCommand;
use people::{AuditCommand, UserCommand};
use reference::{BoundaryCommand, ChecklistCommand};
use std::process::ExitCode;
use tasks::TaskCommand;

#[derive(ClapArgs)]
pub struct Args {
    /// The bureau's URL, e.g. http://127.0.0.1:8440 [env: FIELDPROOF_SERVER]
    #[arg(long, global = true, env = "FIELDPROOF_SERVER", hide_env = true)]
    server: Option<String>,
    /// The admin token; prefer the environment variable, since arguments are
    /// visible to other users of the machine [env: FIELDPROOF_ADMIN_TOKEN]
    #[arg(
        long,
        global = true,
        env = "FIELDPROOF_ADMIN_TOKEN",
        hide_env = true,
        hide_env_values = true
    )]
    token: Option<String>,
    /// The bureau's TLS pin (`sha256/…`, printed by `fieldproof serve` and with
    /// every enrollment code): talk only to a server holding that key, e.g. one
    /// with a self-signed certificate [env: FIELDPROOF_TLS_PIN]
    #[arg(long, global = true, env = "FIELDPROOF_TLS_PIN", hide_env = true)]
    tls_pin: Option<String>,
    /// One JSON document per line.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Staff accounts: reviewers, legal reviewers, dispatchers and admins,
    /// each role over a jurisdiction.
    #[command(subcommand)]
    Users(UserCommand),
    /// The audit log: who reviewed, dispatched, exported, issued or revoked what, when.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Officers: the people devices are enrolled for.
    #[command(subcommand)]
    Officers(OfficerCommand),
    /// One-time codes that enroll a device for an officer, jurisdiction and role.
    #[command(subcommand, name = "enrollment-code")]
    EnrollmentCode(EnrollmentCodeCommand),
    /// Enrolled devices.
    #[command(subcommand)]
    Devices(DeviceCommand),
    /// Tasks dispatched to a jurisdiction (e.g. a fire point to verify).
    #[command(subcommand)]
    Tasks(TaskCommand),
    /// Satellite fire points (NASA FIRMS): import, reference data, figures.
    #[command(subcommand)]
    Fires(FireCommand),
    /// Jurisdiction boundaries (GeoJSON), sent to the devices they concern.
    #[command(subcommand)]
    Boundaries(BoundaryCommand),
    /// Checklist templates, published to devices.
    #[command(subcommand)]
    Checklists(ChecklistCommand),
    /// The custody log's alarms: devices holding a checkpoint beyond the log.
    #[command(subcommand)]
    Custody(custody::CustodyCommand),
    /// Inspections received from devices, with their evidence status.
    #[command(subcommand)]
    Inspections(InspectionCommand),
    /// Review a submitted inspection: accept it, or return it with a comment.
    #[command(subcommand)]
    Review(ReviewCommand),
    /// Back up the whole bureau (database, photos, keys) into a folder; run on
    /// the bureau's machine, with its configuration.
    Backup(backup::BackupArgs),
    /// Restore a backup into an empty bureau, then check it: the custody log
    /// against the backup's signed checkpoint, every photo against its hash.
    Restore(backup::RestoreArgs),
}

#[derive(ClapArgs)]
pub struct PageArgs {
    /// Page size (1 to 500, default 50).
    #[arg(long)]
    limit: Option<usize>,
    /// Continue after a previous page (its `next_cursor`).
    #[arg(long)]
    cursor: Option<String>,
    /// Every page, not just one.
    #[arg(long, conflicts_with = "cursor")]
    all: bool,
}

pub(crate) type Result<T> = std::result::Result<T, Failure>;

pub fn run(args: Args) -> ExitCode {
    let out = Output::new(args.json);
    match execute(args, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(&out),
    }
}

fn execute(args: Args, out: &Output) -> Result<()> {
    // These two work on the bureau's storage, not through its API.
    let command = match args.command {
        Command::Backup(backup) => return backup::backup(backup, out),
        Command::Restore(restore) => return backup::restore(restore, out),
        other => other,
    };
    let client = Client::new(args.server, args.token, args.tls_pin)?;
    match command {
        Command::Users(command) => people::users(command, &client, out),
        Command::Audit(command) => people::audit(command, &client, out),
        Command::Officers(command) => enrollment::officers(command, &client, out),
        Command::EnrollmentCode(command) => enrollment::enrollment_code(command, &client, out),
        Command::Devices(command) => enrollment::devices(command, &client, out),
        Command::Tasks(command) => tasks::tasks(command, &client, out),
        Command::Fires(command) => fires::fires(command, &client, out),
        Command::Boundaries(command) => reference::boundaries(command, &client, out),
        Command::Checklists(command) => reference::checklists(command, &client, out),
        Command::Custody(command) => custody::custody(command, &client, out),
        Command::Inspections(command) => cases::inspections(command, &client, out),
        Command::Review(command) => cases::review(command, &client, out),
        Command::Backup(_) | Command::Restore(_) => unreachable!("handled above"),
    }
}
