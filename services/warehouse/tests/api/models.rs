//! Product models and their lifecycle: kept through the API at head office, and published on
//! the reservation events of a request for that model (feedback judges the fill rate by it).

use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::common::v1::EventEnvelope;
use aftersales_platform::proto::logistics::v1 as lg;
use aftersales_platform::proto::warehouse::v1 as pb;
use prost::Message;
use tokio::sync::mpsc;
use tonic::Code;

use crate::helpers::{Client, approval, receive_and_pass, spawn_app, stock_part, violations};

fn model(code: &str, lifecycle: pb::ModelLifecycle, since: &str) -> pb::UpsertProductModelRequest {
    pb::UpsertProductModelRequest {
        model: Some(pb::ProductModel {
            model: code.into(),
            name: format!("TV {}", code.trim().to_uppercase()),
            product_category: "television".into(),
            lifecycle: lifecycle as i32,
            discontinued_date: since.into(),
            ..Default::default()
        }),
    }
}

async fn upsert(c: &mut Client, req: pb::UpsertProductModelRequest) -> (pb::ProductModel, bool) {
    let r = c.upsert_product_model(req).await.unwrap().into_inner();
    (r.model.unwrap(), r.created)
}

/// The next envelope of `rx`, decoded.
async fn next<E: Message + Default>(rx: &mut mpsc::UnboundedReceiver<EventEnvelope>) -> E {
    let env = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("an event within 30 s")
        .expect("the subscription is open");
    E::decode(env.payload.as_slice()).unwrap()
}

#[tokio::test]
async fn a_product_model_is_created_once_updated_by_upsert_and_listed_by_lifecycle() {
    let app = spawn_app().await;
    let mut analyst = app.as_role("*", Role::Analyst).await;

    let (x55, created) = upsert(
        &mut analyst,
        model(" x55 ", pb::ModelLifecycle::InProduction, ""),
    )
    .await;
    assert!(created);
    assert_eq!(x55.model, "X55");
    let (again, created) = upsert(
        &mut analyst,
        model("X55", pb::ModelLifecycle::InProduction, ""),
    )
    .await;
    assert!(!created);
    assert_eq!(again, x55, "the same entry twice changes nothing");

    // X55 is discontinued later; X50 long ago.
    let (x55, created) = upsert(
        &mut analyst,
        model("X55", pb::ModelLifecycle::Discontinued, "2026-06-30"),
    )
    .await;
    assert!(!created);
    assert_eq!(x55.lifecycle, pb::ModelLifecycle::Discontinued as i32);
    assert_eq!(x55.discontinued_date, "2026-06-30");
    upsert(
        &mut analyst,
        model("X50", pb::ModelLifecycle::SemiDiscontinued, "2021-01-31"),
    )
    .await;
    upsert(
        &mut analyst,
        model("Z65", pb::ModelLifecycle::InProduction, ""),
    )
    .await;

    // Every role reads them, in model order, one page at a time.
    let mut agent = app.as_role("SH01", Role::BranchAgent).await;
    let list =
        |lifecycle: pb::ModelLifecycle, page_size, page_token: &str| pb::ListProductModelsRequest {
            lifecycle: lifecycle as i32,
            page_size,
            page_token: page_token.into(),
            ..Default::default()
        };
    let first = agent
        .list_product_models(list(pb::ModelLifecycle::Unspecified, 2, ""))
        .await
        .unwrap()
        .into_inner();
    let names: Vec<&str> = first.models.iter().map(|m| m.model.as_str()).collect();
    assert_eq!(names, ["X50", "X55"]);
    let rest = agent
        .list_product_models(list(
            pb::ModelLifecycle::Unspecified,
            2,
            &first.next_page_token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.models.len(), 1);
    assert_eq!(rest.models[0].model, "Z65");
    let discontinued = agent
        .list_product_models(list(pb::ModelLifecycle::Discontinued, 0, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(discontinued.models, [x55]);
    app.stop().await;
}

#[tokio::test]
async fn a_model_out_of_production_says_since_when_and_one_in_production_does_not() {
    let app = spawn_app().await;
    let mut clerk = app.clerk().await;
    let cases = [
        (
            model("X50", pb::ModelLifecycle::Discontinued, ""),
            "model.discontinued_date",
        ),
        (
            model("X50", pb::ModelLifecycle::InProduction, "2025-03-31"),
            "model.discontinued_date",
        ),
        (
            model("X50", pb::ModelLifecycle::Discontinued, "31.03.2025"),
            "model.discontinued_date",
        ),
        (
            model("X50", pb::ModelLifecycle::Unspecified, ""),
            "model.lifecycle",
        ),
        (
            model("  ", pb::ModelLifecycle::InProduction, ""),
            "model.model",
        ),
    ];
    for (req, field) in cases {
        let err = clerk.upsert_product_model(req).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(violations(&err).contains_key(field), "{field}: {err:?}");
    }
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM product_models")
            .await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn the_reservation_events_carry_the_claims_model_and_its_lifecycle_as_the_catalogue_says() {
    // Arrange: X50 discontinued; a part in stock and one short.
    let app = spawn_app().await;
    let mut confirmations = app.subscribe("warehouse.reservation.confirmed").await;
    let mut shortages = app.subscribe("warehouse.stock.shortage").await;
    let mut clerk = app.clerk().await;
    upsert(
        &mut clerk,
        model("X50", pb::ModelLifecycle::Discontinued, "2025-03-31"),
    )
    .await;
    stock_part(&mut clerk, "PWR-55-01", false, 5).await;
    stock_part(&mut clerk, "RMT-01", false, 0).await;
    let for_model = |no: &str, model: &str, parts: &[(&str, u32)]| {
        let mut a = approval(no, common::Urgency::Normal, parts);
        a.product = Some(common::Product {
            model: model.into(),
            ..Default::default()
        });
        a
    };

    // Act: a request for X50 (as the branch typed it) reserved at once; one for a model the
    // catalogue does not know, back-ordered; one naming no model.
    let (a, b, c) = (
        "AS-2611-SH01-000001",
        "AS-2611-SH01-000002",
        "AS-2611-SH01-000003",
    );
    app.publish("claims", a, &for_model(a, " x50", &[("PWR-55-01", 1)]))
        .await;
    let confirmed: pb::ReservationConfirmed = next(&mut confirmations).await;
    app.publish("claims", b, &for_model(b, "Q9", &[("RMT-01", 1)]))
        .await;
    let short: pb::StockShortage = next(&mut shortages).await;
    app.publish("claims", c, &for_model(c, "", &[("RMT-01", 1)]))
        .await;
    let unnamed: pb::StockShortage = next(&mut shortages).await;

    // Assert
    assert_eq!(confirmed.request_no, a);
    assert_eq!(
        (
            confirmed.product_model.as_str(),
            confirmed.model_lifecycle,
            confirmed.model_discontinued_date.as_str()
        ),
        ("X50", pb::ModelLifecycle::Discontinued as i32, "2025-03-31")
    );
    assert_eq!(short.request_no, b);
    assert_eq!(
        (
            short.product_model.as_str(),
            short.model_lifecycle,
            short.model_discontinued_date.as_str()
        ),
        ("Q9", pb::ModelLifecycle::Unspecified as i32, ""),
        "a model the catalogue does not know has no lifecycle"
    );
    assert_eq!(unnamed.request_no, c);
    assert_eq!(
        (unnamed.product_model.as_str(), unnamed.model_lifecycle),
        ("", 0)
    );

    // A's shipment is lost: its replacement is for the same model.
    let loss = lg::ShipmentException {
        request_no: a.into(),
        branch: "SH01".into(),
        shipment_no: "SHP-1".into(),
        exception_id: "EX-1".into(),
        kind: lg::ExceptionKind::Loss as i32,
        affected_lines: vec![common::PartLine {
            part_no: "PWR-55-01".into(),
            quantity: 1,
        }],
        replacement_needed: true,
        ..Default::default()
    };
    app.publish("logistics", a, &loss).await;
    let replacement: pb::ReservationConfirmed = next(&mut confirmations).await;
    assert_eq!(replacement.pick_list_id, format!("PL-{a}-R1"));
    assert_eq!(
        (
            replacement.product_model.as_str(),
            replacement.model_lifecycle
        ),
        ("X50", pb::ModelLifecycle::Discontinued as i32)
    );

    // The catalogue learns Q9; the back-order served later says what it says then.
    upsert(
        &mut clerk,
        model("Q9", pb::ModelLifecycle::InProduction, ""),
    )
    .await;
    receive_and_pass(&mut clerk, "RMT-01", 1).await;
    let served: pb::ReservationConfirmed = next(&mut confirmations).await;
    assert_eq!(served.request_no, b, "the older back-order is served first");
    assert_eq!(served.backorder_id, format!("BO-{b}"));
    assert_eq!(
        (
            served.product_model.as_str(),
            served.model_lifecycle,
            served.model_discontinued_date.as_str()
        ),
        ("Q9", pb::ModelLifecycle::InProduction as i32, "")
    );
    app.stop().await;
}

#[tokio::test]
async fn only_head_office_keeps_the_product_models() {
    let app = spawn_app().await;
    for (branch, role) in [
        ("SH01", Role::Warehouse),
        ("SH01", Role::Analyst),
        ("*", Role::Procurement),
        ("*", Role::BranchAgent),
    ] {
        let mut c = app.as_role(branch, role).await;
        let err = c
            .upsert_product_model(model("X55", pb::ModelLifecycle::InProduction, ""))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{role} of {branch}");
    }
    let mut admin = app.as_role("*", Role::Admin).await;
    assert!(
        admin
            .upsert_product_model(model("X55", pb::ModelLifecycle::InProduction, ""))
            .await
            .is_ok()
    );
    app.stop().await;
}
