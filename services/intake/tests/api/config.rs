use std::process::Command;

fn run(env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_intake"));
    cmd.arg("serve").env_remove("AFTERSALES_CONFIG").env(
        "AFTERSALES__AUTH__JWT_SECRET",
        "a-secret-for-the-tests-at-least-32-bytes",
    );
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run the intake binary")
}

#[test]
fn serve_with_a_bad_config_value_exits_64_with_one_line_naming_the_key() {
    for (key, value, name) in [
        (
            "AFTERSALES__SERVER__GRPC_ADDR",
            "not-an-address",
            "server.grpc_addr",
        ),
        ("AFTERSALES__AMQP__PREFETCH", "many", "amqp.prefetch"),
        ("AFTERSALES__DATABASE__URL", "mysql://x", "database.url"),
        (
            "AFTERSALES__INTAKE__MAX_PAGE_SIZE",
            "0",
            "intake.max_page_size",
        ),
        (
            "AFTERSALES__CALENDAR__WORK_START",
            "nine",
            "calendar.work_start",
        ),
    ] {
        let out = run(&[(key, value)]);
        assert_eq!(out.status.code(), Some(64), "{key}={value}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains(name),
            "{key}={value}: names {name}: {stderr}"
        );
    }
}

#[test]
fn a_missing_config_file_exits_64() {
    let out = Command::new(env!("CARGO_BIN_EXE_intake"))
        .env(
            "AFTERSALES__AUTH__JWT_SECRET",
            "a-secret-for-the-tests-at-least-32-bytes",
        )
        .args(["--config", "/nonexistent/intake.toml", "serve"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("config file"));
}
