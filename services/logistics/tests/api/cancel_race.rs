//! A cancellation racing its request's reservation (issue 12). Whatever order logistics handles
//! `warehouse.reservation.confirmed` and the cancellation (`intake.request.cancelled`, or
//! `warehouse.reservation.released`) of one request in — side by side in one prefetch window of
//! a backlog, or one long after the other — and however often either is redelivered, a cancelled
//! request ends with nothing planned, packed or dispatched, and parts issued for it afterwards
//! go nowhere; the requests that were kept are shipped once.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::logistics::v1 as pb;
use aftersales_platform::testing::{self, TestService};
use logistics::app::App;

use crate::helpers::{TestApp, builder, cancelled, confirmed, issued, released, spawn_app_with};

const CONFIRMED: &str = "warehouse.reservation.confirmed";
const ISSUED: &str = "warehouse.parts.issued";
const INTAKE_CANCEL: &str = "intake.request.cancelled";
const RELEASED: &str = "warehouse.reservation.released";
const REQUESTS: usize = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Kept,
    /// Side by side, the cancellation queued first.
    RaceCancelFirst,
    /// Side by side, the confirmation queued first.
    RaceConfirmFirst,
    /// The cancellation at the head of the backlog, the confirmation at its tail.
    CancelLongBefore,
    /// The confirmation at the head, the cancellation at the tail.
    ConfirmLongBefore,
}

/// How a request is cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    Intake,
    Warehouse,
    /// Both arrive (the warehouse releases because intake cancelled).
    Both,
}

struct Request {
    no: String,
    script: Script,
    by: By,
    confirmation_id: String,
    cancellation_ids: Vec<(&'static str, String)>,
    confirmation_twice: bool,
    again_at_the_tail: bool,
}

fn plan(by_default: By) -> Vec<Request> {
    (0..REQUESTS)
        .map(|i| {
            let script = match i % 6 {
                0 | 3 => Script::Kept,
                1 => Script::RaceCancelFirst,
                2 => Script::RaceConfirmFirst,
                4 => Script::CancelLongBefore,
                _ => Script::ConfirmLongBefore,
            };
            let k = i / 6;
            let by = if k % 3 == 2 { By::Both } else { by_default };
            let mut cancellation_ids = Vec::new();
            if matches!(by, By::Intake | By::Both) {
                cancellation_ids.push((INTAKE_CANCEL, uuid::Uuid::now_v7().to_string()));
            }
            if matches!(by, By::Warehouse | By::Both) {
                cancellation_ids.push((RELEASED, uuid::Uuid::now_v7().to_string()));
            }
            Request {
                no: format!("AS-2611-SH01-{:06}", 301 + i),
                script,
                by,
                confirmation_id: uuid::Uuid::now_v7().to_string(),
                cancellation_ids,
                confirmation_twice: k % 2 == 0,
                again_at_the_tail: k % 3 == 1,
            }
        })
        .collect()
}

struct Delivery {
    request: usize,
    routing_key: &'static str,
    id: String,
}

fn backlog(requests: &[Request]) -> Vec<Delivery> {
    let confirm = |i: usize| {
        let mut d = vec![Delivery {
            request: i,
            routing_key: CONFIRMED,
            id: requests[i].confirmation_id.clone(),
        }];
        if requests[i].confirmation_twice {
            d.push(Delivery {
                request: i,
                routing_key: CONFIRMED,
                id: requests[i].confirmation_id.clone(),
            });
        }
        d
    };
    let cancel = |i: usize| {
        requests[i]
            .cancellation_ids
            .iter()
            .map(|(rk, id)| Delivery {
                request: i,
                routing_key: rk,
                id: id.clone(),
            })
            .collect::<Vec<_>>()
    };
    let (mut head, mut middle, mut tail) = (Vec::new(), Vec::new(), Vec::new());
    for (i, r) in requests.iter().enumerate() {
        match r.script {
            Script::Kept => middle.extend(confirm(i)),
            Script::RaceCancelFirst => {
                middle.extend(cancel(i));
                middle.extend(confirm(i));
            }
            Script::RaceConfirmFirst => {
                middle.extend(confirm(i));
                middle.extend(cancel(i));
            }
            Script::CancelLongBefore => {
                head.extend(cancel(i));
                tail.extend(confirm(i));
            }
            Script::ConfirmLongBefore => {
                head.extend(confirm(i));
                tail.extend(cancel(i));
            }
        }
        if r.again_at_the_tail {
            tail.extend(if r.script == Script::Kept {
                confirm(i)
            } else {
                cancel(i)
            });
        }
    }
    head.into_iter().chain(middle).chain(tail).collect()
}

async fn publish(app: &TestApp, r: &Request, d: &Delivery) {
    match d.routing_key {
        CONFIRMED => {
            let c = confirmed(&r.no, common::Urgency::Normal, &[("PWR-55-01", 1)]);
            app.publish_with_id(&d.id, "warehouse", &r.no, &c).await
        }
        INTAKE_CANCEL => {
            app.publish_with_id(&d.id, "intake", &r.no, &cancelled(&r.no))
                .await
        }
        _ => {
            app.publish_with_id(&d.id, "warehouse", &r.no, &released(&r.no))
                .await
        }
    }
}

async fn processed(app: &TestApp, routing_key: &str) -> i64 {
    app.count(&format!(
        "SELECT count(*)::bigint FROM processed_events WHERE routing_key = '{routing_key}'"
    ))
    .await
}

async fn wait_settled(app: &TestApp, expected: &BTreeMap<&str, i64>) {
    testing::eventually(Duration::from_secs(120), || async {
        for (rk, n) in expected {
            if processed(app, rk).await != *n {
                return None;
            }
        }
        Some(())
    })
    .await
    .unwrap_or_else(|| panic!("the backlog was not handled: expected {expected:?}"));
}

#[derive(Debug, Default)]
struct Reached {
    cancelled_before_planning: usize,
    planned_then_withdrawn: usize,
    issued_after_cancellation: usize,
}

async fn race(by_default: By) {
    // Arrange: logistics stops; the events pile up in its inbox as behind an outage.
    let mut app = spawn_app_with(builder()).await;
    let requests = plan(by_default);
    let backlog = backlog(&requests);
    let clock = app.clock().clone();
    app.svc
        .take_running()
        .stop()
        .await
        .expect("logistics stops cleanly");
    for d in &backlog {
        publish(&app, &requests[d.request], d).await;
    }
    let distinct = |rk: &str| {
        backlog
            .iter()
            .filter(|d| d.routing_key == rk)
            .map(|d| d.id.as_str())
            .collect::<HashSet<_>>()
            .len() as i64
    };
    let mut expected: BTreeMap<&str, i64> = [CONFIRMED, INTAKE_CANCEL, RELEASED]
        .into_iter()
        .map(|rk| (rk, distinct(rk)))
        .collect();

    // Act: a new instance on the same database takes the backlog 32 at a time.
    let second = TestApp {
        svc: TestService::<App>::builder()
            .bus(&app.svc.bus)
            .database_url(&app.svc.database_url())
            .clock(clock)
            .start()
            .await,
    };
    wait_settled(&second, &expected).await;

    // Act: the clerk issues every pick list afterwards — a cancelled request's too, as a
    // warehouse that had not heard of the cancellation yet would.
    let mut shipment_of: BTreeMap<String, String> = BTreeMap::new();
    for r in &requests {
        let c = confirmed(&r.no, common::Urgency::Normal, &[("PWR-55-01", 1)]);
        let no = second
            .shipments_of(&r.no)
            .await
            .first()
            .map(|s| s.shipment_no.clone())
            .unwrap_or_default();
        shipment_of.insert(r.no.clone(), no.clone());
        second.publish("warehouse", &r.no, &issued(&c, &no)).await;
    }
    expected.insert(ISSUED, REQUESTS as i64);
    wait_settled(&second, &expected).await;

    // Assert: nothing dead-lettered, each event took effect once.
    let dead = second
        .svc
        .bus_settings()
        .dlq_list("logistics")
        .await
        .unwrap();
    assert!(dead.is_empty(), "dead-lettered: {dead:?}");
    let mut reached = Reached::default();
    for r in &requests {
        let shipments = second.shipments_of(&r.no).await;
        let dispatched_events = second
            .count(&format!(
                "SELECT count(*)::bigint FROM outbox WHERE subject = '{}' AND routing_key = 'logistics.shipment.dispatched'",
                r.no
            ))
            .await;
        if r.script == Script::Kept {
            assert_eq!(shipments.len(), 1, "{}: {shipments:?}", r.no);
            assert_eq!(
                shipments[0].status,
                pb::ShipmentStatus::Dispatched as i32,
                "{}",
                r.no
            );
            assert_eq!(dispatched_events, 1, "{}", r.no);
            continue;
        }
        // A cancelled request: nothing open, nothing in flight, nothing dispatched.
        assert_eq!(
            dispatched_events, 0,
            "{} ({:?} by {:?}) was dispatched",
            r.no, r.script, r.by
        );
        assert!(
            shipments
                .iter()
                .all(|s| s.status == pb::ShipmentStatus::Cancelled as i32
                    && s.waybill_no.is_empty()
                    && s.dispatched_at.is_none()),
            "{} ({:?} by {:?}): {shipments:?}",
            r.no,
            r.script,
            r.by
        );
        assert_eq!(
            second
                .count(&format!(
                    "SELECT count(*)::bigint FROM requests WHERE request_no = '{}' AND cancelled_at IS NOT NULL",
                    r.no
                ))
                .await,
            1,
            "{}: the cancellation's marker",
            r.no
        );
        if shipments.is_empty() {
            reached.cancelled_before_planning += 1;
        } else {
            assert_eq!(shipments.len(), 1, "{}", r.no);
            reached.planned_then_withdrawn += 1;
        }
        reached.issued_after_cancellation += 1;
    }
    assert_eq!(
        second
            .count("SELECT count(*)::bigint FROM shipments WHERE status = 'PLANNED'")
            .await,
        0,
        "nothing is left planned"
    );
    assert_eq!(
        second.count("SELECT count(*)::bigint FROM sim_schedule s JOIN shipments x ON x.waybill_no = s.waybill_no JOIN requests r ON r.request_no = x.request_no WHERE r.cancelled_at IS NOT NULL").await,
        0,
        "the sim carrier has nothing for a cancelled request"
    );
    // The race did reach both outcomes it is meant to test.
    assert!(reached.cancelled_before_planning > 0, "{reached:?}");
    assert!(reached.planned_then_withdrawn > 0, "{reached:?}");
    second.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn a_request_cancelled_by_intake_while_its_reservation_is_handled_is_never_dispatched() {
    race(By::Intake).await;
}

#[tokio::test]
async fn a_reservation_released_by_the_warehouse_in_any_order_with_its_confirmation_ships_nothing()
{
    race(By::Warehouse).await;
}
