//! Identity-provider tokens (issue 13): the gateway and every service behind it trust the test
//! identity provider's JWKS (RS256/ES256 by kid, `iss` and `aud` checked). A token signed by a
//! key outside the key set, one for another audience, or an HS256 token (even with the secret
//! the services would accept in development) is refused everywhere; a key the provider rotates
//! in while everything runs is accepted on its first use, without a restart.

use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::grpc::{ClientInterceptor, channel};
use aftersales_platform::proto::claims::v1 as cpb;
use aftersales_platform::proto::intake::v1 as ipb;
use aftersales_platform::proto::warehouse::v1 as wpb;
use aftersales_platform::testing::idp::{Claims, Key, TestIdp};
use aftersales_platform::testing::{self, idp};
use tonic::Code;

use crate::helpers::{TestApp, spawn_mesh_with_env};

/// What each service answers to `token` over its own gRPC: the codes of intake's
/// ListRequests, claims-review's ListClaims and the warehouse's GetStock.
async fn codes_over_grpc(app: &TestApp, token: &str) -> [Code; 3] {
    let ch =
        |a: std::net::SocketAddr| channel(&format!("http://{a}"), Duration::from_secs(30)).unwrap();
    let i = || ClientInterceptor::with_token(token).unwrap();
    let code = |r: Result<(), tonic::Status>| r.err().map(|s| s.code()).unwrap_or(Code::Ok);
    let intake =
        ipb::intake_service_client::IntakeServiceClient::with_interceptor(ch(app.intake_addr), i())
            .list_requests(ipb::ListRequestsRequest::default())
            .await
            .map(drop);
    let claims = cpb::claims_service_client::ClaimsServiceClient::with_interceptor(
        ch(app.claims_addr.expect("claims-review runs")),
        i(),
    )
    .list_claims(cpb::ListClaimsRequest::default())
    .await
    .map(drop);
    let warehouse = wpb::warehouse_service_client::WarehouseServiceClient::with_interceptor(
        ch(app.warehouse_addr.expect("the warehouse runs")),
        i(),
    )
    .get_stock(wpb::GetStockRequest {
        part_no: "PWR-55-01".into(),
    })
    .await
    .map(drop);
    [code(intake), code(claims), code(warehouse)]
}

#[tokio::test]
async fn a_token_from_outside_the_key_set_for_another_audience_or_hs256_is_refused_everywhere() {
    // Arrange: every service and the gateway trust the identity provider's key set (key-a).
    let provider = TestIdp::start(&[Key::RsaA]).await;
    let app = spawn_mesh_with_env(provider.env()).await;
    let roles = [Role::Reviewer, Role::BranchAgent, Role::Warehouse];
    let good = idp::token(Key::RsaA, &Claims::new("hq-1", "*", &roles));
    assert_eq!(app.get("/v1/requests", &good).await.status, 200);
    assert!(
        codes_over_grpc(&app, &good)
            .await
            .iter()
            .all(|c| *c != Code::Unauthenticated),
        "the provider's own token is accepted by every service"
    );
    let es256 = idp::token(Key::EcC, &Claims::new("hq-2", "*", &roles));

    let forged = idp::token(Key::Outside, &Claims::new("mallory", "*", &[Role::Admin]));
    let other_audience = idp::token(
        Key::RsaA,
        &Claims {
            audience: "another-system",
            ..Claims::new("hq-1", "*", &roles)
        },
    );
    let other_issuer = idp::token(
        Key::RsaA,
        &Claims {
            issuer: "https://someone-else.test",
            ..Claims::new("hq-1", "*", &roles)
        },
    );
    let hs256 = testing::token("mallory", "*", &[Role::Admin]);

    for (what, token) in [
        ("a key outside the key set", &forged),
        ("another audience", &other_audience),
        ("another issuer", &other_issuer),
        ("HS256 with the development secret", &hs256),
        ("a key the provider never published (key-c)", &es256),
    ] {
        // Act / Assert: the gateway answers 401 …
        let r = app.get("/v1/requests", token).await;
        assert_eq!(r.status, 401, "{what} through the gateway");
        assert_eq!(r.header("content-type"), "application/problem+json");
        // … and each service, called directly (as a forged call from inside the cluster would),
        // answers UNAUTHENTICATED.
        assert_eq!(
            codes_over_grpc(&app, token).await,
            [Code::Unauthenticated; 3],
            "{what} over gRPC (intake, claims-review, warehouse)"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_key_rotated_in_at_the_identity_provider_works_through_the_gateway_without_a_restart() {
    // Arrange: everything runs trusting key-a; a reviewer's token is signed with key-b, which
    // the provider has not published yet.
    let provider = TestIdp::start(&[Key::RsaA]).await;
    let app = spawn_mesh_with_env(provider.env()).await;
    let old = idp::token(
        Key::RsaA,
        &Claims::new("reviewer-1", "*", &[Role::Reviewer]),
    );
    assert_eq!(app.get("/v1/claims", &old).await.status, 200);
    let new = idp::token(
        Key::RsaB,
        &Claims::new("reviewer-1", "*", &[Role::Reviewer]),
    );
    assert_eq!(
        app.get("/v1/claims", &new).await.status,
        401,
        "key-b is not trusted before the provider publishes it"
    );

    // Act: the provider rotates: key-b is published beside key-a.
    provider.publish(&[Key::RsaA, Key::RsaB]);

    // Assert: the new kid is fetched on its first use by the gateway and by the services behind
    // it (claims-review, intake, the warehouse), with nothing restarted. (The verifier fetches
    // at most once a second for unknown kids, so the first try may still be refused.)
    for path in ["/v1/claims", "/v1/requests", "/v1/stock/PWR-55-01"] {
        let status = testing::eventually(Duration::from_secs(15), || async {
            let s = app.get(path, &new).await.status;
            (s != 401).then_some(s)
        })
        .await
        .unwrap_or(401);
        // The catalogue is empty here: the warehouse accepting the token answers 404.
        let expected = if path.starts_with("/v1/stock") {
            404
        } else {
            200
        };
        assert_eq!(status, expected, "{path} with the rotated key");
    }
    assert_eq!(
        app.get("/v1/claims", &old).await.status,
        200,
        "key-a still works"
    );
    app.stop().await;
}
