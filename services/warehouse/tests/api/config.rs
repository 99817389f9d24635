use std::process::Command;

fn run(env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warehouse"));
    cmd.arg("serve").env_remove("AFTERSALES_CONFIG").env(
        "AFTERSALES__AUTH__JWT_SECRET",
        "a-secret-for-the-tests-at-least-32-bytes",
    );
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run the warehouse binary")
}

#[test]
fn serve_with_a_bad_config_value_exits_64_with_one_line_naming_the_key() {
    for (key, value, name) in [
        (
            "AFTERSALES__WAREHOUSE__MAX_PAGE_SIZE",
            "0",
            "warehouse.max_page_size",
        ),
        (
            "AFTERSALES__WAREHOUSE__ADVANCE_EXCHANGE_RETURN_DAYS",
            "0",
            "warehouse.advance_exchange_return_days",
        ),
        ("AFTERSALES__DATABASE__URL", "mysql://x", "database.url"),
    ] {
        let out = run(&[(key, value)]);
        assert_eq!(out.status.code(), Some(64), "{key}={value}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(name), "{stderr}");
    }
}
