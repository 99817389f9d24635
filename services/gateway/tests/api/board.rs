use std::time::Duration;

use crate::browser::Browser;
use crate::helpers::{agent, spawn_app};

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
    assert_eq!(numbers.len(), 3, "one demo request per demo branch");
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
