//! A bad setting or rate table stops the binary with exit 64 and one line naming the key.

use std::process::Command;

fn run(env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_logistics"));
    cmd.arg("serve").env_remove("AFTERSALES_CONFIG").env(
        "AFTERSALES__AUTH__JWT_SECRET",
        "a-secret-for-the-tests-at-least-32-bytes",
    );
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run the logistics binary")
}

#[test]
fn a_bad_setting_exits_64_with_one_line_naming_the_key() {
    for (key, value, name) in [
        (
            "AFTERSALES__LOGISTICS__WEBHOOK_WINDOW_SECS",
            "0",
            "logistics.webhook_window_secs",
        ),
        (
            "AFTERSALES__LOGISTICS__SIM_TIME_SCALE",
            "0",
            "logistics.sim_time_scale",
        ),
        (
            "AFTERSALES__LOGISTICS__CARRIER_OVERRIDE",
            "sf express",
            "logistics.carrier_override",
        ),
    ] {
        let out = run(&[(key, value)]);
        assert_eq!(out.status.code(), Some(64), "{key}={value}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(name), "{stderr}");
    }
}

#[test]
fn a_bad_rate_table_exits_64_naming_the_config_key_and_the_tables_key() {
    let dir = std::env::temp_dir().join(format!("logistics-rates-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("rates.toml");
    let demo = include_str!("../../policy/demo.toml");
    std::fs::write(
        &bad,
        demo.replace("carton_max_grams = 20000", "carton_max_grams = 0"),
    )
    .unwrap();

    let out = run(&[("AFTERSALES__LOGISTICS__POLICY_FILE", bad.to_str().unwrap())]);

    assert_eq!(out.status.code(), Some(64), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("logistics.policy_file"), "{stderr}");
    assert!(stderr.contains("carton_max_grams"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
