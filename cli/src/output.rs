//! How results and failures are printed: JSON lines for scripts, short text for
//! people. Every failure, whatever failed, is one [`Failure`]: a stable code, a
//! message and an exit status.

use fieldproof_core::{Error, ErrorKind};
use serde::Serialize;
use serde_json::json;
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

/// Reports a core error: its code and message, and the exit status of its kind.
pub fn fail(err: &Error, json: bool) -> ExitCode {
    Failure::new(err.code(), err.to_string(), exit_status(err.kind())).report(&Output::new(json))
}

/// A failure to report: a stable code, a message, and the exit status.
#[derive(Debug)]
pub struct Failure {
    pub code: String,
    pub message: String,
    pub exit: u8,
}

impl Failure {
    pub fn new(code: &str, message: impl Into<String>, exit: u8) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            exit,
        }
    }

    /// A local file that could not be read, with `code`: exit 4 when it does
    /// not exist, 6 otherwise.
    pub fn unreadable(code: &str, path: &std::path::Path, error: &std::io::Error) -> Self {
        let exit = if error.kind() == std::io::ErrorKind::NotFound {
            4
        } else {
            6
        };
        Self::new(
            code,
            format!("cannot read {}: {error}", path.display()),
            exit,
        )
    }

    /// A bureau error, classed by its HTTP status as the API would answer it.
    pub fn from_bureau(error: &fieldproof_bureau::Error) -> Self {
        let exit = match error {
            fieldproof_bureau::Error::InvalidConfig { .. } => 3,
            _ => exit_for_status(fieldproof_bureau::api::http_status(error)),
        };
        Self::new(error.code(), error.to_string(), exit)
    }

    /// Prints the failure (the JSON line with `--json`; stderr always) and
    /// returns the exit status.
    pub fn report(&self, out: &Output) -> ExitCode {
        if out.json {
            let line = json!({ "error": { "code": self.code, "message": self.message } });
            emit(&line.to_string());
        }
        eprintln!("error[{}]: {}", self.code, self.message);
        ExitCode::from(self.exit)
    }
}

/// Exit status for an HTTP error status (see `admin`'s module doc).
pub fn exit_for_status(status: u16) -> u8 {
    match status {
        404 => 4,
        409 | 410 => 5,
        500..=599 => 6,
        _ => 3,
    }
}
