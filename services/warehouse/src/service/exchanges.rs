//! Advance exchange from turnover stock: QUALIFIED units moved into TURNOVER, good units shipped
//! to a dealer or agent out of TURNOVER ahead of its defective one (announced as a consignment,
//! `warehouse.consignment.issued`, which logistics ships), the defective unit received back, and
//! the scanner that announces, once per exchange, a defective unit not back by its
//! deadline (`warehouse.advance_exchange.overdue`, charged on the dealer's statement by
//! claims-review). The platform's [`Scanner`] runs the scan on one replica at a time; each
//! exchange turns OVERDUE in the same transaction as its event and the rows are taken with
//! `SKIP LOCKED`, so a scan repeated anywhere finds nothing left to do.

use std::time::Duration;

use aftersales_platform::db::is_unique_violation;
use aftersales_platform::ids::Serial;
use aftersales_platform::outbox::EventMeta;
use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::scanner::Scanner;
use chrono::{DateTime, Utc};
use sea_orm::TransactionTrait;

use super::dealer_orders::Consignment;
use super::{Page, Warehouse, vanished};
use crate::domain::dealer::{ConsignmentKind, ExchangeStatus};
use crate::domain::{
    Address, BranchCode, DealerCode, MovementKind, PartNo, Quantity, Urgency, Zone,
};
use crate::error::Error;
use crate::store::exchanges::{self, Exchange, ExchangeFilter};
use crate::store::parts;
use crate::store::stock::{self, LedgerEntry, LedgerFilter};
use crate::wire;

/// The scanner's name (its lock, its log lines, `TestService::scan`).
pub const OVERDUE_SCANNER: &str = "advance-exchange-overdue";

/// How many overdue exchanges one scan handles; the next tick takes the rest.
const BATCH: u64 = 100;

/// QUALIFIED units moved into TURNOVER.
#[derive(Debug, Clone)]
pub struct TransferToTurnover {
    pub idempotency_key: String,
    pub part_no: PartNo,
    pub quantity: Quantity,
    pub reason: String,
}

/// Good units for a dealer ahead of its defective one.
#[derive(Debug, Clone)]
pub struct CreateExchange {
    pub idempotency_key: String,
    pub dealer_code: DealerCode,
    pub branch: BranchCode,
    pub part_no: PartNo,
    pub quantity: Quantity,
    pub defective_serial: Serial,
    pub ship_to: Option<Address>,
    /// `None`: the warehouse's configured default.
    pub return_days: Option<u32>,
}

/// The defective unit of an exchange, back.
#[derive(Debug, Clone)]
pub struct ExchangeReturn {
    pub exchange_id: String,
    pub serial: Serial,
    /// OLD_PARTS or NONCONFORMING.
    pub zone: Zone,
    pub note: String,
}

/// Which exchanges a listing wants, newest first.
#[derive(Debug, Clone)]
pub struct ExchangesQuery {
    /// The dealer asked for; a dealer's token narrows it to its own before the query runs.
    pub dealer_code: Option<String>,
    /// The caller's branch scope (`None`: every branch).
    pub branch: Option<String>,
    pub overdue_only: bool,
    /// Keyed by (shipped_at, exchange_id).
    pub page: Page<(DateTime<Utc>, String)>,
}

pub fn scanner(warehouse: &Warehouse, every: Duration) -> Scanner {
    let w = warehouse.clone();
    Scanner::new(OVERDUE_SCANNER, every, move |now| {
        let w = w.clone();
        async move { Ok(w.scan_overdue_exchanges(now).await?) }
    })
}

impl Warehouse {
    /// Moves available QUALIFIED units into TURNOVER (a pair of transfer rows), all or nothing.
    /// The same idempotency key answers the first transfer's rows.
    pub async fn transfer_to_turnover(
        &self,
        actor: &str,
        cmd: TransferToTurnover,
    ) -> Result<Vec<LedgerEntry>, Error> {
        if let Some(id) = exchanges::find_transfer(&self.db, &cmd.idempotency_key).await? {
            return self.rows_of(&id).await;
        }
        let movement_date = self.today();
        let part_no = cmd.part_no.as_str();
        let txn = self.db.begin().await?;
        let part = parts::get(&txn, part_no).await?.ok_or_else(|| {
            Error::invalid("part_no", format!("{part_no} is not in the catalogue"))
        })?;
        if part.valuable {
            return Err(Error::invalid(
                "part_no",
                format!("{part_no} is a valuable part: it lives only in VALUABLES"),
            ));
        }
        self.check_period(&txn, movement_date).await?;
        let quantity = i64::from(cmd.quantity.get());
        let locked = stock::lock(
            &txn,
            &[
                (part_no.to_owned(), Zone::Qualified),
                (part_no.to_owned(), Zone::Turnover),
            ],
        )
        .await?;
        let available = locked
            .iter()
            .find(|(_, l)| l.zone == Zone::Qualified)
            .map_or(0, |(_, l)| l.available());
        if available < quantity {
            return Err(Error::precondition(format!(
                "part_no {part_no}: only {available} available unit(s) in QUALIFIED; cannot move {quantity} to TURNOVER; nothing was moved"
            )));
        }
        let id = format!("TT-{}", uuid::Uuid::now_v7().simple());
        if let Err(e) = exchanges::insert_transfer(
            &txn,
            &id,
            &cmd.idempotency_key,
            part_no,
            quantity,
            &cmd.reason,
            actor,
            self.now(),
        )
        .await
        {
            if is_unique_violation(&e) {
                drop(txn);
                let id = exchanges::find_transfer(&self.db, &cmd.idempotency_key)
                    .await?
                    .ok_or_else(|| vanished("transfer"))?;
                return self.rows_of(&id).await;
            }
            return Err(e.into());
        }
        let mut entries = Vec::new();
        for (zone, q) in [(Zone::Qualified, -quantity), (Zone::Turnover, quantity)] {
            entries.push(
                stock::post(
                    &txn,
                    &stock::Movement {
                        part_no,
                        zone,
                        kind: MovementKind::Transfer,
                        quantity: q,
                        reference_type: "turnover_transfer",
                        reference_id: &id,
                        request_no: "",
                        reason: &cmd.reason,
                        actor,
                        movement_date,
                    },
                    0,
                )
                .await?,
            );
        }
        // Fewer reservable units: the reorder point may have been crossed.
        self.check_low(&txn, &[part_no.to_owned()]).await?;
        txn.commit().await?;
        Ok(entries)
    }

    /// Ships good units to a dealer out of TURNOVER (one ledger row) and records the exchange,
    /// its defective unit due back `return_days` after now, and stages the consignment
    /// (`warehouse.consignment.issued`, URGENT: CRITICAL, the urgency logistics ships fastest).
    /// The same idempotency key answers the first exchange (`true`: replayed) and stages nothing.
    pub async fn create_advance_exchange(
        &self,
        actor: &str,
        cmd: CreateExchange,
    ) -> Result<(Exchange, bool), Error> {
        if let Some(x) = exchanges::find_by_key(&self.db, &cmd.idempotency_key).await? {
            return replay(x, &cmd);
        }
        let movement_date = self.today();
        let part_no = cmd.part_no.as_str();
        let txn = self.db.begin().await?;
        let part = parts::get(&txn, part_no).await?.ok_or_else(|| {
            Error::invalid("part_no", format!("{part_no} is not in the catalogue"))
        })?;
        self.check_period(&txn, movement_date).await?;
        let quantity = i64::from(cmd.quantity.get());
        let locked = stock::lock(&txn, &[(part_no.to_owned(), Zone::Turnover)]).await?;
        let available = locked.first().map_or(0, |(_, l)| l.available());
        if available < quantity {
            return Err(Error::precondition(format!(
                "part_no {part_no}: only {available} unit(s) in TURNOVER; cannot send {quantity} ahead; nothing was sent"
            )));
        }
        let now = self.now();
        let days = cmd.return_days.unwrap_or(self.exchange_return_days);
        let x = Exchange {
            exchange_id: format!("AX-{}", uuid::Uuid::now_v7().simple()),
            idempotency_key: cmd.idempotency_key.clone(),
            dealer_code: cmd.dealer_code.as_str().to_owned(),
            branch: cmd.branch.as_str().to_owned(),
            part_no: part_no.to_owned(),
            quantity,
            defective_serial: cmd.defective_serial.as_str().to_owned(),
            ship_to: cmd.ship_to.clone(),
            status: ExchangeStatus::Outstanding,
            shipped_at: now,
            due_at: now + chrono::Duration::days(i64::from(days)),
            charge_currency: part.unit_cost_currency.clone(),
            charge_minor: part.unit_cost_minor.saturating_mul(quantity),
            overdue_at: None,
            returned_at: None,
            returned_late: false,
            created_by: actor.to_owned(),
        };
        if let Err(e) = exchanges::insert(&txn, &x).await {
            if is_unique_violation(&e) {
                drop(txn);
                let first = exchanges::find_by_key(&self.db, &cmd.idempotency_key)
                    .await?
                    .ok_or_else(|| vanished("advance exchange"))?;
                return replay(first, &cmd);
            }
            return Err(e.into());
        }
        stock::post(
            &txn,
            &stock::Movement {
                part_no,
                zone: Zone::Turnover,
                kind: MovementKind::AdvanceExchange,
                quantity: -quantity,
                reference_type: "advance_exchange",
                reference_id: &x.exchange_id,
                request_no: "",
                reason: &format!(
                    "advance exchange to dealer {} for defective unit {}",
                    x.dealer_code, x.defective_serial
                ),
                actor,
                movement_date,
            },
            0,
        )
        .await?;
        // Logistics ships the unit; the dealer's customer waits for it.
        self.stage_consignment(
            &txn,
            Consignment {
                id: &x.exchange_id,
                kind: ConsignmentKind::AdvanceExchange,
                dealer_code: &x.dealer_code,
                branch: &x.branch,
                ship_to: x.ship_to.as_ref(),
                lines: vec![pb::PickLine {
                    part_no: x.part_no.clone(),
                    quantity: x.quantity as u32,
                    zone: wire::zone(Zone::Turnover),
                }],
                currency: &x.charge_currency,
                value_minor: x.charge_minor,
                issued_at: x.shipped_at,
                urgency: Urgency::Critical,
                dealer_reference: &x.defective_serial,
            },
        )
        .await?;
        txn.commit().await?;
        Ok((x, false))
    }

    /// Books an exchange's defective unit in (one ledger row into OLD_PARTS or NONCONFORMING)
    /// and marks the exchange RETURNED, also after it went overdue. Receiving it again answers
    /// the exchange as it is. Returns the exchange and whether it had gone overdue.
    pub async fn receive_exchange_return(
        &self,
        actor: &str,
        cmd: ExchangeReturn,
    ) -> Result<(Exchange, bool), Error> {
        let txn = self.db.begin().await?;
        let mut x = exchanges::get_for_update(&txn, &cmd.exchange_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("advance exchange {}", cmd.exchange_id)))?;
        if cmd.serial.as_str() != x.defective_serial {
            return Err(Error::invalid(
                "serial",
                format!(
                    "{} is not the defective unit of {} (expected {})",
                    cmd.serial, x.exchange_id, x.defective_serial
                ),
            ));
        }
        if x.status == ExchangeStatus::Returned {
            let late = x.returned_late;
            return Ok((x, late));
        }
        let was_overdue = x.status == ExchangeStatus::Overdue;
        let movement_date = self.today();
        self.check_period(&txn, movement_date).await?;
        stock::lock(&txn, &[(x.part_no.clone(), cmd.zone)]).await?;
        let reason = if cmd.note.is_empty() {
            format!(
                "defective unit {} of advance exchange {}",
                x.defective_serial, x.exchange_id
            )
        } else {
            format!(
                "defective unit {} of advance exchange {}: {}",
                x.defective_serial, x.exchange_id, cmd.note
            )
        };
        stock::post(
            &txn,
            &stock::Movement {
                part_no: &x.part_no,
                zone: cmd.zone,
                kind: MovementKind::OldPartReturn,
                quantity: x.quantity,
                reference_type: "advance_exchange",
                reference_id: &x.exchange_id,
                request_no: "",
                reason: &reason,
                actor,
                movement_date,
            },
            0,
        )
        .await?;
        x.status = ExchangeStatus::Returned;
        x.returned_at = Some(self.now());
        x.returned_late = was_overdue;
        exchanges::update(&txn, &x).await?;
        txn.commit().await?;
        Ok((x, was_overdue))
    }

    /// A page of exchanges, newest first, and the key the next page starts after.
    pub async fn advance_exchanges(
        &self,
        q: ExchangesQuery,
    ) -> Result<(Vec<Exchange>, Option<(DateTime<Utc>, String)>), Error> {
        let rows = exchanges::list(
            &self.db,
            &ExchangeFilter {
                dealer_code: q.dealer_code,
                branch: q.branch,
                overdue_only: q.overdue_only,
                after: q.page.after.clone(),
                limit: q.page.size,
            },
        )
        .await?;
        Ok(q.page.next(rows, |x| (x.shipped_at, x.exchange_id.clone())))
    }

    /// Announces every outstanding exchange past its deadline at `now` once
    /// (`warehouse.advance_exchange.overdue`, charging unit cost x quantity). How many.
    pub async fn scan_overdue_exchanges(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let txn = self.db.begin().await?;
        let due = exchanges::overdue_for_update(&txn, now, BATCH).await?;
        let n = due.len();
        for mut x in due {
            x.status = ExchangeStatus::Overdue;
            x.overdue_at = Some(now);
            exchanges::update(&txn, &x).await?;
            let event = pb::AdvanceExchangeOverdue {
                exchange_id: x.exchange_id.clone(),
                dealer_code: x.dealer_code.clone(),
                branch: x.branch.clone(),
                part_no: x.part_no.clone(),
                quantity: x.quantity as u32,
                defective_serial: x.defective_serial.clone(),
                shipped_at: Some(wire::timestamp(x.shipped_at)),
                due_at: Some(wire::timestamp(x.due_at)),
                charge: Some(wire::money(&x.charge_currency, x.charge_minor)),
            };
            self.outbox
                .stage(
                    &txn,
                    EventMeta {
                        subject: &x.exchange_id,
                        branch: &x.branch,
                        request_no: "",
                    },
                    &event,
                )
                .await?;
        }
        txn.commit().await?;
        Ok(n)
    }

    /// The ledger rows of one document, oldest first.
    async fn rows_of(&self, reference_id: &str) -> Result<Vec<LedgerEntry>, Error> {
        let mut rows = stock::ledger(
            &self.db,
            &LedgerFilter {
                reference_id: Some(reference_id.to_owned()),
                limit: 1000,
                ..Default::default()
            },
        )
        .await?;
        rows.reverse();
        Ok(rows)
    }
}

fn replay(x: Exchange, cmd: &CreateExchange) -> Result<(Exchange, bool), Error> {
    if x.dealer_code == cmd.dealer_code.as_str()
        && x.part_no == cmd.part_no.as_str()
        && x.quantity == i64::from(cmd.quantity.get())
        && x.defective_serial == cmd.defective_serial.as_str()
    {
        Ok((x, true))
    } else {
        Err(Error::AlreadyExists(
            "idempotency_key was already used for a different advance exchange; use a new key"
                .into(),
        ))
    }
}
