//! Old parts: expected back from completed work orders, booked in to OLD_PARTS, reported when
//! overdue; and returns to a supplier out of NONCONFORMING or OLD_PARTS.

use aftersales_platform::db::is_unique_violation;
use aftersales_platform::ids::Serial;
use aftersales_platform::outbox::EventMeta;
use aftersales_platform::proto::warehouse::v1 as pb;
use chrono::NaiveDate;
use sea_orm::{DatabaseTransaction, TransactionTrait};

use super::{Page, Warehouse, vanished};
use crate::domain::{BranchCode, MovementKind, PartNo, Quantity, RequestNo, Zone};
use crate::error::Error;
use crate::store::old_parts::{self, Expected, OldPartReturn, OverdueFilter};
use crate::store::stock::{self, LedgerEntry, LedgerFilter};
use crate::wire;

/// The old parts a completed work order says must come back.
#[derive(Debug, Clone)]
pub struct ExpectOldParts {
    pub work_order_no: String,
    pub request_no: RequestNo,
    pub branch: BranchCode,
    pub technician_id: String,
    pub parts: Vec<DueOldPart>,
}

#[derive(Debug, Clone)]
pub struct DueOldPart {
    pub part_no: PartNo,
    pub quantity: Quantity,
    /// `None`: expected, with no date to be overdue by.
    pub return_by: Option<NaiveDate>,
}

/// An old part handed in at the counter.
#[derive(Debug, Clone)]
pub struct ReceiveOldPart {
    pub idempotency_key: String,
    pub work_order_no: String,
    /// Taken from the expectation when there is one.
    pub request_no: Option<RequestNo>,
    pub part_no: PartNo,
    pub quantity: Quantity,
    pub serial: Option<Serial>,
    pub condition: String,
    /// Today when not given.
    pub movement_date: Option<NaiveDate>,
}

/// Units sent back to a supplier, all lines or none.
#[derive(Debug, Clone)]
pub struct ReturnToSupplier {
    pub idempotency_key: String,
    pub supplier_id: String,
    pub po_number: String,
    pub rma_no: String,
    pub lines: Vec<SupplierReturnLine>,
    pub reason: String,
    /// Today when not given.
    pub movement_date: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct SupplierReturnLine {
    pub part_no: PartNo,
    pub quantity: Quantity,
    /// NONCONFORMING or OLD_PARTS: only what failed or came back goes to a supplier.
    pub zone: Zone,
}

/// Which overdue old parts a listing wants, most overdue first.
#[derive(Debug, Clone)]
pub struct OverdueQuery {
    /// Today when not given.
    pub as_of: Option<NaiveDate>,
    /// The branch asked for; the caller's scope narrows it before the query runs.
    pub branch: Option<String>,
    pub technician_id: Option<String>,
    /// Keyed by (due date, work order, part).
    pub page: Page<(NaiveDate, String, String)>,
}

/// A page of overdue old parts.
#[derive(Debug, Clone)]
pub struct Overdue {
    /// The day they are overdue as of.
    pub as_of: NaiveDate,
    pub rows: Vec<Expected>,
    /// The key the next page starts after.
    pub next: Option<(NaiveDate, String, String)>,
}

impl Warehouse {
    /// Records old parts a completed work order says must come back (in the handler's
    /// transaction). A (work order, part) already expected is left as it is.
    pub async fn expect_old_parts(
        &self,
        txn: &DatabaseTransaction,
        cmd: &ExpectOldParts,
    ) -> Result<(), Error> {
        for p in &cmd.parts {
            old_parts::record_expected(
                txn,
                &Expected {
                    work_order_no: cmd.work_order_no.clone(),
                    part_no: p.part_no.as_str().to_owned(),
                    request_no: cmd.request_no.as_str().to_owned(),
                    branch: cmd.branch.as_str().to_owned(),
                    technician_id: cmd.technician_id.clone(),
                    quantity: i64::from(p.quantity.get()),
                    expected_by_date: p.return_by,
                    received: 0,
                },
            )
            .await?;
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
        let movement_date = self.movement_date(cmd.movement_date)?;
        if let Some(r) = old_parts::find_return_by_key(&self.db, &cmd.idempotency_key).await? {
            return replay(r, &cmd);
        }
        let part_no = cmd.part_no.as_str();
        let txn = self.db.begin().await?;
        self.require_catalogued(&txn, &[("part_no".to_owned(), &cmd.part_no)])
            .await?;
        self.check_period(&txn, movement_date).await?;
        let expected = old_parts::expected_for_update(&txn, &cmd.work_order_no, part_no).await?;
        let quantity = i64::from(cmd.quantity.get());
        let given_request = cmd.request_no.as_ref().map(|r| r.as_str().to_owned());
        let r = OldPartReturn {
            old_part_id: format!("OP-{}", uuid::Uuid::now_v7().simple()),
            idempotency_key: cmd.idempotency_key.clone(),
            request_no: expected
                .as_ref()
                .map(|e| e.request_no.clone())
                .filter(|r| !r.is_empty())
                .or(given_request)
                .unwrap_or_default(),
            branch: expected
                .as_ref()
                .map(|e| e.branch.clone())
                .unwrap_or_default(),
            work_order_no: cmd.work_order_no.clone(),
            part_no: part_no.to_owned(),
            quantity,
            serial: cmd
                .serial
                .as_ref()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            technician_id: expected
                .as_ref()
                .map(|e| e.technician_id.clone())
                .unwrap_or_default(),
            expected_by_date: expected.as_ref().and_then(|e| e.expected_by_date),
            condition: cmd.condition.clone(),
            was_expected: expected.is_some(),
            movement_date,
            received_at: self.now(),
        };
        if let Err(e) = old_parts::insert_return(&txn, &r).await {
            if is_unique_violation(&e) {
                drop(txn);
                let r = old_parts::find_return_by_key(&self.db, &cmd.idempotency_key)
                    .await?
                    .ok_or_else(|| vanished("booking"))?;
                return replay(r, &cmd);
            }
            return Err(e.into());
        }
        if expected.is_some() {
            old_parts::add_received(&txn, &cmd.work_order_no, part_no, quantity).await?;
        }
        stock::lock(&txn, &[(r.part_no.clone(), Zone::OldParts)]).await?;
        stock::post(
            &txn,
            &stock::Movement {
                part_no,
                zone: Zone::OldParts,
                kind: MovementKind::OldPartReturn,
                quantity,
                reference_type: "old_part",
                reference_id: &r.old_part_id,
                request_no: &r.request_no,
                reason: &format!("old part from work order {}", r.work_order_no),
                actor,
                movement_date,
            },
            0,
        )
        .await?;
        let days_late = r
            .expected_by_date
            .map(|d| (movement_date - d).num_days().max(0) as u32)
            .unwrap_or(0);
        let event = pb::OldPartReceived {
            request_no: r.request_no.clone(),
            branch: r.branch.clone(),
            old_part_id: r.old_part_id.clone(),
            work_order_no: r.work_order_no.clone(),
            part_no: r.part_no.clone(),
            quantity: cmd.quantity.get(),
            serial: r.serial.clone(),
            technician_id: r.technician_id.clone(),
            expected_by_date: r
                .expected_by_date
                .map(|d| d.to_string())
                .unwrap_or_default(),
            days_late,
            received_at: Some(wire::timestamp(r.received_at)),
        };
        self.outbox
            .stage(&txn, EventMeta::request(&r.request_no, &r.branch), &event)
            .await?;
        txn.commit().await?;
        Ok((r, expected.is_some()))
    }

    /// Old parts due before `as_of` and not (fully) back, most overdue first.
    pub async fn overdue_old_parts(&self, q: OverdueQuery) -> Result<Overdue, Error> {
        let as_of = q.as_of.unwrap_or_else(|| self.today());
        let rows = old_parts::overdue(
            &self.db,
            &OverdueFilter {
                as_of,
                branch: q.branch,
                technician_id: q.technician_id,
                after: q.page.after.clone(),
                limit: q.page.size,
            },
        )
        .await?;
        let (rows, next) = q.page.next(rows, |e| {
            (
                e.expected_by_date.unwrap_or(as_of),
                e.work_order_no.clone(),
                e.part_no.clone(),
            )
        });
        Ok(Overdue { as_of, rows, next })
    }

    /// Takes NONCONFORMING or OLD_PARTS units out to a supplier, one ledger row per line, all
    /// or nothing. The same idempotency key returns the first return's rows.
    pub async fn return_to_supplier(
        &self,
        actor: &str,
        cmd: ReturnToSupplier,
    ) -> Result<(String, Vec<LedgerEntry>), Error> {
        let movement_date = self.movement_date(cmd.movement_date)?;
        if let Some(id) = old_parts::find_supplier_return(&self.db, &cmd.idempotency_key).await? {
            return self.supplier_return_rows(id).await;
        }
        let txn = self.db.begin().await?;
        self.check_period(&txn, movement_date).await?;
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
            self.now(),
        )
        .await
        {
            if is_unique_violation(&e) {
                drop(txn);
                let id = old_parts::find_supplier_return(&self.db, &cmd.idempotency_key)
                    .await?
                    .ok_or_else(|| vanished("return"))?;
                return self.supplier_return_rows(id).await;
            }
            return Err(e.into());
        }
        let keys: Vec<(String, Zone)> = cmd
            .lines
            .iter()
            .map(|l| (l.part_no.as_str().to_owned(), l.zone))
            .collect();
        let locked = stock::lock(&txn, &keys).await?;
        let mut entries = Vec::new();
        for line in &cmd.lines {
            let (part_no, zone) = (line.part_no.as_str(), line.zone);
            let need: i64 = cmd
                .lines
                .iter()
                .filter(|l| l.part_no == line.part_no && l.zone == zone)
                .map(|l| i64::from(l.quantity.get()))
                .sum();
            let available = locked
                .iter()
                .find(|(p, l)| p == part_no && l.zone == zone)
                .map(|(_, l)| l.available())
                .ok_or_else(|| Error::not_found(format!("part {part_no}")))?;
            if available < need {
                return Err(Error::precondition(format!(
                    "only {available} unit(s) of {part_no} in {zone}; cannot return {need}; nothing was returned"
                )));
            }
            entries.push(
                stock::post(
                    &txn,
                    &stock::Movement {
                        part_no,
                        zone,
                        kind: MovementKind::ReturnToSupplier,
                        quantity: -i64::from(line.quantity.get()),
                        reference_type: "supplier_return",
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
        txn.commit().await?;
        Ok((id, entries))
    }

    async fn supplier_return_rows(&self, id: String) -> Result<(String, Vec<LedgerEntry>), Error> {
        let mut rows = stock::ledger(
            &self.db,
            &LedgerFilter {
                reference_id: Some(id.clone()),
                limit: 1000,
                ..Default::default()
            },
        )
        .await?;
        rows.reverse();
        Ok((id, rows))
    }
}

fn replay(r: OldPartReturn, cmd: &ReceiveOldPart) -> Result<(OldPartReturn, bool), Error> {
    if r.part_no == cmd.part_no.as_str()
        && r.work_order_no == cmd.work_order_no
        && r.quantity == i64::from(cmd.quantity.get())
    {
        let expected = r.was_expected;
        Ok((r, expected))
    } else {
        Err(Error::AlreadyExists(
            "idempotency_key was already used for a different old part; use a new key".into(),
        ))
    }
}
