//! Staff accounts and the audit log. A new account's password is read from
//! standard input, never from an argument (arguments are visible to every user
//! of the machine).

use super::client::{list_pages, or_dash, segment, Client};
use super::{PageArgs, Result};
use crate::output::{Failure, Output};
use crate::progress::Progress;
use clap::Subcommand;
use fieldproof_core::wire::admin::{AuditEntry, Grant, NewStaffUser, StaffRole, StaffUser};
use std::io::BufRead;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a staff account; the password is the first line of standard
    /// input (at least 10 characters), e.g.
    /// `printf '%s\n' "$PASSWORD" | fieldproof admin users create …`.
    Create {
        /// 3 to 32 of a-z, 0-9, '.', '_' and '-'.
        username: String,
        /// The name shown in the console.
        #[arg(long)]
        name: String,
        /// A role over a jurisdiction, ROLE:CODE (reviewer, legal_reviewer,
        /// dispatcher, admin), e.g. reviewer:430121; repeat for more.
        #[arg(long = "role", required = true, value_parser = parse_grant)]
        grants: Vec<Grant>,
    },
    /// List staff accounts with their roles.
    List,
    /// Disable an account: its sessions end at once.
    Disable { id: String },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Entries, newest first.
    List {
        #[command(flatten)]
        page: PageArgs,
    },
    /// Save up to 10,000 entries as CSV (UTF-8), newest first.
    Export { output: PathBuf },
    /// Recompute the hash chain of the whole log (the admin token only).
    Verify,
}

fn parse_grant(text: &str) -> std::result::Result<Grant, String> {
    let (role, jurisdiction) = text
        .split_once(':')
        .ok_or("ROLE:CODE, e.g. reviewer:430121")?;
    let role = StaffRole::from_code(role)
        .ok_or("the role is reviewer, legal_reviewer, dispatcher or admin")?;
    Ok(Grant {
        role,
        jurisdiction: jurisdiction.to_owned(),
    })
}

pub fn users(command: UserCommand, client: &Client, out: &Output) -> Result<()> {
    match command {
        UserCommand::Create {
            username,
            name,
            grants,
        } => {
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .map_err(|_| {
                    Failure::new(
                        "invalid_password",
                        "read the password from standard input",
                        3,
                    )
                })?;
            let new = NewStaffUser {
                username,
                display_name: name,
                password: password.trim_end_matches(['\r', '\n']).to_owned(),
                grants,
            };
            let user: StaffUser = client.post("/v1/admin/users", &new)?;
            out.print(&user, || format!("user {}", user_text(&user)));
        }
        UserCommand::List => {
            let users: Vec<StaffUser> = client.get("/v1/admin/users", &[])?;
            for user in &users {
                out.print(user, || user_text(user));
            }
        }
        UserCommand::Disable { id } => {
            let path = format!("/v1/admin/users/{}/disable", segment(&id)?);
            let user: StaffUser = client.post(&path, &serde_json::json!({}))?;
            out.print(&user, || format!("disabled {}", user_text(&user)));
        }
    }
    Ok(())
}

fn user_text(user: &StaffUser) -> String {
    let grants: Vec<String> = user
        .grants
        .iter()
        .map(|g| format!("{}:{}", g.role.code(), g.jurisdiction))
        .collect();
    let state = if user.disabled_ms.is_some() {
        "  disabled"
    } else {
        ""
    };
    format!(
        "{}  {}  {}{state}",
        user.id,
        user.username,
        grants.join(",")
    )
}

pub fn audit(command: AuditCommand, client: &Client, out: &Output) -> Result<()> {
    match command {
        AuditCommand::List { page } => {
            list_pages(client, out, "/v1/admin/audit", &[], &page, entry_text)?;
        }
        AuditCommand::Export { output } => {
            let progress = Progress::new(out, None, "received");
            let bytes = client.download("/v1/admin/audit?format=csv", &output, &progress)?;
            let file = output.display().to_string();
            progress.finish("audit log".to_owned());
            out.print(&serde_json::json!({ "file": file, "bytes": bytes }), || {
                format!("audit log: {file} ({bytes} bytes)")
            });
        }
        AuditCommand::Verify => {
            let answer: serde_json::Value = client.get("/v1/admin/audit/verify", &[])?;
            out.print(&answer, || {
                format!("audit log intact: {} entries", answer["entries"])
            });
        }
    }
    Ok(())
}

fn entry_text(e: &AuditEntry) -> String {
    format!(
        "{}  {}  {}  {}  {}  {}  {}",
        e.seq,
        e.at_ms,
        e.actor,
        e.action,
        e.subject,
        or_dash(e.jurisdiction.as_deref()),
        e.detail
    )
}
