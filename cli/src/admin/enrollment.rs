//! Officers, their one-time enrollment codes, and the devices enrolled with them.

use super::client::{segment, Client};
use super::Result;
use crate::output::Output;
use clap::Subcommand;
use fieldproof_core::wire::admin::{
    Device, EnrollmentCode, NewEnrollmentCode, NewOfficer, Officer,
};
use serde_json::json;

#[derive(Subcommand)]
pub enum OfficerCommand {
    /// Create an officer; prints `id, name, created_ms`.
    Create { name: String },
    /// List officers.
    List,
}

#[derive(Subcommand)]
pub enum EnrollmentCodeCommand {
    /// Issue a one-time enrollment code; prints `code, officer_id, jurisdiction,
    /// role, expires_ms`. The code is shown only now.
    Create {
        /// The officer's name (created if no officer has it yet).
        #[arg(
            long,
            required_unless_present = "officer_id",
            conflicts_with = "officer_id"
        )]
        officer: Option<String>,
        /// An existing officer's id.
        #[arg(long)]
        officer_id: Option<String>,
        /// Administrative division code (county 6 digits, township 9 or 12).
        #[arg(long)]
        jurisdiction: String,
        /// township_staff, county_officer or reviewer.
        #[arg(long)]
        role: String,
    },
}

#[derive(Subcommand)]
pub enum DeviceCommand {
    /// List enrolled devices.
    List,
    /// Revoke a device: its token stops working at once.
    Revoke { id: String },
}

pub fn officers(command: OfficerCommand, client: &Client, out: &Output) -> Result<()> {
    match command {
        OfficerCommand::Create { name } => {
            let officer: Officer = client.post("/v1/admin/officers", &NewOfficer { name })?;
            out.print(&officer, || {
                format!("officer {}  {}", officer.id, officer.name)
            });
        }
        OfficerCommand::List => {
            let officers: Vec<Officer> = client.get("/v1/admin/officers", &[])?;
            for officer in &officers {
                out.print(officer, || format!("{}  {}", officer.id, officer.name));
            }
        }
    }
    Ok(())
}

pub fn enrollment_code(
    command: EnrollmentCodeCommand,
    client: &Client,
    out: &Output,
) -> Result<()> {
    match command {
        EnrollmentCodeCommand::Create {
            officer,
            officer_id,
            jurisdiction,
            role,
        } => {
            // clap lets through exactly one of the two.
            let new = NewEnrollmentCode {
                officer_name: officer.filter(|_| officer_id.is_none()),
                officer_id,
                jurisdiction,
                role,
            };
            let code: EnrollmentCode = client.post("/v1/admin/enrollment-codes", &new)?;
            out.print(&code, || {
                let pin = code
                    .tls_pin
                    .as_deref()
                    .map(|pin| format!("\nTLS pin (give it with the code): {pin}"))
                    .unwrap_or_default();
                format!(
                    "enrollment code {}  (one use; officer {}, jurisdiction {}, role {}, expires at {} ms UTC){pin}",
                    code.code,
                    code.officer_id,
                    code.jurisdiction,
                    code.role.as_str(),
                    code.expires_ms
                )
            });
        }
    }
    Ok(())
}

pub fn devices(command: DeviceCommand, client: &Client, out: &Output) -> Result<()> {
    match command {
        DeviceCommand::List => {
            let devices: Vec<Device> = client.get("/v1/admin/devices", &[])?;
            for device in &devices {
                out.print(device, || device_line(device));
            }
        }
        DeviceCommand::Revoke { id } => {
            let device: Device = client.post(
                &format!("/v1/admin/devices/{}/revoke", segment(&id)?),
                &json!({}),
            )?;
            out.print(&device, || device_line(&device));
        }
    }
    Ok(())
}

fn device_line(device: &Device) -> String {
    let state = match device.revoked_ms {
        Some(ms) => format!("revoked at {ms}"),
        None => "active".into(),
    };
    let gnss = if device.external_gnss {
        "  external GNSS"
    } else {
        ""
    };
    let attested = if device.attestation_bytes > 0 {
        "  key attested"
    } else {
        ""
    };
    format!(
        "{}  {}  {}  officer {}  {state}{gnss}{attested}",
        device.id,
        device.jurisdiction,
        device.role.as_str(),
        device.officer_id
    )
}
