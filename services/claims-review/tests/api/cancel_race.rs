//! Cancellation against submission in every order the broker can deliver them: one before the
//! other, both at once (32 handled concurrently), redelivered and replayed. Whatever happened,
//! a cancelled request ends with no live claim, nothing is approved after its cancellation, and
//! the deadline scanner finds nothing of it.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::proto::common::v1::EventEnvelope;
use aftersales_platform::proto::intake::v1 as intake;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tokio::sync::mpsc;

use crate::helpers::{TestApp, builder, in_warranty, manual_clock, needs_review, request_no, wrap};

/// Requests cancelled in the race.
const N: usize = 40;

fn submitted(r: &intake::ServiceRequest) -> intake::RequestSubmitted {
    intake::RequestSubmitted {
        request: Some(r.clone()),
    }
}

fn cancelled(r: &intake::ServiceRequest) -> intake::RequestCancelled {
    intake::RequestCancelled {
        request_no: r.request_no.clone(),
        branch: r.branch.clone(),
        reason: "customer changed their mind".into(),
        cancelled_by: "agent-SH01".into(),
        previous_status: intake::RequestStatus::Submitted as i32,
    }
}

/// `N` requests with distinct numbers: four in five in warranty (the demo policy approves them
/// at once), every fifth needing a person (it stays PENDING, where the scanner would find it).
fn requests() -> Vec<intake::ServiceRequest> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    while out.len() < N {
        let r = if out.len() % 5 == 4 {
            needs_review("SH01")
        } else {
            in_warranty("SH01")
        };
        if seen.insert(r.request_no.clone()) {
            out.push(r);
        }
    }
    out
}

/// The claim as stored: status and version.
async fn claims(app: &TestApp) -> BTreeMap<String, (String, i64)> {
    app.db
        .conn
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT request_no, status, version FROM claims",
        ))
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.try_get::<String>("", "request_no").unwrap(),
                (
                    r.try_get::<String>("", "status").unwrap(),
                    r.try_get::<i64>("", "version").unwrap(),
                ),
            )
        })
        .collect()
}

/// How many events of `routing_key` claims-review staged about `subject`.
async fn staged(app: &TestApp, subject: &str, routing_key: &str) -> i64 {
    app.count(&format!(
        "SELECT count(*)::bigint FROM outbox WHERE subject = '{subject}' AND routing_key = '{routing_key}'"
    ))
    .await
}

/// Waits until everything staged went out, publishes a sentinel after it and returns what
/// arrived before the sentinel: the broker keeps one queue's order, so nothing published before
/// it can come later.
async fn drain(
    app: &TestApp,
    rx: &mut mpsc::UnboundedReceiver<EventEnvelope>,
) -> Vec<EventEnvelope> {
    app.svc
        .wait_count(
            "SELECT count(*)::bigint FROM outbox WHERE published_at IS NULL",
            0,
        )
        .await;
    let sentinel = request_no("ZZ99");
    app.svc
        .publish(
            "claims-review",
            &sentinel,
            "ZZ99",
            &pb::ClaimSlaBreached {
                request_no: sentinel.clone(),
                branch: "ZZ99".into(),
                ..Default::default()
            },
        )
        .await;
    let mut got = Vec::new();
    loop {
        let env = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("the sentinel arrives")
            .expect("event stream open");
        if env.subject == sentinel {
            return got;
        }
        got.push(env);
    }
}

#[tokio::test]
async fn a_cancelled_request_keeps_no_live_claim_and_nothing_is_approved_or_escalated_after_its_cancellation_in_any_interleaving()
 {
    // Arrange: claims-review declares its inbox and handles some cancellations before their
    // submissions arrive; then it stops, and everything else piles up in its inbox, to be taken
    // 32 at a time when it comes back (as after an outage): the two events of a request are
    // then handled at the same moment.
    let mut down = wrap(builder(None).start().await);
    let mut events = down.subscribe("claims.#").await;
    let all = requests();
    // The early ones are cancelled before intake's submission even arrives.
    let (early, rest) = all.split_at(N / 5);
    // A request nobody cancels, needing a person: the scanner must find it, or the scan proved
    // nothing.
    let control = needs_review("SH01");
    let mut ids = 0;
    for r in early {
        down.publish(&r.request_no, "SH01", &cancelled(r)).await;
        ids += 1;
    }
    down.svc
        .wait_count("SELECT count(*)::bigint FROM processed_events", ids as i64)
        .await;
    down.svc
        .take_running()
        .stop()
        .await
        .expect("claims-review stops cleanly");

    // The backlog: the late submissions of the early ones, and for the rest submission and
    // cancellation back to back, half in each order; half the pairs also redelivered (the same
    // event id again) and replayed (the same events under new ids).
    for r in early {
        down.publish(&r.request_no, "SH01", &submitted(r)).await;
        ids += 1;
    }
    for (i, r) in rest.iter().enumerate() {
        let id = uuid::Uuid::now_v7().to_string();
        if i % 2 == 1 {
            down.publish(&r.request_no, "SH01", &cancelled(r)).await;
            down.publish_with_id(&id, &r.request_no, "SH01", &submitted(r))
                .await;
        } else {
            down.publish_with_id(&id, &r.request_no, "SH01", &submitted(r))
                .await;
            down.publish(&r.request_no, "SH01", &cancelled(r)).await;
        }
        ids += 2;
        if i % 4 < 2 {
            down.publish_with_id(&id, &r.request_no, "SH01", &submitted(r))
                .await;
            down.publish(&r.request_no, "SH01", &submitted(r)).await;
            down.publish(&r.request_no, "SH01", &cancelled(r)).await;
            ids += 2;
        }
    }
    down.publish(&control.request_no, "SH01", &submitted(&control))
        .await;
    ids += 1;

    // Act: claims-review comes back (on a clock of the test's) and works through the backlog.
    let app = wrap(
        builder(None)
            .clock(manual_clock())
            .database_url(&down.svc.database_url())
            .bus(&down.svc.bus)
            .start()
            .await,
    );
    // Every distinct event had its effect (none is still retrying or dead-lettered).
    app.svc
        .wait_count("SELECT count(*)::bigint FROM processed_events", ids as i64)
        .await;
    let after_race = claims(&app).await;
    let announced = drain(&app, &mut events).await;

    // Assert 1: every cancelled request has exactly one claim and it is CANCELLED; the approval
    // and the opening, where they happened, came before the cancellation: each change bumps the
    // version once, and a claim approved after its cancellation could not be CANCELLED now.
    let mut paths = BTreeMap::<&str, usize>::new();
    for r in &all {
        let (status, version) = after_race
            .get(&r.request_no)
            .unwrap_or_else(|| panic!("{} has a claim", r.request_no));
        assert_eq!(status, "cancelled", "{}", r.request_no);
        let opened = staged(&app, &r.request_no, "claims.claim.opened").await;
        let approved = staged(&app, &r.request_no, "claims.claim.approved").await;
        assert!(
            opened <= 1 && approved <= opened,
            "{}: {opened} opened, {approved} approved",
            r.request_no
        );
        assert_eq!(
            *version,
            1 + approved + i64::from(opened > 0),
            "{}: created (opened or cancelled), approved, cancelled: each change once",
            r.request_no
        );
        *paths
            .entry(match (opened, approved) {
                (0, _) => "cancelled before opening",
                (_, 0) => "cancelled while pending",
                _ => "cancelled after approval",
            })
            .or_default() += 1;
    }
    for r in early {
        assert_eq!(
            app.count(&format!(
                "SELECT count(*)::bigint FROM outbox WHERE subject = '{}'",
                r.request_no
            ))
            .await,
            0,
            "{}: a submission after its cancellation opens and announces nothing",
            r.request_no
        );
    }
    let race: HashSet<&str> = all.iter().map(|r| r.request_no.as_str()).collect();
    for env in &announced {
        assert!(
            matches!(
                env.routing_key.as_str(),
                "claims.claim.opened" | "claims.claim.approved"
            ) || !race.contains(env.subject.as_str()),
            "{} {}: only openings and approvals that preceded the cancellation",
            env.routing_key,
            env.subject
        );
    }
    // The race reached the paths it is about (the early ones always take the first).
    assert!(
        paths["cancelled before opening"] >= early.len(),
        "{paths:?}"
    );
    assert!(
        paths.get("cancelled after approval").copied().unwrap_or(0)
            + paths.get("cancelled while pending").copied().unwrap_or(0)
            > 0,
        "some claim opened before its cancellation: {paths:?}"
    );

    // Act 2: with every cancellation handled, each submission is replayed once more, and the
    // scanner runs with the clock past every deadline.
    for r in &all {
        app.publish(&r.request_no, "SH01", &submitted(r)).await;
        ids += 1;
    }
    app.svc
        .wait_count("SELECT count(*)::bigint FROM processed_events", ids as i64)
        .await;
    app.clock()
        .set(app.clock().now() + chrono::Duration::days(30));
    app.scan().await;
    let later = drain(&app, &mut events).await;

    // Assert 2: nothing about the cancelled requests went out after their cancellations; the
    // scanner announced the control's breach and nothing else; the claims did not move.
    for env in &later {
        assert!(
            !race.contains(env.subject.as_str()),
            "{} for {} after its cancellation",
            env.routing_key,
            env.subject
        );
    }
    assert!(
        later.iter().any(
            |e| e.routing_key == "claims.claim.sla_breached" && e.subject == control.request_no
        ),
        "the scanner ran past the deadlines: the control's breach was announced"
    );
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'claims.claim.sla_breached'"
        )
        .await,
        1,
        "one breach: the control's"
    );
    let mut now = claims(&app).await;
    now.remove(&control.request_no);
    let mut before = after_race;
    before.remove(&control.request_no);
    assert_eq!(now, before, "no claim of a cancelled request changed");
    app.stop().await;
    down.stop().await;
}
