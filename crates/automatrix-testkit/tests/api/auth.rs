//! Sign-up, login, refresh rotation with reuse detection, logout, me, change-password.

use automatrix_testkit::{TestApp, both_backends};
use reqwest::Method;
use serde_json::json;
use sha2::Digest as _;

async fn post_anon(app: &TestApp, path: &str, body: serde_json::Value) -> automatrix_testkit::Res {
    app.request(Method::POST, path, None, Some(&body)).await
}

both_backends! {
    async fn a_new_user_can_register_log_in_and_see_themselves(app) {
        let s = app.signup().await;
        let me = app.get("/api/auth/me", &s.access_token).await;
        assert_eq!(me.status, 200);
        assert_eq!(me.body["email"], s.email.as_str());
        assert_eq!(me.body["name"], "Dana Dealer");
        assert_eq!(me.body["id"], s.user_id.to_string());
        assert_eq!(me.body["organization_id"], s.organization_id.to_string());
        assert!(me.body.get("password_hash").is_none());
    }

    async fn login_returns_bearer_tokens_with_an_expiry(app) {
        let s = app.signup().await;
        let res = post_anon(&app, "/api/auth/login", json!({"email": s.email.to_uppercase(), "password": s.password})).await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.body["token_type"], "bearer");
        assert_eq!(res.body["expires_in"], 900);
        assert!(res.body["refresh_token"].as_str().unwrap().len() >= 40);
    }

    async fn each_registered_user_gets_an_organization_of_their_own(app) {
        let a = app.signup().await;
        let b = app.signup().await;
        assert_ne!(a.organization_id, b.organization_id);
    }

    async fn registering_a_taken_email_is_a_conflict(app) {
        let s = app.signup().await;
        let res = post_anon(&app, "/api/auth/register", json!({"email": s.email.to_uppercase(), "password": "another password", "name": "X"})).await;
        res.assert_error(409, "CONFLICT");
    }

    async fn registration_reports_every_invalid_field(app) {
        let res = post_anon(&app, "/api/auth/register", json!({"email": "not-an-email", "password": "short", "name": "  "})).await;
        res.assert_error(422, "VALIDATION_ERROR");
        let paths: Vec<&str> = res.body["error"]["details"].as_array().unwrap().iter().map(|d| d["path"].as_str().unwrap()).collect();
        assert_eq!(paths, vec!["email", "name", "password"]);
    }

    async fn registration_with_a_missing_field_is_a_validation_error(app) {
        let res = post_anon(&app, "/api/auth/register", json!({"email": "a@b.co"})).await;
        res.assert_error(422, "VALIDATION_ERROR");
    }

    async fn a_wrong_password_or_unknown_email_is_unauthorized(app) {
        let s = app.signup().await;
        post_anon(&app, "/api/auth/login", json!({"email": s.email, "password": "wrong password"})).await.assert_error(401, "UNAUTHORIZED");
        post_anon(&app, "/api/auth/login", json!({"email": "nobody@dealer.example", "password": "whatever1"})).await.assert_error(401, "UNAUTHORIZED");
    }

    async fn missing_malformed_and_expired_access_tokens_are_unauthorized(app) {
        let s = app.signup().await;
        let none = app.request(Method::GET, "/api/auth/me", None, None).await;
        none.assert_error(401, "UNAUTHORIZED");
        assert_eq!(none.headers["www-authenticate"], "Bearer");
        app.get("/api/auth/me", "garbage.token.here").await.assert_error(401, "UNAUTHORIZED");
        let expired = app.auth.mint_access_token(s.user_id, chrono::Utc::now() - chrono::Duration::hours(1)).unwrap();
        app.get("/api/auth/me", &expired).await.assert_error(401, "UNAUTHORIZED");
        let forged = automatrix_api::AuthConfig::from_master_secret(b"some-other-secret-some-other-secret")
            .mint_access_token(s.user_id, chrono::Utc::now())
            .unwrap();
        app.get("/api/auth/me", &forged).await.assert_error(401, "UNAUTHORIZED");
    }

    async fn tokens_of_another_algorithm_issuer_or_shape_are_refused(app) {
        let s = app.signup().await;
        let now = chrono::Utc::now().timestamp();
        let claims = json!({"sub": s.user_id, "iat": now, "exp": now + 600, "iss": "automatrix"});
        // The real key, the way the server derives it: what an attacker who had it could sign.
        let key = sha2::Sha256::new_with_prefix(b"automatrix/jwt/v1\0").chain_update(automatrix_testkit::TEST_SECRET).finalize();
        let good = jwt(&json!({"alg": "HS256", "typ": "JWT"}), &claims, Some(("HS256", &key)));
        assert_eq!(app.get("/api/auth/me", &good).await.status, 200, "the hand-made token is right");
        let cases = [
            ("alg none", jwt(&json!({"alg": "none", "typ": "JWT"}), &claims, None)),
            ("alg none, HS256 signature", format!("{}.{}", jwt(&json!({"alg": "none"}), &claims, None).trim_end_matches('.'), good.rsplit('.').next().unwrap())),
            ("HS384", jwt(&json!({"alg": "HS384", "typ": "JWT"}), &claims, Some(("HS384", &key)))),
            ("another issuer", jwt(&json!({"alg": "HS256"}), &json!({"sub": s.user_id, "iat": now, "exp": now + 600, "iss": "someone-else"}), Some(("HS256", &key)))),
            ("no issuer", jwt(&json!({"alg": "HS256"}), &json!({"sub": s.user_id, "iat": now, "exp": now + 600}), Some(("HS256", &key)))),
            ("no expiry", jwt(&json!({"alg": "HS256"}), &json!({"sub": s.user_id, "iat": now, "iss": "automatrix"}), Some(("HS256", &key)))),
            ("tampered subject", {
                let other = app.signup().await;
                let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
                parts[1] = b64(&json!({"sub": other.user_id, "iat": now, "exp": now + 600, "iss": "automatrix"}).to_string());
                parts.join(".")
            }),
        ];
        for (what, token) in cases {
            let res = app.get("/api/auth/me", &token).await;
            assert_eq!(res.status, 401, "{what}: {}", res.body);
            assert_eq!(res.code(), "UNAUTHORIZED", "{what}");
        }
    }

    async fn refresh_rotates_the_token_and_reuse_revokes_the_family(app) {
        let s = app.signup().await;
        let first = post_anon(&app, "/api/auth/refresh", json!({"refresh_token": s.refresh_token})).await;
        assert_eq!(first.status, 200, "{}", first.body);
        let next = first.body["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(next, s.refresh_token);
        assert_eq!(app.get("/api/auth/me", first.body["access_token"].as_str().unwrap()).await.status, 200);
        // The spent token is presented again: a thief or a replay. The whole family dies.
        post_anon(&app, "/api/auth/refresh", json!({"refresh_token": s.refresh_token})).await.assert_error(401, "UNAUTHORIZED");
        post_anon(&app, "/api/auth/refresh", json!({"refresh_token": next})).await.assert_error(401, "UNAUTHORIZED");
    }

    async fn an_unknown_refresh_token_is_unauthorized(app) {
        post_anon(&app, "/api/auth/refresh", json!({"refresh_token": "nope"})).await.assert_error(401, "UNAUTHORIZED");
    }

    async fn logout_ends_the_session(app) {
        let s = app.signup().await;
        let res = app.post("/api/auth/logout", &s.access_token, &json!({"refresh_token": s.refresh_token})).await;
        assert_eq!(res.status, 204);
        post_anon(&app, "/api/auth/refresh", json!({"refresh_token": s.refresh_token})).await.assert_error(401, "UNAUTHORIZED");
    }

    async fn logout_without_a_body_ends_every_session(app) {
        let s = app.signup().await;
        let other = post_anon(&app, "/api/auth/login", json!({"email": s.email, "password": s.password})).await;
        let res = app.request(Method::POST, "/api/auth/logout", Some(&s.access_token), None).await;
        assert_eq!(res.status, 204, "{}", res.body);
        post_anon(&app, "/api/auth/refresh", json!({"refresh_token": s.refresh_token})).await.assert_error(401, "UNAUTHORIZED");
        post_anon(&app, "/api/auth/refresh", json!({"refresh_token": other.body["refresh_token"]})).await.assert_error(401, "UNAUTHORIZED");
    }

    async fn changing_the_password_requires_the_current_one_and_ends_the_other_sessions(app) {
        let s = app.signup().await;
        let wrong = app.post("/api/auth/change-password", &s.access_token, &json!({"current_password": "nope nope", "new_password": "a brand new one"})).await;
        wrong.assert_error(422, "VALIDATION_ERROR");
        let short = app.post("/api/auth/change-password", &s.access_token, &json!({"current_password": s.password, "new_password": "x"})).await;
        short.assert_error(422, "VALIDATION_ERROR");
        let elsewhere = post_anon(&app, "/api/auth/login", json!({"email": s.email, "password": s.password})).await;
        let ok = app.post("/api/auth/change-password", &s.access_token, &json!({"current_password": s.password, "new_password": "a brand new one"})).await;
        assert_eq!(ok.status, 204, "{}", ok.body);
        post_anon(&app, "/api/auth/login", json!({"email": s.email, "password": s.password})).await.assert_error(401, "UNAUTHORIZED");
        assert_eq!(post_anon(&app, "/api/auth/login", json!({"email": s.email, "password": "a brand new one"})).await.status, 200);
        post_anon(&app, "/api/auth/refresh", json!({"refresh_token": elsewhere.body["refresh_token"]})).await.assert_error(401, "UNAUTHORIZED");
        let kept = post_anon(&app, "/api/auth/refresh", json!({"refresh_token": s.refresh_token})).await;
        assert_eq!(kept.status, 200, "the caller's own session stays: {}", kept.body);
    }
}

fn b64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// A JWT made by hand: `header.claims.signature`, signed with HMAC-SHA256/384 or not at all.
fn jwt(
    header: &serde_json::Value,
    claims: &serde_json::Value,
    sign: Option<(&str, &[u8])>,
) -> String {
    use hmac::{Hmac, Mac};
    let input = format!("{}.{}", b64(&header.to_string()), b64(&claims.to_string()));
    let signature = match sign {
        None => Vec::new(),
        Some(("HS384", key)) => {
            let mut mac = Hmac::<sha2::Sha384>::new_from_slice(key).unwrap();
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Some((_, key)) => {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    };
    use base64::Engine as _;
    format!(
        "{input}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature)
    )
}
