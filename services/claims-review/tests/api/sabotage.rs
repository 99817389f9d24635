use std::time::Duration;

use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::proto::intake::v1 as intake;
use lapin::options::BasicGetOptions;
use sea_orm::ConnectionTrait;

use crate::helpers::{in_warranty, spawn_app};

#[tokio::test]
async fn a_broken_outbox_opens_no_claim_and_parks_the_event_in_the_dlq_instead_of_losing_it() {
    let app = spawn_app().await;
    app.db
        .conn
        .execute_unprepared("ALTER TABLE outbox RENAME TO outbox_broken")
        .await
        .unwrap();
    let r = in_warranty("SH01");
    let payload = intake::RequestSubmitted {
        request: Some(r.clone()),
    };

    let id = app.publish(&r.request_no, "SH01", &payload).await;

    let conn = app.bus().connect("sabotage-probe").await.unwrap();
    let ch = conn.create_channel().await.unwrap();
    let dlq = app.bus().topology.dlq("claims-review");
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
    .expect("the event is in claims-review.dlq");
    assert_eq!(
        dead.delivery
            .properties
            .message_id()
            .as_ref()
            .map(|m| m.as_str().to_owned()),
        Some(id)
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM claims").await,
        0,
        "the claim rolled back with its event"
    );

    // Repaired, the replayed event opens the claim, approved as the policy says.
    app.db
        .conn
        .execute_unprepared("ALTER TABLE outbox_broken RENAME TO outbox")
        .await
        .unwrap();
    app.publish(&r.request_no, "SH01", &payload).await;
    let c = app
        .wait_claim(&r.request_no, |c| {
            c.status == pb::ClaimStatus::Approved as i32
        })
        .await;
    assert!(c.auto_decided);
    app.stop().await;
}

#[tokio::test]
async fn a_submitted_event_without_its_request_goes_straight_to_the_dlq() {
    let app = spawn_app().await;
    let id = app
        .publish(
            "AS-2611-SH01-000001",
            "SH01",
            &intake::RequestSubmitted { request: None },
        )
        .await;
    let conn = app.bus().connect("sabotage-probe").await.unwrap();
    let ch = conn.create_channel().await.unwrap();
    let dlq = app.bus().topology.dlq("claims-review");
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
    .expect("the event is in claims-review.dlq");
    assert_eq!(
        dead.delivery
            .properties
            .message_id()
            .as_ref()
            .map(|m| m.as_str().to_owned()),
        Some(id)
    );
    assert_eq!(app.count("SELECT count(*)::bigint FROM claims").await, 0);
    app.stop().await;
}
