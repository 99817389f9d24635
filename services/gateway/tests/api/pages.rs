//! The HTML pages (`/docs`, `/board`) and their files: security headers (a Content-Security-Policy
//! without inline script, no framing, no referrer, no sniffing), no inline script in the markup,
//! and Swagger UI actually working under that policy in a real browser.

use std::time::Duration;

use crate::browser::Browser;
use crate::helpers::spawn_app;

#[tokio::test]
async fn the_pages_send_a_policy_without_inline_script_no_referrer_and_no_framing() {
    let app = spawn_app().await;
    for path in ["/docs", "/board"] {
        let r = app.send("GET", path, None, &[], None).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.header("content-type").starts_with("text/html"), "{path}");
        let csp = r.header("content-security-policy");
        let script_src = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap_or_else(|| panic!("{path}: a script-src directive in {csp:?}"));
        assert_eq!(script_src, "script-src 'self'", "{path}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert_eq!(r.header("referrer-policy"), "no-referrer", "{path}");
        assert_eq!(r.header("x-content-type-options"), "nosniff", "{path}");
        // Every script is a file of its own.
        let html = String::from_utf8_lossy(&r.body).to_string();
        for tag in html.split("<script").skip(1) {
            let (attrs, rest) = tag.split_once('>').unwrap();
            assert!(attrs.contains("src="), "{path}: inline script {tag:.60}");
            assert!(
                rest.starts_with("</script>"),
                "{path}: a script with a body"
            );
        }
        assert!(
            !html.contains("onclick=") && !html.contains("onload="),
            "{path}: inline handlers"
        );
    }
    for (path, ty) in [
        ("/board.js", "text/javascript"),
        ("/board.css", "text/css"),
        ("/docs/docs.js", "text/javascript"),
        ("/docs/swagger-ui-bundle.js", "text/javascript"),
        ("/docs/swagger-ui.css", "text/css"),
        ("/docs/LICENSE", "text/plain"),
    ] {
        let r = app.send("GET", path, None, &[], None).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.header("content-type").starts_with(ty), "{path}");
        assert_eq!(r.header("x-content-type-options"), "nosniff", "{path}");
    }
    assert_eq!(
        app.send("GET", "/docs/secrets.txt", None, &[], None)
            .await
            .status,
        400
    );
    app.stop().await;
}

#[tokio::test]
async fn the_interactive_docs_render_every_operation_under_the_policy() {
    let app = spawn_app().await;
    let doc = app
        .send("GET", "/openapi.json", None, &[], None)
        .await
        .json();
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|i| i.as_object().unwrap().len())
        .sum();
    let mut browser = Browser::open(&format!("http://{}/docs", app.addr)).await;
    let mut shown = 0;
    for _ in 0..600 {
        shown = browser
            .eval("document.querySelectorAll('.opblock').length")
            .await
            .as_u64()
            .unwrap_or(0) as usize;
        if shown >= operations {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        shown, operations,
        "Swagger UI shows every operation of the document"
    );
    let title = browser
        .eval("(document.querySelector('.info .title') || {}).textContent || ''")
        .await;
    assert!(
        title.as_str().unwrap_or("").contains("After-sales gateway"),
        "{title}"
    );
    let png = browser.screenshot().await;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("docs");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("docs.png");
    std::fs::write(&path, &png).unwrap();
    println!("docs screenshot: {}", path.display());
    browser.close().await;
    app.stop().await;
}
