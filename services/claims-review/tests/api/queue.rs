use aftersales_platform::proto::claims::v1 as pb;

use crate::helpers::{in_warranty, spawn_app};

#[tokio::test]
async fn paging_through_decided_claims_newest_first_shows_each_once_while_new_ones_arrive() {
    let app = spawn_app().await;
    let approved = |c: &pb::Claim| c.status == pb::ClaimStatus::Approved as i32;
    let (older, newer) = (in_warranty("SH01"), in_warranty("SH01"));
    app.submit(&older).await;
    app.wait_claim(&older.request_no, approved).await;
    app.submit(&newer).await;
    app.wait_claim(&newer.request_no, approved).await;
    let mut reviewer = app.reviewer("rita").await;
    let page = |token: String| pb::ListClaimsRequest {
        statuses: vec![pb::ClaimStatus::Approved as i32],
        page_size: 1,
        page_token: token,
        ..Default::default()
    };

    let first = reviewer
        .list_claims(page(String::new()))
        .await
        .unwrap()
        .into_inner();
    // A claim decided between two pages sorts before the token and does not push the next
    // page back onto a row already shown.
    let latest = in_warranty("SH01");
    app.submit(&latest).await;
    app.wait_claim(&latest.request_no, approved).await;
    let second = reviewer
        .list_claims(page(first.next_page_token.clone()))
        .await
        .unwrap()
        .into_inner();

    assert_eq!(first.claims[0].request_no, newer.request_no);
    assert_eq!(second.claims.len(), 1);
    assert_eq!(second.claims[0].request_no, older.request_no);
    assert!(
        second.next_page_token.is_empty(),
        "the list ends with the oldest claim"
    );
    let forged = reviewer.list_claims(page("o1".into())).await.unwrap_err();
    assert_eq!(forged.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        aftersales_platform::grpc::violations(&forged)[0].field,
        "page_token"
    );
    app.stop().await;
}
