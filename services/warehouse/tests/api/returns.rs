use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::proto::warehouse::v1 as pb;
use prost::Message;
use tonic::Code;

use crate::helpers::{
    Client, assert_books_balance, spawn_app, stock, stock_part, violations, zone,
};

fn receive(key: &str, part_no: &str) -> pb::ReceiveReturnRequest {
    pb::ReceiveReturnRequest {
        idempotency_key: key.into(),
        request_no: "AS-2611-SH01-000700".into(),
        pickup_no: "PU-1".into(),
        part_no: part_no.into(),
        serial: "SN-1".into(),
        model: "X55".into(),
        movement_date: String::new(),
    }
}

#[tokio::test]
async fn a_returned_unit_is_inspected_into_stock_and_its_missing_accessories_are_announced() {
    let app = spawn_app().await;
    let mut inspected = app.subscribe("warehouse.return.inspected").await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "TV-X55", false, 0).await;

    let u = client
        .receive_return(receive("ret-1", "TV-X55"))
        .await
        .unwrap()
        .into_inner()
        .returned_unit
        .unwrap();
    let again = client
        .receive_return(receive("ret-1", "TV-X55"))
        .await
        .unwrap()
        .into_inner()
        .returned_unit
        .unwrap();
    assert_eq!(u.return_id, again.return_id, "received once");
    let s = stock(&mut client, "TV-X55").await;
    assert_eq!(zone(&s, pb::Zone::PendingInspection).on_hand, 1);

    let req = pb::InspectReturnRequest {
        idempotency_key: "insp-1".into(),
        return_id: u.return_id.clone(),
        accessories: vec![
            pb::AccessoryCheck {
                part_no: "RMT-01".into(),
                name: "remote control".into(),
                expected: 1,
                present: 0,
            },
            pb::AccessoryCheck {
                part_no: String::new(),
                name: "power cable".into(),
                expected: 1,
                present: 1,
            },
        ],
        resaleable: true,
        inspection_note: "box opened".into(),
    };
    let done = client
        .inspect_return(req.clone())
        .await
        .unwrap()
        .into_inner()
        .returned_unit
        .unwrap();
    client.inspect_return(req).await.unwrap();

    assert_eq!(done.zone, pb::Zone::Qualified as i32);
    let s = stock(&mut client, "TV-X55").await;
    assert_eq!(zone(&s, pb::Zone::PendingInspection).on_hand, 0);
    assert_eq!(zone(&s, pb::Zone::Qualified).on_hand, 1);
    let env = tokio::time::timeout(Duration::from_secs(30), inspected.recv())
        .await
        .expect("return.inspected published")
        .unwrap();
    let e = pb::ReturnInspected::decode(env.payload.as_slice()).unwrap();
    assert_eq!(e.missing_accessories, ["RMT-01"]);
    assert!(e.resaleable);
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'warehouse.return.inspected'"
        )
        .await,
        1
    );
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn a_unit_that_cannot_be_resold_goes_to_nonconforming_and_bad_checks_are_named() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "TV-X55", false, 0).await;
    let u = client
        .receive_return(receive("ret-2", "TV-X55"))
        .await
        .unwrap()
        .into_inner()
        .returned_unit
        .unwrap();
    let err = client
        .inspect_return(pb::InspectReturnRequest {
            return_id: u.return_id.clone(),
            accessories: vec![pb::AccessoryCheck {
                part_no: String::new(),
                name: String::new(),
                expected: 1,
                present: 2,
            }],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let bad = violations(&err);
    assert!(bad.contains_key("accessories[0].name"), "{bad:?}");
    assert!(bad.contains_key("accessories[0].present"), "{bad:?}");

    client
        .inspect_return(pb::InspectReturnRequest {
            return_id: u.return_id,
            resaleable: false,
            inspection_note: "cracked housing".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let s = stock(&mut client, "TV-X55").await;
    assert_eq!(zone(&s, pb::Zone::Nonconforming).on_hand, 1);
    assert_eq!(s.available, 0);
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

/// The return ids of one page of the returns intake's list, and the next page's token.
async fn returns_page(client: &mut Client, req: pb::ListReturnsRequest) -> (Vec<String>, String) {
    let r = client.list_returns(req).await.unwrap().into_inner();
    (
        r.returned_units.into_iter().map(|u| u.return_id).collect(),
        r.next_page_token,
    )
}

#[tokio::test]
async fn the_returns_intake_lists_the_units_waiting_for_inspection_oldest_first() {
    // Arrange: units received for request A, then B, then A again; A's first one inspected.
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "TV-X55", false, 0).await;
    let (request_a, request_b) = ("AS-2611-SH01-000701", "AS-2611-SH01-000702");
    let mut received = Vec::new();
    for (key, request_no, pickup_no) in [
        ("list-1", request_a, "PU-A1"),
        ("list-2", request_b, "PU-B1"),
        ("list-3", request_a, "PU-A2"),
    ] {
        let u = client
            .receive_return(pb::ReceiveReturnRequest {
                request_no: request_no.into(),
                pickup_no: pickup_no.into(),
                ..receive(key, "TV-X55")
            })
            .await
            .unwrap()
            .into_inner()
            .returned_unit
            .unwrap();
        received.push(u.return_id);
    }
    let [a1, b1, a2]: [String; 3] = received.try_into().unwrap();
    client
        .inspect_return(pb::InspectReturnRequest {
            return_id: a1.clone(),
            resaleable: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let list = |status: pb::ReturnStatus, request_no: &str| pb::ListReturnsRequest {
        status: status as i32,
        request_no: request_no.into(),
        ..Default::default()
    };

    // Act
    let waiting = client
        .list_returns(list(pb::ReturnStatus::Unspecified, ""))
        .await
        .unwrap()
        .into_inner();
    let (received_only, _) = returns_page(&mut client, list(pb::ReturnStatus::Received, "")).await;
    let (inspected, _) = returns_page(&mut client, list(pb::ReturnStatus::Inspected, "")).await;
    let (waiting_of_a, _) =
        returns_page(&mut client, list(pb::ReturnStatus::Unspecified, request_a)).await;
    let (inspected_of_a, _) =
        returns_page(&mut client, list(pb::ReturnStatus::Inspected, request_a)).await;
    let (inspected_of_b, _) =
        returns_page(&mut client, list(pb::ReturnStatus::Inspected, request_b)).await;
    let one_by_one = |token: String| pb::ListReturnsRequest {
        page_size: 1,
        page_token: token,
        ..Default::default()
    };
    let (first, token) = returns_page(&mut client, one_by_one(String::new())).await;
    let (second, token) = returns_page(&mut client, one_by_one(token)).await;
    let (rest, last) = returns_page(&mut client, one_by_one(token)).await;

    // Assert: by default the units RECEIVED, oldest first; each status and request exactly.
    let ids: Vec<&str> = waiting
        .returned_units
        .iter()
        .map(|u| u.return_id.as_str())
        .collect();
    assert_eq!(ids, [b1.as_str(), a2.as_str()]);
    assert!(
        waiting.next_page_token.is_empty(),
        "a short page is the last"
    );
    let oldest = &waiting.returned_units[0];
    assert_eq!(oldest.request_no, request_b);
    assert_eq!(oldest.status, pb::ReturnStatus::Received as i32);
    let at = |u: &pb::ReturnedUnit| u.received_at.map(|t| (t.seconds, t.nanos));
    assert!(at(oldest) <= at(&waiting.returned_units[1]));
    assert_eq!(received_only, [b1.as_str(), a2.as_str()]);
    assert_eq!(inspected, [a1.as_str()]);
    assert_eq!(waiting_of_a, [a2.as_str()]);
    assert_eq!(inspected_of_a, [a1.as_str()]);
    assert!(inspected_of_b.is_empty(), "{inspected_of_b:?}");
    // Keyset pages: one unit each, in the same order, then none.
    assert_eq!(first, [b1.as_str()]);
    assert_eq!(second, [a2.as_str()]);
    assert!(rest.is_empty() && last.is_empty(), "{rest:?} {last:?}");
    app.stop().await;
}

#[tokio::test]
async fn listing_returns_names_a_bad_request_number_or_page_size_and_refuses_whom_inspection_refuses()
 {
    let app = spawn_app().await;
    let mut client = app.clerk().await;

    // A request number the platform does not issue, and a page too large, each named.
    for (req, field) in [
        (
            pb::ListReturnsRequest {
                request_no: "AS-26-nope".into(),
                ..Default::default()
            },
            "request_no",
        ),
        (
            pb::ListReturnsRequest {
                page_size: 500,
                ..Default::default()
            },
            "page_size",
        ),
    ] {
        let err = client.list_returns(req).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{field}: {err:?}");
        let bad = violations(&err);
        assert!(bad.contains_key(field), "{field}: {bad:?}");
        assert_eq!(bad.len(), 1, "only {field} is named: {bad:?}");
    }
    assert!(
        client
            .list_returns(pb::ListReturnsRequest {
                page_size: 200,
                ..Default::default()
            })
            .await
            .is_ok()
    );

    // Who may not inspect returned units (no warehouse role; a branch's clerk) may not list them.
    for (branch, role) in [
        ("*", Role::Technician),
        ("*", Role::Procurement),
        ("SH01", Role::Warehouse),
    ] {
        let mut caller = app.as_role(branch, role).await;
        let inspect = caller
            .inspect_return(pb::InspectReturnRequest::default())
            .await
            .unwrap_err();
        let list = caller
            .list_returns(pb::ListReturnsRequest::default())
            .await
            .unwrap_err();
        assert_eq!(inspect.code(), Code::PermissionDenied, "{role} of {branch}");
        assert_eq!(list.code(), inspect.code(), "{role} of {branch}");
        assert_eq!(list.message(), inspect.message(), "{role} of {branch}");
    }
    app.stop().await;
}
