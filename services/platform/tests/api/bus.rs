use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aftersales_platform::bus::{
    Consumer, Handler, HandlerError, Received, Subscription, header_map,
};
use aftersales_platform::proto::common::v1::EventEnvelope;
use aftersales_platform::proto::intake::v1::RequestCancelled;
use aftersales_platform::shutdown::Shutdown;
use aftersales_platform::testing::eventually;
use lapin::options::BasicGetOptions;
use lapin::types::FieldTable;
use prost::{Message, Name};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement};

use crate::helpers::World;

/// Records each event it handles in `effects`; fails the first `fail_first` tries.
struct Recorder {
    calls: Arc<AtomicUsize>,
    fail_first: usize,
    permanent: bool,
}

#[async_trait::async_trait]
impl Handler for Recorder {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Received,
    ) -> Result<(), HandlerError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let payload: RequestCancelled = event.payload()?;
        if call < self.fail_first {
            return Err(if self.permanent {
                HandlerError::permanent(anyhow::anyhow!("this event can never be handled"))
            } else {
                HandlerError::transient(anyhow::anyhow!("downstream hiccup {call}"))
            });
        }
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO effects (event_id, request_no) VALUES ($1, $2)",
            [
                event.envelope.event_id.clone().into(),
                payload.request_no.into(),
            ],
        ))
        .await?;
        Ok(())
    }
}

fn envelope(id: &str) -> EventEnvelope {
    let payload = RequestCancelled {
        request_no: "AS-2611-SH01-000007".into(),
        branch: "SH01".into(),
        ..Default::default()
    };
    EventEnvelope {
        event_id: id.to_owned(),
        r#type: RequestCancelled::full_name(),
        routing_key: "intake.request.cancelled".into(),
        producer: "intake".into(),
        subject: "AS-2611-SH01-000007".into(),
        request_no: "AS-2611-SH01-000007".into(),
        sequence: 1,
        payload: payload.encode_to_vec(),
        ..Default::default()
    }
}

struct Setup {
    w: World,
    calls: Arc<AtomicUsize>,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn setup(fail_first: usize, permanent: bool) -> Setup {
    setup_with(fail_first, permanent, "classic").await
}

async fn setup_with(fail_first: usize, permanent: bool, queue_type: &str) -> Setup {
    let mut w = World::new("sample").await;
    w.settings.amqp.queue_type = queue_type.into();
    w.db.conn
        .execute_unprepared(
            "CREATE TABLE effects (event_id TEXT NOT NULL, request_no TEXT NOT NULL)",
        )
        .await
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let recorder = Recorder {
        calls: calls.clone(),
        fail_first,
        permanent,
    };
    let consumer = Consumer::probe(
        Some(w.db.conn.clone()),
        w.bus(),
        "sample",
        vec![Subscription::new("intake.request.cancelled", recorder)],
    );
    let state = consumer.state();
    let shutdown = Shutdown::new();
    let task = tokio::spawn(consumer.run(shutdown.clone()));
    eventually(Duration::from_secs(20), || {
        let c = state.clone();
        async move { c.connected.load(Ordering::SeqCst).then_some(()) }
    })
    .await
    .expect("consumer connected and declared its queues");
    Setup {
        w,
        calls,
        shutdown,
        task,
    }
}

async fn effects(w: &World) -> i64 {
    let row =
        w.db.conn
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT count(*)::bigint FROM effects",
            ))
            .await
            .unwrap()
            .unwrap();
    row.try_get_by_index(0).unwrap()
}

async fn dlq_message(w: &World, service: &str) -> Option<lapin::message::BasicGetMessage> {
    let (_conn, ch) = w.channel().await;
    let dlq = w.bus().topology.dlq(service);
    eventually(Duration::from_secs(20), || {
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
}

#[tokio::test]
async fn a_redelivered_event_has_its_effect_once() {
    let s = setup(0, false).await;
    let (_conn, ch) = s.w.channel().await;
    let id = uuid::Uuid::now_v7().to_string();
    for _ in 0..3 {
        s.w.publish(&ch, &envelope(&id), FieldTable::default())
            .await;
    }
    let calls = s.calls.clone();
    eventually(Duration::from_secs(20), || {
        let c = calls.clone();
        async move { (c.load(Ordering::SeqCst) >= 1).then_some(()) }
    })
    .await
    .expect("handled");
    // Give the two copies time to arrive and be recognised.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        effects(&s.w).await,
        1,
        "three deliveries of one event, one effect"
    );
    s.shutdown.trigger();
    s.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_poison_message_lands_in_the_dlq_after_the_configured_retries() {
    // The production topology: quorum inbox and DLQ with a delivery limit.
    let s = setup_with(usize::MAX, false, "quorum").await;
    let (_conn, ch) = s.w.channel().await;
    let id = uuid::Uuid::now_v7().to_string();
    s.w.publish(&ch, &envelope(&id), FieldTable::default())
        .await;

    let dead = dlq_message(&s.w, "sample")
        .await
        .expect("the poison message reached the DLQ");
    let headers = header_map(dead.delivery.properties.headers());
    assert_eq!(
        headers.get("x-aftersales-attempt").map(String::as_str),
        Some("3")
    );
    assert!(
        headers
            .get("x-aftersales-error")
            .unwrap()
            .contains("downstream hiccup")
    );
    assert_eq!(
        EventEnvelope::decode(dead.delivery.data.as_slice())
            .unwrap()
            .event_id,
        id
    );
    assert_eq!(
        s.calls.load(Ordering::SeqCst),
        3,
        "tried max_attempts = 3 times, no more"
    );
    assert_eq!(effects(&s.w).await, 0);
    s.shutdown.trigger();
    s.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_transient_failure_is_retried_after_a_delay_and_then_succeeds_once() {
    let s = setup(1, false).await;
    let (_conn, ch) = s.w.channel().await;
    s.w.publish(
        &ch,
        &envelope(&uuid::Uuid::now_v7().to_string()),
        FieldTable::default(),
    )
    .await;
    let w = &s.w;
    eventually(Duration::from_secs(20), || async move {
        (effects(w).await == 1).then_some(())
    })
    .await
    .expect("the retry succeeded");
    assert_eq!(s.calls.load(Ordering::SeqCst), 2);
    s.shutdown.trigger();
    s.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_permanent_failure_and_an_undecodable_message_go_to_the_dlq_at_once() {
    let s = setup(usize::MAX, true).await;
    let (_conn, ch) = s.w.channel().await;
    s.w.publish(
        &ch,
        &envelope(&uuid::Uuid::now_v7().to_string()),
        FieldTable::default(),
    )
    .await;
    let dead = dlq_message(&s.w, "sample").await.expect("dead-lettered");
    assert_eq!(
        header_map(dead.delivery.properties.headers())
            .get("x-aftersales-attempt")
            .map(String::as_str),
        Some("1")
    );

    // Garbage on the wire never reaches the handler.
    let calls_before = s.calls.load(Ordering::SeqCst);
    ch.basic_publish(
        s.w.bus().topology.exchange.as_str().into(),
        "intake.request.cancelled".into(),
        Default::default(),
        b"\xff\xff not protobuf",
        lapin::BasicProperties::default(),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    let dead = dlq_message(&s.w, "sample")
        .await
        .expect("garbage dead-lettered");
    assert!(
        header_map(dead.delivery.properties.headers())
            .get("x-aftersales-error")
            .unwrap()
            .contains("undecodable")
    );
    assert_eq!(s.calls.load(Ordering::SeqCst), calls_before);
    s.shutdown.trigger();
    s.task.await.unwrap().unwrap();
}

/// Panics on the event about `POISON` while `broken` is set; records every other event.
struct Panicker {
    broken: Arc<std::sync::atomic::AtomicBool>,
}

const POISON: &str = "AS-2611-SH01-000666";

#[async_trait::async_trait]
impl Handler for Panicker {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Received,
    ) -> Result<(), HandlerError> {
        let payload: RequestCancelled = event.payload()?;
        if payload.request_no == POISON && self.broken.load(Ordering::SeqCst) {
            panic!("a bug in the handler");
        }
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO effects (event_id, request_no) VALUES ($1, $2)",
            [
                event.envelope.event_id.clone().into(),
                payload.request_no.into(),
            ],
        ))
        .await?;
        Ok(())
    }
}

fn envelope_about(id: &str, request_no: &str) -> EventEnvelope {
    let mut env = envelope(id);
    env.payload = RequestCancelled {
        request_no: request_no.into(),
        branch: "SH01".into(),
        ..Default::default()
    }
    .encode_to_vec();
    env.subject = request_no.into();
    env.request_no = request_no.into();
    env
}

#[tokio::test]
async fn a_handler_that_panics_retries_then_dead_letters_its_event_while_the_next_is_handled_and_a_replay_has_its_effect_once()
 {
    // Arrange: a consumer whose handler panics on one request's events.
    let w = World::new("panicky").await;
    w.db.conn
        .execute_unprepared(
            "CREATE TABLE effects (event_id TEXT NOT NULL, request_no TEXT NOT NULL)",
        )
        .await
        .unwrap();
    let broken = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let consumer = Consumer::probe(
        Some(w.db.conn.clone()),
        w.bus(),
        "panicky",
        vec![Subscription::new(
            "intake.request.cancelled",
            Panicker {
                broken: broken.clone(),
            },
        )],
    );
    let state = consumer.state();
    let shutdown = Shutdown::new();
    let task = tokio::spawn(consumer.run(shutdown.clone()));
    eventually(Duration::from_secs(20), || {
        let c = state.clone();
        async move { c.connected.load(Ordering::SeqCst).then_some(()) }
    })
    .await
    .expect("consumer up");
    let (_conn, ch) = w.channel().await;
    let poison_id = uuid::Uuid::now_v7().to_string();
    let good_id = uuid::Uuid::now_v7().to_string();

    // Act: the poisonous event, then a good one.
    w.publish(
        &ch,
        &envelope_about(&poison_id, POISON),
        FieldTable::default(),
    )
    .await;
    w.publish(
        &ch,
        &envelope_about(&good_id, "AS-2611-SH01-000001"),
        FieldTable::default(),
    )
    .await;

    // Assert: the good one has its effect; the poisonous one, tried max_attempts times (3 in
    // tests), is in the DLQ saying why; the consumer still runs.
    eventually(Duration::from_secs(20), || async {
        (effects(&w).await == 1).then_some(())
    })
    .await
    .expect("the next event is handled");
    let letters = eventually(Duration::from_secs(30), || async {
        let l = w.bus().dlq_list("panicky").await.ok()?;
        (!l.is_empty()).then_some(l)
    })
    .await
    .expect("the poisonous event is dead-lettered");
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].event_id, poison_id);
    assert_eq!(letters[0].attempts, 3);
    assert!(letters[0].error.contains("panicked"), "{letters:?}");
    assert!(!task.is_finished(), "the consumer goes on");

    // Act: the bug is fixed; the dead letter is replayed, twice over.
    broken.store(false, Ordering::SeqCst);
    let replayed = w
        .bus()
        .dlq_replay(
            "panicky",
            &aftersales_platform::bus::Replay::EventIds(vec![poison_id.clone()]),
        )
        .await
        .unwrap();
    assert_eq!(replayed.len(), 1);
    eventually(Duration::from_secs(20), || async {
        (effects(&w).await == 2).then_some(())
    })
    .await
    .expect("the replayed event has its effect");
    // The same event once more (as a second replay of a copy would bring it): no second effect.
    w.publish(
        &ch,
        &envelope_about(&poison_id, POISON),
        FieldTable::default(),
    )
    .await;
    // A sentinel published after it: once it is handled, the duplicate was too.
    let sentinel = uuid::Uuid::now_v7().to_string();
    w.publish(
        &ch,
        &envelope_about(&sentinel, "AS-2611-SH01-000002"),
        FieldTable::default(),
    )
    .await;
    eventually(Duration::from_secs(20), || async {
        (effects(&w).await == 3).then_some(())
    })
    .await
    .expect("the sentinel is handled");
    assert_eq!(
        effects(&w).await,
        3,
        "the replayed event had its effect once"
    );
    assert!(
        w.bus().dlq_list("panicky").await.unwrap().is_empty(),
        "the DLQ is empty"
    );

    shutdown.trigger();
    task.await.unwrap().unwrap();
}
