//! Breaking a dependency: the outbox table gone while a job's event arrives. The event is
//! retried and parked in the DLQ, nothing of it stays (no visit, nothing in the event log); once
//! repaired, the replayed event makes its visit, once.

use std::time::Duration;

use lapin::options::BasicGetOptions;
use sea_orm::ConnectionTrait;

use crate::helpers::{completed, local, request_no, spawn_app};

#[tokio::test]
async fn a_broken_outbox_schedules_no_visit_and_parks_the_event_in_the_dlq_instead_of_losing_it() {
    let app = spawn_app().await;
    app.svc
        .conn()
        .execute_unprepared("ALTER TABLE outbox RENAME TO outbox_broken")
        .await
        .unwrap();
    let no = request_no("SH01");
    let job = completed(&no, "SH01", "WO-1", "T1", local(2026, 11, 20, 10, 0));

    let id = app.publish(&no, "SH01", &job).await;

    let bus = app.svc.bus_settings();
    let conn = bus.connect("sabotage-probe").await.unwrap();
    let ch = conn.create_channel().await.unwrap();
    let dlq = bus.topology.dlq("feedback");
    let dead = aftersales_platform::testing::eventually(Duration::from_secs(30), || {
        let ch = ch.clone();
        let dlq = dlq.clone();
        async move {
            ch.basic_get(dlq.as_str().into(), BasicGetOptions { no_ack: true })
                .await
                .ok()
                .flatten()
        }
    })
    .await
    .expect("the event is in feedback.dlq");
    assert_eq!(
        dead.delivery
            .properties
            .message_id()
            .as_ref()
            .map(|m| m.as_str().to_owned()),
        Some(id)
    );
    assert_eq!(app.count("SELECT count(*)::bigint FROM visits").await, 0);
    assert_eq!(app.logged().await, 0, "the log rolled back with the visit");

    // Repaired, the replayed event makes the visit.
    app.svc
        .conn()
        .execute_unprepared("ALTER TABLE outbox_broken RENAME TO outbox")
        .await
        .unwrap();
    app.publish(&no, "SH01", &job).await;
    let v = app.wait_visit(&no).await;
    assert_eq!(v.work_order_no, "WO-1");
    assert_eq!(app.visits_of(&no).await.len(), 1);
    app.stop().await;
}
