//! Dealers' consignments: on `warehouse.consignment.issued` (a dealer's parts order, or the good
//! unit of an advance exchange, left the warehouse) the method and carrier come from the same
//! rate table and rules as a request's shipment — an urgent consignment the fastest, valuables
//! insured, priced to the ship-to region — the carrier's adapter books the waybill, and the
//! consignment is recorded DISPATCHED with `logistics.consignment.dispatched` (the dealer's
//! shipment notice) staged in the same transaction.
//!
//! A consignment is no customer's request: it takes no request lock, never enters `shipments`
//! and publishes no `logistics.shipment.*` event (intake, field service and feedback would take
//! it for a request's). It is not consolidated with request shipments either, and the sim
//! carrier sends no tracking for it (the tracking path knows shipments and pick-ups only; a
//! consignment's only status so far is DISPATCHED).

use aftersales_platform::outbox::EventMeta;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use super::{Logistics, visible};
use crate::carrier::{self, Leg};
use crate::domain::method;
use crate::domain::{
    Address, BranchCode, ConsignmentKind, ConsignmentStatus, DealerCode, Line, Urgency,
};
use crate::error::Error;
use crate::store::consignments::{self, DealerConsignment};
use crate::store::{numbers, stmt};
use crate::wire;

/// The prefix of a consignment's shipment number (`CS-2612-000042`), a sequence of its own
/// beside the request shipments' `SH`.
pub const NUMBER_PREFIX: &str = "CS";

/// Goods the warehouse issued for a dealer (`warehouse.consignment.issued`), parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuedConsignment {
    pub consignment_id: String,
    pub kind: ConsignmentKind,
    pub dealer_code: DealerCode,
    pub branch: BranchCode,
    pub ship_to: Address,
    pub lines: Vec<Line>,
    pub value_minor: i64,
    pub value_currency: String,
    pub urgency: Urgency,
    pub issued_at: Option<DateTime<Utc>>,
    pub dealer_reference: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConsignOutcome {
    Dispatched(Box<DealerConsignment>),
    /// Shipped before (a redelivery, or the same consignment under another event id): nothing
    /// is written or published again.
    AlreadyShipped,
}

impl Logistics {
    /// `warehouse.consignment.issued`, in the handler's transaction.
    pub async fn on_consignment_issued(
        &self,
        txn: &DatabaseTransaction,
        cmd: &IssuedConsignment,
    ) -> Result<ConsignOutcome, Error> {
        // Two deliveries of one consignment (different event ids) run one after the other: the
        // second sees the first's row and takes no shipment number.
        txn.execute_raw(stmt(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            [format!("consignment:{}", cmd.consignment_id).into()],
        ))
        .await?;
        if consignments::exists(txn, &cmd.consignment_id).await? {
            return Ok(ConsignOutcome::AlreadyShipped);
        }
        let now = self.now();
        let measured = self.consignment(&cmd.lines, cmd.urgency, &cmd.ship_to, None);
        let choice = method::choose(&self.policy, &measured);
        let adapter = self.carriers.get(&choice.carrier);
        let shipment_no = numbers::next(txn, NUMBER_PREFIX, &self.period(now)).await?;
        let eta = self.arrival(now, choice.transit);
        // The adapters book in process and cannot fail; a carrier behind a network call would
        // return its error here, failing the transaction (nothing written) for a retry.
        let booking = adapter.book(&carrier::Consignment {
            number: &shipment_no,
            leg: Leg::Shipment,
            start: now,
            until: eta,
            window_from: None,
            from_place: &self.origin,
            to_place: &cmd.ship_to.address,
        });
        let c = DealerConsignment {
            consignment_id: cmd.consignment_id.clone(),
            kind: cmd.kind,
            dealer_code: cmd.dealer_code.as_str().to_owned(),
            branch: cmd.branch.as_str().to_owned(),
            shipment_no,
            status: ConsignmentStatus::Dispatched,
            urgency: cmd.urgency,
            method: choice.method,
            method_rule: choice.rule.as_str().to_owned(),
            method_reason: choice.reason(),
            carrier: adapter.code().to_owned(),
            waybill_no: booking.waybill_no,
            ship_to: cmd.ship_to.clone(),
            region: cmd.ship_to.region,
            origin: self.origin.clone(),
            lines: cmd.lines.clone(),
            weight_grams: i64::from(measured.weight_grams),
            value_minor: cmd.value_minor,
            value_currency: cmd.value_currency.clone(),
            currency: self.policy.currency.clone(),
            estimated_cost_minor: choice.cost_minor,
            insured_value_minor: measured.insured_value_minor,
            dealer_reference: cmd.dealer_reference.clone(),
            issued_at: cmd.issued_at,
            dispatched_at: now,
            eta,
        };
        if !consignments::insert(txn, &c).await? {
            return Ok(ConsignOutcome::AlreadyShipped);
        }
        self.outbox
            .stage(
                txn,
                EventMeta {
                    subject: &c.consignment_id,
                    branch: &c.branch,
                    request_no: "",
                },
                &wire::consignment_dispatched_event(&c),
            )
            .await?;
        tracing::info!(
            consignment_id = %c.consignment_id,
            dealer_code = %c.dealer_code,
            shipment_no = %c.shipment_no,
            waybill = %c.waybill_no,
            method = %c.method,
            rule = %c.method_rule,
            "consignment dispatched"
        );
        Ok(ConsignOutcome::Dispatched(Box::new(c)))
    }

    /// A consignment as `scope` (the caller's branch, `None` for head office) and `dealer` (a
    /// dealer's own code, `None` for staff) may see it; anything else is not found.
    pub async fn dealer_consignment(
        &self,
        consignment_id: &str,
        scope: Option<&str>,
        dealer: Option<&str>,
    ) -> Result<DealerConsignment, Error> {
        consignments::get(&self.db, consignment_id)
            .await?
            .filter(|c| visible(scope, &c.branch))
            .filter(|c| dealer.is_none_or(|d| d == c.dealer_code))
            .ok_or_else(|| Error::not_found(format!("consignment {consignment_id}")))
    }
}
