use std::time::Duration;

use aftersales_platform::auth::Role;
use serde_json::json;

use crate::browser::Browser;
use crate::helpers::{agent, in_warranty, spawn_app, spawn_full_mesh, token_of};

#[tokio::test]
async fn the_board_shows_a_new_requests_card_live_from_the_stream() {
    // Arrange: the board is open for branch SH01 and following the stream.
    let app = spawn_app().await;
    let token = agent("SH01");
    let mut browser = Browser::open(&format!(
        "http://{}/board#branch=SH01&token={token}",
        app.addr
    ))
    .await;
    let mut state = String::new();
    for _ in 0..600 {
        state = browser
            .eval("document.getElementById('state').textContent")
            .await
            .as_str()
            .unwrap_or("")
            .to_owned();
        if state == "live" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(state, "live", "the board never went live");

    // Act: a request is submitted through the API.
    let no = app.create("SH01").await["request_no"]
        .as_str()
        .unwrap()
        .to_owned();

    // Assert: its card appears in the submitted column without a reload.
    let column = format!(
        "(document.querySelector('[data-request-no=\"{no}\"]') || {{}}).closest \
         ? document.querySelector('[data-request-no=\"{no}\"]').closest('.col').dataset.status : ''"
    );
    let mut seen = String::new();
    for _ in 0..600 {
        seen = browser
            .eval(&column)
            .await
            .as_str()
            .unwrap_or("")
            .to_owned();
        if seen == "submitted" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, "submitted", "card of {no}");
    let png = browser.screenshot().await;
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("board");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{no}.png"));
    std::fs::write(&path, &png).unwrap();
    println!("board screenshot: {}", path.display());
    browser.close().await;
    app.stop().await;
}

/// `make up` prints the board's link through `scripts/board-link.sh`; that very link, opened as
/// printed, shows the demo requests (`intake seed`) without typing anything.
#[tokio::test]
async fn the_printed_board_link_shows_the_demo_requests() {
    // Arrange: the demo requests are in, and the link is printed the way `make up` prints it.
    let app = spawn_app().await;
    let numbers = intake::demo::seed(
        &format!("http://{}", app.intake_addr),
        aftersales_platform::testing::TEST_JWT_SECRET,
    )
    .await
    .expect("demo requests submitted");
    assert_eq!(
        numbers.len(),
        4,
        "one demo request per demo branch, and a return"
    );
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = tokio::process::Command::new("bash")
        .arg("scripts/board-link.sh")
        .current_dir(&root)
        .env("GATEWAY_URL", format!("http://{}", app.addr))
        .env("GATEWAY_BIN", env!("CARGO_BIN_EXE_gateway"))
        .env(
            "AFTERSALES__AUTH__JWT_SECRET",
            aftersales_platform::testing::TEST_JWT_SECRET,
        )
        .output()
        .await
        .expect("run scripts/board-link.sh");
    assert!(
        out.status.success(),
        "board-link.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let link = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(
        link.starts_with(&format!("http://{}/board#token=", app.addr)),
        "the token travels in the fragment: {link}"
    );

    // Act: open it as printed.
    let mut browser = Browser::open(&link).await;

    // Assert: every demo request has its card, and the token left the address bar.
    let cards = format!(
        "JSON.stringify({}.map(n => !!document.querySelector('[data-request-no=\"' + n + '\"]')))",
        serde_json::to_string(&numbers).unwrap()
    );
    let all_there = serde_json::to_string(&vec![true; numbers.len()]).unwrap();
    let mut seen = String::new();
    for _ in 0..600 {
        seen = browser.eval(&cards).await.as_str().unwrap_or("").to_owned();
        if seen == all_there {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, all_there, "cards of {numbers:?} on the board");
    let text = browser
        .eval("document.getElementById('board').textContent")
        .await;
    for n in &numbers {
        assert!(
            text.as_str().unwrap_or("").contains(n.as_str()),
            "{n} in the page"
        );
    }
    assert_eq!(
        browser.eval("location.hash").await,
        "",
        "token removed from the address bar"
    );
    let png = browser.screenshot().await;
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("board");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("printed-link-demo-requests.png");
    std::fs::write(&path, &png).unwrap();
    println!("board screenshot: {}", path.display());
    browser.close().await;
    app.stop().await;
}

/// Polls `expression` in the page until it gives `expected` (a minute at most); returns what it
/// gave last.
pub async fn see(browser: &mut Browser, expression: &str, expected: &str) -> String {
    see_that(browser, expression, |v| v == expected).await
}

/// Polls `expression` in the page until what it gives passes `ok` (a minute at most); returns
/// what it gave last.
pub async fn see_that(
    browser: &mut Browser,
    expression: &str,
    ok: impl Fn(&str) -> bool,
) -> String {
    let mut seen = String::new();
    for _ in 0..600 {
        let v = browser.eval(expression).await;
        seen = v
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string());
        if ok(&seen) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    seen
}

/// Keeps a screenshot of the page as `target/artefacts/<name>.png` (the artefacts CI keeps).
pub async fn keep_screenshot(browser: &mut Browser, name: &str) -> std::path::PathBuf {
    let png = browser.screenshot().await;
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("artefacts");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, &png).unwrap();
    println!("screenshot: {}", path.display());
    path
}

/// Issue 17: a work order opened through the API gets its card in the `new` column, and the card
/// moves column by column as the job is booked, dispatched, worked on and completed — live from
/// the stream, without a reload. The page also shows the stuck requests `GET /v1/requests?stuck=true`
/// lists.
#[tokio::test]
async fn a_new_work_orders_card_appears_and_moves_between_the_status_columns_live() {
    // Arrange: every service runs; SH01's dispatcher has the board open and live.
    let app = spawn_full_mesh().await;
    let dispatcher = token_of("disp-SH01", "SH01", Role::Dispatcher);
    let mut browser = Browser::open(&format!(
        "http://{}/board#branch=SH01&token={dispatcher}",
        app.addr
    ))
    .await;
    let state = "document.getElementById('state').textContent";
    assert_eq!(see(&mut browser, state, "live").await, "live");
    let loaded = "document.getElementById('work-orders-lane').dataset.loaded || ''";
    assert_eq!(
        see(&mut browser, loaded, "true").await,
        "true",
        "the board's data (GET /v1/board) loaded"
    );
    let columns = browser
        .eval(
            "JSON.stringify([...document.querySelectorAll('.wo-col')].map(c => c.dataset.status))",
        )
        .await;
    let columns: Vec<String> = serde_json::from_str(columns.as_str().unwrap()).unwrap();
    let board = app.get("/v1/board", &dispatcher).await;
    assert_eq!(
        board.status,
        200,
        "{}",
        String::from_utf8_lossy(&board.body)
    );
    for c in board.json()["columns"].as_array().unwrap() {
        let status = c["status"].as_str().unwrap();
        assert!(
            columns.iter().any(|s| s == status),
            "a column for {status}: {columns:?}"
        );
    }

    // Act: a work order is opened by hand for a new request.
    let request_no = app.submit("SH01", &in_warranty("SH01", "PWR-55-01")).await;
    let r = app
        .post_new(
            "/v1/work-orders",
            &dispatcher,
            &json!({
                "request_no": request_no, "branch": "SH01", "service_category": "free",
                "kind": "repair", "urgency": "normal",
                "customer": { "name": "Li Wei", "phone": "+86 138 0013 8000",
                              "address": "88 Century Avenue, Pudong, Shanghai", "region": "urban" },
                "product": { "category": "television", "model": "X55", "serial": "SN12345678" },
                "fault_description": "no picture",
                "planned_parts": [ { "part_no": "PWR-55-01", "quantity": 1, "coverage": "free" } ]
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let wo = r.json();
    let no = wo["work_order_no"].as_str().unwrap().to_owned();
    let path = format!("/v1/work-orders/{no}");
    let column = format!(
        "(() => {{ const c = document.querySelector('[data-work-order-no=\"{no}\"]'); \
         return c ? c.closest('.wo-col').dataset.status : ''; }})()"
    );
    let cards = format!("document.querySelectorAll('[data-work-order-no=\"{no}\"]').length");

    // Assert: its card is in the `new` column.
    assert_eq!(wo["status"], "new");
    assert_eq!(
        see(&mut browser, &column, "new").await,
        "new",
        "card of {no}"
    );
    let text = browser
        .eval(&format!(
            "document.querySelector('[data-work-order-no=\"{no}\"]').textContent"
        ))
        .await;
    assert!(
        text.as_str().unwrap().contains(&request_no),
        "the card names its request: {text}"
    );

    // Act and assert, move by move: each answer's status is the column the card is then in.
    let slots = app.get(&format!("{path}/slots"), &dispatcher).await;
    assert_eq!(
        slots.status,
        200,
        "{}",
        String::from_utf8_lossy(&slots.body)
    );
    let best = slots.json()["suggestions"][0].clone();
    let r = app
        .post_new(
            &format!("{path}/appointment"),
            &dispatcher,
            &json!({"window_from": best["window"]["from"], "technician_id": best["technician_id"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "scheduled");
    assert_eq!(see(&mut browser, &column, "scheduled").await, "scheduled");

    let r = app
        .post_new(&format!("{path}/dispatch"), &dispatcher, &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "en_route");
    assert_eq!(see(&mut browser, &column, "en_route").await, "en_route");

    let mut etag = r.header("etag").to_owned();
    for status in ["on_site", "in_repair"] {
        let r = app
            .post(
                &format!("{path}/status"),
                &dispatcher,
                &json!({"status": status, "note": format!("now {status}")}),
                &[
                    ("if-match", &etag),
                    ("idempotency-key", &uuid::Uuid::new_v4().to_string()),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["status"], status);
        etag = r.header("etag").to_owned();
        assert_eq!(see(&mut browser, &column, status).await, status);
    }

    let r = app
        .post_new(
            &format!("{path}/inspection"),
            &dispatcher,
            &json!({"passed": true, "checklist": ["picture and sound ok"], "customer_signed": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let etag = r.header("etag").to_owned();
    let r = app
        .post(
            &format!("{path}/complete"),
            &dispatcher,
            &json!({"labour_minutes": 45, "resolution": "power board replaced",
                    "parts_used": [ { "part_no": "PWR-55-01", "quantity": 1, "coverage": "free" } ]}),
            &[
                ("if-match", &etag),
                ("idempotency-key", &uuid::Uuid::new_v4().to_string()),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let done = r.json();
    assert_eq!(done["status"], "done");
    assert_eq!(see(&mut browser, &column, "done").await, "done");
    assert_eq!(
        browser.eval(&cards).await,
        1,
        "one card for {no}, never a copy"
    );
    let version =
        format!("document.querySelector('[data-work-order-no=\"{no}\"]').dataset.version");
    assert_eq!(
        see(&mut browser, &version, &done["version"].to_string()).await,
        done["version"].to_string(),
        "the card shows the version the API answered last"
    );

    // The stuck requests, as the API lists them, are the ones the page shows (it asks again every
    // half minute, so a change in between is caught up with).
    assert_eq!(
        see(
            &mut browser,
            "document.getElementById('stuck').dataset.loaded || ''",
            "true"
        )
        .await,
        "true"
    );
    let mut listed = String::new();
    let mut shown = String::new();
    for _ in 0..3 {
        let api = app
            .get("/v1/requests?stuck=true&page_size=200", &dispatcher)
            .await;
        assert_eq!(api.status, 200, "{}", String::from_utf8_lossy(&api.body));
        let mut numbers: Vec<String> = api.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["request_no"].as_str().unwrap().to_owned())
            .collect();
        numbers.sort();
        listed = serde_json::to_string(&numbers).unwrap();
        shown = see(
            &mut browser,
            "JSON.stringify([...document.querySelectorAll('[data-stuck-request-no]')]\
             .map(li => li.dataset.stuckRequestNo).sort())",
            &listed,
        )
        .await;
        if shown == listed {
            break;
        }
    }
    assert_eq!(shown, listed, "the stuck requests on the board");

    keep_screenshot(&mut browser, "board").await;
    browser.close().await;
    app.stop().await;
}
