//! MFA over HTTP: TOTP setup and enabling, the login's second step (codes computed here from
//! the secret, as an authenticator app would), replay and attempt limits, recovery codes, and
//! disabling.

use automatrix_engine::totp;
use automatrix_testkit::{Res, Session, TestApp, both_backends};
use reqwest::Method;
use serde_json::{Value, json};

async fn post_anon(app: &TestApp, path: &str, body: Value) -> Res {
    app.request(Method::POST, path, None, Some(&body)).await
}

/// The code of `secret` (base32) `offset` steps from now.
fn code(secret: &str, offset: i64) -> String {
    let raw = totp::base32_decode(secret).expect("base32 secret");
    totp::code_at(&raw, totp::step_at(chrono::Utc::now().timestamp()) + offset)
}

/// Sets MFA up and enables it with the current code; the secret, the recovery codes and the
/// code used.
async fn enable_mfa(app: &TestApp, s: &Session) -> (String, Vec<String>, String) {
    let setup = app
        .post("/api/auth/mfa/setup", &s.access_token, &json!({}))
        .await;
    assert_eq!(setup.status, 200, "{}", setup.body);
    let secret = setup.body["secret"].as_str().expect("secret").to_owned();
    let used = code(&secret, 0);
    let enabled = app
        .post(
            "/api/auth/mfa/enable",
            &s.access_token,
            &json!({"code": used}),
        )
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    let codes = enabled.body["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes, used)
}

/// Logs in with the password; the MFA token of the answer (asserting there are no tokens).
async fn mfa_token(app: &TestApp, s: &Session) -> String {
    let res = post_anon(
        app,
        "/api/auth/login",
        json!({"email": s.email, "password": s.password}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["mfa_required"], true, "{}", res.body);
    assert!(
        res.body.get("access_token").is_none() && res.body.get("refresh_token").is_none(),
        "no tokens before the second factor: {}",
        res.body
    );
    assert_eq!(res.body["expires_in"], 300);
    res.body["mfa_token"]
        .as_str()
        .expect("mfa token")
        .to_owned()
}

fn detail_path(res: &Res) -> &str {
    res.body["error"]["details"][0]["path"]
        .as_str()
        .unwrap_or("")
}

both_backends! {
    async fn an_organization_can_require_mfa_of_its_members(app) {
        let owner = app.signup().await;
        let org = owner.organization_id;
        let path = format!("/api/orgs/{org}");
        // Not before the owner has it (they would lock themselves out).
        app.put(&path, &owner.access_token, &json!({"require_mfa": true})).await.assert_error(409, "CONFLICT");
        enable_mfa(&app, &owner).await;
        let member = app.member_of(&owner, "editor").await;
        let key = app.post("/api/api-keys", &owner.access_token, &json!({"name": "DMS", "role": "viewer"})).await;
        let key = key.body["key"].as_str().unwrap().to_owned();
        let on = app.put(&path, &owner.access_token, &json!({"require_mfa": true})).await;
        assert_eq!((on.status, &on.body["require_mfa"]), (200, &json!(true)), "{}", on.body);

        // A member without MFA is turned away from the organization, told why; the owner
        // (with MFA) and API keys are not.
        let res = app.request_in(org, Method::GET, "/api/workflows", &member.access_token, None).await;
        res.assert_error(403, "MFA_REQUIRED");
        assert_eq!(app.get("/api/workflows", &owner.access_token).await.status, 200);
        assert_eq!(app.get("/api/workflows", &key).await.status, 200);
        // Their own organization and account are still theirs: they can set MFA up.
        assert_eq!(app.get("/api/workflows", &member.access_token).await.status, 200);
        let (secret, _, _) = enable_mfa(&app, &member).await;
        assert_eq!(app.request_in(org, Method::GET, "/api/workflows", &member.access_token, None).await.status, 200);

        // The two steps of their next sign-in are in the organization's audit log.
        let token = mfa_token(&app, &member).await;
        let wrong = post_anon(&app, "/api/auth/mfa/verify", json!({"mfa_token": token, "code": "000000"})).await;
        wrong.assert_error(422, "VALIDATION_ERROR");
        let ok = post_anon(&app, "/api/auth/mfa/verify", json!({"mfa_token": token, "code": code(&secret, 1)})).await;
        assert_eq!(ok.status, 200, "{}", ok.body);
        let log = app.get(&format!("/api/audit-log?actor_id={}", member.user_id), &owner.access_token).await;
        let actions: Vec<&str> = log.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        for action in ["auth.login", "auth.mfa_failed", "auth.mfa_challenge", "mfa.enable", "mfa.setup"] {
            assert!(actions.contains(&action), "{action} missing from {actions:?}");
        }
        assert_eq!(actions[0], "auth.login", "{actions:?}");
    }

    async fn mfa_is_set_up_enabled_and_then_asked_for_at_login(app) {
        let s = app.signup().await;
        let me = app.get("/api/auth/me", &s.access_token).await;
        assert_eq!(me.body["mfa_enabled"], false);

        let setup = app.post("/api/auth/mfa/setup", &s.access_token, &json!({})).await;
        assert_eq!(setup.status, 200, "{}", setup.body);
        let secret = setup.body["secret"].as_str().unwrap().to_owned();
        assert_eq!(totp::base32_decode(&secret).unwrap().len(), 20, "160-bit secret");
        let url = setup.body["otpauth_url"].as_str().unwrap();
        let label = s.email.replace('@', "%40");
        assert_eq!(url, format!("otpauth://totp/AutoMatrix:{label}?secret={secret}&issuer=AutoMatrix"));
        assert_eq!(app.get("/api/auth/me", &s.access_token).await.body["mfa_enabled"], false, "pending until enabled");

        let enabled = app.post("/api/auth/mfa/enable", &s.access_token, &json!({"code": code(&secret, 0)})).await;
        assert_eq!(enabled.status, 200, "{}", enabled.body);
        let codes = enabled.body["recovery_codes"].as_array().unwrap();
        assert_eq!(codes.len(), 10);
        assert_eq!(app.get("/api/auth/me", &s.access_token).await.body["mfa_enabled"], true);

        let token = mfa_token(&app, &s).await;
        let verified = post_anon(&app, "/api/auth/mfa/verify", json!({"mfa_token": token, "code": code(&secret, 1)})).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        assert_eq!(verified.body["token_type"], "bearer");
        let access = verified.body["access_token"].as_str().unwrap();
        let me = app.get("/api/auth/me", access).await;
        assert_eq!((me.status, me.body["email"].as_str()), (200, Some(s.email.as_str())));
        let refreshed = post_anon(&app, "/api/auth/refresh", json!({"refresh_token": verified.body["refresh_token"]})).await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.body);
        post_anon(&app, "/api/auth/mfa/verify", json!({"mfa_token": token, "code": code(&secret, -1)})).await.assert_error(401, "UNAUTHORIZED");
    }

    async fn a_wrong_code_does_not_enable_and_setting_up_again_replaces_the_pending_secret(app) {
        let s = app.signup().await;
        let first = app.post("/api/auth/mfa/setup", &s.access_token, &json!({})).await.body["secret"].as_str().unwrap().to_owned();
        let second = app.post("/api/auth/mfa/setup", &s.access_token, &json!({})).await.body["secret"].as_str().unwrap().to_owned();
        assert_ne!(first, second);
        let wrong = app.post("/api/auth/mfa/enable", &s.access_token, &json!({"code": "000000"})).await;
        wrong.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(detail_path(&wrong), "code");
        let old = app.post("/api/auth/mfa/enable", &s.access_token, &json!({"code": code(&first, 0)})).await;
        old.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(app.get("/api/auth/me", &s.access_token).await.body["mfa_enabled"], false);
        let ok = app.post("/api/auth/mfa/enable", &s.access_token, &json!({"code": code(&second, 0)})).await;
        assert_eq!(ok.status, 200, "{}", ok.body);
        app.post("/api/auth/mfa/setup", &s.access_token, &json!({})).await.assert_error(409, "CONFLICT");
        app.post("/api/auth/mfa/enable", &s.access_token, &json!({"code": code(&second, 1)})).await.assert_error(409, "CONFLICT");
        let never = app.signup().await;
        app.post("/api/auth/mfa/enable", &never.access_token, &json!({"code": "123456"})).await.assert_error(409, "CONFLICT");
    }

    async fn a_totp_code_is_not_accepted_twice(app) {
        let s = app.signup().await;
        let (secret, _, used) = enable_mfa(&app, &s).await;
        // The code used to enable MFA is spent already.
        let token = mfa_token(&app, &s).await;
        let replay = post_anon(&app, "/api/auth/mfa/verify", json!({"mfa_token": token, "code": used})).await;
        replay.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(detail_path(&replay), "code");
        let next = code(&secret, 1);
        assert_eq!(post_anon(&app, "/api/auth/mfa/verify", json!({"mfa_token": token, "code": next})).await.status, 200);
        let again = mfa_token(&app, &s).await;
        post_anon(&app, "/api/auth/mfa/verify", json!({"mfa_token": again, "code": next})).await.assert_error(422, "VALIDATION_ERROR");
    }

    async fn a_recovery_code_works_once(app) {
        let s = app.signup().await;
        let (_, codes, _) = enable_mfa(&app, &s).await;
        let token = mfa_token(&app, &s).await;
        let typed = codes[3].to_uppercase().replace('-', " ");
        let ok = post_anon(&app, "/api/auth/mfa/verify", json!({"mfa_token": token, "recovery_code": typed})).await;
        assert_eq!(ok.status, 200, "{}", ok.body);
        let token = mfa_token(&app, &s).await;
        let spent = post_anon(&app, "/api/auth/mfa/verify", json!({"mfa_token": token, "recovery_code": codes[3]})).await;
        spent.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(detail_path(&spent), "recovery_code");
        assert_eq!(post_anon(&app, "/api/auth/mfa/verify", json!({"mfa_token": token, "recovery_code": codes[4]})).await.status, 200);
        let both = post_anon(&app, "/api/auth/mfa/verify", json!({"mfa_token": token, "code": "123456", "recovery_code": codes[5]})).await;
        both.assert_error(422, "VALIDATION_ERROR");
    }

    async fn an_mfa_token_that_is_garbage_expired_used_or_out_of_attempts_is_refused(app) {
        let s = app.signup().await;
        let (secret, _, _) = enable_mfa(&app, &s).await;
        post_anon(&app, "/api/auth/mfa/verify", json!({"mfa_token": "mfa_garbage", "code": code(&secret, 1)})).await.assert_error(401, "UNAUTHORIZED");

        // Expired: a challenge stored with its time already past.
        let now = chrono::Utc::now();
        app.store().create_mfa_challenge(automatrix_store::NewMfaChallenge {
            id: uuid::Uuid::now_v7(),
            user_id: s.user_id,
            token_hash: automatrix_engine::token_hash("mfa_expired-by-now"),
            expires_at: now - chrono::Duration::seconds(1),
            now: now - chrono::Duration::minutes(5),
        }).await.unwrap();
        post_anon(&app, "/api/auth/mfa/verify", json!({"mfa_token": "mfa_expired-by-now", "code": code(&secret, 1)})).await.assert_error(401, "UNAUTHORIZED");

        // Used: it works once.
        let token = mfa_token(&app, &s).await;
        assert_eq!(post_anon(&app, "/api/auth/mfa/verify", json!({"mfa_token": token, "code": code(&secret, 1)})).await.status, 200);
        post_anon(&app, "/api/auth/mfa/verify", json!({"mfa_token": token, "code": code(&secret, -1)})).await.assert_error(401, "UNAUTHORIZED");

        // Out of attempts: five wrong codes, then even the right one is refused (the user is
        // locked out by then too, but the dead token is refused first, as 401).
        let token = mfa_token(&app, &s).await;
        for _ in 0..5 {
            post_anon(&app, "/api/auth/mfa/verify", json!({"mfa_token": token, "code": "000000"})).await.assert_error(422, "VALIDATION_ERROR");
        }
        post_anon(&app, "/api/auth/mfa/verify", json!({"mfa_token": token, "code": code(&secret, 1)})).await.assert_error(401, "UNAUTHORIZED");
    }

    async fn an_mfa_token_is_not_an_access_token(app) {
        let s = app.signup().await;
        enable_mfa(&app, &s).await;
        let token = mfa_token(&app, &s).await;
        app.get("/api/auth/me", &token).await.assert_error(401, "UNAUTHORIZED");
        app.get("/api/workflows", &token).await.assert_error(401, "UNAUTHORIZED");
        app.get("/api/auth/sessions", &token).await.assert_error(401, "UNAUTHORIZED");
    }

    async fn mfa_is_disabled_with_a_code_and_login_then_answers_tokens(app) {
        let s = app.signup().await;
        app.post("/api/auth/mfa/disable", &s.access_token, &json!({"code": "123456"})).await.assert_error(409, "CONFLICT");
        let (secret, codes, _) = enable_mfa(&app, &s).await;
        let wrong = app.post("/api/auth/mfa/disable", &s.access_token, &json!({"code": "000000"})).await;
        wrong.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(detail_path(&wrong), "code");
        app.post("/api/auth/mfa/disable", &s.access_token, &json!({})).await.assert_error(422, "VALIDATION_ERROR");
        let anon = app.request(Method::POST, "/api/auth/mfa/disable", None, Some(&json!({"code": code(&secret, 1)}))).await;
        anon.assert_error(401, "UNAUTHORIZED");
        let res = app.post("/api/auth/mfa/disable", &s.access_token, &json!({"recovery_code": codes[0]})).await;
        assert_eq!(res.status, 204, "{}", res.body);
        assert_eq!(app.get("/api/auth/me", &s.access_token).await.body["mfa_enabled"], false);
        let login = post_anon(&app, "/api/auth/login", json!({"email": s.email, "password": s.password})).await;
        assert!(login.body["access_token"].is_string(), "{}", login.body);
        // Set up again: a new secret, new recovery codes; the old ones are gone.
        let (again, _, _) = enable_mfa(&app, &s).await;
        assert_ne!(again, secret);
        let token = mfa_token(&app, &s).await;
        post_anon(&app, "/api/auth/mfa/verify", json!({"mfa_token": token, "recovery_code": codes[1]})).await.assert_error(422, "VALIDATION_ERROR");
    }

    async fn an_api_key_cannot_manage_mfa(app) {
        let s = app.signup().await;
        let key = app.post("/api/api-keys", &s.access_token, &json!({"name": "robot", "role": "editor"})).await;
        assert_eq!(key.status, 201, "{}", key.body);
        let key = key.body["key"].as_str().unwrap();
        app.post("/api/auth/mfa/setup", key, &json!({})).await.assert_error(403, "FORBIDDEN");
        app.post("/api/auth/mfa/enable", key, &json!({"code": "123456"})).await.assert_error(403, "FORBIDDEN");
        app.post("/api/auth/mfa/disable", key, &json!({"code": "123456"})).await.assert_error(403, "FORBIDDEN");
    }
}
