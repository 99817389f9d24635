//! `/kpis` (issue 18): the KPI page in headless Chromium draws one chart per indicator of
//! `GET /v1/kpis`, each showing the API's value, from a known history fed to the real feedback
//! service; and the page is served like the others (its policy, its place in the document).

use aftersales_platform::auth::Role;
use aftersales_platform::proto::fieldservice::v1 as fieldservice;
use aftersales_platform::testing;
use serde_json::{Value, json};

use crate::board::{keep_screenshot, see, see_that};
use crate::browser::Browser;
use crate::helpers::{WAIT, agent, spawn_full_mesh, token_of};

/// A request number unique to the test.
fn request_no() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 999_999 + 1;
    format!("AS-2611-SH01-{n:06}")
}

fn ts(t: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// The indicators of a `kpis` object (the fields holding a `{value_bp, …}`), by name.
fn indicators(kpis: &Value) -> Vec<(String, u64)> {
    kpis.as_object()
        .unwrap()
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.get("value_bp")?.as_u64()?)))
        .collect()
}

#[tokio::test]
async fn the_kpi_page_draws_one_chart_per_kpi_showing_the_apis_values() {
    // Arrange: this month, four jobs of SH01 done — three arrived in time, one late and a rework
    // of another — and the customer of the first surveyed and satisfied.
    let app = spawn_full_mesh().await;
    let analyst = token_of("analyst-1", "SH01", Role::Analyst);
    let now = chrono::Utc::now();
    let requests: Vec<String> = (0..4).map(|_| request_no()).collect();
    for (i, no) in requests.iter().enumerate() {
        let rework = i == 3;
        let job = fieldservice::WorkOrderCompleted {
            request_no: no.clone(),
            branch: "SH01".into(),
            work_order_no: format!("WO-KPI-{}-{i}", &no[13..]),
            technician_id: "T-SH01-001".into(),
            serial: format!("SN-KPI-{i}"),
            product_model: "X55".into(),
            product_category: "television".into(),
            labour_minutes: 45,
            completed_at: Some(ts(now)),
            arrival_on_time: !rework,
            resolution: "power board replaced".into(),
            rework_of: if rework {
                format!("WO-KPI-{}-0", &requests[0][13..])
            } else {
                String::new()
            },
            ..Default::default()
        };
        app.publish("field-service", no, "SH01", &job).await;
    }
    let visit = testing::eventually(WAIT, || async {
        let r = app
            .get(
                &format!("/v1/visits?request_no={}", requests[0]),
                &agent("SH01"),
            )
            .await;
        r.json()["items"].as_array()?.first().cloned()
    })
    .await
    .expect("the first job's return visit is due");
    let r = app
        .post_new(
            "/v1/surveys",
            &agent("SH01"),
            &json!({"visit_id": visit["visit_id"], "attitude": "very_satisfied",
                    "technical_skill": "satisfied", "arrival_time": "satisfied",
                    "promise_keeping": "satisfied", "resolved": true}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let expected = testing::eventually(WAIT, || async {
        let r = app.get("/v1/kpis", &analyst).await;
        let k = r.json()["kpis"].clone();
        (k["arrival_sla"]["denominator"] == 4 && k["satisfaction"]["denominator"] == 1).then_some(k)
    })
    .await
    .expect("the history is in the KPIs");
    // The figures worked out by hand: 3 of 4 in time, 1 of 4 rework, the 3 originals fixed the
    // first time, 1 of 1 satisfied.
    assert_eq!(expected["arrival_sla"]["value_bp"], 7500, "{expected}");
    assert_eq!(expected["rework_rate"]["value_bp"], 2500, "{expected}");
    assert_eq!(expected["first_time_fix"]["value_bp"], 10000, "{expected}");
    assert_eq!(expected["satisfaction"]["value_bp"], 10000, "{expected}");
    let kpis = indicators(&expected);
    assert!(kpis.len() >= 10, "{expected}");

    // Act: the analyst opens the page from a link carrying the token.
    let mut browser = Browser::open(&format!("http://{}/kpis#token={analyst}", app.addr)).await;
    let state = "document.getElementById('state').textContent";
    assert_eq!(see(&mut browser, state, "loaded").await, "loaded");

    // Assert: one chart per KPI of the API, each with the API's value.
    let charts = browser
        .eval(
            "JSON.stringify([...document.querySelectorAll('#kpis [data-kpi]')].map(f => ({\
               kpi: f.dataset.kpi, value: Number(f.dataset.value), \
               text: f.querySelector('.value').textContent, \
               svgs: f.querySelectorAll('svg').length, \
               bars: f.querySelectorAll('svg .bar').length, \
               trend: f.querySelectorAll('svg .tbar').length })))",
        )
        .await;
    let charts: Vec<Value> = serde_json::from_str(charts.as_str().unwrap()).unwrap();
    let mut names: Vec<&str> = charts.iter().map(|c| c["kpi"].as_str().unwrap()).collect();
    names.sort_unstable();
    let wanted: Vec<&str> = kpis.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, wanted, "one chart per KPI");
    for chart in &charts {
        let name = chart["kpi"].as_str().unwrap();
        let value = kpis
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| *v)
            .unwrap();
        assert_eq!(chart["value"], value, "{name}: {chart}");
        assert_eq!(
            chart["text"],
            format!("{:.2} %", value as f64 / 100.0),
            "{name}: {chart}"
        );
        assert_eq!(chart["svgs"], 1, "{name}: one chart");
        assert_eq!(chart["bars"], 1, "{name}: its gauge");
        assert_eq!(
            chart["trend"], 6,
            "{name}: five periods before and this one"
        );
    }
    assert_eq!(
        browser.eval("location.hash").await,
        "",
        "token removed from the address bar"
    );
    // Nothing moved while the page was read.
    let after = app.get("/v1/kpis", &analyst).await.json()["kpis"].clone();
    assert_eq!(indicators(&after), kpis);
    keep_screenshot(&mut browser, "kpis").await;
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn the_kpi_page_is_a_documented_page_under_the_policy_and_says_when_the_token_may_not_read_kpis()
 {
    let app = crate::helpers::spawn_app().await;
    for (path, ty) in [
        ("/kpis", "text/html"),
        ("/kpis.js", "text/javascript"),
        ("/kpis.css", "text/css"),
    ] {
        let r = app.send("GET", path, None, &[], None).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.header("content-type").starts_with(ty), "{path}");
        let csp = r.header("content-security-policy");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(r.header("x-content-type-options"), "nosniff", "{path}");
    }
    let html = app.send("GET", "/kpis", None, &[], None).await;
    let html = String::from_utf8_lossy(&html.body).to_string();
    for tag in html.split("<script").skip(1) {
        let (attrs, rest) = tag.split_once('>').unwrap();
        assert!(attrs.contains("src="), "inline script {tag:.60}");
        assert!(rest.starts_with("</script>"), "a script with a body");
    }
    let doc = app
        .send("GET", "/openapi.json", None, &[], None)
        .await
        .json();
    for path in ["/kpis", "/kpis.js", "/kpis.css"] {
        assert_eq!(doc["paths"][path]["get"]["tags"][0], "pages", "{path}");
    }

    // A branch agent's token may not read the figures: the page says so instead of drawing.
    let mut browser =
        Browser::open(&format!("http://{}/kpis#token={}", app.addr, agent("SH01"))).await;
    let state = "document.getElementById('state').textContent";
    let shown = see_that(&mut browser, state, |s| s.starts_with("failed")).await;
    assert!(shown.starts_with("failed: 403"), "{shown}");
    assert_eq!(
        browser
            .eval("document.querySelectorAll('[data-kpi]').length")
            .await,
        0
    );
    browser.close().await;
    app.stop().await;
}
