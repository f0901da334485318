//! `fieldproof verify`: checks a case file offline, with nothing but the zip
//! and the bureau's public key given out of band (`fieldproof_core::case_file`).
//! Exit 0 only when every check holds; 1 when any failed (each one named);
//! 3 when the key given is unusable; 4 when the file is missing.

use crate::output::{Failure, Output};
use clap::{ArgGroup, Parser};
use fieldproof_core::case_file::{verify_case_file, BureauKeyGiven};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(group(ArgGroup::new("key").required(true).args(["bureau_key", "bureau_key_id"])))]
pub struct Args {
    /// The case file (zip) to check.
    pub case_file: PathBuf,
    /// The bureau's public key: a file with the SEC1 key in hex, as the bureau
    /// writes it (`bureau-key.hex` in its data folder).
    #[arg(long)]
    pub bureau_key: Option<PathBuf>,
    /// Or its key id: SHA-256 of the public key, 64 hex digits.
    #[arg(long)]
    pub bureau_key_id: Option<String>,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> ExitCode {
    let out = Output::new(args.json);
    match verify(&args, &out) {
        Ok(code) => code,
        Err(failure) => failure.report(&out),
    }
}

fn verify(args: &Args, out: &Output) -> Result<ExitCode, Failure> {
    let key_file = match &args.bureau_key {
        Some(file) => Some(std::fs::read(file).map_err(|e| {
            Failure::new(
                "invalid_bureau_key",
                format!("cannot read {}: {e}", file.display()),
                3,
            )
        })?),
        None => None,
    };
    let key = BureauKeyGiven::from_either(key_file.as_deref(), args.bureau_key_id.as_deref())
        .map_err(|e| Failure::new("invalid_bureau_key", e.to_string(), 3))?;
    let report = verify_case_file(&args.case_file, &key)
        .map_err(|e| Failure::unreadable("cannot_read", &args.case_file, &e))?;
    out.print(&report, || report.to_text());
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
