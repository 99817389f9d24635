//! The tonic service. Every RPC does the same four things: authorize the caller (role and
//! scope: a branch sees its own branch, a technician their own work orders), parse the request
//! once into a command ([`parse`], naming every bad field at once), call [`FieldService`], and
//! answer through [`crate::wire`]. Errors map to a status one way, the platform's.

pub mod parse;

use aftersales_platform::auth::{Caller, Role, Verifier};
use aftersales_platform::paging;
use aftersales_platform::proto::fieldservice::v1 as pb;
use aftersales_platform::proto::fieldservice::v1::field_service_service_server::FieldServiceService;
use prost::Message;
use serde::Serialize;
use tonic::{Request, Response, Status};

use self::parse::{Paged, ReworkQuery, WorkOrderQuery, work_order_no};
use crate::domain::TechnicianId;
use crate::domain::rework::Stat;
use crate::error::Error;
use crate::service::board::{BoardQuery, UpdateStatus};
use crate::service::completion::{Complete, Inspect};
use crate::service::opening::NewWorkOrder;
use crate::service::paid::{AnswerQuote, DecideChange, ProposeChange, Quote};
use crate::service::scheduling::{DispatchCmd, HoldSlot, Schedule, Suggest};
use crate::service::technicians::{Register, TechnicianQuery};
use crate::service::tools::{GiveBack, Lend, LoanQuery};
use crate::service::{Actor, FieldService, Keyed};
use crate::wire;

/// Who registers technicians, opens work orders by hand and sees rework figures.
const DISPATCHERS: &[Role] = &[Role::Dispatcher];
/// Who books appointments (a branch agent books for the customer on the phone).
const BOOKERS: &[Role] = &[Role::Dispatcher, Role::BranchAgent];
/// Who moves work orders (a technician only their own).
const FIELD: &[Role] = &[Role::Dispatcher, Role::Technician];
/// Who reads work orders and technicians.
const READERS: &[Role] = &[
    Role::Dispatcher,
    Role::Technician,
    Role::BranchAgent,
    Role::Analyst,
];
/// Who lends and takes back tools.
const TOOLS: &[Role] = &[Role::Dispatcher, Role::Technician, Role::Warehouse];
const ANALYSTS: &[Role] = &[Role::Dispatcher, Role::Analyst];

pub struct Api {
    pub svc: FieldService,
    pub verifier: Verifier,
    pub max_page_size: u32,
}

/// The rules' view of a verified caller. A technician who is nothing more sees and moves only
/// the work orders booked with them (their token's `sub` is their technician id).
pub fn actor(caller: &Caller) -> Actor {
    let restricted = caller.roles.contains(&Role::Technician)
        && !caller.roles.contains(&Role::Dispatcher)
        && !caller.roles.contains(&Role::Admin);
    Actor {
        subject: caller.subject.clone(),
        branch: caller.branch().map(str::to_owned),
        technician: restricted.then(|| {
            TechnicianId::parse(&caller.subject)
                .map(|t| t.as_str().to_owned())
                .unwrap_or_else(|_| caller.subject.clone())
        }),
    }
}

fn keyed<M: Message>(msg: &M, k: &str) -> Keyed {
    let t = k.trim();
    Keyed {
        key: (!t.is_empty()).then(|| t.to_owned()),
        request: msg.encode_to_vec(),
    }
}

fn next_token<K: Serialize>(next: Option<K>) -> String {
    next.map(|k| paging::encode(&k)).unwrap_or_default()
}

fn stat(s: &Stat) -> pb::ReworkStat {
    pb::ReworkStat {
        key: s.key.clone(),
        completed: s.completed,
        external_rework: s.external,
        internal_rework: s.internal,
        rework_rate: s.rate(),
    }
}

impl Api {
    fn authorize<T>(&self, req: &Request<T>, roles: &[Role]) -> Result<Actor, Status> {
        let caller = self.verifier.require(req.metadata(), roles)?;
        Ok(actor(&caller))
    }

    fn work_order(&self, wo: &crate::domain::WorkOrder) -> pb::WorkOrder {
        wire::work_order(
            wo,
            &self.svc.policy.currency,
            &self.svc.calendar,
            self.svc.clock.now(),
        )
    }

    fn paged<'a, M>(&self, msg: &'a M) -> Paged<'a, M> {
        Paged {
            msg,
            max_page_size: self.max_page_size,
        }
    }
}

fn bad<T>(r: Result<T, aftersales_platform::validate::Invalid>) -> Result<T, Status> {
    r.map_err(|e| Error::from(e).into())
}

#[tonic::async_trait]
impl FieldServiceService for Api {
    async fn register_technician(
        &self,
        request: Request<pb::RegisterTechnicianRequest>,
    ) -> Result<Response<pb::RegisterTechnicianResponse>, Status> {
        let actor = self.authorize(&request, DISPATCHERS)?;
        let cmd = bad(Register::try_from(request.get_ref()))?;
        let (t, created) = self.svc.register(&actor, cmd).await?;
        Ok(Response::new(pb::RegisterTechnicianResponse {
            technician: Some(wire::technician(&t)),
            created,
        }))
    }

    async fn list_technicians(
        &self,
        request: Request<pb::ListTechniciansRequest>,
    ) -> Result<Response<pb::ListTechniciansResponse>, Status> {
        let actor = self.authorize(&request, READERS)?;
        let q = bad(TechnicianQuery::try_from(self.paged(request.get_ref())))?;
        let (rows, next) = self.svc.technicians(&actor, q).await?;
        Ok(Response::new(pb::ListTechniciansResponse {
            technicians: rows
                .iter()
                .map(|(t, booked)| pb::TechnicianLoad {
                    technician: Some(wire::technician(t)),
                    booked: *booked,
                })
                .collect(),
            next_page_token: next_token(next),
        }))
    }

    async fn create_work_order(
        &self,
        request: Request<pb::CreateWorkOrderRequest>,
    ) -> Result<Response<pb::CreateWorkOrderResponse>, Status> {
        let actor = self.authorize(&request, DISPATCHERS)?;
        let r = request.get_ref();
        let cmd = bad(NewWorkOrder::try_from(r))?;
        let wo = self
            .svc
            .create(&actor, &keyed(r, &r.idempotency_key), cmd)
            .await?;
        Ok(Response::new(pb::CreateWorkOrderResponse {
            work_order: Some(self.work_order(&wo)),
        }))
    }

    async fn suggest_slots(
        &self,
        request: Request<pb::SuggestSlotsRequest>,
    ) -> Result<Response<pb::SuggestSlotsResponse>, Status> {
        let actor = self.authorize(&request, BOOKERS)?;
        let cmd = bad(Suggest::try_from(request.get_ref()))?;
        let (ranked, due) = self.svc.suggest(&actor, cmd).await?;
        Ok(Response::new(pb::SuggestSlotsResponse {
            suggestions: ranked
                .iter()
                .map(|s| pb::SlotSuggestion {
                    slot: Some(pb::Slot {
                        technician_id: s.candidate.technician_id.clone(),
                        technician_name: s.candidate.technician_name.clone(),
                        window: Some(wire::window(&s.candidate.window)),
                    }),
                    booked: s.candidate.booked,
                    capacity: s.candidate.capacity,
                    territory_match: s.candidate.territory_match,
                    before_arrival_due: s.before_arrival_due,
                    score: s.score,
                    reasons: s.reasons.clone(),
                })
                .collect(),
            arrival_due_at: wire::ts(due),
        }))
    }

    async fn hold_slot(
        &self,
        request: Request<pb::HoldSlotRequest>,
    ) -> Result<Response<pb::HoldSlotResponse>, Status> {
        let actor = self.authorize(&request, BOOKERS)?;
        let cmd = bad(HoldSlot::try_from(request.get_ref()))?;
        let h = self.svc.hold(&actor, cmd).await?;
        Ok(Response::new(pb::HoldSlotResponse {
            hold: Some(pb::SlotHold {
                hold_id: h.hold.hold_id,
                work_order_no: h.hold.work_order_no,
                slot: Some(pb::Slot {
                    technician_id: h.technician.technician_id,
                    technician_name: h.technician.name,
                    window: Some(wire::window(&h.window)),
                }),
                expires_at: Some(wire::timestamp(h.hold.expires_at)),
            }),
        }))
    }

    async fn schedule_appointment(
        &self,
        request: Request<pb::ScheduleAppointmentRequest>,
    ) -> Result<Response<pb::ScheduleAppointmentResponse>, Status> {
        let actor = self.authorize(&request, BOOKERS)?;
        let r = request.get_ref();
        let cmd = bad(Schedule::try_from(r))?;
        let wo = self
            .svc
            .schedule(&actor, &keyed(r, &r.idempotency_key), cmd)
            .await?;
        Ok(Response::new(pb::ScheduleAppointmentResponse {
            work_order: Some(self.work_order(&wo)),
        }))
    }

    async fn dispatch(
        &self,
        request: Request<pb::DispatchRequest>,
    ) -> Result<Response<pb::DispatchResponse>, Status> {
        let actor = self.authorize(&request, FIELD)?;
        let r = request.get_ref();
        let cmd = bad(DispatchCmd::try_from(r))?;
        let wo = self
            .svc
            .dispatch(&actor, &keyed(r, &r.idempotency_key), cmd)
            .await?;
        Ok(Response::new(pb::DispatchResponse {
            work_order: Some(self.work_order(&wo)),
        }))
    }

    async fn update_status(
        &self,
        request: Request<pb::UpdateStatusRequest>,
    ) -> Result<Response<pb::UpdateStatusResponse>, Status> {
        let actor = self.authorize(&request, FIELD)?;
        let r = request.get_ref();
        let cmd = bad(UpdateStatus::try_from(r))?;
        let wo = self
            .svc
            .update_status(&actor, &keyed(r, &r.idempotency_key), cmd)
            .await?;
        Ok(Response::new(pb::UpdateStatusResponse {
            work_order: Some(self.work_order(&wo)),
        }))
    }

    async fn submit_quotation(
        &self,
        request: Request<pb::SubmitQuotationRequest>,
    ) -> Result<Response<pb::SubmitQuotationResponse>, Status> {
        let actor = self.authorize(&request, FIELD)?;
        let r = request.get_ref();
        let cmd = bad(Quote::try_from(r))?;
        let wo = self
            .svc
            .quote(&actor, &keyed(r, &r.idempotency_key), cmd)
            .await?;
        Ok(Response::new(pb::SubmitQuotationResponse {
            work_order: Some(self.work_order(&wo)),
        }))
    }

    async fn approve_quotation(
        &self,
        request: Request<pb::ApproveQuotationRequest>,
    ) -> Result<Response<pb::ApproveQuotationResponse>, Status> {
        let actor = self.authorize(&request, FIELD)?;
        let r = request.get_ref();
        let cmd = bad(AnswerQuote::try_from(r))?;
        let wo = self
            .svc
            .answer_quote(&actor, &keyed(r, &r.idempotency_key), cmd)
            .await?;
        Ok(Response::new(pb::ApproveQuotationResponse {
            work_order: Some(self.work_order(&wo)),
        }))
    }

    async fn propose_change(
        &self,
        request: Request<pb::ProposeChangeRequest>,
    ) -> Result<Response<pb::ProposeChangeResponse>, Status> {
        let actor = self.authorize(&request, FIELD)?;
        let r = request.get_ref();
        let cmd = bad(ProposeChange::try_from(r))?;
        let (wo, change_id) = self
            .svc
            .propose_change(&actor, &keyed(r, &r.idempotency_key), cmd)
            .await?;
        Ok(Response::new(pb::ProposeChangeResponse {
            work_order: Some(self.work_order(&wo)),
            change_id,
        }))
    }

    async fn decide_change(
        &self,
        request: Request<pb::DecideChangeRequest>,
    ) -> Result<Response<pb::DecideChangeResponse>, Status> {
        let actor = self.authorize(&request, FIELD)?;
        let r = request.get_ref();
        let cmd = bad(DecideChange::try_from(r))?;
        let wo = self
            .svc
            .decide_change(&actor, &keyed(r, &r.idempotency_key), cmd)
            .await?;
        Ok(Response::new(pb::DecideChangeResponse {
            work_order: Some(self.work_order(&wo)),
        }))
    }

    async fn complete_work_order(
        &self,
        request: Request<pb::CompleteWorkOrderRequest>,
    ) -> Result<Response<pb::CompleteWorkOrderResponse>, Status> {
        let actor = self.authorize(&request, FIELD)?;
        let r = request.get_ref();
        let cmd = bad(Complete::try_from(r))?;
        let wo = self
            .svc
            .complete(&actor, &keyed(r, &r.idempotency_key), cmd)
            .await?;
        Ok(Response::new(pb::CompleteWorkOrderResponse {
            work_order: Some(self.work_order(&wo)),
        }))
    }

    async fn record_final_inspection(
        &self,
        request: Request<pb::RecordFinalInspectionRequest>,
    ) -> Result<Response<pb::RecordFinalInspectionResponse>, Status> {
        let actor = self.authorize(&request, FIELD)?;
        let r = request.get_ref();
        let cmd = bad(Inspect::try_from(r))?;
        let wo = self
            .svc
            .inspect(&actor, &keyed(r, &r.idempotency_key), cmd)
            .await?;
        Ok(Response::new(pb::RecordFinalInspectionResponse {
            work_order: Some(self.work_order(&wo)),
        }))
    }

    async fn get_work_order(
        &self,
        request: Request<pb::GetWorkOrderRequest>,
    ) -> Result<Response<pb::GetWorkOrderResponse>, Status> {
        let actor = self.authorize(&request, READERS)?;
        let no = work_order_no(&request.get_ref().work_order_no)
            .map_err(|e| Status::from(Error::invalid("work_order_no", e)))?;
        let wo = self.svc.get(&actor, &no).await?;
        Ok(Response::new(pb::GetWorkOrderResponse {
            work_order: Some(self.work_order(&wo)),
        }))
    }

    async fn list_work_orders(
        &self,
        request: Request<pb::ListWorkOrdersRequest>,
    ) -> Result<Response<pb::ListWorkOrdersResponse>, Status> {
        let actor = self.authorize(&request, READERS)?;
        let q = bad(WorkOrderQuery::try_from(self.paged(request.get_ref())))?;
        let (rows, next) = self.svc.list(&actor, q.filter, q.page).await?;
        Ok(Response::new(pb::ListWorkOrdersResponse {
            work_orders: rows.iter().map(|w| self.work_order(w)).collect(),
            next_page_token: next_token(next),
        }))
    }

    async fn get_board(
        &self,
        request: Request<pb::GetBoardRequest>,
    ) -> Result<Response<pb::GetBoardResponse>, Status> {
        let actor = self.authorize(&request, READERS)?;
        let q = bad(BoardQuery::try_from(request.get_ref()))?;
        let (columns, now) = self.svc.board(&actor, q).await?;
        Ok(Response::new(pb::GetBoardResponse {
            columns: columns
                .iter()
                .map(|(s, cards)| pb::BoardColumn {
                    status: wire::status(*s),
                    cards: cards
                        .iter()
                        .map(|w| wire::board_card(w, &self.svc.calendar, now))
                        .collect(),
                    count: cards.len() as u32,
                })
                .collect(),
            as_of: Some(wire::timestamp(now)),
        }))
    }

    async fn loan_tool(
        &self,
        request: Request<pb::LoanToolRequest>,
    ) -> Result<Response<pb::LoanToolResponse>, Status> {
        let actor = self.authorize(&request, TOOLS)?;
        let r = request.get_ref();
        let cmd = bad(Lend::try_from(r))?;
        let loan = self
            .svc
            .lend(&actor, &keyed(r, &r.idempotency_key), cmd)
            .await?;
        Ok(Response::new(pb::LoanToolResponse {
            loan: Some(wire::loan(&loan, self.svc.today())),
        }))
    }

    async fn return_tool(
        &self,
        request: Request<pb::ReturnToolRequest>,
    ) -> Result<Response<pb::ReturnToolResponse>, Status> {
        let actor = self.authorize(&request, TOOLS)?;
        let cmd = bad(GiveBack::try_from(request.get_ref()))?;
        let loan = self.svc.give_back(&actor, cmd).await?;
        Ok(Response::new(pb::ReturnToolResponse {
            loan: Some(wire::loan(&loan, self.svc.today())),
        }))
    }

    async fn list_tool_loans(
        &self,
        request: Request<pb::ListToolLoansRequest>,
    ) -> Result<Response<pb::ListToolLoansResponse>, Status> {
        let actor = self.authorize(&request, TOOLS)?;
        let q = bad(LoanQuery::try_from(self.paged(request.get_ref())))?;
        let (rows, next) = self.svc.loans(&actor, q).await?;
        let today = self.svc.today();
        Ok(Response::new(pb::ListToolLoansResponse {
            loans: rows.iter().map(|l| wire::loan(l, today)).collect(),
            next_page_token: next_token(next),
        }))
    }

    async fn get_rework_statistics(
        &self,
        request: Request<pb::GetReworkStatisticsRequest>,
    ) -> Result<Response<pb::GetReworkStatisticsResponse>, Status> {
        let actor = self.authorize(&request, ANALYSTS)?;
        let q = bad(ReworkQuery::try_from(request.get_ref()))?;
        let s = self
            .svc
            .rework_statistics(&actor, q.branch, q.from, q.to)
            .await?;
        Ok(Response::new(pb::GetReworkStatisticsResponse {
            by_model: s.by_model.iter().map(stat).collect(),
            by_technician: s.by_technician.iter().map(stat).collect(),
            window_days: s.window_days,
        }))
    }
}
