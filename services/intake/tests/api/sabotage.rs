use std::time::Duration;

use aftersales_platform::proto::claims::v1 as claims;
use aftersales_platform::proto::intake::v1 as pb;
use lapin::options::BasicGetOptions;
use sea_orm::ConnectionTrait;
use tonic::Code;

use crate::helpers::{spawn_app, submission, submit};

#[tokio::test]
async fn a_broken_timeline_table_fails_the_submission_whole_and_dead_letters_events_instead_of_losing_them()
 {
    let app = spawn_app().await;
    let mut client = app.agent("SH01").await;
    let before = submit(&mut client, "SH01").await.request_no;
    app.db
        .conn
        .execute_unprepared("ALTER TABLE timeline RENAME TO timeline_broken")
        .await
        .unwrap();

    // The submission cannot record its timeline entry: nothing of it may remain.
    let err = client.submit_request(submission("SH01")).await.unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    assert!(
        !err.message().contains("timeline"),
        "the cause is logged, not sent: {}",
        err.message()
    );
    assert_eq!(app.count("SELECT count(*)::bigint FROM requests").await, 1);
    assert_eq!(app.count("SELECT count(*)::bigint FROM outbox").await, 1);
    assert_eq!(
        app.count("SELECT last::bigint FROM tracking_sequences")
            .await,
        1,
        "no number was spent"
    );

    // An event that cannot be recorded is retried, then parked in the DLQ, not dropped.
    let id = app
        .publish(
            "claims",
            &before,
            "SH01",
            &claims::ClaimApproved {
                request_no: before.clone(),
                branch: "SH01".into(),
                ..Default::default()
            },
        )
        .await;
    let conn = app.bus().connect("sabotage-probe").await.unwrap();
    let ch = conn.create_channel().await.unwrap();
    let dlq = app.bus().topology.dlq("intake");
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
    .expect("the event is in intake.dlq");
    assert_eq!(
        dead.delivery
            .properties
            .message_id()
            .as_ref()
            .map(|m| m.as_str().to_owned()),
        Some(id)
    );

    // Repaired, the service works again and numbering continues without a gap.
    app.db
        .conn
        .execute_unprepared("ALTER TABLE timeline_broken RENAME TO timeline")
        .await
        .unwrap();
    let next = submit(&mut client, "SH01").await.request_no;
    assert!(next.ends_with("-000002"), "{next}");
    let r = client
        .get_request(pb::GetRequestRequest { request_no: before })
        .await
        .unwrap()
        .into_inner()
        .request
        .unwrap();
    assert_eq!(
        r.status,
        pb::RequestStatus::Submitted as i32,
        "the failed event had no partial effect"
    );
    app.stop().await;
}

#[tokio::test]
async fn submissions_made_while_the_broker_link_is_cut_are_published_after_it_returns() {
    let app = spawn_app().await;
    let mut events = app.subscribe("intake.request.submitted").await;
    let mut client = app.agent("SH01").await;
    app.relay.drop_connection().await;
    let mut numbers = Vec::new();
    for _ in 0..10 {
        numbers.push(submit(&mut client, "SH01").await.request_no);
    }
    let mut got = std::collections::HashSet::new();
    while got.len() < numbers.len() {
        let env = tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .expect("every event arrives")
            .unwrap();
        got.insert(env.subject);
    }
    assert_eq!(got, numbers.into_iter().collect());
    app.stop().await;
}
