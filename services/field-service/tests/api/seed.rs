//! `field-service seed`: the demo technicians of SH01, BJ02 and GZ03 through the running
//! service's own API; seeding twice changes nothing.

use aftersales_platform::proto::fieldservice::v1 as pb;
use aftersales_platform::testing::TEST_JWT_SECRET;

use crate::helpers::spawn_app;

#[tokio::test]
async fn seeding_twice_registers_the_demo_technicians_of_every_branch_once() {
    let app = spawn_app().await;

    let first = field_service::demo::seed(&app.svc.grpc_url(), TEST_JWT_SECRET)
        .await
        .unwrap();
    let second = field_service::demo::seed(&app.svc.grpc_url(), TEST_JWT_SECRET)
        .await
        .unwrap();

    assert!(first.iter().all(|l| l.ends_with("registered")), "{first:?}");
    assert!(
        second.iter().all(|l| l.ends_with("unchanged")),
        "{second:?}"
    );
    for branch in ["SH01", "BJ02", "GZ03"] {
        let listed = app
            .dispatcher()
            .list_technicians(pb::ListTechniciansRequest {
                branch: branch.into(),
                skill: "television".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .technicians;
        assert!(listed.len() >= 2, "{branch}: {listed:?}");
        assert!(listed.iter().all(|t| t.technician.as_ref().unwrap().active));
    }
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM technicians").await,
        field_service::demo::TECHNICIANS.len() as i64
    );
    app.stop().await;
}
