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
    task: tokio::task::JoinHandle<()>,
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
    let consumer = Consumer::new(
        w.db.conn.clone(),
        w.bus(),
        "sample",
        vec![Subscription::new("intake.request.cancelled", recorder)],
    );
    let connected = consumer.connected_flag();
    let shutdown = Shutdown::new();
    let task = tokio::spawn(consumer.run(shutdown.clone()));
    eventually(Duration::from_secs(20), || {
        let c = connected.clone();
        async move { c.load(Ordering::SeqCst).then_some(()) }
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
    s.task.await.unwrap();
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
    s.task.await.unwrap();
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
    s.task.await.unwrap();
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
    s.task.await.unwrap();
}
