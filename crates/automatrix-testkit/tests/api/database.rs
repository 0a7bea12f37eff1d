//! db.query through the engine, against a scratch schema in the local PostgreSQL.

use automatrix_testkit::both_backends;
use serde_json::json;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

both_backends! {
    async fn a_lead_is_matched_to_a_dms_customer_by_a_parameterized_query(app) {
        let Ok(admin) = std::env::var("AUTOMATRIX_TEST_POSTGRES_URL") else { return };
        let schema = format!("dms_{}", uuid::Uuid::now_v7().simple());
        let mut conn = PgConnection::connect(&admin).await.unwrap();
        conn.execute(AssertSqlSafe(format!(
            "create schema {schema}; create table {schema}.customers (id int4, email text, name text);
             insert into {schema}.customers values (7, 'pat@example.com', 'Pat Lee');"
        ))).await.unwrap();
        let sep = if admin.contains('?') { '&' } else { '?' };
        let url = format!("{admin}{sep}options=-csearch_path%3D{schema}");

        let s = app.signup().await;
        let dms = app.create_credential(&s, "DMS replica", "postgres", json!({"url": url})).await;
        let wf = app.create_workflow(&s, "Known customer?", json!({
            "nodes": [
                {"id": "lead", "type": "trigger.manual"},
                {"id": "lookup", "type": "db.query", "config": {"credential_id": dms, "query": "select id, name from customers where lower(email) = lower($1)", "params": ["{{ $json.email }}"]}},
                {"id": "known", "type": "logic.if", "config": {"condition": "{{ $json.row_count > 0 }}"}},
                {"id": "welcome_back", "type": "transform.set", "config": {"fields": {"customer_id": "{{ $node.lookup.rows[0].id }}"}, "keep_input": false}},
                {"id": "new", "type": "transform.set", "config": {"fields": {"customer_id": null}, "keep_input": false}}
            ],
            "edges": [
                {"from": "lead", "to": "lookup"}, {"from": "lookup", "to": "known"},
                {"from": "known", "output": "true", "to": "welcome_back"}, {"from": "known", "output": "false", "to": "new"}
            ]
        })).await;
        let id = wf["id"].as_str().unwrap();
        let known = app.execute_and_wait(&s, id, json!({"email": "PAT@example.com"})).await;
        assert_eq!(known["status"], "completed", "{known}");
        assert_eq!(known["output_data"], json!({"customer_id": 7}));
        let unknown = app.execute_and_wait(&s, id, json!({"email": "nobody@example.com'; drop table customers; --"})).await;
        assert_eq!(unknown["output_data"], json!({"customer_id": null}));

        let logs = app.get(&format!("/api/executions/{}/logs", known["id"].as_str().unwrap()), &s.access_token).await;
        assert!(!logs.body.to_string().contains("postgres://"), "the URL is in the logs");
        conn.execute(AssertSqlSafe(format!("drop schema {schema} cascade"))).await.unwrap();
    }
}
