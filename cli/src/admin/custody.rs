//! The custody log's alarms: devices holding a checkpoint beyond the bureau's
//! log, as after a restore from an older backup (`bureau/docs/backup.md`).

use super::client::Client;
use super::Result;
use crate::output::Output;
use clap::Subcommand;
use fieldproof_core::wire::custody::CustodyAlarms;

#[derive(Subcommand)]
pub enum CustodyCommand {
    /// Devices that showed a checkpoint the bureau's log does not reach, newest
    /// first: the bureau was restored from a backup older than what they hold.
    Alarms,
}

pub fn custody(command: CustodyCommand, client: &Client, out: &Output) -> Result<()> {
    match command {
        CustodyCommand::Alarms => {
            let answer: CustodyAlarms = client.get("/v1/admin/custody/alarms", &[])?;
            for alarm in &answer.alarms {
                out.print(alarm, || {
                    let how = alarm
                        .seq
                        .map_or("asked for a proof up to it".to_owned(), |seq| {
                            format!("record {seq} names it")
                        });
                    format!(
                        "device {} holds a checkpoint of {} records; the log had {} ({how}; at {})",
                        alarm.device_id, alarm.held_size, alarm.log_size, alarm.detected_ms
                    )
                });
            }
        }
    }
    Ok(())
}
