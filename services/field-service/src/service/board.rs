//! The repair status board: moving a card (with optimistic concurrency: a stale version is
//! refused), listing work orders, and the board's columns with the time left to each arrival
//! deadline.

use chrono::{DateTime, Duration, Utc};
use sea_orm::TransactionTrait;

use super::{Actor, FieldService, Keyed};
use crate::domain::{Status, WorkOrder};
use crate::error::{Error, refused};
use crate::store::work_orders::{self, Filter};

#[derive(Debug, Clone)]
pub struct UpdateStatus {
    pub work_order_no: String,
    pub expected_version: u64,
    pub status: Status,
    pub note: String,
    /// For WAITING_PARTS: what is awaited (part number, quantity).
    pub parts_awaited: Vec<(String, u32)>,
}

/// One page of a list: at most `size` rows after `after`.
#[derive(Debug, Clone)]
pub struct Page<K> {
    pub size: u64,
    pub after: Option<K>,
}

#[derive(Debug, Clone, Default)]
pub struct BoardQuery {
    pub branch: Option<String>,
    pub technician_id: Option<String>,
    /// Empty: NEW to STOPPED, and DONE of the last 24 hours.
    pub statuses: Vec<Status>,
}

/// Cards per column at most (the oldest first).
const CARDS_PER_COLUMN: u64 = 500;

impl FieldService {
    pub async fn update_status(
        &self,
        actor: &Actor,
        keyed: &Keyed,
        cmd: UpdateStatus,
    ) -> Result<WorkOrder, Error> {
        let txn = self.db.begin().await?;
        if let Some(no) = self.replayed(&txn, "UpdateStatus", keyed).await? {
            txn.commit().await?;
            return self.get(actor, &no).await;
        }
        let mut wo = self.lock_visible(&txn, actor, &cmd.work_order_no).await?;
        wo.expect_version(Some(cmd.expected_version))
            .map_err(refused)?;
        let mut note = cmd.note.clone();
        if !cmd.parts_awaited.is_empty() {
            let parts: Vec<String> = cmd
                .parts_awaited
                .iter()
                .map(|(p, q)| format!("{p} ×{q}"))
                .collect();
            note = format!("{note} (awaiting {})", parts.join(", "));
        }
        let before = wo.status;
        let now = self.now();
        let (change, late) = wo
            .board(cmd.status, &actor.subject, now, note.trim())
            .map_err(refused)?;
        work_orders::save(&txn, &wo).await?;
        self.stop_arrival_clock(&txn, &wo).await?;
        self.stage_status(&txn, &wo, &change).await?;
        if late {
            // The deadline passed before the scan caught it: announced now, once.
            self.stage_breach(&txn, &wo, before, now).await?;
        }
        self.remember(&txn, "UpdateStatus", keyed, &wo.work_order_no)
            .await?;
        txn.commit().await?;
        Ok(wo)
    }

    /// Work orders newest first, the actor's scope applied to `filter`.
    pub async fn list(
        &self,
        actor: &Actor,
        mut filter: Filter,
        page: Page<(DateTime<Utc>, String)>,
    ) -> Result<(Vec<WorkOrder>, Option<(DateTime<Utc>, String)>), Error> {
        if let Some(b) = &actor.branch {
            if filter.branch.as_ref().is_some_and(|asked| asked != b) {
                return Ok((vec![], None));
            }
            filter.branch = Some(b.clone());
        }
        if let Some(t) = &actor.technician {
            if filter
                .technician_id
                .as_ref()
                .is_some_and(|asked| asked != t)
            {
                return Ok((vec![], None));
            }
            filter.technician_id = Some(t.clone());
        }
        filter.after = page.after;
        let rows = work_orders::list(&self.db, &filter, page.size).await?;
        let next = (rows.len() as u64 >= page.size && page.size > 0)
            .then(|| rows.last().map(|w| (w.created_at, w.work_order_no.clone())))
            .flatten();
        Ok((rows, next))
    }

    /// The board's columns: one per status in the board's order, oldest status first, and the
    /// instant the times left are counted at.
    pub async fn board(
        &self,
        actor: &Actor,
        mut q: BoardQuery,
    ) -> Result<(Vec<(Status, Vec<WorkOrder>)>, DateTime<Utc>), Error> {
        let now = self.clock.now();
        if let Some(b) = &actor.branch {
            if q.branch.as_ref().is_some_and(|asked| asked != b) {
                return Ok((vec![], now));
            }
            q.branch = Some(b.clone());
        }
        if let Some(t) = &actor.technician {
            q.technician_id = Some(t.clone());
        }
        let statuses: Vec<Status> = if q.statuses.is_empty() {
            Status::ALL
                .into_iter()
                .filter(|s| *s != Status::Cancelled)
                .collect()
        } else {
            let mut s = q.statuses.clone();
            s.sort();
            s.dedup();
            s
        };
        let rows = work_orders::board(
            &self.db,
            q.branch.as_deref(),
            q.technician_id.as_deref(),
            &statuses,
            now - Duration::hours(24),
            CARDS_PER_COLUMN,
        )
        .await?;
        let columns = statuses
            .iter()
            .map(|s| {
                let mut cards: Vec<WorkOrder> =
                    rows.iter().filter(|w| w.status == *s).cloned().collect();
                cards.sort_by(|a, b| {
                    a.status_since
                        .cmp(&b.status_since)
                        .then(a.work_order_no.cmp(&b.work_order_no))
                });
                (*s, cards)
            })
            .collect();
        Ok((columns, now))
    }
}
