use aftersales_platform::auth::Role;
use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::proto::claims::v1::decide_claim_request::Detail;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::warehouse::v1 as warehouse;
use claims_review::domain::Policy;
use prost::Message;

use crate::helpers::{in_warranty, next_event, spawn_app_with};

#[tokio::test]
async fn an_inspected_return_for_own_reasons_refunds_the_price_less_missing_accessories_and_the_capped_fee()
 {
    let mut policy = Policy::demo().unwrap();
    policy.auto_approve.enabled = false;
    let app = spawn_app_with(policy).await;
    let mut events = app.subscribe("claims.refund.authorized").await;
    let mut r = in_warranty("SH01");
    r.kind = common::RequestKind::Return as i32;
    r.parts.clear();
    let bought = (chrono::Utc::now() - chrono::Duration::days(3))
        .date_naive()
        .to_string();
    let product = r.product.as_mut().unwrap();
    product.invoice_date = bought.clone();
    product.purchase_date = bought;
    let c = app.submit(&r).await;
    assert_eq!(c.recommendation, pb::Recommendation::Approve as i32);
    assert_eq!(c.status, pb::ClaimStatus::Pending as i32);
    let mut reviewer = app.reviewer("rita").await;
    let mut agent = app.as_role("SH01", Role::BranchAgent).await;

    // The reviewer asks how the customer paid; the branch answers.
    let asked = reviewer
        .decide_claim(pb::DecideClaimRequest {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            request_no: r.request_no.clone(),
            expected_version: c.version,
            decision: pb::Decision::RequestInfo as i32,
            detail: Some(Detail::RequestInfo(pb::RequestInfo {
                missing: vec![pb::MissingInfo::Payment as i32],
            })),
            note: "the original payment, for the refund".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .claim
        .unwrap();
    let back = agent
        .provide_info(pb::ProvideInfoRequest {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            request_no: r.request_no.clone(),
            payment: Some(pb::Payment {
                method: pb::PaymentMethod::Card as i32,
                reference: "TXN-1".into(),
                amount: Some(common::Money {
                    currency: "CNY".into(),
                    amount_minor: 300_000,
                }),
                payer: String::new(),
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .claim
        .unwrap();
    assert!(back.version > asked.version);
    let approved = reviewer
        .decide_claim(pb::DecideClaimRequest {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            request_no: r.request_no.clone(),
            expected_version: back.version,
            decision: pb::Decision::Approve as i32,
            detail: Some(Detail::Approve(pb::Approve {
                own_reasons: true,
                ..Default::default()
            })),
            note: "customer no longer wants it".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .claim
        .unwrap();
    assert_eq!(approved.status, pb::ClaimStatus::Approved as i32);

    // The warehouse inspected the unit: the remote control is missing. Delivered twice.
    let inspected = warehouse::ReturnInspected {
        request_no: r.request_no.clone(),
        branch: "SH01".into(),
        return_id: "RET-1".into(),
        accessories: vec![warehouse::AccessoryCheck {
            part_no: "RMT-01".into(),
            name: "remote control".into(),
            expected: 1,
            present: 0,
        }],
        missing_accessories: vec!["RMT-01".into()],
        resaleable: true,
        ..Default::default()
    };
    app.publish(&r.request_no, "SH01", &inspected).await;
    app.publish(&r.request_no, "SH01", &inspected).await;

    let env = next_event(&mut events, "claims.refund.authorized", &r.request_no).await;
    let refund = pb::RefundAuthorized::decode(env.payload.as_slice()).unwrap();
    assert_eq!(refund.gross.unwrap().amount_minor, 300_000);
    assert_eq!(refund.service_fee.unwrap().amount_minor, 30_000);
    assert_eq!(
        refund.amount.as_ref().unwrap().amount_minor,
        300_000 - 8_000 - 30_000
    );
    assert_eq!(refund.deductions.len(), 2);
    assert_eq!(refund.payment.unwrap().reference, "TXN-1");
    assert_eq!(refund.return_id, "RET-1");

    aftersales_platform::testing::eventually(std::time::Duration::from_secs(20), || async {
        (app.count("SELECT count(*)::bigint FROM processed_events WHERE routing_key = 'warehouse.return.inspected'").await == 2)
            .then_some(())
    })
    .await
    .expect("both deliveries processed");
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'claims.refund.authorized'"
        )
        .await,
        1,
        "one refund however often the inspection arrives"
    );
    let got = reviewer
        .get_refund(pb::GetRefundRequest {
            request_no: r.request_no.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .refund
        .unwrap();
    assert_eq!(got.amount, refund.amount);
    assert!(got.own_reasons);
    app.stop().await;
}
