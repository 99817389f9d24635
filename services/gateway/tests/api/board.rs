use std::time::Duration;

use crate::browser::Browser;
use crate::helpers::{agent, spawn_app};

#[tokio::test]
async fn the_board_shows_a_new_requests_card_live_from_the_stream() {
    // Arrange: the board is open for branch SH01 and following the stream.
    let app = spawn_app().await;
    let token = agent("SH01");
    let mut browser = Browser::open(&format!(
        "http://{}/board?branch=SH01&token={token}",
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
