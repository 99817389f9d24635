//! Where work orders come from and how a request's events change them: an approved claim that
//! needs someone on site opens one (waiting for its parts when some are on their way), a
//! dispatcher opens one by hand (INTERNAL jobs too), an unsolved survey opens a follow-up; the
//! request's cancellation ends its open work orders and frees their slots; the delivery of its
//! parts makes a waiting job actionable.
//!
//! Approval, cancellation, delivery and follow-up of one request may be handled in any order,
//! concurrently and more than once. Each takes the request's lock first, so they run one after
//! the other and each sees what the one before committed; a cancellation handled first leaves
//! its marker (`cancelled_requests`), on which a later approval or follow-up opens nothing, and
//! a delivery handled first leaves its own, so the job opened later does not wait for parts.

use aftersales_platform::ids::{BranchCode, RequestNo};
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, TransactionTrait};

use aftersales_platform::sla::Mark;

use super::sla::PARTS;
use super::{Actor, FieldService, Keyed};
use crate::domain::sla::arrival_due;
use crate::domain::work_order::{Customer, Opening, PartUse, Product, Site, Source};
use crate::domain::{Category, Region, RequestKind, Urgency, WorkOrder, WorkOrderNo};
use crate::error::{Error, refused};
use crate::store::{appointments, lock_request, markers, work_orders};

/// An approved claim, as far as field-service cares.
#[derive(Debug, Clone)]
pub struct ClaimApproval {
    pub request_no: RequestNo,
    pub branch: BranchCode,
    pub kind: Option<RequestKind>,
    pub urgency: Option<Urgency>,
    pub category: Category,
    pub customer: Customer,
    pub site: Site,
    pub product: Product,
    pub fault_description: String,
    /// The approved part lines (on their way when there are any).
    pub lines: Vec<PartUse>,
    pub onsite_required: bool,
    /// When the claim was approved: the call, unless the job waits for parts.
    pub approved_at: Option<DateTime<Utc>>,
}

impl ClaimApproval {
    /// Installations and repairs always need a technician; other kinds when the claim says so.
    pub fn needs_onsite(&self) -> bool {
        self.onsite_required
            || matches!(
                self.kind,
                Some(RequestKind::Installation | RequestKind::Repair)
            )
    }
}

/// What an approval did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    Opened(String),
    /// No technician needed.
    NotOnSite,
    /// The request has its work order already (a redelivered or repeated approval).
    AlreadyOpen(String),
    /// The request was cancelled first: nothing is opened.
    Cancelled,
}

/// A work order opened by hand.
#[derive(Debug, Clone)]
pub struct NewWorkOrder {
    /// `None` only for INTERNAL jobs.
    pub request_no: Option<RequestNo>,
    pub branch: BranchCode,
    pub category: Category,
    pub kind: Option<RequestKind>,
    pub urgency: Option<Urgency>,
    pub customer: Customer,
    pub site: Site,
    pub product: Product,
    pub fault_description: String,
    pub planned_parts: Vec<PartUse>,
    pub called_at: Option<DateTime<Utc>>,
}

/// An unsolved survey: the request needs another visit.
#[derive(Debug, Clone)]
pub struct FollowUp {
    pub request_no: RequestNo,
    pub branch: BranchCode,
    pub survey_id: String,
    /// The customer's words.
    pub comment: String,
    /// The job that did not solve it, when there was one.
    pub previous_work_order_no: Option<String>,
    /// What feedback knows of the request; missing parts come from the previous job.
    pub customer: Option<Customer>,
    pub site: Option<Site>,
    pub product: Option<Product>,
    pub kind: Option<RequestKind>,
    pub urgency: Option<Urgency>,
}

impl FieldService {
    async fn number(
        &self,
        txn: &DatabaseTransaction,
        branch: &BranchCode,
    ) -> Result<String, Error> {
        let period = self
            .clock
            .now()
            .with_timezone(&self.offset)
            .format("%y%m")
            .to_string();
        let seq = work_orders::next_sequence(txn, branch.as_str(), &period).await?;
        WorkOrderNo::new(&period, branch, seq)
            .map(|n| n.as_str().to_owned())
            .map_err(Error::FailedPrecondition)
    }

    /// The arrival deadline of a job in `region` called at `at` (none without a region).
    pub(crate) fn due(&self, at: DateTime<Utc>, region: Option<Region>) -> Option<DateTime<Utc>> {
        region.map(|r| arrival_due(&self.calendar, &self.policy.arrival, at, r))
    }

    /// The job is called at `at` (actionable from `called`): its deadline from the clock's
    /// `marks`, which are kept with it once it is stored.
    fn start_clock(
        &self,
        wo: &mut WorkOrder,
        called: DateTime<Utc>,
        marks: Vec<Mark>,
    ) -> Vec<Mark> {
        match self.arrival_due(wo.region(), &marks) {
            Some(due) => wo.call(called, due),
            None => wo.called_at = Some(called),
        }
        marks
    }

    /// Opens the work order of an approved claim that needs someone on site, in `txn` (the
    /// event handler's).
    pub async fn open_from_claim(
        &self,
        txn: &DatabaseTransaction,
        a: &ClaimApproval,
    ) -> Result<Opened, Error> {
        if !a.needs_onsite() {
            return Ok(Opened::NotOnSite);
        }
        let request_no = a.request_no.as_str();
        lock_request(txn, request_no).await?;
        if markers::is_cancelled(txn, request_no).await? {
            return Ok(Opened::Cancelled);
        }
        if let Some(w) = work_orders::by_source(txn, Source::Claim.as_str(), request_no).await? {
            return Ok(Opened::AlreadyOpen(w.work_order_no));
        }
        let now = self.now();
        let no = self.number(txn, &a.branch).await?;
        let mut wo = WorkOrder::open(
            Opening {
                work_order_no: no.clone(),
                request_no: request_no.to_owned(),
                branch: a.branch.as_str().to_owned(),
                source: Source::Claim,
                source_ref: request_no.to_owned(),
                category: a.category,
                kind: a.kind,
                urgency: a.urgency,
                customer: a.customer.clone(),
                site: a.site.clone(),
                product: a.product.clone(),
                fault_description: a.fault_description.clone(),
                planned_parts: a.lines.clone(),
                follow_up_of: String::new(),
                policy_version: self.policy.version.clone(),
            },
            now,
            "system",
        );
        let mut waiting = None;
        // The clock starts with the approval (when it happened, not when it was handled) and
        // waits for the parts from then until their delivery.
        let approved = a.approved_at.map(super::micros).unwrap_or(now);
        let start = Mark::start(approved, "approved");
        let wait = Mark::pause(PARTS, approved, "approved");
        let marks = if a.lines.is_empty() {
            self.start_clock(&mut wo, approved, vec![start])
        } else if let Some(delivered) = markers::delivered_at(txn, request_no).await? {
            // The delivery was handled before the approval: nothing to wait for.
            let arrived = Mark::resume(PARTS, delivered, "delivered");
            self.start_clock(&mut wo, approved.max(delivered), vec![start, wait, arrived])
        } else {
            let parts: Vec<String> = a
                .lines
                .iter()
                .map(|l| format!("{} ×{}", l.part_no, l.quantity))
                .collect();
            let note = format!("waiting for parts: {}", parts.join(", "));
            waiting = Some(wo.await_parts(now, &note).map_err(refused)?);
            vec![start, wait]
        };
        if !work_orders::insert(txn, &wo).await? {
            return Ok(Opened::AlreadyOpen(no));
        }
        self.keep_arrival_clock(txn, &wo, marks).await?;
        self.stage_created(txn, &wo).await?;
        if let Some(change) = waiting {
            self.stage_status(txn, &wo, &change).await?;
        }
        tracing::info!(work_order_no = %no, %request_no, status = wo.status.as_str(), "work order opened");
        Ok(Opened::Opened(no))
    }

    /// Opens a work order by hand (`CreateWorkOrder`).
    pub async fn create(
        &self,
        actor: &Actor,
        keyed: &Keyed,
        cmd: NewWorkOrder,
    ) -> Result<WorkOrder, Error> {
        if !actor.sees_branch(cmd.branch.as_str()) {
            return Err(Error::not_found(format!("branch {}", cmd.branch)));
        }
        let txn = self.db.begin().await?;
        if let Some(no) = self.replayed(&txn, "CreateWorkOrder", keyed).await? {
            txn.commit().await?;
            return self.get(actor, &no).await;
        }
        if let Some(r) = &cmd.request_no {
            lock_request(&txn, r.as_str()).await?;
            if markers::is_cancelled(&txn, r.as_str()).await? {
                return Err(Error::precondition(format!("request {r} was cancelled")));
            }
        }
        let now = self.now();
        let no = self.number(&txn, &cmd.branch).await?;
        let mut wo = WorkOrder::open(
            Opening {
                work_order_no: no.clone(),
                request_no: cmd
                    .request_no
                    .as_ref()
                    .map(|r| r.as_str().to_owned())
                    .unwrap_or_default(),
                branch: cmd.branch.as_str().to_owned(),
                source: Source::Manual,
                source_ref: no.clone(),
                category: cmd.category,
                kind: cmd.kind,
                urgency: cmd.urgency,
                customer: cmd.customer,
                site: cmd.site,
                product: cmd.product,
                fault_description: cmd.fault_description,
                planned_parts: cmd.planned_parts,
                follow_up_of: String::new(),
                policy_version: self.policy.version.clone(),
            },
            now,
            &actor.subject,
        );
        let called = cmd.called_at.map(super::micros).unwrap_or(now);
        let marks = self.start_clock(&mut wo, called, vec![Mark::start(called, "called")]);
        work_orders::insert(&txn, &wo).await?;
        self.keep_arrival_clock(&txn, &wo, marks).await?;
        self.stage_created(&txn, &wo).await?;
        self.remember(&txn, "CreateWorkOrder", keyed, &no).await?;
        txn.commit().await?;
        Ok(wo)
    }

    /// Opens the follow-up of an unsolved survey, from what the survey sends along and the job
    /// that did not solve the problem; none when the request was cancelled, has its follow-up
    /// already, or there is nowhere to send a technician.
    pub async fn open_follow_up(
        &self,
        txn: &DatabaseTransaction,
        f: &FollowUp,
    ) -> Result<Option<String>, Error> {
        let request_no = f.request_no.as_str();
        lock_request(txn, request_no).await?;
        if markers::is_cancelled(txn, request_no).await? {
            return Ok(None);
        }
        if work_orders::by_source(txn, Source::FollowUp.as_str(), &f.survey_id)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        let jobs = work_orders::lock_of_request(txn, request_no).await?;
        let prev = match &f.previous_work_order_no {
            Some(no) => jobs.iter().find(|w| w.work_order_no == *no),
            None => None,
        }
        .or_else(|| {
            jobs.iter()
                .max_by_key(|w| (w.status == crate::domain::Status::Done, w.created_at))
        });
        let customer = f
            .customer
            .clone()
            .filter(|c| !c.name.is_empty())
            .or_else(|| prev.map(|p| p.customer.clone()))
            .unwrap_or_default();
        let site = f
            .site
            .clone()
            .filter(|s| !s.address.is_empty())
            .or_else(|| prev.map(|p| p.site.clone()))
            .unwrap_or_default();
        if site.address.is_empty() && customer.address.is_empty() {
            return Ok(None);
        }
        let product = f
            .product
            .clone()
            .filter(|p| !p.category.is_empty())
            .or_else(|| prev.map(|p| p.product.clone()))
            .unwrap_or_default();
        // The customer paid for a fix that did not hold, or had no visit at all: the follow-up
        // is on the company, unless a contract covers it.
        let category = match prev.map(|p| p.category) {
            Some(Category::Contract) => Category::Contract,
            _ => Category::Free,
        };
        let previous_no = prev.map(|p| p.work_order_no.clone()).unwrap_or_default();
        let fault = match (previous_no.is_empty(), f.comment.trim()) {
            (true, "") => "not solved (survey)".to_owned(),
            (true, words) => words.to_owned(),
            (false, "") => format!("follow-up of {previous_no}: not solved"),
            (false, words) => format!("follow-up of {previous_no}: {words}"),
        };
        let now = self.now();
        let no = self.number(txn, &f.branch).await?;
        let mut wo = WorkOrder::open(
            Opening {
                work_order_no: no.clone(),
                request_no: request_no.to_owned(),
                branch: f.branch.as_str().to_owned(),
                source: Source::FollowUp,
                source_ref: f.survey_id.clone(),
                category,
                kind: f.kind.or(prev.and_then(|p| p.kind)),
                urgency: f.urgency.or(prev.and_then(|p| p.urgency)),
                customer,
                site,
                product,
                fault_description: fault,
                planned_parts: vec![],
                follow_up_of: previous_no,
                policy_version: self.policy.version.clone(),
            },
            now,
            "system",
        );
        let marks = self.start_clock(&mut wo, now, vec![Mark::start(now, "follow_up")]);
        if !work_orders::insert(txn, &wo).await? {
            return Ok(None);
        }
        self.keep_arrival_clock(txn, &wo, marks).await?;
        self.stage_created(txn, &wo).await?;
        Ok(Some(no))
    }

    /// The request was cancelled: its open work orders end CANCELLED and give up their slots;
    /// the marker stays for whatever comes later. Returns the work orders cancelled now.
    pub async fn cancel_request(
        &self,
        txn: &DatabaseTransaction,
        request_no: &RequestNo,
        branch: &BranchCode,
        reason: &str,
    ) -> Result<Vec<String>, Error> {
        let r = request_no.as_str();
        lock_request(txn, r).await?;
        let now = self.now();
        markers::mark_cancelled(txn, r, branch.as_str(), reason, now).await?;
        let note = if reason.trim().is_empty() {
            "the request was cancelled".to_owned()
        } else {
            format!("the request was cancelled: {}", reason.trim())
        };
        let mut cancelled = Vec::new();
        for mut wo in work_orders::lock_of_request(txn, r).await? {
            let Some(change) = wo.cancel(now, &note) else {
                if wo.status == crate::domain::Status::Done {
                    tracing::warn!(work_order_no = %wo.work_order_no, request_no = r, "request cancelled after its work order was done; nothing to cancel");
                }
                continue;
            };
            appointments::release_of(txn, &wo.work_order_no, now, "request cancelled").await?;
            work_orders::save(txn, &wo).await?;
            self.stop_arrival_clock(txn, &wo).await?;
            self.stage_status(txn, &wo, &change).await?;
            cancelled.push(wo.work_order_no);
        }
        Ok(cancelled)
    }

    /// The request's parts were delivered at `at`: a job waiting for them becomes actionable
    /// (NEW, or SCHEDULED when booked meanwhile) and its arrival deadline starts.
    pub async fn parts_delivered(
        &self,
        txn: &DatabaseTransaction,
        request_no: &RequestNo,
        shipment_no: &str,
        at: Option<DateTime<Utc>>,
    ) -> Result<usize, Error> {
        let r = request_no.as_str();
        lock_request(txn, r).await?;
        let at = at.map(super::micros).unwrap_or_else(|| self.now());
        markers::mark_delivered(txn, r, shipment_no, at).await?;
        let mut moved = 0;
        let note = format!("parts delivered ({shipment_no})");
        for mut wo in work_orders::lock_of_request(txn, r).await? {
            // The wait ends when the parts were delivered, however late that is handled.
            let clock = self
                .mark_arrival(
                    txn,
                    &wo.work_order_no,
                    vec![Mark::resume(PARTS, at, format!("delivered:{shipment_no}"))],
                )
                .await?;
            let due = match &clock {
                Some(c) => c.new_due(),
                // Opened before its clock was kept: as it was then.
                None => self.due(at, wo.region()),
            };
            let change = wo.parts_delivered(at, due, &note).map_err(refused)?;
            match change {
                Some(change) => {
                    work_orders::save(txn, &wo).await?;
                    self.stage_status(txn, &wo, &change).await?;
                    moved += 1;
                }
                None => {
                    // Not waiting (any more): a delivery handled late still re-derives the
                    // deadline, and a move is recorded and announced like any other.
                    if let Some(c) = clock.filter(|c| c.moved()) {
                        let now = self.now();
                        let why = format!("{note}, handled late");
                        self.clocks.log_change(txn, &c, &why, now).await?;
                        aftersales_platform::sla::Owner::apply(self, txn, &c, &why, now)
                            .await
                            .map_err(Error::Unexpected)?;
                    }
                }
            }
        }
        Ok(moved)
    }
}
