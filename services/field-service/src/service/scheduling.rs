//! Appointments: suggestions of free slots, holds while someone confirms, the booking itself
//! and the dispatch. A slot is one window of one technician ([`crate::domain::slots`]).
//!
//! A booking locks the work order, then the technicians it considers (in id order: two
//! bookings never deadlock), counts the day's bookings under that lock against the daily
//! capacity, and inserts the appointment row, which the unique index refuses for a taken slot.
//! Redis holds are consulted on the way (a slot held for another work order is refused) but are
//! never needed: without Redis the booking is exactly as safe.

use std::collections::{BTreeMap, BTreeSet};

use aftersales_platform::kv::KvError;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::TransactionTrait;

use super::holds::{Held, Hold};
use super::{Actor, FieldService, Keyed};
use crate::domain::slots::{Candidate, Suggestion, Window, rank};
use crate::domain::technician::Technician;
use crate::domain::{Status, TechnicianId, WorkOrder};
use crate::error::{Error, refused};
use crate::store::appointments::{self, Booking};
use crate::store::{technicians, work_orders};

/// Technicians considered for one branch at most.
const MAX_TECHNICIANS: u64 = 500;

#[derive(Debug, Clone)]
pub struct Suggest {
    pub work_order_no: String,
    pub from_date: Option<NaiveDate>,
    pub days: Option<u32>,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct HoldSlot {
    pub work_order_no: String,
    pub technician_id: TechnicianId,
    pub from: DateTime<Utc>,
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub work_order_no: String,
    pub from: DateTime<Utc>,
    pub to: Option<DateTime<Utc>>,
    /// `None`: the best technician free in the window.
    pub technician_id: Option<TechnicianId>,
    pub note: String,
    pub hold_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DispatchCmd {
    pub work_order_no: String,
    pub technician_id: Option<TechnicianId>,
}

/// A slot held, for the answer.
#[derive(Debug, Clone)]
pub struct SlotHold {
    pub hold: Hold,
    pub technician: Technician,
    pub window: Window,
}

fn invalid((field, message): (&'static str, String)) -> Error {
    Error::invalid(field, message)
}

fn redis_down(e: &KvError) {
    tracing::warn!(error = %e, "slot holds unavailable (redis); bookings rely on Postgres alone");
}

impl FieldService {
    fn window(&self, from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> Result<Window, Error> {
        let w = self
            .windows
            .window_at(&self.calendar, super::micros(from), to.map(super::micros))
            .map_err(invalid)?;
        if w.from <= self.clock.now() {
            return Err(Error::invalid("window.from", "is in the past"));
        }
        Ok(w)
    }

    /// Whether the work order may be booked now (a dry run of the move, so a refusal comes
    /// before anything is looked up or held).
    fn check_schedulable(wo: &WorkOrder, w: Window) -> Result<(), Error> {
        let mut probe = wo.clone();
        probe
            .schedule("probe", "", w, "probe", w.from, "")
            .map(|_| ())
            .map_err(refused)
    }

    /// Free slots for the work order, best first.
    pub async fn suggest(
        &self,
        actor: &Actor,
        cmd: Suggest,
    ) -> Result<(Vec<Suggestion>, Option<DateTime<Utc>>), Error> {
        let wo = self.get(actor, &cmd.work_order_no).await?;
        if !wo.status.is_open() {
            return Err(Error::precondition(format!(
                "work order {} is {}",
                wo.work_order_no,
                wo.status.as_str()
            )));
        }
        let now = self.clock.now();
        let policy = &self.policy.appointments;
        let first = cmd
            .from_date
            .unwrap_or_else(|| self.windows.local_date(now));
        let days = cmd.days.unwrap_or(policy.suggestion_days);
        let limit = cmd.limit.unwrap_or(policy.max_suggestions) as usize;
        let last = first + Duration::days(i64::from(days.max(1)) - 1);
        let techs = self.fit_technicians(&wo).await?;
        let ids: Vec<String> = techs.iter().map(|t| t.technician_id.clone()).collect();
        let (booked, per_day) = appointments::booked_between(&self.db, &ids, first, last).await?;
        let booked: BTreeSet<(String, DateTime<Utc>)> = booked.into_iter().collect();
        let mut candidates = Vec::new();
        let mut day = first;
        while day <= last {
            for w in self.windows.of_day(&self.calendar, day) {
                if w.from <= now {
                    continue;
                }
                for t in &techs {
                    let n = per_day
                        .get(&(t.technician_id.clone(), day))
                        .copied()
                        .unwrap_or(0);
                    if n >= t.daily_capacity || booked.contains(&(t.technician_id.clone(), w.from))
                    {
                        continue;
                    }
                    candidates.push(Candidate {
                        technician_id: t.technician_id.clone(),
                        technician_name: t.name.clone(),
                        window: w,
                        booked: n,
                        capacity: t.daily_capacity,
                        territory_match: t.in_territory(wo.site_address()),
                    });
                }
            }
            day = day.succ_opt().unwrap_or(last + Duration::days(1));
        }
        let slots: Vec<(String, DateTime<Utc>)> = candidates
            .iter()
            .map(|c| (c.technician_id.clone(), c.window.from))
            .collect();
        match self.holds.holders(&slots, now).await {
            Ok(held) => {
                let mut keep = held.iter().map(|h| {
                    h.as_ref()
                        .is_none_or(|h| h.work_order_no == wo.work_order_no)
                });
                candidates.retain(|_| keep.next().unwrap_or(true));
            }
            Err(e) => redis_down(&e),
        }
        let mut ranked = rank(candidates, wo.arrival_due_at, first, &self.windows);
        ranked.truncate(limit);
        Ok((ranked, wo.arrival_due_at))
    }

    /// Active technicians of the work order's branch with its skill, covering its region.
    async fn fit_technicians(&self, wo: &WorkOrder) -> Result<Vec<Technician>, Error> {
        let filter = technicians::Filter {
            branch: Some(wo.branch.clone()),
            skill: Some(wo.product.category.clone()).filter(|s| !s.is_empty()),
            region: wo.region().map(|r| r.as_str().to_owned()),
            include_inactive: false,
            after: None,
        };
        Ok(technicians::list(&self.db, &filter, MAX_TECHNICIANS).await?)
    }

    /// Holds a slot for the work order while someone confirms.
    pub async fn hold(&self, actor: &Actor, cmd: HoldSlot) -> Result<SlotHold, Error> {
        let wo = self.get(actor, &cmd.work_order_no).await?;
        let window = self.window(cmd.from, cmd.to)?;
        Self::check_schedulable(&wo, window)?;
        let Some(tech) = technicians::get(&self.db, cmd.technician_id.as_str()).await? else {
            return Err(Error::not_found(format!(
                "technician {}",
                cmd.technician_id
            )));
        };
        if let Some(why) = tech.unfit_for(&wo.branch, &wo.product.category, wo.region()) {
            return Err(Error::precondition(why));
        }
        if let Some(other) =
            appointments::holder(&self.db, &tech.technician_id, window.from).await?
            && other != wo.work_order_no
        {
            return Err(Error::precondition(format!(
                "the slot is booked for another work order ({other})"
            )));
        }
        let day = self.windows.local_date(window.from);
        let n = appointments::count_on_day(&self.db, &tech.technician_id, day).await?;
        if n >= tech.daily_capacity {
            return Err(Error::precondition(format!(
                "technician {} has no capacity left on {day} ({n} of {} booked)",
                tech.technician_id, tech.daily_capacity
            )));
        }
        let now = self.clock.now();
        match self
            .holds
            .hold(&tech.technician_id, window.from, &wo.work_order_no, now)
            .await
        {
            Ok(Held::Ours(hold)) => Ok(SlotHold {
                hold,
                technician: tech,
                window,
            }),
            Ok(Held::Theirs(h)) => Err(Error::precondition(format!(
                "the slot is held for {} until {}",
                h.work_order_no,
                h.expires_at.to_rfc3339()
            ))),
            Err(e) => {
                redis_down(&e);
                Err(Error::precondition(
                    "slot holds are unavailable right now; book the slot directly (ScheduleAppointment)",
                ))
            }
        }
    }

    /// Books (or moves) the work order's appointment.
    pub async fn schedule(
        &self,
        actor: &Actor,
        keyed: &Keyed,
        cmd: Schedule,
    ) -> Result<WorkOrder, Error> {
        let window = self.window(cmd.from, cmd.to)?;
        // The holds are read before anything is locked: Redis may be slow or away, and a hold
        // is advice only (the booking below is the truth).
        let ids = match &cmd.technician_id {
            Some(t) => vec![t.as_str().to_owned()],
            None => match work_orders::get(&self.db, &cmd.work_order_no).await? {
                Some(w) if actor.sees(&w) => self
                    .fit_technicians(&w)
                    .await?
                    .into_iter()
                    .map(|t| t.technician_id)
                    .collect(),
                _ => vec![],
            },
        };
        let slots: Vec<(String, DateTime<Utc>)> =
            ids.iter().map(|t| (t.clone(), window.from)).collect();
        let held: BTreeMap<String, Hold> = match self.holds.holders(&slots, self.clock.now()).await
        {
            Ok(h) => ids
                .iter()
                .cloned()
                .zip(h)
                .filter_map(|(t, h)| h.map(|h| (t, h)))
                .collect(),
            Err(e) => {
                redis_down(&e);
                BTreeMap::new()
            }
        };
        let txn = self.db.begin().await?;
        if let Some(no) = self.replayed(&txn, "ScheduleAppointment", keyed).await? {
            txn.commit().await?;
            return self.get(actor, &no).await;
        }
        let mut wo = self.lock_visible(&txn, actor, &cmd.work_order_no).await?;
        let same_technician = cmd
            .technician_id
            .as_ref()
            .is_none_or(|t| t.as_str() == wo.technician_id);
        if wo.appointment == Some(window) && same_technician && wo.status.is_open() {
            // Booked exactly so already: a repeated request changes nothing.
            txn.commit().await?;
            return Ok(wo);
        }
        Self::check_schedulable(&wo, window)?;
        let locked = technicians::lock_many(&txn, &ids).await?;
        if let Some(t) = &cmd.technician_id
            && locked.is_empty()
        {
            return Err(Error::not_found(format!("technician {t}")));
        }
        let now = self.clock.now();
        let day = self.windows.local_date(window.from);
        let own_day = wo
            .appointment
            .filter(|w| self.windows.local_date(w.from) == day)
            .map(|_| wo.technician_id.clone());
        let mut fit: Vec<Candidate> = Vec::new();
        let mut refusals: BTreeMap<String, String> = BTreeMap::new();
        for t in &locked {
            let id = &t.technician_id;
            let hold = held.get(id).filter(|h| h.expires_at > now);
            if let Some(why) = t.unfit_for(&wo.branch, &wo.product.category, wo.region()) {
                refusals.insert(id.clone(), why);
                continue;
            }
            if let Some(h) = hold.filter(|h| h.work_order_no != wo.work_order_no) {
                // A caller confirming its own hold learns that it lapsed.
                let lapsed = cmd
                    .hold_id
                    .as_ref()
                    .map(|mine| format!("hold {mine} lapsed: "))
                    .unwrap_or_default();
                refusals.insert(
                    id.clone(),
                    format!(
                        "{lapsed}the slot of {id} is held for {} until {}",
                        h.work_order_no,
                        h.expires_at.to_rfc3339()
                    ),
                );
                continue;
            }
            if let Some(other) = appointments::holder(&txn, id, window.from).await?
                && other != wo.work_order_no
            {
                refusals.insert(
                    id.clone(),
                    format!("the slot of {id} is booked for another work order ({other})"),
                );
                continue;
            }
            let mut n = appointments::count_on_day(&txn, id, day).await?;
            if own_day.as_deref() == Some(id.as_str()) {
                // Moving within the same day frees this work order's own booking first.
                n = n.saturating_sub(1);
            }
            if n >= t.daily_capacity {
                refusals.insert(
                    id.clone(),
                    format!(
                        "technician {id} has no capacity left on {day} ({n} of {} booked)",
                        t.daily_capacity
                    ),
                );
                continue;
            }
            fit.push(Candidate {
                technician_id: id.clone(),
                technician_name: t.name.clone(),
                window,
                booked: n,
                capacity: t.daily_capacity,
                territory_match: t.in_territory(wo.site_address()),
            });
        }
        let best = rank(fit, wo.arrival_due_at, day, &self.windows)
            .into_iter()
            .next();
        let Some(best) = best else {
            return Err(Error::precondition(
                match (&cmd.technician_id, refusals.len()) {
                    (Some(_), _) | (None, 1) => refusals.into_values().next().unwrap_or_default(),
                    (None, _) => format!(
                        "no technician of {} with the skill is free from {}",
                        wo.branch,
                        window.from.to_rfc3339()
                    ),
                },
            ));
        };
        let tech = best.candidate;
        appointments::release_of(&txn, &wo.work_order_no, now, "rescheduled").await?;
        let booked = appointments::book(
            &txn,
            &Booking {
                work_order_no: &wo.work_order_no,
                technician_id: &tech.technician_id,
                from: window.from,
                to: window.to,
                day,
                booked_by: &actor.subject,
                at: now,
            },
        )
        .await?;
        if !booked {
            return Err(Error::precondition(format!(
                "the slot of {} from {} was just booked for another work order",
                tech.technician_id,
                window.from.to_rfc3339()
            )));
        }
        let at = self.now();
        let scheduled = wo
            .schedule(
                &tech.technician_id,
                &tech.technician_name,
                window,
                &actor.subject,
                at,
                &cmd.note,
            )
            .map_err(refused)?;
        work_orders::save(&txn, &wo).await?;
        self.stage_scheduled(&txn, &wo, scheduled.rescheduled, &cmd.note)
            .await?;
        if let Some(change) = &scheduled.change {
            self.stage_status(&txn, &wo, change).await?;
        }
        self.remember(&txn, "ScheduleAppointment", keyed, &wo.work_order_no)
            .await?;
        txn.commit().await?;
        self.holds.release_quietly(&wo.work_order_no).await;
        Ok(wo)
    }

    /// The technician sets off: SCHEDULED → EN_ROUTE (again: no change).
    pub async fn dispatch(
        &self,
        actor: &Actor,
        keyed: &Keyed,
        cmd: DispatchCmd,
    ) -> Result<WorkOrder, Error> {
        let txn = self.db.begin().await?;
        if let Some(no) = self.replayed(&txn, "Dispatch", keyed).await? {
            txn.commit().await?;
            return self.get(actor, &no).await;
        }
        let mut wo = self.lock_visible(&txn, actor, &cmd.work_order_no).await?;
        if let Some(t) = &cmd.technician_id
            && t.as_str() != wo.technician_id
        {
            return Err(Error::precondition(format!(
                "the appointment is with {}, not {t}: reschedule it first",
                if wo.technician_id.is_empty() {
                    "nobody yet"
                } else {
                    &wo.technician_id
                }
            )));
        }
        if wo.status == Status::EnRoute {
            txn.commit().await?;
            return Ok(wo);
        }
        if wo.awaiting_delivery {
            return Err(Error::precondition(
                "the parts of this job have not been delivered yet",
            ));
        }
        let change = wo.dispatch(&actor.subject, self.now()).map_err(refused)?;
        work_orders::save(&txn, &wo).await?;
        self.stage_status(&txn, &wo, &change).await?;
        self.remember(&txn, "Dispatch", keyed, &wo.work_order_no)
            .await?;
        txn.commit().await?;
        Ok(wo)
    }
}
