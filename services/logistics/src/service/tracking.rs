//! Tracking updates: a carrier's webhook (through the gateway, which checks its HMAC), a person's
//! entry, or the sim carrier's scheduled update. The carrier's event id is the idempotency key;
//! a carrier's send time must be within the window; an update older than the target's state is
//! recorded and changes nothing ([`crate::domain::tracking`]).

use aftersales_platform::auth::AuthError;
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, TransactionTrait};

use super::{Logistics, visible};
use crate::domain::tracking::{self, Effect};
use crate::domain::{ExceptionKind, PickupStatus, ShipmentStatus, Source, TrackingStatus};
use crate::error::Error;
use crate::store::pickups::{self, Pickup};
use crate::store::shipments::{self, Shipment};
use crate::store::tracking::{self as store, TrackingRow};
use crate::wire;

/// One tracking update.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// The carrier's code; ignored for a person's entry by shipment number.
    pub carrier: String,
    pub waybill_no: String,
    /// A person's entry names the shipment instead of carrier and waybill.
    pub shipment_no: Option<String>,
    pub carrier_event_id: String,
    pub status: TrackingStatus,
    pub occurred_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub location: String,
    pub description: String,
    pub signed_by: String,
    pub eta: Option<DateTime<Utc>>,
    pub raw_status: String,
    pub source: Source,
    pub scope: Option<String>,
}

/// What a waybill belongs to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Shipment(Box<Shipment>),
    Pickup(Box<Pickup>),
}

impl Target {
    fn request(&self) -> (&str, &str) {
        match self {
            Target::Shipment(s) => (&s.request_no, &s.branch),
            Target::Pickup(p) => (&p.request_no, &p.branch),
        }
    }
}

impl Logistics {
    /// RecordTrackingEvent: the update, and whether it was new (a replay answers `false`).
    pub async fn record_tracking(&self, cmd: Track) -> Result<(Target, bool), Error> {
        if cmd.source == Source::Carrier {
            self.check_sent_at(cmd.sent_at)?;
        }
        let txn = self.db.begin().await?;
        let out = self.track_in(&txn, &cmd).await?;
        txn.commit().await?;
        Ok(out)
    }

    /// A carrier's webhook is accepted only while fresh: a captured call cannot be replayed later.
    fn check_sent_at(&self, sent_at: Option<DateTime<Utc>>) -> Result<(), Error> {
        let Some(sent) = sent_at else {
            return Err(Error::invalid(
                "sent_at",
                "is required for a carrier's update",
            ));
        };
        let now = self.now();
        if (now - sent).abs() > self.webhook_window {
            return Err(Error::Auth(AuthError::Invalid(format!(
                "sent_at {} is more than {} s from now ({}): a stale or replayed webhook is refused",
                sent.to_rfc3339(),
                self.webhook_window.num_seconds(),
                now.to_rfc3339()
            ))));
        }
        Ok(())
    }

    async fn find_target(&self, txn: &DatabaseTransaction, cmd: &Track) -> Result<Target, Error> {
        let target = match &cmd.shipment_no {
            Some(no) => shipments::get(txn, no)
                .await?
                .map(|s| Target::Shipment(Box::new(s)))
                .ok_or_else(|| Error::not_found(format!("shipment {no}")))?,
            None => match shipments::by_waybill(txn, &cmd.carrier, &cmd.waybill_no).await? {
                Some(s) => Target::Shipment(Box::new(s)),
                None => pickups::by_waybill(txn, &cmd.carrier, &cmd.waybill_no)
                    .await?
                    .map(|p| Target::Pickup(Box::new(p)))
                    .ok_or_else(|| {
                        Error::not_found(format!(
                            "waybill {} of carrier {}",
                            cmd.waybill_no, cmd.carrier
                        ))
                    })?,
            },
        };
        let (_, branch) = target.request();
        if !visible(cmd.scope.as_deref(), branch) {
            return Err(match &cmd.shipment_no {
                Some(no) => Error::not_found(format!("shipment {no}")),
                None => Error::not_found(format!("waybill {}", cmd.waybill_no)),
            });
        }
        Ok(target)
    }

    /// Records and applies an update in `txn` (the RPC's, or the sim scanner's).
    pub(super) async fn track_in(
        &self,
        txn: &DatabaseTransaction,
        cmd: &Track,
    ) -> Result<(Target, bool), Error> {
        let found = self.find_target(txn, cmd).await?;
        let (request_no, branch) = found.request();
        let req = self.lock_request(txn, request_no, branch).await?;
        let now = self.now();
        match found {
            Target::Shipment(s) => {
                let mut s = shipments::get_for_update(txn, &s.shipment_no)
                    .await?
                    .ok_or_else(|| Error::Aborted("the shipment vanished; retry".into()))?;
                let carrier = s.carrier.clone();
                if store::find(txn, &carrier, &cmd.carrier_event_id)
                    .await?
                    .is_some()
                {
                    return Ok((Target::Shipment(Box::new(s)), false));
                }
                let u = tracking::shipment_update(
                    s.status,
                    s.last_tracking_at,
                    cmd.status,
                    cmd.occurred_at,
                );
                let row = self.row(
                    cmd,
                    &carrier,
                    s.waybill_no.as_deref(),
                    Some(&s.shipment_no),
                    None,
                    u.applied,
                    &u.note,
                    now,
                );
                let Some(id) = store::insert(txn, &row).await? else {
                    return Ok((Target::Shipment(Box::new(s)), false));
                };
                if u.applied {
                    s.status = u.status;
                    s.last_tracking_at = Some(cmd.occurred_at);
                    match u.effect {
                        Effect::None => {}
                        Effect::Delivered => {
                            s.delivered_at = Some(cmd.occurred_at);
                            s.signed_by = cmd.signed_by.clone();
                            self.stage(
                                txn,
                                &req.request_no,
                                &req.branch,
                                &wire::delivered_event(&s),
                            )
                            .await?;
                        }
                        Effect::Delayed => {
                            let detail = delay_detail(cmd);
                            self.open_exception(
                                txn,
                                &mut s,
                                ExceptionKind::Delay,
                                &detail,
                                Source::Carrier,
                                "",
                                cmd.eta,
                                Vec::new(),
                                Some(id),
                                None,
                            )
                            .await?;
                        }
                        Effect::Failed(kind) => {
                            let detail = format!(
                                "{} reported {} by {}{}",
                                if kind == ExceptionKind::Loss {
                                    "Loss"
                                } else {
                                    "Damage"
                                },
                                at_place(&cmd.location),
                                carrier,
                                if cmd.description.is_empty() {
                                    String::new()
                                } else {
                                    format!(": {}", cmd.description)
                                }
                            );
                            let lines = s.lines.clone();
                            self.open_exception(
                                txn,
                                &mut s,
                                kind,
                                &detail,
                                Source::Carrier,
                                "",
                                None,
                                lines,
                                Some(id),
                                None,
                            )
                            .await?;
                        }
                    }
                    shipments::save(txn, &s).await?;
                }
                Ok((Target::Shipment(Box::new(s)), true))
            }
            Target::Pickup(p) => {
                let mut p = pickups::get_for_update(txn, &p.pickup_no)
                    .await?
                    .ok_or_else(|| Error::Aborted("the pick-up vanished; retry".into()))?;
                let carrier = p.carrier.clone();
                if store::find(txn, &carrier, &cmd.carrier_event_id)
                    .await?
                    .is_some()
                {
                    return Ok((Target::Pickup(Box::new(p)), false));
                }
                let u = tracking::pickup_update(
                    p.status,
                    p.last_tracking_at,
                    cmd.status,
                    cmd.occurred_at,
                );
                let row = self.row(
                    cmd,
                    &carrier,
                    p.waybill_no.as_deref(),
                    None,
                    Some(&p.pickup_no),
                    u.applied,
                    &u.note,
                    now,
                );
                if store::insert(txn, &row).await?.is_none() {
                    return Ok((Target::Pickup(Box::new(p)), false));
                }
                if u.applied {
                    p.status = u.status;
                    p.last_tracking_at = Some(cmd.occurred_at);
                    if p.status == PickupStatus::Collected && p.collected_at.is_none() {
                        p.collected_at = Some(cmd.occurred_at);
                    }
                    match u.effect {
                        Effect::Delivered => {
                            self.arrive(txn, &req.request_no, &req.branch, &mut p, cmd.occurred_at)
                                .await?;
                        }
                        Effect::Failed(_) => {
                            p.failed_at = Some(cmd.occurred_at);
                            p.note = format!("{} reported by {carrier}", cmd.status);
                        }
                        Effect::None | Effect::Delayed => {}
                    }
                    pickups::save(txn, &p).await?;
                }
                Ok((Target::Pickup(Box::new(p)), true))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn row(
        &self,
        cmd: &Track,
        carrier: &str,
        waybill: Option<&str>,
        shipment_no: Option<&str>,
        pickup_no: Option<&str>,
        applied: bool,
        note: &str,
        now: DateTime<Utc>,
    ) -> TrackingRow {
        TrackingRow {
            id: 0,
            carrier: carrier.to_owned(),
            carrier_event_id: cmd.carrier_event_id.clone(),
            waybill_no: waybill.unwrap_or(&cmd.waybill_no).to_owned(),
            shipment_no: shipment_no.map(str::to_owned),
            pickup_no: pickup_no.map(str::to_owned),
            status: cmd.status,
            occurred_at: cmd.occurred_at,
            sent_at: cmd.sent_at,
            location: cmd.location.clone(),
            description: cmd.description.clone(),
            raw_status: cmd.raw_status.clone(),
            signed_by: cmd.signed_by.clone(),
            eta: cmd.eta,
            source: cmd.source,
            applied,
            note: note.to_owned(),
            recorded_at: now,
        }
    }
}

fn at_place(location: &str) -> String {
    if location.is_empty() {
        String::new()
    } else {
        format!("at {location} ")
    }
}

fn delay_detail(cmd: &Track) -> String {
    let mut d = format!("Delayed {}(carrier)", at_place(&cmd.location));
    if !cmd.description.is_empty() {
        d.push_str(&format!(": {}", cmd.description));
    }
    if let Some(eta) = cmd.eta {
        d.push_str(&format!("; new ETA {}", eta.to_rfc3339()));
    }
    d
}

/// Whether a status counts as under way for a carrier (for the answers).
pub fn under_way(s: ShipmentStatus) -> bool {
    matches!(s, ShipmentStatus::Dispatched | ShipmentStatus::InTransit)
}
