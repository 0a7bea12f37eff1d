//! `db.query` against the local PostgreSQL (`AUTOMATRIX_TEST_POSTGRES_URL`), in a schema of
//! its own per test. Skipped without the variable.

use automatrix_core::node::ErrorClass;
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

use super::*;
use crate::test_support::run_with_credential;

/// A schema with a `customers` table, and the URL of a connection whose search path is it.
struct Scratch {
    admin: String,
    schema: String,
}

impl Scratch {
    async fn new() -> Option<Self> {
        let Ok(admin) = std::env::var("AUTOMATRIX_TEST_POSTGRES_URL") else {
            println!("skipped: AUTOMATRIX_TEST_POSTGRES_URL is not set");
            return None;
        };
        let schema = format!("dbq_{}", uuid::Uuid::now_v7().simple());
        let mut conn = PgConnection::connect(&admin).await.expect("connect");
        conn.execute(AssertSqlSafe(
            format!(
                "create schema {schema};
                 create table {schema}.customers (id int4 primary key, email text, name text,
                     balance numeric(10, 2), seen timestamptz, tags text[], prefs jsonb, code uuid,
                     spot point);
                 insert into {schema}.customers values
                     (1, 'pat@example.com', 'Pat', 24999.50, '2026-11-20T15:30:00Z', '{{vip,trade}}',
                      '{{\"sms\": true}}', '0193e0c4-5b2a-7c1e-9d40-2f6a8b1c3d4e', '(1,2)'),
                     (2, 'sam@example.com', 'Sam', -0.05, null, '{{}}', null, null, null);"
            ),
        ))
        .await
        .expect("scratch schema");
        Some(Self { admin, schema })
    }

    fn url(&self) -> String {
        let sep = if self.admin.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", self.admin, self.schema)
    }

    fn credential(&self) -> (&'static str, &'static str, Value) {
        ("pg", "postgres", json!({"url": self.url()}))
    }

    async fn drop(self) {
        let mut conn = PgConnection::connect(&self.admin).await.expect("connect");
        conn.execute(AssertSqlSafe(format!(
            "drop schema {} cascade",
            self.schema
        )))
        .await
        .expect("drop");
    }
}

async fn query(scratch: &Scratch, config: Value) -> Result<Value, NodeError> {
    let mut config = config;
    config["credential_id"] = json!("pg");
    run_with_credential(&DbQuery, config, scratch.credential())
        .await
        .map(|out| out.data)
}

#[tokio::test]
async fn rows_come_back_as_objects_with_their_types_and_params_are_bound() {
    let Some(scratch) = Scratch::new().await else {
        return;
    };
    let out = query(&scratch, json!({
        "query": "select id, name, balance, seen, tags, prefs, code, email = $1 as matched from customers where lower(email) = lower($1) or id = $2 order by id",
        "params": ["PAT@example.com", 2]
    }))
    .await
    .expect("query");
    assert_eq!(out["row_count"], 2);
    assert_eq!(
        out["columns"],
        json!([
            "id", "name", "balance", "seen", "tags", "prefs", "code", "matched"
        ])
    );
    assert_eq!(
        out["rows"][0],
        json!({
            "id": 1, "name": "Pat", "balance": 24999.5, "seen": "2026-11-20T15:30:00Z",
            "tags": ["vip", "trade"], "prefs": {"sms": true},
            "code": "0193e0c4-5b2a-7c1e-9d40-2f6a8b1c3d4e", "matched": false
        })
    );
    assert_eq!(out["rows"][1]["balance"], -0.05);
    assert_eq!(out["rows"][1]["seen"], Value::Null);

    // A lead's name is a value, never SQL.
    let injection = query(&scratch, json!({"query": "select count(*)::int4 as n from customers where name = $1", "params": ["x' or '1'='1"]}))
        .await
        .expect("query");
    assert_eq!(injection["rows"][0]["n"], 0);
    scratch.drop().await;
}

#[tokio::test]
async fn writes_are_refused_unless_allowed_and_then_committed() {
    let Some(scratch) = Scratch::new().await else {
        return;
    };
    let insert = json!({"query": "insert into customers (id, email, name) values ($1, $2, $3)", "params": [3, "lee@example.com", "Lee"]});
    let refused = query(&scratch, insert.clone()).await.unwrap_err();
    assert_eq!(refused.class, ErrorClass::Fatal);
    assert!(
        refused.message.contains("read-only transaction"),
        "{}",
        refused.message
    );
    assert!(refused.message.contains("25006"), "{}", refused.message);

    let mut allowed = insert;
    allowed["allow_writes"] = json!(true);
    let done = query(&scratch, allowed).await.expect("insert");
    assert_eq!(done, json!({"rows": [], "row_count": 1, "columns": []}));
    let count = query(
        &scratch,
        json!({"query": "select count(*)::int8 as n from customers"}),
    )
    .await
    .unwrap();
    assert_eq!(count["rows"][0]["n"], 3, "committed");

    let returning = query(&scratch, json!({"query": "update customers set name = $1 where id = 3 returning id, name", "params": ["Lee Ann"], "allow_writes": true})).await.unwrap();
    assert_eq!(returning["rows"], json!([{"id": 3, "name": "Lee Ann"}]));
    scratch.drop().await;
}

#[tokio::test]
async fn bad_sql_unreadable_types_and_too_many_rows_fail_clearly() {
    let Some(scratch) = Scratch::new().await else {
        return;
    };
    let syntax = query(&scratch, json!({"query": "selec 1"}))
        .await
        .unwrap_err();
    assert!(
        syntax.message.contains("syntax error") && syntax.message.contains("42601"),
        "{}",
        syntax.message
    );

    let point = query(
        &scratch,
        json!({"query": "select spot from customers where id = 1"}),
    )
    .await
    .unwrap_err();
    assert!(
        point.message.contains("column `spot` has type POINT"),
        "{}",
        point.message
    );
    let cast = query(
        &scratch,
        json!({"query": "select spot::text as spot from customers where id = 1"}),
    )
    .await
    .unwrap();
    assert_eq!(cast["rows"][0]["spot"], "(1,2)");

    let many = query(
        &scratch,
        json!({"query": "select id from customers", "max_rows": 1}),
    )
    .await
    .unwrap_err();
    assert!(
        many.message.contains("more than 1 rows"),
        "{}",
        many.message
    );
    scratch.drop().await;
}

#[tokio::test]
async fn an_unreachable_database_is_retryable_and_the_password_stays_hidden() {
    let credential = (
        "pg",
        "postgres",
        json!({"url": "postgres://bdc:hunter2@127.0.0.1:9/crm"}),
    );
    let err = run_with_credential(
        &DbQuery,
        json!({"credential_id": "pg", "query": "select 1"}),
        credential,
    )
    .await
    .unwrap_err();
    assert_eq!(err.class, ErrorClass::Retryable);
    assert!(err.message.contains("cannot connect"), "{}", err.message);
    assert!(!err.message.contains("hunter2"));

    let wrong = ("pg", "http_bearer", json!({"token": "t"}));
    let err = run_with_credential(
        &DbQuery,
        json!({"credential_id": "pg", "query": "select 1"}),
        wrong,
    )
    .await
    .unwrap_err();
    assert!(err.message.contains("`postgres`"), "{}", err.message);
}
