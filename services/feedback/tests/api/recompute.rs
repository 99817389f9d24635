//! Return-visit and complaint deadlines as SLA clocks, through the real API: a holiday added to
//! the calendar re-derives the open ones at start-up (and `feedback sla recompute` finds nothing
//! more to do), leaves a closed visit alone, and withdraws a complaint's lapse that no longer
//! holds — with the escalation it made — once; the new deadline lapses once in its turn.

use aftersales_platform::proto::feedback::v1 as pb;
use chrono::{DateTime, Utc};

use crate::helpers::{TestApp, builder, clock_at, completed, key, local, request_no, survey, wrap};

const VISIT_MOVED: &str =
    "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'feedback.visit.deadline_changed'";
const COMPLAINT_MOVED: &str = "SELECT count(*)::bigint FROM outbox \
    WHERE routing_key = 'feedback.complaint.deadline_changed'";
const WITHDRAWN: &str = "SELECT count(*)::bigint FROM outbox \
    WHERE routing_key = 'feedback.complaint.sla_breach_withdrawn'";

fn instant(t: &Option<prost_types::Timestamp>) -> DateTime<Utc> {
    let t = t.as_ref().expect("a timestamp");
    DateTime::from_timestamp(t.seconds, t.nanos as u32).unwrap()
}

async fn complaint(app: &TestApp, id: &str) -> pb::Complaint {
    app.agent("SH01")
        .await
        .get_complaint(pb::GetComplaintRequest {
            complaint_id: id.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap()
}

async fn escalations(app: &TestApp) -> i64 {
    app.count(
        "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'feedback.complaint.escalated'",
    )
    .await
}

#[tokio::test]
async fn a_holiday_moves_open_visit_and_complaint_deadlines_leaves_a_closed_visit_and_withdraws_a_void_complaint_lapse_once()
 {
    // Arrange: Friday 20 November. Two jobs completed at 09:00 make their visits due in three
    // working days (Tuesday 24th, 18:00); one visit is done at once. A MINOR complaint opened at
    // 10:00 must be answered within 24 working hours (Tuesday 16:00).
    let clock = clock_at(local(2026, 11, 20, 10, 0));
    let mut first = wrap(builder().clock(clock.clone()).start().await);
    let (open_no, closed_no) = (request_no("SH01"), request_no("SH01"));
    for (no, wo) in [(&open_no, "WO-OPEN"), (&closed_no, "WO-DONE")] {
        first
            .publish(
                no,
                "SH01",
                &completed(no, "SH01", wo, "tech-7", local(2026, 11, 20, 9, 0)),
            )
            .await;
    }
    let open_visit = first.wait_visit(&open_no).await;
    assert_eq!(open_visit.due_date, "2026-11-24");
    let closed_visit = first.wait_visit(&closed_no).await;
    first
        .agent("SH01")
        .await
        .record_survey(survey(
            &closed_visit.visit_id,
            pb::Rating::VerySatisfied,
            true,
        ))
        .await
        .unwrap();
    let c = first
        .agent("SH01")
        .await
        .open_complaint(pb::OpenComplaintRequest {
            idempotency_key: key(),
            branch: "SH01".into(),
            category: pb::ComplaintCategory::StaffConduct as i32,
            severity: pb::Severity::Minor as i32,
            description: "nobody called back".into(),
            source: "hotline".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(instant(&c.respond_by), local(2026, 11, 24, 16, 0));
    // Tuesday 17:00, unanswered: escalated to the department head for the deadline.
    clock.set(local(2026, 11, 24, 17, 0));
    first.scan().await;
    let lapsed = complaint(&first, &c.complaint_id).await;
    assert!(lapsed.deadline_escalated);
    assert_eq!(
        (lapsed.escalation_level, lapsed.assignee.as_str()),
        (1, "department_head")
    );
    assert_eq!(escalations(&first).await, 1);
    let bus = first.svc.bus.clone();
    let db = first.svc.db.take().expect("the test's database");
    first.stop().await;

    // Act: Monday 23 November is declared a holiday; feedback restarts with it.
    let second = wrap(
        builder()
            .clock(clock.clone())
            .bus(&bus)
            .database_url(&db.url)
            .env("AFTERSALES__CALENDAR__HOLIDAYS", "2026-11-23")
            .start()
            .await,
    );

    // Assert: the open visit is due a working day later, the closed one is as it was.
    let visits = second.visits_of(&open_no).await;
    assert_eq!(visits[0].due_date, "2026-11-25");
    let done = second.visits_of(&closed_no).await;
    assert_eq!(
        done[0].due_date, "2026-11-24",
        "a closed visit is left alone"
    );
    assert_eq!(second.count(VISIT_MOVED).await, 1);
    // The complaint is due Wednesday 16:00: its lapse is void, the escalation taken back.
    let back = complaint(&second, &c.complaint_id).await;
    assert_eq!(instant(&back.respond_by), local(2026, 11, 25, 16, 0));
    assert!(!back.deadline_escalated);
    assert_eq!(
        (back.escalation_level, back.assignee.as_str()),
        (0, "service_management")
    );
    assert_eq!(back.status, pb::ComplaintStatus::Open as i32);
    assert_eq!(second.count(COMPLAINT_MOVED).await, 1);
    assert_eq!(second.count(WITHDRAWN).await, 1);

    // Once: recomputing by hand finds nothing more.
    let mut env = second.svc.env.clone();
    env.insert("AFTERSALES__CALENDAR__HOLIDAYS".into(), "2026-11-23".into());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedback"))
        .args(["sla", "recompute", "--since", "2026-11-01"])
        .env_clear()
        .envs(&env)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("2 open clock(s) examined, 0 re-derived, 0 deadline(s) moved"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(second.count(WITHDRAWN).await, 1);

    // Wednesday 16:00 and still unanswered: it lapses again, once, for the new deadline.
    clock.set(local(2026, 11, 25, 16, 0));
    second.scan().await;
    second.scan().await;
    assert_eq!(escalations(&second).await, 2);
    let again = complaint(&second, &c.complaint_id).await;
    assert_eq!(
        (again.escalation_level, again.deadline_escalated),
        (1, true)
    );
    second.stop().await;
    drop(db);
}
