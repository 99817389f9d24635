//! The refund of an approved return, authorized once the warehouse inspected the unit
//! (`warehouse.return.inspected` → `claims.refund.authorized`), and reading it back.

use aftersales_platform::auth::Caller;
use aftersales_platform::grpc::record_request_no;
use aftersales_platform::ids::RequestNo;
use sea_orm::DatabaseTransaction;

use super::Claims;
use crate::domain::refund::{self, Refund};
use crate::domain::{ClaimStatus, Kind};
use crate::error::Error;
use crate::mapping;
use crate::store::{claims, refunds};

/// What the warehouse found when it inspected a returned unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    pub request_no: RequestNo,
    pub return_id: String,
    /// Accessories that did not come back: part number (or the packing list's name where there
    /// is none) and how many.
    pub missing: Vec<(String, u32)>,
}

impl Claims {
    /// Authorizes the refund of an approved return in `txn`: the price paid less the missing
    /// accessories and, for the customer's own reasons, the service fee; to the original payment
    /// route. Once per request. Whether a refund was authorized: an inspection of something that
    /// is not an approved return (an exchange, a request without a claim) authorizes nothing.
    pub async fn authorize_refund(
        &self,
        txn: &DatabaseTransaction,
        inspected: &Inspection,
    ) -> Result<bool, Error> {
        let request_no = inspected.request_no.as_str();
        record_request_no(request_no);
        let Some(c) = claims::get(txn, request_no).await? else {
            tracing::warn!(
                request_no,
                "return inspected for a request without a claim; ignored"
            );
            return Ok(false);
        };
        let is_return = c.detail.kind == Some(Kind::Return);
        if c.status != ClaimStatus::Approved || !is_return {
            tracing::info!(request_no, status = %c.status, "not an approved return; no refund");
            return Ok(false);
        }
        if refunds::get(txn, request_no).await?.is_some() {
            return Ok(false);
        }
        // Not the event's fault: retried, then dead-lettered, to be replayed once the payment
        // is on record.
        let (payment, gross) = c
            .detail
            .payment
            .clone()
            .and_then(|p| p.amount.clone().map(|a| (p, a)))
            .ok_or_else(|| {
                Error::precondition(format!(
                    "claim {request_no} has no payment on record; provide it, then replay this event"
                ))
            })?;
        let category = c
            .detail
            .product
            .as_ref()
            .map(|p| p.category.clone())
            .unwrap_or_default();
        let missing: Vec<refund::Missing> = inspected
            .missing
            .iter()
            .map(|(part, quantity)| refund::Missing {
                unit_price: self.policy.price(&category, part),
                part: part.clone(),
                quantity: *quantity,
            })
            .collect();
        let calc = refund::compute(
            gross.minor,
            &missing,
            c.detail.own_reasons,
            &self.policy.service_fee,
        );
        let record = Refund {
            refund_id: uuid::Uuid::now_v7(),
            request_no: c.request_no.clone(),
            branch: c.branch.clone(),
            currency: gross.currency,
            gross: calc.gross,
            deductions: calc.deductions,
            service_fee: calc.service_fee,
            amount: calc.amount,
            payment,
            return_id: inspected.return_id.clone(),
            policy_version: self.policy.version.clone(),
            authorized_at: self.now(),
            authorized_by: String::new(),
            own_reasons: c.detail.own_reasons,
        };
        if !refunds::insert_if_absent(txn, &record).await? {
            return Ok(false);
        }
        mapping::events::stage_refund(&self.outbox, txn, &c, &record).await?;
        Ok(true)
    }

    /// The refund of a request, if the caller may see the claim and there is one.
    pub async fn refund(&self, caller: &Caller, request_no: &RequestNo) -> Result<Refund, Error> {
        self.get(caller, request_no).await?;
        refunds::get(&self.db, request_no.as_str())
            .await?
            .ok_or_else(|| Error::not_found(format!("refund of {request_no}")))
    }
}
