//! Technicians, work orders, appointments, the board, tool loans through the gateway, against
//! every real service (field-service with its demo technicians).

use aftersales_platform::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, agent, in_warranty, spawn_full_mesh, token_of, violations};

fn dispatcher(branch: &str) -> String {
    token_of(&format!("disp-{branch}"), branch, Role::Dispatcher)
}

/// A work order opened by hand for a request of `branch`; returns it and its ETag.
async fn open(app: &TestApp, branch: &str) -> (Value, String) {
    let no = app.submit(branch, &in_warranty(branch, "PWR-55-01")).await;
    let r = app
        .post_new(
            "/v1/work-orders",
            &dispatcher(branch),
            &json!({
                "request_no": no, "branch": branch, "service_category": "free", "kind": "repair",
                "urgency": "normal",
                "customer": { "name": "Li Wei", "phone": "+86 138 0013 8000",
                              "address": "88 Century Avenue, Pudong, Shanghai", "region": "urban" },
                "product": { "category": "television", "model": "X55", "serial": "SN12345678" },
                "fault_description": "no picture",
                "planned_parts": [ { "part_no": "PWR-55-01", "quantity": 1, "coverage": "free" } ]
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let etag = r.header("etag").to_owned();
    (r.json(), etag)
}

#[tokio::test]
async fn a_dispatcher_opens_books_dispatches_and_moves_a_work_order_and_another_branch_gets_404() {
    let app = spawn_full_mesh().await;
    let (wo, etag) = open(&app, "SH01").await;
    let no = wo["work_order_no"].as_str().unwrap().to_owned();
    assert!(no.starts_with("WO-") && no.contains("-SH01-"), "{no}");
    assert_eq!(wo["status"], "new");
    assert_eq!(wo["service_category"], "free");
    assert_eq!(etag, format!("\"{}\"", wo["version"]));
    let path = format!("/v1/work-orders/{no}");

    // Its branch reads it; another branch's dispatcher gets 404.
    let r = app.get(&path, &agent("SH01")).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(!r.header("etag").is_empty());
    assert_eq!(app.get(&path, &dispatcher("BJ02")).await.status, 404);
    let listed = app.get("/v1/work-orders", &dispatcher("BJ02")).await.json();
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["branch"] == "BJ02"),
        "{listed}"
    );

    // Free windows of SH01's technicians; book the best one, then dispatch.
    let r = app.get(&format!("{path}/slots"), &dispatcher("SH01")).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let best = r.json()["suggestions"][0].clone();
    assert!(
        best["technician_id"]
            .as_str()
            .unwrap()
            .starts_with("T-SH01-"),
        "{best}"
    );
    let r = app
        .post_new(
            &format!("{path}/appointment"),
            &dispatcher("SH01"),
            &json!({"window_from": best["window"]["from"], "technician_id": best["technician_id"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "scheduled");
    let r = app
        .post_new(&format!("{path}/dispatch"), &dispatcher("SH01"), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "en_route");
    let current = r.header("etag").to_owned();

    // A board move is conditional: none → 428, a stale If-Match → 412, the current one → 200.
    let move_to = |status: &str| json!({"status": status, "note": "arrived"});
    let r = app
        .post_new(
            &format!("{path}/status"),
            &dispatcher("SH01"),
            &move_to("on_site"),
        )
        .await;
    assert_eq!(r.status, 428);
    let r = app
        .post(
            &format!("{path}/status"),
            &dispatcher("SH01"),
            &move_to("on_site"),
            &[("if-match", &etag), ("idempotency-key", "stale-1")],
        )
        .await;
    assert_eq!(r.status, 412, "{}", String::from_utf8_lossy(&r.body));
    let r = app
        .post(
            &format!("{path}/status"),
            &dispatcher("SH01"),
            &move_to("on_site"),
            &[("if-match", &current), ("idempotency-key", "current-1")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "on_site");
    // A branch agent books but does not move cards: 403 at the gate.
    let r = app
        .post_new(
            &format!("{path}/status"),
            &agent("SH01"),
            &move_to("in_repair"),
        )
        .await;
    assert_eq!(r.status, 403);
    // `done` is not a board move (completion is): 400 naming the field.
    let r = app
        .post_new(
            &format!("{path}/status"),
            &dispatcher("SH01"),
            &json!({"status": "done", "expected_version": 1}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(violations(&r.json()).contains_key("status"));

    let board = app.get("/v1/board", &dispatcher("SH01")).await;
    assert_eq!(
        board.status,
        200,
        "{}",
        String::from_utf8_lossy(&board.body)
    );
    let column = board.json()["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "on_site")
        .cloned()
        .unwrap();
    assert!(
        column["cards"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["work_order_no"] == no.as_str()),
        "{column}"
    );
    app.stop().await;
}

#[tokio::test]
async fn technicians_are_registered_once_and_tools_are_lent_and_returned_within_the_branch() {
    let app = spawn_full_mesh().await;
    let tech = json!({"technician_id": "T-SH01-101", "name": "Zhang Wei",
        "phone": "+86 139 1000 2001", "branch": "SH01", "skills": ["television"],
        "territories": ["Pudong"], "regions": ["urban"], "daily_capacity": 4});
    let r = app
        .post_new("/v1/technicians", &dispatcher("SH01"), &tech)
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let r = app
        .post_new("/v1/technicians", &dispatcher("SH01"), &tech)
        .await;
    assert_eq!(r.status, 200, "an update");
    let mut bad = tech.clone();
    bad["skills"] = json!([]);
    bad["regions"] = json!(["mars"]);
    let r = app
        .post_new("/v1/technicians", &dispatcher("SH01"), &bad)
        .await;
    assert_eq!(r.status, 400);
    let v = violations(&r.json());
    assert!(
        v.contains_key("skills") && v.contains_key("regions[0]"),
        "{v:?}"
    );
    let listed = app
        .get("/v1/technicians?skill=television", &dispatcher("SH01"))
        .await
        .json();
    let items = listed["items"].as_array().unwrap();
    assert!(items.iter().any(|t| t["technician_id"] == "T-SH01-101"));
    assert!(items.iter().all(|t| t["branch"] == "SH01"), "{listed}");

    let due = (chrono::Utc::now() + chrono::Duration::days(5))
        .date_naive()
        .to_string();
    let r = app
        .post_new(
            "/v1/tool-loans",
            &dispatcher("SH01"),
            &json!({"tool_id": "TOOL-0042", "tool_name": "panel suction lifter",
                    "technician_id": "T-SH01-101", "due_back_date": due}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let loan = r.json();
    assert_eq!(loan["status"], "out");
    let id = loan["loan_id"].as_str().unwrap().to_owned();
    // Another branch's dispatcher does not see it.
    let r = app
        .post_new(
            &format!("/v1/tool-loans/{id}/return"),
            &dispatcher("BJ02"),
            &json!({"outcome": "returned"}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", String::from_utf8_lossy(&r.body));
    let r = app
        .post_new(
            &format!("/v1/tool-loans/{id}/return"),
            &dispatcher("SH01"),
            &json!({"outcome": "damaged", "return_condition": "cracked pad"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "damaged");
    let r = app.get("/v1/tool-loans", &dispatcher("SH01")).await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    // An analyst reads rework figures but lends no tools.
    let analyst = token_of("an", "SH01", Role::Analyst);
    assert_eq!(app.get("/v1/tool-loans", &analyst).await.status, 403);
    let r = app.get("/v1/rework-stats", &analyst).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.json()["window_days"].as_u64().unwrap() > 0);
    app.stop().await;
}
