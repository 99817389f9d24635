//! The caller's identity (DESIGN §7, §8): the gateway forwards the caller's own JWT in the
//! `authorization` metadata and every service verifies it itself, so a forged header from
//! inside the cluster gets nowhere.
//!
//! Claims: `sub`, `branch` (a branch code, or `*` for head office), `roles`, `exp` (required).
//! Keys: an HS256 secret, or an RS256 public key (PEM) from a mounted secret.

use std::collections::BTreeSet;
use std::fmt;

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
    Dispatcher,
    Technician,
    Analyst,
    Admin,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::BranchAgent,
        Role::Reviewer,
        Role::Warehouse,
        Role::Procurement,
        Role::Dispatcher,
        Role::Technician,
        Role::Analyst,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::BranchAgent => "branch_agent",
            Role::Reviewer => "reviewer",
            Role::Warehouse => "warehouse",
            Role::Procurement => "procurement",
            Role::Dispatcher => "dispatcher",
            Role::Technician => "technician",
            Role::Analyst => "analyst",
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
    iss: Option<String>,
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

/// Verifies tokens. Cheap to clone.
#[derive(Clone)]
pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("algorithms", &self.validation.algorithms)
            .finish()
    }
}

impl Verifier {
    pub fn from_settings(settings: &AuthSettings) -> anyhow::Result<Self> {
        let (key, alg) = match (&settings.jwt_public_key_file, &settings.jwt_secret) {
            (Some(path), _) => {
                let pem = std::fs::read(path)?;
                (DecodingKey::from_rsa_pem(&pem)?, Algorithm::RS256)
            }
            (None, Some(secret)) => (
                DecodingKey::from_secret(secret.expose_secret().as_bytes()),
                Algorithm::HS256,
            ),
            (None, None) => anyhow::bail!("auth: no jwt_secret and no jwt_public_key_file"),
        };
        let mut validation = Validation::new(alg);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = settings.leeway_secs;
        if let Some(iss) = &settings.issuer {
            validation.set_issuer(&[iss]);
        }
        Ok(Self { key, validation })
    }

    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
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
        })
    }

    /// The caller from gRPC metadata (`authorization: Bearer <jwt>`).
    pub fn caller(&self, metadata: &tonic::metadata::MetadataMap) -> Result<Caller, AuthError> {
        let value = metadata
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .ok_or(AuthError::Missing)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(AuthError::Missing)?;
        self.verify(token.trim())
    }

    /// The caller, who must hold one of `roles` (admin always may).
    pub fn require(
        &self,
        metadata: &tonic::metadata::MetadataMap,
        roles: &[Role],
    ) -> Result<Caller, AuthError> {
        let caller = self.caller(metadata)?;
        if !caller.has_any(roles) {
            let names: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
            return Err(AuthError::Forbidden(names.join(", ")));
        }
        Ok(caller)
    }
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
        iss: None,
    };
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

    const SECRET: &str = "a-test-secret-of-some-length";

    fn verifier() -> Verifier {
        Verifier::from_settings(&AuthSettings {
            jwt_secret: Some(SECRET.to_owned().into()),
            jwt_public_key_file: None,
            issuer: None,
            leeway_secs: 0,
        })
        .unwrap()
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
            "another-secret-entirely",
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
            iss: None,
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
    fn head_office_sees_every_branch() {
        let t = mint_hs256(SECRET, "hq", "*", &[Role::Analyst], Duration::from_secs(60)).unwrap();
        let c = verifier().verify(&t).unwrap();
        assert!(c.sees_branch("GZ03"));
        assert_eq!(c.branch(), None);
    }
}
