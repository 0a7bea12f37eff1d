//! A local OpenID Connect provider standing in for a real one in single sign-on tests:
//! discovery, `/authorize` (signs the configured user in at once and redirects back with a
//! code), `/token` (checks the client, the code, the redirect URI and PKCE S256) and `/jwks`.
//! ID tokens are signed RS256 with a key generated when the first stand-in starts (never a
//! committed key). Knobs ([`Fault`]) make it misbehave the ways a relying party must catch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::MockServer;

/// The client the stand-in knows.
pub const OIDC_CLIENT_ID: &str = "automatrix-test";
pub const OIDC_CLIENT_SECRET: &str = "stand-in-client-secret";
/// The `kid` of the signing key in the JWKS.
pub const OIDC_KID: &str = "stand-in-key-1";
/// The `kid` of the key signing after [`OidcStandIn::rotate_key`].
pub const OIDC_ROTATED_KID: &str = "stand-in-key-2";

/// The person the provider signs in.
#[derive(Clone, Debug)]
pub struct IdpUser {
    pub email: String,
    pub email_verified: bool,
    pub name: String,
}

impl IdpUser {
    pub fn verified(email: &str) -> Self {
        Self {
            email: email.into(),
            email_verified: true,
            name: "Sso Person".into(),
        }
    }
}

/// How the provider misbehaves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fault {
    #[default]
    None,
    /// `/authorize` redirects back with `error=access_denied`.
    Refuse,
    /// The ID token is for another client.
    WrongAudience,
    /// The ID token carries another nonce.
    WrongNonce,
    /// The ID token expired an hour ago.
    Expired,
    /// The ID token is signed by another key under the same `kid`.
    BadSignature,
    /// The ID token names another issuer.
    WrongIssuer,
    /// The ID token is HS256, keyed with the client secret.
    Hs256,
}

struct Grant {
    redirect_uri: String,
    challenge: String,
    nonce: String,
    user: IdpUser,
}

struct Inner {
    issuer: String,
    user: Mutex<IdpUser>,
    fault: Mutex<Fault>,
    codes: Mutex<HashMap<String, Grant>>,
    /// The `code_verifier`s the token endpoint received, in order.
    verifiers: Mutex<Vec<String>>,
    /// Signing with the second key (published next to the first).
    rotated: std::sync::atomic::AtomicBool,
    /// How many times the JWKS was fetched.
    jwks_fetches: std::sync::atomic::AtomicUsize,
}

struct Keys {
    signing: EncodingKey,
    other: EncodingKey,
    jwk: Jwk,
    /// The public half of `other`, published under [`OIDC_ROTATED_KID`] after a rotation.
    other_jwk: Jwk,
}

/// Two RSA keys per test process (generating them is the slow part).
fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let der = || {
            let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA key");
            key.to_pkcs1_der().expect("PKCS#1 DER").as_bytes().to_vec()
        };
        let signing = EncodingKey::from_rsa_der(&der());
        let other = EncodingKey::from_rsa_der(&der());
        let jwk_of = |key: &EncodingKey, kid: &str| {
            let mut jwk = Jwk::from_encoding_key(key, Algorithm::RS256).expect("JWK");
            jwk.common.key_id = Some(kid.into());
            jwk.common.public_key_use = Some(PublicKeyUse::Signature);
            jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
            jwk
        };
        Keys {
            jwk: jwk_of(&signing, OIDC_KID),
            other_jwk: jwk_of(&other, OIDC_ROTATED_KID),
            signing,
            other,
        }
    })
}

/// The running stand-in; stops when dropped.
pub struct OidcStandIn {
    server: MockServer,
    inner: Arc<Inner>,
}

impl OidcStandIn {
    /// Starts on 127.0.0.1 and a free port, signing in `user`.
    pub async fn start(user: IdpUser) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let issuer = format!("http://{addr}");
        let inner = Arc::new(Inner {
            issuer,
            user: Mutex::new(user),
            fault: Mutex::new(Fault::None),
            codes: Mutex::new(HashMap::new()),
            verifiers: Mutex::new(Vec::new()),
            rotated: Default::default(),
            jwks_fetches: Default::default(),
        });
        let _ = keys();
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/jwks", get(jwks))
            .with_state(inner.clone());
        let server = MockServer::serve(listener, router);
        Self { server, inner }
    }

    /// The issuer identifier (`http://127.0.0.1:PORT`).
    pub fn issuer(&self) -> String {
        self.inner.issuer.clone()
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    pub fn set_user(&self, user: IdpUser) {
        *self.inner.user.lock().expect("user") = user;
    }

    pub fn set_fault(&self, fault: Fault) {
        *self.inner.fault.lock().expect("fault") = fault;
    }

    /// From now on, signs with a second key under a new `kid`, published in the JWKS next to
    /// the first (a provider's key rotation).
    pub fn rotate_key(&self) {
        self.inner
            .rotated
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// How many times the JWKS was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.inner
            .jwks_fetches
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The PKCE verifiers the token endpoint received.
    pub fn verifiers(&self) -> Vec<String> {
        self.inner.verifiers.lock().expect("verifiers").clone()
    }
}

/// A 302, as providers commonly answer `/authorize`.
fn found(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_owned())]).into_response()
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

async fn discovery(State(s): State<Arc<Inner>>) -> Json<Value> {
    let i = &s.issuer;
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
    }))
}

async fn jwks(State(s): State<Arc<Inner>>) -> Json<JwkSet> {
    use std::sync::atomic::Ordering::SeqCst;
    s.jwks_fetches.fetch_add(1, SeqCst);
    let mut set = vec![keys().jwk.clone()];
    if s.rotated.load(SeqCst) {
        set.push(keys().other_jwk.clone());
    }
    Json(JwkSet { keys: set })
}

fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", q.finish())
}

async fn authorize(
    State(s): State<Arc<Inner>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let redirect_uri = get("redirect_uri");
    if get("client_id") != OIDC_CLIENT_ID || redirect_uri.is_empty() {
        return oauth_error("invalid_request", "unknown client or no redirect_uri");
    }
    let state = get("state");
    let fault = *s.fault.lock().expect("fault");
    if fault == Fault::Refuse {
        let to = with_query(
            &redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "the user declined"),
                ("state", &state),
            ],
        );
        return found(&to);
    }
    let scopes = get("scope");
    if get("response_type") != "code"
        || get("code_challenge_method") != "S256"
        || get("code_challenge").is_empty()
        || !scopes.split(' ').any(|s| s == "openid")
    {
        return oauth_error(
            "invalid_request",
            "code flow with S256 PKCE and scope openid",
        );
    }
    let code = automatrix_engine::random_token();
    s.codes.lock().expect("codes").insert(
        code.clone(),
        Grant {
            redirect_uri: redirect_uri.clone(),
            challenge: get("code_challenge"),
            nonce: get("nonce"),
            user: s.user.lock().expect("user").clone(),
        },
    );
    found(&with_query(
        &redirect_uri,
        &[("code", &code), ("state", &state)],
    ))
}

/// `client_secret_basic`: `Basic base64(urlencode(id):urlencode(secret))`.
fn client_of(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = value.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (id, secret) = raw.split_once(':')?;
    let dec = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((dec(id)?, dec(secret)?))
}

async fn token(
    State(s): State<Arc<Inner>>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    if client_of(&headers) != Some((OIDC_CLIENT_ID.into(), OIDC_CLIENT_SECRET.into())) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    if get("grant_type") != "authorization_code" {
        return oauth_error("unsupported_grant_type", "authorization_code only");
    }
    let verifier = get("code_verifier");
    s.verifiers
        .lock()
        .expect("verifiers")
        .push(verifier.clone());
    // A code works once, whatever happens next.
    let Some(grant) = s.codes.lock().expect("codes").remove(&get("code")) else {
        return oauth_error("invalid_grant", "unknown or used code");
    };
    if grant.redirect_uri != get("redirect_uri") {
        return oauth_error("invalid_grant", "redirect_uri differs");
    }
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    if challenge != grant.challenge {
        return oauth_error("invalid_grant", "PKCE verification failed");
    }
    let fault = *s.fault.lock().expect("fault");
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": s.issuer,
        "sub": format!("sub-{}", grant.user.email),
        "aud": OIDC_CLIENT_ID,
        "iat": now,
        "exp": now + 300,
        "nonce": grant.nonce,
        "email": grant.user.email,
        "email_verified": grant.user.email_verified,
        "name": grant.user.name,
    });
    match fault {
        Fault::WrongAudience => claims["aud"] = json!("another-client"),
        Fault::WrongNonce => claims["nonce"] = json!("not-the-nonce"),
        Fault::Expired => {
            claims["iat"] = json!(now - 7200);
            claims["exp"] = json!(now - 3600);
        }
        Fault::WrongIssuer => claims["iss"] = json!("https://impostor.example"),
        _ => {}
    }
    let id_token = match fault {
        Fault::Hs256 => jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(OIDC_CLIENT_SECRET.as_bytes()),
        ),
        _ => {
            let rotated = s.rotated.load(std::sync::atomic::Ordering::SeqCst);
            let mut header = Header::new(Algorithm::RS256);
            header.kid = Some(if rotated { OIDC_ROTATED_KID } else { OIDC_KID }.into());
            // A bad signature: the other key under the kid of this one.
            let key = if (fault == Fault::BadSignature) != rotated {
                &keys().other
            } else {
                &keys().signing
            };
            jsonwebtoken::encode(&header, &claims, key)
        }
    }
    .expect("sign ID token");
    Json(json!({
        "access_token": automatrix_engine::random_token(),
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}
