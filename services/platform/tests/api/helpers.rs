use std::collections::HashSet;
use std::time::Duration;

use aftersales_platform::bus::{Bus, header_map};
use aftersales_platform::config::PlatformSettings;
use aftersales_platform::db;
use aftersales_platform::proto::common::v1::EventEnvelope;
use aftersales_platform::testing::{self, TestBus, TestDb};
use futures_util::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection};
use prost::Message;
use tokio::sync::mpsc;

/// One test's world: its own database and its own broker names.
pub struct World {
    pub db: TestDb,
    pub bus_names: TestBus,
    pub settings: PlatformSettings,
}

impl World {
    pub async fn new(service: &str) -> World {
        testing::telemetry();
        let db = TestDb::create(&[db::PLATFORM]).await;
        let bus_names = TestBus::new();
        let settings = testing::settings(service, &db.url, &bus_names);
        World {
            db,
            bus_names,
            settings,
        }
    }

    pub fn bus(&self) -> Bus {
        Bus::new(&self.settings.amqp)
    }

    pub async fn channel(&self) -> (Connection, Channel) {
        let conn = self.bus().connect("test-probe").await.unwrap_or_else(|e| {
            panic!(
                "RabbitMQ is not reachable at {}: {e}. Start it (make infra).",
                testing::amqp_url()
            )
        });
        let ch = conn.create_channel().await.expect("channel");
        self.bus()
            .declare_exchanges(&ch)
            .await
            .expect("declare exchanges");
        (conn, ch)
    }

    /// A queue bound to every routing key, collecting envelopes as they arrive.
    pub async fn probe(&self) -> Probe {
        let (conn, ch) = self.channel().await;
        let name = format!("{}probe", self.bus_names.prefix);
        let mut args = FieldTable::default();
        args.insert(
            "x-expires".into(),
            lapin::types::AMQPValue::LongUInt(600_000),
        );
        ch.queue_declare(name.as_str().into(), QueueDeclareOptions::default(), args)
            .await
            .expect("probe queue");
        ch.queue_bind(
            name.as_str().into(),
            self.bus().topology.exchange.as_str().into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("bind probe");
        let mut consumer = ch
            .basic_consume(
                name.as_str().into(),
                "probe".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("consume probe");
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let _keep = conn;
            while let Some(Ok(d)) = consumer.next().await {
                let env = EventEnvelope::decode(d.data.as_slice()).expect("envelope");
                let headers = header_map(d.properties.headers());
                let message_id = d
                    .properties
                    .message_id()
                    .as_ref()
                    .map(|m| m.as_str().to_owned());
                if tx
                    .send(Received {
                        envelope: env,
                        headers,
                        message_id,
                    })
                    .is_err()
                {
                    break;
                }
            }
        });
        Probe { rx }
    }

    /// Publishes an envelope as the relay would.
    pub async fn publish(&self, ch: &Channel, env: &EventEnvelope, headers: FieldTable) {
        let props = BasicProperties::default()
            .with_message_id(env.event_id.as_str().into())
            .with_type(env.routing_key.as_str().into())
            .with_delivery_mode(2)
            .with_headers(headers);
        ch.basic_publish(
            self.bus().topology.exchange.as_str().into(),
            env.routing_key.as_str().into(),
            BasicPublishOptions::default(),
            &env.encode_to_vec(),
            props,
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    }
}

pub struct Received {
    pub envelope: EventEnvelope,
    pub headers: std::collections::HashMap<String, String>,
    pub message_id: Option<String>,
}

pub struct Probe {
    rx: mpsc::UnboundedReceiver<Received>,
}

impl Probe {
    /// Waits until `n` distinct event ids arrived (duplicates are counted apart), or the timeout.
    pub async fn distinct(
        &mut self,
        n: usize,
        timeout: Duration,
    ) -> (HashSet<String>, usize, Vec<Received>) {
        self.distinct_beyond(HashSet::new(), n, timeout).await
    }

    /// Like [`Probe::distinct`], starting from ids already seen (a re-sent one counts once).
    pub async fn distinct_beyond(
        &mut self,
        seen: HashSet<String>,
        n: usize,
        timeout: Duration,
    ) -> (HashSet<String>, usize, Vec<Received>) {
        let mut ids = seen;
        let mut total = 0;
        let mut all = Vec::new();
        let deadline = tokio::time::Instant::now() + timeout;
        while ids.len() < n {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(r)) => {
                    total += 1;
                    ids.insert(r.envelope.event_id.clone());
                    all.push(r);
                }
                _ => break,
            }
        }
        (ids, total, all)
    }
}
