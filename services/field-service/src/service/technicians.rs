//! Technicians: registered (or updated) by id, listed with their load on a day.

use aftersales_platform::ids::BranchCode;
use chrono::NaiveDate;
use sea_orm::TransactionTrait;

use super::{Actor, FieldService};
use crate::domain::technician::{Technician, normalize_skills};
use crate::domain::{Region, TechnicianId};
use crate::error::Error;
use crate::store::{appointments, technicians};

#[derive(Debug, Clone)]
pub struct Register {
    /// `None`: one is issued (`T-<branch>-<n>`).
    pub technician_id: Option<TechnicianId>,
    pub name: String,
    pub phone: String,
    pub branch: BranchCode,
    pub skills: Vec<String>,
    pub territories: Vec<String>,
    pub regions: Vec<Region>,
    pub daily_capacity: u32,
    pub active: bool,
}

#[derive(Debug, Clone, Default)]
pub struct TechnicianQuery {
    pub branch: Option<String>,
    pub skill: Option<String>,
    pub region: Option<Region>,
    pub available_on: Option<NaiveDate>,
    pub include_inactive: bool,
    pub size: u64,
    pub after: Option<String>,
}

impl FieldService {
    /// Creates or replaces the technician (idempotent by id); true when created.
    pub async fn register(
        &self,
        actor: &Actor,
        cmd: Register,
    ) -> Result<(Technician, bool), Error> {
        if !actor.sees_branch(cmd.branch.as_str()) {
            return Err(Error::not_found(format!("branch {}", cmd.branch)));
        }
        let per_day = self.windows.per_day();
        if cmd.daily_capacity > per_day {
            return Err(Error::invalid(
                "technician.daily_capacity",
                format!("must be at most {per_day}: the appointment windows of a working day"),
            ));
        }
        let txn = self.db.begin().await?;
        let id = match cmd.technician_id {
            Some(id) => id,
            None => {
                let n = technicians::next_sequence(&txn, cmd.branch.as_str()).await?;
                TechnicianId::issue(&cmd.branch, n)
            }
        };
        let existing = technicians::get(&txn, id.as_str()).await?;
        if let Some(e) = &existing
            && !actor.sees_branch(&e.branch)
        {
            // Another branch's technician: as if it did not exist, and not to be taken over.
            return Err(Error::AlreadyExists(format!("technician id {id} is taken")));
        }
        let now = self.now();
        let mut regions = cmd.regions;
        regions.sort();
        regions.dedup();
        let t = Technician {
            technician_id: id.as_str().to_owned(),
            name: cmd.name,
            phone: cmd.phone,
            branch: cmd.branch.as_str().to_owned(),
            skills: normalize_skills(&cmd.skills),
            territories: cmd
                .territories
                .iter()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
                .collect(),
            regions,
            daily_capacity: cmd.daily_capacity,
            active: cmd.active,
            created_at: existing.as_ref().map(|e| e.created_at).unwrap_or(now),
            updated_at: now,
        };
        if existing.as_ref().is_some_and(|e| {
            Technician {
                updated_at: e.updated_at,
                ..t.clone()
            } == *e
        }) {
            // The same registration again: nothing changes.
            txn.commit().await?;
            return Ok((existing.unwrap_or(t), false));
        }
        let created = technicians::upsert(&txn, &t).await?;
        txn.commit().await?;
        Ok((t, created))
    }

    /// Technicians with their bookings on `available_on` (only those with free capacity then).
    pub async fn technicians(
        &self,
        actor: &Actor,
        mut q: TechnicianQuery,
    ) -> Result<(Vec<(Technician, u32)>, Option<String>), Error> {
        if let Some(b) = &actor.branch {
            if q.branch.as_ref().is_some_and(|asked| asked != b) {
                return Ok((vec![], None));
            }
            q.branch = Some(b.clone());
        }
        let filter = technicians::Filter {
            branch: q.branch.clone(),
            skill: q.skill.clone(),
            region: q.region.map(|r| r.as_str().to_owned()),
            include_inactive: q.include_inactive,
            after: q.after.clone(),
        };
        let mut out = Vec::new();
        let mut after = q.after.clone();
        // With a capacity filter some rows drop out: read on until the page is full.
        loop {
            let page = technicians::list(
                &self.db,
                &technicians::Filter {
                    after: after.clone(),
                    ..filter.clone()
                },
                q.size,
            )
            .await?;
            let full = page.len() as u64 >= q.size;
            for t in page {
                after = Some(t.technician_id.clone());
                let booked = match q.available_on {
                    Some(d) => appointments::count_on_day(&self.db, &t.technician_id, d).await?,
                    None => 0,
                };
                let free_day = q
                    .available_on
                    .is_none_or(|d| self.calendar.is_working_day(d) && booked < t.daily_capacity);
                if free_day {
                    out.push((t, booked));
                }
                if out.len() as u64 >= q.size {
                    let next = after.clone();
                    return Ok((out, next));
                }
            }
            if !full {
                return Ok((out, None));
            }
        }
    }

    pub async fn technician(&self, actor: &Actor, id: &str) -> Result<Technician, Error> {
        match technicians::get(&self.db, id).await? {
            Some(t) if actor.sees_branch(&t.branch) => Ok(t),
            _ => Err(Error::not_found(format!("technician {id}"))),
        }
    }
}
