//! The warehouse's operations, each one transaction, grouped by area: the catalogue, product
//! models and their lifecycle, stock (levels, ledger, back-orders, adjustments), inbound receipt
//! and inspection, reservation, replacement reservation and release (run inside the event
//! handler's transaction), outbound issue against a pick list, returned units (received by a
//! clerk or on a completed pick-up), old parts and supplier returns, dealers' old parts by batch,
//! advance exchanges from turnover stock (and their overdue scanner), dealers' parts orders (both
//! announced as consignments to the dealer), stocktake and period close, and ABC classification. Each takes a command already parsed into domain types (by the gRPC
//! layer or an event handler); what they answer is the store's rows, and the events they stage
//! are the only protobuf they build.
//!
//! Concurrency: every operation that changes stock locks the stock rows it touches through
//! [`stock::lock`], which takes them in (part_no, zone) order; the last unit therefore goes to
//! exactly one transaction, and the tables' CHECKs refuse negative or over-reserved stock even
//! if a bug slipped through. Serving back-orders may lock further rows after the caller's; a
//! deadlock Postgres detects there surfaces as [`Error::Aborted`] (ABORTED to a caller, a retry
//! to the consumer).

use std::collections::BTreeSet;

use aftersales_platform::clock::Clock;
use aftersales_platform::outbox::{EventMeta, Outbox};
use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::validate::Violations;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction};

mod abc;
mod catalogue;
mod dealer_orders;
mod dealer_parts;
mod exchanges;
mod inbound;
mod models;
mod old_parts;
mod outbound;
mod reservations;
mod returns;
mod stock;
mod stocktake;

pub use catalogue::PartsQuery;
pub use dealer_orders::CreateDealerOrder;
pub use dealer_parts::{
    BatchView, BoxedPart, DealerDuePart, ExpectDealerParts, GivenVerdict, InspectOldPartBatch,
    ReceiveOldPartBatch,
};
pub use exchanges::{
    CreateExchange, ExchangeReturn, ExchangesQuery, OVERDUE_SCANNER, TransferToTurnover, scanner,
};
pub use inbound::{GoodsLine, InspectionLine, ReceiveGoods, RecordInspection};
pub use models::{ModelFacts, ModelsQuery};
pub use old_parts::{
    DueOldPart, ExpectOldParts, Overdue, OverdueQuery, ReceiveOldPart, ReturnToSupplier,
    SupplierReturnLine,
};
pub use outbound::IssueParts;
pub use reservations::{ReleaseOutcome, ReplaceCommand, ReserveCommand, ReserveOutcome};
pub use returns::{AccessoryCheck, InspectReturn, PickupReceipt, ReceiveReturn, ReturnsQuery};
pub use stock::{Adjustment, BackorderQuery, LedgerQuery, StockView};
pub use stocktake::{CloseStocktake, ClosedPeriod, OpenStocktake, RecordCount};

use crate::domain::PartNo;
use crate::domain::stock::{low_stock_transition, movement_date};
use crate::error::Error;
use crate::store::{parts, reservations as held, stock as levels};
use crate::wire;

/// What the operations need.
#[derive(Clone)]
pub struct Warehouse {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    /// Hold what is available and back-order the rest, instead of all or nothing.
    pub partial_reservations: bool,
    /// Every "now" and "today" of an operation (tests move it).
    pub clock: Clock,
    /// Days an advance exchange's defective unit has to come back when the request says none.
    pub exchange_return_days: u32,
}

/// One page of a list: at most `size` rows, after the sort key where the previous page ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<K> {
    pub size: u64,
    pub after: Option<K>,
}

impl<K> Page<K> {
    /// The rows of a page and the key the next one starts after (the last row's, when the page
    /// came back full).
    fn next<T, N>(&self, rows: Vec<T>, key: impl Fn(&T) -> N) -> (Vec<T>, Option<N>) {
        let next = (rows.len() as u64 >= self.size && self.size > 0)
            .then(|| rows.last().map(key))
            .flatten();
        (rows, next)
    }
}

impl Warehouse {
    pub fn new(db: DatabaseConnection, partial_reservations: bool, clock: Clock) -> Self {
        Self {
            db,
            outbox: Outbox::new(crate::config::SERVICE),
            partial_reservations,
            clock,
            exchange_return_days: crate::config::DEFAULT_EXCHANGE_RETURN_DAYS,
        }
    }

    /// The same, with `days` as the default return deadline of advance exchanges.
    pub fn with_exchange_return_days(mut self, days: u32) -> Self {
        self.exchange_return_days = days;
        self
    }

    /// Now, at the precision Postgres keeps (microseconds), so an answer equals a later read.
    fn now(&self) -> DateTime<Utc> {
        use chrono::DurationRound;
        let t = self.clock.now();
        t.duration_trunc(chrono::Duration::microseconds(1))
            .unwrap_or(t)
    }

    fn today(&self) -> NaiveDate {
        self.clock.now().date_naive()
    }

    /// The date a movement is booked on (today unless given).
    fn movement_date(&self, given: Option<NaiveDate>) -> Result<NaiveDate, Error> {
        movement_date(given, self.today()).map_err(|e| Error::invalid("movement_date", e))
    }

    /// Refuses part numbers the catalogue does not have, naming each under its field.
    async fn require_catalogued(
        &self,
        txn: &DatabaseTransaction,
        parts: &[(String, &PartNo)],
    ) -> Result<(), Error> {
        let mut v = Violations::new();
        for (field, part_no) in parts {
            if parts::get(txn, part_no.as_str()).await?.is_none() {
                v.add(field.clone(), format!("{part_no} is not in the catalogue"));
            }
        }
        Ok(v.finish()?)
    }

    async fn check_period(&self, txn: &DatabaseTransaction, date: NaiveDate) -> Result<(), Error> {
        // Shared with other movements, exclusive with closing the month: a movement that passed
        // this check commits before the month can close.
        let period = date.format("%Y-%m").to_string();
        txn.execute_raw(crate::store::stmt(
            "SELECT pg_advisory_xact_lock_shared($1)",
            [period_lock_key(&period).into()],
        ))
        .await?;
        if levels::period_closed(txn, date).await? {
            return Err(Error::precondition(format!(
                "period {} is closed; movements dated {date} are not accepted",
                date.format("%Y-%m")
            )));
        }
        Ok(())
    }

    /// Fires `warehouse.stock.low` for each part whose available fell below its reorder point
    /// (once per crossing), and re-arms the alert of those back at or above it.
    async fn check_low(&self, txn: &DatabaseTransaction, part_nos: &[String]) -> Result<(), Error> {
        let set: BTreeSet<&String> = part_nos.iter().collect();
        for part_no in set {
            let Some(part) = parts::get(txn, part_no).await? else {
                continue;
            };
            let available = levels::reservable(txn, part_no).await?;
            let alerted = parts::low_alerted(txn, part_no).await?;
            match low_stock_transition(alerted, available, part.reorder_point) {
                Some(true) if parts::set_low_alerted(txn, part_no, true).await? => {
                    let event = pb::StockLow {
                        part_no: part.part_no.clone(),
                        name: part.name.clone(),
                        available: available.max(0) as u32,
                        reorder_point: part.reorder_point as u32,
                        reorder_quantity: part.reorder_quantity as u32,
                        safety_stock: part.safety_stock as u32,
                        backordered: held::backordered(txn, part_no).await? as u32,
                        lifecycle: wire::lifecycle(part.lifecycle),
                        unit_cost: Some(wire::money(
                            &part.unit_cost_currency,
                            part.unit_cost_minor,
                        )),
                    };
                    self.outbox
                        .stage(
                            txn,
                            EventMeta {
                                subject: part_no,
                                ..Default::default()
                            },
                            &event,
                        )
                        .await?;
                }
                Some(false) => {
                    parts::set_low_alerted(txn, part_no, false).await?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// The advisory lock key of a period ("YYYY-MM"): a fixed prefix and the month number.
fn period_lock_key(period: &str) -> i64 {
    let digits: String = period.chars().filter(char::is_ascii_digit).collect();
    0x0af7_e45a_0000_0000 + digits.parse::<i64>().unwrap_or(0)
}

/// A concurrent request with the same idempotency key won the insert, yet its row cannot be
/// read back to answer with: a race the caller retries.
fn vanished(what: &str) -> Error {
    Error::Aborted(format!("a concurrent {what} vanished; retry"))
}
