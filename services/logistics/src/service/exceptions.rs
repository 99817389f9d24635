//! Exceptions: a delay (a follow-up with the new ETA on the request's timeline), damage or loss
//! (the shipment fails, `logistics.shipment.exception` asks the warehouse to reserve the lines
//! again, and the next confirmation plans the replacement). Reported by the carrier, by a person
//! or by the eta-watch scanner; open until a person closes it with a resolution.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, TransactionTrait};

use super::tracking::under_way;
use super::{Logistics, lost_race, visible};
use crate::domain::{ExceptionKind, Line, ShipmentStatus, Source};
use crate::error::Error;
use crate::store::exceptions::{self, ExceptionRow};
use crate::store::shipments::{self, Shipment};
use crate::wire;

/// A person reports a delay, damage or loss (ReportException).
#[derive(Debug, Clone, PartialEq)]
pub struct ReportException {
    pub idempotency_key: String,
    pub request_hash: String,
    pub shipment_no: String,
    pub kind: ExceptionKind,
    pub detail: String,
    pub new_eta: Option<DateTime<Utc>>,
    /// DAMAGE: the lines damaged; empty means all.
    pub affected_lines: Vec<Line>,
    pub actor: String,
    pub scope: Option<String>,
}

/// A person closes an exception (CloseException).
#[derive(Debug, Clone, PartialEq)]
pub struct CloseException {
    pub shipment_no: String,
    pub exception_id: String,
    pub resolution: String,
    pub actor: String,
    pub scope: Option<String>,
}

impl Logistics {
    /// Opens an exception on `s` (locked by the caller, saved by the caller) and stages
    /// `logistics.shipment.exception`. Damage and loss fail the shipment and mark it waiting for
    /// its replacement.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn open_exception(
        &self,
        txn: &DatabaseTransaction,
        s: &mut Shipment,
        kind: ExceptionKind,
        detail: &str,
        source: Source,
        actor: &str,
        new_eta: Option<DateTime<Utc>>,
        affected: Vec<Line>,
        tracking_event_id: Option<i64>,
        idempotency: Option<(&str, &str)>,
    ) -> Result<ExceptionRow, Error> {
        let now = self.now();
        if kind.needs_replacement() {
            s.status = ShipmentStatus::Failed;
            s.failed_at = Some(now);
            s.replacement_pending = s.replaced_by_shipment_no.is_empty();
        }
        if let (ExceptionKind::Delay, Some(eta)) = (kind, new_eta) {
            s.eta = Some(eta);
        }
        let affected = if kind.needs_replacement() && affected.is_empty() {
            s.lines.clone()
        } else {
            affected
        };
        let e = ExceptionRow {
            exception_id: uuid::Uuid::now_v7().to_string(),
            shipment_no: s.shipment_no.clone(),
            request_no: s.request_no.clone(),
            kind,
            detail: detail.to_owned(),
            source,
            reported_at: now,
            reported_by: actor.to_owned(),
            new_eta,
            affected_lines: affected,
            replacement_needed: kind.needs_replacement(),
            tracking_event_id,
            resolved_at: None,
            resolution: String::new(),
            resolved_by: String::new(),
            idempotency_key: idempotency.map(|(k, _)| k.to_owned()),
            request_hash: idempotency.map(|(_, h)| h.to_owned()).unwrap_or_default(),
        };
        exceptions::insert(txn, &e)
            .await
            .map_err(|err| lost_race(err, "report with this idempotency key"))?;
        self.stage(txn, &s.request_no, &s.branch, &wire::exception_event(s, &e))
            .await?;
        tracing::info!(request_no = %s.request_no, shipment_no = %s.shipment_no, kind = %kind, "shipment exception opened");
        Ok(e)
    }

    pub async fn report_exception(
        &self,
        cmd: ReportException,
    ) -> Result<(Shipment, ExceptionRow), Error> {
        let not_found = || Error::not_found(format!("shipment {}", cmd.shipment_no));
        if let Some(e) = exceptions::by_idempotency_key(&self.db, &cmd.idempotency_key).await? {
            let s = shipments::get(&self.db, &e.shipment_no)
                .await?
                .ok_or_else(not_found)?;
            if e.request_hash != cmd.request_hash || !visible(cmd.scope.as_deref(), &s.branch) {
                return Err(Error::AlreadyExists(format!(
                    "idempotency key {} was used for another report",
                    cmd.idempotency_key
                )));
            }
            return Ok((s, e));
        }
        let found = shipments::get(&self.db, &cmd.shipment_no)
            .await?
            .filter(|s| visible(cmd.scope.as_deref(), &s.branch))
            .ok_or_else(not_found)?;
        let txn = self.db.begin().await?;
        self.lock_request(&txn, &found.request_no, &found.branch)
            .await?;
        let mut s = shipments::get_for_update(&txn, &cmd.shipment_no)
            .await?
            .ok_or_else(not_found)?;
        let allowed = match cmd.kind {
            ExceptionKind::Delay | ExceptionKind::Loss => under_way(s.status),
            // Damage is often found on delivery.
            ExceptionKind::Damage => under_way(s.status) || s.status == ShipmentStatus::Delivered,
        };
        if !allowed {
            return Err(Error::precondition(format!(
                "shipment {} is {}: a {} cannot be reported",
                s.shipment_no, s.status, cmd.kind
            )));
        }
        let e = self
            .open_exception(
                &txn,
                &mut s,
                cmd.kind,
                &cmd.detail,
                Source::Staff,
                &cmd.actor,
                cmd.new_eta,
                cmd.affected_lines.clone(),
                None,
                Some((&cmd.idempotency_key, &cmd.request_hash)),
            )
            .await?;
        shipments::save(&txn, &s).await?;
        txn.commit().await?;
        Ok((s, e))
    }

    pub async fn close_exception(
        &self,
        cmd: CloseException,
    ) -> Result<(Shipment, ExceptionRow), Error> {
        let not_found = || {
            Error::not_found(format!(
                "exception {} of shipment {}",
                cmd.exception_id, cmd.shipment_no
            ))
        };
        let s = shipments::get(&self.db, &cmd.shipment_no)
            .await?
            .filter(|s| visible(cmd.scope.as_deref(), &s.branch))
            .ok_or_else(not_found)?;
        let txn = self.db.begin().await?;
        self.lock_request(&txn, &s.request_no, &s.branch).await?;
        let e = exceptions::get(&txn, &cmd.exception_id)
            .await?
            .filter(|e| e.shipment_no == cmd.shipment_no)
            .ok_or_else(not_found)?;
        if e.resolved_at.is_some() {
            return Ok((s, e));
        }
        exceptions::resolve(
            &txn,
            &e.exception_id,
            self.now(),
            &cmd.resolution,
            &cmd.actor,
        )
        .await?;
        let e = exceptions::get(&txn, &cmd.exception_id)
            .await?
            .ok_or_else(not_found)?;
        txn.commit().await?;
        Ok((s, e))
    }
}
