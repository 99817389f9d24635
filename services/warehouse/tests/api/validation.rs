use aftersales_platform::proto::warehouse::v1 as pb;
use tonic::Code;

use crate::helpers::{spawn_app, stock_part, violations};

#[tokio::test]
async fn an_unknown_zone_or_kind_is_named_and_nothing_is_stored() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "PWR-55-01", false, 2).await;
    let ledger_rows = app.count("SELECT count(*)::bigint FROM ledger").await;

    let err = client
        .list_ledger(pb::ListLedgerRequest {
            zone: 42,
            kinds: vec![99],
            page_size: 5000,
            page_token: "not-a-token".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let bad = violations(&err);
    for f in ["zone", "kinds[0]", "page_size", "page_token"] {
        assert!(bad.contains_key(f), "{f} missing from {bad:?}");
    }

    let err = client
        .open_stocktake(pb::OpenStocktakeRequest {
            idempotency_key: "st".into(),
            zones: vec![0, 42],
            part_nos: vec!["NOPE 1".into()],
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let bad = violations(&err);
    for f in ["zones[0]", "zones[1]", "part_nos[0]"] {
        assert!(bad.contains_key(f), "{f} missing from {bad:?}");
    }
    let err = client
        .open_stocktake(pb::OpenStocktakeRequest {
            idempotency_key: "st".into(),
            part_nos: vec!["NOPE-1".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(violations(&err)["part_nos[0]"].contains("not in the catalogue"));

    let err = client
        .return_to_supplier(pb::ReturnToSupplierRequest {
            idempotency_key: "sr".into(),
            supplier_id: "SUP-1".into(),
            lines: vec![pb::SupplierReturnLine {
                part_no: "PWR-55-01".into(),
                quantity: 0,
                zone: 42,
            }],
            reason: String::new(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let bad = violations(&err);
    for f in ["lines[0].quantity", "lines[0].zone", "reason"] {
        assert!(bad.contains_key(f), "{f} missing from {bad:?}");
    }

    assert_eq!(
        app.count("SELECT count(*)::bigint FROM stocktakes").await,
        0
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM supplier_returns")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM ledger").await,
        ledger_rows
    );
    app.stop().await;
}

#[tokio::test]
async fn part_request_and_branch_numbers_follow_the_platforms_rules_in_every_request() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;

    // The widest part-number rule: '_' and '.' are allowed, lower case is upper-cased.
    stock_part(&mut client, "mb_55.rev-2", false, 1).await;
    let got = client
        .get_part(pb::GetPartRequest {
            part_no: "MB_55.REV-2".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .part
        .unwrap();
    assert_eq!(got.part_no, "MB_55.REV-2");
    let err = client
        .get_part(pb::GetPartRequest {
            part_no: "X".repeat(41),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        violations(&err)["part_no"],
        aftersales_platform::ids::PartNo::RULE
    );

    let err = client
        .list_ledger(pb::ListLedgerRequest {
            request_no: "AS-2611-SH01-000000".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(violations(&err).contains_key("request_no"));
    let err = client
        .list_backorders(pb::ListBackordersRequest {
            branch: "1SH".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(violations(&err).contains_key("branch"));
    let err = client
        .receive_return(pb::ReceiveReturnRequest {
            idempotency_key: "r".into(),
            request_no: "AS-2611-SH01".into(),
            part_no: "MB_55.REV-2".into(),
            serial: "SN 1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let bad = violations(&err);
    for f in ["request_no", "serial"] {
        assert!(bad.contains_key(f), "{f} missing from {bad:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn an_inspection_of_many_bad_lines_names_fifty_and_counts_the_rest() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    let lines: Vec<pb::InspectionLine> = (0..200)
        .map(|i| pb::InspectionLine {
            part_no: format!("BAD PART {i}"),
            passed: 1,
            ..Default::default()
        })
        .collect();

    let err = client
        .record_inspection(pb::RecordInspectionRequest {
            idempotency_key: "insp".into(),
            receipt_id: String::new(),
            lines,
        })
        .await
        .unwrap_err();

    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let bad = aftersales_platform::grpc::violations(&err);
    assert_eq!(
        bad.len(),
        1 + 50 + 1,
        "receipt_id, 50 lines, and the rest in one"
    );
    assert_eq!(bad[0].field, "receipt_id");
    assert_eq!(bad[50].field, "lines[49].part_no");
    let last = bad.last().unwrap();
    assert_eq!(
        (last.field.as_str(), last.description.as_str()),
        ("lines", "and 150 more")
    );
    // The message names a few and counts them all; the details name the rest.
    assert!(
        err.message().starts_with("201 invalid fields"),
        "{}",
        err.message()
    );
    assert!(
        err.message().len() < 1_000,
        "the message stays small: {} bytes",
        err.message().len()
    );
    app.stop().await;
}
