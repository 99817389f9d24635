//! The customer is told at every step (issue 22), through every real service: a request
//! approved (a panel: a technician must come), shipped, delivered and booked sends the customer exactly one e-mail per step in
//! their language (received by a real SMTP server in the test) and calls the branch's system
//! once per step, signed; the log is on the request and in its timeline.

use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::testing;
use aftersales_platform::testing::mail::{HttpSink, SmtpSink};
use serde_json::{Value, json};

use crate::helpers::{TestApp, WAIT, agent, in_warranty, spawn_full_mesh_with_env, token_of};

fn dispatcher(branch: &str) -> String {
    token_of(&format!("disp-{branch}"), branch, Role::Dispatcher)
}

/// A carrier's "delivered" for `waybill_no`, sent now.
fn delivered(waybill_no: &str) -> Value {
    let now = chrono::Utc::now();
    json!({
        "event_id": format!("sf-{waybill_no}"), "sent_at": now.to_rfc3339(),
        "waybill_no": waybill_no, "status": "delivered",
        "occurred_at": (now - chrono::Duration::minutes(1)).to_rfc3339(),
        "location": "Pudong, Shanghai", "signed_by": "Li Wei"
    })
}

/// The work order field-service opened for `request_no`.
async fn work_order_of(app: &TestApp, request_no: &str) -> String {
    testing::eventually(WAIT, || async {
        let r = app.get("/v1/work-orders", &dispatcher("SH01")).await;
        r.json()["items"]
            .as_array()?
            .iter()
            .find(|w| w["request_no"] == request_no)
            .and_then(|w| w["work_order_no"].as_str().map(str::to_owned))
    })
    .await
    .unwrap_or_else(|| panic!("a work order for {request_no}"))
}

async fn log_of(app: &TestApp, no: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/v1/requests/{no}/notifications"), &agent("SH01"))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()["items"].as_array().cloned().unwrap()
}

#[tokio::test]
async fn a_request_approved_shipped_and_booked_emails_the_customer_and_calls_the_branch_once_per_step()
 {
    // Arrange: the whole mesh; intake sends e-mail to an SMTP server and the branch's calls to
    // an HTTP endpoint, both in the test.
    let smtp = SmtpSink::start().await;
    let hook = HttpSink::start().await;
    let env = |k: &str, v: String| (format!("AFTERSALES__INTAKE__NOTIFY__{k}"), v);
    let app = spawn_full_mesh_with_env(vec![
        env("SMTP_URL", smtp.url()),
        env("WEBHOOKS", format!("SH01={}", hook.url("/aftersales"))),
        env("WEBHOOK_SECRET", "sh01-hook-secret".into()),
        env("SCAN_EVERY_MS", "100".into()),
        env("QUIET_HOURS", String::new()),
    ])
    .await;
    app.stock_up("PNL-55-01", 5).await;
    let mut body = in_warranty("SH01", "PNL-55-01");
    body["customer"]["email"] = json!("li.wei@example.com");
    body["notifications"] = json!({"language": "en", "channel": "email"});

    // Act: submitted (approved by the policy, reserved), issued (dispatched by logistics),
    // delivered by the carrier, the technician booked by the dispatcher.
    let no = app.submit("SH01", &body).await;
    let r = app.get(&format!("/v1/requests/{no}"), &agent("SH01")).await;
    assert_eq!(
        r.json()["notifications"],
        json!({"language": "en", "channel": "email", "opt_out": false})
    );
    app.issue(&no).await;
    let shipment = app.shipment_of(&no, true).await;
    let waybill = shipment["waybill_no"].as_str().unwrap().to_owned();
    let r = app.carrier_event(&delivered(&waybill)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let wo = work_order_of(&app, &no).await;
    let path = format!("/v1/work-orders/{wo}");
    let slots = app.get(&format!("{path}/slots"), &dispatcher("SH01")).await;
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
            &dispatcher("SH01"),
            &json!({"window_from": best["window"]["from"], "technician_id": best["technician_id"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    // Assert: four steps the customer hears of — approved, shipped, delivered, booked — each one
    // e-mail and one webhook call, all recorded.
    let expected = [
        ("claims.claim.approved", "Your claim is approved"),
        (
            "logistics.shipment.dispatched",
            "Your parts are on their way",
        ),
        ("logistics.shipment.delivered", "Your parts are delivered"),
        (
            "fieldservice.workorder.scheduled",
            "Your appointment is booked",
        ),
    ];
    let log = testing::eventually(WAIT, || async {
        let l = log_of(&app, &no).await;
        let done = l.len() == 2 * expected.len()
            && l.iter()
                .all(|m| m["status"] == "sent" || m["status"] == "delivered");
        done.then_some(l)
    })
    .await
    .unwrap_or_else(|| panic!("eight messages sent for {no}"));
    let mails = smtp.wait_for(expected.len(), WAIT).await;
    let calls = hook.wait_for(expected.len(), WAIT).await;
    // Nothing more comes (a redelivered event, a second sender): give it a few scans' time.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.mails().len(), expected.len(), "{mails:#?}");
    assert_eq!(hook.calls().len(), expected.len(), "{calls:#?}");

    for (event_type, subject) in expected {
        let email = log
            .iter()
            .find(|m| m["event_type"] == event_type && m["channel"] == "email")
            .unwrap_or_else(|| panic!("no e-mail for {event_type}: {log:#?}"));
        assert_eq!(email["status"], "sent");
        assert_eq!(email["recipient"], "li.wei@example.com");
        assert_eq!(email["language"], "en");
        assert_eq!(email["attempts"], 1);
        let full = format!("[After-sales] {subject} ({no})");
        assert_eq!(email["subject"], full);
        let mail = mails
            .iter()
            .find(|m| m.subject() == full)
            .unwrap_or_else(|| panic!("no mail {full:?}: {mails:#?}"));
        assert_eq!(mail.to, ["li.wei@example.com"]);
        assert_eq!(
            mail.message_id(),
            format!(
                "{}@aftersales.intake",
                email["message_id"].as_str().unwrap()
            )
        );
        let hook_call = log
            .iter()
            .find(|m| m["event_type"] == event_type && m["channel"] == "webhook")
            .unwrap_or_else(|| panic!("no webhook call for {event_type}: {log:#?}"));
        assert_eq!(hook_call["status"], "delivered");
        assert!(
            calls.iter().any(|c| c.header("idempotency-key")
                == hook_call["message_id"].as_str().unwrap()
                && c.json()["event_type"] == event_type
                && c.header("aftersales-signature").starts_with("t=")),
            "{event_type}: {calls:#?}"
        );
    }
    let shipped = mails
        .iter()
        .find(|m| m.subject().contains("on their way"))
        .unwrap();
    assert!(
        shipped.text().contains(&format!("waybill {waybill}")),
        "{}",
        shipped.text()
    );
    let booked = mails
        .iter()
        .find(|m| m.subject().contains("appointment"))
        .unwrap();
    let technician = best["technician_name"].as_str().unwrap();
    assert!(
        booked
            .text()
            .contains(&format!("technician {technician} will visit you on ")),
        "{}",
        booked.text()
    );

    // The timeline shows the messages; another branch gets 404 on the log.
    let timeline = app
        .get(&format!("/v1/requests/{no}/timeline"), &agent("SH01"))
        .await
        .json();
    let told = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "intake.notification.sent")
        .count();
    assert_eq!(told, expected.len(), "{timeline:#}");
    let r = app
        .get(&format!("/v1/requests/{no}/notifications"), &agent("BJ02"))
        .await;
    assert_eq!(r.status, 404);
    app.stop().await;
}
