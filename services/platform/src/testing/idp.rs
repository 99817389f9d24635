//! A stand-in identity provider for tests: it serves a JWKS on 127.0.0.1 (the keys it
//! publishes can change while services run: a rotation) and signs RS256 and ES256 tokens with
//! the test keys in `testing/keys/` (test-only keys, published nowhere else).

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::auth::Role;

/// A test key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// RS256, kid `key-a`.
    RsaA,
    /// RS256, kid `key-b` (the rotation's new key).
    RsaB,
    /// ES256, kid `key-c`.
    EcC,
    /// RS256, kid `key-a` too, but in no key set: a forger's key.
    Outside,
}

impl Key {
    fn kid(self) -> &'static str {
        match self {
            Key::RsaA | Key::Outside => "key-a",
            Key::RsaB => "key-b",
            Key::EcC => "key-c",
        }
    }

    fn encoding(self) -> (EncodingKey, Algorithm) {
        let rsa = |pem: &str| {
            EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap_or_else(|e| panic!("test key: {e}"))
        };
        match self {
            Key::RsaA => (rsa(include_str!("keys/rsa-a.pem")), Algorithm::RS256),
            Key::RsaB => (rsa(include_str!("keys/rsa-b.pem")), Algorithm::RS256),
            Key::Outside => (rsa(include_str!("keys/rsa-outside.pem")), Algorithm::RS256),
            Key::EcC => (
                EncodingKey::from_ec_pem(include_bytes!("keys/ec-c.pem"))
                    .unwrap_or_else(|e| panic!("test key: {e}")),
                Algorithm::ES256,
            ),
        }
    }

    fn jwk(self) -> Value {
        let all: Value = serde_json::from_str(include_str!("keys/jwks.json"))
            .unwrap_or_else(|e| panic!("test JWKS: {e}"));
        match self {
            Key::RsaA => all["rsa-a"].clone(),
            Key::RsaB => all["rsa-b"].clone(),
            Key::EcC => all["ec-c"].clone(),
            Key::Outside => panic!("the outside key is published nowhere"),
        }
    }

    /// Its public key as PEM (for `auth.jwt_public_key_file`).
    pub fn public_pem(self) -> &'static str {
        match self {
            Key::RsaA => include_str!("keys/rsa-a.pub.pem"),
            Key::RsaB => include_str!("keys/rsa-b.pub.pem"),
            Key::EcC => include_str!("keys/ec-c.pub.pem"),
            Key::Outside => include_str!("keys/rsa-outside.pub.pem"),
        }
    }
}

/// The issuer and audience the test IdP's tokens carry by default.
pub const ISSUER: &str = "https://idp.aftersales.test";
pub const AUDIENCE: &str = "aftersales";

/// What a token says.
#[derive(Debug, Clone)]
pub struct Claims<'a> {
    pub sub: &'a str,
    pub branch: &'a str,
    pub roles: &'a [Role],
    pub issuer: &'a str,
    pub audience: &'a str,
    pub ttl: Duration,
}

impl<'a> Claims<'a> {
    /// A token for `sub` of `branch` with `roles`, valid an hour, from the test IdP.
    pub fn new(sub: &'a str, branch: &'a str, roles: &'a [Role]) -> Self {
        Self {
            sub,
            branch,
            roles,
            issuer: ISSUER,
            audience: AUDIENCE,
            ttl: Duration::from_secs(3600),
        }
    }
}

/// Signs `claims` with `key` (its kid in the header).
pub fn token(key: Key, claims: &Claims<'_>) -> String {
    let (encoding, alg) = key.encoding();
    let mut header = Header::new(alg);
    header.kid = Some(key.kid().to_owned());
    let exp = chrono::Utc::now().timestamp() as u64 + claims.ttl.as_secs();
    let body = json!({
        "sub": claims.sub,
        "branch": claims.branch,
        "roles": claims.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "iss": claims.issuer,
        "aud": claims.audience,
        "exp": exp,
    });
    jsonwebtoken::encode(&header, &body, &encoding).unwrap_or_else(|e| panic!("sign: {e}"))
}

/// The IdP: a JWKS endpoint whose published keys the test changes.
pub struct TestIdp {
    addr: SocketAddr,
    published: Arc<RwLock<Vec<Key>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestIdp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestIdp {
    pub async fn start(published: &[Key]) -> TestIdp {
        let keys = Arc::new(RwLock::new(published.to_vec()));
        let served = keys.clone();
        let app = axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get(move || {
                let keys = served.clone();
                async move {
                    let list: Vec<Value> = keys
                        .read()
                        .map(|k| k.iter().map(|k| k.jwk()).collect())
                        .unwrap_or_default();
                    axum::Json(json!({ "keys": list }))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("test IdP: bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("test IdP: {e}"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestIdp {
            addr,
            published: keys,
            server,
        }
    }

    pub fn jwks_url(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.addr)
    }

    /// Publishes another key set (a rotation).
    pub fn publish(&self, keys: &[Key]) {
        if let Ok(mut k) = self.published.write() {
            *k = keys.to_vec();
        }
    }

    /// The `AFTERSALES__AUTH__…` variables that make a service trust this IdP (and check the
    /// default issuer and audience).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AFTERSALES__AUTH__JWKS_URL".into(), self.jwks_url()),
            ("AFTERSALES__AUTH__ISSUER".into(), ISSUER.into()),
            ("AFTERSALES__AUTH__AUDIENCE".into(), AUDIENCE.into()),
        ]
    }
}
