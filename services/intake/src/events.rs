//! What intake consumes, declared in one place ([`subscriptions`]), one handler file per kind of
//! event: every event about a request goes into its timeline and may move its status; a rejected
//! claim and a recorded survey also close the request.

pub mod claim_rejected;
pub mod po_update;
pub mod summary;
pub mod survey_recorded;
pub mod timeline;

use aftersales_platform::bus::Subscription;
use aftersales_platform::topology;

use crate::service::Intake;

/// Keys with a handler of their own; every other key of intake's inbox (the topology's row: the
/// events about requests) goes to the timeline handler.
const SPECIAL: &[&str] = &[
    "claims.claim.rejected",
    "feedback.survey.recorded",
    "procurement.po.issued",
    "procurement.po.received",
    "procurement.po.overdue",
    "procurement.po.cancelled",
    "procurement.po.deadline_changed",
    "procurement.po.overdue_withdrawn",
];

pub fn subscriptions(intake: &Intake) -> Vec<Subscription> {
    let mut subs: Vec<Subscription> = topology::inbox("intake")
        .map(|i| i.routing_keys())
        .unwrap_or_default()
        .into_iter()
        .filter(|k| !SPECIAL.contains(k))
        .map(|k| Subscription::new(k, timeline::RecordTimeline::new(intake)))
        .collect();
    subs.push(Subscription::new(
        "claims.claim.rejected",
        claim_rejected::ClaimRejected::new(intake),
    ));
    subs.push(Subscription::new(
        "feedback.survey.recorded",
        survey_recorded::SurveyRecorded::new(intake),
    ));
    for rk in [
        "procurement.po.issued",
        "procurement.po.received",
        "procurement.po.overdue",
        "procurement.po.cancelled",
        "procurement.po.deadline_changed",
        "procurement.po.overdue_withdrawn",
    ] {
        subs.push(Subscription::new(rk, po_update::PoUpdate::new(intake)));
    }
    subs
}
