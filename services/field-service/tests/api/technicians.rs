//! Technicians: registered by id (idempotent), listed by skill, region and free capacity, and
//! seen only by their own branch.

use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::fieldservice::v1 as pb;
use tonic::Code;

use crate::helpers::{registration, spawn_app, window};

#[tokio::test]
async fn registering_a_technician_twice_changes_nothing_and_an_update_keeps_its_creation() {
    let app = spawn_app().await;
    let mut d = app.dispatcher();

    let first = d
        .register_technician(registration("t-sh01-001", "SH01", 4))
        .await
        .unwrap()
        .into_inner();
    let again = d
        .register_technician(registration("T-SH01-001", "SH01", 4))
        .await
        .unwrap()
        .into_inner();
    let mut changed = registration("T-SH01-001", "SH01", 2);
    changed
        .technician
        .as_mut()
        .unwrap()
        .skills
        .push("Air_Conditioner ".into());
    let updated = d.register_technician(changed).await.unwrap().into_inner();

    assert!(first.created && !again.created && !updated.created);
    let t = updated.technician.unwrap();
    assert_eq!(t.technician_id, "T-SH01-001", "ids are upper-cased");
    assert_eq!(t.daily_capacity, 2);
    assert_eq!(t.skills, vec!["air_conditioner", "television"]);
    assert_eq!(t.created_at, first.technician.unwrap().created_at);
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM technicians").await,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn a_technician_without_an_id_is_issued_one_of_the_branch() {
    let app = spawn_app().await;
    let t = app
        .dispatcher()
        .register_technician(registration("", "GZ03", 3))
        .await
        .unwrap()
        .into_inner()
        .technician
        .unwrap();
    assert_eq!(t.technician_id, "T-GZ03-001");
    app.stop().await;
}

#[tokio::test]
async fn the_list_filters_by_skill_region_and_free_capacity_on_a_day() {
    let app = spawn_app().await;
    let mut d = app.dispatcher();
    app.technician_of("T-SH01-001", 1).await;
    app.technician_of("T-SH01-002", 2).await;
    let mut phones = registration("T-SH01-003", "SH01", 4);
    {
        let t = phones.technician.as_mut().unwrap();
        t.skills = vec!["phone".into()];
        t.regions = vec![common::Region::Remote as i32];
    }
    d.register_technician(phones).await.unwrap();
    // T-SH01-001 is fully booked on Monday.
    let wo = app.open(1, "SN-T-1").await;
    d.schedule_appointment(pb::ScheduleAppointmentRequest {
        work_order_no: wo.work_order_no.clone(),
        window: Some(window(0, 9)),
        technician_id: "T-SH01-001".into(),
        ..Default::default()
    })
    .await
    .unwrap();

    let list = |skill: &str, region: common::Region, day: &str| pb::ListTechniciansRequest {
        branch: "SH01".into(),
        skill: skill.into(),
        region: region as i32,
        available_on_date: day.into(),
        ..Default::default()
    };
    let ids = |r: pb::ListTechniciansResponse| -> Vec<(String, u32)> {
        r.technicians
            .into_iter()
            .map(|l| (l.technician.unwrap().technician_id, l.booked))
            .collect()
    };
    let tv = ids(d
        .list_technicians(list("Television", common::Region::Unspecified, ""))
        .await
        .unwrap()
        .into_inner());
    let remote = ids(d
        .list_technicians(list("", common::Region::Remote, ""))
        .await
        .unwrap()
        .into_inner());
    let free_monday = ids(d
        .list_technicians(list("television", common::Region::Urban, "2026-12-07"))
        .await
        .unwrap()
        .into_inner());
    let saturday = ids(d
        .list_technicians(list("television", common::Region::Urban, "2026-12-12"))
        .await
        .unwrap()
        .into_inner());

    assert_eq!(tv, vec![("T-SH01-001".into(), 0), ("T-SH01-002".into(), 0)]);
    assert_eq!(remote, vec![("T-SH01-003".into(), 0)]);
    assert_eq!(
        free_monday,
        vec![("T-SH01-002".into(), 0)],
        "T-SH01-001 has no capacity left"
    );
    assert!(saturday.is_empty(), "nobody works on a Saturday");
    app.stop().await;
}

#[tokio::test]
async fn a_branch_sees_only_its_own_technicians_and_cannot_register_for_another() {
    let app = spawn_app().await;
    app.technician_of("T-SH01-001", 4).await;
    app.dispatcher()
        .register_technician(registration("T-BJ02-001", "BJ02", 4))
        .await
        .unwrap();
    let mut bj = app.branch_dispatcher("BJ02");

    let seen: Vec<String> = bj
        .list_technicians(pb::ListTechniciansRequest::default())
        .await
        .unwrap()
        .into_inner()
        .technicians
        .into_iter()
        .map(|l| l.technician.unwrap().technician_id)
        .collect();
    let other_branch = bj
        .register_technician(registration("T-SH01-009", "SH01", 4))
        .await
        .unwrap_err();
    let take_over = bj
        .register_technician(registration("T-SH01-001", "BJ02", 4))
        .await
        .unwrap_err();
    let technician_role = app
        .technician("T-SH01-001", "SH01")
        .register_technician(registration("T-SH01-002", "SH01", 4))
        .await
        .unwrap_err();

    assert_eq!(seen, vec!["T-BJ02-001".to_owned()]);
    assert_eq!(other_branch.code(), Code::NotFound);
    assert_eq!(take_over.code(), Code::AlreadyExists);
    assert_eq!(technician_role.code(), Code::PermissionDenied);
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM technicians").await,
        2
    );
    app.stop().await;
}
