//! `fieldproof`: the scripting and support tool for device databases (and, later,
//! the bureau). Every result-printing command takes `--json`: one JSON object per
//! line on stdout. Failures exit non-zero and name a stable error code.

mod admin;
mod demo;
mod device;
mod evidence;
mod geo;
mod inspections;
mod output;
mod progress;
mod serve;
mod tracks;
mod verify;

use clap::{Parser, Subcommand};
use output::Output;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "fieldproof", version, about = "Fieldproof field-inspection tool", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Record, answer, submit, amend and list inspections in a device database.
    #[command(subcommand)]
    Inspections(Box<inspections::Command>),
    /// Enforcement matters and their checklists (reference data).
    #[command(subcommand)]
    Checklists(inspections::ChecklistCommand),
    /// Changes queued for the bureau.
    #[command(subcommand)]
    Outbox(inspections::OutboxCommand),
    /// Photo evidence: ingest photos into the signed chain, verify it.
    #[command(subcommand)]
    Evidence(evidence::Command),
    /// Patrol tracks: GPX import through the recorder, statistics, export.
    #[command(subcommand)]
    Track(tracks::Command),
    /// Datum conversion and jurisdiction lookup.
    #[command(subcommand)]
    Geo(geo::Command),
    /// Run a short scripted inspection scenario on a fresh device database.
    Demo(demo::Args),
    /// Sync a device database with a bureau: enroll, then push, pull and upload.
    Device(device::Args),
    /// Run the bureau server (until SIGTERM or SIGINT).
    Serve(serve::Args),
    /// Administer a running bureau: officers, enrollment codes, devices, tasks,
    /// boundaries, checklists, inspections and their review.
    Admin(Box<admin::Args>),
    /// Check a case file offline: every signature, certificate, hash and log
    /// proof, with only the zip and the bureau's public key.
    Verify(verify::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (json, result) = match cli.command {
        Command::Inspections(command) => {
            let out = Output::new(command.json());
            (out.json, inspections::run(*command, &out))
        }
        Command::Checklists(command) => {
            let out = Output::new(command.json());
            (out.json, inspections::run_checklists(command, &out))
        }
        Command::Outbox(command) => {
            let out = Output::new(command.json());
            (out.json, inspections::run_outbox(command, &out))
        }
        Command::Evidence(command) => {
            let out = Output::new(command.json());
            return match evidence::run(command, &out) {
                Ok(code) => code,
                Err(err) => output::fail(&err, out.json),
            };
        }
        Command::Track(command) => {
            let out = Output::new(command.json());
            (out.json, tracks::run(command, &out))
        }
        Command::Geo(command) => {
            let out = Output::new(command.json());
            (out.json, geo::run(command, &out))
        }
        Command::Demo(args) => {
            let out = Output::new(args.json);
            (out.json, demo::run(args, &out))
        }
        Command::Device(args) => return device::run(args),
        Command::Serve(args) => return serve::run(args),
        Command::Admin(args) => return admin::run(*args),
        Command::Verify(args) => return verify::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => output::fail(&err, json),
    }
}
