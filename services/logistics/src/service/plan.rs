//! Planning a shipment: on `warehouse.reservation.confirmed` (or a person's PlanShipment), the
//! method from the rate table with its explanation, consolidation of non-urgent shipments to the
//! same destination on the same day, the insured value of valuables, and — when the request has
//! a shipment lost or damaged — the replacement that `replaces_shipment_no` it.

use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};

use super::{Logistics, lost_race, visible};
use crate::domain::method::{self, Consignment};
use crate::domain::{Address, BranchCode, Line, Method, RequestNo, ShipmentStatus, Urgency};
use crate::error::Error;
use crate::store::requests::RequestRow;
use crate::store::shipments::{self, Shipment};
use crate::store::{issues, numbers, stmt};
use crate::wire;

/// A reservation the warehouse confirmed: a pick list to ship.
#[derive(Debug, Clone, PartialEq)]
pub struct Reserved {
    pub request_no: RequestNo,
    pub branch: BranchCode,
    pub pick_list_id: String,
    pub lines: Vec<Line>,
    pub urgency: Urgency,
    /// `common.v1.RequestKind` number, handed on.
    pub kind: i32,
    pub ship_to: Address,
    pub onsite_required: bool,
}

/// A person plans a shipment (PlanShipment).
#[derive(Debug, Clone, PartialEq)]
pub struct PlanShipment {
    pub idempotency_key: String,
    /// Fingerprint of the request: the same key with another body is refused.
    pub request_hash: String,
    pub request_no: RequestNo,
    pub pick_list_id: String,
    pub ship_to: Address,
    pub urgency: Urgency,
    pub lines: Vec<Line>,
    pub method: Option<Method>,
    pub carrier: Option<String>,
    pub weight_grams: Option<u32>,
    /// The caller's branch; `None` for head office.
    pub scope: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PlanOutcome {
    Planned(Box<Shipment>),
    /// The pick list has its shipment already (a redelivery, a repeated confirmation).
    AlreadyPlanned,
    /// The request was cancelled (before or concurrently): nothing is planned for it.
    Cancelled,
    /// A confirmation for a request that is served already and waits for no replacement: never
    /// ship twice.
    Stale,
}

/// What a plan is made from.
struct Spec<'a> {
    request_no: &'a str,
    branch: &'a str,
    pick_list_id: &'a str,
    lines: &'a [Line],
    urgency: Urgency,
    kind: i32,
    ship_to: &'a Address,
    onsite_required: bool,
    method: Option<Method>,
    carrier: Option<&'a str>,
    weight_grams: Option<u32>,
    idempotency_key: Option<&'a str>,
    request_hash: &'a str,
}

impl Logistics {
    /// `warehouse.reservation.confirmed`, in the handler's transaction.
    pub async fn on_reserved(
        &self,
        txn: &DatabaseTransaction,
        cmd: &Reserved,
    ) -> Result<PlanOutcome, Error> {
        let req = self
            .lock_request(txn, cmd.request_no.as_str(), cmd.branch.as_str())
            .await?;
        if req.cancelled() {
            return Ok(PlanOutcome::Cancelled);
        }
        let existing = shipments::of_request(txn, &req.request_no).await?;
        if existing.iter().any(|s| {
            s.pick_list_id == cmd.pick_list_id
                && !matches!(s.status, ShipmentStatus::Failed | ShipmentStatus::Cancelled)
        }) {
            return Ok(PlanOutcome::AlreadyPlanned);
        }
        let replaces = existing.iter().find(|s| s.replacement_pending).cloned();
        if replaces.is_none()
            && existing
                .iter()
                .any(|s| s.status != ShipmentStatus::Cancelled)
        {
            return Ok(PlanOutcome::Stale);
        }
        let spec = Spec {
            request_no: &req.request_no,
            branch: &req.branch,
            pick_list_id: &cmd.pick_list_id,
            lines: &cmd.lines,
            urgency: cmd.urgency,
            kind: cmd.kind,
            ship_to: &cmd.ship_to,
            onsite_required: cmd.onsite_required,
            method: None,
            carrier: None,
            weight_grams: None,
            idempotency_key: None,
            request_hash: "",
        };
        let s = self.plan(txn, &req, spec, replaces).await?;
        Ok(PlanOutcome::Planned(Box::new(s)))
    }

    /// PlanShipment: the manual path (a pick list the warehouse did not announce, a method a
    /// person chooses). Idempotent by its key.
    pub async fn plan_shipment(&self, cmd: PlanShipment) -> Result<Shipment, Error> {
        if let Some(found) = self.replayed_plan(&cmd).await? {
            return Ok(found);
        }
        let branch = cmd.request_no.branch().to_owned();
        if !visible(cmd.scope.as_deref(), &branch) {
            return Err(Error::not_found(format!("request {}", cmd.request_no)));
        }
        let txn = self.db.begin().await?;
        let req = self
            .lock_request(&txn, cmd.request_no.as_str(), &branch)
            .await?;
        if req.cancelled() {
            return Err(Error::precondition(format!(
                "request {} was cancelled; nothing is shipped for it",
                req.request_no
            )));
        }
        let existing = shipments::of_request(&txn, &req.request_no).await?;
        if let Some(s) = existing.iter().find(|s| {
            s.pick_list_id == cmd.pick_list_id
                && !matches!(s.status, ShipmentStatus::Failed | ShipmentStatus::Cancelled)
        }) {
            return Err(Error::AlreadyExists(format!(
                "pick list {} is shipped as {} already",
                cmd.pick_list_id, s.shipment_no
            )));
        }
        let replaces = existing.iter().find(|s| s.replacement_pending).cloned();
        let spec = Spec {
            request_no: &req.request_no,
            branch: &req.branch,
            pick_list_id: &cmd.pick_list_id,
            lines: &cmd.lines,
            urgency: cmd.urgency,
            kind: 0,
            ship_to: &cmd.ship_to,
            onsite_required: false,
            method: cmd.method,
            carrier: cmd.carrier.as_deref(),
            weight_grams: cmd.weight_grams,
            idempotency_key: Some(&cmd.idempotency_key),
            request_hash: &cmd.request_hash,
        };
        let s = self.plan(&txn, &req, spec, replaces).await?;
        txn.commit()
            .await
            .map_err(|e| lost_race(e, "plan with this idempotency key"))?;
        Ok(s)
    }

    async fn replayed_plan(&self, cmd: &PlanShipment) -> Result<Option<Shipment>, Error> {
        match shipments::by_idempotency_key(&self.db, &cmd.idempotency_key).await? {
            Some(s)
                if s.request_hash == cmd.request_hash
                    && visible(cmd.scope.as_deref(), &s.branch) =>
            {
                Ok(Some(s))
            }
            Some(_) => Err(Error::AlreadyExists(format!(
                "idempotency key {} was used for another request",
                cmd.idempotency_key
            ))),
            None => Ok(None),
        }
    }

    /// What the rate table sees of a shipment's lines.
    pub fn consignment(
        &self,
        lines: &[Line],
        urgency: Urgency,
        ship_to: &Address,
        weight_override: Option<u32>,
    ) -> Consignment {
        let mut weight = 0u64;
        let mut length = 0u32;
        let mut insured = 0i64;
        for l in lines {
            let part = self.policy.part(&l.part_no);
            weight += u64::from(part.weight_grams) * u64::from(l.quantity);
            length = length.max(part.length_cm);
            if l.valuable {
                insured += part.declared_value_minor * i64::from(l.quantity);
            }
        }
        Consignment {
            region: ship_to.region,
            urgency,
            weight_grams: weight_override.unwrap_or(weight.min(u64::from(u32::MAX)) as u32),
            length_cm: length,
            insured_value_minor: insured,
        }
    }

    async fn plan(
        &self,
        txn: &DatabaseTransaction,
        req: &RequestRow,
        spec: Spec<'_>,
        replaces: Option<Shipment>,
    ) -> Result<Shipment, Error> {
        let now = self.now();
        let day = self.local_day(now);
        let consignment =
            self.consignment(spec.lines, spec.urgency, spec.ship_to, spec.weight_grams);
        let destination_key = spec.ship_to.destination_key();
        let mut consolidation_id = String::new();
        let mut choice = None;
        if spec.method.is_none() && self.policy.consolidate.contains(&spec.urgency) {
            // One plan at a time per destination and day decides who joins whom.
            txn.execute_raw(stmt(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                [format!("consolidate:{destination_key}:{day}").into()],
            ))
            .await?;
            let urgencies: Vec<Urgency> = self.policy.consolidate.iter().copied().collect();
            if let Some(partner) =
                shipments::consolidation_partner(txn, &destination_key, day, &urgencies).await?
            {
                let group = if partner.consolidation_id.is_empty() {
                    partner.shipment_no.clone()
                } else {
                    partner.consolidation_id.clone()
                };
                if let Some(c) =
                    method::consolidated(&self.policy, &consignment, partner.method, &group)
                {
                    // The group's first shipment leads it (a single-row update of another
                    // request's shipment: its own lock orders it with that request's handlers).
                    txn.execute_raw(stmt(
                        "UPDATE shipments SET consolidation_id = shipment_no \
                         WHERE shipment_no = $1 AND consolidation_id = ''",
                        [partner.shipment_no.as_str().into()],
                    ))
                    .await?;
                    consolidation_id = group;
                    choice = Some(c);
                }
            }
        }
        let choice = match (choice, spec.method) {
            (Some(c), _) => c,
            (None, Some(m)) => method::requested(&self.policy, &consignment, m)
                .map_err(|why| Error::invalid("method", why))?,
            (None, None) => method::choose(&self.policy, &consignment),
        };
        let carrier = match spec.carrier {
            Some(c) => c.to_owned(),
            None => self.carriers.resolve(&choice.carrier).to_owned(),
        };
        let shipment_no = numbers::next(txn, "SH", &self.period(now)).await?;
        let s = Shipment {
            shipment_no: shipment_no.clone(),
            request_no: spec.request_no.to_owned(),
            branch: spec.branch.to_owned(),
            pick_list_id: spec.pick_list_id.to_owned(),
            status: ShipmentStatus::Planned,
            kind: spec.kind,
            onsite_required: spec.onsite_required,
            method: choice.method,
            method_rule: choice.rule.as_str().to_owned(),
            method_reason: choice.reason(),
            carrier,
            waybill_no: None,
            ship_to: spec.ship_to.clone(),
            destination_key,
            region: spec.ship_to.region,
            origin: self.origin.clone(),
            urgency: spec.urgency,
            lines: spec.lines.to_vec(),
            packing_list: Vec::new(),
            packages: 0,
            weight_grams: i64::from(consignment.weight_grams),
            currency: self.policy.currency.clone(),
            estimated_cost_minor: choice.cost_minor,
            actual_cost_minor: None,
            insured_value_minor: consignment.insured_value_minor,
            consolidation_id,
            planned_day: day,
            replaces_shipment_no: replaces
                .as_ref()
                .map(|r| r.shipment_no.clone())
                .unwrap_or_default(),
            replaced_by_shipment_no: String::new(),
            replacement_pending: false,
            planned_at: now,
            estimated_delivery: Some(self.arrival(now, choice.transit)),
            packed_at: None,
            dispatched_at: None,
            promised_eta: None,
            eta: None,
            delivered_at: None,
            signed_by: String::new(),
            failed_at: None,
            cancelled_at: None,
            last_tracking_at: None,
            overdue_flagged_eta: None,
            idempotency_key: spec.idempotency_key.map(str::to_owned),
            request_hash: spec.request_hash.to_owned(),
        };
        shipments::insert(txn, &s)
            .await
            .map_err(|e| lost_race(e, "plan"))?;
        if let Some(mut old) = replaces {
            old.replacement_pending = false;
            old.replaced_by_shipment_no = shipment_no.clone();
            shipments::save(txn, &old).await?;
        }
        self.stage(txn, &s.request_no, &s.branch, &wire::planned_event(&s))
            .await?;
        tracing::info!(
            request_no = %s.request_no,
            shipment_no = %s.shipment_no,
            method = %s.method,
            rule = %s.method_rule,
            "shipment planned"
        );
        // The warehouse may have issued the parts before this plan arrived.
        let mut s = s;
        if let Some(issue) = issues::take(txn, &s.pick_list_id, &s.shipment_no).await? {
            self.pack_and_dispatch(txn, req, &mut s, &issue.lines)
                .await?;
        }
        Ok(s)
    }
}
