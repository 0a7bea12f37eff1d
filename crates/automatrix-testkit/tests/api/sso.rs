//! Single sign-on with OpenID Connect against the local stand-in provider, over HTTP, with the
//! redirects followed by hand: login → the provider's `/authorize` → our callback. Promises: a
//! verified address of a claimed domain gets an account in that organization with its role; an
//! existing account signs in (and joins the organization of its domain); an unclaimed domain
//! is refused; a state works once and only in the browser that started it; PKCE S256 is sent and checked; every bad ID token (audience,
//! nonce, expiry, signature, issuer, HS256, unverified email) and a refusal by the provider
//! answer 401 and create nothing; a rotated provider key is fetched once when a token names
//! it; an SSO account has no password; `auth.sso_login` is audited.

use automatrix_api::OidcConfig;
use automatrix_testkit::oidc::{OIDC_CLIENT_ID, OIDC_CLIENT_SECRET};
use automatrix_testkit::{Backend, Fault, IdpUser, OidcStandIn, Res, TestApp};
use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

struct Sso {
    app: TestApp,
    idp: OidcStandIn,
    /// Never follows redirects: the test does, one hop at a time.
    browser: reqwest::Client,
    /// The sign-in cookie login set (`name=value`), sent back to the callback.
    cookie: std::sync::Mutex<Option<String>>,
}

async fn setup(backend: Backend) -> Option<Sso> {
    let idp = OidcStandIn::start(IdpUser::verified("nobody@unset.test")).await;
    let issuer = idp.issuer();
    let app = TestApp::spawn_configured_at(backend, |c, base| {
        c.oidc = Some(OidcConfig {
            issuer,
            client_id: OIDC_CLIENT_ID.into(),
            client_secret: Some(OIDC_CLIENT_SECRET.into()),
            redirect_uri: format!("{base}/api/auth/sso/callback"),
            allow_insecure_http: false,
        });
    })
    .await?;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    Some(Sso {
        app,
        idp,
        browser,
        cookie: std::sync::Mutex::new(None),
    })
}

fn domain() -> String {
    format!("d{}.sso.test", Uuid::now_v7().simple())
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl Sso {
    async fn hop(&self, url: &str) -> String {
        let res = self.browser.get(url).send().await.expect("hop");
        if let Some(set) = res.headers().get("set-cookie") {
            let set = set.to_str().expect("cookie");
            assert!(
                set.contains("HttpOnly") && set.contains("SameSite=Lax"),
                "{set}"
            );
            let pair = set.split(';').next().expect("pair").to_owned();
            *self.cookie.lock().expect("cookie") = Some(pair);
        }
        assert_eq!(
            res.status(),
            302,
            "{url}: {}",
            res.text().await.unwrap_or_default()
        );
        res.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned()
    }

    /// Login and the provider's redirect: the callback URL the browser would open next, and
    /// the authorization URL that led there.
    async fn to_callback(&self) -> (String, String) {
        let authorize = self.hop(&self.app.url("/api/auth/sso/login")).await;
        assert!(
            authorize.starts_with(&self.idp.url("/authorize?")),
            "{authorize}"
        );
        let callback = self.hop(&authorize).await;
        assert!(
            callback.starts_with(&self.app.url("/api/auth/sso/callback?")),
            "{callback}"
        );
        (callback, authorize)
    }

    async fn open(&self, url: &str) -> Res {
        let cookie = self.cookie.lock().expect("cookie").clone();
        self.open_with(url, cookie.as_deref()).await
    }

    async fn open_with(&self, url: &str, cookie: Option<&str>) -> Res {
        let mut req = self.browser.get(url);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let res = req.send().await.expect("open");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        Res {
            status,
            body,
            headers,
        }
    }

    async fn sign_in(&self) -> Res {
        let (callback, _) = self.to_callback().await;
        self.open(&callback).await
    }

    /// An owner whose organization accepts `domain` with `role`.
    async fn org_claiming(&self, domain: &str, role: &str) -> automatrix_testkit::Session {
        let owner = self.app.signup().await;
        let res = self
            .app
            .put(
                &format!("/api/orgs/{}/sso", owner.organization_id),
                &owner.access_token,
                &json!({"domains": [domain], "role": role}),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        owner
    }

    async fn has_account(&self, email: &str) -> bool {
        self.app
            .store()
            .find_user_by_email(email)
            .await
            .expect("find user")
            .is_some()
    }
}

fn token(res: &Res) -> String {
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["token_type"], "bearer");
    res.body["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}

async fn a_new_user_is_provisioned_into_the_organization_of_their_domain(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let d = domain();
    let owner = s.org_claiming(&d, "editor").await;
    let email = format!("ann@{d}");
    s.idp.set_user(IdpUser::verified(&email));

    let (callback, authorize) = s.to_callback().await;
    let signed_in = s.open(&callback).await;
    let ann = token(&signed_in);

    // PKCE: the verifier the provider got is the one whose S256 challenge went out.
    let verifiers = s.idp.verifiers();
    assert_eq!(verifiers.len(), 1);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifiers[0].as_bytes()));
    assert_eq!(query_param(&authorize, "code_challenge"), Some(challenge));
    assert_eq!(
        query_param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query_param(&authorize, "scope").as_deref(),
        Some("openid email profile")
    );

    let me = s.app.get("/api/auth/me", &ann).await;
    assert_eq!(me.body["email"], email.as_str());
    assert_eq!(
        me.body["organization_id"],
        owner.organization_id.to_string()
    );
    let members = s
        .app
        .get(
            &format!("/api/orgs/{}/members", owner.organization_id),
            &owner.access_token,
        )
        .await;
    let row = members.body["items"]
        .as_array()
        .or(members.body.as_array())
        .expect("members")
        .iter()
        .find(|m| m["email"] == email.as_str())
        .cloned()
        .expect("the new member is listed");
    assert_eq!(row["role"], "editor");
    let workflows = s.app.get("/api/workflows", &ann).await;
    assert_eq!(workflows.status, 200, "{}", workflows.body);

    // No password opens an SSO account, and trying is a 401 like any wrong password.
    for password in ["!sso", "correct horse battery", ""] {
        s.app
            .request(
                Method::POST,
                "/api/auth/login",
                None,
                Some(&json!({"email": email, "password": password})),
            )
            .await
            .assert_error(401, "UNAUTHORIZED");
    }

    let log = s
        .app
        .get("/api/audit-log?limit=200", &owner.access_token)
        .await;
    let actions: Vec<&str> = log.body["items"]
        .as_array()
        .expect("audit items")
        .iter()
        .filter(|e| e["actor_id"] == me.body["id"])
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"auth.sso_login"), "{actions:?}");
    assert!(actions.contains(&"auth.sso_register"), "{actions:?}");
    s.app.stop().await;
}

async fn an_existing_account_signs_in_and_joins_the_organization_of_its_domain(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let bob = s.app.signup().await;
    s.idp.set_user(IdpUser::verified(&bob.email));

    // Its domain claimed by nobody: it signs in all the same, as itself.
    let first = token(&s.sign_in().await);
    let me = s.app.get("/api/auth/me", &first).await;
    assert_eq!(me.body["id"], bob.user_id.to_string());

    let bob_domain = bob.email.rsplit_once('@').expect("domain").1.to_owned();
    let owner = s.org_claiming(&bob_domain, "viewer").await;
    let again = token(&s.sign_in().await);
    let orgs = s.app.get("/api/orgs", &again).await;
    let items = orgs.body["items"].as_array().expect("orgs");
    assert_eq!(items.len(), 2, "{}", orgs.body);
    let joined = items
        .iter()
        .find(|o| o["id"] == owner.organization_id.to_string())
        .expect("joined the claiming organization");
    assert_eq!(joined["role"], "viewer");
    // Its password still works: SSO did not touch it.
    let login = s
        .app
        .request(
            Method::POST,
            "/api/auth/login",
            None,
            Some(&json!({"email": bob.email, "password": bob.password})),
        )
        .await;
    assert_eq!(login.status, 200);
    s.app.stop().await;
}

async fn an_unclaimed_domain_is_refused(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let email = format!("eve@{}", domain());
    s.idp.set_user(IdpUser::verified(&email));
    let res = s.sign_in().await;
    res.assert_error(403, "FORBIDDEN");
    assert!(
        res.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no organization accepts sign-ins from this domain")
    );
    assert!(!s.has_account(&email).await);
    s.app.stop().await;
}

async fn a_state_works_once_and_a_tampered_one_not_at_all(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let d = domain();
    s.org_claiming(&d, "viewer").await;
    s.idp.set_user(IdpUser::verified(&format!("sam@{d}")));
    let (callback, _) = s.to_callback().await;
    let state = query_param(&callback, "state").expect("state");
    let tampered = callback.replace(&state, "tampered-state-value");
    s.open(&tampered).await.assert_error(401, "UNAUTHORIZED");
    assert!(
        s.idp.verifiers().is_empty(),
        "no code exchange for an unknown state"
    );

    // Login CSRF: the callback in a browser that did not start the sign-in (no cookie, or
    // another sign-in's) is refused, and does not spend the state.
    let mine = s
        .cookie
        .lock()
        .expect("cookie")
        .clone()
        .expect("login set a cookie");
    s.open_with(&callback, None)
        .await
        .assert_error(401, "UNAUTHORIZED");
    let _ = s.hop(&s.app.url("/api/auth/sso/login")).await;
    s.open(&callback).await.assert_error(401, "UNAUTHORIZED");
    assert!(s.idp.verifiers().is_empty());

    token(&s.open_with(&callback, Some(&mine)).await);
    s.open_with(&callback, Some(&mine))
        .await
        .assert_error(401, "UNAUTHORIZED");
    s.app.stop().await;
}

async fn bad_id_tokens_and_refusals_sign_nobody_in(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let d = domain();
    s.org_claiming(&d, "viewer").await;
    for fault in [
        Fault::WrongAudience,
        Fault::WrongNonce,
        Fault::Expired,
        Fault::BadSignature,
        Fault::WrongIssuer,
        Fault::Hs256,
    ] {
        let email = format!("f{}@{d}", Uuid::now_v7().simple());
        s.idp.set_user(IdpUser::verified(&email));
        s.idp.set_fault(fault);
        let res = s.sign_in().await;
        res.assert_error(401, "UNAUTHORIZED");
        assert_eq!(
            res.body["error"]["message"], "the identity provider's ID token is invalid",
            "{fault:?}"
        );
        assert!(!s.has_account(&email).await, "{fault:?} created an account");
    }
    s.idp.set_fault(Fault::None);

    let unverified = format!("u{}@{d}", Uuid::now_v7().simple());
    s.idp.set_user(IdpUser {
        email_verified: false,
        ..IdpUser::verified(&unverified)
    });
    let res = s.sign_in().await;
    res.assert_error(401, "UNAUTHORIZED");
    assert_eq!(
        res.body["error"]["message"],
        "the identity provider has not verified this email address"
    );
    assert!(!s.has_account(&unverified).await);

    s.idp.set_fault(Fault::Refuse);
    let refused = s.sign_in().await;
    refused.assert_error(401, "UNAUTHORIZED");
    let message = refused.body["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains("access_denied") && message.contains("the user declined"),
        "{message}"
    );
    assert!(!s.has_account(&unverified).await);
    s.app.stop().await;
}

async fn a_rotated_provider_key_is_fetched_once_when_a_token_names_it(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let d = domain();
    s.org_claiming(&d, "viewer").await;
    s.idp.set_user(IdpUser::verified(&format!("rot@{d}")));
    token(&s.sign_in().await);
    token(&s.sign_in().await);
    assert_eq!(s.idp.jwks_fetches(), 1, "the key set is cached");
    s.idp.rotate_key();
    token(&s.sign_in().await);
    assert_eq!(
        s.idp.jwks_fetches(),
        2,
        "an unknown kid fetches the set again, once"
    );
    // Under the new kid, a signature by another key is still refused, without another fetch.
    s.idp.set_fault(Fault::BadSignature);
    s.sign_in().await.assert_error(401, "UNAUTHORIZED");
    assert_eq!(s.idp.jwks_fetches(), 2);
    s.app.stop().await;
}

async fn login_answers_the_url_as_json_on_request_and_404_when_not_configured(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let res = s
        .open(&s.app.url("/api/auth/sso/login?redirect=false"))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let url = res.body["authorization_url"].as_str().expect("url");
    assert!(url.starts_with(&s.idp.url("/authorize?")), "{url}");
    assert_eq!(
        query_param(url, "client_id").as_deref(),
        Some(OIDC_CLIENT_ID)
    );
    s.app.stop().await;

    let Some(plain) = TestApp::spawn(backend).await else {
        return;
    };
    for path in [
        "/api/auth/sso/login",
        "/api/auth/sso/callback?code=x&state=y",
    ] {
        plain
            .request(Method::GET, path, None, None)
            .await
            .assert_error(404, "NOT_CONFIGURED");
    }
    plain.stop().await;
}

async fn owners_set_the_domains_admins_read_them_and_a_domain_has_one_organization(
    backend: Backend,
) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let d = domain();
    let owner = s.org_claiming(&d, "editor").await;
    let path = format!("/api/orgs/{}/sso", owner.organization_id);
    let admin = s.app.member_of(&owner, "admin").await;
    let read = s.app.get(&path, &admin.access_token).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body, json!({"domains": [d], "role": "editor"}));
    s.app
        .put(
            &path,
            &admin.access_token,
            &json!({"domains": [], "role": null}),
        )
        .await
        .assert_error(403, "FORBIDDEN");

    let other = s.app.signup().await;
    s.app
        .put(
            &format!("/api/orgs/{}/sso", other.organization_id),
            &other.access_token,
            &json!({"domains": [d.to_uppercase()], "role": "viewer"}),
        )
        .await
        .assert_error(409, "CONFLICT");
    s.app
        .put(
            &path,
            &owner.access_token,
            &json!({"domains": [d], "role": "owner"}),
        )
        .await
        .assert_error(422, "VALIDATION_ERROR");
    s.app
        .put(
            &path,
            &owner.access_token,
            &json!({"domains": ["not a domain"], "role": "viewer"}),
        )
        .await
        .assert_error(422, "VALIDATION_ERROR");
    let cleared = s
        .app
        .put(
            &path,
            &owner.access_token,
            &json!({"domains": [], "role": null}),
        )
        .await;
    assert_eq!(cleared.body, json!({"domains": [], "role": null}));
    s.app.stop().await;
}

macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await;
                }
            )+
        }
    };
}

on_both!(
    a_new_user_is_provisioned_into_the_organization_of_their_domain,
    an_existing_account_signs_in_and_joins_the_organization_of_its_domain,
    an_unclaimed_domain_is_refused,
    a_state_works_once_and_a_tampered_one_not_at_all,
    bad_id_tokens_and_refusals_sign_nobody_in,
    login_answers_the_url_as_json_on_request_and_404_when_not_configured,
    owners_set_the_domains_admins_read_them_and_a_domain_has_one_organization,
    a_rotated_provider_key_is_fetched_once_when_a_token_names_it,
);
