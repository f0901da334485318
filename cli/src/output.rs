//! How results and failures are printed: JSON lines for scripts, short text for people.

use fieldproof_core::{Error, ErrorKind};
use serde::Serialize;
use std::io::{ErrorKind as IoErrorKind, Write};
use std::process::ExitCode;

pub struct Output {
    pub json: bool,
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output { json }
    }

    /// Prints one result: a JSON line, or the `human` text.
    pub fn print(&self, value: &impl Serialize, human: impl FnOnce() -> String) {
        let line = if self.json {
            serde_json::to_string(value).expect("results serialise")
        } else {
            human()
        };
        emit(&line);
    }
}

/// Writes a line to stdout. A reader that went away (`| head`) ends the program
/// quietly, as for any Unix filter; other write failures are reported.
fn emit(line: &str) {
    if let Err(err) = writeln!(std::io::stdout().lock(), "{line}") {
        if err.kind() == IoErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error[io_error]: cannot write output: {err}");
        std::process::exit(1);
    }
}

/// Exit status by error class, so scripts can branch without parsing output
/// (2 is clap's usage error).
pub fn exit_status(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::InvalidInput => 3,
        ErrorKind::NotFound => 4,
        ErrorKind::InvalidState => 5,
        ErrorKind::Storage => 6,
        ErrorKind::Network => 7,
    }
}

pub fn fail(err: &Error, json: bool) -> ExitCode {
    if json {
        let line =
            serde_json::json!({ "error": { "code": err.code(), "message": err.to_string() } });
        emit(&line.to_string());
    }
    eprintln!("error[{}]: {err}", err.code());
    ExitCode::from(exit_status(err.kind()))
}
