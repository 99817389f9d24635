use aftersales_platform::auth::Role;
use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::testing;
use tonic::Code;

use crate::helpers::{part, receive_and_pass, spawn_app, violations};

#[tokio::test]
async fn upserting_the_same_part_twice_creates_it_once_and_changes_nothing() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    let first = client
        .upsert_part(pb::UpsertPartRequest {
            part: Some(part("pwr-55-01", false, 5)),
        })
        .await
        .unwrap()
        .into_inner();
    let second = client
        .upsert_part(pb::UpsertPartRequest {
            part: Some(part("PWR-55-01", false, 5)),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(first.created);
    assert!(!second.created);
    assert_eq!(first.part, second.part);
    let got = client
        .get_part(pb::GetPartRequest {
            part_no: "PWR-55-01".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .part
        .unwrap();
    assert_eq!(Some(got), first.part);
    app.stop().await;
}

#[tokio::test]
async fn a_bad_part_names_every_bad_field() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    let mut p = part("", false, 0);
    p.name = String::new();
    p.part_class = 0;
    p.unit_cost = Some(aftersales_platform::proto::common::v1::Money {
        currency: "yuan".into(),
        amount_minor: -1,
    });
    let err = client
        .upsert_part(pb::UpsertPartRequest { part: Some(p) })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let bad = violations(&err);
    for f in [
        "part.part_no",
        "part.name",
        "part.part_class",
        "part.unit_cost.currency",
        "part.unit_cost.amount_minor",
    ] {
        assert!(bad.contains_key(f), "{f} missing from {bad:?}");
    }
    assert_eq!(app.count("SELECT count(*)::bigint FROM parts").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_part_with_stock_cannot_become_valuable() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    client
        .upsert_part(pb::UpsertPartRequest {
            part: Some(part("PWR-55-01", false, 0)),
        })
        .await
        .unwrap();
    receive_and_pass(&mut client, "PWR-55-01", 3).await;
    let err = client
        .upsert_part(pb::UpsertPartRequest {
            part: Some(part("PWR-55-01", true, 0)),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    app.stop().await;
}

#[tokio::test]
async fn only_the_warehouse_moves_stock_and_unknown_parts_are_not_found() {
    let app = spawn_app().await;
    let mut agent = app
        .client_with(&testing::token("agent-1", "SH01", &[Role::BranchAgent]))
        .await;
    let err = agent
        .upsert_part(pb::UpsertPartRequest {
            part: Some(part("PWR-55-01", false, 0)),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = agent
        .get_stock(pb::GetStockRequest {
            part_no: "NOPE-1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    app.stop().await;
}
