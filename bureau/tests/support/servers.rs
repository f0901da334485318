//! The test servers a test may need, and how a test finds them: the throwaway
//! PostgreSQL (`scripts/postgres`) and S3 server (`scripts/seaweedfs`) the test
//! command starts, named by environment variables. Shared by the bureau's tests
//! (`support`) and the end-to-end tests (`fieldproof-e2e`, by path).

/// The variable that holds the test S3 server's endpoint (or `skip`); its
/// bucket and keys are in `FIELDPROOF_TEST_S3_BUCKET`, `_ACCESS_KEY_ID` and
/// `_SECRET_ACCESS_KEY` (all printed by `scripts/seaweedfs start`).
pub const S3_ENDPOINT_VAR: &str = "FIELDPROOF_TEST_S3_ENDPOINT";

/// A photo store of its own in the test S3 server (a fresh prefix of its
/// bucket). `None` when the variable is `skip`, said loudly; a panic when unset.
pub fn test_s3_store() -> Option<fieldproof_bureau::config::S3Settings> {
    let var = |name: &str| std::env::var(format!("FIELDPROOF_TEST_S3_{name}")).ok();
    match var("ENDPOINT").as_deref().map(str::trim) {
        Some("skip") => {
            let test = std::thread::current().name().unwrap_or("?").to_owned();
            eprintln!("SKIPPED {test}: S3 test not run because {S3_ENDPOINT_VAR}=skip");
            None
        }
        Some(endpoint) if endpoint.starts_with("http") => {
            Some(fieldproof_bureau::config::S3Settings {
                endpoint: Some(endpoint.to_owned()),
                region: "us-east-1".into(),
                bucket: var("BUCKET").expect("FIELDPROOF_TEST_S3_BUCKET"),
                prefix: format!("t-{}", uuid::Uuid::now_v7().simple()),
                access_key_id: var("ACCESS_KEY_ID"),
                secret_access_key: var("SECRET_ACCESS_KEY"),
            })
        }
        _ => panic!(
            "{S3_ENDPOINT_VAR} is not set, so this S3 test cannot run. Run the tests with \
             scripts/test (it starts a throwaway SeaweedFS), or `eval \"$(scripts/seaweedfs \
             start DIR)\"` and export its variables, or set {S3_ENDPOINT_VAR}=skip to skip \
             S3 tests (loudly)."
        ),
    }
}

/// The variable that holds the test PostgreSQL server's admin URL (or `skip`).
pub const POSTGRES_URL_VAR: &str = "FIELDPROOF_TEST_POSTGRES_URL";

/// The test PostgreSQL server's admin URL. `None` when the variable is `skip`,
/// after a `SKIPPED` line on stderr (written past the test harness's capture, so
/// it shows); a panic, failing the test, when it is unset.
pub fn test_postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR)
        .ok()
        .as_deref()
        .map(str::trim)
    {
        Some("skip") => {
            use std::io::Write;
            let test = std::thread::current().name().unwrap_or("?").to_owned();
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: PostgreSQL test not run because {POSTGRES_URL_VAR}=skip"
            );
            None
        }
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Some(url.to_owned())
        }
        Some(other) if !other.is_empty() => {
            panic!("{POSTGRES_URL_VAR} must be a postgres:// URL or `skip`, not {other:?}")
        }
        _ => panic!(
            "{POSTGRES_URL_VAR} is not set, so this PostgreSQL test cannot run. Run the tests \
             with scripts/test (it starts a throwaway PostgreSQL), or with \
             `scripts/postgres run cargo test …`, or set {POSTGRES_URL_VAR} to an admin URL \
             of a server you own, or to `skip` to skip PostgreSQL tests (loudly)."
        ),
    }
}

/// A fresh, empty database on the test PostgreSQL server, dropped with this value.
pub struct ScratchDatabase {
    /// Its URL: what `Config::database_url` takes.
    pub url: String,
    admin_url: String,
    name: String,
    keep: bool,
}

impl ScratchDatabase {
    /// `None` only when PostgreSQL tests are skipped (see [`test_postgres_url`]).
    pub fn create() -> Option<Self> {
        let admin_url = test_postgres_url()?;
        let name = format!("t_{}", uuid::Uuid::now_v7().simple());
        admin_client(&admin_url)
            .batch_execute(&format!("CREATE DATABASE {name} ENCODING 'UTF8'"))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} on the test PostgreSQL: {e}"));
        Some(Self {
            url: url_with_database(&admin_url, &name),
            admin_url,
            name,
            keep: false,
        })
    }

    /// Keeps the database past this value (for a bureau that restarts on it) and
    /// returns its URL; the throwaway server's teardown removes it with the rest.
    pub fn keep(mut self) -> String {
        self.keep = true;
        std::mem::take(&mut self.url)
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        // FORCE ends connections a test left open (its pool).
        let dropped =
            postgres::Client::connect(&self.admin_url, postgres::NoTls).and_then(|mut c| {
                c.batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
            });
        if let Err(e) = dropped {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

fn admin_client(admin_url: &str) -> postgres::Client {
    postgres::Client::connect(admin_url, postgres::NoTls).unwrap_or_else(|e| {
        panic!(
            "cannot connect to the test PostgreSQL at {POSTGRES_URL_VAR}: {e} \
             (is the server that scripts/postgres started still running?)"
        )
    })
}

/// `url` with its database (the path) replaced by `name`; the query is kept.
fn url_with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    format!("{}/{name}{query}", &base[..path])
}
