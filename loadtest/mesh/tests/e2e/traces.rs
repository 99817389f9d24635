//! One request's traces: the automatic chain of the submission is one trace without orphans;
//! the people's steps and the timers start traces of their own that link to it; together they
//! cover all eight processes.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use aftersales_platform::testing::CollectedSpan;

use crate::harness::{NewRequest, shared, var, wait_status};

const EIGHT: [&str; 8] = [
    "gateway",
    "intake",
    "claims-review",
    "procurement",
    "warehouse",
    "logistics",
    "field-service",
    "feedback",
];

fn about(s: &CollectedSpan, no: &str) -> bool {
    s.attributes
        .get("aftersales.request_no")
        .is_some_and(|v| v == no)
        || s.attributes
            .get("aftersales.request_nos")
            .is_some_and(|v| v.split(',').any(|n| n.trim() == no))
}

/// The traces joined to `first` by links, `first` included.
fn joined(spans: &[CollectedSpan], first: &str) -> BTreeSet<String> {
    let mut traces = BTreeSet::from([first.to_owned()]);
    loop {
        let before = traces.len();
        for s in spans {
            if s.links.iter().any(|(t, _)| traces.contains(t)) {
                traces.insert(s.trace_id.clone());
            }
        }
        if traces.len() == before {
            return traces;
        }
    }
}

/// A panel repair with a remote control that is out of stock passes every department: the
/// remote is bought (procurement), the panel needs a technician (field-service), and the return
/// visit closes it (feedback).
#[tokio::test]
async fn one_request_is_one_trace_per_automatic_chain_and_its_linked_traces_cover_all_eight_processes()
 {
    shared();
    let req = NewRequest::new("GZ03", "repair", "PNL-55-01");
    let body_parts = serde_json::json!([
        { "part_no": "PNL-55-01", "quantity": 1 },
        { "part_no": "RMT-01", "quantity": 1 }
    ]);
    let (no, trace) = submit_with_parts(&req, body_parts).await;
    let r = wait_status(&no, "closed", Duration::from_secs(300)).await;
    // Give the exporters their batch interval.
    let spans = crate::harness::until("the request's spans", Duration::from_secs(30), || async {
        let spans = aftersales_mesh::spans::fetch(&var("MESH_SPANS_URL"))
            .await
            .ok()?;
        let traces = joined(&spans, &trace);
        let services: BTreeSet<&str> = spans
            .iter()
            .filter(|s| traces.contains(&s.trace_id))
            .map(|s| s.service.as_str())
            .collect();
        EIGHT.iter().all(|e| services.contains(e)).then_some(spans)
    })
    .await;

    // The submission's trace: every span's parent is in it (or is the test's own first hop).
    let first: Vec<&CollectedSpan> = spans.iter().filter(|s| s.trace_id == trace).collect();
    let ids: HashSet<&str> = first.iter().map(|s| s.span_id.as_str()).collect();
    let roots: Vec<&&CollectedSpan> = first
        .iter()
        .filter(|s| !s.parent_span_id.is_empty() && !ids.contains(s.parent_span_id.as_str()))
        .collect();
    // Only the gateway's span has a parent outside (the test's traceparent).
    assert!(
        roots.iter().all(|s| s.service == "gateway" && s.kind == 2),
        "orphan spans in the submission's trace: {:?}",
        roots
            .iter()
            .map(|s| format!("{} {} (parent {})", s.service, s.name, s.parent_span_id))
            .collect::<Vec<_>>()
    );
    assert_eq!(roots.len(), 1, "one entry into the mesh");
    let unlabelled: Vec<String> = first
        .iter()
        .filter(|s| !about(s, &no))
        .map(|s| format!("{} {}", s.service, s.name))
        .collect();
    assert!(
        unlabelled.is_empty(),
        "spans without aftersales.request_no = {no}: {unlabelled:?}"
    );

    let traces = joined(&spans, &trace);
    let mut by_service: BTreeMap<&str, usize> = BTreeMap::new();
    for s in spans.iter().filter(|s| traces.contains(&s.trace_id)) {
        *by_service.entry(s.service.as_str()).or_default() += 1;
    }
    println!(
        "e2e: {no}: {}; its submission trace {trace} has {} spans; {} linked traces cover {} processes: {:?}",
        r["status"],
        first.len(),
        traces.len() - 1,
        by_service.len(),
        by_service
    );
    for e in EIGHT {
        assert!(
            by_service.contains_key(e),
            "no span of {e} for {no}: {by_service:?}"
        );
    }
}

async fn submit_with_parts(req: &NewRequest<'_>, parts: serde_json::Value) -> (String, String) {
    let mut body = req.body();
    body["parts"] = parts;
    let trace = uuid::Uuid::new_v4().simple().to_string();
    let parent = &uuid::Uuid::new_v4().simple().to_string()[..16];
    let key = uuid::Uuid::new_v4().to_string();
    let a = crate::harness::as_agent(req.branch)
        .call(
            "POST",
            "/v1/requests",
            Some(&body),
            &[
                ("idempotency-key", &key),
                ("traceparent", &format!("00-{trace}-{parent}-01")),
            ],
        )
        .await
        .expect("submit");
    let r = a.expect(201, "submit");
    (
        r["request_no"].as_str().expect("request_no").to_owned(),
        trace,
    )
}
