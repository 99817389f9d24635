//! Outbound: parts leave only against a pick list (a request's first, or a replacement), exactly
//! as it stands.

use aftersales_platform::outbox::EventMeta;
use aftersales_platform::proto::warehouse::v1 as pb;
use chrono::NaiveDate;
use sea_orm::TransactionTrait;

use super::Warehouse;
use crate::domain::reservation::pick_list_mismatches;
use crate::domain::{MovementKind, PartLine, PickListId, Zone};
use crate::error::Error;
use crate::store::reservations::{self, Reservation, Status};
use crate::store::{parts, stock};
use crate::wire;
use aftersales_platform::validate::{MAX_LISTED, at_most};

/// Parts presented for issue against a pick list.
#[derive(Debug, Clone)]
pub struct IssueParts {
    pub pick_list: PickListId,
    /// The caller's branch; `None` for head office. Another branch's pick list is not found.
    pub branch_scope: Option<String>,
    pub lines: Vec<PartLine>,
    pub shipment_no: String,
    /// Today when not given.
    pub movement_date: Option<NaiveDate>,
}

impl Warehouse {
    pub async fn pick_list(&self, id: &PickListId) -> Result<Reservation, Error> {
        reservations::get_nth(&self.db, id.request_no().as_str(), replacement(id))
            .await?
            .filter(|r| r.confirmed_at.is_some())
            .ok_or_else(|| Error::not_found(format!("pick list {id}")))
    }

    /// Issues a pick list: the presented lines must equal it (part, quantity), or nothing is
    /// issued and the answer lists every difference. Issuing an issued pick list again with the
    /// same lines returns it.
    pub async fn issue(&self, actor: &str, cmd: IssueParts) -> Result<Reservation, Error> {
        let movement_date = self.movement_date(cmd.movement_date)?;
        let (request_no, replacement) = (
            cmd.pick_list.request_no().as_str(),
            replacement(&cmd.pick_list),
        );
        let pick_id = cmd.pick_list.to_string();
        let txn = self.db.begin().await?;
        let res = reservations::get_for_update(&txn, request_no, replacement)
            .await?
            .filter(|r| r.confirmed_at.is_some())
            .filter(|r| cmd.branch_scope.as_ref().is_none_or(|b| *b == r.branch))
            .ok_or_else(|| Error::not_found(format!("pick list {pick_id}")))?;
        let pick: Vec<(String, u32)> = res
            .lines
            .iter()
            .map(|l| (l.part_no.clone(), l.held as u32))
            .collect();
        let presented: Vec<(String, u32)> = cmd
            .lines
            .iter()
            .map(|l| (l.part_no.as_str().to_owned(), l.quantity.get()))
            .collect();
        let mismatches = pick_list_mismatches(&pick, &presented);
        match res.status {
            Status::Issued if mismatches.is_empty() => return Ok(res),
            Status::Issued => {
                return Err(Error::precondition(format!(
                    "pick list {pick_id} was already issued"
                )));
            }
            Status::Released => {
                return Err(Error::precondition(format!(
                    "pick list {pick_id} was cancelled with its request"
                )));
            }
            Status::Backordered => {
                return Err(Error::precondition(format!(
                    "pick list {pick_id} is not fully reserved"
                )));
            }
            Status::Confirmed => {}
        }
        if !mismatches.is_empty() {
            return Err(Error::precondition(format!(
                "the lines do not match pick list {pick_id}; nothing was issued: {}",
                at_most(mismatches, MAX_LISTED).join("; ")
            )));
        }
        self.check_period(&txn, movement_date).await?;
        let keys: Vec<(String, Zone)> = res
            .lines
            .iter()
            .map(|l| (l.part_no.clone(), l.zone))
            .collect();
        stock::lock(&txn, &keys).await?;
        let mut issued = Vec::new();
        for l in &res.lines {
            stock::post(
                &txn,
                &stock::Movement {
                    part_no: &l.part_no,
                    zone: l.zone,
                    kind: MovementKind::Issue,
                    quantity: -l.held,
                    reference_type: "pick_list",
                    reference_id: &pick_id,
                    request_no,
                    reason: "issued against the pick list",
                    actor,
                    movement_date,
                },
                l.held,
            )
            .await?;
            let part = parts::get(&txn, &l.part_no).await?;
            issued.push(pb::IssuedLine {
                part_no: l.part_no.clone(),
                quantity: l.held as u32,
                zone: wire::zone(l.zone),
                unit_cost: part
                    .as_ref()
                    .map(|p| wire::money(&p.unit_cost_currency, p.unit_cost_minor)),
                name: part.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
                specification: part.map(|p| p.spec).unwrap_or_default(),
            });
        }
        let at = self.now();
        reservations::set_issued(&txn, request_no, replacement, actor, &cmd.shipment_no, at)
            .await?;
        let event = pb::PartsIssued {
            request_no: res.request_no.clone(),
            branch: res.branch.clone(),
            pick_list_id: pick_id,
            lines: issued,
            shipment_no: cmd.shipment_no.clone(),
            issued_by: actor.to_owned(),
            issued_at: Some(wire::timestamp(at)),
        };
        self.outbox
            .stage(
                &txn,
                EventMeta::request(&res.request_no, &res.branch),
                &event,
            )
            .await?;
        let res = reservations::get_nth(&txn, request_no, replacement)
            .await?
            .ok_or_else(|| Error::Unexpected(anyhow::anyhow!("pick list vanished")))?;
        txn.commit().await?;
        Ok(res)
    }
}

/// A pick list's replacement number as stored (at most [`PickListId::MAX_REPLACEMENT`]).
fn replacement(id: &PickListId) -> i32 {
    id.replacement() as i32
}
