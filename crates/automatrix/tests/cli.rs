//! The command line: `validate` and `run` on workflow files, `migrate`, `--version`, and
//! `serve` answering over HTTP and stopping on SIGTERM.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_automatrix"));
    c.env_remove("DATABASE_URL")
        .env_remove("AUTOMATRIX_SECRET_KEY")
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
