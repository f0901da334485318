//! Officers, their one-time enrollment codes, and the devices enrolled with them.

use super::client::{items, segment, Client, Text};
use super::Result;
use crate::output::Output;
use clap::Subcommand;
use serde_json::{json, Value};

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
            let officer = client.post("/v1/admin/officers", &json!({ "name": name }))?;
            out.print(&officer, || {
                format!("officer {}  {}", officer["id"].s(), officer["name"].s())
            });
        }
        OfficerCommand::List => {
            for officer in items(client.get("/v1/admin/officers", &[])?) {
                out.print(&officer, || {
                    format!("{}  {}", officer["id"].s(), officer["name"].s())
                });
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
            let mut body = json!({ "jurisdiction": jurisdiction, "role": role });
            match (officer, officer_id) {
                (_, Some(id)) => body["officer_id"] = json!(id),
                (Some(name), None) => body["officer_name"] = json!(name),
                (None, None) => unreachable!("clap requires one of them"),
            }
            let code = client.post("/v1/admin/enrollment-codes", &body)?;
            out.print(&code, || {
                format!(
                    "enrollment code {}  (one use; officer {}, jurisdiction {}, role {}, expires at {} ms UTC)",
                    code["code"].s(),
                    code["officer_id"].s(),
                    code["jurisdiction"].s(),
                    code["role"].s(),
                    code["expires_ms"]
                )
            });
        }
    }
    Ok(())
}

pub fn devices(command: DeviceCommand, client: &Client, out: &Output) -> Result<()> {
    match command {
        DeviceCommand::List => {
            for device in items(client.get("/v1/admin/devices", &[])?) {
                out.print(&device, || device_line(&device));
            }
        }
        DeviceCommand::Revoke { id } => {
            let device = client.post(
                &format!("/v1/admin/devices/{}/revoke", segment(&id)?),
                &json!({}),
            )?;
            out.print(&device, || device_line(&device));
        }
    }
    Ok(())
}

fn device_line(device: &Value) -> String {
    let state = match device["revoked_ms"].as_i64() {
        Some(ms) => format!("revoked at {ms}"),
        None => "active".into(),
    };
    format!(
        "{}  {}  {}  officer {}  {state}",
        device["id"].s(),
        device["jurisdiction"].s(),
        device["role"].s(),
        device["officer_id"].s()
    )
}
