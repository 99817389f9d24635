//! The tonic service. Every RPC does the same four things: authorize the caller, parse the
//! request once into a command (the `TryFrom` of its area's module, naming every bad field at
//! once), call [`Feedback`], and answer through [`crate::wire`]. Errors map to a status one way,
//! the platform's.
//!
//! Who may do what: branch agents work the visits, surveys and complaints of their branch;
//! analysts read every figure of their branch scope (head office: every branch) and enter the
//! self-assessment's scores; admin may do everything, and alone rebuilds the read model.

mod assessment;
mod complaints;
mod reports;
mod visits;

use aftersales_platform::auth::{Caller, Role, Verifier};
use aftersales_platform::ids::BranchCode;
use aftersales_platform::paging;
use aftersales_platform::proto::feedback::v1 as pb;
use aftersales_platform::proto::feedback::v1::feedback_service_server::FeedbackService;
use aftersales_platform::validate::Violations;
use chrono::{DateTime, NaiveDate, Utc};
use tonic::{Request, Response, Status};

use crate::domain::kpi::{KpiName, Ratio};
use crate::error::Error;
use crate::service::Feedback;
use crate::service::assessment::{Assessment, RecordAssessment};
use crate::service::complaints::{
    EscalateComplaint, ListComplaints, OpenComplaint, ResolveComplaint,
};
use crate::service::reports::{KpiQuery, KpiReport, QualityQuery, Span};
use crate::service::surveys::RecordSurvey;
use crate::service::visits::{ListVisits, RecordVisit};
use crate::wire::{self, kpi, timestamp};

/// Who works visits, surveys and complaints (admin always may).
const AGENTS: &[Role] = &[Role::BranchAgent];
/// Who reads visits and complaints.
const CASE_READERS: &[Role] = &[Role::BranchAgent, Role::Analyst];
/// Who reads the figures and the quality archive.
const ANALYSTS: &[Role] = &[Role::Analyst];
/// Admin only.
const NOBODY_BUT_ADMIN: &[Role] = &[];

pub struct Api {
    pub feedback: Feedback,
    pub verifier: Verifier,
    pub max_page_size: u32,
}

impl Api {
    fn authorize<T>(&self, req: &Request<T>, roles: &[Role]) -> Result<Caller, Status> {
        Ok(self.verifier.require(req.metadata(), roles)?)
    }

    fn paged<'a, M>(&self, msg: &'a M) -> Paged<'a, M> {
        Paged {
            msg,
            max_page_size: self.max_page_size,
        }
    }
}

/// A list request with the service's largest page, so that parsing refuses a page too large
/// together with the request's other bad fields.
pub struct Paged<'a, M> {
    pub msg: &'a M,
    pub max_page_size: u32,
}

/// A page: its size (0 means 50) and where it starts, as the platform's opaque token of the
/// list's sort key (instant, id).
type Page = (u64, Option<(DateTime<Utc>, String)>);

fn page(v: &mut Violations, size: u32, token: &str, max: u32) -> Option<Page> {
    let size = v.check("page_size", paging::page_size(size, 50, max));
    let after = v.check(
        "page_token",
        paging::decode::<(DateTime<Utc>, String)>(token),
    );
    Some((size?, after?))
}

/// The same for a list sorted newest first: the token is where the previous page ended, and
/// the next page starts below it.
fn page_desc(v: &mut Violations, size: u32, token: &str, max: u32) -> Option<Page> {
    page(v, size, token, max)
}

fn next_token(next: Option<(DateTime<Utc>, String)>) -> String {
    next.map(|k| paging::encode(&k)).unwrap_or_default()
}

/// A date field: empty is `None`.
fn date(s: &str) -> Result<Option<NaiveDate>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

fn instant(t: &Option<prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    crate::projection::instant(t)
}

/// An optional identifier: empty is `None`.
fn optional<T>(s: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<Option<T>, String> {
    if s.trim().is_empty() {
        Ok(None)
    } else {
        parse(s).map(Some)
    }
}

/// The one field of a request that only names something.
fn one<T>(field: &str, parsed: Result<T, String>) -> Result<T, Status> {
    parsed.map_err(|e| Error::invalid(field, e).into())
}

fn bad(e: aftersales_platform::validate::Invalid) -> Status {
    Error::from(e).into()
}

impl Api {
    fn kpis(&self, r: &KpiReport) -> pb::Kpis {
        let p = &self.feedback.policy;
        let f = &r.figures;
        let k = |name: KpiName| {
            kpi(
                f.ratios.get(&name).copied().unwrap_or_default(),
                Some(name),
                p.target(name),
            )
        };
        let dim = |i: usize| kpi(f.dimensions[i], None, p.target(KpiName::Satisfaction));
        pb::Kpis {
            period: Some(aftersales_platform::proto::common::v1::TimeRange {
                from: Some(timestamp(r.from)),
                to: Some(timestamp(r.to)),
            }),
            branch: r.branch.clone(),
            request_processing_timeliness: Some(k(KpiName::RequestProcessingTimeliness)),
            review_timeliness: Some(k(KpiName::ReviewTimeliness)),
            procurement_cost_vs_quotes: Some(k(KpiName::ProcurementCostVsQuotes)),
            inventory_accuracy: Some(k(KpiName::InventoryAccuracy)),
            on_time_delivery: Some(k(KpiName::OnTimeDelivery)),
            arrival_sla: Some(k(KpiName::ArrivalSla)),
            satisfaction: Some(k(KpiName::Satisfaction)),
            first_time_fix: Some(k(KpiName::FirstTimeFix)),
            rework_rate: Some(k(KpiName::ReworkRate)),
            satisfaction_attitude: Some(dim(0)),
            satisfaction_technical_skill: Some(dim(1)),
            satisfaction_arrival_time: Some(dim(2)),
            satisfaction_promise_keeping: Some(dim(3)),
            complaint_response_timeliness: Some(k(KpiName::ComplaintResponseTimeliness)),
            complaint_response_avg_minutes: f.complaint_avg_minutes,
            return_visit_timeliness: Some(k(KpiName::ReturnVisitTimeliness)),
            period_name: r.name.clone(),
        }
    }

    fn assessment(&self, a: &Assessment) -> pb::Assessment {
        pb::Assessment {
            period: a.period.name(),
            branch: a.branch.clone(),
            policy_version: self.feedback.policy.version.clone(),
            categories: a
                .card
                .categories
                .iter()
                .map(|(c, max, points, n)| pb::AssessmentCategory {
                    category: c.id.clone(),
                    name: c.name.clone(),
                    max_tenths: *max,
                    points_tenths: *points,
                    indicators: *n,
                })
                .collect(),
            indicators: a
                .card
                .indicators
                .iter()
                .map(|s| pb::AssessmentIndicator {
                    indicator_id: s.def.id.clone(),
                    category: s.def.category.clone(),
                    name: s.def.name.clone(),
                    max_tenths: s.def.max_tenths,
                    measured: s.def.metric.is_some(),
                    points_tenths: s.points_tenths,
                    metric: s
                        .def
                        .metric
                        .map(|m| m.as_str().to_owned())
                        .unwrap_or_default(),
                    metric_value: s.value.map(|v| {
                        kpi(
                            v,
                            s.def.metric,
                            s.def
                                .metric
                                .map(|m| self.feedback.policy.target(m))
                                .unwrap_or(0),
                        )
                    }),
                    evidence: s
                        .entry
                        .as_ref()
                        .map(|e| e.evidence.clone())
                        .unwrap_or_default(),
                    entered_by: s
                        .entry
                        .as_ref()
                        .map(|e| e.entered_by.clone())
                        .unwrap_or_default(),
                    entered_at: s.entry.as_ref().map(|e| timestamp(e.entered_at)),
                    pending: s.pending(),
                })
                .collect(),
            total_tenths: a.card.total_tenths,
            level: wire::star_level(a.card.level) as i32,
            pending: a.card.pending,
            range: Some(aftersales_platform::proto::common::v1::TimeRange {
                from: Some(timestamp(a.from)),
                to: Some(timestamp(a.to)),
            }),
        }
    }
}

fn plain(r: Ratio) -> pb::Kpi {
    kpi(r, None, 0)
}

#[tonic::async_trait]
impl FeedbackService for Api {
    async fn list_due_visits(
        &self,
        request: Request<pb::ListDueVisitsRequest>,
    ) -> Result<Response<pb::ListDueVisitsResponse>, Status> {
        let caller = self.authorize(&request, CASE_READERS)?;
        let q = ListVisits::try_from(self.paged(request.get_ref())).map_err(bad)?;
        let (rows, next) = self.feedback.list_visits(&caller, q).await?;
        let now = self.feedback.now();
        Ok(Response::new(pb::ListDueVisitsResponse {
            visits: rows.iter().map(|v| wire::visit(v, now)).collect(),
            next_page_token: next_token(next),
        }))
    }

    async fn get_visit(
        &self,
        request: Request<pb::GetVisitRequest>,
    ) -> Result<Response<pb::GetVisitResponse>, Status> {
        let caller = self.authorize(&request, CASE_READERS)?;
        let id = one(
            "visit_id",
            aftersales_platform::validate::required_text(&request.get_ref().visit_id, 64),
        )?;
        let v = self
            .feedback
            .visit(&caller, &id.to_ascii_uppercase())
            .await?;
        Ok(Response::new(pb::GetVisitResponse {
            visit: Some(wire::visit(&v, self.feedback.now())),
        }))
    }

    async fn record_visit(
        &self,
        request: Request<pb::RecordVisitRequest>,
    ) -> Result<Response<pb::RecordVisitResponse>, Status> {
        let caller = self.authorize(&request, AGENTS)?;
        let cmd = RecordVisit::try_from(request.get_ref()).map_err(bad)?;
        let v = self.feedback.record_visit(&caller, cmd).await?;
        Ok(Response::new(pb::RecordVisitResponse {
            visit: Some(wire::visit(&v, self.feedback.now())),
        }))
    }

    async fn record_survey(
        &self,
        request: Request<pb::RecordSurveyRequest>,
    ) -> Result<Response<pb::RecordSurveyResponse>, Status> {
        let caller = self.authorize(&request, AGENTS)?;
        let cmd = RecordSurvey::try_from(request.get_ref()).map_err(bad)?;
        let r = self.feedback.record_survey(&caller, cmd).await?;
        Ok(Response::new(pb::RecordSurveyResponse {
            survey: Some(wire::survey(&r.survey)),
            visit: Some(wire::visit(&r.visit, self.feedback.now())),
            complaint: r.complaint.as_ref().map(wire::complaint),
        }))
    }

    async fn open_complaint(
        &self,
        request: Request<pb::OpenComplaintRequest>,
    ) -> Result<Response<pb::OpenComplaintResponse>, Status> {
        let caller = self.authorize(&request, AGENTS)?;
        let cmd = OpenComplaint::try_from((request.get_ref(), self.feedback.policy.as_ref()))
            .map_err(bad)?;
        let c = self.feedback.open_complaint(&caller, cmd).await?;
        Ok(Response::new(pb::OpenComplaintResponse {
            complaint: Some(wire::complaint(&c)),
        }))
    }

    async fn escalate_complaint(
        &self,
        request: Request<pb::EscalateComplaintRequest>,
    ) -> Result<Response<pb::EscalateComplaintResponse>, Status> {
        let caller = self.authorize(&request, AGENTS)?;
        let cmd = EscalateComplaint::try_from(request.get_ref()).map_err(bad)?;
        let c = self.feedback.escalate_complaint(&caller, cmd).await?;
        Ok(Response::new(pb::EscalateComplaintResponse {
            complaint: Some(wire::complaint(&c)),
        }))
    }

    async fn resolve_complaint(
        &self,
        request: Request<pb::ResolveComplaintRequest>,
    ) -> Result<Response<pb::ResolveComplaintResponse>, Status> {
        let caller = self.authorize(&request, AGENTS)?;
        let cmd = ResolveComplaint::try_from((request.get_ref(), self.feedback.policy.as_ref()))
            .map_err(bad)?;
        let c = self.feedback.resolve_complaint(&caller, cmd).await?;
        Ok(Response::new(pb::ResolveComplaintResponse {
            complaint: Some(wire::complaint(&c)),
        }))
    }

    async fn list_complaints(
        &self,
        request: Request<pb::ListComplaintsRequest>,
    ) -> Result<Response<pb::ListComplaintsResponse>, Status> {
        let caller = self.authorize(&request, CASE_READERS)?;
        let q = ListComplaints::try_from(self.paged(request.get_ref())).map_err(bad)?;
        let (rows, next) = self.feedback.list_complaints(&caller, q).await?;
        Ok(Response::new(pb::ListComplaintsResponse {
            complaints: rows.iter().map(wire::complaint).collect(),
            next_page_token: next_token(next),
        }))
    }

    async fn get_complaint(
        &self,
        request: Request<pb::GetComplaintRequest>,
    ) -> Result<Response<pb::GetComplaintResponse>, Status> {
        let caller = self.authorize(&request, CASE_READERS)?;
        let id = one(
            "complaint_id",
            aftersales_platform::validate::required_text(&request.get_ref().complaint_id, 64),
        )?;
        let c = self
            .feedback
            .complaint(&caller, &id.to_ascii_uppercase())
            .await?;
        Ok(Response::new(pb::GetComplaintResponse {
            complaint: Some(wire::complaint(&c)),
        }))
    }

    async fn get_quality_archive(
        &self,
        request: Request<pb::GetQualityArchiveRequest>,
    ) -> Result<Response<pb::GetQualityArchiveResponse>, Status> {
        let caller = self.authorize(&request, ANALYSTS)?;
        let q = QualityQuery::try_from(self.paged(request.get_ref())).map_err(bad)?;
        let (rows, next) = self.feedback.quality_archive(&caller, q).await?;
        Ok(Response::new(pb::GetQualityArchiveResponse {
            records: rows
                .into_iter()
                .map(|r| pb::QualityRecord {
                    at: Some(timestamp(r.at)),
                    r#type: r.kind,
                    request_no: r.request_no,
                    serial: r.serial,
                    product_model: r.product_model,
                    summary: r.summary,
                    part_nos: r.part_nos,
                    branch: r.branch,
                    r#ref: r.reference,
                })
                .collect(),
            next_page_token: next_token(next),
        }))
    }

    async fn get_kpis(
        &self,
        request: Request<pb::GetKpisRequest>,
    ) -> Result<Response<pb::GetKpisResponse>, Status> {
        let caller = self.authorize(&request, ANALYSTS)?;
        let q = KpiQuery::try_from(request.get_ref()).map_err(bad)?;
        let (main, history) = self.feedback.kpis(&caller, q).await?;
        Ok(Response::new(pb::GetKpisResponse {
            kpis: Some(self.kpis(&main)),
            history: history.iter().map(|r| self.kpis(r)).collect(),
        }))
    }

    async fn top_returned_parts(
        &self,
        request: Request<pb::TopReturnedPartsRequest>,
    ) -> Result<Response<pb::TopReturnedPartsResponse>, Status> {
        let caller = self.authorize(&request, ANALYSTS)?;
        let (period, branch, limit) =
            reports::top_period(request.get_ref(), self.feedback.today()).map_err(bad)?;
        let (rows, total) = self
            .feedback
            .top_parts(&caller, period, branch, limit)
            .await?;
        Ok(Response::new(pb::TopReturnedPartsResponse {
            from_date: period.start().to_string(),
            to_date: period.last_day().to_string(),
            parts: rows
                .iter()
                .enumerate()
                .map(|(i, r)| pb::ReturnedPart {
                    rank: i as u32 + 1,
                    part_no: r.part_no.clone(),
                    quantity: r.quantity.max(0) as u32,
                    requests: r.requests.max(0) as u32,
                    share_bp: Ratio::new(r.quantity.max(0) as u64, total.max(0) as u64).bp(),
                })
                .collect(),
            period_name: period.name(),
        }))
    }

    async fn get_fill_rate(
        &self,
        request: Request<pb::GetFillRateRequest>,
    ) -> Result<Response<pb::GetFillRateResponse>, Status> {
        let caller = self.authorize(&request, ANALYSTS)?;
        let m = request.get_ref();
        let mut v = Violations::new();
        let span = reports::span(&mut v, "period_name", &m.period_name, "period", &m.period);
        let branch = v.check("branch", optional(&m.branch, BranchCode::parse));
        let (span, branch): (Span, Option<BranchCode>) =
            v.done(|| Some((span?, branch?))).map_err(bad)?;
        let (period, from, to, classes, overall) = self
            .feedback
            .fill_rate(&caller, span, branch.map(BranchCode::into_string))
            .await?;
        let p = &self.feedback.policy;
        Ok(Response::new(pb::GetFillRateResponse {
            classes: classes
                .iter()
                .map(|c| pb::FillRate {
                    lifecycle: wire::lifecycle_class(c.class) as i32,
                    fill_rate: Some(kpi(
                        c.lines,
                        c.class.target(),
                        c.class.target().map(|t| p.target(t)).unwrap_or(0),
                    )),
                    requests: c.requests,
                })
                .collect(),
            overall: Some(plain(overall)),
            period_name: period.map(|p| p.name()).unwrap_or_default(),
            period: Some(aftersales_platform::proto::common::v1::TimeRange {
                from: Some(timestamp(from)),
                to: Some(timestamp(to)),
            }),
        }))
    }

    async fn get_technician_evaluations(
        &self,
        request: Request<pb::GetTechnicianEvaluationsRequest>,
    ) -> Result<Response<pb::GetTechnicianEvaluationsResponse>, Status> {
        let caller = self.authorize(&request, ANALYSTS)?;
        let m = request.get_ref();
        let month = reports::month(&m.month, self.feedback.today()).map_err(bad)?;
        let branch = one("branch", optional(&m.branch, BranchCode::parse))?;
        let technician = one(
            "technician_id",
            aftersales_platform::validate::optional_text(&m.technician_id, 64),
        )?;
        let rows = self
            .feedback
            .technicians(
                &caller,
                month,
                branch.map(BranchCode::into_string),
                Some(technician).filter(|t| !t.is_empty()),
            )
            .await?;
        let target = self.feedback.policy.target(KpiName::Satisfaction);
        Ok(Response::new(pb::GetTechnicianEvaluationsResponse {
            month: month.name(),
            evaluations: rows
                .into_iter()
                .map(|r| pb::TechnicianEvaluation {
                    technician_id: r.technician_id,
                    branch: r.branch,
                    jobs_completed: r.jobs as u32,
                    arrival_on_time: Some(kpi(
                        r.arrival,
                        Some(KpiName::ArrivalSla),
                        self.feedback.policy.target(KpiName::ArrivalSla),
                    )),
                    rework_jobs: r.rework as u32,
                    first_time_fix: Some(kpi(
                        r.first_time_fix,
                        Some(KpiName::FirstTimeFix),
                        self.feedback.policy.target(KpiName::FirstTimeFix),
                    )),
                    surveys: r.satisfaction.denominator as u32,
                    satisfaction: Some(kpi(r.satisfaction, Some(KpiName::Satisfaction), target)),
                    attitude: Some(kpi(r.dimensions[0], None, target)),
                    technical_skill: Some(kpi(r.dimensions[1], None, target)),
                    arrival_time: Some(kpi(r.dimensions[2], None, target)),
                    promise_keeping: Some(kpi(r.dimensions[3], None, target)),
                    complaints: r.complaints as u32,
                    unresolved_surveys: r.unresolved as u32,
                })
                .collect(),
        }))
    }

    async fn get_assessment(
        &self,
        request: Request<pb::GetAssessmentRequest>,
    ) -> Result<Response<pb::GetAssessmentResponse>, Status> {
        let caller = self.authorize(&request, ANALYSTS)?;
        let m = request.get_ref();
        let mut v = Violations::new();
        let period = assessment::period(&mut v, &m.period, self.feedback.today());
        let branch = v.check("branch", optional(&m.branch, BranchCode::parse));
        let (period, branch) = v.done(|| Some((period?, branch?))).map_err(bad)?;
        let a = self
            .feedback
            .assessment(&caller, period, branch.map(BranchCode::into_string))
            .await?;
        Ok(Response::new(pb::GetAssessmentResponse {
            assessment: Some(self.assessment(&a)),
        }))
    }

    async fn list_assessments(
        &self,
        request: Request<pb::ListAssessmentsRequest>,
    ) -> Result<Response<pb::ListAssessmentsResponse>, Status> {
        let caller = self.authorize(&request, ANALYSTS)?;
        let branch = one(
            "branch",
            optional(&request.get_ref().branch, BranchCode::parse),
        )?;
        let list = self
            .feedback
            .assessments(&caller, branch.map(BranchCode::into_string))
            .await?;
        Ok(Response::new(pb::ListAssessmentsResponse {
            assessments: list.iter().map(|a| self.assessment(a)).collect(),
        }))
    }

    async fn record_assessment(
        &self,
        request: Request<pb::RecordAssessmentRequest>,
    ) -> Result<Response<pb::RecordAssessmentResponse>, Status> {
        let caller = self.authorize(&request, ANALYSTS)?;
        let cmd = RecordAssessment::try_from((request.get_ref(), self.feedback.policy.as_ref()))
            .map_err(bad)?;
        let a = self.feedback.record_assessment(&caller, cmd).await?;
        Ok(Response::new(pb::RecordAssessmentResponse {
            assessment: Some(self.assessment(&a)),
        }))
    }

    async fn rebuild_read_model(
        &self,
        request: Request<pb::RebuildReadModelRequest>,
    ) -> Result<Response<pb::RebuildReadModelResponse>, Status> {
        self.authorize(&request, NOBODY_BUT_ADMIN)?;
        let n = self.feedback.rebuild_read_model().await?;
        Ok(Response::new(pb::RebuildReadModelResponse {
            events_replayed: n,
        }))
    }
}
