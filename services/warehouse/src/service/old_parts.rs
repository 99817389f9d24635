//! Old parts: expected back from completed work orders, booked in to OLD_PARTS, reported when
//! overdue; and returns to a supplier out of NONCONFORMING or OLD_PARTS.

use aftersales_platform::db::is_unique_violation;
use aftersales_platform::outbox::EventMeta;
use aftersales_platform::proto::warehouse::v1 as pb;
use chrono::NaiveDate;
use sea_orm::{DatabaseTransaction, TransactionTrait};

use super::{Warehouse, now, timestamp};
use crate::domain::{MovementKind, Zone};
use crate::error::Error;
use crate::store::old_parts::{self, Expected, OldPartReturn};
use crate::store::parts;
use crate::store::stock::{self, LedgerEntry, LedgerFilter};

/// An old part handed in at the counter.
#[derive(Debug, Clone)]
pub struct ReceiveOldPart {
    pub idempotency_key: String,
    pub work_order_no: String,
    pub request_no: String,
    pub part_no: String,
    pub quantity: u32,
    pub serial: String,
    pub condition: String,
    pub movement_date: NaiveDate,
}

/// Units sent back to a supplier.
#[derive(Debug, Clone)]
pub struct ReturnToSupplier {
    pub idempotency_key: String,
    pub supplier_id: String,
    pub po_number: String,
    pub rma_no: String,
    /// (part_no, quantity, zone): zone NONCONFORMING or OLD_PARTS.
    pub lines: Vec<(String, u32, Zone)>,
    pub reason: String,
    pub movement_date: NaiveDate,
}

impl Warehouse {
    /// Records old parts a completed work order says must come back (in the handler's
    /// transaction).
    pub async fn expect_old_parts(
        &self,
        txn: &DatabaseTransaction,
        expected: &[Expected],
    ) -> Result<(), Error> {
        for e in expected {
            old_parts::expect(txn, e).await?;
        }
        Ok(())
    }

    /// Books an old part to OLD_PARTS and stages `warehouse.oldpart.received`. The same
    /// idempotency key returns the first booking. Returns whether it was expected.
    pub async fn receive_old_part(
        &self,
        actor: &str,
        cmd: ReceiveOldPart,
    ) -> Result<(OldPartReturn, bool), Error> {
        if let Some(r) = old_parts::find_return_by_key(&self.db, &cmd.idempotency_key).await? {
            return replay(r, &cmd);
        }
        let txn = self.db.begin().await?;
        if parts::get(&txn, &cmd.part_no).await?.is_none() {
            return Err(Error::Invalid(vec![
                aftersales_platform::grpc::Violation::new(
                    "part_no",
                    format!("{} is not in the catalogue", cmd.part_no),
                ),
            ]));
        }
        self.check_period(&txn, cmd.movement_date).await?;
        let expected =
            old_parts::expected_for_update(&txn, &cmd.work_order_no, &cmd.part_no).await?;
        let quantity = i64::from(cmd.quantity);
        let r = OldPartReturn {
            old_part_id: format!("OP-{}", uuid::Uuid::now_v7().simple()),
            idempotency_key: cmd.idempotency_key.clone(),
            request_no: expected
                .as_ref()
                .map(|e| e.request_no.clone())
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| cmd.request_no.clone()),
            branch: expected
                .as_ref()
                .map(|e| e.branch.clone())
                .unwrap_or_default(),
            work_order_no: cmd.work_order_no.clone(),
            part_no: cmd.part_no.clone(),
            quantity,
            serial: cmd.serial.clone(),
            technician_id: expected
                .as_ref()
                .map(|e| e.technician_id.clone())
                .unwrap_or_default(),
            expected_by_date: expected.as_ref().and_then(|e| e.expected_by_date),
            condition: cmd.condition.clone(),
            was_expected: expected.is_some(),
            movement_date: cmd.movement_date,
            received_at: now(),
        };
        if let Err(e) = old_parts::insert_return(&txn, &r).await {
            if is_unique_violation(&e) {
                drop(txn);
                let r = old_parts::find_return_by_key(&self.db, &cmd.idempotency_key)
                    .await?
                    .ok_or_else(|| Error::Aborted("a concurrent booking vanished; retry".into()))?;
                return replay(r, &cmd);
            }
            return Err(e.into());
        }
        if expected.is_some() {
            old_parts::add_received(&txn, &cmd.work_order_no, &cmd.part_no, quantity).await?;
        }
        stock::lock(&txn, &[(r.part_no.clone(), Zone::OldParts)]).await?;
        stock::post(
            &txn,
            &stock::Movement {
                part_no: &r.part_no,
                zone: Zone::OldParts,
                kind: MovementKind::OldPartReturn,
                quantity,
                reference_type: "old_part",
                reference_id: &r.old_part_id,
                request_no: &r.request_no,
                reason: &format!("old part from work order {}", r.work_order_no),
                actor,
                movement_date: r.movement_date,
            },
            0,
        )
        .await?;
        let days_late = r
            .expected_by_date
            .map(|d| (r.movement_date - d).num_days().max(0) as u32)
            .unwrap_or(0);
        let event = pb::OldPartReceived {
            request_no: r.request_no.clone(),
            branch: r.branch.clone(),
            old_part_id: r.old_part_id.clone(),
            work_order_no: r.work_order_no.clone(),
            part_no: r.part_no.clone(),
            quantity: cmd.quantity,
            serial: r.serial.clone(),
            technician_id: r.technician_id.clone(),
            expected_by_date: r
                .expected_by_date
                .map(|d| d.to_string())
                .unwrap_or_default(),
            days_late,
            received_at: Some(timestamp(r.received_at)),
        };
        self.outbox
            .stage(&txn, EventMeta::request(&r.request_no, &r.branch), &event)
            .await?;
        txn.commit().await?;
        Ok((r, expected.is_some()))
    }

    /// Old parts due before `as_of` and not (fully) back, most overdue first.
    pub async fn overdue_old_parts(
        &self,
        as_of: NaiveDate,
        branch: Option<&str>,
        technician_id: Option<&str>,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<Expected>, Option<u32>), Error> {
        let mut rows =
            old_parts::overdue(&self.db, as_of, branch, technician_id, offset, limit).await?;
        if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            return Ok((rows, Some(offset + limit)));
        }
        Ok((rows, None))
    }

    /// Takes NONCONFORMING or OLD_PARTS units out to a supplier, one ledger row per line, all
    /// or nothing. The same idempotency key returns the first return's rows.
    pub async fn return_to_supplier(
        &self,
        actor: &str,
        cmd: ReturnToSupplier,
    ) -> Result<(String, Vec<LedgerEntry>), Error> {
        if let Some(id) = old_parts::find_supplier_return(&self.db, &cmd.idempotency_key).await? {
            return self.supplier_return_rows(id).await;
        }
        let txn = self.db.begin().await?;
        self.check_period(&txn, cmd.movement_date).await?;
        let id = format!("SR-{}", uuid::Uuid::now_v7().simple());
        if let Err(e) = old_parts::insert_supplier_return(
            &txn,
            &id,
            &cmd.idempotency_key,
            &cmd.supplier_id,
            &cmd.po_number,
            &cmd.rma_no,
            &cmd.reason,
            actor,
            now(),
        )
        .await
        {
            if is_unique_violation(&e) {
                drop(txn);
                let id = old_parts::find_supplier_return(&self.db, &cmd.idempotency_key)
                    .await?
                    .ok_or_else(|| Error::Aborted("a concurrent return vanished; retry".into()))?;
                return self.supplier_return_rows(id).await;
            }
            return Err(e.into());
        }
        let keys: Vec<(String, Zone)> = cmd.lines.iter().map(|(p, _, z)| (p.clone(), *z)).collect();
        let locked = stock::lock(&txn, &keys).await?;
        let mut entries = Vec::new();
        for (part_no, qty, zone) in &cmd.lines {
            let need: i64 = cmd
                .lines
                .iter()
                .filter(|(p, _, z)| p == part_no && z == zone)
                .map(|(_, q, _)| i64::from(*q))
                .sum();
            let available = locked
                .iter()
                .find(|(p, l)| p == part_no && l.zone == *zone)
                .map(|(_, l)| l.available())
                .ok_or_else(|| Error::NotFound(format!("part {part_no}")))?;
            if available < need {
                return Err(Error::FailedPrecondition(format!(
                    "only {available} unit(s) of {part_no} in {zone}; cannot return {need}; nothing was returned"
                )));
            }
            entries.push(
                stock::post(
                    &txn,
                    &stock::Movement {
                        part_no,
                        zone: *zone,
                        kind: MovementKind::ReturnToSupplier,
                        quantity: -i64::from(*qty),
                        reference_type: "supplier_return",
                        reference_id: &id,
                        request_no: "",
                        reason: &cmd.reason,
                        actor,
                        movement_date: cmd.movement_date,
                    },
                    0,
                )
                .await?,
            );
        }
        txn.commit().await?;
        Ok((id, entries))
    }

    async fn supplier_return_rows(&self, id: String) -> Result<(String, Vec<LedgerEntry>), Error> {
        let (mut rows, _) = self
            .ledger(LedgerFilter {
                reference_id: Some(id.clone()),
                limit: 1000,
                ..Default::default()
            })
            .await?;
        rows.reverse();
        Ok((id, rows))
    }
}

fn replay(r: OldPartReturn, cmd: &ReceiveOldPart) -> Result<(OldPartReturn, bool), Error> {
    if r.part_no == cmd.part_no
        && r.work_order_no == cmd.work_order_no
        && r.quantity == i64::from(cmd.quantity)
    {
        let expected = r.was_expected;
        Ok((r, expected))
    } else {
        Err(Error::Conflict(
            "idempotency_key was already used for a different old part; use a new key".into(),
        ))
    }
}
