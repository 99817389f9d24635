//! Two replicas of claims-review on one database and one broker, as the chart runs them.

use std::time::Duration;

use aftersales_platform::clock::Clock;
use aftersales_platform::proto::claims::v1 as pb;

use crate::helpers::{SCANNER, builder, manual_clock, needs_review, next_event, request_no, wrap};

#[tokio::test]
async fn two_replicas_scanning_one_overdue_claim_at_the_same_moment_announce_its_breach_exactly_once()
 {
    // Arrange: two replicas sharing the database and the broker, each with its own clock.
    let first = wrap(builder(None).clock(manual_clock()).start().await);
    let second = wrap(
        builder(None)
            .clock(Clock::manual(first.clock().now()))
            .database_url(&first.svc.database_url())
            .bus(&first.svc.bus)
            .start()
            .await,
    );
    let mut breaches = first.subscribe("claims.claim.sla_breached").await;
    let r = needs_review("SH01");
    let c = first.submit(&r).await;
    let due_at = c.due_at.expect("a pending claim has a deadline");
    let due = chrono::DateTime::from_timestamp(due_at.seconds, due_at.nanos as u32).unwrap();
    let of_this_claim = format!(
        "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'claims.claim.sla_breached' AND subject = '{}'",
        r.request_no
    );
    assert_eq!(c.status, pb::ClaimStatus::Pending as i32);
    assert_eq!(
        second.count("SELECT count(*)::bigint FROM claims").await,
        1,
        "both replicas see the one claim"
    );
    assert_eq!(first.count(&of_this_claim).await, 0, "nothing breached yet");

    // Act: both clocks an hour past the deadline, both replicas scan at once (their own loops,
    // woken by the clocks, join in too).
    let past = due + chrono::Duration::hours(1);
    first.clock().set(past);
    second.clock().set(past);
    let (a, b) = tokio::join!(first.svc.try_scan(SCANNER), second.svc.try_scan(SCANNER));
    // Once the race is over, each replica's own scan finds nothing left to announce.
    assert_eq!(first.scan().await, 0);
    assert_eq!(second.scan().await, 0);

    // Assert: one announcement, however the race went.
    assert!(
        a.unwrap_or(0) + b.unwrap_or(0) <= 1,
        "at most one of the concurrent scans handled the claim: {a:?} {b:?}"
    );
    let env = next_event(&mut breaches, "claims.claim.sla_breached", &r.request_no).await;
    assert_eq!(env.subject, r.request_no);
    assert_eq!(first.count(&of_this_claim).await, 1, "one breach staged");
    // Everything staged went out; a sentinel published after it arrives after any copy of it.
    first
        .svc
        .wait_count(
            "SELECT count(*)::bigint FROM outbox WHERE published_at IS NULL",
            0,
        )
        .await;
    let sentinel = request_no("SH01");
    first
        .svc
        .publish(
            "claims-review",
            &sentinel,
            "SH01",
            &pb::ClaimSlaBreached {
                request_no: sentinel.clone(),
                branch: "SH01".into(),
                ..Default::default()
            },
        )
        .await;
    let mut again = 0;
    loop {
        let env = tokio::time::timeout(Duration::from_secs(20), breaches.recv())
            .await
            .expect("the sentinel arrives")
            .expect("event stream open");
        if env.subject == sentinel {
            break;
        }
        if env.subject == r.request_no {
            again += 1;
        }
    }
    assert_eq!(
        again, 0,
        "no second claims.claim.sla_breached for the claim"
    );
    let claim = first.wait_claim(&r.request_no, |c| c.escalated).await;
    assert_eq!(claim.version, c.version + 1, "escalated once");

    second.stop().await;
    first.stop().await;
}
