use std::time::Duration;

use aftersales_platform::testing;

use crate::helpers::{in_warranty, spawn_app};

#[tokio::test]
async fn consuming_a_submission_and_publishing_the_decision_share_one_trace() {
    let app = spawn_app().await;
    // Spans of every test land in one receiver: a branch no other test uses keeps the request
    // number unique.
    let r = in_warranty("TR98");
    let no = r.request_no.clone();
    app.submit(&r).await;
    let t = testing::telemetry();
    let long = Duration::from_secs(30);

    let process = t
        .wait_for_span(
            "intake.request.submitted process",
            |s| s.attributes.get("aftersales.request_no") == Some(&no),
            long,
        )
        .await
        .expect("the consumer span, tagged with the request number");
    assert_eq!(process.kind, 5, "consumer span");
    for rk in ["claims.claim.opened", "claims.claim.approved"] {
        let publish = t
            .wait_for_span(
                &format!("{rk} publish"),
                |s| s.trace_id == process.trace_id,
                long,
            )
            .await
            .unwrap_or_else(|| panic!("{rk} was published in the consumer's trace"));
        assert_eq!(publish.kind, 4, "producer span");
        assert_eq!(
            publish.parent_span_id, process.span_id,
            "{rk} staged from within the handler's transaction"
        );
        assert_eq!(publish.attributes.get("aftersales.request_no"), Some(&no));
    }
    app.stop().await;
}
