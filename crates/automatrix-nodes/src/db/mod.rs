//! `db.query`: parameterized SQL against a PostgreSQL database named by a credential.

mod columns;

use std::time::Duration;

use async_trait::async_trait;
use automatrix_core::node::parse_config;
use automatrix_core::{Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use futures::TryStreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection, PgTypeInfo, Postgres};
use sqlx::{Arguments, AssertSqlSafe, Column, Connection, Executor, SqlSafeStr, Statement};

/// Runs one SQL statement with bound parameters.
#[derive(Clone, Copy, Debug, Default)]
pub struct DbQuery;

impl DbQuery {
    pub const KIND: &'static str = "db.query";
    pub const DEFAULT_MAX_ROWS: u64 = 1000;
    pub const MAX_ROWS: u64 = 100_000;
    pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryConfig {
    credential_id: String,
    query: String,
    #[serde(default)]
    params: Vec<Value>,
    #[serde(default)]
    allow_writes: bool,
    #[serde(default = "default_max_rows")]
    max_rows: u64,
    #[serde(default = "default_timeout")]
    timeout_ms: u64,
}

fn default_max_rows() -> u64 {
    DbQuery::DEFAULT_MAX_ROWS
}

fn default_timeout() -> u64 {
    DbQuery::DEFAULT_TIMEOUT_MS
}

const DOCS: &str = r#"Runs one SQL statement against a PostgreSQL database: look up a customer in the DMS replica, read today's service appointments, record a lead in the dealership's own tables.

**Connection:** a `postgres` credential holds the connection URL (`postgres://user:password@host:5432/db`); the password stays out of the definition and the logs. Database hosts are often on the dealership's own network, so the HTTP private-address guard does not apply here: whoever can save a credential decides what it reaches.

**Parameters:** `$1`, `$2`, … in `query` are bound from `params` (never pasted into the text, so a lead's name cannot inject SQL): strings as text, whole numbers as `int8`, other numbers as `float8`, booleans, `null`, and arrays or objects as `jsonb`. Cast in SQL where PostgreSQL needs another type (`where id = $1::int4`, `$2::date`).

**Read-only unless asked:** the statement runs in a `READ ONLY` transaction, so PostgreSQL itself refuses `insert`, `update`, `delete` and DDL, unless `allow_writes` is true; then it runs in a transaction that commits when it succeeds.

**Output:** `{rows, row_count, columns}`: `rows` as objects, column name to value (numbers, text, booleans, `uuid` and dates as text, `json` as JSON, `numeric` as a number); for a statement that returns no rows, `row_count` is the number of rows it changed. A type the node cannot read fails with the column's name: cast it (`col::text`). More than `max_rows` rows fail the step: add a `limit`.

**Errors:** SQL errors (syntax, a constraint, a write in read-only mode) are fatal, with PostgreSQL's message and SQLSTATE; a connection that fails or times out is retryable. One connection per step, closed afterwards.

**Example**

```json
{"id": "customer", "type": "db.query", "config": {"credential_id": "0193e0c4-5b2a-7c1e-9d40-2f6a8b1c3d4e", "query": "select id, first_name, last_visit from customers where lower(email) = lower($1) limit 1", "params": ["{{ $json.customer.email }}"]}}
```

A later node reads `{{ $node.customer.rows[0].first_name }}`; `{{ $node.customer.row_count > 0 }}` says whether the customer is known.

**Dry run:** in a dry run (`POST /api/workflows/{id}/execute` with `"dry_run": true`) a read-only statement (the default) runs as usual: its `READ ONLY` transaction cannot change anything, and later nodes need its rows. A statement with `allow_writes: true` is not run, and no connection is made: the node reads the credential and checks the URL and the parameters, then completes on `main` with `{"dry_run": true, "would_send": {"database": "postgres://user@host:5432/db", "query": "insert …", "params": […]}}`. The password is never shown.
"#;

#[async_trait]
impl Node for DbQuery {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Runs a parameterized SQL statement against a PostgreSQL database (read-only unless allowed).",
            side_effects: true,
            config_schema: json!({
                "type": "object",
                "properties": {
                    "credential_id": {"type": "string", "description": "A `postgres` credential."},
                    "query": {"type": "string", "minLength": 1, "description": "One SQL statement; `$1`, `$2`, … are bound from `params`."},
                    "params": {"type": "array", "description": "Values for `$1`, `$2`, …, in order."},
                    "allow_writes": {"type": "boolean", "default": false, "description": "Run in a read-write transaction (committed on success); by default the transaction is read-only."},
                    "max_rows": {"type": "integer", "minimum": 1, "maximum": Self::MAX_ROWS, "default": Self::DEFAULT_MAX_ROWS, "description": "More rows than this fail the step."},
                    "timeout_ms": {"type": "integer", "minimum": 1, "maximum": 300_000, "default": Self::DEFAULT_TIMEOUT_MS, "description": "Limit for connecting and running, in milliseconds."},
                },
                "required": ["credential_id", "query"],
                "additionalProperties": false,
            }),
            docs: DOCS,
            ..NodeSpec::new(Self::KIND, "Database Query", "data")
        }
    }

    async fn execute(
        &self,
        ctx: &NodeContext,
        config: Value,
        _input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: QueryConfig = parse_config(config)?;
        let credential = ctx
            .credential(Self::KIND, &config.credential_id, &["postgres"])
            .await?;
        let options: PgConnectOptions = credential.text("url").parse().map_err(|_| {
            NodeError::fatal("db.query: the credential's URL is not a PostgreSQL connection URL")
        })?;
        // A read-only statement cannot change anything (PostgreSQL enforces it), so a dry run
        // runs it; one allowed to write is previewed, without connecting.
        if ctx.dry_run && config.allow_writes {
            arguments(&config.params)?;
            return Ok(NodeOutput::main(json!({
                "dry_run": true,
                "would_send": {
                    "database": database_label(&options),
                    "query": config.query,
                    "params": config.params,
                },
            })));
        }
        let timeout = Duration::from_millis(config.timeout_ms);
        let run = run(options, &config);
        tokio::select! {
            biased;
            () = ctx.cancel.cancelled() => Err(NodeError::retryable("db.query: cancelled")),
            r = tokio::time::timeout(timeout, run) => r.unwrap_or_else(|_| Err(NodeError::retryable(format!(
                "db.query: timed out after {} ms", config.timeout_ms
            )))),
        }
    }
}

async fn run(options: PgConnectOptions, config: &QueryConfig) -> Result<NodeOutput, NodeError> {
    let options = options.application_name("automatrix");
    let mut conn = PgConnection::connect_with(&options)
        .await
        .map_err(|e| connect_error(&e))?;
    let result = in_transaction(&mut conn, config).await;
    // Closing politely is best effort: the answer is already known.
    let _ = conn.close().await;
    result
}

async fn in_transaction(
    conn: &mut PgConnection,
    config: &QueryConfig,
) -> Result<NodeOutput, NodeError> {
    let begin = if config.allow_writes {
        "begin"
    } else {
        "begin read only"
    };
    conn.execute(begin).await.map_err(|e| sql_error(&e))?;
    let (args, types) = arguments(&config.params)?;
    // Prepared with the types the values are bound as, so the server does not infer others.
    let statement = conn
        .prepare_with(AssertSqlSafe(config.query.clone()).into_sql_str(), &types)
        .await
        .map_err(|e| sql_error(&e))?;
    let names: Vec<String> = statement
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    let output = if names.is_empty() {
        let done = statement
            .query_with(args)
            .execute(&mut *conn)
            .await
            .map_err(|e| sql_error(&e))?;
        json!({"rows": [], "row_count": done.rows_affected(), "columns": names})
    } else {
        let mut rows = Vec::new();
        let mut stream = statement.query_with(args).fetch(&mut *conn);
        while let Some(row) = stream.try_next().await.map_err(|e| sql_error(&e))? {
            if rows.len() as u64 == config.max_rows {
                return Err(NodeError::fatal(format!(
                    "db.query: the query returned more than {} rows; add a `limit` or raise `max_rows`",
                    config.max_rows
                )));
            }
            rows.push(
                columns::row_json(&row).map_err(|e| NodeError::fatal(format!("db.query: {e}")))?,
            );
        }
        drop(stream);
        json!({"row_count": rows.len(), "rows": rows, "columns": names})
    };
    conn.execute("commit").await.map_err(|e| sql_error(&e))?;
    Ok(NodeOutput::main(output))
}

/// `params` as bound values and their types: see the docs.
fn arguments(params: &[Value]) -> Result<(PgArguments, Vec<PgTypeInfo>), NodeError> {
    fn type_of<T: sqlx::Type<Postgres>>(_: &T) -> PgTypeInfo {
        T::type_info()
    }
    let mut args = PgArguments::default();
    let mut types = Vec::with_capacity(params.len());
    for (i, p) in params.iter().enumerate() {
        let added = match p {
            Value::Null => {
                types.push(type_of(&""));
                args.add(None::<String>)
            }
            Value::Bool(b) => {
                types.push(type_of(b));
                args.add(*b)
            }
            Value::Number(n) => match n.as_i64() {
                Some(whole) => {
                    types.push(type_of(&whole));
                    args.add(whole)
                }
                None => {
                    let x = n.as_f64().unwrap_or(f64::NAN);
                    types.push(type_of(&x));
                    args.add(x)
                }
            },
            Value::String(s) => {
                types.push(type_of(&s.as_str()));
                args.add(s.as_str())
            }
            other => {
                let json = sqlx::types::Json(other);
                types.push(type_of(&json));
                args.add(json)
            }
        };
        added.map_err(|e| NodeError::fatal(format!("db.query: params[{i}]: {e}")))?;
    }
    Ok((args, types))
}

/// Connection failures are retryable; the message never holds the URL (its password).
/// `postgres://user@host:port/db`: where a statement would run, without the password.
fn database_label(options: &PgConnectOptions) -> String {
    format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    )
}

fn connect_error(e: &sqlx::Error) -> NodeError {
    match e {
        sqlx::Error::Database(db) => NodeError::fatal(format!(
            "db.query: the database refused the connection: {} (SQLSTATE {})",
            db.message(),
            db.code().unwrap_or_default()
        )),
        _ => NodeError::retryable(format!("db.query: cannot connect: {}", kind_of(e))),
    }
}

/// SQL errors are the statement's fault: fatal, with PostgreSQL's words.
fn sql_error(e: &sqlx::Error) -> NodeError {
    match e {
        sqlx::Error::Database(db) => NodeError::fatal(format!(
            "db.query: {} (SQLSTATE {})",
            db.message(),
            db.code().unwrap_or_default()
        )),
        _ => NodeError::retryable(format!("db.query: {}", kind_of(e))),
    }
}

fn kind_of(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Tls(_) => "TLS handshake failed".to_owned(),
        sqlx::Error::PoolTimedOut => "timed out".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
