use aftersales_platform::proto::warehouse::v1 as pb;
use sea_orm::TransactionTrait;
use warehouse::domain::{PickListId, RequestNo, Urgency};
use warehouse::service::IssueParts;

use crate::helpers::{lines, reserve_command, spawn_app, stock_part};

#[tokio::test]
async fn abc_classes_follow_the_twelve_month_usage_value_and_are_stored() {
    let app = spawn_app().await;
    let mut client = app.clerk().await;
    let w = app.warehouse();
    // All four parts cost 10.00; issued 7, 2, 1 and 0 units.
    for (i, (part, used)) in [("ABC-A", 7u32), ("ABC-B", 2), ("ABC-C", 1), ("ABC-D", 0)]
        .into_iter()
        .enumerate()
    {
        stock_part(&mut client, part, false, 10).await;
        if used == 0 {
            continue;
        }
        let request_no = format!("AS-2611-SH01-00030{i}");
        let txn = w.db.begin().await.unwrap();
        let cmd = reserve_command(&request_no, Urgency::Normal, &[(part, used)]);
        w.reserve(&txn, &cmd).await.unwrap();
        txn.commit().await.unwrap();
        w.issue(
            "clerk-1",
            IssueParts {
                pick_list: PickListId::first(RequestNo::parse(&request_no).unwrap()),
                branch_scope: None,
                lines: lines(&[(part, used)]),
                shipment_no: String::new(),
                movement_date: None,
            },
        )
        .await
        .unwrap();
    }

    let r = client
        .classify_abc(pb::ClassifyAbcRequest::default())
        .await
        .unwrap()
        .into_inner();

    let got: Vec<(String, u32, u32, i32)> = r
        .entries
        .iter()
        .map(|e| (e.part_no.clone(), e.usage_quantity, e.share_bp, e.abc_class))
        .collect();
    assert_eq!(
        got,
        [
            ("ABC-A".to_owned(), 7, 7_000, pb::AbcClass::A as i32),
            ("ABC-B".to_owned(), 2, 2_000, pb::AbcClass::A as i32),
            ("ABC-C".to_owned(), 1, 1_000, pb::AbcClass::B as i32),
            ("ABC-D".to_owned(), 0, 0, pb::AbcClass::C as i32),
        ]
    );
    assert_eq!(r.total_usage_value.unwrap().amount_minor, 10 * 1_000);
    let stored = client
        .get_part(pb::GetPartRequest {
            part_no: "ABC-C".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .part
        .unwrap();
    assert_eq!(stored.abc_class, pb::AbcClass::B as i32);
    app.stop().await;
}
