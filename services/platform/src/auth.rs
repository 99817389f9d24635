//! The caller's identity (DESIGN §7, §8): the gateway forwards the caller's own JWT in the
//! `authorization` metadata and every service verifies it itself, so a forged header from
//! inside the cluster gets nowhere.
//!
//! Claims: `sub`, `branch` (a branch code, or `*` for head office), `roles`, `exp` (required);
//! `dealer` (the dealer or agent code a `dealer` token acts for); `iss` and `aud` checked when
//! configured.
//! Keys: the identity provider's JWKS (RS256/ES256 by `kid`, cached and refreshed), a mounted
//! public key (PEM, RS256 or ES256), or, for local development only, an HS256 secret of at
//! least 32 bytes. A token signed with another algorithm than the configured keys' is refused.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::config::AuthSettings;

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    BranchAgent,
    Reviewer,
    Warehouse,
    Procurement,
    Logistics,
    Dispatcher,
    Technician,
    Analyst,
    /// A dealer or agent: sees only what its token's `dealer` claim names.
    Dealer,
    Admin,
}

impl Role {
    pub const ALL: [Role; 10] = [
        Role::BranchAgent,
        Role::Reviewer,
        Role::Warehouse,
        Role::Procurement,
        Role::Logistics,
        Role::Dispatcher,
        Role::Technician,
        Role::Analyst,
        Role::Dealer,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::BranchAgent => "branch_agent",
            Role::Reviewer => "reviewer",
            Role::Warehouse => "warehouse",
            Role::Procurement => "procurement",
            Role::Logistics => "logistics",
            Role::Dispatcher => "dispatcher",
            Role::Technician => "technician",
            Role::Analyst => "analyst",
            Role::Dealer => "dealer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which branches' data the caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BranchScope {
    /// Head office (`branch: "*"`).
    All,
    Branch(String),
}

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub subject: String,
    pub scope: BranchScope,
    pub roles: BTreeSet<Role>,
    /// The raw token, forwarded when this service calls another.
    pub token: String,
    /// When the token expires (Unix seconds): a long-lived connection (an event stream) ends
    /// then.
    pub expires_at: u64,
    /// The dealer or agent code the token acts for (the `dealer` claim), if any.
    pub dealer: Option<String>,
}

impl Caller {
    pub fn has_any(&self, roles: &[Role]) -> bool {
        self.roles.contains(&Role::Admin) || roles.iter().any(|r| self.roles.contains(r))
    }

    /// Whether the caller may see data of `branch`.
    pub fn sees_branch(&self, branch: &str) -> bool {
        match &self.scope {
            BranchScope::All => true,
            BranchScope::Branch(b) => b == branch,
        }
    }

    /// The dealer whose data this caller may see: `Ok(None)` for staff (head office and branch
    /// roles see every dealer of their scope), `Ok(Some(code))` for a dealer's token, and an
    /// error for a caller whose only business-side role is `dealer` without a `dealer` claim.
    pub fn dealer_scope(&self) -> Result<Option<&str>, AuthError> {
        let staff = self.roles.iter().any(|r| *r != Role::Dealer);
        match (&self.dealer, staff) {
            (_, true) => Ok(None),
            (Some(code), false) => Ok(Some(code)),
            (None, false) => Err(AuthError::Forbidden(
                "dealer (a token with the dealer claim)".into(),
            )),
        }
    }

    /// The only branch the caller may see, or `None` for head office.
    pub fn branch(&self) -> Option<&str> {
        match &self.scope {
            BranchScope::All => None,
            BranchScope::Branch(b) => Some(b),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    branch: String,
    #[serde(default)]
    roles: Vec<String>,
    exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dealer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<serde_json::Value>,
}

/// Why a token was refused. The message is safe to send to the caller.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("missing bearer token in the authorization header")]
    Missing,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("the caller's role does not allow this (needs one of: {0})")]
    Forbidden(String),
}

impl From<AuthError> for tonic::Status {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Forbidden(_) => tonic::Status::permission_denied(e.to_string()),
            _ => tonic::Status::unauthenticated(e.to_string()),
        }
    }
}

/// Where the verification keys come from.
enum Source {
    /// Development: one shared HS256 secret.
    Hs256(DecodingKey),
    /// A mounted public key: RS256 (RSA) or ES256 (EC P-256).
    Pem(DecodingKey, Algorithm),
    /// The identity provider's key set, by `kid`.
    Jwks(String),
}

/// The keys of a JWKS, by `kid`, with the algorithm each is for.
type KeySet = HashMap<String, (DecodingKey, Algorithm)>;

struct Inner {
    source: Source,
    issuer: Option<String>,
    audience: Option<String>,
    leeway: u64,
    refresh_every: Duration,
    jwks: RwLock<KeySet>,
    /// When the JWKS was last fetched (successfully or not): an unknown `kid` triggers a fetch
    /// at most this often, so a flood of forged kids cannot hammer the identity provider.
    last_fetch: Mutex<Option<Instant>>,
    /// One fetch at a time.
    fetching: tokio::sync::Mutex<()>,
}

/// Verifies tokens. Cheap to clone. With a JWKS the keys are fetched by the kit at start and
/// every `auth.jwks_refresh_secs`, and at once when a token names an unknown `kid` (see
/// [`Verifier::ensure_key`], which the kit's gRPC server and the gateway call before a
/// handler verifies), so a key rotation at the identity provider needs no restart.
#[derive(Clone)]
pub struct Verifier(Arc<Inner>);

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.0.source {
            Source::Hs256(_) => "hs256 (development)".to_owned(),
            Source::Pem(_, alg) => format!("pem {alg:?}"),
            Source::Jwks(url) => format!("jwks {url}"),
        };
        f.debug_struct("Verifier").field("source", &source).finish()
    }
}

/// The shortest pause between two JWKS fetches caused by unknown kids: a flood of tokens with
/// made-up kids costs the identity provider at most one fetch a second.
const MIN_REFETCH: Duration = Duration::from_secs(1);

impl Verifier {
    pub fn from_settings(settings: &AuthSettings) -> anyhow::Result<Self> {
        let source = match (
            &settings.jwks_url,
            &settings.jwt_public_key_file,
            &settings.jwt_secret,
        ) {
            (Some(url), _, _) => Source::Jwks(url.clone()),
            (None, Some(path), _) => {
                let pem = std::fs::read(path)?;
                match DecodingKey::from_rsa_pem(&pem) {
                    Ok(k) => Source::Pem(k, Algorithm::RS256),
                    Err(_) => Source::Pem(DecodingKey::from_ec_pem(&pem)?, Algorithm::ES256),
                }
            }
            (None, None, Some(secret)) => {
                if secret.expose_secret().len() < 32 {
                    anyhow::bail!("auth.jwt_secret: must be at least 32 bytes");
                }
                Source::Hs256(DecodingKey::from_secret(secret.expose_secret().as_bytes()))
            }
            (None, None, None) => {
                anyhow::bail!("auth: no jwks_url, no jwt_public_key_file and no jwt_secret")
            }
        };
        Ok(Self(Arc::new(Inner {
            source,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            leeway: settings.leeway_secs,
            refresh_every: Duration::from_secs(settings.jwks_refresh_secs.max(1)),
            jwks: RwLock::new(HashMap::new()),
            last_fetch: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
        })))
    }

    /// Whether keys come from a JWKS (the kit then runs [`Verifier::keep_keys_fresh`]).
    pub fn uses_jwks(&self) -> bool {
        matches!(self.0.source, Source::Jwks(_))
    }

    /// Fetches the JWKS now and then every `auth.jwks_refresh_secs` until `stop`. A failed
    /// fetch keeps the keys it had and tries again at the next turn.
    pub async fn keep_keys_fresh(self, stop: crate::shutdown::Shutdown) -> anyhow::Result<()> {
        loop {
            if let Err(e) = self.refresh().await {
                tracing::warn!(error = %format!("{e:#}"), "JWKS fetch failed; keeping the keys held");
            }
            tokio::select! {
                _ = stop.wait() => return Ok(()),
                _ = tokio::time::sleep(self.0.refresh_every) => {}
            }
        }
    }

    /// Before a handler verifies `token`: when it names a `kid` the JWKS cache does not hold,
    /// fetch the JWKS once (at most every few seconds), so a freshly rotated key verifies on its
    /// first use.
    pub async fn ensure_key(&self, token: &str) {
        let Source::Jwks(_) = self.0.source else {
            return;
        };
        let Some(kid) = jsonwebtoken::decode_header(token).ok().and_then(|h| h.kid) else {
            return;
        };
        if self.known(&kid) {
            return;
        }
        let _one = self.0.fetching.lock().await;
        if self.known(&kid) {
            return;
        }
        let recent = lock(&self.0.last_fetch).is_some_and(|t| t.elapsed() < MIN_REFETCH);
        if recent {
            return;
        }
        if let Err(e) = self.refresh().await {
            tracing::warn!(error = %format!("{e:#}"), %kid, "JWKS fetch for an unknown kid failed");
        }
    }

    fn known(&self, kid: &str) -> bool {
        self.0
            .jwks
            .read()
            .map(|k| k.contains_key(kid))
            .unwrap_or(false)
    }

    async fn refresh(&self) -> anyhow::Result<()> {
        let Source::Jwks(url) = &self.0.source else {
            return Ok(());
        };
        *lock(&self.0.last_fetch) = Some(Instant::now());
        let body = crate::http_client::get(url, Duration::from_secs(10)).await?;
        let set: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(&body)?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            let alg = match &jwk.algorithm {
                jsonwebtoken::jwk::AlgorithmParameters::RSA(_) => Algorithm::RS256,
                jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
                // Symmetric or unknown keys are never accepted from a key set.
                _ => continue,
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(k) => {
                    keys.insert(kid, (k, alg));
                }
                Err(e) => tracing::warn!(%kid, error = %e, "unusable key in the JWKS"),
            }
        }
        tracing::info!(keys = keys.len(), "JWKS fetched");
        if let Ok(mut held) = self.0.jwks.write() {
            *held = keys;
        }
        Ok(())
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        let mut required = vec!["exp", "sub"];
        if let Some(iss) = &self.0.issuer {
            v.set_issuer(&[iss]);
            required.push("iss");
        }
        match &self.0.audience {
            Some(aud) => {
                v.set_audience(&[aud]);
                required.push("aud");
            }
            None => v.validate_aud = false,
        }
        v.set_required_spec_claims(&required);
        v.leeway = self.0.leeway;
        v
    }

    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        let wrong_alg = || {
            AuthError::Invalid(format!(
                "tokens signed with {:?} are not accepted here",
                header.alg
            ))
        };
        let data = match &self.0.source {
            Source::Hs256(key) => {
                if header.alg != Algorithm::HS256 {
                    return Err(wrong_alg());
                }
                jsonwebtoken::decode::<Claims>(token, key, &self.validation(Algorithm::HS256))
            }
            Source::Pem(key, alg) => {
                if header.alg != *alg {
                    return Err(wrong_alg());
                }
                jsonwebtoken::decode::<Claims>(token, key, &self.validation(*alg))
            }
            Source::Jwks(_) => {
                let kid = header
                    .kid
                    .as_deref()
                    .ok_or_else(|| AuthError::Invalid("the token names no key (kid)".into()))?;
                let keys = self
                    .0
                    .jwks
                    .read()
                    .map_err(|_| AuthError::Invalid("key set unavailable".into()))?;
                let (key, alg) = keys.get(kid).ok_or_else(|| {
                    AuthError::Invalid(format!("the signing key {kid:?} is not in the key set"))
                })?;
                if header.alg != *alg {
                    return Err(wrong_alg());
                }
                jsonwebtoken::decode::<Claims>(token, key, &self.validation(*alg))
            }
        }
        .map_err(|e| AuthError::Invalid(e.to_string()))?;
        let c = data.claims;
        if c.sub.trim().is_empty() {
            return Err(AuthError::Invalid("empty sub".into()));
        }
        let scope = match c.branch.as_str() {
            "*" => BranchScope::All,
            "" => return Err(AuthError::Invalid("missing branch claim".into())),
            b => BranchScope::Branch(b.to_owned()),
        };
        // Unknown roles are ignored, not fatal: a newer issuer may know more roles than we do.
        let roles = c.roles.iter().filter_map(|r| Role::parse(r)).collect();
        Ok(Caller {
            subject: c.sub,
            scope,
            roles,
            token: token.to_owned(),
            expires_at: c.exp,
            dealer: c.dealer.filter(|d| !d.trim().is_empty()),
        })
    }

    /// The bearer token of gRPC metadata (`authorization: Bearer <jwt>`).
    pub fn bearer(metadata: &tonic::metadata::MetadataMap) -> Option<&str> {
        let value = metadata.get("authorization")?.to_str().ok()?;
        value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
    }

    /// The caller from gRPC metadata (`authorization: Bearer <jwt>`).
    pub fn caller(&self, metadata: &tonic::metadata::MetadataMap) -> Result<Caller, AuthError> {
        self.verify(Self::bearer(metadata).ok_or(AuthError::Missing)?)
    }

    /// The caller, who must hold one of `roles` (admin always may).
    pub fn require(
        &self,
        metadata: &tonic::metadata::MetadataMap,
        roles: &[Role],
    ) -> Result<Caller, AuthError> {
        let caller = self.caller(metadata)?;
        caller.require(roles)?;
        Ok(caller)
    }
}

impl Caller {
    /// The one role check: the caller holds one of `roles` (admin always does).
    pub fn require(&self, roles: &[Role]) -> Result<(), AuthError> {
        if self.has_any(roles) {
            return Ok(());
        }
        let names: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
        Err(AuthError::Forbidden(names.join(", ")))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Mints an HS256 token (dev tokens, tests).
pub fn mint_hs256(
    secret: &str,
    subject: &str,
    branch: &str,
    roles: &[Role],
    ttl: std::time::Duration,
) -> anyhow::Result<String> {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs()
        + ttl.as_secs();
    mint_hs256_expiring_at(secret, subject, branch, roles, exp)
}

/// Mints an HS256 token for a dealer or agent: role `dealer` and the `dealer` claim.
pub fn mint_hs256_dealer(
    secret: &str,
    subject: &str,
    branch: &str,
    dealer: &str,
    ttl: std::time::Duration,
) -> anyhow::Result<String> {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs()
        + ttl.as_secs();
    encode(
        secret,
        Claims {
            sub: subject.to_owned(),
            branch: branch.to_owned(),
            roles: vec![Role::Dealer.as_str().to_owned()],
            exp,
            dealer: Some(dealer.to_owned()),
            iss: None,
            aud: None,
        },
    )
}

/// Mints an HS256 token expiring at `exp` (Unix seconds); tests use a past instant.
pub fn mint_hs256_expiring_at(
    secret: &str,
    subject: &str,
    branch: &str,
    roles: &[Role],
    exp: u64,
) -> anyhow::Result<String> {
    let claims = Claims {
        sub: subject.to_owned(),
        branch: branch.to_owned(),
        roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
        exp,
        dealer: None,
        iss: None,
        aud: None,
    };
    encode(secret, claims)
}

fn encode(secret: &str, claims: Claims) -> anyhow::Result<String> {
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const SECRET: &str = "a-test-secret-of-at-least-32-bytes!";

    fn verifier() -> Verifier {
        Verifier::from_settings(&AuthSettings::development(SECRET)).unwrap()
    }

    #[test]
    fn a_minted_token_verifies_with_its_branch_and_roles() {
        let t = mint_hs256(
            SECRET,
            "alice",
            "SH01",
            &[Role::BranchAgent],
            Duration::from_secs(60),
        )
        .unwrap();
        let c = verifier().verify(&t).unwrap();
        assert_eq!(c.scope, BranchScope::Branch("SH01".into()));
        assert!(c.has_any(&[Role::BranchAgent]));
        assert!(!c.has_any(&[Role::Reviewer]));
        assert!(c.sees_branch("SH01") && !c.sees_branch("BJ02"));
    }

    #[test]
    fn a_forged_token_is_refused() {
        let t = mint_hs256(
            "another-secret-entirely-of-32-bytes",
            "mallory",
            "*",
            &[Role::Admin],
            Duration::from_secs(60),
        )
        .unwrap();
        assert!(matches!(verifier().verify(&t), Err(AuthError::Invalid(_))));
    }

    #[test]
    fn an_expired_token_is_refused() {
        let claims = Claims {
            sub: "a".into(),
            branch: "SH01".into(),
            roles: vec![],
            exp: 1000,
            dealer: None,
            iss: None,
            aud: None,
        };
        let t = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        assert!(matches!(verifier().verify(&t), Err(AuthError::Invalid(_))));
    }

    #[test]
    fn a_dealer_token_carries_its_dealer_code_and_staff_see_every_dealer() {
        let t =
            mint_hs256_dealer(SECRET, "d1", "SH01", "D-SH-0001", Duration::from_secs(60)).unwrap();
        let c = verifier().verify(&t).unwrap();
        assert_eq!(c.dealer.as_deref(), Some("D-SH-0001"));
        assert_eq!(c.dealer_scope().unwrap(), Some("D-SH-0001"));
        let bare = mint_hs256(
            SECRET,
            "d2",
            "SH01",
            &[Role::Dealer],
            Duration::from_secs(60),
        )
        .unwrap();
        let c = verifier().verify(&bare).unwrap();
        assert!(matches!(c.dealer_scope(), Err(AuthError::Forbidden(_))));
        let staff =
            mint_hs256(SECRET, "r", "*", &[Role::Reviewer], Duration::from_secs(60)).unwrap();
        assert_eq!(
            verifier().verify(&staff).unwrap().dealer_scope().unwrap(),
            None
        );
    }

    #[test]
    fn head_office_sees_every_branch() {
        let t = mint_hs256(SECRET, "hq", "*", &[Role::Analyst], Duration::from_secs(60)).unwrap();
        let c = verifier().verify(&t).unwrap();
        assert!(c.sees_branch("GZ03"));
        assert_eq!(c.branch(), None);
    }
}
