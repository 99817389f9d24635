//! Promised dates as SLA clocks, through the real API: a holiday added to the calendar moves the
//! date a supplier's lead time derives (at start-up; `procurement sla recompute` then finds
//! nothing more), not a date a person gave, and withdraws an overdue that no longer holds, once;
//! the new date is announced overdue once in its turn.

use aftersales_platform::proto::procurement::v1 as pb;
use procurement::service::scans::OVERDUE;

use crate::helpers::{TestApp, at, builder, day, manual_clock, request_no};

fn count_of(routing_key: &str, po_number: &str) -> String {
    format!(
        "SELECT count(*)::bigint FROM outbox WHERE routing_key = '{routing_key}' \
         AND subject = '{po_number}'"
    )
}

/// 10:00 in Shanghai on `date`.
fn morning(date: &str) -> chrono::DateTime<chrono::Utc> {
    at(&format!("{date}T02:00:00Z"))
}

#[tokio::test]
async fn a_holiday_moves_a_promised_date_from_a_lead_time_but_not_a_given_one_and_withdraws_its_void_overdue_once()
 {
    // Arrange: Tuesday 1 December 10:00. A shortage is ordered from SUP-A (3 working days: Friday
    // the 4th); a buyer orders the same part by hand, promised for the 4th as the supplier said.
    let clock = manual_clock();
    let mut first = TestApp {
        svc: builder().clock(clock.clone()).start().await,
    };
    first.register("SUP-A", &["RMT-01"]).await;
    first.quote("SUP-A", "RMT-01", 3_300, 3).await;
    let no = request_no(1);
    first.shortage(&no, "RMT-01", 4).await;
    let derived = first.wait_po_of(&no).await;
    assert_eq!(day(&derived.promised_date), day("2026-12-04"));
    let given = first
        .buyer()
        .create_purchase_order(pb::CreatePurchaseOrderRequest {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            supplier_id: "SUP-A".into(),
            lines: vec![pb::PurchaseOrderLineInput {
                part_no: "RMT-01".into(),
                quantity: 20,
                ..Default::default()
            }],
            promised_date: "2026-12-04".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .purchase_order
        .unwrap();
    // Saturday: both are late, announced.
    clock.set(morning("2026-12-05"));
    first.svc.scan(OVERDUE).await;
    for po in [&derived, &given] {
        assert_eq!(
            first
                .count(&count_of("procurement.po.overdue", &po.po_number))
                .await,
            1
        );
    }
    let bus = first.svc.bus.clone();
    let db = first.svc.db.take().expect("the test's database");
    first.stop().await;

    // Act: Thursday 3 December is declared a holiday; procurement restarts with it.
    let second = TestApp {
        svc: builder()
            .clock(clock.clone())
            .bus(&bus)
            .database_url(&db.url)
            .env("AFTERSALES__CALENDAR__HOLIDAYS", "2026-12-03")
            .start()
            .await,
    };

    // Assert: the lead time now ends Monday the 7th (Tuesday 8 h, Wednesday 9, Friday 9, Monday
    // 1): not late any more, the overdue withdrawn, once. The date a person gave stays, late.
    let now = second.po(&derived.po_number).await;
    assert_eq!(day(&now.promised_date), day("2026-12-07"));
    assert!(!now.overdue);
    let moved = count_of("procurement.po.deadline_changed", &derived.po_number);
    let withdrawn = count_of("procurement.po.overdue_withdrawn", &derived.po_number);
    assert_eq!(second.count(&moved).await, 1);
    assert_eq!(second.count(&withdrawn).await, 1);
    let kept = second.po(&given.po_number).await;
    assert_eq!(day(&kept.promised_date), day("2026-12-04"));
    assert!(kept.overdue);
    assert_eq!(
        second
            .count(&count_of(
                "procurement.po.deadline_changed",
                &given.po_number
            ))
            .await,
        0
    );

    // Once: recomputing by hand finds nothing more to do.
    let mut env = second.svc.env.clone();
    env.insert("AFTERSALES__CALENDAR__HOLIDAYS".into(), "2026-12-03".into());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_procurement"))
        .args(["sla", "recompute", "--since", "2026-12-01"])
        .env_clear()
        .envs(&env)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("0 re-derived, 0 deadline(s) moved"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(second.count(&withdrawn).await, 1);

    // Tuesday the 8th: the new date passed, announced once; the given one is not announced again.
    clock.set(morning("2026-12-08"));
    second.svc.scan(OVERDUE).await;
    second.svc.scan(OVERDUE).await;
    let overdue = count_of("procurement.po.overdue", &derived.po_number);
    assert_eq!(second.count(&overdue).await, 2);
    assert_eq!(
        second
            .count(&count_of("procurement.po.overdue", &given.po_number))
            .await,
        1
    );
    second.stop().await;
    drop(db);
}
