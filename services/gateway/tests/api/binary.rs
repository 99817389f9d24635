use std::process::Command;

use aftersales_platform::auth::{Role, Verifier};
use aftersales_platform::config::AuthSettings;

const BIN: &str = env!("CARGO_BIN_EXE_gateway");

#[test]
fn a_bad_value_exits_64_naming_the_key() {
    let out = Command::new(BIN)
        .arg("serve")
        .env(
            "AFTERSALES__AUTH__JWT_SECRET",
            "a-secret-for-the-tests-at-least-32-bytes",
        )
        .env("AFTERSALES__PEERS__INTAKE__URL", "intake-without-scheme")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("peers.intake.url"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let out = Command::new(BIN)
        .env(
            "AFTERSALES__AUTH__JWT_SECRET",
            "a-secret-for-the-tests-at-least-32-bytes",
        )
        .env("AFTERSALES__SERVER__HTTP_ADDR", "everywhere")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.http_addr"));
}

#[test]
fn the_token_command_prints_a_jwt_the_gateway_accepts_on_its_last_line() {
    let secret = "a-secret-only-this-test-knows-32-bytes";
    let out = Command::new(BIN)
        .args([
            "token",
            "--sub",
            "alice",
            "--branch",
            "SH01",
            "--roles",
            "branch_agent,dispatcher",
        ])
        .env("AFTERSALES__AUTH__JWT_SECRET", secret)
        .env("AFTERSALES__AUTH__DEV_TOKENS", "true")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let token = stdout.trim().lines().last().unwrap();
    let verifier = Verifier::from_settings(&AuthSettings::development(secret)).unwrap();
    let caller = verifier.verify(token).unwrap();
    assert_eq!(caller.subject, "alice");
    assert!(caller.has_any(&[Role::Dispatcher]));

    let out = Command::new(BIN)
        .args([
            "token", "--sub", "a", "--branch", "SH01", "--roles", "wizard",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
}

#[test]
fn the_serving_binary_mints_no_token_unless_development_tokens_are_on() {
    let out = Command::new(BIN)
        .args([
            "token", "--sub", "mallory", "--branch", "*", "--roles", "admin",
        ])
        .env(
            "AFTERSALES__AUTH__JWT_SECRET",
            "a-secret-for-the-tests-at-least-32-bytes",
        )
        .env_remove("AFTERSALES__AUTH__DEV_TOKENS")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("auth.dev_tokens"), "{err}");
    assert!(
        String::from_utf8_lossy(&out.stdout).trim().is_empty(),
        "no token printed"
    );
}
