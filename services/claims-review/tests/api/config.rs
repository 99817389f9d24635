use std::process::Command;

fn run(env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_claims-review"));
    cmd.arg("serve").env_remove("AFTERSALES_CONFIG").env(
        "AFTERSALES__AUTH__JWT_SECRET",
        "a-secret-for-the-tests-at-least-32-bytes",
    );
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run the claims-review binary")
}

#[test]
fn a_bad_policy_file_exits_64_with_one_line_naming_the_config_key_and_the_policy_key() {
    let dir = std::env::temp_dir().join(format!("claims-policy-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    let demo = include_str!("../../policy/demo.toml");
    std::fs::write(
        &bad,
        demo.replace("exchange_days = 30", "exchange_days = 3"),
    )
    .unwrap();

    let out = run(&[(
        "AFTERSALES__CLAIMS_REVIEW__POLICY_FILE",
        bad.to_str().unwrap(),
    )]);

    assert_eq!(out.status.code(), Some(64), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("claims_review.policy_file"), "{stderr}");
    assert!(stderr.contains("windows.exchange_days"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_policy_file_exits_64() {
    let out = run(&[(
        "AFTERSALES__CLAIMS_REVIEW__POLICY_FILE",
        "/nonexistent/policy.toml",
    )]);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("claims_review.policy_file"));
}

#[test]
fn the_demo_policy_file_in_the_repository_loads() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/policy/demo.toml");
    let p = claims_review::config::load_policy(path).unwrap();
    assert_eq!(p, claims_review::domain::Policy::demo().unwrap());
}
