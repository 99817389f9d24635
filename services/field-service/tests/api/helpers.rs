//! Field-service started by the platform's test kit (fresh database, the test's broker names,
//! Redis under its own prefix, port 0, a manual clock); this file keeps only field-service's
//! fixtures.

use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::clock::Clock;
use aftersales_platform::grpc::ClientInterceptor;
use aftersales_platform::proto::catalogue::Event;
use aftersales_platform::proto::claims::v1 as claims;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::common::v1::EventEnvelope;
use aftersales_platform::proto::fieldservice::v1 as pb;
use aftersales_platform::proto::fieldservice::v1::field_service_service_client::FieldServiceServiceClient;
use aftersales_platform::proto::intake::v1 as intake;
use aftersales_platform::proto::logistics::v1 as logistics;
use aftersales_platform::testing::{self, TestService, TestServiceBuilder};
use chrono::{DateTime, Utc};
use field_service::app::App;
use tokio::sync::mpsc;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel as GrpcChannel;

pub type Client = FieldServiceServiceClient<InterceptedService<GrpcChannel, ClientInterceptor>>;

pub const SCANNER: &str = field_service::service::sla::SCANNER;

/// Monday 2026-12-07, 08:00 in the department's time (UTC+8): an hour before work starts, so
/// every window of the day is still ahead.
pub fn monday_8am() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-07T08:00:00+08:00")
        .unwrap()
        .with_timezone(&Utc)
}

/// `day` days after that Monday at `hour`:00 local.
pub fn local(day: i64, hour: u32) -> DateTime<Utc> {
    monday_8am() + chrono::Duration::days(day) + chrono::Duration::hours(hour as i64 - 8)
}

/// The window of that day starting at `hour` (09, 11, 13, 15).
pub fn window(day: i64, hour: u32) -> common::TimeRange {
    common::TimeRange {
        from: Some(ts(local(day, hour))),
        to: None,
    }
}

pub fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn time(t: &Option<prost_types::Timestamp>) -> DateTime<Utc> {
    let t = t.as_ref().expect("a timestamp");
    DateTime::from_timestamp(t.seconds, t.nanos as u32).unwrap()
}

pub struct TestApp {
    pub svc: TestService<App>,
}

/// How the tests start field-service: a manual clock on Monday morning and a scanner that runs
/// only when a test asks for it or moves the clock.
pub fn builder() -> TestServiceBuilder<App> {
    TestService::<App>::builder()
        .clock(Clock::manual(monday_8am()))
        .env("AFTERSALES__FIELD_SERVICE__SLA_SCAN_INTERVAL_MS", "3600000")
}

pub async fn spawn_app() -> TestApp {
    TestApp {
        svc: builder().start().await,
    }
}

pub async fn spawn_with(b: TestServiceBuilder<App>) -> TestApp {
    TestApp {
        svc: b.start().await,
    }
}

pub fn client_at(url: &str, token: &str) -> Client {
    let channel = aftersales_platform::grpc::channel(url, Duration::from_secs(30)).unwrap();
    FieldServiceServiceClient::with_interceptor(
        channel,
        ClientInterceptor::with_token(token).unwrap(),
    )
    .max_decoding_message_size(16 << 20)
}

impl TestApp {
    pub fn clock(&self) -> &Clock {
        self.svc.clock()
    }

    pub fn client(&self, token: &str) -> Client {
        client_at(&self.svc.grpc_url(), token)
    }

    /// A head-office dispatcher.
    pub fn dispatcher(&self) -> Client {
        self.client(&testing::token("disp-hq", "*", &[Role::Dispatcher]))
    }

    /// A dispatcher of one branch.
    pub fn branch_dispatcher(&self, branch: &str) -> Client {
        self.client(&testing::token(
            &format!("disp-{branch}"),
            branch,
            &[Role::Dispatcher],
        ))
    }

    /// A technician, as themselves (their token's `sub` is their id).
    pub fn technician(&self, id: &str, branch: &str) -> Client {
        self.client(&testing::token(id, branch, &[Role::Technician]))
    }

    pub async fn count(&self, sql: &str) -> i64 {
        self.svc.count(sql).await
    }

    pub async fn wait_count(&self, sql: &str, n: i64) {
        self.svc.wait_count(sql, n).await
    }

    pub async fn scan(&self) -> usize {
        self.svc.scan(SCANNER).await
    }

    pub async fn subscribe(&self, pattern: &str) -> mpsc::UnboundedReceiver<EventEnvelope> {
        self.svc.subscribe(pattern).await
    }

    pub async fn publish<E: Event>(&self, producer: &str, request_no: &str, payload: &E) -> String {
        self.svc
            .publish(producer, request_no, "SH01", payload)
            .await
    }

    pub async fn publish_with_id<E: Event>(
        &self,
        id: &str,
        producer: &str,
        request_no: &str,
        payload: &E,
    ) {
        self.svc
            .publish_with_id(id, producer, request_no, "SH01", payload)
            .await
    }

    /// Registers a technician of SH01 (television, urban and suburban) as head office.
    pub async fn technician_of(&self, id: &str, capacity: u32) -> pb::Technician {
        self.dispatcher()
            .register_technician(registration(id, "SH01", capacity))
            .await
            .unwrap()
            .into_inner()
            .technician
            .unwrap()
    }

    /// Waits until the request's work order exists and `pred` holds of it.
    pub async fn wait_work_order(
        &self,
        request_no: &str,
        pred: impl Fn(&pb::WorkOrder) -> bool,
    ) -> pb::WorkOrder {
        let mut c = self.dispatcher();
        let mut last = None;
        for _ in 0..600 {
            let r = c
                .list_work_orders(pb::ListWorkOrdersRequest {
                    request_no: request_no.into(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            if let Some(w) = r.work_orders.into_iter().next() {
                if pred(&w) {
                    return w;
                }
                last = Some(w);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("work order of {request_no} never matched; last seen: {last:?}");
    }

    pub async fn get(&self, no: &str) -> pb::WorkOrder {
        self.dispatcher()
            .get_work_order(pb::GetWorkOrderRequest {
                work_order_no: no.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .work_order
            .unwrap()
    }

    /// A FREE installation opened by hand for request `n` of SH01, with its serial.
    pub async fn open(&self, n: u32, serial: &str) -> pb::WorkOrder {
        self.dispatcher()
            .create_work_order(manual(n, serial))
            .await
            .unwrap()
            .into_inner()
            .work_order
            .unwrap()
    }

    /// Moves a work order with `client` on the board from the version it is at.
    pub async fn move_to(
        &self,
        client: &mut Client,
        no: &str,
        status: pb::WorkOrderStatus,
        note: &str,
    ) -> pb::WorkOrder {
        let version = self.get(no).await.version;
        client
            .update_status(pb::UpdateStatusRequest {
                work_order_no: no.into(),
                expected_version: version,
                status: status as i32,
                note: note.into(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|e| panic!("{no} -> {status:?}: {e}"))
            .into_inner()
            .work_order
            .unwrap()
    }

    /// Books, dispatches, arrives and repairs: the work order ends IN_REPAIR with `tech`.
    pub async fn repair_on_site(&self, no: &str, tech: &str, day: i64, hour: u32) -> pb::WorkOrder {
        let mut d = self.dispatcher();
        d.schedule_appointment(pb::ScheduleAppointmentRequest {
            work_order_no: no.into(),
            window: Some(window(day, hour)),
            technician_id: tech.into(),
            ..Default::default()
        })
        .await
        .unwrap();
        let mut t = self.technician(tech, "SH01");
        t.dispatch(pb::DispatchRequest {
            work_order_no: no.into(),
            ..Default::default()
        })
        .await
        .unwrap();
        self.move_to(&mut t, no, pb::WorkOrderStatus::OnSite, "")
            .await;
        self.move_to(&mut t, no, pb::WorkOrderStatus::InRepair, "")
            .await
    }

    /// Inspects (passed) and completes as `tech`.
    pub async fn finish(&self, no: &str, tech: &str) -> pb::WorkOrder {
        let mut t = self.technician(tech, "SH01");
        t.record_final_inspection(pb::RecordFinalInspectionRequest {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            work_order_no: no.into(),
            inspection: Some(passed()),
        })
        .await
        .unwrap();
        let version = self.get(no).await.version;
        t.complete_work_order(pb::CompleteWorkOrderRequest {
            work_order_no: no.into(),
            expected_version: version,
            labour_minutes: 45,
            resolution: "fitted and tested".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap()
    }

    pub async fn stop(self) {
        self.svc.stop().await
    }
}

pub fn passed() -> pb::FinalInspection {
    pb::FinalInspection {
        passed: true,
        inspected_by: String::new(),
        inspected_at: None,
        checklist: vec!["powers on".into(), "picture and sound".into()],
        note: String::new(),
        customer_signed: true,
    }
}

pub fn registration(id: &str, branch: &str, capacity: u32) -> pb::RegisterTechnicianRequest {
    pb::RegisterTechnicianRequest {
        technician: Some(pb::Technician {
            technician_id: id.into(),
            name: format!("Tech {id}"),
            phone: "+86 139 0000 0000".into(),
            branch: branch.into(),
            skills: vec!["television".into()],
            territories: vec!["Pudong".into()],
            regions: vec![
                common::Region::Urban as i32,
                common::Region::Suburban as i32,
            ],
            daily_capacity: capacity,
            active: true,
            ..Default::default()
        }),
    }
}

pub fn request_no(n: u32) -> String {
    format!("AS-2612-SH01-{n:06}")
}

/// A FREE installation of an X55 for request `n`, opened by hand.
pub fn manual(n: u32, serial: &str) -> pb::CreateWorkOrderRequest {
    pb::CreateWorkOrderRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        request_no: request_no(n),
        branch: "SH01".into(),
        service_category: pb::ServiceCategory::Free as i32,
        kind: common::RequestKind::Installation as i32,
        urgency: common::Urgency::Normal as i32,
        customer: Some(aftersales_platform::testing::demo::customer()),
        site: None,
        product: Some(common::Product {
            serial: serial.into(),
            ..aftersales_platform::testing::demo::television("2026-10-02")
        }),
        fault_description: "install the new set".into(),
        planned_parts: vec![],
        called_at: None,
    }
}

/// The approval of an installation of request `no` by claims-review, with `parts` on their way.
pub fn approval(
    no: &str,
    parts: &[(&str, u32)],
    approved_at: DateTime<Utc>,
) -> claims::ClaimApproved {
    claims::ClaimApproved {
        request_no: no.into(),
        branch: "SH01".into(),
        kind: common::RequestKind::Installation as i32,
        urgency: common::Urgency::Normal as i32,
        region: common::Region::Urban as i32,
        customer: Some(aftersales_platform::testing::demo::customer()),
        product: Some(aftersales_platform::testing::demo::television("2026-10-02")),
        fault_description: "install the new set".into(),
        lines: parts
            .iter()
            .map(|(p, q)| claims::ClaimLine {
                part_no: (*p).into(),
                quantity: *q,
                coverage: common::Coverage::Free as i32,
                ..Default::default()
            })
            .collect(),
        onsite_required: true,
        coverage: common::Coverage::Free as i32,
        approved_at: Some(ts(approved_at)),
        auto_approved: true,
        ..Default::default()
    }
}

pub fn cancellation(no: &str) -> intake::RequestCancelled {
    intake::RequestCancelled {
        request_no: no.into(),
        branch: "SH01".into(),
        reason: "the customer withdrew it".into(),
        cancelled_by: "agent-SH01".into(),
        previous_status: intake::RequestStatus::Approved as i32,
    }
}

pub fn delivery(no: &str) -> logistics::ShipmentDelivered {
    logistics::ShipmentDelivered {
        request_no: no.into(),
        branch: "SH01".into(),
        shipment_no: format!("SHP-{no}"),
        onsite_required: true,
        kind: common::RequestKind::Installation as i32,
        ..Default::default()
    }
}

/// The next envelope of `routing_key` about `subject`, skipping others (20 s at most).
pub async fn next_event(
    rx: &mut mpsc::UnboundedReceiver<EventEnvelope>,
    routing_key: &str,
    subject: &str,
) -> EventEnvelope {
    loop {
        let env = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {routing_key} about {subject} within 20 s"))
            .expect("event stream open");
        if env.routing_key == routing_key && env.subject == subject {
            return env;
        }
    }
}

/// The field violations of an INVALID_ARGUMENT status.
pub fn fields(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    aftersales_platform::grpc::violations(status)
        .into_iter()
        .map(|v| v.field)
        .collect()
}
