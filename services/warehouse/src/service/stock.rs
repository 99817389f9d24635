//! Stock as it stands (levels per zone, what is owed to back-orders), the ledger, the back-order
//! queue, and adjustments of on-hand.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, TransactionTrait};

use super::{Page, Warehouse};
use crate::domain::{MovementKind, PartNo, RequestNo, Zone};
use crate::error::Error;
use crate::store::parts::{self, Part};
use crate::store::reservations::{self, BackorderFilter, BackorderState, Reservation};
use crate::store::stock::{self, LedgerEntry, LedgerFilter, Level, Movement};

/// One part's stock.
#[derive(Debug, Clone)]
pub struct StockView {
    pub part: Part,
    pub levels: Vec<Level>,
    pub available: i64,
    pub backordered: i64,
}

/// Which ledger rows a listing wants, newest first.
#[derive(Debug, Clone)]
pub struct LedgerQuery {
    pub part_no: Option<PartNo>,
    pub zone: Option<Zone>,
    /// Empty for every kind.
    pub kinds: Vec<MovementKind>,
    pub reference_id: Option<String>,
    pub request_no: Option<RequestNo>,
    pub recorded_from: Option<DateTime<Utc>>,
    pub recorded_to: Option<DateTime<Utc>>,
    /// Keyed by entry id.
    pub page: Page<i64>,
}

/// Which back-orders a listing wants, in serving order.
#[derive(Debug, Clone)]
pub struct BackorderQuery {
    pub part_no: Option<PartNo>,
    /// The branch asked for; the caller's scope narrows it before the query runs.
    pub branch: Option<String>,
    pub state: BackorderState,
    /// Keyed by (urgency rank, arrival).
    pub page: Page<(i16, i64)>,
}

/// A correction of on-hand in one zone (stocktake differences).
#[derive(Debug, Clone)]
pub struct Adjustment {
    pub part_no: PartNo,
    pub zone: Zone,
    pub delta: i64,
    pub reason: String,
    pub reference_id: String,
    pub movement_date: Option<NaiveDate>,
}

impl Warehouse {
    pub async fn stock(&self, part_no: &PartNo) -> Result<StockView, Error> {
        let part = self.get_part(part_no).await?;
        // One snapshot for levels and back-orders.
        let txn = self.db.begin().await?;
        txn.execute_unprepared("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .await?;
        let levels = stock::levels(&txn, part_no.as_str()).await?;
        let backordered = reservations::backordered(&txn, part_no.as_str()).await?;
        txn.commit().await?;
        let available = levels
            .iter()
            .filter(|l| matches!(l.zone, Zone::Qualified | Zone::Valuables))
            .map(Level::available)
            .sum();
        Ok(StockView {
            part,
            levels,
            available,
            backordered,
        })
    }

    /// Newest first; the entry id the next page continues before.
    pub async fn ledger(&self, q: LedgerQuery) -> Result<(Vec<LedgerEntry>, Option<i64>), Error> {
        let filter = LedgerFilter {
            part_no: q.part_no.map(PartNo::into_string),
            zone: q.zone,
            kinds: q.kinds,
            reference_id: q.reference_id,
            request_no: q.request_no.map(RequestNo::into_string),
            recorded_from: q.recorded_from,
            recorded_to: q.recorded_to,
            before: q.page.after,
            limit: q.page.size,
        };
        let rows = stock::ledger(&self.db, &filter).await?;
        Ok(q.page.next(rows, |e| e.entry_id))
    }

    /// Back-orders in serving order; the key the next page starts after.
    pub async fn backorders(
        &self,
        q: BackorderQuery,
    ) -> Result<(Vec<Reservation>, Option<(i16, i64)>), Error> {
        let filter = BackorderFilter {
            part_no: q.part_no.map(PartNo::into_string),
            branch: q.branch,
            state: Some(q.state),
            after: q.page.after,
            limit: q.page.size,
        };
        let rows = reservations::list_backorders(&self.db, &filter).await?;
        Ok(q.page.next(rows, |r| (r.urgency.rank(), r.seq)))
    }

    /// Posts a correction of on-hand in one zone. Reserved units cannot be adjusted away.
    pub async fn adjust(&self, actor: &str, a: Adjustment) -> Result<LedgerEntry, Error> {
        let movement_date = self.movement_date(a.movement_date)?;
        let part_no = a.part_no.as_str();
        let txn = self.db.begin().await?;
        let part = parts::get(&txn, part_no)
            .await?
            .ok_or_else(|| Error::not_found(format!("part {part_no}")))?;
        if !a.zone.admits(part.valuable) {
            return Err(Error::precondition(format!(
                "{} stock of part {part_no} cannot be in {}",
                if part.valuable {
                    "valuable"
                } else {
                    "ordinary"
                },
                a.zone
            )));
        }
        self.check_period(&txn, movement_date).await?;
        let locked = stock::lock(&txn, &[(part_no.to_owned(), a.zone)]).await?;
        let available = locked.first().map(|(_, l)| l.available()).unwrap_or(0);
        if a.delta < 0 && available < -a.delta {
            return Err(Error::precondition(format!(
                "only {available} unreserved unit(s) of {part_no} in {}; cannot remove {}",
                a.zone, -a.delta
            )));
        }
        let entry = stock::post(
            &txn,
            &Movement {
                part_no,
                zone: a.zone,
                kind: MovementKind::StocktakeAdjustment,
                quantity: a.delta,
                reference_type: "stocktake",
                reference_id: &a.reference_id,
                request_no: "",
                reason: &a.reason,
                actor,
                movement_date,
            },
            0,
        )
        .await?;
        let touched = [part_no.to_owned()];
        if a.delta > 0 && matches!(a.zone, Zone::Qualified | Zone::Valuables) {
            self.serve_backorders(&txn, &touched).await?;
        }
        self.check_low(&txn, &touched).await?;
        txn.commit().await?;
        Ok(entry)
    }
}
