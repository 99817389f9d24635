//! Paid work: a quotation from the fee table before work starts, the customer's approval as the
//! repair authorization, changes during the repair answered by the customer, and the charge on
//! completion: what was authorized, nothing else.

use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::fieldservice::v1 as pb;
use aftersales_platform::proto::fieldservice::v1::WorkOrderStatus as S;
use tonic::Code;

use crate::helpers::{fields, manual, passed, spawn_app, window};

fn line(code: &str, quantity: u32) -> pb::ItemLine {
    pb::ItemLine {
        code: code.into(),
        quantity,
    }
}

#[tokio::test]
async fn paid_work_starts_on_the_approved_quotation_and_is_charged_what_was_authorized() {
    let app = spawn_app().await;
    app.technician_of("T-SH01-001", 4).await;
    let mut req = manual(1, "SN-P-1");
    req.service_category = pb::ServiceCategory::Paid as i32;
    let wo = app
        .dispatcher()
        .create_work_order(req)
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();
    let no = wo.work_order_no.clone();
    let mut d = app.dispatcher();
    d.schedule_appointment(pb::ScheduleAppointmentRequest {
        work_order_no: no.clone(),
        window: Some(window(0, 9)),
        technician_id: "T-SH01-001".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut t = app.technician("T-SH01-001", "SH01");
    t.dispatch(pb::DispatchRequest {
        work_order_no: no.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    app.move_to(&mut t, &no, S::OnSite, "").await;

    // No repair before the customer said yes.
    let version = app.get(&no).await.version;
    let too_early = t
        .update_status(pb::UpdateStatusRequest {
            work_order_no: no.clone(),
            expected_version: version,
            status: S::InRepair as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    let unknown_item = t
        .submit_quotation(pb::SubmitQuotationRequest {
            work_order_no: no.clone(),
            items: vec![line("visit", 1), line("gold_plating", 1)],
            ..Default::default()
        })
        .await
        .unwrap_err();
    let quoted = t
        .submit_quotation(pb::SubmitQuotationRequest {
            work_order_no: no.clone(),
            items: vec![line("visit", 1), line("labour_hour", 2)],
            note: "board fault".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();
    let approved = t
        .approve_quotation(pb::ApproveQuotationRequest {
            work_order_no: no.clone(),
            approved: true,
            customer_name: "Li Wei".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();
    app.move_to(&mut t, &no, S::InRepair, "").await;

    // During the repair the power board turns out to be needed, and one labour hour less.
    let proposed = t
        .propose_change(pb::ProposeChangeRequest {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            work_order_no: no.clone(),
            added: vec![line("PWR-55-01", 1)],
            removed: vec![line("labour_hour", 1)],
            reason: "power board burnt".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    t.record_final_inspection(pb::RecordFinalInspectionRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        work_order_no: no.clone(),
        inspection: Some(passed()),
    })
    .await
    .unwrap();
    let version = app.get(&no).await.version;
    let complete = |charge: Option<i64>, version: u64| pb::CompleteWorkOrderRequest {
        work_order_no: no.clone(),
        expected_version: version,
        labour_minutes: 60,
        charge: charge.map(|m| common::Money {
            currency: "CNY".into(),
            amount_minor: m,
        }),
        ..Default::default()
    };
    let pending_change = t
        .complete_work_order(complete(None, version))
        .await
        .unwrap_err();
    t.decide_change(pb::DecideChangeRequest {
        work_order_no: no.clone(),
        change_id: proposed.change_id.clone(),
        approved: true,
        customer_name: "Li Wei".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let version = app.get(&no).await.version;
    let wrong_charge = t
        .complete_work_order(complete(Some(100), version))
        .await
        .unwrap_err();
    let done = t
        .complete_work_order(complete(Some(5000 + 8000 + 45000), version))
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();

    assert_eq!(too_early.code(), Code::FailedPrecondition);
    assert_eq!(fields(&unknown_item), ["items[1].code"]);
    let q = quoted.quotation.unwrap();
    assert_eq!(q.total.unwrap().amount_minor, 5000 + 2 * 8000);
    assert_eq!(q.status, pb::QuotationStatus::Proposed as i32);
    assert_eq!(approved.authorized_amount.unwrap().amount_minor, 21000);
    assert_eq!(proposed.change_id, "CHG-1");
    assert_eq!(pending_change.code(), Code::FailedPrecondition);
    assert_eq!(fields(&wrong_charge), ["charge.amount_minor"]);
    assert_eq!(done.status, S::Done as i32);
    assert_eq!(done.charge.unwrap().amount_minor, 58000);
    assert_eq!(done.changes[0].status, pb::ChangeStatus::Approved as i32);
    assert_eq!(
        done.changes[0].delta.as_ref().unwrap().amount_minor,
        45000 - 8000
    );
    app.stop().await;
}

#[tokio::test]
async fn warranty_work_has_no_quotation_and_charges_nothing() {
    let app = spawn_app().await;
    app.technician_of("T-SH01-001", 4).await;
    let wo = app.open(1, "SN-P-2").await;
    app.repair_on_site(&wo.work_order_no, "T-SH01-001", 0, 9)
        .await;
    let mut t = app.technician("T-SH01-001", "SH01");

    let quote = t
        .submit_quotation(pb::SubmitQuotationRequest {
            work_order_no: wo.work_order_no.clone(),
            items: vec![line("visit", 1)],
            ..Default::default()
        })
        .await
        .unwrap_err();
    t.record_final_inspection(pb::RecordFinalInspectionRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        work_order_no: wo.work_order_no.clone(),
        inspection: Some(passed()),
    })
    .await
    .unwrap();
    let version = app.get(&wo.work_order_no).await.version;
    let charged = t
        .complete_work_order(pb::CompleteWorkOrderRequest {
            work_order_no: wo.work_order_no.clone(),
            expected_version: version,
            labour_minutes: 30,
            charge: Some(common::Money {
                currency: "CNY".into(),
                amount_minor: 5000,
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();

    assert_eq!(quote.code(), Code::FailedPrecondition);
    assert_eq!(fields(&charged), ["charge.amount_minor"]);
    assert_eq!(app.get(&wo.work_order_no).await.status, S::InRepair as i32);
    app.stop().await;
}
