//! The qualified-supplier register: admission (the evaluation must reach the policy's minimums),
//! status changes by hand, and the computed scorecard with the automatic ladder
//! (ACTIVE → WARNED → SUSPENDED, WARNED → ACTIVE on recovery).

use aftersales_platform::db::is_unique_violation;
use aftersales_platform::proto::procurement::v1 as pb;
use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde::Serialize;

use super::{Page, Procurement, fingerprint, key_reused};
use crate::domain::scorecard::{Card, Inputs, compute};
use crate::domain::supplier::{Contract, Qualification, automatic_change, manual_change};
use crate::domain::{PartNo, SupplierId, SupplierStatus};
use crate::error::Error;
use crate::store::suppliers::Supplier;
use crate::store::{quotes, receipts, suppliers};
use crate::wire;

/// The admission evaluation as given (the date defaults to the day of registration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QualificationInput {
    pub reputation_bp: u32,
    pub quality_bp: u32,
    pub capacity_bp: u32,
    pub price_bp: u32,
    pub evaluated_on: Option<NaiveDate>,
    pub note: String,
}

/// A supplier to admit to the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisterSupplier {
    pub idempotency_key: String,
    /// `None`: one is issued.
    pub supplier_id: Option<SupplierId>,
    pub name: String,
    pub contact_name: String,
    pub phone: String,
    pub email: String,
    pub address: String,
    pub tax_id: String,
    /// Qualified for these (at least one), sorted without duplicates.
    pub part_nos: Vec<PartNo>,
    pub lead_time_days: u32,
    pub certifications: Vec<String>,
    pub contract: Option<Contract>,
    pub qualification: QualificationInput,
}

/// A status change by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetStatus {
    pub supplier_id: SupplierId,
    pub status: SupplierStatus,
    pub reason: String,
    /// For WARNED: the deadline to correct (`None`: the policy's period from today).
    pub fix_by: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplierQuery {
    pub statuses: Vec<SupplierStatus>,
    pub part_no: Option<PartNo>,
    pub page: Page<(String, String)>,
}

impl Procurement {
    /// Admits a supplier: ACTIVE with the neutral score. The same idempotency key returns the
    /// first registration; with a different body it is refused.
    pub async fn register_supplier(&self, cmd: RegisterSupplier) -> Result<Supplier, Error> {
        let print = fingerprint(&cmd);
        if let Some(s) = suppliers::find_by_idempotency_key(&self.db, &cmd.idempotency_key).await? {
            return replay(s, &print);
        }
        let today = self.today();
        let q = &cmd.qualification;
        let qualification = Qualification {
            reputation_bp: q.reputation_bp,
            quality_bp: q.quality_bp,
            capacity_bp: q.capacity_bp,
            price_bp: q.price_bp,
            evaluated_on: q.evaluated_on.unwrap_or(today),
            note: q.note.clone(),
        };
        qualification
            .admit(&self.policy.admission)
            .map_err(Error::precondition)?;
        let txn = self.db.begin().await?;
        let supplier_id = match &cmd.supplier_id {
            Some(id) => id.clone(),
            None => SupplierId::issued(suppliers::next_number(&txn).await?),
        };
        if suppliers::get(&txn, supplier_id.as_str()).await?.is_some() {
            return Err(Error::AlreadyExists(format!(
                "supplier {supplier_id} is already in the register"
            )));
        }
        let now = self.now();
        let supplier = Supplier {
            supplier_id: supplier_id.as_str().to_owned(),
            idempotency_key: Some(cmd.idempotency_key.clone()),
            fingerprint: print.clone(),
            name: cmd.name.clone(),
            contact_name: cmd.contact_name.clone(),
            phone: cmd.phone.clone(),
            email: cmd.email.clone(),
            address: cmd.address.clone(),
            tax_id: cmd.tax_id.clone(),
            lead_time_days: cmd.lead_time_days,
            status: SupplierStatus::Active,
            status_reason: "admitted to the register".into(),
            fix_by: None,
            score_bp: self.policy.scorecard.neutral_score_bp,
            certifications: cmd.certifications.clone(),
            contract: cmd.contract.clone(),
            qualification,
            registered_at: now,
            updated_at: now,
            part_nos: cmd.part_nos.iter().map(|p| p.as_str().to_owned()).collect(),
        };
        if let Err(e) = suppliers::insert(&txn, &supplier).await {
            if is_unique_violation(&e) {
                drop(txn);
                let s = suppliers::find_by_idempotency_key(&self.db, &cmd.idempotency_key).await?;
                return match s {
                    Some(s) => replay(s, &print),
                    None => Err(Error::AlreadyExists(format!(
                        "supplier {supplier_id} is already in the register"
                    ))),
                };
            }
            return Err(e.into());
        }
        txn.commit().await?;
        tracing::info!(supplier_id = %supplier.supplier_id, "supplier admitted");
        Ok(supplier)
    }

    pub async fn supplier(&self, id: &SupplierId) -> Result<Supplier, Error> {
        suppliers::get(&self.db, id.as_str())
            .await?
            .ok_or_else(|| Error::not_found(format!("supplier {id}")))
    }

    pub async fn list_suppliers(
        &self,
        q: SupplierQuery,
    ) -> Result<(Vec<Supplier>, Option<(String, String)>), Error> {
        let rows = suppliers::list(
            &self.db,
            &q.statuses,
            q.part_no.as_ref().map(PartNo::as_str),
            q.page.after.as_ref(),
            q.page.size,
        )
        .await?;
        Ok(q.page
            .next(rows, |s| (s.name.clone(), s.supplier_id.clone())))
    }

    /// Sets a supplier's status by hand (`actor` is the person). The status it has already
    /// changes nothing; TERMINATED is final. A supplier that may take orders again gets the
    /// shortages waiting for its parts.
    pub async fn set_supplier_status(
        &self,
        actor: &str,
        cmd: SetStatus,
    ) -> Result<Supplier, Error> {
        let today = self.today();
        let fix_by = match (cmd.status, cmd.fix_by) {
            (SupplierStatus::Warned, Some(d)) if d < today => {
                return Err(Error::invalid("fix_by_date", format!("{d} is in the past")));
            }
            (SupplierStatus::Warned, Some(d)) => Some(d),
            (SupplierStatus::Warned, None) => Some(
                today + chrono::Duration::days(i64::from(self.policy.scorecard.fix_within_days)),
            ),
            _ => None,
        };
        let txn = self.db.begin().await?;
        let mut s = suppliers::get_for_update(&txn, cmd.supplier_id.as_str())
            .await?
            .ok_or_else(|| Error::not_found(format!("supplier {}", cmd.supplier_id)))?;
        let Some(to) = manual_change(s.status, cmd.status).map_err(Error::precondition)? else {
            return Ok(s);
        };
        let from = s.status;
        let now = self.now();
        suppliers::set_status(&txn, &s.supplier_id, to, &cmd.reason, fix_by, now).await?;
        let event = pb::SupplierStatusChanged {
            supplier_id: s.supplier_id.clone(),
            name: s.name.clone(),
            from: wire::supplier_status(from),
            to: wire::supplier_status(to),
            score_bp: s.score_bp,
            reason: cmd.reason.clone(),
            changed_by: actor.to_owned(),
            changed_at: Some(wire::timestamp(now)),
            scorecard: None,
            fix_by_date: fix_by.map(|d| d.to_string()).unwrap_or_default(),
        };
        self.stage(&txn, &s.supplier_id, &[], &event).await?;
        txn.commit().await?;
        tracing::info!(supplier_id = %s.supplier_id, %from, %to, "supplier status set by hand");
        s.status = to;
        s.status_reason = cmd.reason;
        s.fix_by = fix_by;
        s.updated_at = now;
        if self.policy.may_order_from(to) {
            self.source_parts(&s.part_nos).await;
        }
        Ok(s)
    }

    /// The supplier's scorecard over `[from, to]` (the policy's rolling window to today when not
    /// given).
    pub async fn scorecard(
        &self,
        id: &SupplierId,
        period: Option<(NaiveDate, NaiveDate)>,
    ) -> Result<(Supplier, Card, NaiveDate, NaiveDate), Error> {
        let s = self.supplier(id).await?;
        let (from, to) = period.unwrap_or_else(|| self.window());
        let card = self
            .compute_card(&self.db, &s.supplier_id, from, to)
            .await?;
        Ok((s, card, from, to))
    }

    /// The policy's rolling window, ending today.
    pub fn window(&self) -> (NaiveDate, NaiveDate) {
        let today = self.today();
        (
            today - chrono::Duration::days(i64::from(self.policy.scorecard.window_days)),
            today,
        )
    }

    pub(crate) async fn compute_card<C: ConnectionTrait>(
        &self,
        conn: &C,
        supplier_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Card, Error> {
        let d = receipts::delivered(conn, supplier_id, from, to).await?;
        let field_failures = receipts::field_failures(conn, supplier_id, from, to).await?;
        let price_index_bp = self.price_index(conn, supplier_id).await?;
        Ok(compute(
            &Inputs {
                deliveries: d.deliveries,
                on_time_deliveries: d.on_time,
                units_inspected: d.inspected,
                units_passed: d.passed,
                price_index_bp,
                field_failures,
            },
            &self.policy.scorecard,
        ))
    }

    /// The supplier's current prices against the cheapest current quote of each part from a
    /// supplier that may take orders (10000 = always the cheapest); `None` when it quotes nothing
    /// current.
    async fn price_index<C: ConnectionTrait>(
        &self,
        conn: &C,
        supplier_id: &str,
    ) -> Result<Option<u32>, Error> {
        let today = self.today();
        let own = quotes::current_of_supplier(conn, supplier_id, today).await?;
        if own.is_empty() {
            return Ok(None);
        }
        let mut sum = 0u64;
        for q in &own {
            let cheapest = quotes::current_offers(conn, &q.part_no, today)
                .await?
                .into_iter()
                .filter(|o| {
                    o.quote.valid_on(today)
                        && (o.quote.supplier_id == supplier_id
                            || self.policy.may_order_from(o.status))
                })
                .map(|o| o.quote.unit_price_minor)
                .min()
                .unwrap_or(q.unit_price_minor);
            sum += (cheapest.max(1) as u64 * 10_000) / q.unit_price_minor.max(1) as u64;
        }
        Ok(Some((sum / own.len() as u64).min(10_000) as u32))
    }

    /// Re-scores the supplier in `txn` and moves it one step on the ladder when its score says
    /// so, staging `procurement.supplier.status_changed` with the reason and the scorecard.
    pub(crate) async fn evaluate<C: ConnectionTrait>(
        &self,
        txn: &C,
        supplier_id: &str,
    ) -> Result<Option<SupplierStatus>, Error> {
        let Some(s) = suppliers::get_for_update(txn, supplier_id).await? else {
            return Ok(None);
        };
        let (from, to) = self.window();
        let card = self.compute_card(txn, supplier_id, from, to).await?;
        let now = self.now();
        suppliers::set_score(txn, supplier_id, card.score_bp, now).await?;
        let Some(change) = automatic_change(s.status, s.fix_by, &card, &self.policy.scorecard, to)
        else {
            return Ok(None);
        };
        suppliers::set_status(
            txn,
            supplier_id,
            change.to,
            &change.reason,
            change.fix_by,
            now,
        )
        .await?;
        let event = pb::SupplierStatusChanged {
            supplier_id: s.supplier_id.clone(),
            name: s.name.clone(),
            from: wire::supplier_status(s.status),
            to: wire::supplier_status(change.to),
            score_bp: card.score_bp,
            reason: change.reason.clone(),
            changed_by: String::new(),
            changed_at: Some(wire::timestamp(now)),
            scorecard: Some(wire::scorecard(
                supplier_id,
                &card,
                from,
                to,
                change.to,
                &self.policy.scorecard,
                self.offset,
            )),
            fix_by_date: change.fix_by.map(|d| d.to_string()).unwrap_or_default(),
        };
        self.stage(txn, supplier_id, &[], &event).await?;
        tracing::info!(supplier_id, from = %s.status, to = %change.to, reason = %change.reason, "supplier status changed by its scorecard");
        Ok(Some(change.to))
    }
}

fn replay(s: Supplier, print: &str) -> Result<Supplier, Error> {
    if s.fingerprint == print {
        Ok(s)
    } else {
        Err(key_reused("supplier"))
    }
}
