//! Dealers' parts orders: a dealer orders parts for its own workshop and every line is issued at
//! once out of QUALIFIED (VALUABLES for a valuable part), valued at the catalogue's unit cost,
//! all or nothing. Each goes out as a consignment (`warehouse.consignment.issued`, staged in the
//! issue's transaction), as does the good unit of an advance exchange: logistics ships both and
//! claims-review charges an order on the dealer's statement once shipped.

use std::collections::BTreeMap;

use aftersales_platform::db::is_unique_violation;
use aftersales_platform::outbox::EventMeta;
use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::validate::{MAX_LISTED, Violation, Violations, at_most};
use sea_orm::{DatabaseTransaction, TransactionTrait};

use super::{Warehouse, vanished};
use crate::domain::dealer::ConsignmentKind;
use crate::domain::{
    Address, BranchCode, DealerCode, MovementKind, PartLine, PartNo, Urgency, Zone,
};
use crate::error::Error;
use crate::store::dealer_orders::{self, DealerOrder, OrderLine};
use crate::store::{parts, stock};
use crate::wire;

/// Parts a dealer orders for its own workshop.
#[derive(Debug, Clone)]
pub struct CreateDealerOrder {
    pub idempotency_key: String,
    pub dealer_code: DealerCode,
    pub branch: BranchCode,
    /// One line per part.
    pub lines: Vec<PartLine>,
    pub ship_to: Address,
    pub dealer_reference: String,
}

/// Goods leaving stock for a dealer, as `warehouse.consignment.issued` announces them.
pub(super) struct Consignment<'a> {
    pub id: &'a str,
    pub kind: ConsignmentKind,
    pub dealer_code: &'a str,
    pub branch: &'a str,
    pub ship_to: Option<&'a Address>,
    pub lines: Vec<pb::PickLine>,
    pub currency: &'a str,
    pub value_minor: i64,
    pub issued_at: chrono::DateTime<chrono::Utc>,
    pub urgency: Urgency,
    pub dealer_reference: &'a str,
}

impl Warehouse {
    /// The part numbers of `parts` the catalogue does not have, each named under its field: a
    /// request's unknown parts are answered together with its other bad fields.
    pub async fn uncatalogued(&self, parts: &[(String, PartNo)]) -> Result<Vec<Violation>, Error> {
        let mut v = Violations::new();
        for (field, part_no) in parts {
            if parts::get(&self.db, part_no.as_str()).await?.is_none() {
                v.add(field.clone(), format!("{part_no} is not in the catalogue"));
            }
        }
        Ok(v.into_vec())
    }

    /// Issues every line of a dealer's order out of its part's reservable zone (one ISSUE ledger
    /// row per line), stores the order and stages `warehouse.consignment.issued`, in one
    /// transaction; a line its zone cannot cover refuses the whole order. The same idempotency
    /// key answers the first order (`true`: replayed); another order under it is ALREADY_EXISTS.
    pub async fn create_dealer_order(
        &self,
        actor: &str,
        cmd: CreateDealerOrder,
    ) -> Result<(DealerOrder, bool), Error> {
        if let Some(o) = dealer_orders::find_by_key(&self.db, &cmd.idempotency_key).await? {
            return replay(o, &cmd);
        }
        let movement_date = self.today();
        let txn = self.db.begin().await?;
        let named: Vec<_> = (cmd.lines.iter().enumerate())
            .map(|(i, l)| (format!("lines[{i}].part_no"), &l.part_no))
            .collect();
        self.require_catalogued(&txn, &named).await?;
        let mut lines = Vec::with_capacity(cmd.lines.len());
        for (i, l) in cmd.lines.iter().enumerate() {
            let part = parts::get(&txn, l.part_no.as_str()).await?.ok_or_else(|| {
                Error::invalid(
                    format!("lines[{i}].part_no"),
                    format!("{} is not in the catalogue", l.part_no),
                )
            })?;
            lines.push(OrderLine {
                part_no: part.part_no,
                quantity: i64::from(l.quantity.get()),
                zone: Zone::reservable_for(part.valuable),
                unit_cost_currency: part.unit_cost_currency,
                unit_cost_minor: part.unit_cost_minor,
            });
        }
        self.check_period(&txn, movement_date).await?;
        let keys: Vec<(String, Zone)> = lines.iter().map(|l| (l.part_no.clone(), l.zone)).collect();
        let locked = stock::lock(&txn, &keys).await?;
        let short: Vec<String> = (lines.iter().enumerate())
            .filter_map(|(i, l)| {
                let available = locked
                    .iter()
                    .find(|(p, lv)| *p == l.part_no && lv.zone == l.zone)
                    .map_or(0, |(_, lv)| lv.available().max(0));
                (available < l.quantity).then(|| {
                    format!(
                        "lines[{i}].part_no {}: only {available} available unit(s) in {}, {} ordered",
                        l.part_no, l.zone, l.quantity
                    )
                })
            })
            .collect();
        if !short.is_empty() {
            return Err(Error::precondition(format!(
                "not enough stock; nothing was issued: {}",
                at_most(short, MAX_LISTED).join("; ")
            )));
        }
        let (currency, value_minor) = value(&lines)?;
        let order = DealerOrder {
            order_id: format!("DO-{}", uuid::Uuid::now_v7().simple()),
            idempotency_key: cmd.idempotency_key.clone(),
            dealer_code: cmd.dealer_code.as_str().to_owned(),
            branch: cmd.branch.as_str().to_owned(),
            ship_to: cmd.ship_to.clone(),
            dealer_reference: cmd.dealer_reference.clone(),
            value_currency: currency,
            value_minor,
            issued_at: self.now(),
            created_by: actor.to_owned(),
            lines,
        };
        if let Err(e) = dealer_orders::insert(&txn, &order).await {
            if is_unique_violation(&e) {
                drop(txn);
                let first = dealer_orders::find_by_key(&self.db, &cmd.idempotency_key)
                    .await?
                    .ok_or_else(|| vanished("dealer order"))?;
                return replay(first, &cmd);
            }
            return Err(e.into());
        }
        let reason = if order.dealer_reference.is_empty() {
            format!("parts order of dealer {}", order.dealer_code)
        } else {
            format!(
                "parts order of dealer {} ({})",
                order.dealer_code, order.dealer_reference
            )
        };
        for l in &order.lines {
            stock::post(
                &txn,
                &stock::Movement {
                    part_no: &l.part_no,
                    zone: l.zone,
                    kind: MovementKind::Issue,
                    quantity: -l.quantity,
                    reference_type: "dealer_order",
                    reference_id: &order.order_id,
                    request_no: "",
                    reason: &reason,
                    actor,
                    movement_date,
                },
                0,
            )
            .await?;
        }
        // Fewer reservable units: the reorder point may have been crossed.
        let part_nos: Vec<String> = order.lines.iter().map(|l| l.part_no.clone()).collect();
        self.check_low(&txn, &part_nos).await?;
        self.stage_consignment(
            &txn,
            Consignment {
                id: &order.order_id,
                kind: ConsignmentKind::DealerOrder,
                dealer_code: &order.dealer_code,
                branch: &order.branch,
                ship_to: Some(&order.ship_to),
                lines: order
                    .lines
                    .iter()
                    .map(|l| pb::PickLine {
                        part_no: l.part_no.clone(),
                        quantity: l.quantity as u32,
                        zone: wire::zone(l.zone),
                    })
                    .collect(),
                currency: &order.value_currency,
                value_minor: order.value_minor,
                issued_at: order.issued_at,
                urgency: Urgency::Normal,
                dealer_reference: &order.dealer_reference,
            },
        )
        .await?;
        txn.commit().await?;
        Ok((order, false))
    }

    pub async fn dealer_order(&self, order_id: &str) -> Result<DealerOrder, Error> {
        dealer_orders::get(&self.db, order_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("dealer order {order_id}")))
    }

    /// Stages `warehouse.consignment.issued` in the transaction that took the goods out of stock
    /// (envelope subject = the consignment's id, branch = the dealer's).
    pub(super) async fn stage_consignment(
        &self,
        txn: &DatabaseTransaction,
        c: Consignment<'_>,
    ) -> Result<(), Error> {
        let event = pb::ConsignmentIssued {
            consignment_id: c.id.to_owned(),
            kind: wire::consignment_kind(c.kind),
            dealer_code: c.dealer_code.to_owned(),
            branch: c.branch.to_owned(),
            ship_to: c.ship_to.map(wire::address),
            lines: c.lines,
            value: Some(wire::money(c.currency, c.value_minor)),
            issued_at: Some(wire::timestamp(c.issued_at)),
            urgency: wire::urgency(c.urgency),
            dealer_reference: c.dealer_reference.to_owned(),
        };
        self.outbox
            .stage(
                txn,
                EventMeta {
                    subject: c.id,
                    branch: c.branch,
                    request_no: "",
                },
                &event,
            )
            .await?;
        Ok(())
    }
}

/// The order's currency and value: unit cost x quantity, summed. The catalogue keeps one
/// currency; a line in another one would make the sum meaningless, so it is refused.
fn value(lines: &[OrderLine]) -> Result<(String, i64), Error> {
    let currency = lines
        .first()
        .map(|l| l.unit_cost_currency.clone())
        .unwrap_or_default();
    let mut total = 0i64;
    for (i, l) in lines.iter().enumerate() {
        if l.unit_cost_currency != currency {
            return Err(Error::precondition(format!(
                "lines[{i}].part_no {} is priced in {}, the order in {currency}; nothing was issued",
                l.part_no, l.unit_cost_currency
            )));
        }
        total = l
            .unit_cost_minor
            .checked_mul(l.quantity)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| Error::invalid("lines", "the order's value is out of range"))?;
    }
    Ok((currency, total))
}

/// The first order under the key, if the command asks for the same order again.
fn replay(o: DealerOrder, cmd: &CreateDealerOrder) -> Result<(DealerOrder, bool), Error> {
    let stored: BTreeMap<&str, i64> = o
        .lines
        .iter()
        .map(|l| (l.part_no.as_str(), l.quantity))
        .collect();
    let asked: BTreeMap<&str, i64> = cmd
        .lines
        .iter()
        .map(|l| (l.part_no.as_str(), i64::from(l.quantity.get())))
        .collect();
    if o.dealer_code == cmd.dealer_code.as_str()
        && o.branch == cmd.branch.as_str()
        && stored == asked
        && o.ship_to == cmd.ship_to
        && o.dealer_reference == cmd.dealer_reference
    {
        Ok((o, true))
    } else {
        Err(Error::AlreadyExists(
            "idempotency_key was already used for a different dealer order; use a new key".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(part_no: &str, quantity: i64, currency: &str, cost: i64) -> OrderLine {
        OrderLine {
            part_no: part_no.into(),
            quantity,
            zone: Zone::Qualified,
            unit_cost_currency: currency.into(),
            unit_cost_minor: cost,
        }
    }

    #[test]
    fn an_orders_value_is_unit_cost_times_quantity_summed_in_one_currency() {
        let lines = [line("A-1", 2, "CNY", 12_345), line("B-1", 3, "CNY", 100)];
        assert_eq!(value(&lines).unwrap(), ("CNY".to_owned(), 24_990));
        let mixed = [line("A-1", 1, "CNY", 1), line("B-1", 1, "EUR", 1)];
        let err = value(&mixed).unwrap_err().to_string();
        assert!(err.contains("lines[1].part_no"), "{err}");
        let huge = [line("A-1", 2, "CNY", i64::MAX)];
        assert!(value(&huge).is_err());
    }
}
