//! The star-level self-assessment through the API: the score bands' edges, measured indicators
//! from the KPIs, entered ones with evidence.

use aftersales_platform::proto::feedback::v1 as pb;
use feedback::domain::Policy;
use feedback::domain::policy::DEMO_POLICY;

use crate::helpers::{
    bad_fields, builder, clock_at, completed, key, local, request_no, spawn_at, survey, wrap,
};

/// The demo policy with every indicator entered by a person (no metric), so a test can reach any
/// total exactly.
fn all_entered() -> Policy {
    let text: String = DEMO_POLICY
        .lines()
        .filter(|l| !l.trim_start().starts_with("metric ="))
        .map(|l| format!("{l}\n"))
        .collect();
    Policy::parse(&text).unwrap()
}

/// Entries worth `total` tenths: indicators filled in the policy's order.
fn entries_worth(policy: &Policy, total: u32) -> Vec<pb::AssessmentEntry> {
    let mut left = total;
    let mut out = Vec::new();
    for i in &policy.indicators {
        let points = left.min(i.max_tenths);
        left -= points;
        out.push(pb::AssessmentEntry {
            indicator_id: i.id.clone(),
            points_tenths: points,
            evidence: format!("audit report, section {}", i.id),
        });
    }
    out
}

#[tokio::test]
async fn the_score_bands_edges_69_9_70_80_90_and_95_give_the_right_level() {
    let policy = all_entered();
    let p = policy.clone();
    let app = wrap(
        builder()
            .clock(clock_at(local(2026, 12, 1, 9, 0)))
            .adjust(move |_, own| own.policy = Some(p))
            .start()
            .await,
    );
    let mut analyst = app.analyst("*").await;
    for (month, total, level) in [
        ("2026-01", 699, pb::StarLevel::BelowStandard),
        ("2026-02", 700, pb::StarLevel::MeetsStandard),
        ("2026-03", 800, pb::StarLevel::ThreeStars),
        ("2026-04", 900, pb::StarLevel::FourStars),
        ("2026-05", 950, pb::StarLevel::FiveStars),
    ] {
        let a = analyst
            .record_assessment(pb::RecordAssessmentRequest {
                idempotency_key: key(),
                period: month.into(),
                branch: String::new(),
                entries: entries_worth(&policy, total),
            })
            .await
            .unwrap()
            .into_inner()
            .assessment
            .unwrap();
        assert_eq!(a.total_tenths, total, "{month}");
        assert_eq!(a.level, level as i32, "{month}: {total} tenths");
        assert_eq!(a.pending, 0);
    }
    let kept = analyst
        .list_assessments(pb::ListAssessmentsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .assessments;
    assert_eq!(
        kept.iter().map(|a| a.period.as_str()).collect::<Vec<_>>(),
        ["2026-05", "2026-04", "2026-03", "2026-02", "2026-01"],
        "kept per assessment period"
    );
    app.stop().await;
}

#[tokio::test]
async fn measured_indicators_come_from_the_periods_kpis_and_entered_ones_need_evidence() {
    // Arrange: one job in October, its visit done in time with a satisfied customer.
    let app = spawn_at(clock_at(local(2026, 10, 12, 9, 0))).await;
    let no = request_no("SH01");
    app.publish(
        &no,
        "SH01",
        &completed(&no, "SH01", "WO-1", "T1", local(2026, 10, 12, 10, 0)),
    )
    .await;
    let v = app.wait_visit(&no).await;
    app.agent("SH01")
        .await
        .record_survey(survey(&v.visit_id, pb::Rating::VerySatisfied, true))
        .await
        .unwrap();
    let mut analyst = app.analyst("*").await;

    // Act
    let a = analyst
        .record_assessment(pb::RecordAssessmentRequest {
            idempotency_key: key(),
            period: "2026-10".into(),
            branch: String::new(),
            entries: vec![pb::AssessmentEntry {
                indicator_id: "culture.philosophy".into(),
                points_tenths: 25,
                evidence: "https://intranet.example/service-charter.pdf".into(),
            }],
        })
        .await
        .unwrap()
        .into_inner()
        .assessment
        .unwrap();
    let refused = analyst
        .record_assessment(pb::RecordAssessmentRequest {
            idempotency_key: key(),
            period: "2026-10".into(),
            branch: String::new(),
            entries: vec![
                pb::AssessmentEntry {
                    indicator_id: "customers.satisfaction".into(),
                    points_tenths: 80,
                    evidence: "we think so".into(),
                },
                pb::AssessmentEntry {
                    indicator_id: "culture.commitment".into(),
                    points_tenths: 31,
                    evidence: "charter".into(),
                },
                pb::AssessmentEntry {
                    indicator_id: "culture.training".into(),
                    points_tenths: 10,
                    evidence: " ".into(),
                },
            ],
        })
        .await
        .unwrap_err();

    // Assert: satisfaction 1/1 → 8 points, the visit in time → 5, arrival in time → 5, first-time
    // fix → 5, no rework → 4; and the entered 2.5.
    let points = |id: &str| {
        a.indicators
            .iter()
            .find(|i| i.indicator_id == id)
            .unwrap_or_else(|| panic!("{id}"))
            .points_tenths
    };
    assert_eq!(points("customers.satisfaction"), 80);
    assert_eq!(points("customers.return_visits"), 50);
    assert_eq!(points("repair.arrival"), 50);
    assert_eq!(points("repair.first_time_fix"), 50);
    assert_eq!(points("repair.rework"), 40);
    assert_eq!(points("culture.philosophy"), 25);
    assert_eq!(
        points("delivery.on_time"),
        0,
        "no delivery: no data, no points"
    );
    assert_eq!(a.total_tenths, 80 + 50 + 50 + 50 + 40 + 25);
    assert_eq!(a.level, pb::StarLevel::BelowStandard as i32);
    assert_eq!(a.pending, 14, "15 entered indicators, one scored");
    assert_eq!(a.categories.len(), 8);
    assert_eq!(a.indicators.len(), 27);
    assert_eq!(
        bad_fields(&refused),
        [
            "entries[0].indicator_id",
            "entries[1].points_tenths",
            "entries[2].evidence"
        ]
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM assessment_entries")
            .await,
        1,
        "the refused entries wrote nothing"
    );
    app.stop().await;
}
