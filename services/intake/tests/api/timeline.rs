use std::time::Duration;

use aftersales_platform::proto::claims::v1 as claims;
use aftersales_platform::proto::feedback::v1 as feedback;
use aftersales_platform::proto::intake::v1 as pb;
use aftersales_platform::proto::logistics::v1 as logistics;
use aftersales_platform::proto::procurement::v1 as procurement;
use aftersales_platform::proto::warehouse::v1 as warehouse;
use prost::Message;

use crate::helpers::{spawn_app, submit, wait_entry};

#[tokio::test]
async fn the_timeline_follows_the_request_across_services_and_the_survey_closes_it() {
    let app = spawn_app().await;
    let mut closed = app.subscribe("intake.request.closed").await;
    let mut client = app.agent("SH01").await;
    let r = submit(&mut client, "SH01").await;
    let no = r.request_no.clone();
    let b = "SH01";

    app.publish(
        "claims",
        &no,
        b,
        &claims::ClaimOpened {
            request_no: no.clone(),
            branch: b.into(),
            ..Default::default()
        },
    )
    .await;
    app.wait_status(&mut client, &no, pb::RequestStatus::UnderReview)
        .await;
    app.publish(
        "claims",
        &no,
        b,
        &claims::ClaimApproved {
            request_no: no.clone(),
            branch: b.into(),
            auto_approved: true,
            ..Default::default()
        },
    )
    .await;
    app.wait_status(&mut client, &no, pb::RequestStatus::Approved)
        .await;
    app.publish(
        "warehouse",
        &no,
        b,
        &warehouse::StockShortage {
            request_no: no.clone(),
            branch: b.into(),
            ..Default::default()
        },
    )
    .await;
    app.wait_status(&mut client, &no, pb::RequestStatus::Sourcing)
        .await;
    // A purchase order's subject is the PO; it lists the requests it serves.
    app.publish(
        "procurement",
        "PO-2611-0007",
        "",
        &procurement::PoIssued {
            po_number: "PO-2611-0007".into(),
            request_nos: vec![no.clone()],
            ..Default::default()
        },
    )
    .await;
    // The order's entry is recorded before the dispatch is sent: two events published back to
    // back may be handled in either order, and the timeline lists them as handled.
    wait_entry(&client, &no, "procurement.po.issued").await;
    app.publish(
        "logistics",
        &no,
        b,
        &logistics::ShipmentDispatched {
            request_no: no.clone(),
            branch: b.into(),
            waybill_no: "SF100".into(),
            carrier: "SF Express".into(),
            ..Default::default()
        },
    )
    .await;
    app.wait_status(&mut client, &no, pb::RequestStatus::Shipped)
        .await;
    app.publish(
        "logistics",
        &no,
        b,
        &logistics::ShipmentDelivered {
            request_no: no.clone(),
            branch: b.into(),
            waybill_no: "SF100".into(),
            ..Default::default()
        },
    )
    .await;
    app.wait_status(&mut client, &no, pb::RequestStatus::Delivered)
        .await;
    app.publish(
        "feedback",
        &no,
        b,
        &feedback::SurveyRecorded {
            request_no: no.clone(),
            branch: b.into(),
            satisfied: true,
            resolved: true,
            ..Default::default()
        },
    )
    .await;
    let final_state = app
        .wait_status(&mut client, &no, pb::RequestStatus::Closed)
        .await;
    assert!(final_state.status_reason.contains("survey"));

    let t = client
        .get_timeline(pb::GetTimelineRequest {
            request_no: no.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    // The messages to the customer join the timeline once sent, whenever that is (the
    // notification tests follow them): the request's own steps are compared.
    let types: Vec<&str> = t
        .entries
        .iter()
        .map(|e| e.r#type.as_str())
        .filter(|t| !t.starts_with("intake.notification."))
        .collect();
    assert_eq!(
        types,
        vec![
            "intake.request.submitted",
            "claims.claim.opened",
            "claims.claim.approved",
            "warehouse.stock.shortage",
            "procurement.po.issued",
            "logistics.shipment.dispatched",
            "logistics.shipment.delivered",
            "feedback.survey.recorded",
            "intake.request.closed",
        ]
    );
    assert!(
        t.entries
            .iter()
            .any(|e| e.summary.contains("waybill SF100")),
        "{:?}",
        t.entries
    );
    assert_eq!(t.status, pb::RequestStatus::Closed as i32);

    let env = tokio::time::timeout(Duration::from_secs(20), closed.recv())
        .await
        .unwrap()
        .unwrap();
    let payload = pb::RequestClosed::decode(env.payload.as_slice()).unwrap();
    assert_eq!(payload.reason, pb::CloseReason::SurveyRecorded as i32);
    app.stop().await;
}

#[tokio::test]
async fn a_rejected_claim_closes_the_request_with_its_reason() {
    let app = spawn_app().await;
    let mut closed = app.subscribe("intake.request.closed").await;
    let mut client = app.agent("SH01").await;
    let no = submit(&mut client, "SH01").await.request_no;
    let rejected = claims::ClaimRejected {
        request_no: no.clone(),
        branch: "SH01".into(),
        reason_code: claims::RejectReason::ReturnWindowExpired as i32,
        reason: "return asked 12 days after the invoice".into(),
        ..Default::default()
    };
    app.publish("claims", &no, "SH01", &rejected).await;
    let r = app
        .wait_status(&mut client, &no, pb::RequestStatus::Closed)
        .await;
    assert!(r.status_reason.contains("12 days"), "{}", r.status_reason);
    let env = tokio::time::timeout(Duration::from_secs(20), closed.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        pb::RequestClosed::decode(env.payload.as_slice())
            .unwrap()
            .reason,
        pb::CloseReason::ClaimRejected as i32
    );
    let t = client
        .get_timeline(pb::GetTimelineRequest { request_no: no })
        .await
        .unwrap()
        .into_inner();
    // The customer's rejection message joins the timeline whenever it is sent: the
    // request's own steps are compared.
    let after: Vec<i32> = t
        .entries
        .iter()
        .filter(|e| !e.r#type.starts_with("intake.notification."))
        .map(|e| e.status_after)
        .collect();
    assert_eq!(
        after,
        vec![
            pb::RequestStatus::Submitted as i32,
            pb::RequestStatus::Rejected as i32,
            pb::RequestStatus::Closed as i32
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_redelivered_or_late_event_changes_nothing_twice() {
    let app = spawn_app().await;
    let mut client = app.agent("SH01").await;
    let no = submit(&mut client, "SH01").await.request_no;
    let approved = claims::ClaimApproved {
        request_no: no.clone(),
        branch: "SH01".into(),
        ..Default::default()
    };
    let id = uuid::Uuid::now_v7().to_string();
    for _ in 0..3 {
        app.publish_with_id(&id, "claims", &no, "SH01", &approved)
            .await;
    }
    app.wait_status(&mut client, &no, pb::RequestStatus::Approved)
        .await;
    // Arrives after the approval although it happened before: kept, but the status stays.
    app.publish(
        "claims",
        &no,
        "SH01",
        &claims::ClaimOpened {
            request_no: no.clone(),
            branch: "SH01".into(),
            ..Default::default()
        },
    )
    .await;
    let no2 = no.clone();
    let app_ref = &app;
    aftersales_platform::testing::eventually(Duration::from_secs(20), || {
        let no = no2.clone();
        async move {
            (app_ref
                .count(&format!(
                    "SELECT count(*)::bigint FROM timeline WHERE request_no = '{no}'"
                ))
                .await
                == 3)
                .then_some(())
        }
    })
    .await
    .expect("three distinct events in the timeline");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.count(&format!("SELECT count(*)::bigint FROM timeline WHERE request_no = '{no}' AND routing_key = 'claims.claim.approved'")).await, 1);
    let r = client
        .get_request(pb::GetRequestRequest { request_no: no })
        .await
        .unwrap()
        .into_inner()
        .request
        .unwrap();
    assert_eq!(r.status, pb::RequestStatus::Approved as i32);
    app.stop().await;
}

#[tokio::test]
async fn an_amended_purchase_order_adds_its_entry_only_to_the_requests_it_added() {
    let app = spawn_app().await;
    let mut client = app.agent("SH01").await;
    let first = submit(&mut client, "SH01").await.request_no;
    let second = submit(&mut client, "SH01").await.request_no;
    let po = |revision: u32, request_nos: Vec<String>, added: Vec<String>| procurement::PoIssued {
        po_number: "PO-2611-0042".into(),
        revision,
        request_nos,
        added_request_nos: added,
        ..Default::default()
    };
    app.publish(
        "procurement",
        "PO-2611-0042",
        "",
        &po(1, vec![first.clone()], vec![first.clone()]),
    )
    .await;
    // The second request's shortage joined the PO: revision 2 lists both, adds the second.
    app.publish(
        "procurement",
        "PO-2611-0042",
        "",
        &po(2, vec![first.clone(), second.clone()], vec![second.clone()]),
    )
    .await;
    let issued_entries = |no: String| {
        let mut client = client.clone();
        async move {
            client
                .get_timeline(pb::GetTimelineRequest { request_no: no })
                .await
                .unwrap()
                .into_inner()
                .entries
                .iter()
                .filter(|e| e.r#type == "procurement.po.issued")
                .count()
        }
    };
    let both = aftersales_platform::testing::eventually(Duration::from_secs(20), || {
        let f = issued_entries(first.clone());
        let s = issued_entries(second.clone());
        async move {
            let (f, s) = (f.await, s.await);
            (f >= 1 && s >= 1).then_some((f, s))
        }
    })
    .await
    .expect("both requests show the PO");
    // Let the second revision be handled before counting again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(both, (1, 1));
    assert_eq!(
        issued_entries(first.clone()).await,
        1,
        "the first request got one entry"
    );
}

#[tokio::test]
async fn an_unsolved_survey_keeps_the_request_open_and_says_why_on_the_timeline() {
    let app = spawn_app().await;
    let mut client = app.agent("SH01").await;
    let no = submit(&mut client, "SH01").await.request_no;
    let b = "SH01";
    app.publish(
        "fieldservice",
        &no,
        b,
        &aftersales_platform::proto::fieldservice::v1::WorkOrderCompleted {
            request_no: no.clone(),
            work_order_no: "WO-2611-000001".into(),
            ..Default::default()
        },
    )
    .await;
    app.wait_status(&mut client, &no, pb::RequestStatus::Completed)
        .await;
    app.publish(
        "feedback",
        &no,
        b,
        &feedback::SurveyRecorded {
            request_no: no.clone(),
            branch: b.into(),
            satisfied: false,
            resolved: false,
            complaint_id: "C-2611-000007".into(),
            follow_up: Some(Default::default()),
            ..Default::default()
        },
    )
    .await;
    let entry = aftersales_platform::testing::eventually(Duration::from_secs(20), || {
        let mut client = client.clone();
        let no = no.clone();
        async move {
            let t = client
                .get_timeline(pb::GetTimelineRequest { request_no: no })
                .await
                .ok()?
                .into_inner();
            t.entries
                .into_iter()
                .find(|e| e.r#type == "feedback.survey.recorded")
        }
    })
    .await
    .expect("the survey reaches the timeline");
    assert!(
        entry.summary.contains("NOT solved")
            && entry.summary.contains("C-2611-000007")
            && entry.summary.contains("follow-up"),
        "{}",
        entry.summary
    );
    let r = client
        .get_request(pb::GetRequestRequest {
            request_no: no.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .request
        .unwrap();
    assert_eq!(r.status(), pb::RequestStatus::Completed, "still open");

    // The follow-up visit's survey solves it: now it closes.
    app.publish(
        "feedback",
        &no,
        b,
        &feedback::SurveyRecorded {
            request_no: no.clone(),
            branch: b.into(),
            satisfied: true,
            resolved: true,
            ..Default::default()
        },
    )
    .await;
    app.wait_status(&mut client, &no, pb::RequestStatus::Closed)
        .await;
}

#[tokio::test]
async fn a_work_order_waiting_for_parts_keeps_the_request_cancellable_and_a_technician_on_site_puts_it_in_service()
 {
    use aftersales_platform::proto::fieldservice::v1 as fs;
    let app = spawn_app().await;
    let mut client = app.agent("SH01").await;
    let b = "SH01";
    let moved = |no: &str, to: fs::WorkOrderStatus| fs::WorkOrderStatusChanged {
        request_no: no.into(),
        branch: b.into(),
        work_order_no: format!("WO-{no}"),
        to: to as i32,
        ..Default::default()
    };
    let waiting = submit(&mut client, b).await.request_no;
    let visited = submit(&mut client, b).await.request_no;
    for no in [&waiting, &visited] {
        app.publish(
            "claims",
            no,
            b,
            &claims::ClaimApproved {
                request_no: no.clone(),
                branch: b.into(),
                ..Default::default()
            },
        )
        .await;
        app.wait_status(&mut client, no, pb::RequestStatus::Approved)
            .await;
    }
    app.publish(
        "fieldservice",
        &waiting,
        b,
        &moved(&waiting, fs::WorkOrderStatus::WaitingParts),
    )
    .await;
    app.publish(
        "fieldservice",
        &visited,
        b,
        &moved(&visited, fs::WorkOrderStatus::OnSite),
    )
    .await;
    app.wait_status(&mut client, &visited, pb::RequestStatus::InService)
        .await;
    // The waiting one's move is on its timeline, its status unchanged, and it can be cancelled.
    wait_entry(&client, &waiting, "fieldservice.workorder.status_changed").await;
    let cancelled = client
        .cancel_request(pb::CancelRequestRequest {
            request_no: waiting.clone(),
            reason: "customer bought a new unit".into(),
            idempotency_key: "cancel-waiting".into(),
        })
        .await
        .expect("a request waiting for parts can be cancelled")
        .into_inner()
        .request
        .unwrap();
    assert_eq!(cancelled.status(), pb::RequestStatus::Cancelled);
}
