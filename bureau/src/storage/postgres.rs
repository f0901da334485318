//! The PostgreSQL backend, the scale path: several stateless bureau processes can
//! share one database. Selected by a `postgres://` URL.
//!
//! Integer columns are all `BIGINT`, so every integer binds as `i64`.

use super::pool::Pool;
use super::{Row, Sql, Tx, Value};
use crate::error::{Error, Result};
use postgres::error::SqlState;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::{Client, NoTls};

pub struct PostgresDatabase {
    pool: Pool<Client>,
}

impl PostgresDatabase {
    pub fn connect(url: &str, max_connections: usize) -> Result<Self> {
        let config: postgres::Config = url.parse().map_err(|_| Error::InvalidConfig {
            reason: "database URL is not a valid postgres:// URL".into(),
        })?;
        let pool = Pool::new(max_connections, move || {
            config.connect(NoTls).map_err(storage)
        });
        // Connect once now, so a wrong URL fails at start-up rather than on the first request.
        pool.with(|_| (Ok(()), true))?;
        Ok(Self { pool })
    }

    pub fn write<T>(&self, f: impl FnOnce(&mut Tx) -> Result<T>) -> Result<T> {
        self.transaction(false, f)
    }

    pub fn read<T>(&self, f: impl FnOnce(&mut Tx) -> Result<T>) -> Result<T> {
        self.transaction(true, f)
    }

    fn transaction<T>(&self, read_only: bool, f: impl FnOnce(&mut Tx) -> Result<T>) -> Result<T> {
        self.pool.with(|client| {
            let outcome = (|| {
                let mut builder = client.build_transaction();
                if read_only {
                    builder = builder
                        .read_only(true)
                        .isolation_level(postgres::IsolationLevel::RepeatableRead);
                }
                let mut tx = PostgresTx(builder.start().map_err(storage)?);
                let value = f(&mut tx)?;
                tx.0.commit().map_err(storage)?;
                Ok(value)
            })();
            let healthy = !client.is_closed();
            (outcome, healthy)
        })
    }
}

struct PostgresTx<'c>(postgres::Transaction<'c>);

impl Sql for PostgresTx<'_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
        self.0.execute(sql, &params).map_err(storage)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
        let rows = self.0.query(sql, &params).map_err(storage)?;
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
    let value = if *ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i).map(|v| v.map(Value::Int))
    } else if *ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i)
            .map(|v| v.map(|v| Value::Int(v.into())))
    } else if *ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(i)
            .map(|v| v.map(Value::from))
    } else if *ty == Type::BYTEA {
        row.try_get::<_, Option<Vec<u8>>>(i)
            .map(|v| v.map(Value::Blob))
    } else {
        row.try_get::<_, Option<String>>(i)
            .map(|v| v.map(Value::Text))
    };
    Ok(value.map_err(storage)?.unwrap_or(Value::Null))
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) if *ty == Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
            Value::Int(v) => v.to_sql(ty, out),
            Value::Text(v) => v.to_sql(ty, out),
            Value::Blob(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // The wrapped value checks its own type in to_sql.
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
        Some(code)
            if *code == SqlState::UNIQUE_VIOLATION || *code == SqlState::FOREIGN_KEY_VIOLATION =>
        {
            Error::Constraint { reason }
        }
        Some(code) if *code == SqlState::DISK_FULL => Error::DiskFull,
        Some(code)
            if *code == SqlState::T_R_SERIALIZATION_FAILURE
                || *code == SqlState::T_R_DEADLOCK_DETECTED =>
        {
            Error::Busy
        }
        _ => Error::Storage { reason },
    }
}
