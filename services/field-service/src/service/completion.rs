//! Completion (parts used with the serials removed and fitted, labour, charge, old parts), the
//! exit inspection, and rework: a job completed on a serial another job completed within the
//! rework window repeats it (external rework, announced once per work order); a failed exit
//! inspection is internal rework.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::TransactionTrait;

use super::{Actor, FieldService, Keyed};
use crate::domain::rework::{self, Job, Stat};
use crate::domain::work_order::{Completion, Inspection, OldPart, PartUse};
use crate::domain::{Category, WorkOrder};
use crate::error::{Error, refused};
use crate::store::work_orders;

#[derive(Debug, Clone)]
pub struct Complete {
    pub work_order_no: String,
    pub expected_version: u64,
    pub parts_used: Vec<PartUse>,
    pub labour_minutes: u32,
    /// As given: (currency, minor units); `None`: what the rules say.
    pub charge: Option<(String, i64)>,
    pub old_parts: Vec<OldPart>,
    /// As read on the unit.
    pub serial: Option<String>,
    pub resolution: String,
    /// `None`: keep the work order's.
    pub category: Option<Category>,
}

#[derive(Debug, Clone)]
pub struct Inspect {
    pub work_order_no: String,
    pub passed: bool,
    /// Empty: the caller.
    pub inspected_by: String,
    pub checklist: Vec<String>,
    pub note: String,
    pub customer_signed: bool,
}

#[derive(Debug, Clone)]
pub struct ReworkStatistics {
    pub by_model: Vec<Stat>,
    pub by_technician: Vec<Stat>,
    pub window_days: u32,
}

impl FieldService {
    /// What the customer pays: the authorized amount of PAID work (a given charge must match
    /// it), nothing otherwise.
    fn charge(&self, wo: &WorkOrder, given: &Option<(String, i64)>) -> Result<i64, Error> {
        if let Some((currency, _)) = given
            && !currency.is_empty()
            && *currency != self.policy.currency
        {
            return Err(Error::invalid(
                "charge.currency",
                format!("must be {}", self.policy.currency),
            ));
        }
        let given = given.as_ref().map(|(_, m)| *m);
        if wo.category == Category::Paid {
            let Some(authorized) = wo.authorized_minor() else {
                return Err(Error::precondition(
                    "PAID work is charged what the customer approved: there is no approved quotation",
                ));
            };
            match given {
                Some(m) if m != authorized => Err(Error::invalid(
                    "charge.amount_minor",
                    format!(
                        "must equal the authorized amount {authorized} (approved quotation and changes)"
                    ),
                )),
                _ => Ok(authorized),
            }
        } else {
            match given {
                Some(m) if m != 0 => Err(Error::invalid(
                    "charge.amount_minor",
                    format!(
                        "must be 0: a {} job is not charged",
                        wo.category.as_str().to_uppercase()
                    ),
                )),
                _ => Ok(0),
            }
        }
    }

    pub async fn complete(
        &self,
        actor: &Actor,
        keyed: &Keyed,
        cmd: Complete,
    ) -> Result<WorkOrder, Error> {
        let txn = self.db.begin().await?;
        if let Some(no) = self.replayed(&txn, "CompleteWorkOrder", keyed).await? {
            txn.commit().await?;
            return self.get(actor, &no).await;
        }
        let mut wo = self.lock_visible(&txn, actor, &cmd.work_order_no).await?;
        wo.expect_version(Some(cmd.expected_version))
            .map_err(refused)?;
        if let Some(c) = cmd.category {
            wo.category = c;
        }
        let charge = self.charge(&wo, &cmd.charge)?;
        let serial = cmd.serial.clone().unwrap_or_default();
        if !serial.is_empty()
            && !wo.product.serial.is_empty()
            && serial != wo.product.serial
            && cmd.resolution.trim().is_empty()
        {
            return Err(Error::invalid(
                "serial",
                format!(
                    "does not match the request's serial {}; say why in the resolution",
                    wo.product.serial
                ),
            ));
        }
        let now = self.now();
        let today = self.windows.local_date(now);
        let return_days = i64::from(self.policy.completion.old_part_return_days);
        let old_parts = cmd
            .old_parts
            .into_iter()
            .map(|mut o| {
                if o.must_return && o.return_by.is_none() {
                    o.return_by = Some(today + Duration::days(return_days));
                }
                o
            })
            .collect();
        let completion = Completion {
            parts_used: cmd.parts_used,
            labour_minutes: cmd.labour_minutes,
            charge_minor: charge,
            currency: self.policy.currency.clone(),
            old_parts,
            serial,
            resolution: cmd.resolution.trim().to_owned(),
            completed_by: actor.subject.clone(),
        };
        let change = wo
            .complete(
                completion,
                self.policy.completion.requires_final_inspection,
                now,
            )
            .map_err(refused)?;
        let previous = self.repeated_job(&txn, &wo).await?;
        if let Some(p) = &previous {
            wo.rework_of = p.work_order_no.clone();
        }
        work_orders::save(&txn, &wo).await?;
        self.stage_status(&txn, &wo, &change).await?;
        self.stage_completed(&txn, &wo).await?;
        if let Some(p) = &previous {
            self.stage_rework(&txn, &wo, p, false, now).await?;
            tracing::info!(work_order_no = %wo.work_order_no, previous = %p.work_order_no, "rework detected");
        }
        self.remember(&txn, "CompleteWorkOrder", keyed, &wo.work_order_no)
            .await?;
        txn.commit().await?;
        Ok(wo)
    }

    /// The earlier job this one repeats, when it is rework not announced yet.
    async fn repeated_job(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        wo: &WorkOrder,
    ) -> Result<Option<WorkOrder>, Error> {
        let serial = wo.serial();
        if serial.is_empty() || !wo.rework_of.is_empty() {
            return Ok(None);
        }
        let called = wo.called_at.unwrap_or(wo.created_at);
        let Some(prev) =
            work_orders::last_completed_on_serial(txn, serial, &wo.work_order_no, called).await?
        else {
            return Ok(None);
        };
        let repeats = prev
            .completed_at
            .is_some_and(|done| rework::repeats(done, called, self.policy.rework.window_days));
        Ok(repeats.then_some(prev))
    }

    pub async fn inspect(
        &self,
        actor: &Actor,
        keyed: &Keyed,
        cmd: Inspect,
    ) -> Result<WorkOrder, Error> {
        let txn = self.db.begin().await?;
        if let Some(no) = self.replayed(&txn, "RecordFinalInspection", keyed).await? {
            txn.commit().await?;
            return self.get(actor, &no).await;
        }
        let mut wo = self.lock_visible(&txn, actor, &cmd.work_order_no).await?;
        let now = self.now();
        let by = if cmd.inspected_by.trim().is_empty() {
            actor.subject.clone()
        } else {
            cmd.inspected_by.trim().to_owned()
        };
        let outcome = wo
            .inspect(
                Inspection {
                    passed: cmd.passed,
                    inspected_by: by.clone(),
                    inspected_at: now,
                    checklist: cmd.checklist,
                    note: cmd.note,
                    customer_signed: cmd.customer_signed,
                },
                &by,
            )
            .map_err(refused)?;
        work_orders::save(&txn, &wo).await?;
        if let Some(change) = &outcome.reopened {
            self.stage_status(&txn, &wo, change).await?;
        }
        if outcome.internal_rework {
            self.stage_rework(&txn, &wo, &wo, true, now).await?;
        }
        self.remember(&txn, "RecordFinalInspection", keyed, &wo.work_order_no)
            .await?;
        txn.commit().await?;
        Ok(wo)
    }

    /// Repeat repairs per model and per technician of the jobs completed in [from, to).
    pub async fn rework_statistics(
        &self,
        actor: &Actor,
        branch: Option<String>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<ReworkStatistics, Error> {
        let window_days = self.policy.rework.window_days;
        let branch = match (&actor.branch, branch) {
            (Some(mine), Some(asked)) if *mine != asked => {
                return Ok(ReworkStatistics {
                    by_model: vec![],
                    by_technician: vec![],
                    window_days,
                });
            }
            (Some(mine), _) => Some(mine.clone()),
            (None, asked) => asked,
        };
        let done = work_orders::completed_between(&self.db, branch.as_deref(), from, to).await?;
        let nos: Vec<String> = done.iter().map(|w| w.work_order_no.clone()).collect();
        let repeated: BTreeMap<String, u32> = work_orders::repeats_of(&self.db, &nos)
            .await?
            .into_iter()
            .map(|(k, n)| (k, n as u32))
            .collect();
        let jobs: Vec<Job> = done
            .iter()
            .map(|w| Job {
                work_order_no: w.work_order_no.clone(),
                model: w.product.model.clone(),
                technician_id: w.technician_id.clone(),
                rework_of: Some(w.rework_of.clone()).filter(|r| !r.is_empty()),
                internal_reworks: w.internal_rework_count,
            })
            .collect();
        let (by_model, by_technician) = rework::statistics(&jobs, &repeated);
        Ok(ReworkStatistics {
            by_model,
            by_technician,
            window_days,
        })
    }
}
