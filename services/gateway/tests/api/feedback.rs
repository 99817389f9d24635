//! Return visits, surveys, complaints, KPIs and the self-assessment through the gateway,
//! against every real service: a carrier's delivery makes the visit due.

use aftersales_platform::auth::Role;
use aftersales_platform::testing;
use serde_json::json;

use crate::helpers::{WAIT, agent, in_warranty, spawn_full_mesh, token_of, violations};

fn analyst(branch: &str) -> String {
    token_of("analyst-1", branch, Role::Analyst)
}

#[tokio::test]
async fn a_delivered_shipment_makes_a_return_visit_due_and_the_survey_completes_it() {
    let app = spawn_full_mesh().await;
    app.stock_up("PWR-55-01", 5).await;
    let no = app.submit("SH01", &in_warranty("SH01", "PWR-55-01")).await;
    app.issue(&no).await;
    let shipment = app.shipment_of(&no, true).await;
    let now = chrono::Utc::now();
    let r = app
        .carrier_event(&json!({
            "event_id": "sf-fb-1", "sent_at": now.to_rfc3339(),
            "waybill_no": shipment["waybill_no"], "status": "delivered",
            "occurred_at": now.to_rfc3339(), "signed_by": "Li Wei"
        }))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    let visit = testing::eventually(WAIT, || async {
        let r = app
            .get(&format!("/v1/visits?request_no={no}"), &agent("SH01"))
            .await;
        r.json()["items"].as_array()?.first().cloned()
    })
    .await
    .expect("a return visit is due after the delivery");
    assert_eq!(visit["source"], "shipment_delivered");
    assert_eq!(visit["status"], "due");
    assert_eq!(visit["shipment_no"], shipment["shipment_no"]);
    let id = visit["visit_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/visits/{id}");
    assert_eq!(app.get(&path, &agent("SH01")).await.status, 200);
    assert_eq!(app.get(&path, &agent("BJ02")).await.status, 404);

    // A call back needs its time (the service's rule: 422 naming it); reached is recorded.
    let r = app
        .post_new(&path, &agent("SH01"), &json!({"outcome": "call_back"}))
        .await;
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    assert!(violations(&r.json()).contains_key("call_back_at"));
    let r = app
        .post_new(&path, &agent("SH01"), &json!({"outcome": "reached"}))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["visit"]["last_outcome"], "reached");

    // The survey: `resolved` is required (400 naming it), then recorded.
    let survey = json!({"visit_id": id, "attitude": "very_satisfied",
        "promise_keeping": "satisfied", "comment": "quick", "resolved": true});
    let mut without = survey.clone();
    without.as_object_mut().unwrap().remove("resolved");
    let r = app.post_new("/v1/surveys", &agent("SH01"), &without).await;
    assert_eq!(r.status, 400);
    assert!(violations(&r.json()).contains_key("resolved"));
    // Another branch's visit is, to BJ02, no visit at all (the same answer as an unknown id).
    let r = app.post_new("/v1/surveys", &agent("BJ02"), &survey).await;
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    assert!(violations(&r.json()).contains_key("visit_id"));
    let r = app.post_new("/v1/surveys", &agent("SH01"), &survey).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let out = r.json();
    assert_eq!(out["visit"]["status"], "done");
    assert_eq!(out["survey"]["satisfied"], true);
    assert!(out["complaint"].is_null());

    // The figures are the analysts': 403 for an agent.
    assert_eq!(app.get("/v1/kpis", &agent("SH01")).await.status, 403);
    let r = app
        .get("/v1/kpis?period=2026&history=1", &analyst("SH01"))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["kpis"]["branch"], "SH01");
    assert!(r.json()["kpis"]["satisfaction"]["value_bp"].is_u64());
    let r = app
        .get("/v1/reports/top-returned-parts", &analyst("SH01"))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = app.get("/v1/reports/fill-rate", &analyst("SH01")).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = app.get("/v1/reports/technicians", &analyst("SH01")).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = app.get("/v1/kpis?period=2026-Q5", &analyst("SH01")).await;
    assert_eq!(r.status, 400);
    assert!(violations(&r.json()).contains_key("period"));
    app.stop().await;
}

#[tokio::test]
async fn a_branch_agent_opens_escalates_and_resolves_a_complaint_and_another_branch_gets_404() {
    let app = spawn_full_mesh().await;
    let complaint = json!({"branch": "SH01", "category": "staff_conduct", "severity": "minor",
        "description": "the technician was rude", "source": "hotline",
        "customer": {"name": "Li Wei", "phone": "+86 138 0013 8000"}, "product_model": "X55"});
    let mut bad = complaint.clone();
    bad["severity"] = json!("catastrophic");
    let r = app.post_new("/v1/complaints", &agent("SH01"), &bad).await;
    assert_eq!(r.status, 400);
    assert!(violations(&r.json()).contains_key("severity"));
    let r = app
        .post_new("/v1/complaints", &agent("SH01"), &complaint)
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let c = r.json();
    assert_eq!(c["routed_to"], "service_management");
    assert_eq!(c["status"], "open");
    let id = c["complaint_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/complaints/{id}");
    assert_eq!(app.get(&path, &agent("SH01")).await.status, 200);
    assert_eq!(app.get(&path, &agent("BJ02")).await.status, 404);
    let r = app
        .post_new(
            &format!("{path}/escalate"),
            &agent("BJ02"),
            &json!({"reason": "not theirs"}),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = app
        .post_new(
            &format!("{path}/escalate"),
            &agent("SH01"),
            &json!({"reason": "customer called a third time"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "escalated");
    assert_eq!(r.json()["escalation_level"], 1);
    let r = app
        .post_new(
            &format!("{path}/resolve"),
            &agent("SH01"),
            &json!({"resolution": "apologised, retrained", "reported_via": "phone"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "resolved");
    assert_eq!(r.json()["reported_via"], "phone");
    let listed = app
        .get("/v1/complaints?status=resolved", &analyst("SH01"))
        .await
        .json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    let listed = app.get("/v1/complaints", &agent("BJ02")).await.json();
    assert!(listed["items"].as_array().unwrap().is_empty());

    // The self-assessment: an analyst scores an indicator the system cannot measure.
    let r = app.get("/v1/assessments/2026", &analyst("SH01")).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = app
        .post_new(
            "/v1/assessments",
            &analyst("SH01"),
            &json!({"period": "2026", "entries": [{"indicator_id": "culture.philosophy",
                    "points": 2.5, "evidence": "staff handbook 2026"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let scored = r.json()["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["indicator_id"] == "culture.philosophy")
        .cloned()
        .unwrap();
    assert_eq!(scored["points_tenths"], 25);
    assert_eq!(scored["evidence"], "staff handbook 2026");
    let r = app
        .post_new(
            "/v1/assessments",
            &agent("SH01"),
            &json!({"period": "2026", "entries": [{"indicator_id": "culture.philosophy",
                    "points": 2.5, "evidence": "x"}]}),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = app
        .post_new("/v1/admin/read-model/rebuild", &analyst("*"), &json!({}))
        .await;
    assert_eq!(r.status, 403);
    app.stop().await;
}
