use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aftersales_platform::db;
use aftersales_platform::grpc;
use aftersales_platform::http_admin::Readiness;
use aftersales_platform::shutdown::Shutdown;
use aftersales_platform::telemetry::metrics;
use aftersales_platform::testing::{self, TestDb};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

struct Forget;

#[tonic::async_trait]
impl TraceService for Forget {
    async fn export(
        &self,
        _: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tokio::test]
async fn health_follows_readiness_and_every_rpc_is_counted() {
    testing::telemetry();
    let db = TestDb::create(&[db::PLATFORM]).await;
    let broker = Arc::new(AtomicBool::new(false));
    let readiness = Readiness::new(Some(db.conn.clone()), &[db::PLATFORM]);
    readiness.add_link("broker", broker.clone());
    // Any named service will do: an OTLP receiver that accepts and forgets.
    let svc = grpc::Services::default().with(TraceServiceServer::new(Forget));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    let settings = testing::settings("sample", &db.url, &testing::TestBus::new()).server;
    let server = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { grpc::serve(listener, svc, &settings, readiness, None, shutdown).await }
    });

    let channel = grpc::channel(&format!("http://{addr}"), Duration::from_secs(5)).unwrap();
    let mut health = HealthClient::new(channel);
    let status = |s: ServingStatus| s as i32;
    let check = |mut h: HealthClient<tonic::transport::Channel>| async move {
        h.check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .ok()
        .map(|r| r.into_inner().status)
    };
    let not_serving = testing::eventually(Duration::from_secs(10), || {
        let h = health.clone();
        async move {
            check(h)
                .await
                .filter(|s| *s == status(ServingStatus::NotServing))
        }
    })
    .await;
    assert!(not_serving.is_some(), "broker down → NOT_SERVING");
    broker.store(true, Ordering::SeqCst);
    let serving = testing::eventually(Duration::from_secs(10), || {
        let h = health.clone();
        async move {
            check(h)
                .await
                .filter(|s| *s == status(ServingStatus::Serving))
        }
    })
    .await;
    assert!(
        serving.is_some(),
        "database, migrations and broker up → SERVING"
    );

    let before = metrics()
        .rpc_requests
        .with_label_values(&["/grpc.health.v1.Health/Check", "0"])
        .get();
    health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();
    let after = metrics()
        .rpc_requests
        .with_label_values(&["/grpc.health.v1.Health/Check", "0"])
        .get();
    assert!(after > before, "the RPC was counted");
    let unknown = health
        .check(HealthCheckRequest {
            service: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    assert!(
        metrics().render().contains("code=\"5\""),
        "failures are counted by their status code"
    );

    shutdown.trigger();
    server.await.unwrap().unwrap();
}

#[test]
fn invalid_argument_names_every_field_in_a_bad_request_detail() {
    let status = grpc::invalid_argument(&[
        grpc::Violation::new("customer.phone", "must contain only digits"),
        grpc::Violation::new("parts[0].quantity", "must be between 1 and 999"),
    ]);
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let v = grpc::violations(&status);
    assert_eq!(v.len(), 2);
    assert_eq!(v[1].field, "parts[0].quantity");
    assert!(
        status
            .message()
            .contains("customer.phone: must contain only digits")
    );
}
