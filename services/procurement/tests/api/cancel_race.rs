//! A cancellation racing its request's shortage (issue 12). Whatever order procurement handles
//! `warehouse.stock.shortage` and `intake.request.cancelled` (or
//! `warehouse.reservation.released`) of one request in — the cancellation first, concurrently,
//! or after — and however often either is delivered, a cancelled request ends with nothing open
//! for it, and the open PO quantity of a part equals what the remaining requests need.

use std::collections::BTreeMap;
use std::sync::Arc;

use aftersales_platform::calendar::Calendar;
use aftersales_platform::clock::Clock;
use aftersales_platform::outbox::Outbox;
use aftersales_platform::proto::procurement::v1 as pb;
use aftersales_platform::proto::warehouse::v1 as warehouse;
use procurement::domain::{BranchCode, PartNo, Policy, RequestNo};
use procurement::error::Error;
use procurement::service::{CancelOutcome, Cancellation, Procurement, Shortage, ShortageLine};
use sea_orm::TransactionTrait;
use tokio::task::JoinSet;

use crate::helpers::{TestApp, builder, cancellation, request_no, shortage, spawn_app};

/// The service's operations on the test's own pool (a second process would do the same).
fn procurement(app: &TestApp) -> Procurement {
    Procurement {
        db: app
            .svc
            .db
            .as_ref()
            .expect("the test's database")
            .conn
            .clone(),
        outbox: Outbox::new("procurement"),
        policy: Arc::new(Policy::demo().unwrap()),
        clock: Clock::system(),
        calendar: Calendar::standard(480),
        clocks: aftersales_platform::sla::Clocks::new(&app.svc.settings.platform.calendar).unwrap(),
        offset: chrono::FixedOffset::east_opt(8 * 3600).unwrap(),
        coalesce_window: chrono::Duration::hours(1),
        delivery_place: "Central spare-parts warehouse".into(),
    }
}

fn shortage_cmd(no: &str, part: &str, missing: u32) -> Shortage {
    Shortage {
        request_no: RequestNo::parse(no).unwrap(),
        branch: BranchCode::parse("SH01").unwrap(),
        backorder_id: format!("BO-{no}"),
        lines: vec![ShortageLine {
            part_no: PartNo::parse(part).unwrap(),
            missing,
        }],
    }
}

fn cancel_cmd(no: &str, by: &'static str) -> Cancellation {
    Cancellation {
        request_no: RequestNo::parse(no).unwrap(),
        branch: BranchCode::parse("SH01").unwrap(),
        by,
    }
}

/// Runs an event's handling in its own transaction as the consumer would, retrying a lost race
/// (deadlock or serialization failure: ABORTED). How many tries were aborted.
async fn handle_shortage(p: Procurement, cmd: Shortage) -> u32 {
    let mut aborted = 0;
    loop {
        let txn = p.db.begin().await.unwrap();
        match p.shortage(&txn, &cmd).await {
            Ok(_) => {
                txn.commit().await.unwrap();
                return aborted;
            }
            Err(Error::Aborted(_)) => aborted += 1,
            Err(e) => panic!("shortage of {}: {e:#}", cmd.request_no),
        }
    }
}

async fn handle_cancel(p: Procurement, cmd: Cancellation) -> (CancelOutcome, u32) {
    let mut aborted = 0;
    loop {
        let txn = p.db.begin().await.unwrap();
        match p.cancel_request(&txn, &cmd).await {
            Ok(outcome) => {
                txn.commit().await.unwrap();
                return (outcome, aborted);
            }
            Err(Error::Aborted(_)) => aborted += 1,
            Err(e) => panic!("cancellation of {}: {e:#}", cmd.request_no),
        }
    }
}

/// How one request's events meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    /// A shortage, never cancelled.
    Kept,
    /// The shortage delivered twice at once (a redelivery racing the original), never cancelled.
    KeptTwice,
    /// Shortage and cancellation at once, the shortage started first.
    RaceShortageFirst,
    /// Cancellation and shortage at once, the cancellation started first.
    RaceCancelFirst,
    /// Both cancellations (intake's and the warehouse's release) racing the shortage.
    RaceBothCancellations,
    /// The cancellation long before (before the burst).
    CancelLongBefore,
    /// The cancellation long after (after the burst).
    CancelLongAfter,
}

const SCRIPTS: [Script; 7] = [
    Script::Kept,
    Script::KeptTwice,
    Script::RaceShortageFirst,
    Script::RaceCancelFirst,
    Script::RaceBothCancellations,
    Script::CancelLongBefore,
    Script::CancelLongAfter,
];

impl Script {
    fn cancelled(self) -> bool {
        !matches!(self, Script::Kept | Script::KeptTwice)
    }
}

/// What the rounds reached, so that the test knows it exercised every path.
#[derive(Debug, Default)]
struct Reached {
    marked_first: usize,
    taken_off: usize,
    already_cancelled: usize,
    aborted_retries: u32,
}

/// Asserts the invariants for `part` once its events were all handled: the open quantity is
/// what the kept requests need, each PO line carries exactly its live demands, a cancelled
/// request holds nothing, a PO left with nothing is cancelled.
async fn assert_settled(
    app: &TestApp,
    part: &str,
    kept: &BTreeMap<String, u32>,
    cancelled: &[String],
) {
    let open = app
        .count(&format!(
            "SELECT COALESCE(SUM(l.quantity - l.passed), 0)::bigint FROM po_lines l \
             JOIN purchase_orders po ON po.po_number = l.po_number \
             WHERE l.part_no = '{part}' AND po.status IN ('ISSUED', 'PARTIALLY_RECEIVED')"
        ))
        .await;
    let needed: u32 = kept.values().sum();
    assert_eq!(
        open,
        i64::from(needed),
        "{part}: the open PO quantity is what the kept requests need"
    );
    let mismatched = app
        .count(&format!(
            "SELECT count(*)::bigint FROM po_lines l WHERE l.part_no = '{part}' AND l.quantity <> \
             COALESCE((SELECT SUM(d.quantity) FROM demands d WHERE d.po_number = l.po_number \
                       AND d.line_no = l.line_no AND d.status = 'ORDERED'), 0)"
        ))
        .await;
    assert_eq!(
        mismatched, 0,
        "{part}: every line carries exactly its live demands"
    );
    let empty_open = app
        .count(&format!(
            "SELECT count(*)::bigint FROM purchase_orders po WHERE po.status = 'ISSUED' AND \
             NOT EXISTS (SELECT 1 FROM po_lines l WHERE l.po_number = po.po_number AND l.quantity > 0) \
             AND EXISTS (SELECT 1 FROM po_lines l WHERE l.po_number = po.po_number AND l.part_no = '{part}')"
        ))
        .await;
    assert_eq!(empty_open, 0, "{part}: a PO left with nothing is cancelled");
    for no in cancelled {
        let live = app
            .count(&format!(
                "SELECT count(*)::bigint FROM demands WHERE request_no = '{no}' AND status <> 'CANCELLED'"
            ))
            .await;
        assert_eq!(live, 0, "{no} was cancelled: nothing open for it");
        assert!(
            app.pos_of(no)
                .await
                .iter()
                .all(|p| p.status != pb::PurchaseOrderStatus::Issued as i32),
            "{no} is on no open PO"
        );
    }
    for (no, q) in kept {
        let ordered = app
            .count(&format!(
                "SELECT COALESCE(SUM(quantity), 0)::bigint FROM demands WHERE request_no = '{no}' AND status = 'ORDERED'"
            ))
            .await;
        assert_eq!(ordered, i64::from(*q), "{no} is ordered once, in full");
    }
}

enum Done {
    Shortage(u32),
    Cancel(CancelOutcome, u32),
}

fn spawn_shortage(set: &mut JoinSet<Done>, p: &Procurement, cmd: Shortage) {
    let p = p.clone();
    set.spawn(async move { Done::Shortage(handle_shortage(p, cmd).await) });
}

fn spawn_cancel(set: &mut JoinSet<Done>, p: &Procurement, cmd: Cancellation) {
    let p = p.clone();
    set.spawn(async move {
        let (o, a) = handle_cancel(p, cmd).await;
        Done::Cancel(o, a)
    });
}

impl Reached {
    fn count(&mut self, done: Done) {
        match done {
            Done::Shortage(a) => self.aborted_retries += a,
            Done::Cancel(o, a) => {
                self.aborted_retries += a;
                match o {
                    CancelOutcome::Marked => self.marked_first += 1,
                    CancelOutcome::TakenOff => self.taken_off += 1,
                    CancelOutcome::AlreadyCancelled => self.already_cancelled += 1,
                }
            }
        }
    }
}

/// The requests of a round: number, script, quantity.
fn round_requests(round: usize, per_round: usize) -> Vec<(String, Script, u32)> {
    (0..per_round)
        .map(|i| {
            let n = (round * per_round + i + 1) as u32;
            // Rotated by round, so that each script meets different neighbours.
            let script = SCRIPTS[(i + round) % SCRIPTS.len()];
            (request_no(n), script, (i % 3) as u32 + 1)
        })
        .collect()
}

fn kept_and_cancelled(requests: &[(String, Script, u32)]) -> (BTreeMap<String, u32>, Vec<String>) {
    let kept = requests
        .iter()
        .filter(|(_, s, _)| !s.cancelled())
        .map(|(n, _, q)| (n.clone(), *q))
        .collect();
    let cancelled = requests
        .iter()
        .filter(|(_, s, _)| s.cancelled())
        .map(|(n, _, _)| n.clone())
        .collect();
    (kept, cancelled)
}

// One thread is enough: the races are between database transactions on separate connections,
// which interleave at every await.
#[tokio::test]
async fn shortages_and_cancellations_handled_concurrently_in_every_order_leave_exactly_what_the_kept_requests_need()
 {
    // Arrange: one supplier quoting a part per round (every round's shortages coalesce on one
    // PO line, the hardest place for a cancellation to land).
    const ROUNDS: usize = 8;
    const PER_ROUND: usize = 35;
    let parts: Vec<String> = (0..ROUNDS).map(|r| format!("RACE-{r}")).collect();
    let app = spawn_app().await;
    let part_refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    app.register("SUP-A", &part_refs).await;
    for p in &parts {
        app.quote("SUP-A", p, 1_000, 3).await;
    }
    let p = procurement(&app);
    let mut reached = Reached::default();

    for (round, part) in parts.iter().enumerate() {
        let requests = round_requests(round, PER_ROUND);
        const INTAKE: &str = "intake.request.cancelled";
        const RELEASED: &str = "warehouse.reservation.released";

        // Act: the early cancellations, then the burst all at once, then the late ones.
        for (no, script, _) in &requests {
            if *script == Script::CancelLongBefore {
                let (o, a) = handle_cancel(p.clone(), cancel_cmd(no, INTAKE)).await;
                reached.count(Done::Cancel(o, a));
            }
        }
        let mut burst = JoinSet::new();
        for (no, script, q) in &requests {
            let s = || shortage_cmd(no, part, *q);
            match script {
                Script::Kept | Script::CancelLongBefore | Script::CancelLongAfter => {
                    spawn_shortage(&mut burst, &p, s());
                }
                Script::KeptTwice => {
                    spawn_shortage(&mut burst, &p, s());
                    spawn_shortage(&mut burst, &p, s());
                }
                Script::RaceShortageFirst => {
                    spawn_shortage(&mut burst, &p, s());
                    spawn_cancel(&mut burst, &p, cancel_cmd(no, INTAKE));
                }
                Script::RaceCancelFirst => {
                    spawn_cancel(&mut burst, &p, cancel_cmd(no, INTAKE));
                    spawn_shortage(&mut burst, &p, s());
                }
                Script::RaceBothCancellations => {
                    spawn_cancel(&mut burst, &p, cancel_cmd(no, INTAKE));
                    spawn_shortage(&mut burst, &p, s());
                    spawn_cancel(&mut burst, &p, cancel_cmd(no, RELEASED));
                }
            }
        }
        while let Some(done) = burst.join_next().await {
            reached.count(done.expect("a handler task panicked"));
        }
        for (no, script, _) in &requests {
            if *script == Script::CancelLongAfter {
                let (o, a) = handle_cancel(p.clone(), cancel_cmd(no, RELEASED)).await;
                reached.count(Done::Cancel(o, a));
            }
        }

        // Assert
        let (kept, cancelled) = kept_and_cancelled(&requests);
        assert_settled(&app, part, &kept, &cancelled).await;
    }

    // The rounds went through every path: a cancellation before anything was bought (the
    // marker), one taking a quantity off a PO line, and one finding the request cancelled.
    eprintln!("reached: {reached:?}");
    assert!(reached.marked_first > 0, "{reached:?}");
    assert!(reached.taken_off > 0, "{reached:?}");
    assert!(reached.already_cancelled > 0, "{reached:?}");
    let amended = app
        .count("SELECT count(*)::bigint FROM purchase_orders WHERE revision > 1")
        .await;
    assert!(amended > 0, "POs were extended and taken from");
    app.stop().await;
}

#[tokio::test]
async fn a_backlog_of_shortages_and_cancellations_through_the_broker_ends_with_what_the_kept_requests_need()
 {
    // Arrange: procurement away while the warehouse and intake publish; every script's events in
    // the backlog, some delivered twice.
    const PER_ROUND: usize = 42;
    let mut app = spawn_app().await;
    app.register("SUP-A", &["RACE-BUS"]).await;
    app.quote("SUP-A", "RACE-BUS", 1_000, 3).await;
    app.stop_consuming().await;
    let requests = round_requests(0, PER_ROUND);
    let (mut shortages, mut cancellations) = (0u64, 0u64);
    let released = |no: &str| warehouse::ReservationReleased {
        request_no: no.into(),
        branch: "SH01".into(),
        backorder_id: format!("BO-{no}"),
        reason: "request_cancelled".into(),
        ..Default::default()
    };
    // The head: early cancellations.
    for (no, script, _) in &requests {
        if *script == Script::CancelLongBefore {
            app.svc
                .publish("intake", no, "SH01", &cancellation(no))
                .await;
            cancellations += 1;
        }
    }
    // The middle: pairs side by side.
    for (no, script, q) in &requests {
        let ev = shortage(no, "RACE-BUS", *q);
        match script {
            Script::Kept | Script::CancelLongBefore | Script::CancelLongAfter => {
                app.svc.publish("warehouse", no, "SH01", &ev).await;
                shortages += 1;
            }
            Script::KeptTwice => {
                let id = uuid::Uuid::now_v7().to_string();
                app.svc
                    .publish_with_id(&id, "warehouse", no, "SH01", &ev)
                    .await;
                app.svc
                    .publish_with_id(&id, "warehouse", no, "SH01", &ev)
                    .await;
                shortages += 2;
            }
            Script::RaceShortageFirst => {
                app.svc.publish("warehouse", no, "SH01", &ev).await;
                app.svc
                    .publish("intake", no, "SH01", &cancellation(no))
                    .await;
                shortages += 1;
                cancellations += 1;
            }
            Script::RaceCancelFirst => {
                app.svc
                    .publish("intake", no, "SH01", &cancellation(no))
                    .await;
                app.svc.publish("warehouse", no, "SH01", &ev).await;
                shortages += 1;
                cancellations += 1;
            }
            Script::RaceBothCancellations => {
                app.svc
                    .publish("intake", no, "SH01", &cancellation(no))
                    .await;
                app.svc.publish("warehouse", no, "SH01", &ev).await;
                app.svc
                    .publish("warehouse", no, "SH01", &released(no))
                    .await;
                shortages += 1;
                cancellations += 1;
            }
        }
    }
    // The tail: late cancellations.
    for (no, script, _) in &requests {
        if *script == Script::CancelLongAfter {
            app.svc
                .publish("warehouse", no, "SH01", &released(no))
                .await;
        }
    }

    // Act: a fresh instance takes the backlog, many deliveries at a time.
    let live = app.replica(builder()).await;
    live.wait_settled("warehouse.stock.shortage", shortages)
        .await;
    live.wait_settled("intake.request.cancelled", cancellations)
        .await;
    let releases = requests
        .iter()
        .filter(|(_, s, _)| matches!(s, Script::RaceBothCancellations | Script::CancelLongAfter))
        .count() as u64;
    live.wait_settled("warehouse.reservation.released", releases)
        .await;

    // Assert
    let (kept, cancelled) = kept_and_cancelled(&requests);
    assert_settled(&live, "RACE-BUS", &kept, &cancelled).await;
    let marked = live
        .count(
            "SELECT count(*)::bigint FROM requests r WHERE r.cancelled_at IS NOT NULL              AND NOT EXISTS (SELECT 1 FROM demands d WHERE d.request_no = r.request_no)",
        )
        .await;
    let taken_off = live
        .count("SELECT count(*)::bigint FROM demands WHERE status = 'CANCELLED'")
        .await;
    assert!(
        marked > 0,
        "some cancellations came first and left their marker"
    );
    assert!(
        taken_off > 0,
        "some cancellations took a quantity off a PO line"
    );
    live.stop().await;
}

#[tokio::test]
async fn the_last_request_of_a_po_cancelled_cancels_the_po_and_a_shortage_after_its_cancellation_buys_nothing()
 {
    let app = spawn_app().await;
    app.register("SUP-A", &["RMT-01"]).await;
    app.quote("SUP-A", "RMT-01", 3_300, 3).await;
    let no = request_no(1);
    let mut cancelled_events = app.subscribe("procurement.po.cancelled").await;
    app.shortage(&no, "RMT-01", 2).await;
    let po = app.wait_po_of(&no).await;

    app.cancel(&no).await;
    let cancelled = app
        .wait_po(&po.po_number, |p| {
            p.status == pb::PurchaseOrderStatus::Cancelled as i32
        })
        .await;
    assert_eq!(cancelled.lines[0].quantity, 0);
    assert_eq!(
        cancelled.cancel_reason,
        "every request it served was cancelled"
    );
    assert!(cancelled.request_nos.is_empty());
    let env = crate::helpers::next_event(&mut cancelled_events, |_| true).await;
    let ev: aftersales_platform::proto::procurement::v1::PoCancelled = crate::helpers::decode(&env);
    assert_eq!(
        (
            ev.po_number.as_str(),
            ev.request_nos.clone(),
            ev.cancelled_by.as_str()
        ),
        (po.po_number.as_str(), vec![no.clone()], "system")
    );

    // Cancelled first: the shortage that follows finds the marker.
    let later = request_no(2);
    app.cancel(&later).await;
    app.wait_settled("intake.request.cancelled", 2).await;
    app.shortage(&later, "RMT-01", 5).await;
    app.wait_settled("warehouse.stock.shortage", 2).await;
    assert!(app.pos_of(&later).await.is_empty());
    assert_eq!(
        app.count(&format!(
            "SELECT count(*)::bigint FROM demands WHERE request_no = '{later}'"
        ))
        .await,
        0
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM purchase_orders")
            .await,
        1
    );
    app.stop().await;
}
