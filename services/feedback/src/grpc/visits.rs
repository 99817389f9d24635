//! Visits and surveys: parsing the requests into commands.

use aftersales_platform::ids::{BranchCode, RequestNo};
use aftersales_platform::proto::feedback::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations, optional_text, required_text};

use super::{Paged, date, instant, optional, page};
use crate::domain::survey::Ratings;
use crate::domain::visit::Outcome;
use crate::service::surveys::RecordSurvey;
use crate::service::visits::{ListVisits, RecordVisit};
use crate::wire;

impl TryFrom<Paged<'_, pb::ListDueVisitsRequest>> for ListVisits {
    type Error = Invalid;

    fn try_from(p: Paged<'_, pb::ListDueVisitsRequest>) -> Result<Self, Invalid> {
        let m = p.msg;
        let mut v = Violations::new();
        let branch = v.check("branch", optional(&m.branch, BranchCode::parse));
        let due_by = v.check("due_by_date", date(&m.due_by_date));
        let request_no = v.check("request_no", optional(&m.request_no, RequestNo::parse));
        let mut statuses = Vec::new();
        for (i, s) in m.statuses.iter().enumerate() {
            match wire::visit_status_from(*s) {
                Some(s) => statuses.push(s),
                None => v.add(
                    format!("statuses[{i}]"),
                    "must be one of due, attempted, done, closed_unreached, cancelled",
                ),
            }
        }
        let page = page(&mut v, m.page_size, &m.page_token, p.max_page_size);
        v.done(|| {
            let page = page?;
            Some(ListVisits {
                branch: branch?.map(BranchCode::into_string),
                due_by: due_by?,
                statuses,
                request_no: request_no?.map(RequestNo::into_string),
                page_size: page.0,
                after: page.1,
            })
        })
    }
}

impl TryFrom<&pb::RecordVisitRequest> for RecordVisit {
    type Error = Invalid;

    fn try_from(m: &pb::RecordVisitRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let key = v.check("idempotency_key", required_text(&m.idempotency_key, 200));
        let visit_id = v.check("visit_id", required_text(&m.visit_id, 64));
        let outcome = wire::outcome_from(m.outcome);
        if outcome.is_none() {
            v.add(
                "outcome",
                "must be one of reached, no_answer, wrong_number, refused, call_back",
            );
        }
        let note = v.check("note", optional_text(&m.note, 2000));
        let call_back_at = instant(&m.call_back_at);
        if outcome == Some(Outcome::CallBack) && call_back_at.is_none() {
            v.add(
                "call_back_at",
                "is required when the customer asks to be called back",
            );
        }
        v.done(|| {
            Some(RecordVisit {
                idempotency_key: key?,
                visit_id: visit_id?.to_ascii_uppercase(),
                outcome: outcome?,
                note: note?,
                call_back_at,
            })
        })
    }
}

impl TryFrom<&pb::RecordSurveyRequest> for RecordSurvey {
    type Error = Invalid;

    fn try_from(m: &pb::RecordSurveyRequest) -> Result<Self, Invalid> {
        const LEVELS: &str =
            "must be one of very_satisfied, satisfied, dissatisfied, very_dissatisfied";
        let mut v = Violations::new();
        let key = v.check("idempotency_key", required_text(&m.idempotency_key, 200));
        let visit_id = v.check("visit_id", required_text(&m.visit_id, 64));
        let mut rating = |field: &str, value: i32, required: bool| match wire::rating_from(value) {
            Err(_) => {
                v.add(field, LEVELS);
                None
            }
            Ok(None) if required => {
                v.add(
                    field,
                    "is required: very_satisfied, satisfied, dissatisfied or very_dissatisfied",
                );
                None
            }
            Ok(r) => Some(r),
        };
        let attitude = rating("attitude", m.attitude, true);
        let technical_skill = rating("technical_skill", m.technical_skill, false);
        let arrival_time = rating("arrival_time", m.arrival_time, false);
        let promise_keeping = rating("promise_keeping", m.promise_keeping, true);
        let comment = v.check("comment", optional_text(&m.comment, 2000));
        if m.resolved.is_none() {
            v.add(
                "resolved",
                "is required: whether the customer says the problem is solved",
            );
        }
        let resolved = m.resolved.unwrap_or(false);
        let category = match wire::category_from(m.complaint_category) {
            Ok(c) => c,
            Err(_) => {
                v.add("complaint_category", "is not a complaint category");
                None
            }
        };
        let severity = match wire::severity_from(m.complaint_severity) {
            Ok(s) => s,
            Err(_) => {
                v.add("complaint_severity", "must be one of minor, major, serious");
                None
            }
        };
        // The category and severity are a complaint's when one is asked for, or when they say
        // how to file the complaint an unsolved problem opens anyway.
        let complaint = (m.open_complaint
            || (!resolved && (category.is_some() || severity.is_some())))
        .then_some((category, severity));
        v.done(|| {
            Some(RecordSurvey {
                idempotency_key: key?,
                visit_id: visit_id?.to_ascii_uppercase(),
                ratings: Ratings {
                    attitude: attitude??,
                    technical_skill: technical_skill?,
                    arrival_time: arrival_time?,
                    promise_keeping: promise_keeping??,
                },
                comment: comment?,
                resolved: m.resolved?,
                complaint,
            })
        })
    }
}
