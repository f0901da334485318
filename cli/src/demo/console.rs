//! The demo's last step: its bureau left running as a `fieldproof serve`
//! process of its own (this same binary), detached, on the demo's data folder,
//! so the console can be looked at after the command returns. It listens on
//! 127.0.0.1:8440, or a free port when that is taken; stop it with `kill PID`.

use fieldproof_core::{Error, Result};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The served bureau's output, in the demo's data folder.
pub const LOG_FILE: &str = "console-serve.log";
const PREFERRED: &str = "127.0.0.1:8440";
const WAIT: Duration = Duration::from_secs(30);

/// Starts the bureau on `data` and waits (bounded) for it to listen: its URL and pid.
pub fn leave_running(data: &Path, admin_token: &str) -> Result<(String, u32)> {
    let listen = if std::net::TcpListener::bind(PREFERRED).is_ok() {
        PREFERRED
    } else {
        "127.0.0.1:0"
    };
    let log_path = data.join(LOG_FILE);
    let log = std::fs::File::create(&log_path)?;
    let mut command = Command::new(std::env::current_exe()?);
    command
        .args(["serve", "--json", "--listen", listen, "--data"])
        .arg(data)
        .env("FIELDPROOF_ADMIN_TOKEN", admin_token)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // Its own process group: a Ctrl-C meant for the terminal's next command
    // does not reach it.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command.spawn()?;
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let url = text
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find_map(|line| line["url"].as_str().map(str::to_owned));
        if let Some(url) = url {
            return Ok((url, child.id()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(Error::Io(std::io::Error::other(format!(
        "the demo bureau did not start within {WAIT:?}; see {}",
        log_path.display()
    ))))
}
