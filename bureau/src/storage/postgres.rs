//! The PostgreSQL backend, the scale path: several stateless bureau processes can
//! share one database. Selected by a `postgres://` URL.
//!
//! Integer columns are all `BIGINT`, so every integer binds as `i64`; a value
//! bound to a parameter of another type is refused with a clear error rather than
//! sent as bytes the server would misread. Results come back as SQLite would
//! give them: booleans as 0/1, integral `NUMERIC`s (what `SUM` of a `BIGINT`
//! yields) as integers, floating point as text.

use super::pool::Pool;
use super::{Row, Sql, Tx, Value};
use crate::error::{Error, Result};
use postgres::error::SqlState;
use postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use postgres::{Client, NoTls, Statement};
use std::collections::HashMap;
use std::time::Duration;

/// How long connecting may take when the URL does not say (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct PostgresDatabase {
    pool: Pool<Connection>,
}

/// A client with the statements it has prepared. Every query text is prepared
/// once per connection and then reused: a plain `query(&str)` costs a parse
/// round trip each time, which on the push path (several statements per op) is
/// most of the work.
struct Connection {
    client: Client,
    statements: HashMap<String, Statement>,
}

/// Beyond this many distinct statements a connection starts its cache afresh
/// (the bureau's queries are a fixed set; this only bounds a surprise).
const MAX_CACHED_STATEMENTS: usize = 512;

impl PostgresDatabase {
    pub fn connect(url: &str, max_connections: usize) -> Result<Self> {
        let mut config: postgres::Config = url.parse().map_err(|_| Error::InvalidConfig {
            reason: "database URL is not a valid postgres:// URL".into(),
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let pool = Pool::new(max_connections, move || {
            Ok(Connection {
                client: config.connect(NoTls).map_err(storage)?,
                statements: HashMap::new(),
            })
        });
        // Connect once now, so a wrong URL fails at start-up rather than on the
        // first request, and check that text round-trips unchanged.
        pool.with(|conn| {
            let client = &mut conn.client;
            let outcome = client
                .query_one("SHOW server_encoding", &[])
                .map_err(storage)
                .and_then(|row| row.try_get::<_, String>(0).map_err(storage))
                .and_then(|encoding| match encoding.as_str() {
                    "UTF8" => Ok(()),
                    other => Err(Error::InvalidConfig {
                        reason: format!(
                            "the PostgreSQL database has encoding {other}; the bureau needs UTF8"
                        ),
                    }),
                });
            (outcome, !client.is_closed())
        })?;
        Ok(Self { pool })
    }

    pub fn write<T>(&self, f: impl FnOnce(&mut Tx) -> Result<T>) -> Result<T> {
        self.transaction(false, f)
    }

    pub fn read<T>(&self, f: impl FnOnce(&mut Tx) -> Result<T>) -> Result<T> {
        self.transaction(true, f)
    }

    fn transaction<T>(&self, read_only: bool, f: impl FnOnce(&mut Tx) -> Result<T>) -> Result<T> {
        self.pool.with(|conn| {
            let Connection { client, statements } = conn;
            let outcome = (|| {
                let mut builder = client.build_transaction();
                if read_only {
                    builder = builder
                        .read_only(true)
                        .isolation_level(postgres::IsolationLevel::RepeatableRead);
                }
                let mut tx = PostgresTx {
                    tx: builder.start().map_err(storage)?,
                    statements,
                };
                // On Err the transaction drops, which rolls it back.
                let value = f(&mut tx)?;
                tx.tx.commit().map_err(storage)?;
                Ok(value)
            })();
            let healthy = !client.is_closed();
            (outcome, healthy)
        })
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        // A postgres::Client closes by blocking on its own small runtime, which
        // panics on an async thread; the last handle to a bureau may well be
        // dropped on one (a server's shutdown). So the connections are closed on
        // a thread of their own, not waited for: a server that went away must not
        // hold up the shutdown.
        let idle = self.pool.take_idle();
        if idle.is_empty() || tokio::runtime::Handle::try_current().is_err() {
            return; // dropped here, in a plain thread
        }
        let (hand_over, closer) = std::sync::mpsc::channel::<Vec<Connection>>();
        let spawned = std::thread::Builder::new()
            .name("postgres-close".into())
            .spawn(move || drop(closer.recv()));
        // Without a thread, leak them rather than panic: the server ends their
        // sessions when this process exits.
        match spawned {
            Ok(_) => {
                if let Err(unsent) = hand_over.send(idle) {
                    std::mem::forget(unsent);
                }
            }
            Err(_) => std::mem::forget(idle),
        }
    }
}

struct PostgresTx<'c> {
    tx: postgres::Transaction<'c>,
    statements: &'c mut HashMap<String, Statement>,
}

impl PostgresTx<'_> {
    /// The connection's prepared statement for `sql`, preparing it the first time.
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare(sql).map_err(storage)?;
        if self.statements.len() >= MAX_CACHED_STATEMENTS {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

impl Sql for PostgresTx<'_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let statement = self.statement(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
        self.tx.execute(&statement, &params).map_err(storage)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let statement = self.statement(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
        let rows = self.tx.query(&statement, &params).map_err(storage)?;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| from_postgres(row, i))
                    .collect::<Result<_>>()
                    .map(Row)
            })
            .collect()
    }
}

fn from_postgres(row: &postgres::Row, i: usize) -> Result<Value> {
    let ty = row.columns()[i].type_();
    let value = match *ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(i).map(|v| v.map(Value::Int)),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)
            .map(|v| v.map(|v| Value::Int(v.into()))),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)
            .map(|v| v.map(|v| Value::Int(v.into()))),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)
            .map(|v| v.map(Value::from)),
        Type::BYTEA => row
            .try_get::<_, Option<Vec<u8>>>(i)
            .map(|v| v.map(Value::Blob)),
        // As SQLite's REAL comes back: text, and a sign of a bug worth seeing.
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(i)
            .map(|v| v.map(|v| Value::Text(v.to_string()))),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(i)
            .map(|v| v.map(|v| Value::Text(f64::from(v).to_string()))),
        Type::NUMERIC => row.try_get::<_, Option<Numeric>>(i).map(|v| v.map(|n| n.0)),
        _ => row
            .try_get::<_, Option<String>>(i)
            .map(|v| v.map(Value::Text)),
    };
    Ok(value.map_err(storage)?.unwrap_or(Value::Null))
}

/// A `NUMERIC` result (`SUM` over `BIGINT`, `AVG`): an integer when it is one and
/// fits, else text of its nearest `f64`, as SQLite would give it.
struct Numeric(Value);

impl<'a> FromSql<'a> for Numeric {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        // Binary NUMERIC: ndigits, weight (of the first digit, in powers of
        // 10000), sign, display scale, then ndigits base-10000 digits; all 16-bit
        // big-endian.
        let word = |i: usize| -> std::result::Result<u16, String> {
            raw.get(2 * i..2 * i + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .ok_or_else(|| "truncated NUMERIC".to_owned())
        };
        let ndigits = usize::from(word(0)?);
        let weight = i64::from(word(1)? as i16);
        let sign = word(2)?;
        let digits = (0..ndigits)
            .map(|i| word(4 + i))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let negative = match sign {
            0x0000 => false,
            0x4000 => true,
            0xC000 => return Ok(Numeric(Value::Text("NaN".into()))),
            0xD000 => return Ok(Numeric(Value::Text("inf".into()))),
            0xF000 => return Ok(Numeric(Value::Text("-inf".into()))),
            _ => return Err("NUMERIC with an unknown sign".into()),
        };
        // Digit k is worth 10000^(weight - k).
        let integral = digits
            .iter()
            .enumerate()
            .all(|(k, &d)| d == 0 || (k as i64) <= weight);
        // 10000^5 exceeds i64 already; i128 holds 10000^8 with room to spare.
        if integral && weight < 8 {
            let mut magnitude: i128 = 0;
            for k in 0..=weight {
                let digit = digits.get(k as usize).copied().unwrap_or(0);
                magnitude = magnitude * 10_000 + i128::from(digit);
            }
            if let Ok(v) = i64::try_from(if negative { -magnitude } else { magnitude }) {
                return Ok(Numeric(Value::Int(v)));
            }
        }
        let mut value = 0f64;
        for (k, &d) in digits.iter().enumerate() {
            value += f64::from(d) * 10_000f64.powi((weight - k as i64) as i32);
        }
        Ok(Numeric(Value::Text(
            (if negative { -value } else { value }).to_string(),
        )))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) if *ty == Type::INT8 => v.to_sql(ty, out),
            Value::Int(v) if *ty == Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
            Value::Int(v) if *ty == Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
            Value::Text(v) if <&str as ToSql>::accepts(ty) => v.as_str().to_sql(ty, out),
            Value::Blob(v) if *ty == Type::BYTEA => v.as_slice().to_sql(ty, out),
            other => {
                let kind = match other {
                    Value::Int(_) => "an integer",
                    Value::Text(_) => "text",
                    _ => "bytes",
                };
                Err(format!(
                    "cannot bind {kind} to a parameter of type {ty} \
                     (give the placeholder a type from its context, e.g. CAST($n AS BIGINT))"
                )
                .into())
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        // Which values suit which types is decided per value, in to_sql.
        true
    }

    to_sql_checked!();
}

fn storage(error: postgres::Error) -> Error {
    // The server's message only: its DETAIL line may quote stored values.
    let reason = match error.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => error.to_string(),
    };
    match error.code() {
        // Class 23, integrity constraint violation: unique, foreign key, not
        // null, check, exclusion, as SQLite's SQLITE_CONSTRAINT covers them all.
        Some(code) if code.code().starts_with("23") => Error::Constraint { reason },
        Some(code) if *code == SqlState::DISK_FULL => Error::DiskFull,
        Some(code)
            if *code == SqlState::T_R_SERIALIZATION_FAILURE
                || *code == SqlState::T_R_DEADLOCK_DETECTED
                || *code == SqlState::LOCK_NOT_AVAILABLE
                || *code == SqlState::TOO_MANY_CONNECTIONS =>
        {
            Error::Busy
        }
        _ => Error::Storage { reason },
    }
}
