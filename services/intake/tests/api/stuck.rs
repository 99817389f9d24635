//! Stuck requests (issue 20): a request whose next step is overdue is counted in a metric by
//! status and branch, listed with `stuck_only`, marked on itself and its timeline, and cleared
//! when it moves on — here, after its dead-lettered claim event is replayed.

use std::time::Duration;

use aftersales_platform::bus::Replay;
use aftersales_platform::clock::Clock;
use aftersales_platform::proto::intake::v1 as pb;
use aftersales_platform::testing::{self, TestService};
use intake::app::App;
use sea_orm::ConnectionTrait;

use crate::helpers::{submission, wrap};

async fn stuck_metric(admin: std::net::SocketAddr, branch: &str) -> Option<i64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(admin).await.ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).await.ok()?;
    let series = format!("aftersales_requests_stuck{{branch=\"{branch}\",status=\"submitted\"}} ");
    Some(
        body.lines()
            .find_map(|l| l.strip_prefix(&series))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0),
    )
}

#[tokio::test]
async fn a_request_whose_claim_event_is_dead_lettered_is_stuck_until_the_dlq_is_replayed() {
    // Arrange: intake (its clock in the test's hands, the metric refreshed quickly) and
    // claims-review on one set of broker names; claims-review's table is broken, so the
    // submission event is dead-lettered after its attempts.
    let clock = Clock::manual(chrono::Utc::now());
    let svc = TestService::<App>::builder()
        .clock(clock.clone())
        .env("AFTERSALES__INTAKE__STUCK_REFRESH_MS", "200")
        .start()
        .await;
    let claims = TestService::<claims_review::app::App>::builder()
        .bus(&svc.bus)
        .start()
        .await;
    claims
        .conn()
        .execute_unprepared("ALTER TABLE claims RENAME TO claims_broken")
        .await
        .unwrap();
    let app = wrap(svc);
    let mut client = app.agent("ST01").await;
    let r = client
        .submit_request(submission("ST01"))
        .await
        .unwrap()
        .into_inner()
        .request
        .unwrap();
    let no = r.request_no.clone();
    testing::eventually(Duration::from_secs(30), || async {
        let l = claims.bus_settings().dlq_list("claims-review").await.ok()?;
        l.iter().any(|d| d.subject == no).then_some(())
    })
    .await
    .expect("the claim event is dead-lettered");
    let stuck_list = |client: &mut crate::helpers::Client| {
        let mut c = client.clone();
        async move {
            c.list_requests(pb::ListRequestsRequest {
                stuck_only: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .requests
        }
    };
    assert!(
        stuck_list(&mut client).await.is_empty(),
        "not stuck within its 2 minutes"
    );

    // Act: its 2 minutes pass.
    clock.advance(chrono::Duration::minutes(3));

    // Assert: listed, marked, on its timeline, counted.
    let listed = stuck_list(&mut client).await;
    assert_eq!(listed.len(), 1);
    let mark = listed[0].stuck.clone().expect("marked stuck");
    assert_eq!(mark.rule, "intake.request.submitted");
    assert_eq!(mark.expected_within, "2m");
    let timeline = client
        .get_timeline(pb::GetTimelineRequest {
            request_no: no.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(timeline.stuck.is_some(), "the timeline says so");
    assert_eq!(
        timeline.entries.last().map(|e| e.r#type.as_str()),
        Some("intake.request.submitted"),
        "the last step it reached"
    );
    testing::eventually(Duration::from_secs(20), || async {
        (stuck_metric(app.svc.admin_addr(), "ST01").await? == 1).then_some(())
    })
    .await
    .expect("the metric counts it");

    // Act: the table is repaired and the dead letter replayed.
    claims
        .conn()
        .execute_unprepared("ALTER TABLE claims_broken RENAME TO claims")
        .await
        .unwrap();
    let replayed = claims
        .bus_settings()
        .dlq_replay("claims-review", &Replay::All)
        .await
        .unwrap();
    assert!(replayed.iter().any(|d| d.subject == no));

    // Assert: the claim opens (and the demo policy approves it), the request moves on, nothing
    // is stuck any more.
    testing::eventually(Duration::from_secs(30), || {
        let mut c = client.clone();
        let no = no.clone();
        async move {
            let r = c
                .get_request(pb::GetRequestRequest { request_no: no })
                .await
                .ok()?
                .into_inner()
                .request?;
            (r.status != pb::RequestStatus::Submitted as i32).then_some(())
        }
    })
    .await
    .expect("the request moved on");
    assert!(
        stuck_list(&mut client).await.is_empty(),
        "cleared once it moved on"
    );
    testing::eventually(Duration::from_secs(20), || async {
        (stuck_metric(app.svc.admin_addr(), "ST01").await? == 0).then_some(())
    })
    .await
    .expect("the metric clears");
    claims.stop().await;
    app.stop().await;
}
