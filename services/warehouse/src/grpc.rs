//! The tonic service. Every RPC does the same four things: authorize the caller, parse the
//! request once into a command (the `TryFrom` of its area's module, naming every bad field at
//! once), call [`Warehouse`], and answer through its area's conversions. Errors map to a status
//! one way, the platform's.
//!
//! The areas: [`catalogue`] (parts, stock, the ledger, back-orders), [`inbound`] (receipts and
//! inspection), [`outbound`] (pick lists and issue), [`old_parts`] (old parts and returns to
//! suppliers), [`returns`] (units returned by customers), [`stocktake`] (stocktakes, period
//! close, ABC classification).

mod catalogue;
mod inbound;
mod old_parts;
mod outbound;
mod returns;
mod stocktake;

use aftersales_platform::auth::{Caller, Role, Verifier};
use aftersales_platform::paging;
use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::proto::warehouse::v1::warehouse_service_server::WarehouseService;
use aftersales_platform::validate::Violations;
use chrono::NaiveDate;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::{Request, Response, Status};

pub use catalogue::part_to_proto;
pub use outbound::pick_list_to_proto;

use crate::domain::{PartNo, PartSpec, PickListId};
use crate::error::Error;
use crate::service::{
    BackorderQuery, CloseStocktake, InspectReturn, IssueParts, LedgerQuery, OpenStocktake,
    OverdueQuery, Page, PartsQuery, ReceiveGoods, ReceiveOldPart, ReceiveReturn, RecordCount,
    RecordInspection, ReturnToSupplier, Warehouse,
};

/// Who may move stock and change the catalogue (admin always may).
const WRITERS: &[Role] = &[Role::Warehouse];
/// Who may read stock, the ledger and back-orders.
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
/// Who may classify the catalogue.
const ANALYSTS: &[Role] = &[Role::Warehouse, Role::Procurement, Role::Analyst];

pub struct Api {
    pub warehouse: Warehouse,
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

/// The page a list request asks for: its size (0: `default`) and the opaque token of the
/// platform's one scheme, decoded to the list's sort key.
fn page<K: DeserializeOwned>(
    v: &mut Violations,
    size: u32,
    token: &str,
    default: u32,
    max: u32,
) -> Option<Page<K>> {
    let size = v.check("page_size", paging::page_size(size, default, max));
    let after = v.check("page_token", paging::decode::<K>(token));
    Some(Page {
        size: size?,
        after: after?,
    })
}

/// The token of the next page: empty when there is none.
fn next_token<K: Serialize>(next: Option<K>) -> String {
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

/// An optional identifier: empty is `None`.
fn optional<T>(s: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<Option<T>, String> {
    if s.trim().is_empty() {
        Ok(None)
    } else {
        parse(s).map(Some)
    }
}

/// A branch sees only its own rows; head office sees every branch. `None` when the caller
/// asked for another branch, of which it sees nothing (answered as an empty list, exactly as if
/// there were none).
fn scope(caller: &Caller, asked: Option<String>) -> Option<Option<String>> {
    match caller.branch() {
        Some(b) if asked.as_deref().is_some_and(|a| a != b) => None,
        Some(b) => Some(Some(b.to_owned())),
        None => Some(asked),
    }
}

/// The one field of a request that only names something.
fn one<T>(field: &str, parsed: Result<T, String>) -> Result<T, Status> {
    parsed.map_err(|e| Error::invalid(field, e).into())
}

#[tonic::async_trait]
impl WarehouseService for Api {
    async fn upsert_part(
        &self,
        request: Request<pb::UpsertPartRequest>,
    ) -> Result<Response<pb::UpsertPartResponse>, Status> {
        self.authorize(&request, WRITERS)?;
        let entry = PartSpec::try_from(request.get_ref()).map_err(Error::from)?;
        let (part, created) = self.warehouse.upsert_part(entry).await?;
        Ok(Response::new(pb::UpsertPartResponse {
            part: Some(part_to_proto(&part)),
            created,
        }))
    }

    async fn get_part(
        &self,
        request: Request<pb::GetPartRequest>,
    ) -> Result<Response<pb::GetPartResponse>, Status> {
        self.authorize(&request, READERS)?;
        let no = one("part_no", PartNo::parse(&request.get_ref().part_no))?;
        let part = self.warehouse.get_part(&no).await?;
        Ok(Response::new(pb::GetPartResponse {
            part: Some(part_to_proto(&part)),
        }))
    }

    async fn list_parts(
        &self,
        request: Request<pb::ListPartsRequest>,
    ) -> Result<Response<pb::ListPartsResponse>, Status> {
        self.authorize(&request, READERS)?;
        let q = PartsQuery::try_from(self.paged(request.get_ref())).map_err(Error::from)?;
        let (rows, next) = self.warehouse.list_parts(q).await?;
        Ok(Response::new(pb::ListPartsResponse {
            parts: rows.iter().map(part_to_proto).collect(),
            next_page_token: next_token(next),
        }))
    }

    async fn get_stock(
        &self,
        request: Request<pb::GetStockRequest>,
    ) -> Result<Response<pb::GetStockResponse>, Status> {
        self.authorize(&request, READERS)?;
        let no = one("part_no", PartNo::parse(&request.get_ref().part_no))?;
        let s = self.warehouse.stock(&no).await?;
        Ok(Response::new(pb::GetStockResponse {
            stock: Some(catalogue::stock_to_proto(&s)),
        }))
    }

    async fn list_ledger(
        &self,
        request: Request<pb::ListLedgerRequest>,
    ) -> Result<Response<pb::ListLedgerResponse>, Status> {
        self.authorize(&request, READERS)?;
        let q = LedgerQuery::try_from(self.paged(request.get_ref())).map_err(Error::from)?;
        let (rows, next) = self.warehouse.ledger(q).await?;
        Ok(Response::new(pb::ListLedgerResponse {
            entries: rows.iter().map(catalogue::ledger_to_proto).collect(),
            next_page_token: next_token(next),
        }))
    }

    async fn list_backorders(
        &self,
        request: Request<pb::ListBackordersRequest>,
    ) -> Result<Response<pb::ListBackordersResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let mut q = BackorderQuery::try_from(self.paged(request.get_ref())).map_err(Error::from)?;
        let Some(branch) = scope(&caller, q.branch.take()) else {
            return Ok(Response::new(pb::ListBackordersResponse::default()));
        };
        q.branch = branch;
        let (rows, next) = self.warehouse.backorders(q).await?;
        Ok(Response::new(pb::ListBackordersResponse {
            backorders: rows.iter().map(catalogue::backorder_to_proto).collect(),
            next_page_token: next_token(next),
        }))
    }

    async fn receive_goods(
        &self,
        request: Request<pb::ReceiveGoodsRequest>,
    ) -> Result<Response<pb::ReceiveGoodsResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let cmd = ReceiveGoods::try_from(request.get_ref()).map_err(Error::from)?;
        let receipt = self.warehouse.receive_goods(&caller.subject, cmd).await?;
        Ok(Response::new(pb::ReceiveGoodsResponse {
            receipt: Some(inbound::receipt_to_proto(&receipt)),
        }))
    }

    async fn record_inspection(
        &self,
        request: Request<pb::RecordInspectionRequest>,
    ) -> Result<Response<pb::RecordInspectionResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let cmd = RecordInspection::try_from(request.get_ref()).map_err(Error::from)?;
        let receipt = self
            .warehouse
            .record_inspection(&caller.subject, cmd)
            .await?;
        Ok(Response::new(pb::RecordInspectionResponse {
            receipt: Some(inbound::receipt_to_proto(&receipt)),
        }))
    }

    async fn get_pick_list(
        &self,
        request: Request<pb::GetPickListRequest>,
    ) -> Result<Response<pb::GetPickListResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let id = one(
            "pick_list_id",
            PickListId::parse(&request.get_ref().pick_list_id),
        )?;
        let r = self.warehouse.pick_list(&id).await?;
        if !caller.sees_branch(&r.branch) {
            return Err(Error::not_found(format!("pick list {id}")).into());
        }
        Ok(Response::new(pb::GetPickListResponse {
            pick_list: Some(pick_list_to_proto(&r)),
        }))
    }

    async fn issue_parts(
        &self,
        request: Request<pb::IssuePartsRequest>,
    ) -> Result<Response<pb::IssuePartsResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let mut cmd = IssueParts::try_from(request.get_ref()).map_err(Error::from)?;
        cmd.branch_scope = caller.branch().map(str::to_owned);
        let r = self.warehouse.issue(&caller.subject, cmd).await?;
        Ok(Response::new(pb::IssuePartsResponse {
            pick_list: Some(pick_list_to_proto(&r)),
        }))
    }

    async fn receive_old_part(
        &self,
        request: Request<pb::ReceiveOldPartRequest>,
    ) -> Result<Response<pb::ReceiveOldPartResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let cmd = ReceiveOldPart::try_from(request.get_ref()).map_err(Error::from)?;
        let (r, was_expected) = self
            .warehouse
            .receive_old_part(&caller.subject, cmd)
            .await?;
        Ok(Response::new(pb::ReceiveOldPartResponse {
            old_part: Some(old_parts::old_part_to_proto(&r)),
            was_expected,
        }))
    }

    async fn list_overdue_old_parts(
        &self,
        request: Request<pb::ListOverdueOldPartsRequest>,
    ) -> Result<Response<pb::ListOverdueOldPartsResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let mut q = OverdueQuery::try_from(self.paged(request.get_ref())).map_err(Error::from)?;
        let Some(branch) = scope(&caller, q.branch.take()) else {
            return Ok(Response::new(pb::ListOverdueOldPartsResponse::default()));
        };
        q.branch = branch;
        let overdue = self.warehouse.overdue_old_parts(q).await?;
        Ok(Response::new(pb::ListOverdueOldPartsResponse {
            old_parts: overdue
                .rows
                .iter()
                .map(|e| old_parts::expected_to_proto(e, overdue.as_of))
                .collect(),
            next_page_token: next_token(overdue.next),
        }))
    }

    async fn return_to_supplier(
        &self,
        request: Request<pb::ReturnToSupplierRequest>,
    ) -> Result<Response<pb::ReturnToSupplierResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let cmd = ReturnToSupplier::try_from(request.get_ref()).map_err(Error::from)?;
        let (id, entries) = self
            .warehouse
            .return_to_supplier(&caller.subject, cmd)
            .await?;
        Ok(Response::new(pb::ReturnToSupplierResponse {
            supplier_return_id: id,
            entries: entries.iter().map(catalogue::ledger_to_proto).collect(),
        }))
    }

    async fn receive_return(
        &self,
        request: Request<pb::ReceiveReturnRequest>,
    ) -> Result<Response<pb::ReceiveReturnResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let cmd = ReceiveReturn::try_from(request.get_ref()).map_err(Error::from)?;
        let u = self.warehouse.receive_return(&caller.subject, cmd).await?;
        Ok(Response::new(pb::ReceiveReturnResponse {
            returned_unit: Some(returns::returned_unit_to_proto(&u)),
        }))
    }

    async fn inspect_return(
        &self,
        request: Request<pb::InspectReturnRequest>,
    ) -> Result<Response<pb::InspectReturnResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let cmd = InspectReturn::try_from(request.get_ref()).map_err(Error::from)?;
        let u = self.warehouse.inspect_return(&caller.subject, cmd).await?;
        Ok(Response::new(pb::InspectReturnResponse {
            returned_unit: Some(returns::returned_unit_to_proto(&u)),
        }))
    }

    async fn open_stocktake(
        &self,
        request: Request<pb::OpenStocktakeRequest>,
    ) -> Result<Response<pb::OpenStocktakeResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let cmd = OpenStocktake::try_from(request.get_ref()).map_err(Error::from)?;
        let s = self.warehouse.open_stocktake(&caller.subject, cmd).await?;
        Ok(Response::new(pb::OpenStocktakeResponse {
            stocktake: Some(stocktake::stocktake_to_proto(&s)),
        }))
    }

    async fn record_count(
        &self,
        request: Request<pb::RecordCountRequest>,
    ) -> Result<Response<pb::RecordCountResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let cmd = RecordCount::try_from(request.get_ref()).map_err(Error::from)?;
        let (part_no, zone) = (cmd.part_no.clone(), cmd.zone);
        let s = self.warehouse.record_count(&caller.subject, cmd).await?;
        let line = s
            .lines
            .iter()
            .find(|l| l.part_no == part_no.as_str() && l.zone == zone)
            .map(stocktake::line_to_proto);
        Ok(Response::new(pb::RecordCountResponse { line }))
    }

    async fn close_stocktake(
        &self,
        request: Request<pb::CloseStocktakeRequest>,
    ) -> Result<Response<pb::CloseStocktakeResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let cmd = CloseStocktake::try_from(request.get_ref()).map_err(Error::from)?;
        let s = self.warehouse.close_stocktake(&caller.subject, cmd).await?;
        Ok(Response::new(pb::CloseStocktakeResponse {
            stocktake: Some(stocktake::stocktake_to_proto(&s)),
        }))
    }

    async fn get_stocktake(
        &self,
        request: Request<pb::GetStocktakeRequest>,
    ) -> Result<Response<pb::GetStocktakeResponse>, Status> {
        self.authorize(&request, READERS)?;
        let id = one(
            "stocktake_id",
            stocktake::stocktake_id(&request.get_ref().stocktake_id),
        )?;
        let s = self.warehouse.stocktake(&id).await?;
        Ok(Response::new(pb::GetStocktakeResponse {
            stocktake: Some(stocktake::stocktake_to_proto(&s)),
        }))
    }

    async fn close_period(
        &self,
        request: Request<pb::ClosePeriodRequest>,
    ) -> Result<Response<pb::ClosePeriodResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let period = one("period", stocktake::period(&request.get_ref().period))?;
        let p = self.warehouse.close_period(&caller.subject, period).await?;
        Ok(Response::new(pb::ClosePeriodResponse {
            period: Some(stocktake::period_to_proto(p)),
        }))
    }

    async fn classify_abc(
        &self,
        request: Request<pb::ClassifyAbcRequest>,
    ) -> Result<Response<pb::ClassifyAbcResponse>, Status> {
        self.authorize(&request, ANALYSTS)?;
        let as_of = one("as_of_date", date(&request.get_ref().as_of_date))?;
        let (classified, currency) = self.warehouse.classify_abc(as_of).await?;
        Ok(Response::new(stocktake::abc_to_proto(
            &classified,
            &currency,
        )))
    }
}
