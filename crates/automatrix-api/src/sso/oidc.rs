//! The OpenID Connect relying party: discovery, the JSON Web Key Set, the code exchange and ID
//! token verification. Nothing here decides who may sign in (that is [`super`]).
//!
//! The issuer is configured by the operator, so its URLs are not put through the workflow
//! nodes' SSRF filter; instead the issuer and every endpoint its discovery document names must
//! be `https`, unless on a loopback address or the operator allowed plain HTTP
//! (`allow_insecure_http`).

use std::time::{Duration, Instant};

use base64::Engine as _;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, OnceCell};

/// Where and as whom the server signs users in through OpenID Connect
/// (`AUTOMATRIX_OIDC_*`).
#[derive(Clone)]
pub struct OidcConfig {
    /// The issuer identifier (`https://login.example.com/realms/dealer`): discovery is at
    /// `{issuer}/.well-known/openid-configuration`, and ID tokens must name it as `iss`.
    pub issuer: String,
    pub client_id: String,
    /// Sent with HTTP Basic to the token endpoint; `None`: a public client (PKCE only).
    pub client_secret: Option<String>,
    /// This server's callback, `…/api/auth/sso/callback`, as registered at the provider.
    pub redirect_uri: String,
    /// Accept an `http://` issuer that is not a loopback address (never in production).
    pub allow_insecure_http: bool,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("redirect_uri", &self.redirect_uri)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish()
    }
}

impl OidcConfig {
    /// Checks the settings at start-up: absolute URLs, `https` unless allowed otherwise.
    pub fn validate(&self) -> Result<(), String> {
        if self.client_id.trim().is_empty() {
            return Err("the OIDC client id is empty".into());
        }
        self.check_url("issuer", &self.issuer)?;
        if !(self.redirect_uri.starts_with("https://") || self.redirect_uri.starts_with("http://"))
        {
            return Err(format!(
                "the OIDC redirect URI must be an absolute http(s) URL, got {:?}",
                self.redirect_uri
            ));
        }
        Ok(())
    }

    /// `url` may be fetched: `https`, or `http` to a loopback host or when allowed.
    fn check_url(&self, what: &str, url: &str) -> Result<(), String> {
        if url.starts_with("https://") {
            return Ok(());
        }
        let Some(rest) = url.strip_prefix("http://") else {
            return Err(format!("the OIDC {what} must be an https URL, got {url:?}"));
        };
        if self.allow_insecure_http || is_loopback(rest) {
            return Ok(());
        }
        Err(format!(
            "the OIDC {what} must use https (plain http only for a loopback issuer or with \
             AUTOMATRIX_OIDC_ALLOW_INSECURE_HTTP), got {url:?}"
        ))
    }
}

/// Whether the authority at the start of `rest` (after `http://`) is a loopback address.
fn is_loopback(rest: &str) -> bool {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Why a sign-in could not be finished.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached or answered nonsense: not the user's fault.
    #[error("identity provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the code (expired, spent, wrong verifier).
    #[error("the identity provider refused the code: {0}")]
    CodeRefused(String),
    /// The ID token failed verification; the reason is for the log.
    #[error("invalid ID token: {0}")]
    InvalidToken(String),
}

/// The provider metadata we use (OpenID Connect Discovery 1.0 §3).
#[derive(Clone, Debug, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

/// The claims of an ID token that decide the sign-in.
#[derive(Debug, Deserialize)]
pub struct IdClaims {
    pub sub: String,
    pub iat: i64,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub azp: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: Option<serde_json::Value>,
    #[serde(default)]
    pub name: Option<String>,
}

impl IdClaims {
    /// `email_verified` as a boolean (some providers send the string `"true"`).
    pub fn email_is_verified(&self) -> bool {
        match &self.email_verified {
            Some(serde_json::Value::Bool(b)) => *b,
            Some(serde_json::Value::String(s)) => s == "true",
            _ => false,
        }
    }
}

/// How long discovery is trusted before it is fetched again.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// Clock skew allowed on `exp` and `iat`.
const LEEWAY_SECS: u64 = 60;
/// The most of a provider's answer we read.
const MAX_BODY: usize = 1024 * 1024;

/// A relying party for one issuer, shared by the process: discovery and keys are cached.
pub struct OidcClient {
    pub config: OidcConfig,
    http: OnceCell<reqwest::Client>,
    discovery: Mutex<Option<(Instant, Discovery)>>,
    keys: Mutex<Option<JwkSet>>,
}

impl OidcClient {
    pub fn new(config: OidcConfig) -> Self {
        Self {
            config,
            http: OnceCell::new(),
            discovery: Mutex::new(None),
            keys: Mutex::new(None),
        }
    }

    async fn http(&self) -> Result<&reqwest::Client, OidcError> {
        self.http
            .get_or_try_init(|| async {
                // reqwest (`rustls-no-provider`) panics without an installed provider; the
                // binary installs ring first, this covers tests and other embedders.
                if rustls::crypto::CryptoProvider::get_default().is_none() {
                    let _ = rustls::crypto::ring::default_provider().install_default();
                }
                reqwest::Client::builder()
                    .user_agent(concat!("automatrix/", env!("CARGO_PKG_VERSION")))
                    .redirect(reqwest::redirect::Policy::none())
                    .referer(false)
                    .connect_timeout(Duration::from_secs(5))
                    .timeout(Duration::from_secs(10))
                    .build()
                    .map_err(|e| OidcError::Unavailable(format!("HTTP client: {e}")))
            })
            .await
    }

    /// GETs `url` as JSON (at most [`MAX_BODY`] bytes).
    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, OidcError> {
        self.config
            .check_url("endpoint", url)
            .map_err(OidcError::Unavailable)?;
        let res = self
            .http()
            .await?
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| OidcError::Unavailable(format!("GET {url}: {e}")))?;
        if !res.status().is_success() {
            return Err(OidcError::Unavailable(format!(
                "GET {url}: HTTP {}",
                res.status()
            )));
        }
        let body = read_limited(res).await?;
        serde_json::from_slice(&body)
            .map_err(|e| OidcError::Unavailable(format!("GET {url}: unreadable answer: {e}")))
    }

    /// The provider's metadata, fetched on first use and again after an hour.
    #[tracing::instrument(skip_all)]
    pub async fn discovery(&self) -> Result<Discovery, OidcError> {
        let mut cached = self.discovery.lock().await;
        if let Some((at, d)) = cached.as_ref()
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(d.clone());
        }
        let issuer = self.config.issuer.trim_end_matches('/');
        let url = format!("{issuer}/.well-known/openid-configuration");
        let d: Discovery = self.get_json(&url).await?;
        // Discovery §4.3: the document must name the issuer it was fetched for.
        if d.issuer.trim_end_matches('/') != issuer {
            return Err(OidcError::Unavailable(format!(
                "discovery names issuer {:?}, expected {issuer:?}",
                d.issuer
            )));
        }
        for url in [&d.authorization_endpoint, &d.token_endpoint, &d.jwks_uri] {
            self.config
                .check_url("endpoint", url)
                .map_err(OidcError::Unavailable)?;
        }
        *cached = Some((Instant::now(), d.clone()));
        Ok(d)
    }

    /// The URL to send the browser to: authorization code flow with PKCE (S256).
    pub async fn authorization_url(
        &self,
        state: &str,
        nonce: &str,
        code_verifier: &str,
    ) -> Result<String, OidcError> {
        let d = self.discovery().await?;
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", &self.config.redirect_uri)
            .append_pair("scope", "openid email profile")
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", &pkce_challenge(code_verifier))
            .append_pair("code_challenge_method", "S256")
            .finish();
        let sep = if d.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        Ok(format!("{}{sep}{query}", d.authorization_endpoint))
    }

    /// Exchanges `code` at the token endpoint and returns the verified ID token's claims.
    #[tracing::instrument(skip_all)]
    pub async fn finish(
        &self,
        code: &str,
        code_verifier: &str,
        nonce: &str,
    ) -> Result<IdClaims, OidcError> {
        let d = self.discovery().await?;
        let id_token = self.exchange(&d, code, code_verifier).await?;
        self.verify(&d, &id_token, nonce).await
    }

    async fn exchange(
        &self,
        d: &Discovery,
        code: &str,
        code_verifier: &str,
    ) -> Result<String, OidcError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.config.redirect_uri.as_str()),
            ("code_verifier", code_verifier),
        ];
        let mut req = self.http().await?.post(&d.token_endpoint);
        match &self.config.client_secret {
            // client_secret_basic (the default method): both parts form-encoded first
            // (RFC 6749 §2.3.1).
            Some(secret) => {
                let enc =
                    |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                req = req.basic_auth(enc(&self.config.client_id), Some(enc(secret)));
            }
            None => form.push(("client_id", self.config.client_id.as_str())),
        }
        let res = req
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| OidcError::Unavailable(format!("token endpoint: {e}")))?;
        let status = res.status();
        let body = read_limited(res).await?;
        if status.is_client_error() {
            let error: TokenError = serde_json::from_slice(&body).unwrap_or_default();
            return Err(OidcError::CodeRefused(format!(
                "HTTP {status}: {} {}",
                error.error, error.error_description
            )));
        }
        if !status.is_success() {
            return Err(OidcError::Unavailable(format!(
                "token endpoint: HTTP {status}"
            )));
        }
        let tokens: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|e| OidcError::Unavailable(format!("token endpoint answer: {e}")))?;
        Ok(tokens.id_token)
    }

    /// The key for `kid` from the cached set, fetching the set when it is not there yet or
    /// does not have it (a rotated key): at most one fetch per verification.
    async fn key(
        &self,
        d: &Discovery,
        kid: Option<&str>,
    ) -> Result<jsonwebtoken::jwk::Jwk, OidcError> {
        let mut keys = self.keys.lock().await;
        let pick = |set: &JwkSet| match kid {
            Some(kid) => set.find(kid).cloned(),
            // Without a kid the set must have exactly one key to be unambiguous.
            None => (set.keys.len() == 1).then(|| set.keys[0].clone()),
        };
        if let Some(found) = keys.as_ref().and_then(pick) {
            return Ok(found);
        }
        let fresh: JwkSet = self.get_json(&d.jwks_uri).await?;
        let found = pick(&fresh);
        *keys = Some(fresh);
        found.ok_or_else(|| OidcError::InvalidToken(format!("no key {kid:?} in the JWKS")))
    }

    async fn verify(&self, d: &Discovery, token: &str, nonce: &str) -> Result<IdClaims, OidcError> {
        let invalid = |m: String| OidcError::InvalidToken(m);
        let header = jsonwebtoken::decode_header(token).map_err(|e| invalid(e.to_string()))?;
        // Asymmetric signatures only: never `none`, never HS* (the client secret is known to
        // more parties than the issuer).
        let alg = header.alg;
        if !matches!(alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(invalid(format!("algorithm {alg:?} is not accepted")));
        }
        let jwk = self.key(d, header.kid.as_deref()).await?;
        let family_fits = matches!(
            (&jwk.algorithm, alg),
            (AlgorithmParameters::RSA(_), Algorithm::RS256)
                | (AlgorithmParameters::EllipticCurve(_), Algorithm::ES256)
        );
        if !family_fits {
            return Err(invalid(format!("key does not fit algorithm {alg:?}")));
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| invalid(e.to_string()))?;
        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY_SECS;
        validation.set_audience(&[&self.config.client_id]);
        validation.set_issuer(&[&d.issuer]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
            .map_err(|e| invalid(e.to_string()))?
            .claims;
        let now = chrono::Utc::now().timestamp();
        if claims.iat > now + LEEWAY_SECS as i64 {
            return Err(invalid("issued in the future".into()));
        }
        if claims
            .azp
            .as_deref()
            .is_some_and(|azp| azp != self.config.client_id)
        {
            return Err(invalid("authorized party is another client".into()));
        }
        let nonce_ok = claims
            .nonce
            .as_deref()
            .is_some_and(|n| subtle::ConstantTimeEq::ct_eq(n.as_bytes(), nonce.as_bytes()).into());
        if !nonce_ok {
            return Err(invalid("nonce does not match".into()));
        }
        Ok(claims)
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: String,
}

#[derive(Deserialize, Default)]
struct TokenError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

async fn read_limited(mut res: reqwest::Response) -> Result<Vec<u8>, OidcError> {
    let mut body = Vec::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| OidcError::Unavailable(format!("reading an answer: {e}")))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(OidcError::Unavailable("answer too large".into()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// PKCE S256: `BASE64URL(SHA256(verifier))` without padding (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(issuer: &str, insecure: bool) -> OidcConfig {
        OidcConfig {
            issuer: issuer.into(),
            client_id: "automatrix".into(),
            client_secret: Some("s3cret".into()),
            redirect_uri: "https://automatrix.example/api/auth/sso/callback".into(),
            allow_insecure_http: insecure,
        }
    }

    #[test]
    fn the_issuer_must_be_https_unless_loopback_or_allowed() {
        assert!(config("https://idp.example", false).validate().is_ok());
        assert!(config("http://127.0.0.1:8080", false).validate().is_ok());
        assert!(config("http://[::1]:8080/realm", false).validate().is_ok());
        assert!(config("http://localhost/realm", false).validate().is_ok());
        assert!(config("http://idp.example", false).validate().is_err());
        assert!(
            config("http://127.0.0.1@idp.example", false)
                .validate()
                .is_err()
        );
        assert!(config("http://idp.example", true).validate().is_ok());
        assert!(config("ftp://idp.example", true).validate().is_err());
    }

    #[test]
    fn the_secret_is_redacted() {
        let shown = format!("{:?}", config("https://idp.example", false));
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn the_pkce_challenge_is_rfc_7636s() {
        // RFC 7636 Appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
