use std::time::Duration;

use aftersales_platform::outbox::{EventMeta, Outbox, Relay};
use aftersales_platform::proto::intake::v1::RequestCancelled;
use aftersales_platform::shutdown::Shutdown;
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};

use crate::helpers::World;

fn event(n: usize) -> RequestCancelled {
    RequestCancelled {
        request_no: format!("AS-2611-SH01-{n:06}"),
        branch: "SH01".into(),
        ..Default::default()
    }
}

async fn stage(w: &World, n: usize, subjects: usize) {
    let outbox = Outbox::new("intake");
    // Several transactions, as many requests would stage them.
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let txn = w.db.conn.begin().await.unwrap();
        for i in chunk {
            let no = format!("AS-2611-SH01-{:06}", i % subjects);
            outbox
                .stage(&txn, EventMeta::request(&no, "SH01"), &event(*i))
                .await
                .unwrap();
        }
        txn.commit().await.unwrap();
    }
}

async fn unpublished(w: &World) -> i64 {
    let row =
        w.db.conn
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT count(*)::bigint FROM outbox WHERE published_at IS NULL",
            ))
            .await
            .unwrap()
            .unwrap();
    row.try_get_by_index(0).unwrap()
}

fn relay(w: &World, batch: u32) -> Relay {
    let mut s = w.settings.outbox.clone().expect("outbox settings");
    s.batch_size = batch;
    Relay::new(w.db.conn.clone(), w.bus(), "intake", s)
}

#[tokio::test]
async fn staged_events_are_published_with_envelope_properties_and_per_subject_sequences() {
    let w = World::new("intake").await;
    let mut probe = w.probe().await;
    stage(&w, 6, 2).await;
    let shutdown = Shutdown::new();
    let task = tokio::spawn(relay(&w, 50).run(shutdown.clone()));

    let (ids, _, got) = probe.distinct(6, Duration::from_secs(20)).await;
    assert_eq!(ids.len(), 6);
    for r in &got {
        assert_eq!(r.envelope.producer, "intake");
        assert_eq!(r.envelope.routing_key, "intake.request.cancelled");
        assert_eq!(r.envelope.r#type, "aftersales.intake.v1.RequestCancelled");
        assert_eq!(r.message_id.as_deref(), Some(r.envelope.event_id.as_str()));
        assert!(
            r.headers.contains_key("traceparent"),
            "trace context travels in the headers"
        );
        assert!(
            uuid::Uuid::parse_str(&r.envelope.event_id)
                .unwrap()
                .get_version_num()
                == 7
        );
    }
    let mut seqs: Vec<(String, u64)> = got
        .iter()
        .map(|r| (r.envelope.subject.clone(), r.envelope.sequence))
        .collect();
    seqs.sort();
    assert_eq!(
        seqs.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        vec![1, 2, 3, 1, 2, 3],
        "each subject counts its own sequence"
    );
    shutdown.trigger();
    task.await.unwrap().unwrap();
    assert_eq!(unpublished(&w).await, 0);
}

#[tokio::test]
async fn a_rolled_back_transaction_publishes_nothing() {
    let w = World::new("intake").await;
    let txn = w.db.conn.begin().await.unwrap();
    Outbox::new("intake")
        .stage(
            &txn,
            EventMeta::request("AS-2611-SH01-000001", "SH01"),
            &event(1),
        )
        .await
        .unwrap();
    txn.rollback().await.unwrap();
    let row =
        w.db.conn
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT count(*)::bigint FROM outbox",
            ))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), 0);
}

#[tokio::test]
async fn killing_the_relay_mid_publish_loses_nothing() {
    const N: usize = 3000;
    let w = World::new("intake").await;
    let mut probe = w.probe().await;
    stage(&w, N, 50).await;

    // First relay: killed (task aborted, as a crash would) once part of the backlog is out.
    let first = tokio::spawn(relay(&w, 100).run(Shutdown::new()));
    let (early, _, _) = probe.distinct(150, Duration::from_secs(30)).await;
    assert!(
        early.len() >= 150,
        "the first relay published something before it died"
    );
    first.abort();
    let _ = first.await;
    assert!(
        unpublished(&w).await > 0,
        "the crash happened mid-publish, with work left"
    );

    // A new relay picks up what was left, including rows claimed but not committed.
    let shutdown = Shutdown::new();
    let second = tokio::spawn(relay(&w, 100).run(shutdown.clone()));
    let (all, received, _) = probe
        .distinct_beyond(early, N, Duration::from_secs(60))
        .await;
    assert_eq!(
        all.len(),
        N,
        "every staged event arrived (received {received} messages after the crash, duplicates included)"
    );
    shutdown.trigger();
    second.await.unwrap().unwrap();
    assert_eq!(unpublished(&w).await, 0);
}

#[tokio::test]
async fn a_broker_connection_closed_mid_publish_loses_nothing() {
    const N: usize = 3000;
    let w = World::new("intake").await;
    let mut probe = w.probe().await;
    stage(&w, N, 50).await;

    let shutdown = Shutdown::new();
    let relay = relay(&w, 100);
    let handle = relay.handle();
    let task = tokio::spawn(relay.run(shutdown.clone()));
    let (early, _, _) = probe.distinct(150, Duration::from_secs(30)).await;
    handle.drop_connection().await;

    let (all, _, _) = probe
        .distinct_beyond(early, N, Duration::from_secs(60))
        .await;
    assert_eq!(
        all.len(),
        N,
        "every staged event arrived after the reconnect"
    );
    assert!(handle.is_connected(), "the relay reconnected");
    shutdown.trigger();
    task.await.unwrap().unwrap();
    assert_eq!(unpublished(&w).await, 0);
}

#[tokio::test]
async fn a_commit_wakes_the_relay_before_its_poll_interval() {
    let mut w = World::new("intake").await;
    w.settings
        .outbox
        .as_mut()
        .expect("outbox settings")
        .poll_interval_ms = 60_000;
    let mut probe = w.probe().await;
    let shutdown = Shutdown::new();
    let task = tokio::spawn(relay(&w, 50).run(shutdown.clone()));
    // Let the relay reach its idle wait.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stage(&w, 1, 1).await;
    let (ids, _, _) = probe.distinct(1, Duration::from_secs(10)).await;
    assert_eq!(
        ids.len(),
        1,
        "NOTIFY woke the relay long before the 60 s poll"
    );
    shutdown.trigger();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn an_event_no_queue_is_bound_for_is_kept_in_the_unrouted_queue() {
    let w = World::new("intake").await;
    stage(&w, 1, 1).await;
    let shutdown = Shutdown::new();
    let task = tokio::spawn(relay(&w, 10).run(shutdown.clone()));
    let (_conn, ch) = w.channel().await;
    let unrouted = w.bus().topology.unrouted();
    let kept = aftersales_platform::testing::eventually(Duration::from_secs(20), || {
        let ch = ch.clone();
        let q = unrouted.clone();
        async move {
            ch.basic_get(
                q.as_str().into(),
                lapin::options::BasicGetOptions { no_ack: true },
            )
            .await
            .ok()
            .flatten()
        }
    })
    .await
    .expect("the event waits in the unrouted queue instead of vanishing");
    assert_eq!(
        kept.delivery.routing_key.as_str(),
        "intake.request.cancelled"
    );
    shutdown.trigger();
    task.await.unwrap().unwrap();
    assert_eq!(unpublished(&w).await, 0);
}

#[tokio::test]
async fn a_row_the_broker_refuses_is_quarantined_and_does_not_block_the_hundred_behind_it() {
    use aftersales_platform::proto::procurement::v1::SupplierStatusChanged;
    // Arrange: a queue that refuses every message (full at length 0, reject-publish) is the only
    // one bound for the poison row's key, so the broker nacks that row, for real, every time.
    let w = World::new("intake").await;
    let mut probe = w.probe().await;
    let (_conn, ch) = w.channel().await;
    let full = format!("{}full", w.bus_names.prefix);
    let mut args = lapin::types::FieldTable::default();
    args.insert("x-max-length".into(), lapin::types::AMQPValue::LongInt(0));
    args.insert(
        "x-overflow".into(),
        lapin::types::AMQPValue::LongString("reject-publish".into()),
    );
    args.insert(
        "x-expires".into(),
        lapin::types::AMQPValue::LongUInt(120_000),
    );
    ch.queue_declare(full.as_str().into(), Default::default(), args)
        .await
        .unwrap();
    ch.queue_bind(
        full.as_str().into(),
        w.bus().topology.exchange.as_str().into(),
        "procurement.supplier.status_changed".into(),
        Default::default(),
        Default::default(),
    )
    .await
    .unwrap();
    let outbox = Outbox::new("intake");
    let txn = w.db.conn.begin().await.unwrap();
    outbox
        .stage(
            &txn,
            EventMeta {
                subject: "SUP-1",
                branch: "",
                request_no: "",
            },
            &SupplierStatusChanged::default(),
        )
        .await
        .unwrap();
    txn.commit().await.unwrap();
    stage(&w, 100, 100).await;

    // Act: the relay runs, refusals allowed 3 times per row.
    let mut s = w.settings.outbox.clone().expect("outbox settings");
    s.batch_size = 50;
    s.max_attempts = 3;
    let relay = Relay::new(w.db.conn.clone(), w.bus(), "intake", s);
    let shutdown = Shutdown::new();
    let task = tokio::spawn(relay.run(shutdown.clone()));

    // Assert: all hundred behind it are delivered, the poison row is set aside with its error.
    let (ids, _, _) = probe.distinct(101, Duration::from_secs(30)).await;
    let delivered_after: usize = ids.len();
    assert!(
        delivered_after >= 100,
        "the rows behind kept flowing: {delivered_after}"
    );
    let quarantined = aftersales_platform::testing::eventually(Duration::from_secs(20), || async {
        let rows = aftersales_platform::outbox::list_quarantined(&w.db.conn)
            .await
            .ok()?;
        (rows.len() == 1).then_some(rows)
    })
    .await
    .expect("the refused row is quarantined");
    assert_eq!(
        quarantined[0].routing_key,
        "procurement.supplier.status_changed"
    );
    assert_eq!(quarantined[0].failures, 3);
    assert!(
        quarantined[0].last_error.contains("nack"),
        "{quarantined:?}"
    );
    assert_eq!(
        unpublished(&w).await,
        1,
        "only the quarantined row is unpublished"
    );
    assert_eq!(
        aftersales_platform::outbox::quarantined(&w.db.conn)
            .await
            .unwrap(),
        1,
        "what /readyz reports"
    );

    // An operator puts it back: it is tried again (and, the queue still full, set aside again).
    assert_eq!(
        aftersales_platform::outbox::retry_quarantined(&w.db.conn, None)
            .await
            .unwrap(),
        1
    );
    aftersales_platform::testing::eventually(Duration::from_secs(20), || async {
        let rows = aftersales_platform::outbox::list_quarantined(&w.db.conn)
            .await
            .ok()?;
        (rows.len() == 1 && rows[0].failures == 3).then_some(())
    })
    .await
    .expect("tried again, refused again, set aside again");
    shutdown.trigger();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn events_of_new_subjects_written_by_the_callers_own_statement_are_published_with_sequence_one()
 {
    let w = World::new("intake").await;
    let mut probe = w.probe().await;
    let outbox = Outbox::new("intake");
    let staged: Vec<_> = (1..=3)
        .map(|i| {
            outbox.first_of_subject(
                EventMeta::request(&format!("AS-2611-SH01-{i:06}"), "SH01"),
                &event(i),
            )
        })
        .collect();
    let mut values = Vec::new();
    let cte = aftersales_platform::outbox::cte("ev", &staged, &mut values);
    let sql = format!("WITH {cte} {}", aftersales_platform::outbox::NOTIFY_SELECT);
    w.db.conn
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql.clone(),
            values.clone(),
        ))
        .await
        .unwrap();

    // A subject that has events already is not new: the same statement again fails whole.
    let again =
        w.db.conn
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                values,
            ))
            .await
            .unwrap_err();
    assert!(
        aftersales_platform::db::is_unique_violation(&again),
        "{again}"
    );

    let shutdown = Shutdown::new();
    let task = tokio::spawn(relay(&w, 50).run(shutdown.clone()));
    let (ids, _, got) = probe.distinct(3, Duration::from_secs(20)).await;
    assert_eq!(ids.len(), 3);
    for r in &got {
        assert_eq!(r.envelope.sequence, 1);
        assert_eq!(r.envelope.routing_key, "intake.request.cancelled");
        assert!(
            staged
                .iter()
                .any(|s| s.envelope.event_id == r.envelope.event_id)
        );
    }
    shutdown.trigger();
    task.await.unwrap().unwrap();
    assert_eq!(unpublished(&w).await, 0);
}
