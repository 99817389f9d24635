//! Complaints: opened from any validated source (or by a survey), routed by category; a SERIOUS
//! one is escalated at once in the same transaction; escalated by hand; escalated once by the
//! deadline scanner ([`crate::deadlines`]) when its response deadline passes; resolved with the
//! result reported back to the customer.

use aftersales_platform::auth::Caller;
use aftersales_platform::grpc::record_request_no;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, TransactionTrait};

use super::{Feedback, meta, new_id, sees};
use crate::domain::complaint::{
    Category, Complaint, ComplaintStatus, Department, NewComplaint, Severity,
};
use crate::domain::visit::Customer;
use crate::error::Error;
use crate::store::{complaints, log};
use crate::wire;

/// A complaint as an agent opens it.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenComplaint {
    pub idempotency_key: String,
    pub request_no: Option<String>,
    pub branch: Option<String>,
    pub category: Category,
    pub severity: Severity,
    pub description: String,
    pub customer: Option<Customer>,
    pub technician_id: String,
    pub source: String,
    pub serial: String,
    pub product_model: String,
    pub part_nos: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EscalateComplaint {
    pub idempotency_key: String,
    pub complaint_id: String,
    pub reason: String,
    pub assignee: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResolveComplaint {
    pub idempotency_key: String,
    pub complaint_id: String,
    pub resolution: String,
    pub reported_via: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListComplaints {
    pub branch: Option<String>,
    pub statuses: Vec<ComplaintStatus>,
    pub category: Option<Category>,
    pub routed_to: Option<Department>,
    pub min_severity: Option<Severity>,
    pub request_no: Option<String>,
    pub opened_from: Option<DateTime<Utc>>,
    pub opened_to: Option<DateTime<Utc>>,
    pub page_size: u64,
    pub before: Option<(DateTime<Utc>, String)>,
}

impl Feedback {
    /// Opens a complaint in `conn`'s transaction and announces it (with its escalation when it
    /// is serious).
    pub async fn open_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        id: String,
        new: NewComplaint,
    ) -> Result<Complaint, Error> {
        let (c, escalation) =
            Complaint::open(id, new, &self.policy.ladder, &self.calendar, self.now());
        complaints::insert(conn, &c).await?;
        self.start_complaint_clock(conn, &c).await?;
        let m = meta(&c.request_no, &c.complaint_id, &c.branch);
        self.emit(conn, m, &wire::complaint_opened(&c)).await?;
        if let Some(e) = escalation {
            self.emit(conn, m, &wire::complaint_escalated(&c, &e))
                .await?;
            tracing::info!(complaint_id = %c.complaint_id, to = %c.assignee, "serious complaint escalated at once");
        }
        Ok(c)
    }

    /// An agent's complaint. The request it names must be one feedback has heard of and the
    /// caller may see; its branch, customer and product fill what the complaint leaves out.
    pub async fn open_complaint(
        &self,
        caller: &Caller,
        cmd: OpenComplaint,
    ) -> Result<Complaint, Error> {
        if !self.policy.sources.contains(&cmd.source) {
            return Err(Error::invalid(
                "source",
                format!(
                    "must be one of {}",
                    self.policy
                        .sources
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let txn = self.db.begin().await?;
        let id = new_id("C");
        if let Some(first) = self
            .claim_key(&txn, &cmd.idempotency_key, "open_complaint", &cmd, &id)
            .await?
        {
            drop(txn);
            return self.complaint(caller, &first).await;
        }
        let mut customer = cmd.customer.clone();
        let (mut serial, mut model) = (cmd.serial.clone(), cmd.product_model.clone());
        let branch = match &cmd.request_no {
            Some(no) => {
                record_request_no(no);
                let unknown = || Error::invalid("request_no", "no such request");
                let known = log::request_branch(&txn, no).await?.ok_or_else(unknown)?;
                let branch = if known.is_empty() {
                    cmd.branch.clone().ok_or_else(unknown)?
                } else {
                    known
                };
                if !sees(caller, &branch) {
                    return Err(unknown());
                }
                if let Some(b) = &cmd.branch
                    && *b != branch
                {
                    return Err(Error::invalid(
                        "branch",
                        format!("the request belongs to {branch}"),
                    ));
                }
                if let Some((c, m, s)) = log::first_of(&txn, no, "intake.request.submitted")
                    .await?
                    .as_deref()
                    .and_then(wire::submission)
                {
                    customer = customer.or(Some(c));
                    if model.is_empty() {
                        model = m;
                    }
                    if serial.is_empty() {
                        serial = s;
                    }
                }
                branch
            }
            None => {
                let b = cmd
                    .branch
                    .clone()
                    .ok_or_else(|| Error::invalid("branch", "is required without a request_no"))?;
                if !sees(caller, &b) {
                    return Err(Error::invalid("branch", "must be the caller's own branch"));
                }
                b
            }
        };
        let c = self
            .open_in(
                &txn,
                id,
                NewComplaint {
                    request_no: cmd.request_no.clone().unwrap_or_default(),
                    branch,
                    category: cmd.category,
                    severity: cmd.severity,
                    description: cmd.description.clone(),
                    customer,
                    technician_id: cmd.technician_id.clone(),
                    source: cmd.source.clone(),
                    survey_id: String::new(),
                    serial,
                    product_model: model,
                    part_nos: cmd.part_nos.clone(),
                    opened_by: caller.subject.clone(),
                },
            )
            .await?;
        txn.commit().await?;
        Ok(c)
    }

    /// The complaint, if the caller may see it.
    pub async fn complaint(&self, caller: &Caller, id: &str) -> Result<Complaint, Error> {
        match complaints::get(&self.db, id).await? {
            Some(c) if sees(caller, &c.branch) => Ok(c),
            _ => Err(Error::not_found(format!("complaint {id}"))),
        }
    }

    pub async fn escalate_complaint(
        &self,
        caller: &Caller,
        cmd: EscalateComplaint,
    ) -> Result<Complaint, Error> {
        let txn = self.db.begin().await?;
        if self
            .claim_key(
                &txn,
                &cmd.idempotency_key,
                "escalate_complaint",
                &cmd,
                &cmd.complaint_id,
            )
            .await?
            .is_some()
        {
            drop(txn);
            return self.complaint(caller, &cmd.complaint_id).await;
        }
        let mut c = match complaints::get_for_update(&txn, &cmd.complaint_id).await? {
            Some(c) if sees(caller, &c.branch) => c,
            _ => return Err(Error::not_found(format!("complaint {}", cmd.complaint_id))),
        };
        let e = c
            .escalate(
                &self.policy.ladder,
                cmd.reason.clone(),
                cmd.assignee.clone(),
                &caller.subject,
                self.now(),
            )
            .map_err(|r| Error::precondition(format!("complaint {}: {r}", c.complaint_id)))?;
        complaints::update(&txn, &c).await?;
        self.stop_complaint_clock(&txn, &c).await?;
        self.emit(
            &txn,
            meta(&c.request_no, &c.complaint_id, &c.branch),
            &wire::complaint_escalated(&c, &e),
        )
        .await?;
        txn.commit().await?;
        Ok(c)
    }

    pub async fn resolve_complaint(
        &self,
        caller: &Caller,
        cmd: ResolveComplaint,
    ) -> Result<Complaint, Error> {
        if !self.policy.report_channels.contains(&cmd.reported_via) {
            return Err(Error::invalid(
                "reported_via",
                format!(
                    "must be one of {}",
                    self.policy
                        .report_channels
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let txn = self.db.begin().await?;
        if self
            .claim_key(
                &txn,
                &cmd.idempotency_key,
                "resolve_complaint",
                &cmd,
                &cmd.complaint_id,
            )
            .await?
            .is_some()
        {
            drop(txn);
            return self.complaint(caller, &cmd.complaint_id).await;
        }
        let mut c = match complaints::get_for_update(&txn, &cmd.complaint_id).await? {
            Some(c) if sees(caller, &c.branch) => c,
            _ => return Err(Error::not_found(format!("complaint {}", cmd.complaint_id))),
        };
        c.resolve(
            cmd.resolution.clone(),
            cmd.reported_via.clone(),
            &caller.subject,
            self.now(),
        )
        .map_err(|r| Error::precondition(format!("complaint {}: {r}", c.complaint_id)))?;
        complaints::update(&txn, &c).await?;
        self.emit(
            &txn,
            meta(&c.request_no, &c.complaint_id, &c.branch),
            &wire::complaint_resolved(&c),
        )
        .await?;
        txn.commit().await?;
        Ok(c)
    }

    /// One page, newest first, and where the next starts.
    pub async fn list_complaints(
        &self,
        caller: &Caller,
        q: ListComplaints,
    ) -> Result<(Vec<Complaint>, Option<(DateTime<Utc>, String)>), Error> {
        let branch = match (caller.branch(), q.branch) {
            (Some(own), None) => Some(own.to_owned()),
            (Some(own), Some(asked)) if asked == own => Some(own.to_owned()),
            (Some(_), Some(_)) => return Ok((Vec::new(), None)),
            (None, asked) => asked,
        };
        let mut rows = complaints::list(
            &self.db,
            &complaints::Filter {
                branch,
                statuses: q.statuses,
                category: q.category,
                routed_to: q.routed_to,
                min_severity: q.min_severity,
                request_no: q.request_no,
                opened_from: q.opened_from,
                opened_to: q.opened_to,
                before: q.before,
                limit: q.page_size + 1,
            },
        )
        .await?;
        let more = rows.len() as u64 > q.page_size;
        rows.truncate(q.page_size as usize);
        let next = if more {
            rows.last().map(|c| (c.opened_at, c.complaint_id.clone()))
        } else {
            None
        };
        Ok((rows, next))
    }

    /// Escalates, once, every unresolved complaint whose response deadline passed at `now`.
    /// The rows are taken with `SKIP LOCKED` and the lapse is recorded with its event, so a scan
    /// repeated anywhere finds nothing left. How many complaints lapsed.
    pub async fn scan_deadlines(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let now = super::micros(now);
        let txn = self.db.begin().await?;
        let lapsed = complaints::lapsed_for_update(&txn, now, 100).await?;
        let n = lapsed.len();
        for mut c in lapsed {
            let escalation = c.escalate_for_deadline(&self.policy.ladder, now);
            complaints::update(&txn, &c).await?;
            if let Some(e) = escalation {
                self.emit(
                    &txn,
                    meta(&c.request_no, &c.complaint_id, &c.branch),
                    &wire::complaint_escalated(&c, &e),
                )
                .await?;
                tracing::info!(complaint_id = %c.complaint_id, to = %c.assignee, "response deadline passed; escalated");
            }
        }
        txn.commit().await?;
        Ok(n)
    }
}
