//! `automatrix rotate-key` on a stopped cluster: credentials of several organizations, saved
//! through a server on key A, are re-sealed under key B in one go, and a server on key B uses
//! them; a credential sealed under another key stops the rotation with nothing changed; a dry
//! run changes nothing; a data-dir key file is replaced atomically with the old one kept.

use automatrix_engine::{SealedFor, Vault};
use automatrix_testkit::MockServer;
use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{self, BOUND, Cluster, SealedRow};

const KEY_A: &str = "rotate-test-key-A-0123456789abcdef0123456789";
const KEY_B: &str = "rotate-test-key-B-0123456789abcdef0123456789";
const KEY_C: &str = "rotate-test-key-C-0123456789abcdef0123456789";

fn on_key(key: &str) -> [(&'static str, &str); 1] {
    [("AUTOMATRIX_SECRET_KEY", key)]
}

/// The credential data of `row`, if `key` opens it.
fn open(key: &str, row: &SealedRow) -> Option<Value> {
    let owner = SealedFor {
        organization_id: row.organization_id,
        credential_id: row.id,
        kind: &row.kind,
    };
    Vault::from_master_secret(key.as_bytes())
        .open(owner, &row.sealed)
        .ok()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A workflow calling `url` with the credential `credential`.
fn calling(url: &str, credential: &str) -> Value {
    json!({
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {"id": "call", "type": "http.request", "config": {"url": url, "credential_id": credential}}
        ],
        "edges": [{"from": "start", "to": "call"}]
    })
}

/// A server that answers with the request's `Authorization` header.
async fn echo_authorization() -> MockServer {
    let echo = async |headers: HeaderMap| {
        headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    MockServer::start(Router::new().route("/whoami", get(echo))).await
}

/// Starts a server `name` on `key`, lets it run `work`, and stops it.
async fn with_server(c: &mut Cluster, name: &str, key: &str, work: impl AsyncFnOnce(&mut Cluster)) {
    let api = c.start_serve(name, 1, &on_key(key)).await;
    work(c).await;
    c.sigterm(api);
    assert!(c.wait_exit(api, BOUND).await.success());
}

async fn rotation_re_seals_every_credential_for_a_server_on_the_new_key(mut c: Cluster) {
    let crm = echo_authorization().await;
    let (mut email, mut workflow, mut old_token) = <(String, String, String)>::default();
    let (mut mfa_email, mut mfa_secret) = <(String, String)>::default();
    with_server(&mut c, "api-a", KEY_A, async |c| {
        email = c.sign_up().await;
        let credential = c
            .create_credential("CRM", "http_bearer", json!({"token": "crm-token-1"}))
            .await;
        c.create_credential(
            "DMS",
            "http_basic",
            json!({"username": "svc", "password": "pw"}),
        )
        .await;
        workflow = c
            .create_workflow(calling(&crm.url("/whoami"), &credential))
            .await;
        old_token = c.token().unwrap().to_owned();
        c.sign_up().await;
        c.create_credential("CRM", "http_bearer", json!({"token": "other-dealer"}))
            .await;
        // A user with MFA: their TOTP secret is sealed under the key too.
        mfa_email = c.sign_up().await;
        let (_, setup) = c
            .call(Method::POST, "/api/auth/mfa/setup", Some(json!({})))
            .await;
        mfa_secret = setup["secret"].as_str().expect("secret").to_owned();
        let code = totp_code(&mfa_secret, 0);
        let (status, body) = c
            .call(
                Method::POST,
                "/api/auth/mfa/enable",
                Some(json!({"code": code})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    })
    .await;
    let before = c.sealed_credentials().await;

    let dry = c.run(&["rotate-key", "--dry-run"], &on_key(KEY_A)).await;
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert!(
        text(&dry.stdout).contains("3 credentials open with the current key"),
        "{}",
        text(&dry.stdout)
    );
    assert_eq!(
        c.sealed_credentials().await,
        before,
        "a dry run changes nothing"
    );

    let key_file = c.dir().join("new.key");
    std::fs::write(&key_file, format!("{KEY_B}\n")).unwrap();
    let out = c
        .run(
            &["rotate-key", "--new-key-file", key_file.to_str().unwrap()],
            &on_key(KEY_A),
        )
        .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("3 credentials re-sealed under the new key"),
        "{stdout}"
    );
    let first_org = before[0].organization_id;
    assert!(
        stdout.contains(&format!("organization {first_org}: 2")),
        "{stdout}"
    );
    assert!(stdout.contains("Set AUTOMATRIX_SECRET_KEY"), "{stdout}");
    assert!(
        !stdout.contains(KEY_B) && !stderr.contains(KEY_B),
        "the key was printed"
    );

    let after = c.sealed_credentials().await;
    assert_eq!(after.len(), before.len());
    for (old, new) in before.iter().zip(&after) {
        assert_eq!(old.id, new.id);
        assert!(open(KEY_A, old).is_some());
        assert_eq!(
            open(KEY_B, new),
            open(KEY_A, old),
            "the same data under key B"
        );
        assert_eq!(open(KEY_A, new), None, "key A no longer opens {}", new.id);
    }

    with_server(&mut c, "api-b", KEY_B, async |c| {
        c.use_token(&old_token);
        let (status, _) = c.call(Method::GET, "/api/workflows", None).await;
        assert_eq!(status, 401, "an access token signed under key A");
        c.log_in(&email).await;
        let execution = c.execute(&workflow, json!({})).await;
        c.eventually("the call finished", async || {
            let status = c.execution(&execution).await["status"].clone();
            ["completed", "failed", "cancelled"].contains(&status.as_str().unwrap_or_default())
        })
        .await;
        let done = c.execution(&execution).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!(done["output_data"]["body"], "Bearer crm-token-1");

        // The MFA user signs in with the codes of the secret they enrolled under key A.
        let login = json!({"email": mfa_email, "password": helpers::PASSWORD});
        let (status, body) = c.call(Method::POST, "/api/auth/login", Some(login)).await;
        assert_eq!(status, 200, "{body}");
        let verify = json!({"mfa_token": body["mfa_token"], "code": totp_code(&mfa_secret, 1)});
        let (status, body) = c
            .call(Method::POST, "/api/auth/mfa/verify", Some(verify))
            .await;
        assert_eq!(status, 200, "the TOTP secret opens under key B: {body}");
    })
    .await;
}

/// The TOTP code of `secret` (base32) `offset` steps from now, as an authenticator app makes.
fn totp_code(secret: &str, offset: i64) -> String {
    use automatrix_engine::totp;
    let raw = totp::base32_decode(secret).expect("base32");
    totp::code_at(&raw, totp::step_at(chrono::Utc::now().timestamp()) + offset)
}

async fn a_credential_under_another_key_stops_the_rotation(mut c: Cluster) {
    with_server(&mut c, "api-a", KEY_A, async |c| {
        c.sign_up().await;
        c.create_credential("CRM", "http_bearer", json!({"token": "t"}))
            .await;
    })
    .await;
    let mut stray = String::new();
    with_server(&mut c, "api-c", KEY_C, async |c| {
        c.sign_up().await;
        stray = c
            .create_credential("CRM", "http_bearer", json!({"token": "u"}))
            .await;
    })
    .await;
    let before = c.sealed_credentials().await;

    let to_b = [
        ("AUTOMATRIX_SECRET_KEY", KEY_A),
        ("AUTOMATRIX_NEW_SECRET_KEY", KEY_B),
    ];
    for args in [&["rotate-key", "--dry-run"][..], &["rotate-key"]] {
        let out = c.run(args, &to_b).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "1 credentials do not open with the current secret key: {stray}; nothing was changed"
            )),
            "{stderr}"
        );
        assert_eq!(
            c.sealed_credentials().await,
            before,
            "{args:?} changed data"
        );
    }
}

#[tokio::test]
async fn rotation_re_seals_every_credential_for_a_server_on_the_new_key_sqlite() {
    rotation_re_seals_every_credential_for_a_server_on_the_new_key(Cluster::sqlite()).await;
}

#[tokio::test]
async fn rotation_re_seals_every_credential_for_a_server_on_the_new_key_postgres() {
    if let Some(c) = Cluster::postgres().await {
        rotation_re_seals_every_credential_for_a_server_on_the_new_key(c).await;
    }
}

#[tokio::test]
async fn a_credential_under_another_key_stops_the_rotation_sqlite() {
    a_credential_under_another_key_stops_the_rotation(Cluster::sqlite()).await;
}

#[tokio::test]
async fn a_credential_under_another_key_stops_the_rotation_postgres() {
    if let Some(c) = Cluster::postgres().await {
        a_credential_under_another_key_stops_the_rotation(c).await;
    }
}

/// The key file is the same on both databases: SQLite only.
#[tokio::test]
async fn without_a_new_key_the_key_file_gets_a_generated_one_and_keeps_the_old() {
    let mut c = Cluster::sqlite();
    let from_file = on_key("");
    let api = c.start_serve("api", 0, &from_file).await;
    c.sign_up().await;
    c.create_credential("CRM", "http_bearer", json!({"token": "t"}))
        .await;
    c.sigterm(api);
    assert!(c.wait_exit(api, BOUND).await.success());
    let file = c.dir().join("secret.key");
    let old_key = std::fs::read_to_string(&file).unwrap();

    let out = c.run(&["rotate-key"], &from_file).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let new_key = std::fs::read_to_string(&file).unwrap();
    assert_ne!(new_key, old_key);
    assert_eq!(
        std::fs::read_to_string(c.dir().join("secret.key.old")).unwrap(),
        old_key
    );
    assert!(!c.dir().join("secret.key.new").exists());
    let mode = std::fs::metadata(&file).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
    let printed = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!printed.contains(new_key.trim()), "the key was printed");
    assert!(printed.contains("secret.key.old"), "{printed}");
    let row = &c.sealed_credentials().await[0];
    assert_eq!(open(new_key.trim(), row), Some(json!({"token": "t"})));

    // A key from the environment is never replaced by a generated one.
    let out = c.run(&["rotate-key"], &on_key(KEY_A)).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--new-key-file"),
        "{}",
        text(&out.stderr)
    );

    // A failed rotation leaves the key files as they were.
    with_server(&mut c, "api-c", KEY_C, async |c| {
        c.sign_up().await;
        c.create_credential("CRM", "http_bearer", json!({"token": "u"}))
            .await;
    })
    .await;
    let out = c.run(&["rotate-key"], &from_file).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), new_key);
    assert_eq!(
        std::fs::read_to_string(c.dir().join("secret.key.old")).unwrap(),
        old_key
    );
    assert!(
        !c.dir().join("secret.key.new").exists(),
        "the staged key is removed"
    );

    // A staged key left by an interrupted rotation may be the one the data needs: kept.
    std::fs::write(c.dir().join("secret.key.new"), "left-over").unwrap();
    let out = c.run(&["rotate-key"], &from_file).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("an earlier rotation did not finish"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(c.dir().join("secret.key.new")).unwrap(),
        "left-over"
    );
}
