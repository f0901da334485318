//! Tasks dispatched to a jurisdiction (e.g. a satellite fire point to verify).

use super::client::{list_pages, Client};
use super::PageArgs;
use super::Result;
use crate::output::Output;
use clap::Subcommand;
use fieldproof_core::wire::admin::{NewLocation, NewTask, Task};
use fieldproof_core::wire::fires::DispatchedTask;

#[derive(Subcommand)]
pub enum TaskCommand {
    /// Create a task; prints it (`location` in WGS-84 plus as given).
    Create {
        #[arg(long)]
        jurisdiction: String,
        #[arg(long)]
        title: String,
        #[arg(long)]
        note: Option<String>,
        #[arg(long, requires = "lon", allow_negative_numbers = true)]
        lat: Option<f64>,
        #[arg(long, requires = "lat", allow_negative_numbers = true)]
        lon: Option<f64>,
        /// Datum of --lat/--lon: wgs84, gcj02 or bd09.
        #[arg(long, default_value = "wgs84")]
        datum: String,
        /// Due time, UTC milliseconds.
        #[arg(long)]
        due_ms: Option<i64>,
    },
    /// List tasks, newest first, with where each stands (`dispatched`,
    /// `received`, `in_progress`, `completed`, `declined`, `closed`), since
    /// when, and `unreceived` when no device has it in time.
    List {
        /// Tasks within this jurisdiction (codes starting with it).
        #[arg(long)]
        jurisdiction: Option<String>,
        /// Tasks in this state only.
        #[arg(long)]
        state: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
}

pub fn tasks(command: TaskCommand, client: &Client, out: &Output) -> Result<()> {
    match command {
        TaskCommand::Create {
            jurisdiction,
            title,
            note,
            lat,
            lon,
            datum,
            due_ms,
        } => {
            let new = NewTask {
                jurisdiction,
                title,
                note,
                location: lat
                    .zip(lon)
                    .map(|(lat, lon)| NewLocation { lat, lon, datum }),
                due_ms,
            };
            let task: Task = client.post("/v1/admin/tasks", &new)?;
            out.print(&task, || task_line(&task));
        }
        TaskCommand::List {
            jurisdiction,
            state,
            page,
        } => {
            let filter = [("jurisdiction", jurisdiction), ("state", state)];
            list_pages(
                client,
                out,
                "/v1/admin/tasks",
                &filter,
                &page,
                |t: &DispatchedTask| {
                    let flag = if t.unreceived { "  UNRECEIVED" } else { "" };
                    let visit = match &t.visit {
                        Some(v) if v.visited => "  visited",
                        Some(_) => "  visit not proven",
                        None => "",
                    };
                    format!(
                        "{}  {} since {}{flag}{visit}",
                        task_line(&t.task),
                        t.state.code(),
                        fieldproof_core::time::utc_text(t.state_ms)
                    )
                },
            )?;
        }
    }
    Ok(())
}

fn task_line(task: &Task) -> String {
    let place = match &task.location {
        None => String::new(),
        Some(at) => format!(
            "  at {},{} WGS-84 (given {},{} {})",
            at.lat,
            at.lon,
            at.reported_lat,
            at.reported_lon,
            at.reported_datum.code()
        ),
    };
    format!("{}  {}  {}{place}", task.id, task.jurisdiction, task.title)
}
