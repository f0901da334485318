//! The admin API over HTTP: one client, the paging of lists, and reading answers.

use super::{PageArgs, Result};
use crate::output::{exit_for_status, Failure, Output};
use crate::progress::Progress;
use fieldproof_core::sync::tls_pin;
use fieldproof_core::wire::admin::Page;
use fieldproof_core::wire::refusal::ErrorBody;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;
use std::time::Duration;

pub struct Client {
    agent: ureq::Agent,
    base: String,
    token: String,
}

impl Client {
    pub fn new(
        server: Option<String>,
        token: Option<String>,
        tls_pin: Option<String>,
    ) -> Result<Self> {
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
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_global(Some(Duration::from_secs(600)))
            .build();
        let agent = match tls_pin.filter(|p| !p.trim().is_empty()) {
            None => config.new_agent(),
            Some(pin) => {
                if tls_pin::parse(pin.trim()).is_none() || !base.starts_with("https://") {
                    return Err(Failure::new(
                        "invalid_tls_pin",
                        "--tls-pin is sha256/<base64>, for an https:// --server",
                        3,
                    ));
                }
                tls_pin::pinned_agent(pin.trim(), config)
            }
        };
        Ok(Self {
            agent,
            base,
            token: token.trim().to_owned(),
        })
    }

    pub fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, Option<String>)],
    ) -> Result<T> {
        self.send("GET", path, query, None)
    }

    pub fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T> {
        self.send(
            "POST",
            path,
            &[],
            Some(serde_json::to_vec(body).expect("JSON serialises")),
        )
    }

    /// One request; a 2xx answer of the admin API's type, or the failure it
    /// stands for.
    pub fn send<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, Option<String>)],
        body: Option<Vec<u8>>,
    ) -> Result<T> {
        let text = self.answer_text(method, path, query, body)?;
        self.parse_answer(path, &text)
    }

    /// An answer of the admin API's type. One parse: a syntax error means it
    /// is not JSON at all, a data error that it is JSON of a form this CLI
    /// does not know.
    fn parse_answer<T: DeserializeOwned>(&self, path: &str, text: &str) -> Result<T> {
        serde_json::from_str(text).map_err(|e| {
            let message = if e.is_data() {
                format!(
                    "{} answered {path} in a form this CLI does not know ({e}): is it a newer or older bureau?",
                    self.base
                )
            } else {
                format!(
                    "{} did not answer with JSON: is it a Fieldproof bureau?",
                    self.base
                )
            };
            Failure::new("bad_response", message, 7)
        })
    }

    /// One request; the text of a 2xx answer, or the failure it stands for.
    fn answer_text(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, Option<String>)],
        body: Option<Vec<u8>>,
    ) -> Result<String> {
        let response = self.call(method, path, query, body)?;
        read_text(response).map_err(|e| cut_off(&e))
    }

    /// GETs `path` into the file `to`, streamed: written next to it and renamed
    /// into place once complete, so a failed download never leaves a file that
    /// looks whole. Returns the bytes written.
    pub fn download(&self, path: &str, to: &std::path::Path, progress: &Progress) -> Result<u64> {
        let response = self.call("GET", path, &[], None)?;
        let mut reader = progress.reader(
            response
                .into_body()
                .into_with_config()
                .limit(u64::MAX)
                .reader(),
        );
        let partial = to.with_file_name(format!(
            ".{}.part",
            to.file_name()
                .map_or("download".into(), |n| n.to_string_lossy())
        ));
        let written = (|| -> std::io::Result<u64> {
            let mut file = std::fs::File::create(&partial)?;
            let n = std::io::copy(&mut reader, &mut file)?;
            file.sync_all()?;
            std::fs::rename(&partial, to)?;
            Ok(n)
        })();
        written.map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            if e.kind() == std::io::ErrorKind::Other
                || e.kind() == std::io::ErrorKind::UnexpectedEof
            {
                cut_off(&e)
            } else {
                Failure::new("io_error", format!("cannot write {}: {e}", to.display()), 6)
            }
        })
    }

    /// One request; the 2xx response, or the failure its error body names.
    fn call(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, Option<String>)],
        body: Option<Vec<u8>>,
    ) -> Result<ureq::http::Response<ureq::Body>> {
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
        self.checked(sent)
    }

    /// POSTs the file at `file` as `content_type`, streamed (through
    /// `progress`); a 2xx answer of the admin API's type, or its failure.
    pub fn post_file<T: DeserializeOwned>(
        &self,
        path: &str,
        content_type: &str,
        file: &std::path::Path,
        progress: &Progress,
    ) -> Result<T> {
        let opened =
            std::fs::File::open(file).map_err(|e| Failure::unreadable("io_error", file, &e))?;
        let mut reader = progress.reader(opened);
        let sent = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("Authorization", &format!("Bearer {}", self.token))
            .content_type(content_type)
            .send(ureq::SendBody::from_reader(&mut reader));
        let text = read_text(self.checked(sent)?).map_err(|e| cut_off(&e))?;
        self.parse_answer(path, &text)
    }

    /// The 2xx response of a request sent, or the failure its error body names.
    fn checked(
        &self,
        sent: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<ureq::http::Response<ureq::Body>> {
        let response = sent.map_err(|e| {
            Failure::new(
                "unreachable",
                format!("cannot reach the bureau at {}: {e}", self.base),
                7,
            )
        })?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        let text = read_text(response).map_err(|e| cut_off(&e))?;
        Err(match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => Failure::new(
                &body.error.code,
                body.error.message,
                exit_for_status(status),
            ),
            Err(_) => Failure::new(
                "bad_response",
                format!("{} answered HTTP {status} without an error code", self.base),
                7,
            ),
        })
    }
}

fn read_text(
    response: ureq::http::Response<ureq::Body>,
) -> std::result::Result<String, ureq::Error> {
    response
        .into_body()
        .with_config()
        .limit(256 << 20)
        .read_to_string()
}

fn cut_off(e: &dyn std::fmt::Display) -> Failure {
    Failure::new(
        "unreachable",
        format!("the bureau's answer was cut off: {e}"),
        7,
    )
}

/// One page (or, with `--all`, every page) of a list endpoint; with `--json` a
/// last line `{"next_cursor": …}` when more pages follow.
pub fn list_pages<T: Serialize + DeserializeOwned>(
    client: &Client,
    out: &Output,
    path: &str,
    filter: &[(&str, Option<String>)],
    page: &PageArgs,
    human: fn(&T) -> String,
) -> Result<()> {
    let mut cursor = page.cursor.clone();
    loop {
        let mut query: Vec<(&str, Option<String>)> = filter.to_vec();
        query.push(("limit", page.limit.map(|n| n.to_string())));
        query.push(("cursor", cursor.take()));
        let answer: Page<T> = client.get(path, &query)?;
        for item in &answer.items {
            out.print(item, || human(item));
        }
        match answer.next_cursor {
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

/// An optional field for human output: `-` when absent.
pub fn or_dash<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
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
