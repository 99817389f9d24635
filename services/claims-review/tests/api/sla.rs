//! Review deadlines as SLA clocks: re-derived from their stored inputs when the calendar changes
//! (at start-up, and by `claims-review sla recompute`), through the real API, with the real
//! intake showing the change on the request's timeline.

use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::clock::Clock;
use aftersales_platform::grpc::ClientInterceptor;
use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::proto::claims::v1::decide_claim_request::Detail;
use aftersales_platform::proto::intake::v1 as intake_pb;
use aftersales_platform::proto::intake::v1::intake_service_client::IntakeServiceClient;
use aftersales_platform::testing::{self, TestService, TestServiceBuilder};
use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use claims_review::app::App;
use sea_orm::ConnectionTrait;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::helpers::{TestApp, wrap};

type Intake = IntakeServiceClient<InterceptedService<Channel, ClientInterceptor>>;

/// Local (UTC+8, the default calendar's) time in 2026.
fn local(month: u32, day: u32, hour: u32) -> DateTime<Utc> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, month, day, hour, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn due(c: &pb::Claim) -> Option<DateTime<Utc>> {
    c.due_at
        .as_ref()
        .and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos as u32))
}

/// Claims-review on `clock`, optionally with Wednesday 2026-12-02 a holiday.
fn claims(clock: &Clock, holiday: bool) -> TestServiceBuilder<App> {
    let b = TestService::<App>::builder()
        .env("AFTERSALES__CLAIMS_REVIEW__SLA_SCAN_INTERVAL_MS", "3600000")
        .clock(clock.clone());
    if holiday {
        b.env("AFTERSALES__CALENDAR__HOLIDAYS", "2026-12-02")
    } else {
        b
    }
}

async fn intake_client(intake: &TestService<intake::app::App>) -> Intake {
    let channel =
        aftersales_platform::grpc::channel(&intake.grpc_url(), Duration::from_secs(30)).unwrap();
    IntakeServiceClient::with_interceptor(
        channel,
        ClientInterceptor::with_token(&testing::token("agent-SH01", "SH01", &[Role::BranchAgent]))
            .unwrap(),
    )
}

/// Submits a request at intake that a person must review (misuse suspected) and waits for its
/// pending claim.
async fn submit(branch: &mut Intake, app: &TestApp) -> pb::Claim {
    let mut s = testing::demo::submission("SH01");
    s.misuse_suspected = true;
    let no = branch
        .submit_request(s)
        .await
        .unwrap()
        .into_inner()
        .request
        .unwrap()
        .request_no;
    app.wait_claim(&no, |c| c.status == pb::ClaimStatus::Pending as i32)
        .await
}

fn decide(c: &pb::Claim, decision: pb::Decision, detail: Detail) -> pb::DecideClaimRequest {
    pb::DecideClaimRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        request_no: c.request_no.clone(),
        expected_version: c.version,
        decision: decision as i32,
        detail: Some(detail),
        note: String::new(),
    }
}

/// The summaries of the request's timeline once `pred` holds for them.
async fn timeline_where(
    branch: &Intake,
    request_no: &str,
    pred: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let pred = &pred;
    testing::eventually(Duration::from_secs(30), || {
        let mut branch = branch.clone();
        let no = request_no.to_owned();
        async move {
            let t = branch
                .get_timeline(intake_pb::GetTimelineRequest { request_no: no })
                .await
                .ok()?
                .into_inner();
            let lines: Vec<String> = t.entries.iter().map(|e| e.summary.clone()).collect();
            pred(&lines).then_some(lines)
        }
    })
    .await
    .unwrap_or_else(|| panic!("the timeline of {request_no} never showed what was expected"))
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.count(sql).await
}

const MOVED: &str =
    "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'claims.claim.deadline_changed'";
const WITHDRAWN: &str =
    "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'claims.claim.sla_breach_withdrawn'";
const BREACHES: &str =
    "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'claims.claim.sla_breached'";

#[tokio::test]
async fn a_holiday_added_to_the_calendar_moves_open_review_deadlines_leaves_decided_ones_and_withdraws_a_void_breach_once()
 {
    // Arrange: intake and claims-review on one bus, claims-review's clock on Monday 30 November.
    let clock = Clock::manual(local(11, 30, 10));
    let mut first = wrap(claims(&clock, false).start().await);
    let bus = first.svc.bus.clone();
    let intake = TestService::<intake::app::App>::builder()
        .bus(&bus)
        .start()
        .await;
    let mut branch = intake_client(&intake).await;
    // C opens on Monday 10:00: two working days → Wednesday 10:00.
    let late = submit(&mut branch, &first).await;
    assert_eq!(due(&late), Some(local(12, 2, 10)));
    // A and B open on Tuesday 10:00 → Thursday 10:00; B is decided at once.
    clock.set(local(12, 1, 10));
    let open = submit(&mut branch, &first).await;
    assert_eq!(due(&open), Some(local(12, 3, 10)));
    let decided = submit(&mut branch, &first).await;
    let mut reviewer = first.reviewer("rita").await;
    reviewer
        .decide_claim(decide(
            &decided,
            pb::Decision::Approve,
            Detail::Approve(pb::Approve::default()),
        ))
        .await
        .unwrap();
    // Wednesday 11:00: C's deadline passed; it is announced and escalated.
    // (Moving the clock wakes the scanner too: count what was announced, not who announced it.)
    clock.set(local(12, 2, 11));
    first.scan().await;
    assert_eq!(count(&first, BREACHES).await, 1);
    let c = first.wait_claim(&late.request_no, |c| c.escalated).await;
    assert_eq!(due(&c), Some(local(12, 2, 10)));
    let db = first.svc.db.take().expect("the test's database");
    first.stop().await;

    // Act: Wednesday 2 December is declared a holiday; claims-review restarts with it.
    let second = wrap(
        claims(&clock, true)
            .bus(&bus)
            .database_url(&db.url)
            .start()
            .await,
    );

    // Assert: the open deadlines that cross the holiday moved a working day on, C's breach no
    // longer holds and was withdrawn (its escalation taken back), the decided claim is as it was.
    let a = second.wait_claim(&open.request_no, |_| true).await;
    assert_eq!(due(&a), Some(local(12, 4, 10)));
    let c = second.wait_claim(&late.request_no, |_| true).await;
    assert_eq!(due(&c), Some(local(12, 3, 10)));
    assert!(
        !c.escalated,
        "the escalation made for the void breach is taken back"
    );
    assert_eq!(c.status, pb::ClaimStatus::Pending as i32);
    let b = second.wait_claim(&decided.request_no, |_| true).await;
    assert_eq!(b.status, pb::ClaimStatus::Approved as i32);
    assert_eq!(
        b.version,
        decided.version + 1,
        "untouched since its decision"
    );
    assert_eq!(count(&second, MOVED).await, 2);
    assert_eq!(count(&second, WITHDRAWN).await, 1);
    let reasons = second
        .svc
        .conn()
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT subject, reason FROM sla_changes ORDER BY subject",
        ))
        .await
        .unwrap();
    assert_eq!(
        reasons.len(),
        2,
        "one change per moved deadline, none for the decided claim"
    );
    for r in &reasons {
        let reason: String = r.try_get("", "reason").unwrap();
        assert_eq!(reason, "calendar: holiday 2026-12-02 added");
        let subject: String = r.try_get("", "subject").unwrap();
        assert_ne!(subject, decided.request_no);
    }
    // The request's timeline at intake says so.
    let lines = timeline_where(&branch, &late.request_no, |l| {
        l.iter().any(|s| s.contains("no longer missed"))
    })
    .await;
    assert!(
        lines.iter().any(|s| s
            == "Review deadline moved from 2026-12-02 10:00 to 2026-12-03 10:00 (calendar: holiday 2026-12-02 added)"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|s| s
            == "Review deadline no longer missed: now due 2026-12-03 10:00 (calendar: holiday 2026-12-02 added)"),
        "{lines:?}"
    );
    timeline_where(&branch, &open.request_no, |l| {
        l.iter().any(|s| {
            s.starts_with("Review deadline moved from 2026-12-03 10:00 to 2026-12-04 10:00")
        })
    })
    .await;

    // Once: recomputing again, from the command line, changes and announces nothing more.
    let mut env = second.svc.env.clone();
    env.insert("AFTERSALES__CALENDAR__HOLIDAYS".into(), "2026-12-02".into());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_claims-review"))
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
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("2 open clock(s) examined, 0 re-derived, 0 deadline(s) moved"),
        "{said}"
    );
    assert_eq!(count(&second, MOVED).await, 2);
    assert_eq!(count(&second, WITHDRAWN).await, 1);

    // And the breach that now holds fires once: Thursday 11:00, C's new deadline passed.
    clock.set(local(12, 3, 11));
    second.scan().await;
    second.scan().await;
    assert_eq!(
        count(&second, BREACHES).await,
        2,
        "one per deadline that passed"
    );
    second.wait_claim(&late.request_no, |c| c.escalated).await;

    second.stop().await;
    intake.stop().await;
    drop(db);
}

#[tokio::test]
async fn a_claim_waiting_for_information_keeps_its_pause_when_the_calendar_changes_and_resumes_with_the_rederived_time_left()
 {
    // Arrange: opened Tuesday 10:00 (due Thursday 10:00); on Wednesday 10:00 the reviewer asks
    // for a photo: 9 of its 18 working hours were used (Tuesday 8, Wednesday 1).
    let clock = Clock::manual(local(12, 1, 10));
    let mut first = wrap(claims(&clock, false).start().await);
    let bus = first.svc.bus.clone();
    let r = crate::helpers::needs_review("SH01");
    let claim = first.submit(&r).await;
    assert_eq!(due(&claim), Some(local(12, 3, 10)));
    clock.set(local(12, 2, 10));
    let mut reviewer = first.reviewer("rita").await;
    let asked = reviewer
        .decide_claim(decide(
            &claim,
            pb::Decision::RequestInfo,
            Detail::RequestInfo(pb::RequestInfo {
                missing: vec![pb::MissingInfo::Photos as i32],
            }),
        ))
        .await
        .unwrap()
        .into_inner()
        .claim
        .unwrap();
    assert_eq!(asked.due_at, None, "paused");
    let left = format!(
        "SELECT paused_left_ms FROM claims WHERE request_no = '{}'",
        r.request_no
    );
    assert_eq!(first.count(&left).await, 9 * 3_600_000);
    let db = first.svc.db.take().expect("the test's database");
    first.stop().await;

    // Act: Wednesday becomes a holiday; claims-review restarts with it, and on Friday 09:00 the
    // branch sends the photo.
    let second = wrap(
        claims(&clock, true)
            .bus(&bus)
            .database_url(&db.url)
            .start()
            .await,
    );
    assert_eq!(
        second.count(&left).await,
        10 * 3_600_000,
        "the hour used on the holiday is given back to the paused clock"
    );
    assert_eq!(
        second.count(MOVED).await,
        0,
        "a paused clock has no deadline to move"
    );
    clock.set(local(12, 4, 9));
    let mut agent = second.as_role("SH01", Role::BranchAgent).await;
    let back = agent
        .provide_info(pb::ProvideInfoRequest {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            request_no: r.request_no.clone(),
            photos: vec!["https://photos.example/board.jpg".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .claim
        .unwrap();

    // Assert: 10 working hours from Friday 09:00: Friday's 9, then Monday 7 December 10:00.
    assert_eq!(back.status, pb::ClaimStatus::Pending as i32);
    assert_eq!(due(&back), Some(local(12, 7, 10)));
    second.stop().await;
    drop(db);
}
