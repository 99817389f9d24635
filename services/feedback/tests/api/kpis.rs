//! The KPIs from a known event history of October 2026, checked figure by figure against values
//! worked out by hand; the read model dropped and rebuilt from the event log gives the same
//! figures; a redelivered or replayed event does not count twice.
//!
//! The history (SH01 unless said; times local UTC+8; 10 working days to process a request;
//! return visits due 3 working days after the job):
//!
//! | request | submitted | claim | closed | delivery | jobs |
//! |---|---|---|---|---|---|
//! | R1 | Oct 5 | approved Oct 6, 2 lines | by survey Oct 9 (in time) | Oct 8 on time | WO-1 T1 Oct 8, arrived in time |
//! | R2 | Oct 5 | SLA breached, approved Oct 9, 2 lines | by survey Oct 30 (late) | Oct 20 late | WO-2 T2 Oct 12 (SLA breached), WO-3 T2 Oct 20 rework of WO-2 |
//! | R3 (BJ02) | Oct 6 | approved Oct 6, 1 line | by survey Oct 9 | Oct 7 on time | WO-4 T3 Oct 7 |
//! | R4 | Oct 6 | rejected Oct 6 | claim rejected (not counted) | | |
//! | R5 | Oct 6 | approved Oct 7, 1 line | | | |
//!
//! Surveys (through the API, the clock set): WO-1's visit Oct 9 (all satisfied, solved), WO-4's
//! Oct 9 (all very satisfied, solved), WO-2's Oct 16 after its due date (skill dissatisfied,
//! arrival very dissatisfied, not solved → complaint C-a, resolved 2 working hours later). C-b
//! (minor) opened Oct 19 09:00, resolved Oct 22 12:00 (30 working hours, past its 24).
//! Stocktakes: 48 of 50 lines matched on Oct 15 (one in September does not count). POs: 2 × 100.00
//! against a quoted 90.00, 1 × 50.00 at its quote, one without a quoted price (not counted).
//! Returned: R1 PWR-55-01 × 2, R2 PNL-55-01 × 1 and RMT-01 × 3, R3 (BJ02) one PWR-55-01 unit.
//! First reservations: R1 confirmed 2 lines, model in production; R2 short of 1 of 2 lines,
//! discontinued 2025-01-01; R3 confirmed 1 line, discontinued 2020-03-01; R5 confirmed 1 line with
//! no model on the event.

use std::collections::BTreeMap;

use aftersales_platform::proto::catalogue::Event;
use aftersales_platform::proto::claims::v1 as claims;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::feedback::v1 as pb;
use aftersales_platform::proto::fieldservice::v1 as fieldservice;
use aftersales_platform::proto::intake::v1 as intake;
use aftersales_platform::proto::procurement::v1 as procurement;
use aftersales_platform::proto::warehouse::v1 as warehouse;
use prost::Message;
use sea_orm::ConnectionTrait;

use crate::helpers::{
    TestApp, approved, clock_at, completed, delivered, key, local, request_no, spawn_at, submitted,
    survey, ts,
};

/// The requests of the history.
struct History {
    r: [String; 5],
    /// How many events of other services were published (distinct ids).
    events: i64,
}

fn money(minor: i64) -> common::Money {
    common::Money {
        currency: "CNY".into(),
        amount_minor: minor,
    }
}

/// Fields the warehouse will add to its reservation events (see `projection`): the model, its
/// lifecycle and since when it is discontinued, at the field numbers feedback reads.
#[derive(Clone, PartialEq, Message)]
struct ModelFields {
    #[prost(string, tag = "11")]
    model: String,
    #[prost(int32, tag = "12")]
    lifecycle: i32,
    #[prost(string, tag = "13")]
    discontinued: String,
}

#[derive(Clone, PartialEq, Message)]
struct ShortageModelFields {
    #[prost(string, tag = "7")]
    model: String,
    #[prost(int32, tag = "8")]
    lifecycle: i32,
    #[prost(string, tag = "9")]
    discontinued: String,
}

fn pick(part: &str) -> warehouse::PickLine {
    warehouse::PickLine {
        part_no: part.into(),
        quantity: 1,
        zone: warehouse::Zone::Qualified as i32,
    }
}

struct Publisher<'a> {
    app: &'a TestApp,
    n: i64,
}

impl Publisher<'_> {
    async fn at<E: Event>(&mut self, at: chrono::DateTime<chrono::Utc>, no: &str, b: &str, p: &E) {
        self.app.publish_at(at, 1, no, b, p).await;
        self.n += 1;
    }

    async fn raw<E: Event>(
        &mut self,
        at: chrono::DateTime<chrono::Utc>,
        seq: u64,
        no: &str,
        b: &str,
        bytes: Vec<u8>,
    ) {
        self.app.publish_bytes::<E>(at, seq, no, b, bytes).await;
        self.n += 1;
    }
}

async fn history(app: &TestApp) -> History {
    let r = [
        request_no("SH01"),
        request_no("SH01"),
        request_no("BJ02"),
        request_no("SH01"),
        request_no("SH01"),
    ];
    let [r1, r2, r3, r4, r5] = [&r[0], &r[1], &r[2], &r[3], &r[4]];
    let oct = |d, h| local(2026, 10, d, h, 0);
    let mut p = Publisher { app, n: 0 };
    let branch_of = |no: &str| if no.contains("BJ02") { "BJ02" } else { "SH01" };

    // Intake.
    for (no, day) in [(r1, 5), (r2, 5), (r3, 6), (r4, 6), (r5, 6)] {
        p.at(
            oct(day, 10),
            no,
            branch_of(no),
            &submitted(no, branch_of(no), oct(day, 10)),
        )
        .await;
    }
    for (no, day, hour, reason) in [
        (r1, 9, 15, intake::CloseReason::SurveyRecorded),
        (r2, 30, 10, intake::CloseReason::SurveyRecorded),
        (r3, 9, 16, intake::CloseReason::SurveyRecorded),
        (r4, 7, 10, intake::CloseReason::ClaimRejected),
    ] {
        let b = branch_of(no);
        let closed = intake::RequestClosed {
            request_no: no.clone(),
            branch: b.into(),
            reason: reason as i32,
            detail: String::new(),
        };
        p.at(oct(day, hour), no, b, &closed).await;
    }
    // Claims.
    for no in [r1, r2, r3, r4, r5] {
        let b = branch_of(no);
        let opened = claims::ClaimOpened {
            request_no: no.clone(),
            branch: b.into(),
            opened_at: Some(ts(oct(5, 11))),
            due_at: Some(ts(oct(7, 11))),
            ..Default::default()
        };
        p.at(oct(5, 11), no, b, &opened).await;
    }
    p.at(
        oct(6, 10),
        r1,
        "SH01",
        &approved(r1, "SH01", &["PWR-55-01", "PNL-55-01"], oct(6, 10)),
    )
    .await;
    let breach = claims::ClaimSlaBreached {
        request_no: r2.clone(),
        branch: "SH01".into(),
        ..Default::default()
    };
    p.at(oct(7, 12), r2, "SH01", &breach).await;
    p.at(
        oct(9, 10),
        r2,
        "SH01",
        &approved(r2, "SH01", &["PWR-55-01", "RMT-01"], oct(9, 10)),
    )
    .await;
    p.at(
        oct(6, 10),
        r3,
        "BJ02",
        &approved(r3, "BJ02", &["PWR-55-01"], oct(6, 10)),
    )
    .await;
    p.at(
        oct(7, 10),
        r5,
        "SH01",
        &approved(r5, "SH01", &["RMT-01"], oct(7, 10)),
    )
    .await;
    let rejected = claims::ClaimRejected {
        request_no: r4.clone(),
        branch: "SH01".into(),
        rejected_at: Some(ts(oct(6, 10))),
        ..Default::default()
    };
    p.at(oct(6, 10), r4, "SH01", &rejected).await;
    // Deliveries (a technician fits the parts: the jobs make the visits due).
    for (no, shipment, day, on_time) in [
        (r1, "SHP-1", 8, true),
        (r2, "SHP-2", 20, false),
        (r3, "SHP-3", 7, true),
    ] {
        let mut d = delivered(no, branch_of(no), shipment, true, oct(day, 9));
        d.on_time = on_time;
        p.at(oct(day, 9), no, branch_of(no), &d).await;
    }
    // The warehouse: stocktakes, old parts, returns, first reservations.
    for (id, at, counted, matched) in [
        ("ST-1", oct(15, 17), 50, 48),
        ("ST-0", local(2026, 9, 30, 10, 0), 10, 0),
    ] {
        let st = warehouse::StocktakeClosed {
            stocktake_id: id.into(),
            lines_counted: counted,
            lines_matched: matched,
            closed_at: Some(ts(at)),
            ..Default::default()
        };
        p.at(at, id, "", &st).await;
    }
    for (id, no, part, qty, day) in [
        ("OP-1", r1, "PWR-55-01", 2, 9),
        ("OP-2", r2, "PNL-55-01", 1, 13),
        ("OP-3", r2, "RMT-01", 3, 21),
    ] {
        let op = warehouse::OldPartReceived {
            request_no: no.clone(),
            branch: "SH01".into(),
            old_part_id: id.into(),
            part_no: part.into(),
            quantity: qty,
            received_at: Some(ts(oct(day, 14))),
            ..Default::default()
        };
        p.at(oct(day, 14), no, "SH01", &op).await;
    }
    let ret = warehouse::ReturnInspected {
        request_no: r3.clone(),
        branch: "BJ02".into(),
        return_id: "RET-1".into(),
        part_no: "PWR-55-01".into(),
        serial: "SN12345678".into(),
        resaleable: false,
        inspected_at: Some(ts(oct(14, 15))),
        ..Default::default()
    };
    p.at(oct(14, 15), r3, "BJ02", &ret).await;
    let confirmed = |no: &str, b: &str, parts: &[&str], at, backorder: &str| {
        warehouse::ReservationConfirmed {
            request_no: no.into(),
            branch: b.into(),
            pick_list_id: format!("PL-{no}"),
            lines: parts.iter().map(|x| pick(x)).collect(),
            backorder_id: backorder.into(),
            reserved_at: Some(ts(at)),
            ..Default::default()
        }
        .encode_to_vec()
    };
    let model = |lifecycle, since: &str| {
        ModelFields {
            model: "X55".into(),
            lifecycle,
            discontinued: since.into(),
        }
        .encode_to_vec()
    };
    let mut bytes = confirmed(r1, "SH01", &["PWR-55-01", "PNL-55-01"], oct(6, 11), "");
    bytes.extend(model(1, ""));
    p.raw::<warehouse::ReservationConfirmed>(oct(6, 11), 1, r1, "SH01", bytes)
        .await;
    // R2: a later replacement reservation arrives first; the shortage (sequence 1) is the first.
    let mut bytes = confirmed(r2, "SH01", &["RMT-01"], oct(22, 11), "");
    bytes.extend(model(3, "2025-01-01"));
    p.raw::<warehouse::ReservationConfirmed>(oct(22, 11), 5, r2, "SH01", bytes)
        .await;
    let mut bytes = warehouse::StockShortage {
        request_no: r2.clone(),
        branch: "SH01".into(),
        backorder_id: "BO-1".into(),
        lines: vec![warehouse::BackorderLine {
            part_no: "RMT-01".into(),
            requested: 1,
            reserved: 0,
            missing: 1,
        }],
        ..Default::default()
    }
    .encode_to_vec();
    bytes.extend(
        ShortageModelFields {
            model: "X55".into(),
            lifecycle: 3,
            discontinued: "2025-01-01".into(),
        }
        .encode_to_vec(),
    );
    p.raw::<warehouse::StockShortage>(oct(9, 11), 1, r2, "SH01", bytes)
        .await;
    let bytes = confirmed(r2, "SH01", &["PWR-55-01", "RMT-01"], oct(16, 11), "BO-1");
    p.raw::<warehouse::ReservationConfirmed>(oct(16, 11), 3, r2, "SH01", bytes)
        .await;
    let mut bytes = confirmed(r3, "BJ02", &["PWR-55-01"], oct(6, 11), "");
    bytes.extend(model(3, "2020-03-01"));
    p.raw::<warehouse::ReservationConfirmed>(oct(6, 11), 1, r3, "BJ02", bytes)
        .await;
    let bytes = confirmed(r5, "SH01", &["RMT-01"], oct(7, 11), "");
    p.raw::<warehouse::ReservationConfirmed>(oct(7, 11), 1, r5, "SH01", bytes)
        .await;
    // Procurement.
    for (po, day, qty, price, quoted) in [
        ("PO-1", 10, 2, 10_000, Some(9_000)),
        ("PO-2", 12, 1, 5_000, Some(5_000)),
        ("PO-3", 13, 1, 7_000, None),
    ] {
        let issued = procurement::PoIssued {
            po_number: po.into(),
            lines: vec![procurement::PoLine {
                line_no: 1,
                part_no: "RMT-01".into(),
                quantity: qty,
                unit_price: Some(money(price)),
                quoted_unit_price: quoted.map(money),
                ..Default::default()
            }],
            issued_at: Some(ts(oct(day, 10))),
            revision: 1,
            ..Default::default()
        };
        p.at(oct(day, 10), po, "", &issued).await;
    }
    // Field service.
    let mut wo1 = completed(r1, "SH01", "WO-1", "T1", oct(8, 10));
    wo1.arrival_on_time = true;
    p.at(oct(8, 10), r1, "SH01", &wo1).await;
    let mut wo2 = completed(r2, "SH01", "WO-2", "T2", oct(12, 10));
    wo2.parts_used[0].part_no = "RMT-01".into();
    p.at(oct(12, 10), r2, "SH01", &wo2).await;
    let sla = fieldservice::WorkOrderSlaBreached {
        request_no: r2.clone(),
        branch: "SH01".into(),
        work_order_no: "WO-2".into(),
        technician_id: "T2".into(),
        ..Default::default()
    };
    p.at(oct(12, 9), r2, "SH01", &sla).await;
    let mut wo3 = completed(r2, "SH01", "WO-3", "T2", oct(20, 10));
    wo3.arrival_on_time = false;
    wo3.rework_of = "WO-2".into();
    p.at(oct(20, 10), r2, "SH01", &wo3).await;
    let rework = fieldservice::WorkOrderReworkDetected {
        request_no: r2.clone(),
        branch: "SH01".into(),
        work_order_no: "WO-3".into(),
        serial: "SN12345678".into(),
        previous_work_order_no: "WO-2".into(),
        days_since: 8,
        product_model: "X55".into(),
        ..Default::default()
    };
    p.at(oct(19, 10), r2, "SH01", &rework).await;
    p.at(
        oct(7, 10),
        r3,
        "BJ02",
        &completed(r3, "BJ02", "WO-4", "T3", oct(7, 10)),
    )
    .await;
    app.wait_processed(p.n).await;

    // The agents' work, on the service's clock.
    let visit = |no: &str, wo: &str| {
        let no = no.to_owned();
        let wo = wo.to_owned();
        async move {
            app.visits_of(&no)
                .await
                .into_iter()
                .find(|v| v.work_order_no == wo)
                .unwrap_or_else(|| panic!("no visit for {wo}"))
        }
    };
    let (v1, v2, v4) = (
        visit(r1, "WO-1").await,
        visit(r2, "WO-2").await,
        visit(r3, "WO-4").await,
    );
    assert_eq!(v1.due_date, "2026-10-13");
    assert_eq!(v2.due_date, "2026-10-15");
    assert_eq!(v4.due_date, "2026-10-12");
    let mut sh = app.agent("SH01").await;
    let mut bj = app.agent("BJ02").await;
    app.clock().set(oct(9, 12));
    let mut s1 = survey(&v1.visit_id, pb::Rating::Satisfied, true);
    s1.attitude = pb::Rating::VerySatisfied as i32;
    sh.record_survey(s1).await.unwrap();
    bj.record_survey(survey(&v4.visit_id, pb::Rating::VerySatisfied, true))
        .await
        .unwrap();
    app.clock().set(oct(16, 10));
    let mut s2 = survey(&v2.visit_id, pb::Rating::Satisfied, false);
    s2.technical_skill = pb::Rating::Dissatisfied as i32;
    s2.arrival_time = pb::Rating::VeryDissatisfied as i32;
    let ca = sh
        .record_survey(s2)
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    app.clock().set(oct(16, 12));
    let resolve = |id: &str| pb::ResolveComplaintRequest {
        idempotency_key: key(),
        complaint_id: id.into(),
        resolution: "technician sent again".into(),
        reported_via: "phone".into(),
    };
    sh.resolve_complaint(resolve(&ca.complaint_id))
        .await
        .unwrap();
    app.clock().set(oct(19, 9));
    let cb = sh
        .open_complaint(pb::OpenComplaintRequest {
            idempotency_key: key(),
            branch: "SH01".into(),
            category: pb::ComplaintCategory::Other as i32,
            severity: pb::Severity::Minor as i32,
            description: "nobody answers the hotline".into(),
            source: "hotline".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    app.clock().set(oct(22, 12));
    sh.resolve_complaint(resolve(&cb.complaint_id))
        .await
        .unwrap();
    app.clock().set(local(2026, 11, 5, 10, 0));
    History { r, events: p.n }
}

fn fig(k: &Option<pb::Kpi>) -> (u64, u64, u32) {
    let k = k.as_ref().expect("every KPI is answered");
    (k.numerator, k.denominator, k.value_bp)
}

async fn kpis(app: &TestApp, branch: &str) -> pb::Kpis {
    app.analyst("*")
        .await
        .get_kpis(pb::GetKpisRequest {
            period_name: "2026-10".into(),
            branch: branch.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .kpis
        .unwrap()
}

#[tokio::test]
async fn a_known_event_history_gives_every_kpi_as_worked_out_by_hand() {
    // Arrange
    let app = spawn_at(clock_at(local(2026, 10, 1, 9, 0))).await;
    let h = history(&app).await;

    // Act
    let sh = kpis(&app, "SH01").await;
    let all = kpis(&app, "").await;
    let bj = kpis(&app, "BJ02").await;

    // Assert: SH01.
    assert_eq!(sh.period_name, "2026-10");
    assert_eq!(fig(&sh.request_processing_timeliness), (1, 2, 5000));
    assert_eq!(fig(&sh.review_timeliness), (3, 4, 7500));
    assert_eq!(fig(&sh.procurement_cost_vs_quotes), (23_000, 25_000, 9200));
    assert_eq!(fig(&sh.inventory_accuracy), (48, 50, 9600));
    assert_eq!(fig(&sh.on_time_delivery), (1, 2, 5000));
    assert_eq!(fig(&sh.arrival_sla), (1, 3, 3333));
    assert_eq!(fig(&sh.first_time_fix), (1, 2, 5000));
    assert_eq!(fig(&sh.rework_rate), (1, 3, 3333));
    assert!(sh.rework_rate.as_ref().unwrap().lower_is_better);
    assert_eq!(fig(&sh.satisfaction), (1, 2, 5000));
    assert_eq!(fig(&sh.satisfaction_attitude), (2, 2, 10000));
    assert_eq!(fig(&sh.satisfaction_technical_skill), (1, 2, 5000));
    assert_eq!(fig(&sh.satisfaction_arrival_time), (1, 2, 5000));
    assert_eq!(fig(&sh.satisfaction_promise_keeping), (2, 2, 10000));
    assert_eq!(fig(&sh.complaint_response_timeliness), (1, 2, 5000));
    assert_eq!(sh.complaint_response_avg_minutes, 960, "(120 + 1800) / 2");
    assert_eq!(fig(&sh.return_visit_timeliness), (1, 3, 3333));
    assert_eq!(sh.satisfaction.as_ref().unwrap().target_bp, 9000);
    // Every branch.
    assert_eq!(fig(&all.request_processing_timeliness), (2, 3, 6667));
    assert_eq!(fig(&all.review_timeliness), (4, 5, 8000));
    assert_eq!(fig(&all.procurement_cost_vs_quotes), (23_000, 25_000, 9200));
    assert_eq!(fig(&all.inventory_accuracy), (48, 50, 9600));
    assert_eq!(fig(&all.on_time_delivery), (2, 3, 6667));
    assert_eq!(fig(&all.arrival_sla), (2, 4, 5000));
    assert_eq!(fig(&all.first_time_fix), (2, 3, 6667));
    assert_eq!(fig(&all.rework_rate), (1, 4, 2500));
    assert_eq!(fig(&all.satisfaction), (2, 3, 6667));
    assert_eq!(fig(&all.satisfaction_attitude), (3, 3, 10000));
    assert_eq!(fig(&all.satisfaction_technical_skill), (2, 3, 6667));
    assert_eq!(fig(&all.satisfaction_arrival_time), (2, 3, 6667));
    assert_eq!(fig(&all.satisfaction_promise_keeping), (3, 3, 10000));
    assert_eq!(fig(&all.complaint_response_timeliness), (1, 2, 5000));
    assert_eq!(fig(&all.return_visit_timeliness), (2, 4, 5000));
    // BJ02.
    assert_eq!(fig(&bj.request_processing_timeliness), (1, 1, 10000));
    assert_eq!(fig(&bj.arrival_sla), (1, 1, 10000));
    assert_eq!(fig(&bj.rework_rate), (0, 1, 0));
    assert_eq!(fig(&bj.complaint_response_timeliness), (0, 0, 0));
    // A week: only what happened from Monday 12th to Sunday 18th.
    let week = app
        .analyst("*")
        .await
        .get_kpis(pb::GetKpisRequest {
            period_name: "2026-W42".into(),
            history: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let w = week.kpis.unwrap();
    assert_eq!(
        fig(&w.arrival_sla),
        (0, 1, 0),
        "WO-2 alone, its SLA breached"
    );
    assert_eq!(fig(&w.inventory_accuracy), (48, 50, 9600));
    assert_eq!(week.history.len(), 1);
    assert_eq!(week.history[0].period_name, "2026-W41");
    assert_eq!(
        fig(&week.history[0].arrival_sla),
        (2, 2, 10000),
        "WO-1 and WO-4"
    );

    // Top returned parts of the month and of week 42.
    let mut analyst = app.analyst("*").await;
    let top = analyst
        .top_returned_parts(pb::TopReturnedPartsRequest {
            period_name: "2026-10".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (top.from_date.as_str(), top.to_date.as_str()),
        ("2026-10-01", "2026-10-31")
    );
    let rows: Vec<_> = top
        .parts
        .iter()
        .map(|p| {
            (
                p.rank,
                p.part_no.as_str(),
                p.quantity,
                p.requests,
                p.share_bp,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (1, "PWR-55-01", 3, 2, 4286),
            (2, "RMT-01", 3, 1, 4286),
            (3, "PNL-55-01", 1, 1, 1429)
        ]
    );
    let week_top = analyst
        .top_returned_parts(pb::TopReturnedPartsRequest {
            period: pb::TopPeriod::Week as i32,
            date: "2026-10-14".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(week_top.period_name, "2026-W42");
    assert_eq!(
        week_top
            .parts
            .iter()
            .map(|p| p.part_no.as_str())
            .collect::<Vec<_>>(),
        ["PNL-55-01", "PWR-55-01"]
    );
    let sh_top = app
        .analyst("SH01")
        .await
        .top_returned_parts(pb::TopReturnedPartsRequest {
            period_name: "2026-10".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        sh_top
            .parts
            .iter()
            .map(|p| (p.part_no.as_str(), p.quantity, p.share_bp))
            .collect::<Vec<_>>(),
        [
            ("RMT-01", 3, 5000),
            ("PWR-55-01", 2, 3333),
            ("PNL-55-01", 1, 1667)
        ]
    );

    // Fill rate by lifecycle class.
    let fill = analyst
        .get_fill_rate(pb::GetFillRateRequest {
            period_name: "2026-10".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let classes: Vec<_> = fill
        .classes
        .iter()
        .map(|c| {
            let k = c.fill_rate.as_ref().unwrap();
            (
                c.lifecycle,
                k.numerator,
                k.denominator,
                k.value_bp,
                c.requests,
                k.target_bp,
            )
        })
        .collect();
    assert_eq!(
        classes,
        [
            (
                pb::LifecycleClass::InProduction as i32,
                2,
                2,
                10000,
                1,
                10000
            ),
            (pb::LifecycleClass::Discontinued as i32, 1, 2, 5000, 1, 8000),
            (
                pb::LifecycleClass::DiscontinuedLong as i32,
                1,
                1,
                10000,
                1,
                0
            ),
            (pb::LifecycleClass::Unknown as i32, 1, 1, 10000, 1, 0),
        ]
    );
    assert_eq!(fig(&fill.overall), (5, 6, 8333));

    // The technicians' month.
    let evaluations = analyst
        .get_technician_evaluations(pb::GetTechnicianEvaluationsRequest {
            month: "2026-10".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .evaluations;
    let by: BTreeMap<&str, &pb::TechnicianEvaluation> = evaluations
        .iter()
        .map(|e| (e.technician_id.as_str(), e))
        .collect();
    let t1 = by["T1"];
    assert_eq!(
        (t1.branch.as_str(), t1.jobs_completed, t1.rework_jobs),
        ("SH01", 1, 0)
    );
    assert_eq!(fig(&t1.arrival_on_time), (1, 1, 10000));
    assert_eq!(fig(&t1.first_time_fix), (1, 1, 10000));
    assert_eq!(
        (t1.surveys, t1.complaints, t1.unresolved_surveys),
        (1, 0, 0)
    );
    assert_eq!(fig(&t1.satisfaction), (1, 1, 10000));
    let t2 = by["T2"];
    assert_eq!((t2.jobs_completed, t2.rework_jobs), (2, 1));
    assert_eq!(fig(&t2.arrival_on_time), (0, 2, 0));
    assert_eq!(fig(&t2.first_time_fix), (0, 1, 0));
    assert_eq!(
        (t2.surveys, t2.complaints, t2.unresolved_surveys),
        (1, 1, 1)
    );
    assert_eq!(fig(&t2.technical_skill), (0, 1, 0));
    assert_eq!(fig(&t2.attitude), (1, 1, 10000));
    let t3 = by["T3"];
    assert_eq!((t3.branch.as_str(), t3.jobs_completed), ("BJ02", 1));
    assert_eq!(evaluations.len(), 3);

    // A branch sees only itself.
    let theirs = app
        .analyst("SH01")
        .await
        .get_kpis(pb::GetKpisRequest {
            period_name: "2026-10".into(),
            branch: "BJ02".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(theirs.code(), tonic::Code::NotFound);
    assert_eq!(h.r.len(), 5);
    app.stop().await;
}

/// Everything the read model answers, for comparing before and after.
async fn everything(app: &TestApp) -> Vec<String> {
    let mut a = app.analyst("*").await;
    let mut out = Vec::new();
    for (name, branch) in [("2026-10", ""), ("2026-10", "SH01"), ("2026-W42", "")] {
        out.push(format!(
            "{:?}",
            a.get_kpis(pb::GetKpisRequest {
                period_name: name.into(),
                branch: branch.into(),
                history: 2,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
        ));
    }
    out.push(format!(
        "{:?}",
        a.top_returned_parts(pb::TopReturnedPartsRequest {
            period_name: "2026-10".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
    ));
    out.push(format!(
        "{:?}",
        a.get_fill_rate(pb::GetFillRateRequest {
            period_name: "2026-10".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
    ));
    out.push(format!(
        "{:?}",
        a.get_technician_evaluations(pb::GetTechnicianEvaluationsRequest {
            month: "2026-10".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
    ));
    out.push(format!(
        "{:?}",
        a.get_quality_archive(pb::GetQualityArchiveRequest {
            product_model: "X55".into(),
            page_size: 200,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
    ));
    out.push(format!(
        "{:?}",
        a.get_assessment(pb::GetAssessmentRequest {
            period: "2026-10".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
    ));
    out
}

#[tokio::test]
async fn dropping_the_read_model_and_rebuilding_it_from_the_event_log_gives_identical_figures() {
    // Arrange
    let app = spawn_at(clock_at(local(2026, 10, 1, 9, 0))).await;
    history(&app).await;
    let before = everything(&app).await;
    let logged = app.logged().await;

    // Act: drop the read model (every row of it), then rebuild it from the log.
    for t in feedback::store::readmodel::TABLES {
        app.svc
            .conn()
            .execute_unprepared(&format!("DELETE FROM {t}"))
            .await
            .unwrap();
    }
    let dropped = kpis(&app, "").await;
    let replayed = app
        .admin()
        .await
        .rebuild_read_model(pb::RebuildReadModelRequest {})
        .await
        .unwrap()
        .into_inner()
        .events_replayed;
    let after = everything(&app).await;

    // Assert: the drop really emptied the figures; the rebuild replayed the whole log and gave
    // back the same answers, field for field.
    assert_eq!(fig(&dropped.satisfaction), (0, 0, 0));
    assert_eq!(fig(&dropped.arrival_sla), (0, 0, 0));
    assert_eq!(replayed as i64, logged);
    assert!(
        logged > 50,
        "the log holds the whole history and feedback's own events: {logged}"
    );
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b, a);
    }
    assert_eq!(before.len(), after.len());
    // The log itself cannot be changed.
    let refused = app
        .svc
        .conn()
        .execute_unprepared("DELETE FROM event_log")
        .await;
    assert!(refused.is_err(), "the event log is append-only");
    app.stop().await;
}

#[tokio::test]
async fn a_redelivered_or_replayed_event_does_not_count_twice() {
    // Arrange
    let app = spawn_at(clock_at(local(2026, 10, 1, 9, 0))).await;
    let h = history(&app).await;
    let before = everything(&app).await;
    let [r1, r2, ..] = &h.r;
    let oct = |d, hour| local(2026, 10, d, hour, 0);

    // Act: the relay sends an event again after a crash (same id), and producers replay events
    // under new ids (a DLQ replay of a copy, a restored outbox).
    let late = delivered(r2, "SH01", "SHP-2", true, oct(20, 9));
    let mut late_again = late.clone();
    late_again.on_time = false;
    let id = app.publish_at(oct(20, 9), 1, r2, "SH01", &late).await;
    app.publish_with_id(&id, r2, "SH01", &late_again).await;
    let mut wo3 = completed(r2, "SH01", "WO-3", "T2", oct(20, 10));
    wo3.arrival_on_time = false;
    wo3.rework_of = "WO-2".into();
    app.publish_at(oct(20, 10), 1, r2, "SH01", &wo3).await;
    let st = warehouse::StocktakeClosed {
        stocktake_id: "ST-1".into(),
        lines_counted: 50,
        lines_matched: 48,
        closed_at: Some(ts(oct(15, 17))),
        ..Default::default()
    };
    app.publish_at(oct(15, 17), 1, "ST-1", "", &st).await;
    let op = warehouse::OldPartReceived {
        request_no: r1.clone(),
        branch: "SH01".into(),
        old_part_id: "OP-1".into(),
        part_no: "PWR-55-01".into(),
        quantity: 2,
        received_at: Some(ts(oct(9, 14))),
        ..Default::default()
    };
    app.publish_at(oct(9, 14), 1, r1, "SH01", &op).await;
    let closed = intake::RequestClosed {
        request_no: r1.clone(),
        branch: "SH01".into(),
        reason: intake::CloseReason::SurveyRecorded as i32,
        detail: String::new(),
    };
    app.publish_at(oct(9, 15), 2, r1, "SH01", &closed).await;
    // Five new ids; the same-id copy is not processed again.
    app.wait_processed(h.events + 5).await;
    let after = everything(&app).await;

    // Assert
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b, a);
    }
    assert_eq!(
        app.visits_of(r2).await.len(),
        2,
        "WO-2 and WO-3, each visited once"
    );
    app.stop().await;
}
