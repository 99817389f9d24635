//! The repair status board: only allowed moves (FAILED_PRECONDITION otherwise), a stale version
//! ABORTED, who/when/why kept, a technician sees and moves only their own work orders, another
//! branch's is NOT_FOUND, and the board's columns with the time left to each arrival deadline.

use aftersales_platform::proto::fieldservice::v1 as pb;
use aftersales_platform::proto::fieldservice::v1::WorkOrderStatus as S;
use tonic::Code;

use crate::helpers::{spawn_app, window};

#[tokio::test]
async fn illegal_moves_are_refused_with_failed_precondition_and_change_nothing() {
    let app = spawn_app().await;
    app.technician_of("T-SH01-001", 4).await;
    let wo = app.open(1, "SN-B-1").await;
    let mut d = app.dispatcher();
    let try_move = |status: S, version: u64| pb::UpdateStatusRequest {
        work_order_no: wo.work_order_no.clone(),
        expected_version: version,
        status: status as i32,
        note: "because".into(),
        ..Default::default()
    };

    let skip_to_repair = d.update_status(try_move(S::InRepair, 1)).await.unwrap_err();
    let done_by_hand = d.update_status(try_move(S::Done, 1)).await.unwrap_err();
    let en_route_by_hand = d.update_status(try_move(S::EnRoute, 1)).await.unwrap_err();
    let dispatch_unbooked = d
        .dispatch(pb::DispatchRequest {
            work_order_no: wo.work_order_no.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let complete_new = d
        .complete_work_order(pb::CompleteWorkOrderRequest {
            work_order_no: wo.work_order_no.clone(),
            expected_version: 1,
            labour_minutes: 10,
            ..Default::default()
        })
        .await
        .unwrap_err();

    for e in [
        &skip_to_repair,
        &done_by_hand,
        &en_route_by_hand,
        &dispatch_unbooked,
        &complete_new,
    ] {
        assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    }
    assert!(
        done_by_hand.message().contains("CompleteWorkOrder"),
        "{}",
        done_by_hand.message()
    );
    let after = app.get(&wo.work_order_no).await;
    assert_eq!((after.status, after.version), (S::New as i32, 1));
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM outbox WHERE routing_key = 'fieldservice.workorder.status_changed'").await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn a_stale_version_is_aborted_and_the_winner_is_kept_with_who_when_and_why() {
    let app = spawn_app().await;
    app.technician_of("T-SH01-001", 4).await;
    let wo = app.open(1, "SN-B-2").await;
    let on_site = {
        app.repair_on_site(&wo.work_order_no, "T-SH01-001", 0, 9)
            .await;
        app.get(&wo.work_order_no).await
    };
    let version = on_site.version;
    let mut tech = app.technician("T-SH01-001", "SH01");
    let mut d = app.dispatcher();

    // Two people move the same card from the same version: the first wins.
    let first = tech
        .update_status(pb::UpdateStatusRequest {
            work_order_no: wo.work_order_no.clone(),
            expected_version: version,
            status: S::Machining as i32,
            note: "bracket to be made".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();
    let second = d
        .update_status(pb::UpdateStatusRequest {
            work_order_no: wo.work_order_no.clone(),
            expected_version: version,
            status: S::Stopped as i32,
            note: "customer absent".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();

    assert_eq!(second.code(), Code::Aborted, "{second:?}");
    let now = app.get(&wo.work_order_no).await;
    assert_eq!(now.status, S::Machining as i32);
    assert_eq!(now.version, version + 1);
    assert_eq!(first.version, now.version);
    let last = now.history.last().unwrap();
    assert_eq!(
        (last.from, last.to, last.by.as_str(), last.note.as_str()),
        (
            S::InRepair as i32,
            S::Machining as i32,
            "T-SH01-001",
            "bracket to be made"
        )
    );
    let statuses: Vec<i32> = now.history.iter().map(|h| h.to).collect();
    assert_eq!(
        statuses,
        [
            S::New,
            S::Scheduled,
            S::EnRoute,
            S::OnSite,
            S::InRepair,
            S::Machining
        ]
        .map(|s| s as i32)
    );
    app.stop().await;
}

#[tokio::test]
async fn a_technician_sees_only_their_own_work_orders_and_another_branch_sees_none() {
    let app = spawn_app().await;
    app.technician_of("T-SH01-001", 4).await;
    app.technician_of("T-SH01-002", 4).await;
    let mine = app.open(1, "SN-B-3").await;
    let theirs = app.open(2, "SN-B-4").await;
    let mut d = app.dispatcher();
    for (wo, tech) in [(&mine, "T-SH01-001"), (&theirs, "T-SH01-002")] {
        d.schedule_appointment(pb::ScheduleAppointmentRequest {
            work_order_no: wo.work_order_no.clone(),
            window: Some(window(0, 11)),
            technician_id: tech.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    let mut t1 = app.technician("T-SH01-001", "SH01");
    let mut bj = app.branch_dispatcher("BJ02");

    let listed: Vec<String> = t1
        .list_work_orders(pb::ListWorkOrdersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .work_orders
        .into_iter()
        .map(|w| w.work_order_no)
        .collect();
    let other = t1
        .get_work_order(pb::GetWorkOrderRequest {
            work_order_no: theirs.work_order_no.clone(),
        })
        .await
        .unwrap_err();
    let dispatch_other = t1
        .dispatch(pb::DispatchRequest {
            work_order_no: theirs.work_order_no.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let from_beijing = bj
        .get_work_order(pb::GetWorkOrderRequest {
            work_order_no: mine.work_order_no.clone(),
        })
        .await
        .unwrap_err();
    let beijing_board = bj
        .get_board(pb::GetBoardRequest::default())
        .await
        .unwrap()
        .into_inner();

    assert_eq!(listed, vec![mine.work_order_no.clone()]);
    assert_eq!(other.code(), Code::NotFound);
    assert_eq!(dispatch_other.code(), Code::NotFound);
    assert_eq!(from_beijing.code(), Code::NotFound);
    assert!(beijing_board.columns.iter().all(|c| c.cards.is_empty()));
    assert_eq!(
        app.get(&theirs.work_order_no).await.status,
        S::Scheduled as i32
    );
    app.stop().await;
}

#[tokio::test]
async fn the_board_has_a_column_per_status_with_cards_and_their_time_left() {
    let app = spawn_app().await;
    app.technician_of("T-SH01-001", 4).await;
    let waiting = app.open(1, "SN-B-5").await;
    let booked = app.open(2, "SN-B-6").await;
    app.dispatcher()
        .schedule_appointment(pb::ScheduleAppointmentRequest {
            work_order_no: booked.work_order_no.clone(),
            window: Some(window(0, 13)),
            technician_id: "T-SH01-001".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    let board = app
        .technician("T-SH01-001", "SH01")
        .get_board(pb::GetBoardRequest::default())
        .await
        .unwrap()
        .into_inner();
    let full = app
        .dispatcher()
        .get_board(pb::GetBoardRequest::default())
        .await
        .unwrap()
        .into_inner();

    let order: Vec<i32> = full.columns.iter().map(|c| c.status).collect();
    assert_eq!(
        order,
        [
            S::New,
            S::Scheduled,
            S::EnRoute,
            S::OnSite,
            S::InRepair,
            S::WaitingParts,
            S::Machining,
            S::AwaitingReply,
            S::Stopped,
            S::Done
        ]
        .map(|s| s as i32)
    );
    let column = |b: &pb::GetBoardResponse, s: S| {
        b.columns
            .iter()
            .find(|c| c.status == s as i32)
            .unwrap()
            .cards
            .clone()
    };
    let new = column(&full, S::New);
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].work_order_no, waiting.work_order_no);
    // Called Monday 08:00 (before work starts), urban: 6 working hours, all still ahead.
    assert_eq!(new[0].arrival_seconds_left, 6 * 3600);
    let scheduled = column(&full, S::Scheduled);
    assert_eq!(scheduled[0].technician_id, "T-SH01-001");
    assert_eq!(scheduled[0].technician_name, "Tech T-SH01-001");
    assert_eq!(
        scheduled[0].site_address,
        "88 Century Avenue, Pudong, Shanghai"
    );
    assert_eq!(
        column(&board, S::New).len() + column(&board, S::Scheduled).len(),
        1,
        "the technician's board holds only their own card"
    );
    app.stop().await;
}
