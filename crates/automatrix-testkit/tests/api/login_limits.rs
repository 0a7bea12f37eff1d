//! Login rate limits over HTTP: back-off per account (known or unknown email) and per client
//! IP, answered as 429 with `Retry-After` in the API's error shape; no difference between an
//! unknown email and a wrong password; wrong MFA codes limited per user across challenges; the
//! client IP from `X-Forwarded-For` only behind a trusted proxy.

use std::time::Duration;

use automatrix_api::{Backoff, LoginLimits};
use automatrix_engine::totp;
use automatrix_testkit::{Backend, Res, Session, TestApp, both_backends};
use reqwest::Method;
use serde_json::{Value, json};

async fn login(app: &TestApp, email: &str, password: &str) -> Res {
    app.request(
        Method::POST,
        "/api/auth/login",
        None,
        Some(&json!({"email": email, "password": password})),
    )
    .await
}

async fn login_from(app: &TestApp, forwarded_for: &str, email: &str) -> Res {
    let body = json!({"email": email, "password": "not the password"}).to_string();
    app.hook(
        Method::POST,
        "/api/auth/login",
        &[
            ("content-type", "application/json"),
            ("x-forwarded-for", forwarded_for),
        ],
        body,
    )
    .await
}

fn unknown_email() -> String {
    format!("nobody-{}@dealer.example", uuid::Uuid::now_v7().simple())
}

#[track_caller]
fn assert_limited(res: &Res, max_secs: u64) {
    res.assert_error(429, "RATE_LIMITED");
    let secs: u64 = res.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=max_secs).contains(&secs), "Retry-After {secs}");
}

fn code(secret: &str, offset: i64) -> String {
    let raw = totp::base32_decode(secret).unwrap();
    totp::code_at(&raw, totp::step_at(chrono::Utc::now().timestamp()) + offset)
}

async fn with_mfa(app: &TestApp, s: &Session) -> String {
    let secret = app
        .post("/api/auth/mfa/setup", &s.access_token, &json!({}))
        .await
        .body["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post(
            "/api/auth/mfa/enable",
            &s.access_token,
            &json!({"code": code(&secret, 0)}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    secret
}

async fn mfa_token(app: &TestApp, s: &Session) -> Value {
    login(app, &s.email, &s.password).await.body["mfa_token"].clone()
}

both_backends! {
    async fn an_account_is_locked_out_after_five_failed_logins(app) {
        let s = app.signup().await;
        for _ in 0..5 {
            login(&app, &s.email, "wrong password").await.assert_error(401, "UNAUTHORIZED");
        }
        assert_limited(&login(&app, &s.email, "wrong password").await, 30);
        assert_limited(&login(&app, &s.email.to_uppercase(), &s.password).await, 30);
        let other = app.signup().await;
        assert_eq!(login(&app, &other.email, &other.password).await.status, 200, "another account, same address: not locked");
    }

    async fn a_successful_login_resets_the_accounts_count(app) {
        let s = app.signup().await;
        for _ in 0..4 {
            login(&app, &s.email, "wrong password").await.assert_error(401, "UNAUTHORIZED");
        }
        assert_eq!(login(&app, &s.email, &s.password).await.status, 200);
        for _ in 0..5 {
            login(&app, &s.email, "wrong password").await.assert_error(401, "UNAUTHORIZED");
        }
        assert_limited(&login(&app, &s.email, &s.password).await, 30);
    }

    async fn an_unknown_email_and_a_wrong_password_get_the_same_answers(app) {
        let s = app.signup().await;
        let nobody = unknown_email();
        for _ in 0..5 {
            let wrong = login(&app, &s.email, "wrong password").await;
            let unknown = login(&app, &nobody, "wrong password").await;
            assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));
            assert_eq!(wrong.headers.get("www-authenticate"), unknown.headers.get("www-authenticate"));
        }
        let wrong = login(&app, &s.email, "wrong password").await;
        let unknown = login(&app, &nobody, "wrong password").await;
        assert_limited(&wrong, 30);
        assert_limited(&unknown, 30);
        assert_eq!(wrong.body["error"]["code"], unknown.body["error"]["code"]);
    }

    async fn many_failed_logins_from_one_address_are_refused_for_every_account(app) {
        let s = app.signup().await;
        for _ in 0..20 {
            login(&app, &unknown_email(), "wrong password").await.assert_error(401, "UNAUTHORIZED");
        }
        assert_limited(&login(&app, &unknown_email(), "wrong password").await, 30);
        assert_limited(&login(&app, &s.email, &s.password).await, 30);
    }

    async fn wrong_mfa_codes_are_limited_per_user_across_fresh_challenges(app) {
        let s = app.signup().await;
        let secret = with_mfa(&app, &s).await;
        let token = mfa_token(&app, &s).await;
        for _ in 0..5 {
            let res = app.request(Method::POST, "/api/auth/mfa/verify", None, Some(&json!({"mfa_token": token, "code": "000000"}))).await;
            res.assert_error(422, "VALIDATION_ERROR");
        }
        let fresh = mfa_token(&app, &s).await;
        let res = app.request(Method::POST, "/api/auth/mfa/verify", None, Some(&json!({"mfa_token": fresh, "code": code(&secret, 1)}))).await;
        assert_limited(&res, 30);
    }
}

/// Runs `test` on an app with `configure`d settings, on each backend available.
async fn on_each_backend<F, Fut>(configure: fn(&mut automatrix_api::ApiConfig), test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = TestApp>,
{
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if let Some(app) = TestApp::spawn_with(backend, configure).await {
            test(app).await.stop().await;
        }
    }
}

fn strict_ip_limit(config: &mut automatrix_api::ApiConfig) {
    config.login_limits = LoginLimits {
        ip: Backoff {
            free: 2,
            base: Duration::from_secs(30),
            max: Duration::from_secs(900),
            forget_after: Duration::from_secs(3600),
        },
        ..LoginLimits::default()
    };
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_first_forwarded_address_is_the_client() {
    on_each_backend(
        |c| {
            strict_ip_limit(c);
            c.trust_proxy = true;
        },
        |app| async move {
            for _ in 0..2 {
                login_from(&app, "198.51.100.1, 10.0.0.1", &unknown_email())
                    .await
                    .assert_error(401, "UNAUTHORIZED");
            }
            assert_limited(
                &login_from(&app, "198.51.100.1", &unknown_email()).await,
                30,
            );
            login_from(&app, "198.51.100.2, 10.0.0.1", &unknown_email())
                .await
                .assert_error(401, "UNAUTHORIZED");
            app
        },
    )
    .await;
}

#[tokio::test]
async fn without_a_trusted_proxy_a_forwarded_address_is_ignored() {
    on_each_backend(strict_ip_limit, |app| async move {
        for _ in 0..2 {
            login_from(&app, "198.51.100.1", &unknown_email())
                .await
                .assert_error(401, "UNAUTHORIZED");
        }
        assert_limited(
            &login_from(&app, "198.51.100.2", &unknown_email()).await,
            30,
        );
        app
    })
    .await;
}

#[tokio::test]
async fn shared_limits_hold_across_api_processes_and_local_ones_do_not() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(a) = TestApp::spawn_with(backend, |c| c.shared_login_limits = true).await else {
            continue;
        };
        let b = a.spawn_sibling(|c| c.shared_login_limits = true).await;
        let local = a.spawn_sibling(|_| {}).await;
        let s = a.signup().await;
        // Five failures spread over two processes lock the account in both.
        for app in [&a, &b, &a, &b, &a] {
            login(app, &s.email, "wrong password")
                .await
                .assert_error(401, "UNAUTHORIZED");
        }
        assert_limited(&login(&b, &s.email, &s.password).await, 30);
        assert_limited(&login(&a, &s.email, &s.password).await, 30);
        // A process counting on its own knows nothing of it.
        assert_eq!(login(&local, &s.email, &s.password).await.status, 200);

        // Wrong MFA codes count across processes too.
        let t = a.signup().await;
        let secret = with_mfa(&a, &t).await;
        for app in [&a, &b, &a, &b, &a] {
            let token = mfa_token(app, &t).await;
            let res = app
                .request(
                    Method::POST,
                    "/api/auth/mfa/verify",
                    None,
                    Some(&json!({"mfa_token": token, "code": "000000"})),
                )
                .await;
            res.assert_error(422, "VALIDATION_ERROR");
        }
        let token = mfa_token(&b, &t).await;
        let res = b
            .request(
                Method::POST,
                "/api/auth/mfa/verify",
                None,
                Some(&json!({"mfa_token": token, "code": code(&secret, 1)})),
            )
            .await;
        assert_limited(&res, 30);

        local.stop().await;
        b.stop().await;
        a.stop().await;
    }
}
