//! One bureau process of a cluster (`fieldproof_e2e::cluster`): serves the
//! configuration file it is given until killed, and prints `listening ADDR`,
//! flushed, once it accepts connections. What `fieldproof serve --config` does,
//! built here so the end-to-end tests can start and kill it as a process.
//!
//! ```text
//! bureau-process CONFIG.toml
//! ```

use fieldproof_bureau::Config;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: bureau-process CONFIG.toml");
        return ExitCode::from(2);
    };
    let served = Config::from_file(&path).and_then(|config| {
        fieldproof_bureau::server::run(&config, |addr, _, _| {
            let mut out = std::io::stdout();
            let _ = writeln!(out, "listening {addr}");
            let _ = out.flush();
        })
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bureau-process: {} ({e})", e.code());
            ExitCode::FAILURE
        }
    }
}
