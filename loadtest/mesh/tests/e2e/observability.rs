//! Every metric the chart's alert rules and Grafana dashboard name exists in a live scrape of
//! the running services (after a request went through, so every series has been touched).

use std::collections::BTreeSet;
use std::time::Duration;

use aftersales_mesh::SERVICES;

use crate::harness::{NewRequest, shared, var, wait_status};

fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("aftersales_") {
        let start = i + at;
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_lowercase() || bytes[end] == b'_') {
            end += 1;
        }
        names.insert(text[start..end].to_owned());
        i = end.max(start + 1);
    }
    names
}

#[tokio::test]
async fn every_metric_the_alerts_and_the_dashboard_use_is_in_a_live_scrape() {
    shared();
    let (no, _) = NewRequest::new("BJ02", "replacement", "PWR-55-01")
        .submit()
        .await;
    wait_status(&no, "closed", Duration::from_secs(240)).await;
    let files =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../charts/aftersales/files");
    let mut wanted = BTreeSet::new();
    for f in ["alerts.yaml", "dashboard.json"] {
        let text = std::fs::read_to_string(files.join(f)).expect("chart file");
        wanted.extend(metric_names(&text));
    }
    assert!(wanted.len() > 10, "{wanted:?}");
    let mut scraped = BTreeSet::new();
    for s in SERVICES {
        let admin = var(&format!("MESH_{}_ADMIN", s.peer_key));
        let client = aftersales_mesh::http::Client::new(&admin, "-");
        let a = client.get("/metrics").await.expect("scrape");
        assert!(a.ok(), "{} /metrics: {}", s.name, a.status);
        for line in a.text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap_or_default();
            scraped.insert(name.to_owned());
        }
    }
    let missing: Vec<&String> = wanted.iter().filter(|w| !scraped.contains(*w)).collect();
    println!(
        "e2e: {} metric names in the alerts and the dashboard, all in the live scrape of the eight services: {}",
        wanted.len(),
        missing.is_empty()
    );
    assert!(
        missing.is_empty(),
        "named by the alerts or the dashboard, absent from every scrape: {missing:?}"
    );
}
