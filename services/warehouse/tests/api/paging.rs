//! Lists page with the platform's one opaque keyset token: a page continues after the last row
//! of the previous one, whatever changed in between.

use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::fieldservice::v1 as fieldservice;
use aftersales_platform::proto::warehouse::v1 as pb;
use tonic::Code;

use crate::helpers::{Client, approval, receive_and_pass, spawn_app, stock_part, violations};

async fn backorder_page(client: &mut Client, token: &str) -> (Vec<String>, String) {
    let r = client
        .list_backorders(pb::ListBackordersRequest {
            part_no: "RMT-01".into(),
            page_size: 1,
            page_token: token.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    (
        r.backorders.into_iter().map(|b| b.request_no).collect(),
        r.next_page_token,
    )
}

#[tokio::test]
async fn paging_through_back_orders_skips_none_when_one_is_served_between_pages() {
    // Arrange: three back-orders of equal urgency, in arrival order.
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    stock_part(&mut client, "RMT-01", false, 0).await;
    let nos = [
        "AS-2611-SH01-000071",
        "AS-2611-SH01-000072",
        "AS-2611-SH01-000073",
    ];
    for no in nos {
        app.publish(
            "claims",
            no,
            &approval(no, common::Urgency::Normal, &[("RMT-01", 1)]),
        )
        .await;
        app.wait_count(
            &format!("SELECT count(*)::bigint FROM reservations WHERE request_no = '{no}'"),
            1,
        )
        .await;
    }

    // Act: read the first page, then serve that back-order, then read on.
    let (first, token) = backorder_page(&mut client, "").await;
    receive_and_pass(&mut client, "RMT-01", 1).await;
    let (second, token) = backorder_page(&mut client, &token).await;
    let (third, token) = backorder_page(&mut client, &token).await;
    let (rest, _) = backorder_page(&mut client, &token).await;

    // Assert: an offset would have skipped the second back-order; the keyset does not.
    assert_eq!(first, [nos[0]]);
    assert_eq!(second, [nos[1]]);
    assert_eq!(third, [nos[2]]);
    assert!(rest.is_empty(), "{rest:?}");
    app.stop().await;
}

#[tokio::test]
async fn the_catalogue_pages_in_part_number_order_and_refuses_another_lists_token() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    for p in ["P-3", "P-1", "P-2"] {
        stock_part(&mut client, p, false, 1).await;
    }
    let page = |token: String| pb::ListPartsRequest {
        page_size: 2,
        page_token: token,
        ..Default::default()
    };
    let first = client
        .list_parts(page(String::new()))
        .await
        .unwrap()
        .into_inner();
    let second = client
        .list_parts(page(first.next_page_token.clone()))
        .await
        .unwrap()
        .into_inner();
    let names = |r: &pb::ListPartsResponse| -> Vec<String> {
        r.parts.iter().map(|p| p.part_no.clone()).collect()
    };
    assert_eq!(names(&first), ["P-1", "P-2"]);
    assert_eq!(names(&second), ["P-3"]);
    assert!(
        second.next_page_token.is_empty(),
        "a short page is the last"
    );

    // A ledger token (an entry id) is not a token of the catalogue (a part number).
    let ledger = client
        .list_ledger(pb::ListLedgerRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!ledger.next_page_token.is_empty());
    let err = client
        .list_parts(page(ledger.next_page_token))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(violations(&err).contains_key("page_token"));
    // Nor is a part number itself, as the old scheme had it.
    let err = client.list_parts(page("P-1".into())).await.unwrap_err();
    assert!(violations(&err).contains_key("page_token"));
    app.stop().await;
}

#[tokio::test]
async fn overdue_old_parts_page_most_overdue_first_without_repeating_one() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    let today = chrono::Utc::now().date_naive();
    let old = |part_no: &str, days: i64| fieldservice::OldPart {
        part_no: part_no.into(),
        quantity: 1,
        must_return: true,
        return_by_date: (today - chrono::Duration::days(days)).to_string(),
        ..Default::default()
    };
    let completed = fieldservice::WorkOrderCompleted {
        request_no: "AS-2611-SH01-000090".into(),
        branch: "SH01".into(),
        work_order_no: "WO-9".into(),
        technician_id: "tech-9".into(),
        old_parts: vec![old("PNL-55-01", 2), old("PWR-55-01", 5), old("RMT-01", 2)],
        ..Default::default()
    };
    app.publish("fieldservice", "AS-2611-SH01-000090", &completed)
        .await;
    app.wait_count("SELECT count(*)::bigint FROM expected_old_parts", 3)
        .await;

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let r = client
            .list_overdue_old_parts(pb::ListOverdueOldPartsRequest {
                page_size: 2,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        seen.extend(
            r.old_parts
                .iter()
                .map(|o| (o.part_no.clone(), o.days_overdue)),
        );
        token = r.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(
        seen,
        [
            ("PWR-55-01".to_owned(), 5),
            ("PNL-55-01".to_owned(), 2),
            ("RMT-01".to_owned(), 2)
        ]
    );
    app.stop().await;
}
