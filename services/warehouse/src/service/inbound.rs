//! Inbound: deliveries booked to PENDING_INSPECTION, then inspected into QUALIFIED (VALUABLES
//! for valuable parts) or NONCONFORMING; passed units serve waiting back-orders.

use std::collections::HashMap;

use aftersales_platform::db::is_unique_violation;
use aftersales_platform::outbox::EventMeta;
use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::validate::Violations;
use chrono::NaiveDate;
use sea_orm::TransactionTrait;

use super::{Warehouse, vanished};
use crate::domain::{MovementKind, PartNo, Quantity, Zone};
use crate::error::Error;
use crate::store::receipts::{self, Receipt, ReceiptLine};
use crate::store::{parts, stock};
use crate::wire;

/// A delivery to book.
#[derive(Debug, Clone)]
pub struct ReceiveGoods {
    pub idempotency_key: String,
    pub po_number: String,
    pub supplier_id: String,
    pub delivery_note: String,
    pub lines: Vec<GoodsLine>,
    /// Today when not given.
    pub movement_date: Option<NaiveDate>,
}

/// One delivered line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoodsLine {
    pub part_no: PartNo,
    pub quantity: Quantity,
    /// The purchase order's line it delivers (0: none).
    pub po_line_no: u32,
}

/// The inspection result of a receipt.
#[derive(Debug, Clone)]
pub struct RecordInspection {
    pub receipt_id: String,
    pub lines: Vec<InspectionLine>,
}

/// An inspection result of one receipt line.
#[derive(Debug, Clone)]
pub struct InspectionLine {
    pub part_no: PartNo,
    pub passed: u32,
    pub failed: u32,
    /// Required when units failed.
    pub failure_reason: String,
}

impl Warehouse {
    /// Books the delivered lines to PENDING_INSPECTION. The same idempotency key returns the
    /// first receipt; with different lines it is refused.
    pub async fn receive_goods(&self, actor: &str, cmd: ReceiveGoods) -> Result<Receipt, Error> {
        let movement_date = self.movement_date(cmd.movement_date)?;
        if let Some(r) = receipts::find_by_idempotency_key(&self.db, &cmd.idempotency_key).await? {
            return replay_receipt(r, &cmd);
        }
        let txn = self.db.begin().await?;
        let named: Vec<_> = (cmd.lines.iter().enumerate())
            .map(|(i, l)| (format!("lines[{i}].part_no"), &l.part_no))
            .collect();
        self.require_catalogued(&txn, &named).await?;
        self.check_period(&txn, movement_date).await?;
        let receipt = Receipt {
            receipt_id: format!("RC-{}", uuid::Uuid::now_v7().simple()),
            idempotency_key: cmd.idempotency_key.clone(),
            po_number: cmd.po_number.clone(),
            supplier_id: cmd.supplier_id.clone(),
            delivery_note: cmd.delivery_note.clone(),
            inspected: false,
            movement_date,
            received_by: actor.to_owned(),
            received_at: self.now(),
            inspected_by: String::new(),
            inspected_at: None,
            lines: cmd
                .lines
                .iter()
                .enumerate()
                .map(|(i, l)| ReceiptLine {
                    line_no: i as i32 + 1,
                    part_no: l.part_no.as_str().to_owned(),
                    quantity: i64::from(l.quantity.get()),
                    po_line_no: l.po_line_no as i32,
                    passed: 0,
                    failed: 0,
                    failure_reason: String::new(),
                })
                .collect(),
        };
        if let Err(e) = receipts::insert(&txn, &receipt).await {
            if is_unique_violation(&e) {
                drop(txn);
                let r = receipts::find_by_idempotency_key(&self.db, &cmd.idempotency_key)
                    .await?
                    .ok_or_else(|| vanished("receipt"))?;
                return replay_receipt(r, &cmd);
            }
            return Err(e.into());
        }
        let keys: Vec<(String, Zone)> = receipt
            .lines
            .iter()
            .map(|l| (l.part_no.clone(), Zone::PendingInspection))
            .collect();
        stock::lock(&txn, &keys).await?;
        let reason = receipt_reason(&receipt);
        for l in &receipt.lines {
            stock::post(
                &txn,
                &stock::Movement {
                    part_no: &l.part_no,
                    zone: Zone::PendingInspection,
                    kind: MovementKind::Receipt,
                    quantity: l.quantity,
                    reference_type: "receipt",
                    reference_id: &receipt.receipt_id,
                    request_no: "",
                    reason: &reason,
                    actor,
                    movement_date,
                },
                0,
            )
            .await?;
        }
        txn.commit().await?;
        Ok(receipt)
    }

    /// Moves passed units to QUALIFIED (VALUABLES for valuable parts) and failed ones to
    /// NONCONFORMING, stages `warehouse.goods.received`, then serves open back-orders of the
    /// passed parts in order. Inspecting an inspected receipt with the same result returns it.
    pub async fn record_inspection(
        &self,
        actor: &str,
        cmd: RecordInspection,
    ) -> Result<Receipt, Error> {
        let receipt_id = cmd.receipt_id.as_str();
        let txn = self.db.begin().await?;
        let mut receipt = receipts::get_for_update(&txn, receipt_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("receipt {receipt_id}")))?;
        let matched = match_inspection(&receipt, &cmd.lines)?;
        if receipt.inspected {
            let same =
                receipt.lines.iter().zip(&matched).all(|(l, m)| {
                    l.passed == i64::from(m.passed) && l.failed == i64::from(m.failed)
                });
            if same {
                return Ok(receipt);
            }
            return Err(Error::precondition(format!(
                "receipt {receipt_id} was already inspected with a different result"
            )));
        }
        let today = self.today();
        self.check_period(&txn, today).await?;
        let mut keys = Vec::new();
        let mut valuable = HashMap::new();
        for l in &receipt.lines {
            let part = parts::get(&txn, &l.part_no)
                .await?
                .ok_or_else(|| Error::not_found(format!("part {}", l.part_no)))?;
            let good = Zone::reservable_for(part.valuable);
            keys.push((l.part_no.clone(), Zone::PendingInspection));
            keys.push((l.part_no.clone(), good));
            keys.push((l.part_no.clone(), Zone::Nonconforming));
            valuable.insert(l.part_no.clone(), part.valuable);
        }
        // The back-orders served below from the passed units lock their rows too: all in one go.
        let passing: Vec<String> = receipt
            .lines
            .iter()
            .zip(&matched)
            .filter(|(_, m)| m.passed > 0)
            .map(|(l, _)| l.part_no.clone())
            .collect();
        let locked = self.lock_for_serving(&txn, &keys, &passing).await?;
        // Pending stock may have been adjusted since the receipt; never inspect more than is there.
        for l in &receipt.lines {
            let pending = locked
                .iter()
                .find(|(p, lv)| *p == l.part_no && lv.zone == Zone::PendingInspection)
                .map(|(_, lv)| lv.available())
                .unwrap_or(0);
            let need: i64 = receipt
                .lines
                .iter()
                .filter(|x| x.part_no == l.part_no)
                .map(|x| x.quantity)
                .sum();
            if pending < need {
                return Err(Error::precondition(format!(
                    "only {pending} unit(s) of {} are pending inspection, the receipt needs {need}",
                    l.part_no
                )));
            }
        }
        let reason_pass = format!("inspection of receipt {receipt_id}");
        for (l, m) in receipt.lines.iter_mut().zip(&matched) {
            l.passed = i64::from(m.passed);
            l.failed = i64::from(m.failed);
            l.failure_reason = m.failure_reason.clone();
            let good = Zone::reservable_for(valuable.get(&l.part_no).copied().unwrap_or(false));
            let reason_fail = if l.failure_reason.is_empty() {
                reason_pass.as_str()
            } else {
                l.failure_reason.as_str()
            };
            for (n, to, kind, reason) in [
                (
                    l.passed,
                    good,
                    MovementKind::InspectionPass,
                    reason_pass.as_str(),
                ),
                (
                    l.failed,
                    Zone::Nonconforming,
                    MovementKind::InspectionFail,
                    reason_fail,
                ),
            ] {
                if n == 0 {
                    continue;
                }
                for (zone, q) in [(Zone::PendingInspection, -n), (to, n)] {
                    stock::post(
                        &txn,
                        &stock::Movement {
                            part_no: &l.part_no,
                            zone,
                            kind,
                            quantity: q,
                            reference_type: "receipt",
                            reference_id: receipt_id,
                            request_no: "",
                            reason,
                            actor,
                            movement_date: today,
                        },
                        0,
                    )
                    .await?;
                }
            }
        }
        let at = self.now();
        receipts::record_inspection(&txn, &receipt, actor, at).await?;
        receipt.inspected = true;
        receipt.inspected_by = actor.to_owned();
        receipt.inspected_at = Some(at);
        let event = pb::GoodsReceived {
            receipt_id: receipt.receipt_id.clone(),
            po_number: receipt.po_number.clone(),
            supplier_id: receipt.supplier_id.clone(),
            delivery_note: receipt.delivery_note.clone(),
            lines: receipt
                .lines
                .iter()
                .map(|l| pb::GoodsReceivedLine {
                    part_no: l.part_no.clone(),
                    po_line_no: l.po_line_no as u32,
                    received: l.quantity as u32,
                    passed: l.passed as u32,
                    failed: l.failed as u32,
                    failure_reason: l.failure_reason.clone(),
                })
                .collect(),
            received_date: receipt.movement_date.to_string(),
            received_at: Some(wire::timestamp(receipt.received_at)),
            inspected_at: Some(wire::timestamp(at)),
        };
        self.outbox
            .stage(
                &txn,
                EventMeta {
                    subject: &receipt.receipt_id,
                    ..Default::default()
                },
                &event,
            )
            .await?;
        let passed: Vec<String> = receipt
            .lines
            .iter()
            .filter(|l| l.passed > 0)
            .map(|l| l.part_no.clone())
            .collect();
        self.serve_backorders(&txn, &passed).await?;
        let all: Vec<String> = receipt.lines.iter().map(|l| l.part_no.clone()).collect();
        self.check_low(&txn, &all).await?;
        txn.commit().await?;
        Ok(receipt)
    }
}

fn replay_receipt(r: Receipt, cmd: &ReceiveGoods) -> Result<Receipt, Error> {
    let same = r.po_number == cmd.po_number
        && r.lines.len() == cmd.lines.len()
        && r.lines.iter().zip(&cmd.lines).all(|(a, b)| {
            a.part_no == b.part_no.as_str()
                && a.quantity == i64::from(b.quantity.get())
                && a.po_line_no == b.po_line_no as i32
        });
    if same {
        Ok(r)
    } else {
        Err(Error::AlreadyExists(
            "idempotency_key was already used for a different receipt; use a new key".into(),
        ))
    }
}

fn receipt_reason(r: &Receipt) -> String {
    if r.po_number.is_empty() {
        format!("free receipt, delivery note {}", r.delivery_note)
    } else {
        format!(
            "receipt against {}, delivery note {}",
            r.po_number, r.delivery_note
        )
    }
}

/// Pairs each receipt line with one inspection line of the same part; every receipt line needs
/// one, and passed + failed must equal what was received.
fn match_inspection<'a>(
    receipt: &Receipt,
    lines: &'a [InspectionLine],
) -> Result<Vec<&'a InspectionLine>, Error> {
    let mut used = vec![false; lines.len()];
    let mut out = Vec::new();
    let mut bad = Violations::new();
    for (i, l) in receipt.lines.iter().enumerate() {
        let found = lines
            .iter()
            .enumerate()
            .find(|(j, x)| !used[*j] && x.part_no.as_str() == l.part_no);
        match found {
            Some((j, x)) => {
                used[j] = true;
                if i64::from(x.passed) + i64::from(x.failed) != l.quantity {
                    bad.add(
                        format!("lines[{j}]"),
                        format!(
                            "passed + failed must equal the {} unit(s) of {} received",
                            l.quantity, l.part_no
                        ),
                    );
                }
                out.push(x);
            }
            None => bad.add(
                "lines",
                format!(
                    "receipt line {} ({}) has no inspection result",
                    i + 1,
                    l.part_no
                ),
            ),
        }
    }
    for (j, u) in used.iter().enumerate() {
        if !u {
            bad.add(
                format!("lines[{j}].part_no"),
                format!("{} is not a line of the receipt", lines[j].part_no),
            );
        }
    }
    bad.finish()?;
    Ok(out)
}
