//! `procurement seed`: the demo suppliers and quotes, idempotent, and the demo shortage ordered
//! without a person.

use aftersales_platform::proto::procurement::v1 as pb;
use aftersales_platform::testing::TEST_JWT_SECRET;

use crate::helpers::{request_no, spawn_app};

#[tokio::test]
async fn seeding_twice_registers_two_active_suppliers_quoting_each_demo_part_and_the_remote_shortage_gets_a_po()
 {
    let app = spawn_app().await;
    let url = app.svc.grpc_url();
    let first = procurement::demo::seed(&url, TEST_JWT_SECRET)
        .await
        .unwrap();
    let again = procurement::demo::seed(&url, TEST_JWT_SECRET)
        .await
        .unwrap();
    assert_eq!(first, again, "the same answer: nothing new");
    assert_eq!(app.count("SELECT count(*)::bigint FROM suppliers").await, 2);
    assert_eq!(app.count("SELECT count(*)::bigint FROM quotes").await, 6);
    for part in procurement::demo::DEMO_PARTS {
        let c = app
            .buyer()
            .compare_quotes(pb::CompareQuotesRequest {
                part_no: part.into(),
                quantity: 1,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(c.quotes.iter().filter(|q| q.eligible).count(), 2, "{part}");
        assert!(!c.chosen_quote_id.is_empty());
    }

    let no = request_no(1);
    app.shortage(&no, "RMT-01", 1).await;
    let po = app.wait_po_of(&no).await;
    assert_eq!(
        po.supplier_id, "SUP-HUAXIN",
        "the shorter lead time outweighs 2 fen"
    );
    assert_eq!(po.choice.unwrap().runner_up_supplier_id, "SUP-MINGDA");
    app.stop().await;
}
