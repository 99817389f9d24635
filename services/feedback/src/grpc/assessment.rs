//! The star-level self-assessment: parsing the requests.

use aftersales_platform::ids::BranchCode;
use aftersales_platform::proto::feedback::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations, required_text};
use chrono::NaiveDate;

use super::optional;
use crate::domain::Policy;
use crate::domain::period::{Granularity, Period};
use crate::service::assessment::{EntryInput, RecordAssessment};

/// An assessment period; empty: the current year.
pub fn period(v: &mut Violations, s: &str, today: NaiveDate) -> Option<Period> {
    if s.trim().is_empty() {
        return Some(Period::containing(Granularity::Year, today));
    }
    v.check("period", Period::parse(s))
}

impl TryFrom<(&pb::RecordAssessmentRequest, &Policy)> for RecordAssessment {
    type Error = Invalid;

    /// Only the policy's indicators a person scores, at most their maximum, with evidence.
    fn try_from((m, policy): (&pb::RecordAssessmentRequest, &Policy)) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let key = v.check("idempotency_key", required_text(&m.idempotency_key, 200));
        let period = if m.period.trim().is_empty() {
            v.add("period", "is required, e.g. 2026 or 2026-Q4");
            None
        } else {
            v.check("period", Period::parse(&m.period))
        };
        let branch = v.check("branch", optional(&m.branch, BranchCode::parse));
        if m.entries.is_empty() {
            v.add("entries", "must name at least one indicator");
        }
        let mut entries = Vec::new();
        for (i, e) in m.entries.iter().enumerate() {
            let field = format!("entries[{i}].indicator_id");
            let id = v.check(field.clone(), required_text(&e.indicator_id, 100));
            let def = id
                .as_ref()
                .and_then(|id| policy.indicators.iter().find(|d| d.id == *id));
            match (&id, def) {
                (Some(_), None) => v.add(field, "is not an indicator of the policy"),
                (_, Some(d)) if d.metric.is_some() => {
                    v.add(field, "is measured by the system; it takes no entry")
                }
                (_, Some(d)) if e.points_tenths > d.max_tenths => v.add(
                    format!("entries[{i}].points_tenths"),
                    format!("must be at most {} (the indicator's maximum)", d.max_tenths),
                ),
                _ => {}
            }
            let evidence = v.check(
                format!("entries[{i}].evidence"),
                required_text(&e.evidence, 2000),
            );
            if let (Some(id), Some(evidence)) = (id, evidence) {
                entries.push(EntryInput {
                    indicator_id: id,
                    points_tenths: e.points_tenths,
                    evidence,
                });
            }
        }
        v.done(|| {
            Some(RecordAssessment {
                idempotency_key: key?,
                period: period?,
                branch: branch?.map(BranchCode::into_string),
                entries,
            })
        })
    }
}
