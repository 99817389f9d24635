//! Verification with an identity provider's keys (issue 13): JWKS by kid (RS256, ES256), a
//! mounted PEM, issuer and audience, HS256 refused once public keys are configured, and a key
//! rotation picked up without a restart.

use std::time::Duration;

use aftersales_platform::auth::{AuthError, Role, Verifier, mint_hs256};
use aftersales_platform::config::AuthSettings;
use aftersales_platform::testing::TEST_JWT_SECRET;
use aftersales_platform::testing::idp::{self, Claims, Key, TestIdp};

fn settings(jwks: Option<String>, pem: Option<String>) -> AuthSettings {
    let mut s = AuthSettings::development(TEST_JWT_SECRET);
    s.jwks_url = jwks;
    s.jwt_public_key_file = pem;
    s.issuer = Some(idp::ISSUER.into());
    s.audience = Some(idp::AUDIENCE.into());
    s.dev_tokens = false;
    s
}

fn agent() -> Claims<'static> {
    Claims::new("agent-SH01", "SH01", &[Role::BranchAgent])
}

#[tokio::test]
async fn jwks_keys_verify_by_kid_and_everything_else_is_refused() {
    let idp = TestIdp::start(&[Key::RsaA, Key::EcC]).await;
    let v = Verifier::from_settings(&settings(Some(idp.jwks_url()), None)).unwrap();
    for key in [Key::RsaA, Key::EcC] {
        let t = idp::token(key, &agent());
        v.ensure_key(&t).await;
        let caller = v.verify(&t).unwrap_or_else(|e| panic!("{key:?}: {e}"));
        assert_eq!(caller.subject, "agent-SH01");
    }
    let refused = |t: &str| matches!(v.verify(t), Err(AuthError::Invalid(_)));
    assert!(
        refused(&idp::token(Key::Outside, &agent())),
        "a key outside the JWKS"
    );
    let mut wrong_aud = agent();
    wrong_aud.audience = "someone-else";
    assert!(
        refused(&idp::token(Key::RsaA, &wrong_aud)),
        "another audience"
    );
    let mut wrong_iss = agent();
    wrong_iss.issuer = "https://evil.example";
    assert!(
        refused(&idp::token(Key::RsaA, &wrong_iss)),
        "another issuer"
    );
    let hs = mint_hs256(
        TEST_JWT_SECRET,
        "agent",
        "SH01",
        &[Role::Admin],
        Duration::from_secs(60),
    )
    .unwrap();
    assert!(
        refused(&hs),
        "HS256 once public keys are configured, even with the right secret"
    );
}

#[tokio::test]
async fn a_rotated_key_verifies_on_first_use_without_a_restart() {
    let idp = TestIdp::start(&[Key::RsaA]).await;
    let v = Verifier::from_settings(&settings(Some(idp.jwks_url()), None)).unwrap();
    let old = idp::token(Key::RsaA, &agent());
    v.ensure_key(&old).await;
    assert!(v.verify(&old).is_ok());

    // The IdP rotates (a moment later: unknown kids refetch at most once a second): key B
    // appears; the verifier has never seen it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    idp.publish(&[Key::RsaA, Key::RsaB]);
    let new = idp::token(Key::RsaB, &agent());
    assert!(v.verify(&new).is_err(), "not known before a fetch");
    v.ensure_key(&new).await;
    assert!(v.verify(&new).is_ok(), "fetched on the unknown kid");

    // The old key is withdrawn: after the next fetch it is refused.
    idp.publish(&[Key::RsaB]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let unknown = idp::token(Key::EcC, &agent());
    v.ensure_key(&unknown).await;
    assert!(
        v.verify(&old).is_err(),
        "a withdrawn key no longer verifies"
    );
}

#[tokio::test]
async fn a_mounted_pem_verifies_its_algorithm_only() {
    let dir = std::env::temp_dir().join(format!("pem-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let rsa = dir.join("rsa.pem");
    std::fs::write(&rsa, Key::RsaA.public_pem()).unwrap();
    let v = Verifier::from_settings(&settings(None, Some(rsa.display().to_string()))).unwrap();
    assert!(v.verify(&idp::token(Key::RsaA, &agent())).is_ok());
    assert!(v.verify(&idp::token(Key::Outside, &agent())).is_err());
    assert!(
        v.verify(&idp::token(Key::EcC, &agent())).is_err(),
        "ES256 against an RSA key"
    );
    let ec = dir.join("ec.pem");
    std::fs::write(&ec, Key::EcC.public_pem()).unwrap();
    let v = Verifier::from_settings(&settings(None, Some(ec.display().to_string()))).unwrap();
    assert!(v.verify(&idp::token(Key::EcC, &agent())).is_ok());
    assert!(v.verify(&idp::token(Key::RsaA, &agent())).is_err());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_short_development_secret_is_refused() {
    assert!(Verifier::from_settings(&AuthSettings::development("only-sixteen-byt")).is_err());
}
