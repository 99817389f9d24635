//! The arrival deadline as an SLA clock, through the real API: a job waiting for its parts runs
//! from the delivery's own time however late the delivery is handled, and a holiday added to the
//! calendar re-derives the open deadline at start-up (and `field-service sla recompute` finds
//! nothing more to do), withdrawing a late arrival that no longer holds, once.

use aftersales_platform::proto::fieldservice::v1::WorkOrderStatus as S;
use sea_orm::ConnectionTrait;

use crate::helpers::{TestApp, approval, builder, delivery, local, request_no, time, ts};

const MOVED: &str = "SELECT count(*)::bigint FROM outbox \
    WHERE routing_key = 'fieldservice.workorder.deadline_changed'";
const WITHDRAWN: &str = "SELECT count(*)::bigint FROM outbox \
    WHERE routing_key = 'fieldservice.workorder.sla_breach_withdrawn'";
const BREACHES: &str = "SELECT count(*)::bigint FROM outbox \
    WHERE routing_key = 'fieldservice.workorder.sla_breached'";

#[tokio::test]
async fn a_job_waiting_for_parts_runs_from_the_delivery_however_late_it_is_handled_and_a_holiday_moves_it_and_withdraws_its_void_breach_once()
 {
    // Arrange: approved on Monday 7 December 09:00 (urban: 6 working hours) with a power board
    // on its way: the job waits, with no deadline yet.
    let mut first = TestApp {
        svc: builder().start().await,
    };
    let clock = first.clock().clone();
    let no = request_no(41);
    first
        .publish(
            "claims-review",
            &no,
            &approval(&no, &[("PWR-55-01", 1)], local(0, 9)),
        )
        .await;
    let wo = first
        .wait_work_order(&no, |w| w.status == S::WaitingParts as i32)
        .await;
    assert_eq!(
        wo.arrival_due_at, None,
        "waiting for parts: no deadline runs"
    );

    // The parts arrived on Monday at 15:00; the delivery is handled on Tuesday at noon.
    clock.set(local(1, 12));
    let mut delivered = delivery(&no);
    delivered.delivered_at = Some(ts(local(0, 15)));
    first.publish("logistics", &no, &delivered).await;
    let wo = first
        .wait_work_order(&no, |w| w.status == S::New as i32)
        .await;
    assert_eq!(
        time(&wo.arrival_due_at),
        local(1, 12),
        "from the delivery's own time: Monday 15:00–18:00 and Tuesday 09:00–12:00"
    );
    // Tuesday 14:00 and nobody came: late, announced.
    clock.set(local(1, 14));
    first.scan().await;
    assert_eq!(first.count(BREACHES).await, 1);
    assert!(first.get(&wo.work_order_no).await.sla_breached);
    let bus = first.svc.bus.clone();
    let db = first.svc.db.take().expect("the test's database");
    first.stop().await;

    // Act: Tuesday 8 December is declared a holiday; field-service restarts with it.
    let second = TestApp {
        svc: builder()
            .clock(clock.clone())
            .bus(&bus)
            .database_url(&db.url)
            .env("AFTERSALES__CALENDAR__HOLIDAYS", "2026-12-08")
            .start()
            .await,
    };

    // Assert: Monday 15:00–18:00 and Wednesday 09:00–12:00; at Tuesday 14:00 that has not
    // passed: the late arrival is withdrawn, once, with the move on record.
    let now = second.get(&wo.work_order_no).await;
    assert_eq!(time(&now.arrival_due_at), local(2, 12));
    assert!(!now.sla_breached);
    assert_eq!(second.count(MOVED).await, 1);
    assert_eq!(second.count(WITHDRAWN).await, 1);
    let change = second
        .svc
        .conn()
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT reason, old_due_at, new_due_at FROM sla_changes \
             WHERE reason LIKE 'calendar:%'",
        ))
        .await
        .unwrap()
        .expect("the move is on record");
    assert_eq!(
        change.try_get::<String>("", "reason").unwrap(),
        "calendar: holiday 2026-12-08 added"
    );
    let old: chrono::DateTime<chrono::Utc> = change.try_get("", "old_due_at").unwrap();
    assert_eq!(old, local(1, 12));

    // Recomputing again by hand finds nothing more to do.
    let mut env = second.svc.env.clone();
    env.insert("AFTERSALES__CALENDAR__HOLIDAYS".into(), "2026-12-08".into());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_field-service"))
        .args(["sla", "recompute"])
        .env_clear()
        .envs(&env)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("0 re-derived, 0 deadline(s) moved"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(second.count(WITHDRAWN).await, 1);

    // Wednesday 13:00 and still nobody: late again, announced once for the new deadline.
    clock.set(local(2, 13));
    second.scan().await;
    second.scan().await;
    assert_eq!(second.count(BREACHES).await, 2);
    assert!(second.get(&wo.work_order_no).await.sla_breached);
    second.stop().await;
    drop(db);
}
