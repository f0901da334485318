//! Reference data: enforcement matters and their checklist templates.

use crate::error::{Error, Result};
use crate::model::checklist::{defaults, ChecklistTemplate};
use crate::model::matter::Matter;
use rusqlite::{params, Connection, OptionalExtension};

pub fn seed_defaults(conn: &Connection) -> Result<()> {
    for (code, name) in defaults::MATTERS {
        let template = defaults::template_for(code).expect("every default matter has a template");
        put_template(conn, &template)?;
        put_matter(
            conn,
            &Matter {
                code: (*code).into(),
                name: (*name).into(),
                checklist_id: template.id,
            },
        )?;
    }
    Ok(())
}

pub fn list_matters(conn: &Connection) -> Result<Vec<Matter>> {
    let mut stmt =
        conn.prepare_cached("SELECT code, name, checklist_id FROM matters ORDER BY code")?;
    let rows = stmt.query_map([], |row| {
        Ok(Matter {
            code: row.get(0)?,
            name: row.get(1)?,
            checklist_id: row.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The newest template version for a matter: what a new inspection uses.
pub fn current_template_for(conn: &Connection, matter: &str) -> Result<ChecklistTemplate> {
    let found = conn
        .prepare_cached(
            "SELECT t.id, t.version FROM matters m
             JOIN checklist_templates t ON t.id = m.checklist_id
             WHERE m.code = ?1 ORDER BY t.version DESC LIMIT 1",
        )?
        .query_row([matter], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, u32>(1)?))
        })
        .optional()?;
    let (id, version) = found.ok_or_else(|| Error::UnknownMatter {
        matter: matter.to_owned(),
    })?;
    template(conn, &id, version)
}

pub fn template(conn: &Connection, id: &str, version: u32) -> Result<ChecklistTemplate> {
    let found = conn
        .prepare_cached(
            "SELECT title, items FROM checklist_templates WHERE id = ?1 AND version = ?2",
        )?
        .query_row(params![id, version], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .optional()?;
    let (title, items) = found.ok_or_else(|| Error::NotFound {
        what: "checklist template",
        id: format!("{id} v{version}"),
    })?;
    let items = serde_json::from_str(&items).map_err(|_| Error::DatabaseCorrupt)?;
    Ok(ChecklistTemplate {
        id: id.to_owned(),
        version,
        title,
        items,
    })
}

/// Stores a template version. Publishing the same version again is harmless (the
/// bureau may resend reference data); changing a published version is refused,
/// since inspections already recorded against it must keep their meaning.
pub fn put_template(conn: &Connection, template: &ChecklistTemplate) -> Result<()> {
    template.check()?;
    let items = serde_json::to_string(&template.items).expect("templates serialise");
    let existing = conn
        .prepare_cached(
            "SELECT title, items FROM checklist_templates WHERE id = ?1 AND version = ?2",
        )?
        .query_row(params![template.id, template.version], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .optional()?;
    match existing {
        Some((title, stored)) if title == template.title && stored == items => Ok(()),
        Some(_) => Err(Error::InvalidTemplate {
            reason: format!(
                "{} v{} is already published with other content",
                template.id, template.version
            ),
        }),
        None => {
            conn.prepare_cached("INSERT INTO checklist_templates (id, version, title, items) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![template.id, template.version, template.title, items])?;
            Ok(())
        }
    }
}

/// Adds or renames a matter, or points it at another checklist (which must exist).
pub fn put_matter(conn: &Connection, matter: &Matter) -> Result<()> {
    if !Matter::is_valid_code(&matter.code) {
        return Err(Error::InvalidField {
            field: "matter.code",
            reason: "must be lowercase letters, digits and underscores",
        });
    }
    let has_template: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM checklist_templates WHERE id = ?1)")?
        .query_row([&matter.checklist_id], |row| row.get(0))?;
    if !has_template {
        return Err(Error::NotFound {
            what: "checklist template",
            id: matter.checklist_id.clone(),
        });
    }
    conn.prepare_cached(
        "INSERT INTO matters (code, name, checklist_id) VALUES (?1, ?2, ?3)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, checklist_id = excluded.checklist_id",
    )?
    .execute(params![matter.code, matter.name, matter.checklist_id])?;
    Ok(())
}
