//! Complaints: routed by category, a serious one escalated at once, a normal one escalated
//! exactly once when its response deadline passes (on the service's clock), resolved with the
//! result reported back; bad input refused naming the field, nothing written.

use aftersales_platform::proto::feedback::v1 as pb;
use prost::Message;

use crate::helpers::{
    bad_fields, clock_at, key, local, next_event, request_no, spawn_at, submitted,
};

fn complaint(category: pb::ComplaintCategory, severity: pb::Severity) -> pb::OpenComplaintRequest {
    pb::OpenComplaintRequest {
        idempotency_key: key(),
        branch: "SH01".into(),
        category: category as i32,
        severity: severity as i32,
        description: "the technician was rude".into(),
        source: "hotline".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_serious_complaint_escalates_at_once_to_the_deputy_general_manager() {
    let app = spawn_at(clock_at(local(2026, 11, 20, 10, 0))).await;
    let mut events = app.subscribe("feedback.#").await;
    let mut agent = app.agent("SH01").await;

    let mut req = complaint(pb::ComplaintCategory::ProductQuality, pb::Severity::Serious);
    req.source = "regulator".into();
    req.description = "the television caught fire".into();
    let c = agent
        .open_complaint(req)
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();

    assert_eq!(c.status, pb::ComplaintStatus::Escalated as i32);
    assert_eq!(c.escalation_level, 2);
    assert_eq!(c.assignee, "deputy_general_manager");
    assert_eq!(c.routed_to, pb::Department::QualityRnd as i32);
    let opened = next_event(&mut events, "feedback.complaint.opened", &c.complaint_id).await;
    let opened = pb::ComplaintOpened::decode(opened.payload.as_slice()).unwrap();
    assert!(opened.escalate_immediately);
    let escalated = next_event(&mut events, "feedback.complaint.escalated", &c.complaint_id).await;
    let e = pb::ComplaintEscalated::decode(escalated.payload.as_slice()).unwrap();
    assert_eq!((e.from_level, e.to_level), (0, 2));
    assert!(e.automatic && !e.deadline_passed);
    // Its response deadline later escalates nothing more.
    app.clock().set(local(2026, 12, 31, 10, 0));
    app.scan().await;
    let later = app.drain(&mut events).await;
    assert!(
        later
            .iter()
            .all(|e| e.routing_key != "feedback.complaint.escalated"),
        "{later:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_normal_complaint_escalates_exactly_once_when_its_response_deadline_passes() {
    // Arrange: a MINOR complaint opened Friday 10:00; 24 working hours end Tuesday 16:00.
    let app = spawn_at(clock_at(local(2026, 11, 20, 10, 0))).await;
    let mut events = app.subscribe("feedback.#").await;
    let c = app
        .agent("SH01")
        .await
        .open_complaint(complaint(
            pb::ComplaintCategory::StaffConduct,
            pb::Severity::Minor,
        ))
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(
        c.respond_by.unwrap().seconds,
        local(2026, 11, 24, 16, 0).timestamp()
    );
    assert_eq!(c.assignee, "service_management");

    // Act: a minute before, at, and well after the deadline, scanning each time (the scanner's
    // own loop, woken by the clock, races these scans).
    app.clock().set(local(2026, 11, 24, 15, 59));
    assert_eq!(app.scan().await, 0, "not yet");
    app.clock().set(local(2026, 11, 24, 16, 0));
    app.scan().await;
    app.clock().set(local(2026, 11, 30, 9, 0));
    assert_eq!(app.scan().await, 0, "nothing left to escalate");

    // Assert: one escalation, one level up, for the deadline.
    let all = app.drain(&mut events).await;
    let escalations: Vec<pb::ComplaintEscalated> = all
        .iter()
        .filter(|e| e.routing_key == "feedback.complaint.escalated")
        .map(|e| pb::ComplaintEscalated::decode(e.payload.as_slice()).unwrap())
        .collect();
    assert_eq!(escalations.len(), 1, "{escalations:?}");
    let e = &escalations[0];
    assert_eq!((e.from_level, e.to_level), (0, 1));
    assert!(e.deadline_passed && e.automatic);
    assert_eq!(
        e.escalated_at.unwrap().seconds,
        local(2026, 11, 24, 16, 0).timestamp()
    );
    let now = app
        .agent("SH01")
        .await
        .get_complaint(pb::GetComplaintRequest {
            complaint_id: c.complaint_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert!(now.deadline_escalated);
    assert_eq!(now.assignee, "department_head");
    app.stop().await;
}

#[tokio::test]
async fn each_category_is_routed_to_its_department() {
    let app = spawn_at(clock_at(local(2026, 11, 20, 10, 0))).await;
    let mut agent = app.agent("SH01").await;
    let mut routed = Vec::new();
    for category in [
        pb::ComplaintCategory::ProductQuality,
        pb::ComplaintCategory::PackagingTransportDamage,
        pb::ComplaintCategory::StaffConduct,
        pb::ComplaintCategory::DealerConduct,
        pb::ComplaintCategory::Other,
    ] {
        let c = agent
            .open_complaint(complaint(category, pb::Severity::Minor))
            .await
            .unwrap()
            .into_inner()
            .complaint
            .unwrap();
        routed.push(pb::Department::try_from(c.routed_to).unwrap());
    }
    assert_eq!(
        routed,
        [
            pb::Department::QualityRnd,
            pb::Department::WarehouseLogistics,
            pb::Department::ServiceManagement,
            pb::Department::ChannelManagement,
            pb::Department::CustomerService,
        ]
    );
    let listed = agent
        .list_complaints(pb::ListComplaintsRequest {
            category: pb::ComplaintCategory::DealerConduct as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.complaints.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_complaint_is_escalated_by_hand_resolved_with_how_the_customer_was_told_and_then_closed_to_change()
 {
    let app = spawn_at(clock_at(local(2026, 11, 20, 10, 0))).await;
    let mut agent = app.agent("SH01").await;
    let no = request_no("SH01");
    app.publish(
        &no,
        "SH01",
        &submitted(&no, "SH01", local(2026, 11, 16, 10, 0)),
    )
    .await;
    app.wait_processed(1).await;
    let mut req = complaint(
        pb::ComplaintCategory::PackagingTransportDamage,
        pb::Severity::Major,
    );
    req.request_no = no.clone();
    req.branch = String::new();
    let c = agent
        .open_complaint(req)
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();

    let escalated = agent
        .escalate_complaint(pb::EscalateComplaintRequest {
            idempotency_key: key(),
            complaint_id: c.complaint_id.clone(),
            reason: "the carrier does not answer".into(),
            assignee: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    let resolved = agent
        .resolve_complaint(pb::ResolveComplaintRequest {
            idempotency_key: key(),
            complaint_id: c.complaint_id.clone(),
            resolution: "replacement sent, packaging changed".into(),
            reported_via: "phone".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    let after = agent
        .escalate_complaint(pb::EscalateComplaintRequest {
            idempotency_key: key(),
            complaint_id: c.complaint_id.clone(),
            reason: "again".into(),
            assignee: String::new(),
        })
        .await
        .unwrap_err();
    let elsewhere = app
        .agent("BJ02")
        .await
        .get_complaint(pb::GetComplaintRequest {
            complaint_id: c.complaint_id.clone(),
        })
        .await
        .unwrap_err();

    assert_eq!(c.branch, "SH01", "the request's branch");
    assert_eq!(c.customer.unwrap().name, "Li Wei", "the request's customer");
    assert_eq!(c.product_model, "X55");
    assert_eq!(
        (escalated.escalation_level, escalated.assignee.as_str()),
        (1, "department_head")
    );
    assert_eq!(resolved.status, pb::ComplaintStatus::Resolved as i32);
    assert_eq!(resolved.reported_via, "phone");
    assert_eq!(resolved.resolved_by, "branch_agent-SH01");
    assert_eq!(after.code(), tonic::Code::FailedPrecondition);
    assert_eq!(elsewhere.code(), tonic::Code::NotFound);
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM event_log WHERE routing_key = 'feedback.complaint.resolved'")
            .await,
        1,
        "the resolution is in the event log (for the KPIs)"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_empty_complaint_an_unknown_request_or_source_is_invalid_naming_the_field_and_nothing_is_written()
 {
    let app = spawn_at(clock_at(local(2026, 11, 20, 10, 0))).await;
    let mut agent = app.agent("SH01").await;

    let mut empty = complaint(pb::ComplaintCategory::Other, pb::Severity::Minor);
    empty.description = "   ".into();
    let empty = agent.open_complaint(empty).await.unwrap_err();
    let mut unknown = complaint(pb::ComplaintCategory::Other, pb::Severity::Minor);
    unknown.request_no = request_no("SH01");
    let unknown = agent.open_complaint(unknown).await.unwrap_err();
    let mut source = complaint(pb::ComplaintCategory::Other, pb::Severity::Minor);
    source.source = "pigeon".into();
    source.category = 9;
    let source = agent.open_complaint(source).await.unwrap_err();
    let mut nowhere = complaint(pb::ComplaintCategory::Other, pb::Severity::Unspecified);
    nowhere.branch = String::new();
    let nowhere = agent.open_complaint(nowhere).await.unwrap_err();

    assert_eq!(bad_fields(&empty), ["description"]);
    assert_eq!(bad_fields(&unknown), ["request_no"]);
    assert_eq!(bad_fields(&source), ["category", "source"]);
    assert_eq!(bad_fields(&nowhere), ["branch", "severity"]);
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM complaints").await,
        0
    );
    assert_eq!(app.count("SELECT count(*)::bigint FROM outbox").await, 0);
    assert_eq!(app.count("SELECT count(*)::bigint FROM commands").await, 0);
    app.stop().await;
}
