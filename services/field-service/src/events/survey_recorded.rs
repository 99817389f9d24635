//! `feedback.survey.recorded`: a survey saying the problem is not solved opens a follow-up
//! work order for the request, once per survey, from what feedback sends along (customer, site,
//! product, the customer's words) and field-service's own record of the job that did not solve
//! it. A solved survey, or one of a cancelled request, changes nothing.
//!
//! `resolved` is a plain proto3 bool, so a survey from a feedback that predates the field reads
//! as unsolved: it counts as unsolved only with the complaint or the follow-up that feedback
//! always sends along with an unsolved one.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::ids::{BranchCode, RequestNo};
use aftersales_platform::proto::feedback::v1 as feedback;
use aftersales_platform::validate::{Invalid, Violations};
use sea_orm::DatabaseTransaction;

use crate::error::Error;
use crate::service::FieldService;
use crate::service::opening::FollowUp;
use crate::wire;

pub struct SurveyRecorded {
    svc: FieldService,
}

impl SurveyRecorded {
    pub fn new(svc: &FieldService) -> Self {
        Self { svc: svc.clone() }
    }
}

/// Whether the survey says the problem is not solved.
pub fn unsolved(p: &feedback::SurveyRecorded) -> bool {
    !p.resolved && (p.follow_up.is_some() || !p.complaint_id.trim().is_empty())
}

impl TryFrom<&feedback::SurveyRecorded> for FollowUp {
    type Error = Invalid;

    fn try_from(p: &feedback::SurveyRecorded) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let request_no = v.check("request_no", RequestNo::parse(&p.request_no));
        let branch = v.check("branch", BranchCode::parse(&p.branch));
        if p.survey_id.trim().is_empty() {
            v.add("survey_id", "is required");
        }
        let f = p.follow_up.clone().unwrap_or_default();
        let previous = [f.previous_work_order_no.trim(), p.work_order_no.trim()]
            .into_iter()
            .find(|s| !s.is_empty())
            .map(str::to_owned);
        let words = [f.fault_description.trim(), p.comment.trim()]
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or_default()
            .to_owned();
        v.done(|| {
            Some(FollowUp {
                request_no: request_no?,
                branch: branch?,
                survey_id: p.survey_id.trim().to_owned(),
                comment: words,
                previous_work_order_no: previous,
                customer: f.customer.as_ref().map(wire::customer_from),
                site: f.site.as_ref().map(wire::site_from),
                product: f.product.as_ref().map(wire::product_from),
                kind: wire::kind_from(f.kind),
                urgency: wire::urgency_from(f.urgency),
            })
        })
    }
}

#[async_trait::async_trait]
impl Handler for SurveyRecorded {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let p: feedback::SurveyRecorded = ev.payload()?;
        if !unsolved(&p) {
            return Ok(());
        }
        let f = FollowUp::try_from(&p).map_err(Error::from)?;
        match self.svc.open_follow_up(txn, &f).await? {
            Some(no) => {
                tracing::info!(request_no = %f.request_no, work_order_no = %no, "follow-up opened for an unsolved survey")
            }
            None => {
                tracing::info!(request_no = %f.request_no, "unsolved survey: no follow-up (cancelled, opened already, or nowhere to go)")
            }
        }
        Ok(())
    }
}
