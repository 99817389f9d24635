//! The tonic service. Every RPC does the same four things: authorize the caller (role, and a
//! branch user sees only its branch's shipments, pick-ups and consignments, a dealer only its
//! own consignments: another's answers NOT_FOUND), parse the request once into a command
//! ([`parse`], naming every bad field at once), call [`Logistics`], and answer through
//! [`crate::wire`]. Errors map to a status one way, the platform's.

pub mod parse;

use aftersales_platform::auth::{Caller, Role, Verifier};
use aftersales_platform::grpc::record_request_no;
use aftersales_platform::paging;
use aftersales_platform::proto::logistics::v1 as pb;
use aftersales_platform::proto::logistics::v1::logistics_service_server::LogisticsService;
use tonic::{Request, Response, Status};

use crate::error::Error;
use crate::service::{
    CloseException, CompletePickup, Dispatch, FreightQuery, Logistics, PlanShipment,
    ReportException, SchedulePickup, ShipmentKey, ShipmentQuery, ShipmentView, Target, Track,
};
use crate::wire;
use parse::Paged;

/// Who plans, dispatches, records tracking and handles exceptions: the logistics clerk, and the
/// gateway's carrier-webhook credential (role `logistics`).
pub const OPERATORS: &[Role] = &[Role::Logistics];
/// Who may read shipments, pick-ups and freight statistics (within their branch).
const READERS: &[Role] = &[
    Role::BranchAgent,
    Role::Reviewer,
    Role::Warehouse,
    Role::Procurement,
    Role::Logistics,
    Role::Dispatcher,
    Role::Technician,
    Role::Analyst,
];
/// Who may read a dealer's consignment (GetConsignment): head office and branch staff within
/// their branch, and the dealer itself (its own only).
const CONSIGNMENT_READERS: &[Role] = &[
    Role::Logistics,
    Role::Dispatcher,
    Role::Warehouse,
    Role::Reviewer,
    Role::Dealer,
];
/// Who books a return pick-up: logistics, and the branch agent for its own customers.
const PICKUP_BOOKERS: &[Role] = &[Role::Logistics, Role::BranchAgent];
/// Who confirms a returned unit reached the returns intake: logistics, and the warehouse clerk
/// at the intake.
const RETURNS_INTAKE: &[Role] = &[Role::Logistics, Role::Warehouse];

pub struct Api {
    pub logistics: Logistics,
    pub verifier: Verifier,
    pub max_page_size: u32,
}

impl Api {
    fn authorize<T>(&self, req: &Request<T>, roles: &[Role]) -> Result<Caller, Status> {
        Ok(self.verifier.require(req.metadata(), roles)?)
    }

    fn view(&self, v: &ShipmentView) -> pb::Shipment {
        wire::shipment(&v.shipment, &v.tracking, &v.exceptions)
    }

    async fn answer_shipment(&self, no: &str, caller: &Caller) -> Result<pb::Shipment, Status> {
        let v = self
            .logistics
            .shipment(&ShipmentKey::No(no.to_owned()), caller.branch())
            .await?;
        Ok(self.view(&v))
    }
}

fn scope(caller: &Caller) -> Option<String> {
    caller.branch().map(str::to_owned)
}

#[tonic::async_trait]
impl LogisticsService for Api {
    async fn plan_shipment(
        &self,
        request: Request<pb::PlanShipmentRequest>,
    ) -> Result<Response<pb::PlanShipmentResponse>, Status> {
        let caller = self.authorize(&request, OPERATORS)?;
        let mut cmd = PlanShipment::try_from(request.get_ref()).map_err(Error::from)?;
        record_request_no(cmd.request_no.as_str());
        cmd.scope = scope(&caller);
        let s = self.logistics.plan_shipment(cmd).await?;
        Ok(Response::new(pb::PlanShipmentResponse {
            shipment: Some(self.answer_shipment(&s.shipment_no, &caller).await?),
        }))
    }

    async fn get_shipment(
        &self,
        request: Request<pb::GetShipmentRequest>,
    ) -> Result<Response<pb::GetShipmentResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let key = ShipmentKey::try_from(request.get_ref()).map_err(Error::from)?;
        let v = self.logistics.shipment(&key, caller.branch()).await?;
        record_request_no(&v.shipment.request_no);
        Ok(Response::new(pb::GetShipmentResponse {
            shipment: Some(self.view(&v)),
        }))
    }

    async fn list_shipments(
        &self,
        request: Request<pb::ListShipmentsRequest>,
    ) -> Result<Response<pb::ListShipmentsResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let mut q = ShipmentQuery::try_from(Paged {
            msg: request.get_ref(),
            max_page_size: self.max_page_size,
        })
        .map_err(Error::from)?;
        // A branch sees only its own; asking for another branch finds nothing.
        if let Some(own) = caller.branch() {
            if q.filter.branch.as_deref().is_some_and(|b| b != own) {
                return Ok(Response::new(pb::ListShipmentsResponse::default()));
            }
            q.filter.branch = Some(own.to_owned());
        }
        let (rows, next) = self.logistics.shipments(&q).await?;
        Ok(Response::new(pb::ListShipmentsResponse {
            shipments: rows.iter().map(|v| self.view(v)).collect(),
            next_page_token: next.map(|k| paging::encode(&k)).unwrap_or_default(),
        }))
    }

    async fn get_consignment(
        &self,
        request: Request<pb::GetConsignmentRequest>,
    ) -> Result<Response<pb::GetConsignmentResponse>, Status> {
        let caller = self.authorize(&request, CONSIGNMENT_READERS)?;
        let dealer = caller.dealer_scope().map_err(Error::from)?;
        let id = parse::consignment_id(&request.get_ref().consignment_id)
            .map_err(|e| Error::invalid("consignment_id", e))?;
        let c = self
            .logistics
            .dealer_consignment(&id, caller.branch(), dealer)
            .await?;
        Ok(Response::new(pb::GetConsignmentResponse {
            consignment: Some(wire::consignment(&c)),
        }))
    }

    async fn dispatch_shipment(
        &self,
        request: Request<pb::DispatchShipmentRequest>,
    ) -> Result<Response<pb::DispatchShipmentResponse>, Status> {
        let caller = self.authorize(&request, OPERATORS)?;
        let mut cmd = Dispatch::try_from(request.get_ref()).map_err(Error::from)?;
        cmd.scope = scope(&caller);
        let s = self.logistics.dispatch_shipment(cmd).await?;
        record_request_no(&s.request_no);
        Ok(Response::new(pb::DispatchShipmentResponse {
            shipment: Some(self.answer_shipment(&s.shipment_no, &caller).await?),
        }))
    }

    async fn record_tracking_event(
        &self,
        request: Request<pb::RecordTrackingEventRequest>,
    ) -> Result<Response<pb::RecordTrackingEventResponse>, Status> {
        let caller = self.authorize(&request, OPERATORS)?;
        let mut cmd = Track::try_from(request.get_ref()).map_err(Error::from)?;
        cmd.scope = scope(&caller);
        let (target, applied) = self.logistics.record_tracking(cmd).await?;
        let target = match target {
            Target::Shipment(s) => {
                record_request_no(&s.request_no);
                pb::record_tracking_event_response::Target::Shipment(
                    self.answer_shipment(&s.shipment_no, &caller).await?,
                )
            }
            Target::Pickup(p) => {
                record_request_no(&p.request_no);
                let (p, t) = self.logistics.pickup(&p.pickup_no, caller.branch()).await?;
                pb::record_tracking_event_response::Target::Pickup(wire::pickup(&p, &t))
            }
        };
        Ok(Response::new(pb::RecordTrackingEventResponse {
            target: Some(target),
            applied,
        }))
    }

    async fn report_exception(
        &self,
        request: Request<pb::ReportExceptionRequest>,
    ) -> Result<Response<pb::ReportExceptionResponse>, Status> {
        let caller = self.authorize(&request, OPERATORS)?;
        let mut cmd = ReportException::try_from(request.get_ref()).map_err(Error::from)?;
        cmd.scope = scope(&caller);
        cmd.actor = caller.subject.clone();
        let (s, e) = self.logistics.report_exception(cmd).await?;
        record_request_no(&s.request_no);
        Ok(Response::new(pb::ReportExceptionResponse {
            shipment: Some(self.answer_shipment(&s.shipment_no, &caller).await?),
            exception: Some(wire::exception(&e)),
        }))
    }

    async fn close_exception(
        &self,
        request: Request<pb::CloseExceptionRequest>,
    ) -> Result<Response<pb::CloseExceptionResponse>, Status> {
        let caller = self.authorize(&request, OPERATORS)?;
        let mut cmd = CloseException::try_from(request.get_ref()).map_err(Error::from)?;
        cmd.scope = scope(&caller);
        cmd.actor = caller.subject.clone();
        let (s, e) = self.logistics.close_exception(cmd).await?;
        record_request_no(&s.request_no);
        Ok(Response::new(pb::CloseExceptionResponse {
            shipment: Some(self.answer_shipment(&s.shipment_no, &caller).await?),
            exception: Some(wire::exception(&e)),
        }))
    }

    async fn schedule_pickup(
        &self,
        request: Request<pb::SchedulePickupRequest>,
    ) -> Result<Response<pb::SchedulePickupResponse>, Status> {
        let caller = self.authorize(&request, PICKUP_BOOKERS)?;
        let mut cmd = SchedulePickup::try_from(request.get_ref()).map_err(Error::from)?;
        record_request_no(cmd.request_no.as_str());
        cmd.scope = scope(&caller);
        let p = self.logistics.schedule_pickup(cmd).await?;
        let (p, t) = self.logistics.pickup(&p.pickup_no, caller.branch()).await?;
        Ok(Response::new(pb::SchedulePickupResponse {
            pickup: Some(wire::pickup(&p, &t)),
        }))
    }

    async fn complete_pickup(
        &self,
        request: Request<pb::CompletePickupRequest>,
    ) -> Result<Response<pb::CompletePickupResponse>, Status> {
        let caller = self.authorize(&request, RETURNS_INTAKE)?;
        let mut cmd = CompletePickup::try_from(request.get_ref()).map_err(Error::from)?;
        cmd.scope = scope(&caller);
        let p = self.logistics.complete_pickup(cmd).await?;
        record_request_no(&p.request_no);
        let (p, t) = self.logistics.pickup(&p.pickup_no, caller.branch()).await?;
        Ok(Response::new(pb::CompletePickupResponse {
            pickup: Some(wire::pickup(&p, &t)),
        }))
    }

    async fn get_pickup(
        &self,
        request: Request<pb::GetPickupRequest>,
    ) -> Result<Response<pb::GetPickupResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let no = parse::number("PU", &request.get_ref().pickup_no)
            .map_err(|e| Error::invalid("pickup_no", e))?;
        let (p, t) = self.logistics.pickup(&no, caller.branch()).await?;
        record_request_no(&p.request_no);
        Ok(Response::new(pb::GetPickupResponse {
            pickup: Some(wire::pickup(&p, &t)),
        }))
    }

    async fn get_freight_stats(
        &self,
        request: Request<pb::GetFreightStatsRequest>,
    ) -> Result<Response<pb::GetFreightStatsResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let mut q = FreightQuery::try_from(request.get_ref()).map_err(Error::from)?;
        if let Some(own) = caller.branch() {
            if q.branch.as_deref().is_some_and(|b| b != own) {
                return Ok(Response::new(pb::GetFreightStatsResponse {
                    rows: Vec::new(),
                    total: Some(wire::stats_row(
                        &Default::default(),
                        &self.logistics.policy.currency,
                    )),
                }));
            }
            q.branch = Some(own.to_owned());
        }
        let (rows, total) = self.logistics.freight(&q).await?;
        let currency = &self.logistics.policy.currency;
        Ok(Response::new(pb::GetFreightStatsResponse {
            rows: rows.iter().map(|r| wire::stats_row(r, currency)).collect(),
            total: Some(wire::stats_row(&total, currency)),
        }))
    }
}
