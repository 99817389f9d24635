use std::collections::HashMap;
use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::bus::Bus;
use aftersales_platform::grpc::ClientInterceptor;
use aftersales_platform::outbox::RelayHandle;
use aftersales_platform::proto::catalogue::Event;
use aftersales_platform::proto::common::v1::EventEnvelope;
use aftersales_platform::proto::intake::v1 as pb;
use aftersales_platform::proto::intake::v1::intake_service_client::IntakeServiceClient;
use aftersales_platform::testing::{self, TestService};
use intake::app::App;
use sea_orm::DatabaseConnection;
use tokio::sync::mpsc;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel as GrpcChannel;

pub type Client = IntakeServiceClient<InterceptedService<GrpcChannel, ClientInterceptor>>;

/// Intake started by the platform's test kit; this file keeps only intake's fixtures.
pub struct TestApp {
    pub svc: TestService<App>,
    pub db: Db,
    pub grpc_addr: std::net::SocketAddr,
    pub relay: RelayHandle,
}

/// The test's database connection.
pub struct Db {
    pub conn: DatabaseConnection,
}

pub async fn spawn_app() -> TestApp {
    wrap(TestService::<App>::start().await)
}

pub fn wrap(svc: TestService<App>) -> TestApp {
    TestApp {
        db: Db {
            conn: svc.conn().clone(),
        },
        grpc_addr: svc.grpc_addr(),
        relay: svc.running().relay.clone().expect("intake has a relay"),
        svc,
    }
}

impl TestApp {
    pub fn bus(&self) -> Bus {
        self.svc.bus_settings()
    }

    pub async fn client_with(&self, token: &str) -> Client {
        let channel = aftersales_platform::grpc::channel(
            &format!("http://{}", self.grpc_addr),
            Duration::from_secs(30),
        )
        .unwrap();
        IntakeServiceClient::with_interceptor(
            channel,
            ClientInterceptor::with_token(token).unwrap(),
        )
        .max_decoding_message_size(64 * 1024 * 1024)
        .max_encoding_message_size(64 * 1024 * 1024)
    }

    /// A client acting as a branch agent of `branch`.
    pub async fn agent(&self, branch: &str) -> Client {
        self.client_with(&testing::token(
            &format!("agent-{branch}"),
            branch,
            &[Role::BranchAgent],
        ))
        .await
    }

    pub async fn count(&self, sql: &str) -> i64 {
        self.svc.count(sql).await
    }

    /// Publishes `payload` as another service would, about `request_no`.
    pub async fn publish<E: Event>(
        &self,
        producer: &str,
        request_no: &str,
        branch: &str,
        payload: &E,
    ) -> String {
        self.svc
            .publish(producer, request_no, branch, payload)
            .await
    }

    pub async fn publish_with_id<E: Event>(
        &self,
        id: &str,
        producer: &str,
        request_no: &str,
        branch: &str,
        payload: &E,
    ) {
        self.svc
            .publish_with_id(id, producer, request_no, branch, payload)
            .await
    }

    /// A queue bound to `pattern` on the test exchange, yielding envelopes.
    pub async fn subscribe(&self, pattern: &str) -> mpsc::UnboundedReceiver<EventEnvelope> {
        self.svc.subscribe(pattern).await
    }

    /// Waits until the request has `status`.
    pub async fn wait_status(
        &self,
        client: &mut Client,
        request_no: &str,
        status: pb::RequestStatus,
    ) -> pb::ServiceRequest {
        let mut last = None;
        for _ in 0..200 {
            let r = client
                .get_request(pb::GetRequestRequest {
                    request_no: request_no.into(),
                })
                .await
                .unwrap()
                .into_inner()
                .request
                .unwrap();
            if r.status == status as i32 {
                return r;
            }
            last = Some(r.status);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("request {request_no} never reached {status:?} (last {last:?})");
    }

    pub async fn stop(self) {
        self.svc.stop().await
    }
}

/// A branch agent's client of an intake at `addr` (its binary, say).
pub async fn client_at(addr: std::net::SocketAddr) -> Client {
    let channel =
        aftersales_platform::grpc::channel(&format!("http://{addr}"), Duration::from_secs(30))
            .unwrap();
    IntakeServiceClient::with_interceptor(
        channel,
        ClientInterceptor::with_token(&testing::token("agent-SH01", "SH01", &[Role::BranchAgent]))
            .unwrap(),
    )
}

/// A complete, valid submission for `branch` (the mesh's demo request).
pub fn submission(branch: &str) -> pb::SubmitRequestRequest {
    testing::demo::submission(branch)
}

pub async fn submit(client: &mut Client, branch: &str) -> pb::ServiceRequest {
    client
        .submit_request(submission(branch))
        .await
        .expect("submit")
        .into_inner()
        .request
        .unwrap()
}

pub fn violations(status: &tonic::Status) -> HashMap<String, String> {
    aftersales_platform::grpc::violations(status)
        .into_iter()
        .map(|v| (v.field, v.description))
        .collect()
}

/// Waits until the timeline of `request_no` holds an entry of `kind` (an event is handled
/// asynchronously: two sent back to back may be handled in either order).
pub async fn wait_entry(client: &Client, request_no: &str, kind: &str) {
    aftersales_platform::testing::eventually(std::time::Duration::from_secs(20), || {
        let mut client = client.clone();
        let no = request_no.to_owned();
        async move {
            let t = client
                .get_timeline(pb::GetTimelineRequest { request_no: no })
                .await
                .ok()?
                .into_inner();
            t.entries.iter().any(|e| e.r#type == kind).then_some(())
        }
    })
    .await
    .unwrap_or_else(|| panic!("{kind} on the timeline of {request_no}"));
}
