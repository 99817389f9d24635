//! A cancelled request ends with nothing open in feedback, under any interleaving of the job's
//! event (a completed work order or a delivery) with the cancellation (intake's, or the
//! warehouse's release of what it held): cancellation first, job first, both handled at the
//! same moment (32 at once after an outage), redelivered and replayed.

use std::collections::HashMap;

use aftersales_platform::proto::warehouse::v1 as warehouse;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::helpers::{TestApp, builder, cancelled, completed, delivered, local, request_no, wrap};

const N: usize = 60;

fn released(no: &str) -> warehouse::ReservationReleased {
    warehouse::ReservationReleased {
        request_no: no.into(),
        branch: "SH01".into(),
        reason: "request_cancelled".into(),
        ..Default::default()
    }
}

/// Publishes the job of request `i`: a completed work order, or (every third) a delivery with
/// no on-site work. Its event id.
async fn job(app: &TestApp, i: usize, no: &str, id: Option<&str>) -> String {
    let at = local(2026, 11, 20, 10, 0);
    match (i % 3, id) {
        (0, None) => {
            app.publish(
                no,
                "SH01",
                &delivered(no, "SH01", &format!("S-{i}"), false, at),
            )
            .await
        }
        (0, Some(id)) => {
            app.publish_with_id(
                id,
                no,
                "SH01",
                &delivered(no, "SH01", &format!("S-{i}"), false, at),
            )
            .await;
            id.to_owned()
        }
        (_, None) => {
            app.publish(
                no,
                "SH01",
                &completed(no, "SH01", &format!("W-{i}"), "T", at),
            )
            .await
        }
        (_, Some(id)) => {
            app.publish_with_id(
                id,
                no,
                "SH01",
                &completed(no, "SH01", &format!("W-{i}"), "T", at),
            )
            .await;
            id.to_owned()
        }
    }
}

/// Publishes request `i`'s cancellation: intake's, or (every fourth) the warehouse's release.
async fn cancel(app: &TestApp, i: usize, no: &str) {
    if i % 4 == 3 {
        app.publish(no, "SH01", &released(no)).await;
    } else {
        app.publish(no, "SH01", &cancelled(no, "SH01")).await;
    }
}

/// Status of every visit, by request.
async fn visits(app: &TestApp) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for r in app
        .svc
        .conn()
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT request_no, status FROM visits",
        ))
        .await
        .unwrap()
    {
        out.entry(r.try_get::<String>("", "request_no").unwrap())
            .or_default()
            .push(r.try_get::<String>("", "status").unwrap());
    }
    out
}

async fn one_round(round: usize) {
    // Arrange: feedback handles some cancellations before their jobs are known; then it stops
    // and everything else piles up in its inbox, to be taken 32 at a time when it comes back.
    let mut down = wrap(builder().start().await);
    let mut events = down.subscribe("feedback.#").await;
    let nos: Vec<String> = (0..N).map(|_| request_no("SH01")).collect();
    let (first, rest) = nos.split_at(N / 5);
    let control = request_no("SH01");
    let mut ids = 0i64;
    for (i, no) in first.iter().enumerate() {
        cancel(&down, i, no).await;
        ids += 1;
    }
    down.wait_processed(ids).await;
    down.svc
        .take_running()
        .stop()
        .await
        .expect("feedback stops cleanly");
    for (i, no) in first.iter().enumerate() {
        job(&down, i, no, None).await;
        ids += 1;
    }
    for (j, no) in rest.iter().enumerate() {
        let i = j + first.len();
        if (j + round).is_multiple_of(2) {
            cancel(&down, i, no).await;
            let id = job(&down, i, no, None).await;
            if j % 4 < 2 {
                // Redelivered (same id) and replayed (new id) after the cancellation.
                job(&down, i, no, Some(&id)).await;
                job(&down, i, no, None).await;
                ids += 1;
            }
        } else {
            let id = job(&down, i, no, None).await;
            cancel(&down, i, no).await;
            if j % 4 < 2 {
                job(&down, i, no, Some(&id)).await;
                job(&down, i, no, None).await;
                cancel(&down, i, no).await;
                ids += 2;
            }
        }
        ids += 2;
    }
    job(&down, 1, &control, None).await;
    ids += 1;

    // Act: feedback comes back and works through the backlog.
    let app = wrap(
        builder()
            .database_url(&down.svc.database_url())
            .bus(&down.svc.bus)
            .start()
            .await,
    );
    app.wait_processed(ids).await;
    let announced = app.drain(&mut events).await;

    // Assert: nothing open for any cancelled request; nothing at all where the cancellation came
    // first; the control request (not cancelled) has its visit, so the backlog did schedule.
    let by_request = visits(&app).await;
    for no in &nos {
        for status in by_request.get(no).into_iter().flatten() {
            assert_eq!(status, "cancelled", "{no}: a visit left {status}");
        }
    }
    for no in first {
        assert!(
            !by_request.contains_key(no),
            "{no} was cancelled first: no visit"
        );
        assert!(
            announced
                .iter()
                .all(|e| !(e.routing_key == "feedback.visit.scheduled" && e.subject == *no)),
            "{no}: no visit announced"
        );
    }
    assert_eq!(
        by_request.get(&control).map(Vec::as_slice),
        Some(&["due".to_owned()][..])
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM cases WHERE cancelled_at IS NOT NULL")
            .await,
        N as i64
    );
    assert!(
        by_request.values().map(Vec::len).max().unwrap_or(0) <= 1,
        "one visit per job, however often it was announced"
    );
    app.stop().await;
    down.svc.stop().await;
}

#[tokio::test]
async fn a_cancelled_request_keeps_nothing_open_whatever_the_order_of_its_job_and_its_cancellation()
{
    // Two rounds, the halves swapping which event goes first.
    for round in 0..2 {
        one_round(round).await;
    }
}
