use std::time::Duration;

use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::warehouse::v1 as pb;
use prost::Message;
use tonic::Code;

use crate::helpers::{TestApp, approval, assert_books_balance, spawn_app, stock, stock_part};

/// Stocks two parts and has a request for 2 + 1 of them confirmed; returns the pick list id.
async fn confirmed_pick_list(app: &TestApp) -> String {
    let mut client = app.clerk().await;
    stock_part(&mut client, "PWR-55-01", false, 5).await;
    stock_part(&mut client, "PNL-55-01", false, 5).await;
    let no = "AS-2611-SH01-000100";
    app.publish(
        "claims",
        no,
        &approval(
            no,
            common::Urgency::Normal,
            &[("PWR-55-01", 2), ("PNL-55-01", 1)],
        ),
    )
    .await;
    app.wait_count(
        "SELECT count(*)::bigint FROM reservations WHERE status = 'CONFIRMED'",
        1,
    )
    .await;
    format!("PL-{no}")
}

fn line(part_no: &str, quantity: u32) -> common::PartLine {
    common::PartLine {
        part_no: part_no.into(),
        quantity,
    }
}

#[tokio::test]
async fn a_pick_list_mismatch_issues_nothing_and_names_every_difference() {
    let app = spawn_app().await;
    let pick = confirmed_pick_list(&app).await;
    let mut client = app.clerk().await;
    let ledger_before = app.count("SELECT count(*)::bigint FROM ledger").await;

    let err = client
        .issue_parts(pb::IssuePartsRequest {
            idempotency_key: "i1".into(),
            pick_list_id: pick.clone(),
            lines: vec![line("PWR-55-01", 3), line("RMT-01", 1)],
            shipment_no: "SHP-1".into(),
            movement_date: String::new(),
        })
        .await
        .unwrap_err();

    assert_eq!(err.code(), Code::FailedPrecondition);
    let msg = err.message();
    assert!(
        msg.contains("PWR-55-01: pick list has 2, presented 3"),
        "{msg}"
    );
    assert!(
        msg.contains("PNL-55-01: pick list has 1, not presented"),
        "{msg}"
    );
    assert!(msg.contains("RMT-01: not on the pick list"), "{msg}");
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM ledger").await,
        ledger_before,
        "nothing issued"
    );
    let s = stock(&mut client, "PWR-55-01").await;
    assert_eq!((s.on_hand, s.reserved), (5, 2));
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'warehouse.parts.issued'"
        )
        .await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn issuing_exactly_the_pick_list_takes_the_units_out_once_and_announces_it() {
    let app = spawn_app().await;
    let mut issued = app.subscribe("warehouse.parts.issued").await;
    let pick = confirmed_pick_list(&app).await;
    let mut client = app.clerk().await;
    let req = pb::IssuePartsRequest {
        idempotency_key: "i1".into(),
        pick_list_id: pick.clone(),
        // Order and splitting of lines do not matter.
        lines: vec![
            line("PNL-55-01", 1),
            line("PWR-55-01", 1),
            line("PWR-55-01", 1),
        ],
        shipment_no: "SHP-1".into(),
        movement_date: String::new(),
    };

    let p = client
        .issue_parts(req.clone())
        .await
        .unwrap()
        .into_inner()
        .pick_list
        .unwrap();
    let again = client
        .issue_parts(req)
        .await
        .unwrap()
        .into_inner()
        .pick_list
        .unwrap();

    assert_eq!(p.status, pb::PickListStatus::Issued as i32);
    assert_eq!(again.status, pb::PickListStatus::Issued as i32);
    let s = stock(&mut client, "PWR-55-01").await;
    assert_eq!((s.on_hand, s.reserved, s.available), (3, 0, 3));
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM ledger WHERE kind = 'ISSUE'")
            .await,
        2,
        "one row per line, issued once"
    );
    let env = tokio::time::timeout(Duration::from_secs(30), issued.recv())
        .await
        .expect("parts.issued published")
        .unwrap();
    let e = pb::PartsIssued::decode(env.payload.as_slice()).unwrap();
    assert_eq!(e.pick_list_id, pick);
    assert_eq!(e.shipment_no, "SHP-1");
    assert_eq!(e.lines.len(), 2);
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn nothing_leaves_without_a_pick_list() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    let err = client
        .issue_parts(pb::IssuePartsRequest {
            pick_list_id: "PL-AS-2611-SH01-999999".into(),
            lines: vec![line("PWR-55-01", 1)],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = client
        .issue_parts(pb::IssuePartsRequest {
            pick_list_id: "whatever".into(),
            lines: vec![line("PWR-55-01", 0)],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let bad = crate::helpers::violations(&err);
    assert!(bad.contains_key("pick_list_id"), "{bad:?}");
    assert!(bad.contains_key("lines[0].quantity"), "{bad:?}");
    app.stop().await;
}
