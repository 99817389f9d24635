//! Stocktake (open, count, close with adjustments and accuracy) and period close.

use std::collections::HashMap;

use aftersales_platform::db::is_unique_violation;
use aftersales_platform::outbox::EventMeta;
use aftersales_platform::proto::warehouse::v1 as pb;
use chrono::{Datelike, Utc};
use sea_orm::{ConnectionTrait, TransactionTrait};

use super::{Warehouse, period_lock_key, vanished};
use crate::domain::stocktake::{Count, accuracy_bp};
use crate::domain::{MovementKind, PartNo, Zone};
use crate::error::Error;
use crate::store::stmt;
use crate::store::stocktakes::{self, Stocktake};
use crate::store::{parts, stock};
use crate::wire;

/// A closed month.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedPeriod {
    pub period: String,
    pub closed_at: chrono::DateTime<Utc>,
    pub closed_by: String,
}

/// A stocktake to open over a scope: every (part, zone) the part may be stocked in, narrowed to
/// these zones and parts when given.
#[derive(Debug, Clone)]
pub struct OpenStocktake {
    pub idempotency_key: String,
    pub zones: Vec<Zone>,
    pub part_nos: Vec<PartNo>,
    pub note: String,
}

/// A counted quantity of one line.
#[derive(Debug, Clone)]
pub struct RecordCount {
    pub stocktake_id: String,
    pub part_no: PartNo,
    pub zone: Zone,
    pub counted: u32,
}

/// Closing a stocktake: the reason posted with each difference.
#[derive(Debug, Clone)]
pub struct CloseStocktake {
    pub stocktake_id: String,
    /// Per (part, zone); lines without one take `default_reason`.
    pub reasons: HashMap<(String, Zone), String>,
    pub default_reason: String,
    /// Treat uncounted lines as matching instead of refusing the close.
    pub allow_uncounted: bool,
}

impl Warehouse {
    /// Snapshots the book quantities of the scope. The same idempotency key returns the first
    /// stocktake.
    pub async fn open_stocktake(
        &self,
        actor: &str,
        cmd: OpenStocktake,
    ) -> Result<Stocktake, Error> {
        let idempotency_key = cmd.idempotency_key.as_str();
        if let Some(s) = stocktakes::find_by_idempotency_key(&self.db, idempotency_key).await? {
            return Ok(s);
        }
        let txn = self.db.begin().await?;
        let named: Vec<_> = (cmd.part_nos.iter().enumerate())
            .map(|(i, p)| (format!("part_nos[{i}]"), p))
            .collect();
        self.require_catalogued(&txn, &named).await?;
        let s = Stocktake {
            stocktake_id: format!("ST-{}", uuid::Uuid::now_v7().simple()),
            idempotency_key: idempotency_key.to_owned(),
            closed: false,
            zones: cmd.zones,
            part_nos: cmd.part_nos.into_iter().map(PartNo::into_string).collect(),
            note: cmd.note,
            opened_by: actor.to_owned(),
            opened_at: self.now(),
            closed_by: String::new(),
            closed_at: None,
            accuracy_bp: 0,
            currency: String::new(),
            difference_minor: 0,
            lines: vec![],
        };
        if let Err(e) = stocktakes::open(&txn, &s).await {
            if is_unique_violation(&e) {
                drop(txn);
                return stocktakes::find_by_idempotency_key(&self.db, idempotency_key)
                    .await?
                    .ok_or_else(|| vanished("stocktake"));
            }
            return Err(e.into());
        }
        txn.commit().await?;
        self.stocktake(&s.stocktake_id).await
    }

    pub async fn stocktake(&self, id: &str) -> Result<Stocktake, Error> {
        stocktakes::get(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("stocktake {id}")))
    }

    /// Records the counted quantity of one line (the last count wins).
    pub async fn record_count(&self, actor: &str, cmd: RecordCount) -> Result<Stocktake, Error> {
        let (id, part_no, zone) = (cmd.stocktake_id.as_str(), cmd.part_no.as_str(), cmd.zone);
        let txn = self.db.begin().await?;
        let s = stocktakes::get_for_update(&txn, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("stocktake {id}")))?;
        if s.closed {
            return Err(Error::precondition(format!(
                "stocktake {id} is closed; counts can no longer change"
            )));
        }
        let counted = i64::from(cmd.counted);
        if !stocktakes::record_count(&txn, id, part_no, zone, counted, actor).await? {
            return Err(Error::not_found(format!(
                "line {part_no} in {zone} of stocktake {id}"
            )));
        }
        txn.commit().await?;
        self.stocktake(id).await
    }

    /// Posts every difference (counted - book) as a STOCKTAKE_ADJUSTMENT with its reason,
    /// computes the accuracy, stages `warehouse.stocktake.closed`. All or nothing: a difference
    /// that would take reserved units away refuses the whole close. Closing a closed stocktake
    /// returns it.
    pub async fn close_stocktake(
        &self,
        actor: &str,
        cmd: CloseStocktake,
    ) -> Result<Stocktake, Error> {
        let id = cmd.stocktake_id.as_str();
        let (reasons, default_reason) = (&cmd.reasons, cmd.default_reason.as_str());
        let txn = self.db.begin().await?;
        let mut s = stocktakes::get_for_update(&txn, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("stocktake {id}")))?;
        if s.closed {
            return Ok(s);
        }
        let uncounted: Vec<String> = s
            .lines
            .iter()
            .filter(|l| l.counted.is_none())
            .map(|l| format!("{} in {}", l.part_no, l.zone))
            .collect();
        if !uncounted.is_empty() && !cmd.allow_uncounted {
            return Err(Error::precondition(format!(
                "{} line(s) of stocktake {id} are not counted (set allow_uncounted to treat them as matching): {}",
                uncounted.len(),
                uncounted
                    .iter()
                    .take(20)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let today = self.today();
        self.check_period(&txn, today).await?;
        let keys: Vec<(String, Zone)> = s
            .lines
            .iter()
            .filter(|l| l.counted.is_some_and(|c| c != l.book))
            .map(|l| (l.part_no.clone(), l.zone))
            .collect();
        let locked = stock::lock(&txn, &keys).await?;
        let mut counts = Vec::new();
        let mut adjustments = Vec::new();
        let (mut abs_minor, mut net_minor, mut currency) = (0i64, 0i64, String::new());
        let mut served = Vec::new();
        for l in s.lines.iter_mut() {
            let count = Count {
                book: l.book,
                counted: l.counted.unwrap_or(l.book),
            };
            counts.push(count);
            let diff = count.difference();
            if diff == 0 {
                continue;
            }
            let level = locked
                .iter()
                .find(|(p, lv)| *p == l.part_no && lv.zone == l.zone)
                .map(|(_, lv)| *lv)
                .ok_or_else(|| Error::not_found(format!("stock of {} in {}", l.part_no, l.zone)))?;
            if diff < 0 && level.available() < -diff {
                return Err(Error::precondition(format!(
                    "{} in {}: {} unit(s) are short but only {} are unreserved; release or issue the reservations first; nothing was posted",
                    l.part_no,
                    l.zone,
                    -diff,
                    level.available()
                )));
            }
            let reason = reasons
                .get(&(l.part_no.clone(), l.zone))
                .cloned()
                .filter(|r| !r.is_empty())
                .or_else(|| Some(default_reason.to_owned()).filter(|r| !r.is_empty()))
                .unwrap_or_else(|| "stocktake difference".to_owned());
            l.reason = reason.clone();
            stock::post(
                &txn,
                &stock::Movement {
                    part_no: &l.part_no,
                    zone: l.zone,
                    kind: MovementKind::StocktakeAdjustment,
                    quantity: diff,
                    reference_type: "stocktake",
                    reference_id: id,
                    request_no: "",
                    reason: &reason,
                    actor,
                    movement_date: today,
                },
                0,
            )
            .await?;
            let part = parts::get(&txn, &l.part_no).await?;
            let (cost, cur) = part
                .map(|p| (p.unit_cost_minor, p.unit_cost_currency))
                .unwrap_or((0, String::new()));
            if currency.is_empty() {
                currency = cur.clone();
            }
            abs_minor += diff.abs() * cost;
            net_minor += diff * cost;
            if diff > 0 && matches!(l.zone, Zone::Qualified | Zone::Valuables) {
                served.push(l.part_no.clone());
            }
            adjustments.push(pb::StocktakeAdjustment {
                part_no: l.part_no.clone(),
                zone: wire::zone(l.zone),
                book: l.book as u32,
                counted: count.counted as u32,
                difference: diff as i32,
                reason,
                value: Some(wire::money(&cur, diff * cost)),
            });
        }
        let at = self.now();
        s.closed = true;
        s.closed_by = actor.to_owned();
        s.closed_at = Some(at);
        s.accuracy_bp = accuracy_bp(&counts) as i32;
        s.currency = currency.clone();
        s.difference_minor = abs_minor;
        stocktakes::close(&txn, &s).await?;
        let matched = counts.iter().filter(|c| c.difference() == 0).count();
        let event = pb::StocktakeClosed {
            stocktake_id: id.to_owned(),
            lines_counted: counts.len() as u32,
            lines_matched: matched as u32,
            accuracy_bp: s.accuracy_bp as u32,
            adjustments,
            net_adjustment_value: Some(wire::money(&currency, net_minor)),
            closed_at: Some(wire::timestamp(at)),
            closed_by: actor.to_owned(),
        };
        self.outbox
            .stage(
                &txn,
                EventMeta {
                    subject: id,
                    ..Default::default()
                },
                &event,
            )
            .await?;
        self.serve_backorders(&txn, &served).await?;
        let touched: Vec<String> = keys.into_iter().map(|(p, _)| p).collect();
        self.check_low(&txn, &touched).await?;
        txn.commit().await?;
        self.stocktake(id).await
    }

    /// Closes a past month: no movement dated in it is accepted afterwards. Every earlier month
    /// since the first movement must be closed first. Closing a closed month returns it.
    pub async fn close_period(
        &self,
        actor: &str,
        (year, month): (i32, u32),
    ) -> Result<ClosedPeriod, Error> {
        let period = format!("{year:04}-{month:02}");
        let txn = self.db.begin().await?;
        // Waits for movements checking this month to commit; later ones see it closed.
        txn.execute_raw(stmt(
            "SELECT pg_advisory_xact_lock($1)",
            [period_lock_key(&period).into()],
        ))
        .await?;
        if let Some(p) = closed(&txn, &period).await? {
            return Ok(p);
        }
        let today = self.today();
        if (year, month) >= (today.year(), today.month()) {
            return Err(Error::precondition(format!(
                "{period} has not ended; only a past month can be closed"
            )));
        }
        let first = txn
            .query_one_raw(stmt(
                "SELECT to_char(min(movement_date), 'YYYY-MM') AS p FROM ledger",
                [],
            ))
            .await?
            .and_then(|r| r.try_get::<Option<String>>("", "p").ok().flatten());
        let mut open = Vec::new();
        if let Some(first) = first {
            let (mut y, mut m) = crate::domain::stocktake::parse_period(&first)
                .map_err(|e| Error::Unexpected(anyhow::anyhow!(e)))?;
            while (y, m) < (year, month) {
                let p = format!("{y:04}-{m:02}");
                if closed(&txn, &p).await?.is_none() {
                    open.push(p);
                }
                (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            }
        }
        if !open.is_empty() {
            return Err(Error::precondition(format!(
                "earlier periods are still open; close them first: {}",
                open.join(", ")
            )));
        }
        let at = self.now();
        txn.execute_raw(stmt(
            "INSERT INTO closed_periods (period, closed_at, closed_by) VALUES ($1, $2, $3)",
            [period.as_str().into(), at.into(), actor.into()],
        ))
        .await?;
        txn.commit().await?;
        Ok(ClosedPeriod {
            period,
            closed_at: at,
            closed_by: actor.to_owned(),
        })
    }
}

async fn closed<C: ConnectionTrait>(conn: &C, period: &str) -> Result<Option<ClosedPeriod>, Error> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT period, closed_at, closed_by FROM closed_periods WHERE period = $1",
            [period.into()],
        ))
        .await?;
    Ok(match row {
        Some(r) => Some(ClosedPeriod {
            period: r.try_get("", "period")?,
            closed_at: r.try_get("", "closed_at")?,
            closed_by: r.try_get("", "closed_by")?,
        }),
        None => None,
    })
}
