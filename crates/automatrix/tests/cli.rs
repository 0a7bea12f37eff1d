//! The command line: `validate` and `run` on workflow files, `migrate`, `backup`, `--version`,
//! `serve` answering over HTTP and stopping on SIGTERM, and `export` / `import` against a server
//! with an API key.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_automatrix"));
    c.env_remove("DATABASE_URL")
        .env_remove("AUTOMATRIX_SECRET_KEY")
        .env_remove("AUTOMATRIX_SERVER")
        .env_remove("AUTOMATRIX_TOKEN")
        .env("RUST_LOG", "warn");
    c
}

fn write(dir: &tempfile::TempDir, name: &str, v: &Value) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn router() -> Value {
    json!({
        "nodes": [
            {"id": "lead", "type": "trigger.manual"},
            {"id": "check", "type": "logic.if", "config": {"condition": "{{ $json.score > 50 }}"}},
            {"id": "hot", "type": "transform.set", "config": {"fields": {"priority": "hot"}}},
            {"id": "cold", "type": "transform.set", "config": {"fields": {"priority": "cold"}}}
        ],
        "edges": [
            {"from": "lead", "to": "check"},
            {"from": "check", "output": "true", "to": "hot"},
            {"from": "check", "output": "false", "to": "cold"}
        ]
    })
}

fn run(args: &[&str], dir: &tempfile::TempDir) -> Output {
    bin()
        .args(args)
        .env("AUTOMATRIX_DATA_DIR", dir.path())
        .output()
        .unwrap()
}

#[test]
fn validate_accepts_a_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(&dir, "ok.json", &router());
    let out = run(&["validate", f.to_str().unwrap()], &dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("valid (4 nodes, 3 edges)"));
}

#[test]
fn validate_prints_every_problem_with_its_path_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let bad = json!({"nodes": [{"id": "t", "type": "trigger.manual"}, {"id": "x", "type": "nope"}], "edges": [{"from": "t", "to": "y"}]});
    let f = write(&dir, "bad.json", &bad);
    let out = run(&["validate", f.to_str().unwrap()], &dir);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("nodes[1].type: unknown node type `nope`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("edges[0].to: no node has id `y`"),
        "{stdout}"
    );
}

#[test]
fn run_prints_progress_on_stderr_and_the_output_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(&dir, "router.json", &router());
    let out = run(
        &["run", f.to_str().unwrap(), "--input", r#"{"score": 80}"#],
        &dir,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let output: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(output, json!({"score": 80, "priority": "hot"}));
    let progress = text(&out.stderr);
    assert!(
        progress.contains("▶ check [logic.if]") && progress.contains("✓ check → true"),
        "{progress}"
    );
    assert!(progress.contains("– cold skipped"), "{progress}");
    assert!(
        !dir.path().join("automatrix.db").exists(),
        "run must not touch a database"
    );
}

#[test]
fn run_exits_non_zero_when_a_step_fails() {
    let dir = tempfile::tempdir().unwrap();
    let def = json!({"nodes": [{"id": "t", "type": "trigger.manual"}, {"id": "boom", "type": "code.js", "config": {"code": "throw new Error('no VIN')"}}],
                     "edges": [{"from": "t", "to": "boom"}]});
    let f = write(&dir, "boom.json", &def);
    let out = run(&["run", f.to_str().unwrap()], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no VIN"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn run_rejects_bad_input_json_and_invalid_files() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(&dir, "router.json", &router());
    let out = run(&["run", f.to_str().unwrap(), "--input", "{nope"], &dir);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--input is not valid JSON"));
    std::fs::write(dir.path().join("broken.json"), "{").unwrap();
    let out = run(
        &["validate", dir.path().join("broken.json").to_str().unwrap()],
        &dir,
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("is not valid JSON"));
}

#[test]
fn version_prints_the_version() {
    let out = bin().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout).trim(),
        format!("automatrix {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn migrate_creates_the_sqlite_database_in_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["migrate"], &dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.path().join("automatrix.db").exists());
}

#[test]
fn backup_writes_a_new_file_and_replaces_one_only_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("backups/nightly.db");
    let dest_arg = dest.to_str().unwrap();
    let out = run(&["backup", dest_arg], &dir);
    assert!(
        !out.status.success(),
        "backed up a database that does not exist"
    );
    assert!(
        text(&out.stderr).contains("no database at"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !dir.path().join("automatrix.db").exists(),
        "backup created the database"
    );

    assert!(run(&["migrate"], &dir).status.success());
    std::fs::create_dir(dir.path().join("backups")).unwrap();
    let out = run(&["backup", dest_arg], &dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let size = std::fs::metadata(&dest).unwrap().len();
    assert!(
        text(&out.stdout).contains(&format!("to {dest_arg} ({size} bytes)")),
        "{}",
        text(&out.stdout)
    );

    std::fs::write(&dest, "keep me").unwrap();
    let out = run(&["backup", dest_arg], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--force"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read(&dest).unwrap(), b"keep me");

    let out = run(&["backup", "--force", dest_arg], &dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::metadata(&dest).unwrap().len(), size);
    let names: Vec<_> = std::fs::read_dir(dir.path().join("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["nightly.db"], "a partial file was left behind");
}

#[test]
fn backup_of_postgresql_points_to_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["backup", dir.path().join("x.db").to_str().unwrap()])
        .env("AUTOMATRIX_DATA_DIR", dir.path())
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/automatrix")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("pg_dump") && stderr.contains("docs/operations.md"),
        "{stderr}"
    );
    assert!(!dir.path().join("x.db").exists());
}

#[test]
fn serve_refuses_incomplete_or_plain_http_single_sign_on_settings() {
    let dir = tempfile::tempdir().unwrap();
    let serve = |env: &[(&str, &str)]| {
        let mut c = bin();
        c.args(["serve", "--bind", "127.0.0.1:0", "--workers", "0"])
            .env("AUTOMATRIX_DATA_DIR", dir.path());
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let secret = ("AUTOMATRIX_OIDC_CLIENT_SECRET", "do-not-print-this-secret");
    let out = serve(&[
        ("AUTOMATRIX_OIDC_ISSUER", "https://login.dealer.example"),
        secret,
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("oidc_client_id"),
        "{}",
        text(&out.stderr)
    );

    let out = serve(&[
        ("AUTOMATRIX_OIDC_ISSUER", "http://login.dealer.example"),
        ("AUTOMATRIX_OIDC_CLIENT_ID", "automatrix"),
        (
            "AUTOMATRIX_OIDC_REDIRECT_URI",
            "https://amx.dealer.example/api/auth/sso/callback",
        ),
        secret,
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("must use https"), "{err}");
    assert!(!err.contains("do-not-print-this-secret"), "{err}");
}

#[test]
fn serve_generates_a_private_secret_key_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = bin()
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--workers",
            "1",
        ])
        .env("AUTOMATRIX_DATA_DIR", dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..200 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            s.write_all(b"GET /health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut resp = String::new();
            let _ = s.read_to_string(&mut resp);
            up = resp.starts_with("HTTP/1.1 200");
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let key = dir.path().join("secret.key");
    let meta = std::fs::metadata(&key)
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    let logs = text(&out.stderr);
    assert!(up, "server did not answer: {logs}");
    assert_eq!(meta.unwrap(), 0o600);
    assert!(logs.contains("generated a new secret key"), "{logs}");
    assert!(
        !logs.contains(std::fs::read_to_string(&key).unwrap().trim()),
        "the key leaked into logs"
    );
    assert!(out.status.success(), "exit {:?}: {logs}", out.status);
}

/// `export` and `import` against a test server (both databases), authenticated by API keys.
mod remote {
    use automatrix_testkit::{Session, TestApp, both_backends};

    use super::*;

    async fn api_key(app: &TestApp, s: &Session) -> String {
        let res = app
            .post(
                "/api/api-keys",
                &s.access_token,
                &json!({"name": "cli", "role": "editor"}),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.body);
        res.body["key"].as_str().unwrap().to_owned()
    }

    async fn twilio(app: &TestApp, s: &Session) -> String {
        let data = json!({"account_sid": "AC1", "auth_token": "tw-secret"});
        app.create_credential(s, "Twilio main", "twilio", data)
            .await
    }

    fn texting(credential_id: &str) -> Value {
        json!({
            "nodes": [
                {"id": "lead", "type": "trigger.manual"},
                {"id": "text", "type": "sms.send", "config": {"credential_id": credential_id, "to": "{{ $json.phone }}", "body": "Thanks!"}}
            ],
            "edges": [{"from": "lead", "to": "text"}]
        })
    }

    /// Runs the binary with `args` against `app` (the server and token from the environment).
    async fn client(app: &TestApp, token: &str, args: &[&str]) -> Output {
        tokio::process::Command::from(bin())
            .args(args)
            .env("AUTOMATRIX_SERVER", app.url(""))
            .env("AUTOMATRIX_TOKEN", token)
            .output()
            .await
            .unwrap()
    }

    /// A new organization's texting workflow exported by `automatrix export` with an API key
    /// to `lead.json` in the returned directory; the workflow's id and the key.
    async fn exported(app: &TestApp) -> (tempfile::TempDir, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let source = app.signup().await;
        let cred = twilio(app, &source).await;
        let wf = app
            .create_workflow(&source, "Text new leads", texting(&cred))
            .await;
        let id = wf["id"].as_str().unwrap().to_owned();
        let file = dir.path().join("lead.json");
        let key = api_key(app, &source).await;
        let out = client(app, &key, &["export", &id, "--out", file.to_str().unwrap()]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        (dir, id, key)
    }

    both_backends! {
        async fn export_then_import_moves_a_workflow_between_organizations(app) {
            let (dir, id, key) = exported(&app).await;
            let file = dir.path().join("lead.json");
            let file = file.to_str().unwrap();
            let doc: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
            assert_eq!(doc["format"], "automatrix.workflow");
            assert_eq!(doc["definition"]["nodes"][1]["config"]["credential_id"], json!({"credential": "Twilio main"}));
            let to_stdout = client(&app, &key, &["export", &id]).await;
            assert_eq!(serde_json::from_slice::<Value>(&to_stdout.stdout).unwrap(), doc);

            let target = app.signup().await;
            let target_cred = twilio(&app, &target).await;
            let target_key = api_key(&app, &target).await;
            let out = client(&app, &target_key, &["import", file]).await;
            assert!(out.status.success(), "{}", text(&out.stderr));
            let new_id = text(&out.stdout).trim().to_owned();
            let imported = app.get(&format!("/api/workflows/{new_id}"), &target.access_token).await;
            assert_eq!(imported.status, 200, "{}", imported.body);
            assert_eq!(imported.body["definition"], texting(&target_cred));
        }

        async fn a_refused_import_or_export_exits_1_with_the_servers_reasons(app) {
            let (dir, id, key) = exported(&app).await;
            let file = dir.path().join("lead.json");
            let file = file.to_str().unwrap();

            let bare = app.signup().await;
            let out = client(&app, &api_key(&app, &bare).await, &["import", file]).await;
            assert_eq!(out.status.code(), Some(1));
            let stderr = text(&out.stderr);
            assert!(stderr.contains("422 VALIDATION_ERROR: workflow document is invalid"), "{stderr}");
            assert!(stderr.contains("definition.nodes[1].config.credential_id: no credential named `Twilio main`"), "{stderr}");

            let out = client(&app, "amx_not-a-key", &["export", &id]).await;
            assert_eq!(out.status.code(), Some(1));
            assert!(text(&out.stderr).contains("401 UNAUTHORIZED"), "{}", text(&out.stderr));
            let out = client(&app, &key, &["export", "not-a-uuid"]).await;
            assert_eq!(out.status.code(), Some(2), "bad usage");
        }
    }
}
