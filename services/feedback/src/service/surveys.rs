//! The survey that completes a return visit. It closes the request at intake only when the
//! customer says the problem is solved; otherwise a complaint is opened and
//! `feedback.survey.recorded` carries what field-service needs for a follow-up work order.

use aftersales_platform::auth::Caller;
use aftersales_platform::grpc::record_request_no;
use sea_orm::TransactionTrait;

use super::{Feedback, meta, new_id, sees};
use crate::domain::complaint::{Category, Complaint, NewComplaint, Severity};
use crate::domain::survey::{Ratings, Survey, complaint_from_survey};
use crate::domain::visit::Visit;
use crate::error::Error;
use crate::store::{cases, log, surveys, visits};
use crate::wire;

#[derive(Debug, Clone, PartialEq)]
pub struct RecordSurvey {
    pub idempotency_key: String,
    pub visit_id: String,
    pub ratings: Ratings,
    pub comment: String,
    pub resolved: bool,
    /// The complaint the agent asked for (category and severity, each optional).
    pub complaint: Option<(Option<Category>, Option<Severity>)>,
}

/// What recording a survey did.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub survey: Survey,
    pub visit: Visit,
    pub complaint: Option<Complaint>,
}

impl Feedback {
    pub async fn record_survey(
        &self,
        caller: &Caller,
        cmd: RecordSurvey,
    ) -> Result<Recorded, Error> {
        let unknown = || Error::invalid("visit_id", "no such visit");
        let txn = self.db.begin().await?;
        if self
            .claim_key(
                &txn,
                &cmd.idempotency_key,
                "record_survey",
                &cmd,
                &cmd.visit_id,
            )
            .await?
            .is_some()
        {
            drop(txn);
            return self.survey_of(caller, &cmd.visit_id).await;
        }
        let seen = match visits::get(&txn, &cmd.visit_id).await? {
            Some(v) if sees(caller, &v.branch) => v,
            _ => return Err(unknown()),
        };
        record_request_no(&seen.request_no);
        let missing = cmd.ratings.missing_for(seen.source);
        if !missing.is_empty() {
            return Err(Error::Invalid(
                missing
                    .into_iter()
                    .map(|f| {
                        aftersales_platform::validate::Violation::new(
                            f,
                            "is required: a technician came",
                        )
                    })
                    .collect(),
            ));
        }
        // The request first, then the visit: the order a cancellation takes them in.
        let case = cases::lock(&txn, &seen.request_no, &seen.branch).await?;
        let Some(mut visit) = visits::get_for_update(&txn, &cmd.visit_id).await? else {
            return Err(unknown());
        };
        if case.cancelled_at.is_some() {
            return Err(Error::precondition(format!(
                "request {} was cancelled; its visit takes no survey",
                visit.request_no
            )));
        }
        let now = self.now();
        let survey_id = new_id("S");
        visit
            .complete(&survey_id, now)
            .map_err(|e| Error::precondition(format!("visit {}: {e}", visit.visit_id)))?;
        let mut survey = Survey {
            survey_id,
            visit_id: visit.visit_id.clone(),
            request_no: visit.request_no.clone(),
            branch: visit.branch.clone(),
            ratings: cmd.ratings,
            comment: cmd.comment.clone(),
            resolved: cmd.resolved,
            satisfied: cmd.ratings.satisfied(),
            technician_id: visit.technician_id.clone(),
            complaint_id: String::new(),
            recorded_at: now,
            recorded_by: caller.subject.clone(),
        };
        let complaint =
            match complaint_from_survey(cmd.resolved, cmd.complaint, self.policy.unresolved) {
                None => None,
                Some((category, severity)) => {
                    let description = match (cmd.resolved, cmd.comment.is_empty()) {
                        (false, true) => {
                            "return visit: the customer says the problem is not solved".to_owned()
                        }
                        (false, false) => {
                            format!("return visit: the problem is not solved — {}", cmd.comment)
                        }
                        (true, true) => "return visit: the customer is dissatisfied".to_owned(),
                        (true, false) => format!("return visit: {}", cmd.comment),
                    };
                    let c = self
                        .open_in(
                            &txn,
                            new_id("C"),
                            NewComplaint {
                                request_no: visit.request_no.clone(),
                                branch: visit.branch.clone(),
                                category,
                                severity,
                                description,
                                customer: visit.customer.clone(),
                                technician_id: visit.technician_id.clone(),
                                source: "survey".into(),
                                survey_id: survey.survey_id.clone(),
                                serial: visit.serial.clone(),
                                product_model: visit.product_model.clone(),
                                part_nos: visit.part_nos.clone(),
                                opened_by: caller.subject.clone(),
                            },
                        )
                        .await?;
                    survey.complaint_id = c.complaint_id.clone();
                    Some(c)
                }
            };
        visits::update(&txn, &visit).await?;
        self.stop_visit_clock(&txn, &visit).await?;
        surveys::insert(&txn, &survey).await?;
        let follow_up = if survey.resolved {
            None
        } else {
            let submitted =
                log::first_of(&txn, &visit.request_no, "intake.request.submitted").await?;
            let approved = log::first_of(&txn, &visit.request_no, "claims.claim.approved").await?;
            let completions =
                log::all_of(&txn, &visit.request_no, "fieldservice.workorder.completed").await?;
            Some(wire::follow_up(
                &visit,
                &survey,
                submitted.as_deref(),
                approved.as_deref(),
                &completions,
            ))
        };
        self.emit(
            &txn,
            meta(&visit.request_no, &visit.visit_id, &visit.branch),
            &wire::survey_recorded(&survey, &visit, follow_up),
        )
        .await?;
        txn.commit().await?;
        tracing::info!(request_no = %visit.request_no, survey_id = %survey.survey_id, resolved = survey.resolved, "survey recorded");
        Ok(Recorded {
            survey,
            visit,
            complaint,
        })
    }

    /// The survey of a visit as it was recorded (a repeated command's answer).
    async fn survey_of(&self, caller: &Caller, visit_id: &str) -> Result<Recorded, Error> {
        let visit = self.visit(caller, visit_id).await?;
        let survey = surveys::of_visit(&self.db, visit_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("survey of visit {visit_id}")))?;
        let complaint = if survey.complaint_id.is_empty() {
            None
        } else {
            crate::store::complaints::get(&self.db, &survey.complaint_id).await?
        };
        Ok(Recorded {
            survey,
            visit,
            complaint,
        })
    }
}
