//! Rows written before claims were kept as JSON hold encoded protobuf, which the migration could
//! not convert: they are still read, and a claim's next write stores it in the new form.

use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::intake::v1 as intake;
use prost::Message;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::helpers::{TestApp, in_warranty, needs_review, prost_timestamp, spawn_app};

async fn exec(app: &TestApp, sql: &str, values: Vec<sea_orm::Value>) {
    app.db
        .conn
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn forms(app: &TestApp, request_no: &str) -> (i64, i64) {
    let q = |col: &str| {
        format!("SELECT count({col})::bigint FROM claims WHERE request_no = '{request_no}'")
    };
    (app.count(&q("detail")).await, app.count(&q("claim")).await)
}

#[tokio::test]
async fn a_claim_stored_as_protobuf_reads_the_same_and_is_rewritten_as_json_when_it_next_changes() {
    let app = spawn_app().await;
    let r = needs_review("SH01");
    let shown = app.submit(&r).await;
    assert_eq!(
        forms(&app, &r.request_no).await,
        (1, 0),
        "a new claim is JSON only"
    );

    // Arrange: the row as the previous release wrote it (the old binary sets only the bytes,
    // which also drops the JSON so that it cannot be read stale).
    exec(
        &app,
        "UPDATE claims SET claim = $1 WHERE request_no = $2",
        vec![shown.encode_to_vec().into(), r.request_no.as_str().into()],
    )
    .await;
    assert_eq!(
        forms(&app, &r.request_no).await,
        (0, 1),
        "only the bytes left"
    );

    // Act + Assert: read through the fallback, it is the same claim.
    let read = app.wait_claim(&r.request_no, |_| true).await;
    assert_eq!(read, shown);

    // Act: the next change rewrites the row in the new form.
    app.publish(
        &r.request_no,
        "SH01",
        &intake::RequestCancelled {
            request_no: r.request_no.clone(),
            branch: "SH01".into(),
            reason: "customer changed their mind".into(),
            ..Default::default()
        },
    )
    .await;
    let cancelled = app
        .wait_claim(&r.request_no, |c| {
            c.status == pb::ClaimStatus::Cancelled as i32
        })
        .await;
    assert_eq!(forms(&app, &r.request_no).await, (1, 0), "JSON only again");
    assert_eq!(cancelled.lines, shown.lines, "nothing lost on the way");
    assert_eq!(cancelled.customer, shown.customer);
    assert_eq!(cancelled.explanation, shown.explanation);
    assert_eq!(cancelled.version, shown.version + 1);
    app.stop().await;
}

#[tokio::test]
async fn a_cancellation_recorded_as_protobuf_still_stops_the_late_submission() {
    let app = spawn_app().await;
    let r = in_warranty("SH01");
    let now = chrono::Utc::now();
    // The placeholder the previous release left when a cancellation overtook the submission.
    let old = pb::Claim {
        request_no: r.request_no.clone(),
        branch: "SH01".into(),
        status: pb::ClaimStatus::Cancelled as i32,
        note: "request cancelled: duplicate".into(),
        opened_at: Some(prost_timestamp(now)),
        version: 1,
        ..Default::default()
    };
    exec(
        &app,
        "INSERT INTO claims (request_no, branch, status, version, opened_at, updated_at, claim)
         VALUES ($1, 'SH01', 'cancelled', 1, now(), now(), $2)",
        vec![r.request_no.as_str().into(), old.encode_to_vec().into()],
    )
    .await;

    app.publish(
        &r.request_no,
        "SH01",
        &intake::RequestSubmitted {
            request: Some(r.clone()),
        },
    )
    .await;
    app.svc
        .wait_count("SELECT count(*)::bigint FROM processed_events", 1)
        .await;

    let c = app.wait_claim(&r.request_no, |_| true).await;
    assert_eq!(c.status, pb::ClaimStatus::Cancelled as i32);
    assert_eq!(c.note, "request cancelled: duplicate");
    assert_eq!(c.kind, common::RequestKind::Unspecified as i32);
    assert_eq!(app.count("SELECT count(*)::bigint FROM outbox").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_refund_stored_as_protobuf_is_still_answered() {
    let app = spawn_app().await;
    let r = needs_review("SH01");
    app.submit(&r).await;
    let money = |minor| {
        Some(common::Money {
            currency: "CNY".into(),
            amount_minor: minor,
        })
    };
    let refund_id = uuid::Uuid::now_v7();
    let old = pb::Refund {
        refund_id: refund_id.to_string(),
        request_no: r.request_no.clone(),
        branch: "SH01".into(),
        gross: money(300_000),
        deductions: vec![pb::Deduction {
            reason: pb::DeductionReason::MissingAccessory as i32,
            description: "1 × RMT-01 missing".into(),
            amount: money(8_000),
            part_no: "RMT-01".into(),
        }],
        service_fee: money(0),
        amount: money(292_000),
        payment: Some(pb::Payment {
            method: pb::PaymentMethod::Card as i32,
            reference: "TXN-1".into(),
            amount: money(300_000),
            payer: String::new(),
        }),
        return_id: "RET-1".into(),
        policy_version: "demo-2026-11-22.1".into(),
        authorized_at: Some(prost_timestamp(
            chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
        )),
        authorized_by: String::new(),
        own_reasons: false,
    };
    exec(
        &app,
        "INSERT INTO refunds (request_no, refund_id, return_id, authorized_at, refund)
         VALUES ($1, $2, 'RET-1', now(), $3)",
        vec![
            r.request_no.as_str().into(),
            refund_id.into(),
            old.encode_to_vec().into(),
        ],
    )
    .await;

    let got = app
        .reviewer("rita")
        .await
        .get_refund(pb::GetRefundRequest {
            request_no: r.request_no.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .refund
        .unwrap();

    assert_eq!(got, old);
    app.stop().await;
}
