//! The admin API over HTTP: one client, the paging of lists, and reading answers.

use super::{PageArgs, Result};
use crate::output::{exit_for_status, Failure, Output};
use serde_json::{json, Value};
use std::time::Duration;

pub struct Client {
    agent: ureq::Agent,
    base: String,
    token: String,
}

impl Client {
    pub fn new(server: Option<String>, token: Option<String>) -> Result<Self> {
        let server = server.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
            Failure::new(
                "missing_server",
                "give the bureau's URL: --server URL or FIELDPROOF_SERVER",
                2,
            )
        })?;
        let token = token.filter(|t| !t.trim().is_empty()).ok_or_else(|| {
            Failure::new(
                "missing_token",
                "give the admin token: FIELDPROOF_ADMIN_TOKEN (or --token)",
                2,
            )
        })?;
        let base = server.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Failure::new(
                "invalid_server_url",
                "--server must be an http:// or https:// URL",
                3,
            ));
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_global(Some(Duration::from_secs(600)))
            .build()
            .new_agent();
        Ok(Self {
            agent,
            base,
            token: token.trim().to_owned(),
        })
    }

    pub fn get(&self, path: &str, query: &[(&str, Option<String>)]) -> Result<Value> {
        self.send("GET", path, query, None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(
            "POST",
            path,
            &[],
            Some(serde_json::to_vec(body).expect("JSON serialises")),
        )
    }

    /// One request; a 2xx JSON answer, or the failure it stands for.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, Option<String>)],
        body: Option<Vec<u8>>,
    ) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let authorization = format!("Bearer {}", self.token);
        let query = query.iter().filter_map(|(k, v)| Some((*k, v.as_deref()?)));
        let sent = match (method, body) {
            ("GET", None) => self
                .agent
                .get(&url)
                .query_pairs(query)
                .header("Authorization", &authorization)
                .call(),
            (_, body) => self
                .agent
                .post(&url)
                .query_pairs(query)
                .header("Authorization", &authorization)
                .content_type("application/json")
                .send(&body.unwrap_or_default()[..]),
        };
        let response = sent.map_err(|e| {
            Failure::new(
                "unreachable",
                format!("cannot reach the bureau at {}: {e}", self.base),
                7,
            )
        })?;
        let status = response.status().as_u16();
        let text = response
            .into_body()
            .with_config()
            .limit(256 << 20)
            .read_to_string()
            .map_err(|e| {
                Failure::new(
                    "unreachable",
                    format!("the bureau's answer was cut off: {e}"),
                    7,
                )
            })?;
        let value: Option<Value> = serde_json::from_str(&text).ok();
        match value {
            Some(value) if (200..300).contains(&status) => Ok(value),
            Some(value) if value["error"]["code"].is_string() => Err(Failure::new(
                value["error"]["code"].s(),
                value["error"]["message"].s(),
                exit_for_status(status),
            )),
            _ if (200..300).contains(&status) => Err(Failure::new(
                "bad_response",
                format!(
                    "{} did not answer with JSON: is it a Fieldproof bureau?",
                    self.base
                ),
                7,
            )),
            _ => Err(Failure::new(
                "bad_response",
                format!("{} answered HTTP {status} without an error code", self.base),
                7,
            )),
        }
    }
}

/// One page (or, with `--all`, every page) of a list endpoint; with `--json` a
/// last line `{"next_cursor": …}` when more pages follow.
pub fn list_pages(
    client: &Client,
    out: &Output,
    path: &str,
    filter: &[(&str, Option<String>)],
    page: &PageArgs,
    human: fn(&Value) -> String,
) -> Result<()> {
    let mut cursor = page.cursor.clone();
    loop {
        let mut query: Vec<(&str, Option<String>)> = filter.to_vec();
        query.push(("limit", page.limit.map(|n| n.to_string())));
        query.push(("cursor", cursor.take()));
        let mut answer = client.get(path, &query)?;
        for item in items(answer["items"].take()) {
            out.print(&item, || human(&item));
        }
        let next = answer["next_cursor"].as_str().map(str::to_owned);
        match next {
            Some(next) if page.all => cursor = Some(next),
            Some(next) => {
                out.print(&json!({ "next_cursor": next }), || {
                    format!("more: --cursor {next}")
                });
                return Ok(());
            }
            None => return Ok(()),
        }
    }
}

/// A JSON string's text, or "" (for human output).
pub trait Text {
    fn s(&self) -> &str;
}

impl Text for Value {
    fn s(&self) -> &str {
        self.as_str().unwrap_or("")
    }
}

pub fn items(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        _ => Vec::new(),
    }
}

/// An id for a URL path: a UUID, so nothing in it can change the path.
pub fn segment(id: &str) -> Result<String> {
    let ok =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    if ok {
        Ok(id.to_owned())
    } else {
        Err(Failure::new("invalid_id", "ids are UUIDs", 3))
    }
}
