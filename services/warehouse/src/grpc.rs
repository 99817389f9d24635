//! The tonic service. Every RPC does the same four things: authorize the caller, parse the
//! request once into a command (the `TryFrom` of its area's module, naming every bad field at
//! once), call [`Warehouse`], and answer through its area's conversions. Errors map to a status
//! one way ([`answer`]): the platform's, with at most [`MAX_LISTED`] bad fields named per list
//! ([`invalid`]).
//!
//! Who may do what (admin always may), checked here whatever the gateway checked before:
//!
//! | RPCs | roles | branch |
//! |---|---|---|
//! | GetPart, ListParts, GetStock, ListProductModels | every role | any |
//! | UpsertPart, ReceiveOldPart | warehouse | any |
//! | IssueParts | warehouse | its own (another's pick list is not found) |
//! | UpsertProductModel | warehouse, analyst | head office |
//! | ListLedger, GetStocktake | warehouse, procurement, analyst | head office |
//! | ReceiveGoods, RecordInspection, ReturnToSupplier, ReceiveReturn, InspectReturn, ListReturns, OpenStocktake, RecordCount, CloseStocktake, ClosePeriod | warehouse | head office |
//! | ListBackorders | warehouse, procurement, analyst | its own (head office: any) |
//! | GetPickList | warehouse, dispatcher, technician, logistics | its own (another's is not found) |
//! | ListOverdueOldParts | every role | its own (head office: any) |
//! | ClassifyAbc | warehouse, procurement, analyst | any |
//! | ReceiveOldPartBatch, InspectOldPartBatch | warehouse | head office |
//! | GetOldPartBatch | warehouse, reviewer, dealer | its own (head office: any); a dealer its own batches (another's is not found) |
//! | TransferToTurnover, ReceiveAdvanceExchangeReturn | warehouse | head office |
//! | CreateAdvanceExchange, CreateDealerOrder | warehouse (head office), dealer (its own dealer code and branch) | |
//! | ListAdvanceExchanges | warehouse, reviewer, dealer | its own (head office: any); a dealer its own exchanges |
//! | GetDealerOrder | warehouse, reviewer, dealer | its own (head office: any; another's is not found); a dealer its own orders (another's is not found) |
//!
//! The areas: [`catalogue`] (parts, stock, the ledger, back-orders), [`models`] (product models
//! and their lifecycle), [`inbound`] (receipts and inspection), [`outbound`] (pick lists and
//! issue), [`old_parts`] (old parts and returns to suppliers), [`dealer_parts`] (dealers' old
//! parts by batch), [`exchanges`] (advance exchange from turnover stock), [`dealer_orders`]
//! (dealers' parts orders), [`returns`] (units returned by customers), [`stocktake`] (stocktakes,
//! period close, ABC classification).

mod catalogue;
mod dealer_orders;
mod dealer_parts;
mod exchanges;
mod inbound;
mod models;
mod old_parts;
mod outbound;
mod returns;
mod stocktake;

use std::future::Future;

use aftersales_platform::auth::{Caller, Role, Verifier};
use aftersales_platform::paging;
use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::proto::warehouse::v1::warehouse_service_server::WarehouseService;
use aftersales_platform::validate::{Violation, Violations};
use chrono::NaiveDate;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

pub use catalogue::part_to_proto;
pub use outbound::pick_list_to_proto;

use crate::domain::{DealerCode, ModelSpec, PartNo, PartSpec, PickListId};
use crate::error::Error;
use crate::service::{
    BackorderQuery, CloseStocktake, CreateDealerOrder, CreateExchange, ExchangeReturn,
    ExchangesQuery, InspectOldPartBatch, InspectReturn, IssueParts, LedgerQuery, ModelsQuery,
    OpenStocktake, OverdueQuery, Page, PartsQuery, ReceiveGoods, ReceiveOldPart,
    ReceiveOldPartBatch, ReceiveReturn, RecordCount, RecordInspection, ReturnToSupplier,
    ReturnsQuery, TransferToTurnover, Warehouse,
};
use aftersales_platform::validate::{MAX_LISTED, cap_violations};

/// Who moves stock, keeps the parts catalogue and issues against pick lists.
const WAREHOUSE: &[Role] = &[Role::Warehouse];
/// Stock, the parts catalogue and the product models are read by everyone.
const EVERYONE: &[Role] = &Role::ALL;
/// Who reads the central warehouse's books (the ledger, stocktakes) and back-orders, and
/// classifies the catalogue.
const BOOKKEEPERS: &[Role] = &[Role::Warehouse, Role::Procurement, Role::Analyst];
/// Who handles pick lists: the warehouse picks, logistics ships, dispatchers and technicians
/// fit the parts.
const PICKERS: &[Role] = &[
    Role::Warehouse,
    Role::Dispatcher,
    Role::Technician,
    Role::Logistics,
];
/// Who keeps the product models and their lifecycle (the fill rate is judged by it).
const MODEL_KEEPERS: &[Role] = &[Role::Warehouse, Role::Analyst];
/// Who reads dealers' old-part batches, advance exchanges and parts orders: the warehouse, head
/// office's reviewers (who charge back), and a dealer its own.
const BATCH_READERS: &[Role] = &[Role::Warehouse, Role::Reviewer, Role::Dealer];
/// Who sends goods to a dealer out of the central warehouse's stock (good units ahead from
/// turnover stock, parts it orders): the warehouse, and a dealer for itself.
const DEALER_SUPPLY: &[Role] = &[Role::Warehouse, Role::Dealer];

pub struct Api {
    pub warehouse: Warehouse,
    pub verifier: Verifier,
    pub max_page_size: u32,
}

impl Api {
    /// The caller, who holds one of `roles` (admin always does).
    fn authorize<T>(&self, req: &Request<T>, roles: &[Role]) -> Result<Caller, Status> {
        Ok(self.verifier.require(req.metadata(), roles)?)
    }

    /// The caller, who holds one of `roles` and speaks for head office: the central
    /// warehouse's books and movements, and the product models, are not a branch's.
    fn at_head_office<T>(&self, req: &Request<T>, roles: &[Role]) -> Result<Caller, Status> {
        let caller = self.authorize(req, roles)?;
        match caller.branch() {
            None => Ok(caller),
            Some(b) => Err(Status::permission_denied(format!(
                "only head office may do this (the central warehouse's books and movements, the product models); a token of branch {b} may not"
            ))),
        }
    }

    /// The caller of an RPC a dealer makes for itself (`what` it asks for): a dealer's token asks
    /// for its own dealer code and, when branch-scoped, its own branch only; staff must be head
    /// office's warehouse (the central warehouse's stock is head office's). A dealer code that
    /// does not parse is left to the request's validation.
    fn for_own_dealer<T>(
        &self,
        req: &Request<T>,
        dealer_code: &str,
        branch: &str,
        what: &str,
    ) -> Result<Caller, Status> {
        let caller = self.authorize(req, DEALER_SUPPLY)?;
        match Self::dealer_scope(&caller)? {
            Some(own) => {
                let asked = DealerCode::parse(dealer_code);
                if asked.as_ref().is_ok_and(|d| d.as_str() != own) {
                    return Err(Status::permission_denied(format!(
                        "a dealer's token asks {what} for its own dealer ({own}) only"
                    )));
                }
                if let Some(b) = caller.branch()
                    && !branch.trim().eq_ignore_ascii_case(b)
                {
                    return Err(Status::permission_denied(format!(
                        "a token of branch {b} asks {what} for its own branch only"
                    )));
                }
            }
            None => {
                self.at_head_office(req, WAREHOUSE)?;
            }
        }
        Ok(caller)
    }

    /// The dealer whose data the caller may see: `None` for staff, the token's dealer code for
    /// a dealer (a dealer's token without one is refused).
    fn dealer_scope(caller: &Caller) -> Result<Option<String>, Status> {
        Ok(caller.dealer_scope()?.map(str::to_owned))
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
fn one<T>(field: &str, parsed: Result<T, String>) -> Result<T, Error> {
    parsed.map_err(|e| Error::invalid(field, e))
}

/// Runs an RPC's body (what follows authorization) and answers: every error it returns leaves
/// through here, the platform's mapping except for bad fields (see [`invalid`]).
async fn answer<T>(body: impl Future<Output = Result<T, Error>>) -> Result<Response<T>, Status> {
    body.await.map(Response::new).map_err(|e| match e {
        Error::Invalid(v) => invalid(v),
        e => e.into(),
    })
}

/// Violations a long list's message names; the details name them all.
const IN_MESSAGE: usize = 5;

/// The status of bad fields: at most [`MAX_LISTED`] per list (a request of a thousand bad lines
/// would otherwise answer a thousand violations). A few are answered as every service answers
/// them; more are named in the details only, under a short message, because the platform's
/// message names each one and the details repeat that message: past a few dozen lines the
/// trailers outgrow the 16 KiB of headers an HTTP/2 client accepts, and the caller sees a
/// protocol error instead of INVALID_ARGUMENT.
fn invalid(violations: Vec<Violation>) -> Status {
    let total = violations.len();
    let capped = cap_violations(violations, MAX_LISTED);
    if capped.len() <= IN_MESSAGE {
        return Error::Invalid(capped).into();
    }
    let first: Vec<String> = capped
        .iter()
        .take(IN_MESSAGE)
        .map(ToString::to_string)
        .collect();
    let message = format!(
        "{total} invalid fields, named in the details (at most {MAX_LISTED} per list): {}; …",
        first.join("; ")
    );
    let details = ErrorDetails::with_bad_request(
        capped
            .into_iter()
            .map(|v| FieldViolation::new(v.field, v.description))
            .collect::<Vec<_>>(),
    );
    Status::with_error_details(Code::InvalidArgument, message, details)
}

#[tonic::async_trait]
impl WarehouseService for Api {
    async fn upsert_part(
        &self,
        request: Request<pb::UpsertPartRequest>,
    ) -> Result<Response<pb::UpsertPartResponse>, Status> {
        self.authorize(&request, WAREHOUSE)?;
        answer(async {
            let entry = PartSpec::try_from(request.get_ref())?;
            let (part, created) = self.warehouse.upsert_part(entry).await?;
            Ok(pb::UpsertPartResponse {
                part: Some(part_to_proto(&part)),
                created,
            })
        })
        .await
    }

    async fn get_part(
        &self,
        request: Request<pb::GetPartRequest>,
    ) -> Result<Response<pb::GetPartResponse>, Status> {
        self.authorize(&request, EVERYONE)?;
        answer(async {
            let no = one("part_no", PartNo::parse(&request.get_ref().part_no))?;
            let part = self.warehouse.get_part(&no).await?;
            Ok(pb::GetPartResponse {
                part: Some(part_to_proto(&part)),
            })
        })
        .await
    }

    async fn list_parts(
        &self,
        request: Request<pb::ListPartsRequest>,
    ) -> Result<Response<pb::ListPartsResponse>, Status> {
        self.authorize(&request, EVERYONE)?;
        answer(async {
            let q = PartsQuery::try_from(self.paged(request.get_ref()))?;
            let (rows, next) = self.warehouse.list_parts(q).await?;
            Ok(pb::ListPartsResponse {
                parts: rows.iter().map(part_to_proto).collect(),
                next_page_token: next_token(next),
            })
        })
        .await
    }

    async fn upsert_product_model(
        &self,
        request: Request<pb::UpsertProductModelRequest>,
    ) -> Result<Response<pb::UpsertProductModelResponse>, Status> {
        self.at_head_office(&request, MODEL_KEEPERS)?;
        answer(async {
            let spec = ModelSpec::try_from(request.get_ref())?;
            let (model, created) = self.warehouse.upsert_model(spec).await?;
            Ok(pb::UpsertProductModelResponse {
                model: Some(models::model_to_proto(&model)),
                created,
            })
        })
        .await
    }

    async fn list_product_models(
        &self,
        request: Request<pb::ListProductModelsRequest>,
    ) -> Result<Response<pb::ListProductModelsResponse>, Status> {
        self.authorize(&request, EVERYONE)?;
        answer(async {
            let q = ModelsQuery::try_from(self.paged(request.get_ref()))?;
            let (rows, next) = self.warehouse.list_models(q).await?;
            Ok(pb::ListProductModelsResponse {
                models: rows.iter().map(models::model_to_proto).collect(),
                next_page_token: next_token(next),
            })
        })
        .await
    }

    async fn get_stock(
        &self,
        request: Request<pb::GetStockRequest>,
    ) -> Result<Response<pb::GetStockResponse>, Status> {
        self.authorize(&request, EVERYONE)?;
        answer(async {
            let no = one("part_no", PartNo::parse(&request.get_ref().part_no))?;
            let s = self.warehouse.stock(&no).await?;
            Ok(pb::GetStockResponse {
                stock: Some(catalogue::stock_to_proto(&s)),
            })
        })
        .await
    }

    async fn list_ledger(
        &self,
        request: Request<pb::ListLedgerRequest>,
    ) -> Result<Response<pb::ListLedgerResponse>, Status> {
        self.at_head_office(&request, BOOKKEEPERS)?;
        answer(async {
            let q = LedgerQuery::try_from(self.paged(request.get_ref()))?;
            let (rows, next) = self.warehouse.ledger(q).await?;
            Ok(pb::ListLedgerResponse {
                entries: rows.iter().map(catalogue::ledger_to_proto).collect(),
                next_page_token: next_token(next),
            })
        })
        .await
    }

    async fn list_backorders(
        &self,
        request: Request<pb::ListBackordersRequest>,
    ) -> Result<Response<pb::ListBackordersResponse>, Status> {
        let caller = self.authorize(&request, BOOKKEEPERS)?;
        answer(async {
            let mut q = BackorderQuery::try_from(self.paged(request.get_ref()))?;
            let Some(branch) = scope(&caller, q.branch.take()) else {
                return Ok(pb::ListBackordersResponse::default());
            };
            q.branch = branch;
            let (rows, next) = self.warehouse.backorders(q).await?;
            Ok(pb::ListBackordersResponse {
                backorders: rows.iter().map(catalogue::backorder_to_proto).collect(),
                next_page_token: next_token(next),
            })
        })
        .await
    }

    async fn receive_goods(
        &self,
        request: Request<pb::ReceiveGoodsRequest>,
    ) -> Result<Response<pb::ReceiveGoodsResponse>, Status> {
        let caller = self.at_head_office(&request, WAREHOUSE)?;
        answer(async {
            let cmd = ReceiveGoods::try_from(request.get_ref())?;
            let receipt = self.warehouse.receive_goods(&caller.subject, cmd).await?;
            Ok(pb::ReceiveGoodsResponse {
                receipt: Some(inbound::receipt_to_proto(&receipt)),
            })
        })
        .await
    }

    async fn record_inspection(
        &self,
        request: Request<pb::RecordInspectionRequest>,
    ) -> Result<Response<pb::RecordInspectionResponse>, Status> {
        let caller = self.at_head_office(&request, WAREHOUSE)?;
        answer(async {
            let cmd = RecordInspection::try_from(request.get_ref())?;
            let receipt = self
                .warehouse
                .record_inspection(&caller.subject, cmd)
                .await?;
            Ok(pb::RecordInspectionResponse {
                receipt: Some(inbound::receipt_to_proto(&receipt)),
            })
        })
        .await
    }

    async fn get_pick_list(
        &self,
        request: Request<pb::GetPickListRequest>,
    ) -> Result<Response<pb::GetPickListResponse>, Status> {
        let caller = self.authorize(&request, PICKERS)?;
        answer(async {
            let id = one(
                "pick_list_id",
                PickListId::parse(&request.get_ref().pick_list_id),
            )?;
            let r = self.warehouse.pick_list(&id).await?;
            if !caller.sees_branch(&r.branch) {
                return Err(Error::not_found(format!("pick list {id}")));
            }
            Ok(pb::GetPickListResponse {
                pick_list: Some(pick_list_to_proto(&r)),
            })
        })
        .await
    }

    async fn issue_parts(
        &self,
        request: Request<pb::IssuePartsRequest>,
    ) -> Result<Response<pb::IssuePartsResponse>, Status> {
        let caller = self.authorize(&request, WAREHOUSE)?;
        answer(async {
            let mut cmd = IssueParts::try_from(request.get_ref())?;
            cmd.branch_scope = caller.branch().map(str::to_owned);
            let r = self.warehouse.issue(&caller.subject, cmd).await?;
            Ok(pb::IssuePartsResponse {
                pick_list: Some(pick_list_to_proto(&r)),
            })
        })
        .await
    }

    async fn receive_old_part(
        &self,
        request: Request<pb::ReceiveOldPartRequest>,
    ) -> Result<Response<pb::ReceiveOldPartResponse>, Status> {
        let caller = self.authorize(&request, WAREHOUSE)?;
        answer(async {
            let cmd = ReceiveOldPart::try_from(request.get_ref())?;
            let (r, was_expected) = self
                .warehouse
                .receive_old_part(&caller.subject, cmd)
                .await?;
            Ok(pb::ReceiveOldPartResponse {
                old_part: Some(old_parts::old_part_to_proto(&r)),
                was_expected,
            })
        })
        .await
    }

    async fn list_overdue_old_parts(
        &self,
        request: Request<pb::ListOverdueOldPartsRequest>,
    ) -> Result<Response<pb::ListOverdueOldPartsResponse>, Status> {
        let caller = self.authorize(&request, EVERYONE)?;
        answer(async {
            let mut q = OverdueQuery::try_from(self.paged(request.get_ref()))?;
            let Some(branch) = scope(&caller, q.branch.take()) else {
                return Ok(pb::ListOverdueOldPartsResponse::default());
            };
            q.branch = branch;
            let overdue = self.warehouse.overdue_old_parts(q).await?;
            Ok(pb::ListOverdueOldPartsResponse {
                old_parts: overdue
                    .rows
                    .iter()
                    .map(|e| old_parts::expected_to_proto(e, overdue.as_of))
                    .collect(),
                next_page_token: next_token(overdue.next),
            })
        })
        .await
    }

    async fn return_to_supplier(
        &self,
        request: Request<pb::ReturnToSupplierRequest>,
    ) -> Result<Response<pb::ReturnToSupplierResponse>, Status> {
        let caller = self.at_head_office(&request, WAREHOUSE)?;
        answer(async {
            let cmd = ReturnToSupplier::try_from(request.get_ref())?;
            let (id, entries) = self
                .warehouse
                .return_to_supplier(&caller.subject, cmd)
                .await?;
            Ok(pb::ReturnToSupplierResponse {
                supplier_return_id: id,
                entries: entries.iter().map(catalogue::ledger_to_proto).collect(),
            })
        })
        .await
    }

    async fn receive_return(
        &self,
        request: Request<pb::ReceiveReturnRequest>,
    ) -> Result<Response<pb::ReceiveReturnResponse>, Status> {
        let caller = self.at_head_office(&request, WAREHOUSE)?;
        answer(async {
            let cmd = ReceiveReturn::try_from(request.get_ref())?;
            let u = self.warehouse.receive_return(&caller.subject, cmd).await?;
            Ok(pb::ReceiveReturnResponse {
                returned_unit: Some(returns::returned_unit_to_proto(&u)),
            })
        })
        .await
    }

    async fn inspect_return(
        &self,
        request: Request<pb::InspectReturnRequest>,
    ) -> Result<Response<pb::InspectReturnResponse>, Status> {
        let caller = self.at_head_office(&request, WAREHOUSE)?;
        answer(async {
            let cmd = InspectReturn::try_from(request.get_ref())?;
            let u = self.warehouse.inspect_return(&caller.subject, cmd).await?;
            Ok(pb::InspectReturnResponse {
                returned_unit: Some(returns::returned_unit_to_proto(&u)),
            })
        })
        .await
    }

    async fn list_returns(
        &self,
        request: Request<pb::ListReturnsRequest>,
    ) -> Result<Response<pb::ListReturnsResponse>, Status> {
        self.at_head_office(&request, WAREHOUSE)?;
        answer(async {
            let q = ReturnsQuery::try_from(self.paged(request.get_ref()))?;
            let (rows, next) = self.warehouse.list_returns(q).await?;
            Ok(pb::ListReturnsResponse {
                returned_units: rows.iter().map(returns::returned_unit_to_proto).collect(),
                next_page_token: next_token(next),
            })
        })
        .await
    }

    async fn open_stocktake(
        &self,
        request: Request<pb::OpenStocktakeRequest>,
    ) -> Result<Response<pb::OpenStocktakeResponse>, Status> {
        let caller = self.at_head_office(&request, WAREHOUSE)?;
        answer(async {
            let cmd = OpenStocktake::try_from(request.get_ref())?;
            let s = self.warehouse.open_stocktake(&caller.subject, cmd).await?;
            Ok(pb::OpenStocktakeResponse {
                stocktake: Some(stocktake::stocktake_to_proto(&s)),
            })
        })
        .await
    }

    async fn record_count(
        &self,
        request: Request<pb::RecordCountRequest>,
    ) -> Result<Response<pb::RecordCountResponse>, Status> {
        let caller = self.at_head_office(&request, WAREHOUSE)?;
        answer(async {
            let cmd = RecordCount::try_from(request.get_ref())?;
            let (part_no, zone) = (cmd.part_no.clone(), cmd.zone);
            let s = self.warehouse.record_count(&caller.subject, cmd).await?;
            let line = s
                .lines
                .iter()
                .find(|l| l.part_no == part_no.as_str() && l.zone == zone)
                .map(stocktake::line_to_proto);
            Ok(pb::RecordCountResponse { line })
        })
        .await
    }

    async fn close_stocktake(
        &self,
        request: Request<pb::CloseStocktakeRequest>,
    ) -> Result<Response<pb::CloseStocktakeResponse>, Status> {
        let caller = self.at_head_office(&request, WAREHOUSE)?;
        answer(async {
            let cmd = CloseStocktake::try_from(request.get_ref())?;
            let s = self.warehouse.close_stocktake(&caller.subject, cmd).await?;
            Ok(pb::CloseStocktakeResponse {
                stocktake: Some(stocktake::stocktake_to_proto(&s)),
            })
        })
        .await
    }

    async fn get_stocktake(
        &self,
        request: Request<pb::GetStocktakeRequest>,
    ) -> Result<Response<pb::GetStocktakeResponse>, Status> {
        self.at_head_office(&request, BOOKKEEPERS)?;
        answer(async {
            let id = one(
                "stocktake_id",
                stocktake::stocktake_id(&request.get_ref().stocktake_id),
            )?;
            let s = self.warehouse.stocktake(&id).await?;
            Ok(pb::GetStocktakeResponse {
                stocktake: Some(stocktake::stocktake_to_proto(&s)),
            })
        })
        .await
    }

    async fn close_period(
        &self,
        request: Request<pb::ClosePeriodRequest>,
    ) -> Result<Response<pb::ClosePeriodResponse>, Status> {
        let caller = self.at_head_office(&request, WAREHOUSE)?;
        answer(async {
            let period = one("period", stocktake::period(&request.get_ref().period))?;
            let p = self.warehouse.close_period(&caller.subject, period).await?;
            Ok(pb::ClosePeriodResponse {
                period: Some(stocktake::period_to_proto(p)),
            })
        })
        .await
    }

    async fn classify_abc(
        &self,
        request: Request<pb::ClassifyAbcRequest>,
    ) -> Result<Response<pb::ClassifyAbcResponse>, Status> {
        self.authorize(&request, BOOKKEEPERS)?;
        answer(async {
            let as_of = one("as_of_date", date(&request.get_ref().as_of_date))?;
            let (classified, currency) = self.warehouse.classify_abc(as_of).await?;
            Ok(stocktake::abc_to_proto(&classified, &currency))
        })
        .await
    }

    async fn receive_old_part_batch(
        &self,
        request: Request<pb::ReceiveOldPartBatchRequest>,
    ) -> Result<Response<pb::ReceiveOldPartBatchResponse>, Status> {
        let caller = self.at_head_office(&request, WAREHOUSE)?;
        answer(async {
            let cmd = ReceiveOldPartBatch::try_from(request.get_ref())?;
            let (batch, replayed) = self
                .warehouse
                .receive_old_part_batch(&caller.subject, cmd)
                .await?;
            Ok(pb::ReceiveOldPartBatchResponse {
                batch: Some(dealer_parts::batch_to_proto(&batch, None)),
                replayed,
            })
        })
        .await
    }

    async fn inspect_old_part_batch(
        &self,
        request: Request<pb::InspectOldPartBatchRequest>,
    ) -> Result<Response<pb::InspectOldPartBatchResponse>, Status> {
        let caller = self.at_head_office(&request, WAREHOUSE)?;
        answer(async {
            let cmd = InspectOldPartBatch::try_from(request.get_ref())?;
            let batch = self
                .warehouse
                .inspect_old_part_batch(&caller.subject, cmd)
                .await?;
            Ok(pb::InspectOldPartBatchResponse {
                batch: Some(dealer_parts::batch_to_proto(&batch, None)),
            })
        })
        .await
    }

    async fn get_old_part_batch(
        &self,
        request: Request<pb::GetOldPartBatchRequest>,
    ) -> Result<Response<pb::GetOldPartBatchResponse>, Status> {
        let caller = self.authorize(&request, BATCH_READERS)?;
        let dealer = Self::dealer_scope(&caller)?;
        answer(async {
            let id = one(
                "batch_id",
                dealer_parts::batch_id(&request.get_ref().batch_id),
            )?;
            let view = self.warehouse.old_part_batch(&id).await?;
            let b = &view.batch;
            if dealer.as_deref().is_some_and(|d| d != b.dealer_code)
                || !caller.sees_branch(&b.branch)
            {
                return Err(Error::not_found(format!("old-part batch {id}")));
            }
            Ok(dealer_parts::view_to_proto(&view))
        })
        .await
    }

    async fn transfer_to_turnover(
        &self,
        request: Request<pb::TransferToTurnoverRequest>,
    ) -> Result<Response<pb::TransferToTurnoverResponse>, Status> {
        let caller = self.at_head_office(&request, WAREHOUSE)?;
        answer(async {
            let cmd = TransferToTurnover::try_from(request.get_ref())?;
            let entries = self
                .warehouse
                .transfer_to_turnover(&caller.subject, cmd)
                .await?;
            Ok(pb::TransferToTurnoverResponse {
                entries: entries.iter().map(catalogue::ledger_to_proto).collect(),
            })
        })
        .await
    }

    async fn create_advance_exchange(
        &self,
        request: Request<pb::CreateAdvanceExchangeRequest>,
    ) -> Result<Response<pb::CreateAdvanceExchangeResponse>, Status> {
        let m = request.get_ref();
        let caller =
            self.for_own_dealer(&request, &m.dealer_code, &m.branch, "advance exchanges")?;
        answer(async {
            let cmd = CreateExchange::try_from(m)?;
            let (x, replayed) = self
                .warehouse
                .create_advance_exchange(&caller.subject, cmd)
                .await?;
            Ok(pb::CreateAdvanceExchangeResponse {
                exchange: Some(exchanges::exchange_to_proto(&x)),
                replayed,
            })
        })
        .await
    }

    async fn receive_advance_exchange_return(
        &self,
        request: Request<pb::ReceiveAdvanceExchangeReturnRequest>,
    ) -> Result<Response<pb::ReceiveAdvanceExchangeReturnResponse>, Status> {
        let caller = self.at_head_office(&request, WAREHOUSE)?;
        answer(async {
            let cmd = ExchangeReturn::try_from(request.get_ref())?;
            let (x, was_overdue) = self
                .warehouse
                .receive_exchange_return(&caller.subject, cmd)
                .await?;
            Ok(pb::ReceiveAdvanceExchangeReturnResponse {
                exchange: Some(exchanges::exchange_to_proto(&x)),
                was_overdue,
            })
        })
        .await
    }

    async fn list_advance_exchanges(
        &self,
        request: Request<pb::ListAdvanceExchangesRequest>,
    ) -> Result<Response<pb::ListAdvanceExchangesResponse>, Status> {
        let caller = self.authorize(&request, BATCH_READERS)?;
        let dealer = Self::dealer_scope(&caller)?;
        answer(async {
            let mut q = ExchangesQuery::try_from(self.paged(request.get_ref()))?;
            if let Some(own) = dealer {
                if q.dealer_code.as_deref().is_some_and(|d| d != own) {
                    // Another dealer's exchanges: none, exactly as if there were none.
                    return Ok(pb::ListAdvanceExchangesResponse::default());
                }
                q.dealer_code = Some(own);
            }
            let Some(branch) = scope(&caller, None) else {
                return Ok(pb::ListAdvanceExchangesResponse::default());
            };
            q.branch = branch;
            let (rows, next) = self.warehouse.advance_exchanges(q).await?;
            Ok(pb::ListAdvanceExchangesResponse {
                exchanges: rows.iter().map(exchanges::exchange_to_proto).collect(),
                next_page_token: next_token(next),
            })
        })
        .await
    }

    async fn create_dealer_order(
        &self,
        request: Request<pb::CreateDealerOrderRequest>,
    ) -> Result<Response<pb::CreateDealerOrderResponse>, Status> {
        let m = request.get_ref();
        let caller = self.for_own_dealer(&request, &m.dealer_code, &m.branch, "parts orders")?;
        answer(async {
            let cmd = match CreateDealerOrder::try_from(m) {
                Ok(cmd) => cmd,
                // Unknown parts are named together with the other bad fields.
                Err(mut bad) => {
                    let unknown = self
                        .warehouse
                        .uncatalogued(&dealer_orders::part_nos(m))
                        .await?;
                    bad.0.extend(unknown);
                    return Err(Error::from(bad));
                }
            };
            let (order, replayed) = self
                .warehouse
                .create_dealer_order(&caller.subject, cmd)
                .await?;
            Ok(pb::CreateDealerOrderResponse {
                order: Some(dealer_orders::order_to_proto(&order)),
                replayed,
            })
        })
        .await
    }

    async fn get_dealer_order(
        &self,
        request: Request<pb::GetDealerOrderRequest>,
    ) -> Result<Response<pb::GetDealerOrderResponse>, Status> {
        let caller = self.authorize(&request, BATCH_READERS)?;
        let dealer = Self::dealer_scope(&caller)?;
        answer(async {
            let id = one(
                "order_id",
                dealer_orders::order_id(&request.get_ref().order_id),
            )?;
            let order = self.warehouse.dealer_order(&id).await?;
            if dealer.as_deref().is_some_and(|d| d != order.dealer_code)
                || !caller.sees_branch(&order.branch)
            {
                return Err(Error::not_found(format!("dealer order {id}")));
            }
            Ok(pb::GetDealerOrderResponse {
                order: Some(dealer_orders::order_to_proto(&order)),
            })
        })
        .await
    }
}
