//! One rule per identifier in the whole mesh (issue 11): the same part number, request number
//! and branch code strings are accepted or refused identically by intake, claims-review and the
//! warehouse (through their own gRPC APIs) and by the gateway (through REST).

use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::grpc::{ClientInterceptor, channel};
use aftersales_platform::proto::claims::v1 as cpb;
use aftersales_platform::proto::intake::v1 as ipb;
use aftersales_platform::proto::warehouse::v1 as wpb;
use aftersales_platform::testing;
use serde_json::json;
use tonic::Code;

use crate::helpers::{TestApp, request_body, spawn_mesh};

fn interceptor() -> ClientInterceptor {
    ClientInterceptor::with_token(&testing::token("hq-admin", "*", &[Role::Admin])).unwrap()
}

/// Whether a gRPC answer refused the input as invalid (anything else, NOT_FOUND included, means
/// the string itself was accepted).
fn refused(r: Result<(), tonic::Status>) -> bool {
    matches!(r, Err(s) if s.code() == Code::InvalidArgument)
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

struct Clients {
    intake: ipb::intake_service_client::IntakeServiceClient<
        tonic::service::interceptor::InterceptedService<
            tonic::transport::Channel,
            ClientInterceptor,
        >,
    >,
    claims: cpb::claims_service_client::ClaimsServiceClient<
        tonic::service::interceptor::InterceptedService<
            tonic::transport::Channel,
            ClientInterceptor,
        >,
    >,
    warehouse: wpb::warehouse_service_client::WarehouseServiceClient<
        tonic::service::interceptor::InterceptedService<
            tonic::transport::Channel,
            ClientInterceptor,
        >,
    >,
}

fn clients(app: &TestApp) -> Clients {
    let ch =
        |a: std::net::SocketAddr| channel(&format!("http://{a}"), Duration::from_secs(30)).unwrap();
    Clients {
        intake: ipb::intake_service_client::IntakeServiceClient::with_interceptor(
            ch(app.intake_addr),
            interceptor(),
        ),
        claims: cpb::claims_service_client::ClaimsServiceClient::with_interceptor(
            ch(app.claims_addr.expect("claims-review runs")),
            interceptor(),
        ),
        warehouse: wpb::warehouse_service_client::WarehouseServiceClient::with_interceptor(
            ch(app.warehouse_addr.expect("the warehouse runs")),
            interceptor(),
        ),
    }
}

#[tokio::test]
async fn the_same_identifier_strings_are_accepted_or_refused_alike_by_every_service_and_the_gateway()
 {
    let app = spawn_mesh().await;
    let mut c = clients(&app);
    let admin = testing::token("hq-admin", "*", &[Role::Admin]);

    // Request numbers: intake GetRequest, claims-review GetClaim, warehouse ListLedger, the
    // gateway's GET /v1/requests/{no} and /v1/claims/{no}.
    for s in [
        "AS-2611-SH01-000042",
        "as-2611-sh01-000042",
        " AS-2611-SH01-000042 ",
        "AS-2613-SH01-000042",
        "AS-2611-SH01-000000",
        "AS-2611-SH-01-000042",
        "AS-2611-1SH-000042",
        "REQ-42",
        "AS-2611-SH01-0000420",
    ] {
        let intake = refused(
            c.intake
                .get_request(ipb::GetRequestRequest {
                    request_no: s.into(),
                })
                .await
                .map(drop),
        );
        let claims = refused(
            c.claims
                .get_claim(cpb::GetClaimRequest {
                    request_no: s.into(),
                })
                .await
                .map(drop),
        );
        let warehouse = refused(
            c.warehouse
                .list_ledger(wpb::ListLedgerRequest {
                    request_no: s.into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        );
        let gw_request = app
            .get(&format!("/v1/requests/{}", encode(s)), &admin)
            .await
            .status
            == 400;
        let gw_claim = app
            .get(&format!("/v1/claims/{}", encode(s)), &admin)
            .await
            .status
            == 400;
        assert!(
            intake == claims
                && claims == warehouse
                && warehouse == gw_request
                && gw_request == gw_claim,
            "request number {s:?}: refused by intake {intake}, claims-review {claims}, warehouse {warehouse}, gateway {gw_request}/{gw_claim}"
        );
    }

    // Part numbers: intake SubmitRequest's part lines, warehouse GetStock and ListLedger, the
    // gateway's GET /v1/stock/{part_no} and POST /v1/requests.
    for s in [
        "PWR-55-01",
        "pwr-55-01",
        "X_1.2",
        "A",
        &"A".repeat(40),
        &"A".repeat(41),
        "PWR 55",
        "PWR#1",
        "PWR/1",
    ] {
        let mut sub = crate::helpers::grpc_submission("SH01");
        sub.parts[0].part_no = s.into();
        let intake = match c.intake.submit_request(sub).await {
            Err(st) if st.code() == Code::InvalidArgument => {
                aftersales_platform::grpc::violations(&st)
                    .iter()
                    .any(|v| v.field == "parts[0].part_no")
            }
            _ => false,
        };
        let warehouse = refused(
            c.warehouse
                .get_stock(wpb::GetStockRequest { part_no: s.into() })
                .await
                .map(drop),
        );
        let ledger = refused(
            c.warehouse
                .list_ledger(wpb::ListLedgerRequest {
                    part_no: s.into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        );
        let gw_stock = app
            .get(&format!("/v1/stock/{}", encode(s)), &admin)
            .await
            .status
            == 400;
        let mut body = request_body("SH01");
        body["parts"] = json!([{ "part_no": s, "quantity": 1 }]);
        let r = app.post("/v1/requests", &admin, &body, &[]).await;
        let gw_submit = r.status == 400
            && crate::helpers::violations(&r.json()).contains_key("parts[0].part_no");
        assert!(
            intake == warehouse
                && warehouse == ledger
                && ledger == gw_stock
                && gw_stock == gw_submit,
            "part number {s:?}: refused by intake {intake}, warehouse {warehouse}/{ledger}, gateway {gw_stock}/{gw_submit}"
        );
    }

    // Branch codes: intake ListRequests, claims-review ListClaims, warehouse ListBackorders (all
    // as head office), the gateway's GET /v1/requests?branch=.
    for s in [
        "SH01",
        "sh01",
        "GZ03",
        "S",
        "1SH",
        "SH-01",
        "SHANGHAI1",
        "SH 01",
    ] {
        let intake = refused(
            c.intake
                .list_requests(ipb::ListRequestsRequest {
                    branch: s.into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        );
        let claims = refused(
            c.claims
                .list_claims(cpb::ListClaimsRequest {
                    branch: s.into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        );
        let warehouse = refused(
            c.warehouse
                .list_backorders(wpb::ListBackordersRequest {
                    branch: s.into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        );
        let gw = app
            .get(&format!("/v1/requests?branch={}", encode(s)), &admin)
            .await
            .status
            == 400;
        assert!(
            intake == claims && claims == warehouse && warehouse == gw,
            "branch code {s:?}: refused by intake {intake}, claims-review {claims}, warehouse {warehouse}, gateway {gw}"
        );
    }
    app.stop().await;
}
