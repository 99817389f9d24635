//! The timed work, each run by a platform [`Scanner`](aftersales_platform::scanner::Scanner)
//! (once across replicas) at the service clock's now: the sim carrier's due updates, shipments
//! past their ETA (a delay exception, once per ETA) and customers' own returns not arrived by
//! their chase date (chased once). Each item is handled in its own transaction under its
//! request's lock and records what it did there, so a repeated scan finds nothing left to do.

use chrono::{DateTime, Utc};
use sea_orm::TransactionTrait;

use super::Logistics;
use super::tracking::Track;
use crate::carrier::SIM;
use crate::domain::{ExceptionKind, PickupStatus, Source, TrackingStatus};
use crate::error::Error;
use crate::store::{pickups, shipments, sim};
use crate::wire;

/// Items one scan handles at most; the next tick takes the rest.
const BATCH: u64 = 200;

impl Logistics {
    /// Sends the sim carrier's updates due at `now`, oldest first. How many were sent.
    pub async fn fire_sim(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let mut sent = 0;
        for id in sim::due(&self.db, now, BATCH).await? {
            if self.fire_one(id, now).await? {
                sent += 1;
            }
        }
        Ok(sent)
    }

    async fn fire_one(&self, id: i64, now: DateTime<Utc>) -> Result<bool, Error> {
        let txn = self.db.begin().await?;
        let Some(step) = sim::pending(&txn, id).await? else {
            return Ok(false);
        };
        let status = TrackingStatus::parse(&step.status).ok_or_else(|| {
            Error::Unexpected(anyhow::anyhow!(
                "sim step {id} has status {:?}",
                step.status
            ))
        })?;
        // Taking the target's request lock first (through the same path as a webhook) and the
        // step's row after keeps the lock order of every other writer.
        let cmd = Track {
            carrier: SIM.to_owned(),
            waybill_no: step.waybill_no.clone(),
            shipment_no: None,
            carrier_event_id: step.carrier_event_id.clone(),
            status,
            occurred_at: step.due_at,
            sent_at: Some(now),
            location: step.location.clone(),
            description: step.description.clone(),
            signed_by: if status == TrackingStatus::Delivered {
                "recipient (sim)".to_owned()
            } else {
                String::new()
            },
            eta: None,
            raw_status: format!("SIM_{}", step.status),
            source: Source::Carrier,
            scope: None,
        };
        let result = self.track_in(&txn, &cmd).await;
        let fired = sim::fire(&txn, id, now).await?;
        match result {
            Ok(_) if fired => {
                txn.commit().await?;
                Ok(true)
            }
            // Another replica sent it meanwhile: nothing happened here.
            Ok(_) => {
                txn.rollback().await?;
                Ok(false)
            }
            Err(Error::NotFound(what)) => {
                // A consignment that is gone cannot be tracked; the step is spent.
                tracing::warn!(step = id, %what, "sim update for an unknown waybill dropped");
                txn.rollback().await?;
                sim::fire(&self.db, id, now).await?;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Opens a delay exception on every shipment whose ETA passed without delivery, once per ETA.
    pub async fn watch_etas(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let overdue = shipments::overdue(&self.db, now, BATCH).await?;
        let mut n = 0;
        for s in overdue {
            let txn = self.db.begin().await?;
            self.lock_request(&txn, &s.request_no, &s.branch).await?;
            let Some(mut s) = shipments::get_for_update(&txn, &s.shipment_no).await? else {
                continue;
            };
            let (Some(eta), true) = (s.eta, super::tracking::under_way(s.status)) else {
                continue;
            };
            if eta >= now || s.overdue_flagged_eta == Some(eta) {
                continue;
            }
            s.overdue_flagged_eta = Some(eta);
            let detail = format!(
                "The ETA {} passed without delivery; the carrier was asked for a new one.",
                eta.to_rfc3339()
            );
            self.open_exception(
                &txn,
                &mut s,
                ExceptionKind::Delay,
                &detail,
                Source::Scanner,
                "",
                None,
                Vec::new(),
                None,
                None,
            )
            .await?;
            shipments::save(&txn, &s).await?;
            txn.commit().await?;
            n += 1;
        }
        Ok(n)
    }

    /// Chases, once, every customer whose own return has not arrived by its chase date.
    pub async fn chase_returns(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let due = pickups::chase_due(&self.db, now, BATCH).await?;
        let mut n = 0;
        for p in due {
            let txn = self.db.begin().await?;
            self.lock_request(&txn, &p.request_no, &p.branch).await?;
            let Some(mut p) = pickups::get_for_update(&txn, &p.pickup_no).await? else {
                continue;
            };
            if p.status != PickupStatus::Scheduled || p.chased_at.is_some() {
                continue;
            }
            p.chased_at = Some(self.now());
            p.note = format!(
                "Chased: the customer's own return had not arrived {} working days after it was agreed.",
                self.policy.pickup.chase_after_days
            );
            pickups::save(&txn, &p).await?;
            self.stage(
                &txn,
                &p.request_no,
                &p.branch,
                &wire::pickup_overdue_event(&p),
            )
            .await?;
            txn.commit().await?;
            tracing::info!(request_no = %p.request_no, pickup_no = %p.pickup_no, "customer chased for the return");
            n += 1;
        }
        Ok(n)
    }
}
