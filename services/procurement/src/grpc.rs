//! The tonic service. Every RPC does the same four things: authorize the caller, parse the
//! request once into a command (the `TryFrom` of its area's module, naming every bad field at
//! once), call [`Procurement`], and answer through [`crate::wire`]. Errors map to a status one
//! way, the platform's.
//!
//! Who may do what: people with the `procurement` role (and `admin`) at head office write;
//! everyone at head office reads the register, quotes, scorecards and cost reports; a branch
//! sees only the POs that serve its own requests (another PO answers NOT_FOUND, exactly as if it
//! did not exist).
//!
//! The areas: [`suppliers`] (register, status, scorecard), [`quotes`] (quotes, comparison),
//! [`orders`] (purchase orders), [`reports`] (the cost report).

mod orders;
mod quotes;
mod reports;
mod suppliers;

use aftersales_platform::auth::{Caller, Role, Verifier};
use aftersales_platform::paging;
use aftersales_platform::proto::procurement::v1 as pb;
use aftersales_platform::proto::procurement::v1::procurement_service_server::ProcurementService;
use aftersales_platform::validate::Violations;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::{Request, Response, Status};

use crate::domain::SupplierId;
use crate::error::Error;
use crate::service::{
    CancelPo, CompareQuotes, CreatePo, Page, PoQuery, Procurement, RegisterSupplier,
    RevisePromisedDate, SetStatus, SubmitQuote, SupplierQuery,
};
use crate::wire;

/// Who may change the register, quotes and POs (admin always may).
const WRITERS: &[Role] = &[Role::Procurement];
/// Every role reads (what it sees depends on its branch).
const READERS: &[Role] = &Role::ALL;

pub struct Api {
    pub procurement: Procurement,
    pub verifier: Verifier,
    pub max_page_size: u32,
}

/// A request with what parsing it needs beyond itself: the service's largest page and the
/// deployment's currency, so that a bad page size or a foreign currency is refused together
/// with the request's other bad fields.
pub struct Parse<'a, M> {
    pub msg: &'a M,
    pub max_page_size: u32,
    pub currency: &'a str,
}

impl Api {
    fn authorize<T>(&self, req: &Request<T>, roles: &[Role]) -> Result<Caller, Status> {
        Ok(self.verifier.require(req.metadata(), roles)?)
    }

    /// A writer at head office.
    fn writer<T>(&self, req: &Request<T>) -> Result<Caller, Status> {
        let caller = self.authorize(req, WRITERS)?;
        head_office(&caller)?;
        Ok(caller)
    }

    /// Any reader at head office (the register, quotes, scorecards, costs).
    fn head_office_reader<T>(&self, req: &Request<T>) -> Result<Caller, Status> {
        let caller = self.authorize(req, READERS)?;
        head_office(&caller)?;
        Ok(caller)
    }

    fn parse<'a, M>(&'a self, msg: &'a M) -> Parse<'a, M> {
        Parse {
            msg,
            max_page_size: self.max_page_size,
            currency: &self.procurement.policy.currency,
        }
    }
}

fn head_office(caller: &Caller) -> Result<(), Status> {
    match caller.branch() {
        None => Ok(()),
        Some(b) => Err(Status::permission_denied(format!(
            "the supplier register, quotes, scorecards and costs are head office's; branch {b} sees the purchase orders that serve its requests"
        ))),
    }
}

/// The page a list request asks for: its size (0: `default`) and the opaque token of the
/// platform's one scheme, decoded to the list's sort key.
pub(crate) fn page<K: DeserializeOwned>(
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

/// An optional identifier: empty is `None`.
pub(crate) fn optional<T>(
    s: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, String> {
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

#[tonic::async_trait]
impl ProcurementService for Api {
    async fn register_supplier(
        &self,
        request: Request<pb::RegisterSupplierRequest>,
    ) -> Result<Response<pb::RegisterSupplierResponse>, Status> {
        self.writer(&request)?;
        let cmd = RegisterSupplier::try_from(request.get_ref()).map_err(Error::from)?;
        let s = self.procurement.register_supplier(cmd).await?;
        Ok(Response::new(pb::RegisterSupplierResponse {
            supplier: Some(wire::supplier(&s)),
        }))
    }

    async fn get_supplier(
        &self,
        request: Request<pb::GetSupplierRequest>,
    ) -> Result<Response<pb::GetSupplierResponse>, Status> {
        self.head_office_reader(&request)?;
        let id = one(
            "supplier_id",
            SupplierId::parse(&request.get_ref().supplier_id),
        )?;
        let s = self.procurement.supplier(&id).await?;
        Ok(Response::new(pb::GetSupplierResponse {
            supplier: Some(wire::supplier(&s)),
        }))
    }

    async fn list_suppliers(
        &self,
        request: Request<pb::ListSuppliersRequest>,
    ) -> Result<Response<pb::ListSuppliersResponse>, Status> {
        self.head_office_reader(&request)?;
        let q = SupplierQuery::try_from(self.parse(request.get_ref())).map_err(Error::from)?;
        let (rows, next) = self.procurement.list_suppliers(q).await?;
        Ok(Response::new(pb::ListSuppliersResponse {
            suppliers: rows.iter().map(wire::supplier).collect(),
            next_page_token: next_token(next),
        }))
    }

    async fn set_supplier_status(
        &self,
        request: Request<pb::SetSupplierStatusRequest>,
    ) -> Result<Response<pb::SetSupplierStatusResponse>, Status> {
        let caller = self.writer(&request)?;
        let cmd = SetStatus::try_from(request.get_ref()).map_err(Error::from)?;
        let s = self
            .procurement
            .set_supplier_status(&caller.subject, cmd)
            .await?;
        Ok(Response::new(pb::SetSupplierStatusResponse {
            supplier: Some(wire::supplier(&s)),
        }))
    }

    async fn submit_quote(
        &self,
        request: Request<pb::SubmitQuoteRequest>,
    ) -> Result<Response<pb::SubmitQuoteResponse>, Status> {
        self.writer(&request)?;
        let cmd = SubmitQuote::try_from(self.parse(request.get_ref())).map_err(Error::from)?;
        let q = self.procurement.submit_quote(cmd).await?;
        Ok(Response::new(pb::SubmitQuoteResponse {
            quote: Some(wire::quote(&q)),
        }))
    }

    async fn compare_quotes(
        &self,
        request: Request<pb::CompareQuotesRequest>,
    ) -> Result<Response<pb::CompareQuotesResponse>, Status> {
        self.head_office_reader(&request)?;
        let cmd = CompareQuotes::try_from(request.get_ref()).map_err(Error::from)?;
        let quantity = cmd.quantity.get();
        let c = self.procurement.compare_quotes(cmd).await?;
        let currency = &self.procurement.policy.currency;
        Ok(Response::new(pb::CompareQuotesResponse {
            quotes: c
                .choice
                .ranked
                .iter()
                .map(|r| wire::ranked(r, c.quotes.get(&r.candidate.quote_id), currency, quantity))
                .collect(),
            chosen_quote_id: c
                .choice
                .chosen()
                .map(|r| r.candidate.quote_id.clone())
                .unwrap_or_default(),
            rule: format!("{} — {}", c.rule, c.choice.explanation),
        }))
    }

    async fn create_purchase_order(
        &self,
        request: Request<pb::CreatePurchaseOrderRequest>,
    ) -> Result<Response<pb::CreatePurchaseOrderResponse>, Status> {
        let caller = self.writer(&request)?;
        let cmd = CreatePo::try_from(self.parse(request.get_ref())).map_err(Error::from)?;
        let v = self
            .procurement
            .create_purchase_order(&caller.subject, cmd)
            .await?;
        Ok(Response::new(pb::CreatePurchaseOrderResponse {
            purchase_order: Some(wire::po(&v, self.procurement.today())),
        }))
    }

    async fn get_purchase_order(
        &self,
        request: Request<pb::GetPurchaseOrderRequest>,
    ) -> Result<Response<pb::GetPurchaseOrderResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let no = one("po_number", orders::po_number(&request.get_ref().po_number))?;
        let v = self.procurement.purchase_order(&no).await?;
        if let Some(b) = caller.branch()
            && !v.serves_branch(b)
        {
            return Err(Error::not_found(format!("purchase order {no}")).into());
        }
        Ok(Response::new(pb::GetPurchaseOrderResponse {
            purchase_order: Some(wire::po(&v, self.procurement.today())),
        }))
    }

    async fn list_purchase_orders(
        &self,
        request: Request<pb::ListPurchaseOrdersRequest>,
    ) -> Result<Response<pb::ListPurchaseOrdersResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let mut q = PoQuery::try_from(self.parse(request.get_ref())).map_err(Error::from)?;
        // A branch sees only the POs serving its own requests.
        q.filter.branch = caller.branch().map(str::to_owned);
        let (rows, next) = self.procurement.list_purchase_orders(q).await?;
        let today = self.procurement.today();
        Ok(Response::new(pb::ListPurchaseOrdersResponse {
            purchase_orders: rows.iter().map(|v| wire::po(v, today)).collect(),
            next_page_token: next_token(next),
        }))
    }

    async fn cancel_purchase_order(
        &self,
        request: Request<pb::CancelPurchaseOrderRequest>,
    ) -> Result<Response<pb::CancelPurchaseOrderResponse>, Status> {
        let caller = self.writer(&request)?;
        let cmd = CancelPo::try_from(request.get_ref()).map_err(Error::from)?;
        let v = self
            .procurement
            .cancel_purchase_order(&caller.subject, cmd)
            .await?;
        Ok(Response::new(pb::CancelPurchaseOrderResponse {
            purchase_order: Some(wire::po(&v, self.procurement.today())),
        }))
    }

    async fn revise_promised_date(
        &self,
        request: Request<pb::RevisePromisedDateRequest>,
    ) -> Result<Response<pb::RevisePromisedDateResponse>, Status> {
        self.writer(&request)?;
        let cmd = RevisePromisedDate::try_from(request.get_ref()).map_err(Error::from)?;
        let v = self.procurement.revise_promised_date(cmd).await?;
        Ok(Response::new(pb::RevisePromisedDateResponse {
            purchase_order: Some(wire::po(&v, self.procurement.today())),
        }))
    }

    async fn get_scorecard(
        &self,
        request: Request<pb::GetScorecardRequest>,
    ) -> Result<Response<pb::GetScorecardResponse>, Status> {
        self.head_office_reader(&request)?;
        let (id, period) = reports::scorecard_request(request.get_ref(), self.procurement.offset)
            .map_err(Error::from)?;
        let (s, card, from, to) = self.procurement.scorecard(&id, period).await?;
        Ok(Response::new(pb::GetScorecardResponse {
            scorecard: Some(wire::scorecard(
                &s.supplier_id,
                &card,
                from,
                to,
                s.status,
                &self.procurement.policy.scorecard,
                self.procurement.offset,
            )),
        }))
    }

    async fn get_cost_report(
        &self,
        request: Request<pb::GetCostReportRequest>,
    ) -> Result<Response<pb::GetCostReportResponse>, Status> {
        self.head_office_reader(&request)?;
        let q = reports::cost_query(
            request.get_ref(),
            self.procurement.offset,
            self.procurement.today(),
        )
        .map_err(Error::from)?;
        let (rows, total) = self.procurement.cost_report(q).await?;
        let currency = &self.procurement.policy.currency;
        Ok(Response::new(pb::GetCostReportResponse {
            rows: rows.iter().map(|r| reports::row(r, currency)).collect(),
            total: Some(reports::row(&total, currency)),
        }))
    }
}
