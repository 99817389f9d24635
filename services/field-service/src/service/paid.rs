//! Paid work: the quotation from the fee table, the customer's answer (the repair
//! authorization), and the change log answered item by item.

use sea_orm::{DatabaseTransaction, TransactionTrait};

use super::{Actor, FieldService, Keyed};
use crate::domain::WorkOrder;
use crate::domain::paid::{self, Answer, Change, ItemLine, Quotation};
use crate::error::{Error, refused, refused_all};
use crate::store::work_orders;

#[derive(Debug, Clone)]
pub struct Quote {
    pub work_order_no: String,
    pub expected_version: Option<u64>,
    pub items: Vec<ItemLine>,
    pub note: String,
}

#[derive(Debug, Clone)]
pub struct AnswerQuote {
    pub work_order_no: String,
    pub expected_version: Option<u64>,
    pub approved: bool,
    pub customer_name: String,
    pub note: String,
}

#[derive(Debug, Clone)]
pub struct ProposeChange {
    pub work_order_no: String,
    pub expected_version: Option<u64>,
    pub added: Vec<ItemLine>,
    pub removed: Vec<ItemLine>,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct DecideChange {
    pub work_order_no: String,
    pub change_id: String,
    pub expected_version: Option<u64>,
    pub approved: bool,
    pub customer_name: String,
    pub note: String,
}

impl FieldService {
    /// Runs one change of a paid-work record: replay, lock, version, `change`, save, remember.
    async fn paid_change(
        &self,
        operation: &str,
        actor: &Actor,
        keyed: &Keyed,
        no: &str,
        expected: Option<u64>,
        change: impl FnOnce(&mut WorkOrder) -> Result<(), Error>,
    ) -> Result<WorkOrder, Error> {
        let txn: DatabaseTransaction = self.db.begin().await?;
        if let Some(no) = self.replayed(&txn, operation, keyed).await? {
            txn.commit().await?;
            return self.get(actor, &no).await;
        }
        let mut wo = self.lock_visible(&txn, actor, no).await?;
        wo.expect_version(expected).map_err(refused)?;
        change(&mut wo)?;
        work_orders::save(&txn, &wo).await?;
        self.remember(&txn, operation, keyed, &wo.work_order_no)
            .await?;
        txn.commit().await?;
        Ok(wo)
    }

    pub async fn quote(
        &self,
        actor: &Actor,
        keyed: &Keyed,
        cmd: Quote,
    ) -> Result<WorkOrder, Error> {
        let items = paid::price(&self.policy, "items", &cmd.items).map_err(refused_all)?;
        let q = Quotation {
            items,
            currency: self.policy.currency.clone(),
            status: Answer::Pending,
            quoted_by: actor.subject.clone(),
            quoted_at: self.now(),
            decided_by: String::new(),
            decided_at: None,
            note: cmd.note.clone(),
            fee_table_version: self.policy.version.clone(),
        };
        self.paid_change(
            "SubmitQuotation",
            actor,
            keyed,
            &cmd.work_order_no,
            cmd.expected_version,
            |wo| wo.quote(q).map_err(refused),
        )
        .await
    }

    pub async fn answer_quote(
        &self,
        actor: &Actor,
        keyed: &Keyed,
        cmd: AnswerQuote,
    ) -> Result<WorkOrder, Error> {
        let at = self.now();
        self.paid_change(
            "ApproveQuotation",
            actor,
            keyed,
            &cmd.work_order_no,
            cmd.expected_version,
            |wo| {
                wo.answer_quotation(cmd.approved, &cmd.customer_name, at, &cmd.note)
                    .map_err(refused)
            },
        )
        .await
    }

    /// Proposes a change; returns the work order and the change's id. (The idempotency key
    /// keeps both: a retry answers the change it proposed.)
    pub async fn propose_change(
        &self,
        actor: &Actor,
        keyed: &Keyed,
        cmd: ProposeChange,
    ) -> Result<(WorkOrder, String), Error> {
        let mut bad = Vec::new();
        let added = paid::price(&self.policy, "added", &cmd.added).unwrap_or_else(|e| {
            bad.extend(e);
            vec![]
        });
        let removed = paid::price(&self.policy, "removed", &cmd.removed).unwrap_or_else(|e| {
            bad.extend(e);
            vec![]
        });
        if !bad.is_empty() {
            return Err(refused_all(bad));
        }
        let txn = self.db.begin().await?;
        if let Some(done) = self.replayed(&txn, "ProposeChange", keyed).await? {
            txn.commit().await?;
            let (no, id) = done.split_once('/').unwrap_or((done.as_str(), ""));
            return Ok((self.get(actor, no).await?, id.to_owned()));
        }
        let mut wo = self.lock_visible(&txn, actor, &cmd.work_order_no).await?;
        wo.expect_version(cmd.expected_version).map_err(refused)?;
        let id = format!("CHG-{}", wo.changes.len() + 1);
        wo.propose_change(Change {
            change_id: id.clone(),
            added,
            removed,
            reason: cmd.reason,
            status: Answer::Pending,
            proposed_by: actor.subject.clone(),
            proposed_at: self.now(),
            decided_by: String::new(),
            decided_at: None,
            note: String::new(),
        })
        .map_err(refused)?;
        work_orders::save(&txn, &wo).await?;
        self.remember(
            &txn,
            "ProposeChange",
            keyed,
            &format!("{}/{id}", wo.work_order_no),
        )
        .await?;
        txn.commit().await?;
        Ok((wo, id))
    }

    pub async fn decide_change(
        &self,
        actor: &Actor,
        keyed: &Keyed,
        cmd: DecideChange,
    ) -> Result<WorkOrder, Error> {
        let at = self.now();
        self.paid_change(
            "DecideChange",
            actor,
            keyed,
            &cmd.work_order_no,
            cmd.expected_version,
            |wo| {
                wo.decide_change(
                    &cmd.change_id,
                    cmd.approved,
                    &cmd.customer_name,
                    at,
                    &cmd.note,
                )
                .map_err(refused)
            },
        )
        .await
    }
}
