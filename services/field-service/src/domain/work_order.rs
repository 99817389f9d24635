//! The work order: every change goes through one of its methods, which checks the state
//! machine ([`super::status`]), bumps the version once and keeps who/when/why of each status
//! change. The service locks the row, calls one method and stores the result with its events in
//! one transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::Refusal;
use super::kinds::{Category, Coverage, Region, RequestKind, Urgency};
use super::paid::{self, Answer, Change, Quotation};
use super::slots::Window;
use super::status::{self, Move, Status};

/// Where a work order came from; with `source_ref`, unique, so a redelivered event or a
/// repeated request creates nothing twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// `claims.claim.approved` (ref: the request number).
    Claim,
    /// `CreateWorkOrder` (ref: the work order number).
    Manual,
    /// An unsolved survey (ref: the survey id).
    FollowUp,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Claim => "claim",
            Source::Manual => "manual",
            Source::FollowUp => "follow_up",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub name: String,
    pub phone: String,
    pub address: String,
    pub region: Option<Region>,
    pub email: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    pub recipient: String,
    pub phone: String,
    pub address: String,
    pub region: Option<Region>,
    pub branch: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub category: String,
    pub model: String,
    pub serial: String,
    pub purchase_date: String,
    pub invoice_no: String,
    pub invoice_date: String,
    pub receipt_date: String,
    pub factory_date: String,
    pub service_contract_no: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartUse {
    pub part_no: String,
    pub quantity: u32,
    pub coverage: Option<Coverage>,
    /// Serial of the part fitted, where it has one.
    pub serial: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OldPart {
    pub part_no: String,
    pub quantity: u32,
    /// Serial of the part removed.
    pub serial: String,
    pub must_return: bool,
    pub return_by: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    pub parts_used: Vec<PartUse>,
    pub labour_minutes: u32,
    pub charge_minor: i64,
    pub currency: String,
    pub old_parts: Vec<OldPart>,
    /// As read on the unit.
    pub serial: String,
    pub resolution: String,
    pub completed_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inspection {
    pub passed: bool,
    pub inspected_by: String,
    pub inspected_at: DateTime<Utc>,
    pub checklist: Vec<String>,
    pub note: String,
    pub customer_signed: bool,
}

/// One move on the board: who, when, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    /// `None` for the creation.
    pub from: Option<Status>,
    pub to: Status,
    pub at: DateTime<Utc>,
    pub by: String,
    pub note: String,
    /// The work order's version after it.
    pub version: u64,
}

/// What a new work order starts from.
#[derive(Debug, Clone)]
pub struct Opening {
    pub work_order_no: String,
    pub request_no: String,
    pub branch: String,
    pub source: Source,
    pub source_ref: String,
    pub category: Category,
    pub kind: Option<RequestKind>,
    pub urgency: Option<Urgency>,
    pub customer: Customer,
    pub site: Site,
    pub product: Product,
    pub fault_description: String,
    pub planned_parts: Vec<PartUse>,
    pub follow_up_of: String,
    pub policy_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkOrder {
    pub work_order_no: String,
    /// Empty for INTERNAL jobs.
    pub request_no: String,
    pub branch: String,
    pub source: Source,
    pub source_ref: String,
    pub status: Status,
    pub category: Category,
    pub kind: Option<RequestKind>,
    pub urgency: Option<Urgency>,
    pub customer: Customer,
    pub site: Site,
    pub product: Product,
    pub fault_description: String,
    pub planned_parts: Vec<PartUse>,
    pub technician_id: String,
    pub technician_name: String,
    pub appointment: Option<Window>,
    /// The parts of the claim are on their way: the job cannot be visited before they arrive,
    /// and its arrival deadline starts with their delivery.
    pub awaiting_delivery: bool,
    pub called_at: Option<DateTime<Utc>>,
    pub arrival_due_at: Option<DateTime<Utc>>,
    pub arrived_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub sla_breached: bool,
    pub sla_breached_at: Option<DateTime<Utc>>,
    pub completion: Option<Completion>,
    /// Oldest first; the last one is the final inspection.
    pub inspections: Vec<Inspection>,
    /// The earlier work order this job repeats (external rework), set once.
    pub rework_of: String,
    pub internal_rework_count: u32,
    pub quotation: Option<Quotation>,
    pub changes: Vec<Change>,
    pub follow_up_of: String,
    pub status_since: DateTime<Utc>,
    pub status_note: String,
    pub history: Vec<StatusChange>,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    /// The policy version it was opened under.
    pub policy_version: String,
}

/// What booking an appointment changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    pub rescheduled: bool,
    /// The status change, when the status moved (a reschedule keeps SCHEDULED).
    pub change: Option<StatusChange>,
}

/// What an exit inspection changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    /// Failed: internal rework.
    pub internal_rework: bool,
    /// A failed inspection of a DONE job sends it back to IN_REPAIR.
    pub reopened: Option<StatusChange>,
}

impl WorkOrder {
    pub fn open(o: Opening, at: DateTime<Utc>, by: &str) -> WorkOrder {
        WorkOrder {
            work_order_no: o.work_order_no,
            request_no: o.request_no,
            branch: o.branch,
            source: o.source,
            source_ref: o.source_ref,
            status: Status::New,
            category: o.category,
            kind: o.kind,
            urgency: o.urgency,
            customer: o.customer,
            site: o.site,
            product: o.product,
            fault_description: o.fault_description,
            planned_parts: o.planned_parts,
            technician_id: String::new(),
            technician_name: String::new(),
            appointment: None,
            awaiting_delivery: false,
            called_at: None,
            arrival_due_at: None,
            arrived_at: None,
            completed_at: None,
            sla_breached: false,
            sla_breached_at: None,
            completion: None,
            inspections: vec![],
            rework_of: String::new(),
            internal_rework_count: 0,
            quotation: None,
            changes: vec![],
            follow_up_of: o.follow_up_of,
            status_since: at,
            status_note: String::new(),
            history: vec![StatusChange {
                from: None,
                to: Status::New,
                at,
                by: by.to_owned(),
                note: "opened".into(),
                version: 1,
            }],
            version: 1,
            created_at: at,
            policy_version: o.policy_version,
        }
    }

    /// The region deciding the arrival deadline: the site's, else the customer's.
    pub fn region(&self) -> Option<Region> {
        self.site.region.or(self.customer.region)
    }

    /// The unit's serial: as read on completion, else the request's.
    pub fn serial(&self) -> &str {
        match &self.completion {
            Some(c) if !c.serial.is_empty() => &c.serial,
            _ => &self.product.serial,
        }
    }

    /// Where the technician goes.
    pub fn site_address(&self) -> &str {
        if self.site.address.trim().is_empty() {
            &self.customer.address
        } else {
            &self.site.address
        }
    }

    /// Refuses a caller whose copy is older (`None`: the caller did not say).
    pub fn expect_version(&self, expected: Option<u64>) -> Result<(), Refusal> {
        match expected {
            Some(e) if e != self.version => Err(Refusal::Stale {
                expected: e,
                actual: self.version,
            }),
            _ => Ok(()),
        }
    }

    /// Whether the technician came on time (no deadline: yes).
    pub fn arrival_on_time(&self) -> bool {
        match (self.arrival_due_at, self.arrived_at) {
            (Some(due), Some(at)) => at <= due,
            _ => !self.sla_breached,
        }
    }

    /// What the customer authorized (PAID work with an approved quotation).
    pub fn authorized_minor(&self) -> Option<i64> {
        paid::authorized_minor(self.quotation.as_ref(), &self.changes)
    }

    fn bump(&mut self) {
        self.version += 1;
    }

    fn move_to(
        &mut self,
        to: Status,
        how: Move,
        by: &str,
        at: DateTime<Utc>,
        note: &str,
    ) -> Result<StatusChange, Refusal> {
        status::check(self.status, to, how, self.arrived_at.is_some())?;
        self.bump();
        let change = StatusChange {
            from: Some(self.status),
            to,
            at,
            by: by.to_owned(),
            note: note.to_owned(),
            version: self.version,
        };
        self.status = to;
        self.status_since = at;
        self.status_note = note.to_owned();
        self.history.push(change.clone());
        Ok(change)
    }

    /// Starts the arrival deadline: the job became actionable at `called_at`.
    pub fn call(&mut self, called_at: DateTime<Utc>, due: DateTime<Utc>) {
        self.called_at = Some(called_at);
        self.arrival_due_at = Some(due);
    }

    /// A new job whose parts are on their way waits for them; its deadline starts on delivery.
    pub fn await_parts(&mut self, at: DateTime<Utc>, note: &str) -> Result<StatusChange, Refusal> {
        let change = self.move_to(Status::WaitingParts, Move::AwaitParts, "system", at, note)?;
        self.awaiting_delivery = true;
        self.called_at = None;
        self.arrival_due_at = None;
        Ok(change)
    }

    /// The parts arrived: the job is actionable from `at` (NEW, or SCHEDULED when an
    /// appointment was booked meanwhile). `None` when it was not waiting for them (a late or
    /// repeated delivery).
    pub fn parts_delivered(
        &mut self,
        at: DateTime<Utc>,
        due: Option<DateTime<Utc>>,
        note: &str,
    ) -> Result<Option<StatusChange>, Refusal> {
        if !self.awaiting_delivery || self.status != Status::WaitingParts {
            return Ok(None);
        }
        let to = if self.appointment.is_some() {
            Status::Scheduled
        } else {
            Status::New
        };
        let change = self.move_to(to, Move::PartsDelivered, "system", at, note)?;
        self.awaiting_delivery = false;
        self.called_at = Some(at);
        self.arrival_due_at = due;
        Ok(Some(change))
    }

    /// Books (or moves) the appointment.
    pub fn schedule(
        &mut self,
        technician_id: &str,
        technician_name: &str,
        window: Window,
        by: &str,
        at: DateTime<Utc>,
        note: &str,
    ) -> Result<Scheduled, Refusal> {
        let to = if self.awaiting_delivery {
            Status::WaitingParts
        } else {
            Status::Scheduled
        };
        status::check(self.status, to, Move::Schedule, self.arrived_at.is_some())?;
        let rescheduled = self.appointment.is_some();
        let change = if self.status == to {
            self.bump();
            None
        } else {
            let why = if note.is_empty() {
                format!("appointment with {technician_id}")
            } else {
                note.to_owned()
            };
            Some(self.move_to(to, Move::Schedule, by, at, &why)?)
        };
        self.technician_id = technician_id.to_owned();
        self.technician_name = technician_name.to_owned();
        self.appointment = Some(window);
        Ok(Scheduled {
            rescheduled,
            change,
        })
    }

    pub fn dispatch(&mut self, by: &str, at: DateTime<Utc>) -> Result<StatusChange, Refusal> {
        self.move_to(Status::EnRoute, Move::Dispatch, by, at, "on the way")
    }

    /// A move on the board. Arriving on site stamps the arrival; a PAID job enters repair only
    /// once the customer authorized it. Returns the change and whether arriving now broke the
    /// deadline (announced once).
    pub fn board(
        &mut self,
        to: Status,
        by: &str,
        at: DateTime<Utc>,
        note: &str,
    ) -> Result<(StatusChange, bool), Refusal> {
        if to == Status::InRepair
            && self.category == Category::Paid
            && self.authorized_minor().is_none()
        {
            return Err(Refusal::state(
                "PAID work starts only once the customer approved the quotation (SubmitQuotation, ApproveQuotation)",
            ));
        }
        let change = self.move_to(to, Move::Board, by, at, note)?;
        let mut late = false;
        if to == Status::OnSite && self.arrived_at.is_none() {
            self.arrived_at = Some(at);
            if let Some(due) = self.arrival_due_at
                && at > due
                && !self.sla_breached
            {
                self.sla_breached = true;
                self.sla_breached_at = Some(at);
                late = true;
            }
        }
        Ok((change, late))
    }

    /// The arrival deadline was re-derived (the calendar or the policy changed, a delivery was
    /// handled late): it is `due` now (none while the job waits for its parts). A breach recorded
    /// before that no longer `holds` is withdrawn: true. Nothing changes once someone is on site
    /// or the job is closed. The version stays, as for [`WorkOrder::breach`].
    pub fn rederive_arrival(&mut self, due: Option<DateTime<Utc>>, holds: bool) -> bool {
        if self.arrived_at.is_some() || !self.status.is_open() {
            return false;
        }
        self.arrival_due_at = due;
        if self.sla_breached && !holds {
            self.sla_breached = false;
            self.sla_breached_at = None;
            return true;
        }
        false
    }

    /// The arrival deadline passed with nobody on site: recorded once. False when there is
    /// nothing to record (arrived, no deadline, already recorded, closed). The version stays:
    /// the mark moves no card, and a person moving it meanwhile must not be refused as stale.
    pub fn breach(&mut self, now: DateTime<Utc>) -> bool {
        let passed = self.arrival_due_at.is_some_and(|due| now > due);
        if !passed || self.sla_breached || self.arrived_at.is_some() || !self.status.is_open() {
            return false;
        }
        self.sla_breached = true;
        self.sla_breached_at = Some(now);
        true
    }

    fn paid_and_open(&self, what: &str) -> Result<(), Refusal> {
        if self.category != Category::Paid {
            return Err(Refusal::state(format!(
                "only PAID work has {what}; this job is {}",
                self.category.as_str().to_uppercase()
            )));
        }
        if !self.status.is_open() {
            return Err(Refusal::state(format!(
                "the work order is {}",
                self.status.as_str()
            )));
        }
        Ok(())
    }

    pub fn quote(&mut self, q: Quotation) -> Result<(), Refusal> {
        self.paid_and_open("a quotation")?;
        if self
            .quotation
            .as_ref()
            .is_some_and(|q| q.status == Answer::Approved)
        {
            return Err(Refusal::state(
                "the quotation is approved: propose a change instead (ProposeChange)",
            ));
        }
        self.quotation = Some(q);
        self.bump();
        Ok(())
    }

    pub fn answer_quotation(
        &mut self,
        approved: bool,
        customer: &str,
        at: DateTime<Utc>,
        note: &str,
    ) -> Result<(), Refusal> {
        self.paid_and_open("a quotation")?;
        let Some(q) = self.quotation.as_mut() else {
            return Err(Refusal::state("there is no quotation to answer"));
        };
        if q.status != Answer::Pending {
            return Err(Refusal::state("the quotation was answered already"));
        }
        q.status = if approved {
            Answer::Approved
        } else {
            Answer::Rejected
        };
        q.decided_by = customer.to_owned();
        q.decided_at = Some(at);
        q.note = note.to_owned();
        self.bump();
        Ok(())
    }

    pub fn propose_change(&mut self, change: Change) -> Result<(), Refusal> {
        self.paid_and_open("changes")?;
        let Some(q) = self
            .quotation
            .as_ref()
            .filter(|q| q.status == Answer::Approved)
        else {
            return Err(Refusal::state(
                "changes follow an approved quotation; submit or answer the quotation first",
            ));
        };
        paid::check_removal(q, &self.changes, &change.removed)?;
        self.changes.push(change);
        self.bump();
        Ok(())
    }

    pub fn decide_change(
        &mut self,
        change_id: &str,
        approved: bool,
        customer: &str,
        at: DateTime<Utc>,
        note: &str,
    ) -> Result<(), Refusal> {
        self.paid_and_open("changes")?;
        let Some(c) = self.changes.iter_mut().find(|c| c.change_id == change_id) else {
            return Err(Refusal::field(
                "change_id",
                format!("no change {change_id} on this work order"),
            ));
        };
        if c.status != Answer::Pending {
            return Err(Refusal::state(format!(
                "change {change_id} was answered already"
            )));
        }
        c.status = if approved {
            Answer::Approved
        } else {
            Answer::Rejected
        };
        c.decided_by = customer.to_owned();
        c.decided_at = Some(at);
        c.note = note.to_owned();
        self.bump();
        Ok(())
    }

    /// Records the exit inspection (of a repair in IN_REPAIR, or of a DONE job).
    pub fn inspect(&mut self, i: Inspection, by: &str) -> Result<Inspected, Refusal> {
        if !matches!(self.status, Status::InRepair | Status::Done) {
            return Err(Refusal::state(format!(
                "an exit inspection needs the job IN_REPAIR or DONE; it is {}",
                self.status.as_str()
            )));
        }
        let passed = i.passed;
        let at = i.inspected_at;
        let note = if i.note.is_empty() {
            "exit inspection failed".to_owned()
        } else {
            format!("exit inspection failed: {}", i.note)
        };
        self.inspections.push(i);
        if passed {
            self.bump();
            return Ok(Inspected {
                internal_rework: false,
                reopened: None,
            });
        }
        self.internal_rework_count += 1;
        let reopened = if self.status == Status::Done {
            let change = self.move_to(Status::InRepair, Move::Reopen, by, at, &note)?;
            self.completed_at = None;
            Some(change)
        } else {
            self.bump();
            None
        };
        Ok(Inspected {
            internal_rework: true,
            reopened,
        })
    }

    /// Whether the last exit inspection passed (none: no).
    pub fn inspection_passed(&self) -> bool {
        self.inspections.last().is_some_and(|i| i.passed)
    }

    pub fn complete(
        &mut self,
        c: Completion,
        requires_inspection: bool,
        at: DateTime<Utc>,
    ) -> Result<StatusChange, Refusal> {
        status::check(
            self.status,
            Status::Done,
            Move::Complete,
            self.arrived_at.is_some(),
        )?;
        if requires_inspection && !self.inspection_passed() {
            return Err(Refusal::state(
                "the exit inspection has not passed yet (RecordFinalInspection)",
            ));
        }
        if let Some(p) = self.changes.iter().find(|c| c.status == Answer::Pending) {
            return Err(Refusal::state(format!(
                "change {} waits for the customer's answer",
                p.change_id
            )));
        }
        let by = c.completed_by.clone();
        let note = if c.resolution.is_empty() {
            "completed".to_owned()
        } else {
            c.resolution.clone()
        };
        let change = self.move_to(Status::Done, Move::Complete, &by, at, &note)?;
        self.completion = Some(c);
        self.completed_at = Some(at);
        Ok(change)
    }

    /// The request was cancelled: an open job ends CANCELLED and gives up its appointment.
    /// `None` when it was closed already (nothing to do).
    pub fn cancel(&mut self, at: DateTime<Utc>, note: &str) -> Option<StatusChange> {
        if !self.status.is_open() {
            return None;
        }
        let change = self
            .move_to(Status::Cancelled, Move::Cancel, "system", at, note)
            .ok()?;
        self.appointment = None;
        self.awaiting_delivery = false;
        Some(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    fn opening(category: Category) -> Opening {
        Opening {
            work_order_no: "WO-2611-SH01-000001".into(),
            request_no: "AS-2611-SH01-000001".into(),
            branch: "SH01".into(),
            source: Source::Claim,
            source_ref: "AS-2611-SH01-000001".into(),
            category,
            kind: Some(RequestKind::Installation),
            urgency: Some(Urgency::Normal),
            customer: Customer::default(),
            site: Site {
                region: Some(Region::Urban),
                ..Site::default()
            },
            product: Product::default(),
            fault_description: String::new(),
            planned_parts: vec![],
            follow_up_of: String::new(),
            policy_version: "v".into(),
        }
    }

    fn window(at: DateTime<Utc>) -> Window {
        Window {
            from: at,
            to: at + Duration::hours(2),
        }
    }

    fn inspection(passed: bool, at: DateTime<Utc>) -> Inspection {
        Inspection {
            passed,
            inspected_by: "sup".into(),
            inspected_at: at,
            checklist: vec!["powers on".into()],
            note: String::new(),
            customer_signed: passed,
        }
    }

    fn completion() -> Completion {
        Completion {
            parts_used: vec![],
            labour_minutes: 30,
            charge_minor: 0,
            currency: "CNY".into(),
            old_parts: vec![],
            serial: "SN1".into(),
            resolution: "fixed".into(),
            completed_by: "T-1".into(),
        }
    }

    #[test]
    fn a_job_waiting_for_parts_is_scheduled_meanwhile_and_becomes_scheduled_on_delivery() {
        let t0 = Utc::now();
        let mut wo = WorkOrder::open(opening(Category::Free), t0, "system");
        wo.await_parts(t0, "parts on their way").unwrap();
        assert_eq!(wo.arrival_due_at, None);
        let s = wo.schedule("T-1", "Wang", window(t0), "d", t0, "").unwrap();
        assert_eq!(wo.status, Status::WaitingParts);
        assert!(s.change.is_none() && !s.rescheduled);
        let due = t0 + Duration::hours(6);
        let c = wo
            .parts_delivered(t0, Some(due), "delivered")
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.from, c.to),
            (Some(Status::WaitingParts), Status::Scheduled)
        );
        assert_eq!(wo.arrival_due_at, Some(due));
        assert_eq!(wo.parts_delivered(t0, Some(due), "again").unwrap(), None);
    }

    #[test]
    fn arriving_late_records_the_breach_once_and_on_time_never() {
        let t0 = Utc::now();
        let mut wo = WorkOrder::open(opening(Category::Free), t0, "system");
        wo.call(t0, t0 + Duration::hours(6));
        wo.schedule("T-1", "Wang", window(t0), "d", t0, "").unwrap();
        wo.dispatch("T-1", t0).unwrap();
        let (_, late) = wo
            .board(Status::OnSite, "T-1", t0 + Duration::hours(7), "")
            .unwrap();
        assert!(late && wo.sla_breached);
        assert!(!wo.breach(t0 + Duration::hours(8)), "once");

        let mut on_time = WorkOrder::open(opening(Category::Free), t0, "system");
        on_time.call(t0, t0 + Duration::hours(6));
        on_time
            .schedule("T-1", "Wang", window(t0), "d", t0, "")
            .unwrap();
        on_time.dispatch("T-1", t0).unwrap();
        let (_, late) = on_time
            .board(Status::OnSite, "T-1", t0 + Duration::hours(5), "")
            .unwrap();
        assert!(!late);
        assert!(!on_time.breach(t0 + Duration::hours(9)), "arrived in time");
        assert!(on_time.arrival_on_time());
    }

    #[test]
    fn paid_work_needs_an_approved_quotation_before_repair() {
        let t0 = Utc::now();
        let mut wo = WorkOrder::open(opening(Category::Paid), t0, "system");
        wo.call(t0, t0 + Duration::hours(6));
        wo.schedule("T-1", "Wang", window(t0), "d", t0, "").unwrap();
        wo.dispatch("T-1", t0).unwrap();
        wo.board(Status::OnSite, "T-1", t0, "").unwrap();
        assert!(wo.board(Status::InRepair, "T-1", t0, "").is_err());
        let q = Quotation {
            items: vec![],
            currency: "CNY".into(),
            status: Answer::Pending,
            quoted_by: "T-1".into(),
            quoted_at: t0,
            decided_by: String::new(),
            decided_at: None,
            note: String::new(),
            fee_table_version: "v".into(),
        };
        wo.quote(q).unwrap();
        wo.answer_quotation(true, "Li Wei", t0, "").unwrap();
        assert!(wo.board(Status::InRepair, "T-1", t0, "").is_ok());
        assert_eq!(wo.authorized_minor(), Some(0));
    }

    #[test]
    fn a_failed_inspection_is_internal_rework_and_reopens_a_done_job() {
        let t0 = Utc::now();
        let mut wo = WorkOrder::open(opening(Category::Free), t0, "system");
        wo.call(t0, t0 + Duration::hours(6));
        wo.schedule("T-1", "Wang", window(t0), "d", t0, "").unwrap();
        wo.dispatch("T-1", t0).unwrap();
        wo.board(Status::OnSite, "T-1", t0, "").unwrap();
        wo.board(Status::InRepair, "T-1", t0, "").unwrap();
        assert!(
            wo.complete(completion(), true, t0).is_err(),
            "no inspection yet"
        );
        let i = wo.inspect(inspection(false, t0), "sup").unwrap();
        assert!(i.internal_rework && i.reopened.is_none());
        wo.inspect(inspection(true, t0), "sup").unwrap();
        wo.complete(completion(), true, t0).unwrap();
        assert_eq!(wo.status, Status::Done);
        let i = wo.inspect(inspection(false, t0), "customer").unwrap();
        assert_eq!(i.reopened.unwrap().to, Status::InRepair);
        assert_eq!(wo.internal_rework_count, 2);
        assert_eq!(wo.completed_at, None);
    }

    proptest! {
        #[test]
        fn every_change_bumps_the_version_once_and_the_history_follows_the_status(
            steps in proptest::collection::vec(0u8..8, 1..40)
        ) {
            let t0 = Utc::now();
            let mut wo = WorkOrder::open(opening(Category::Free), t0, "system");
            wo.call(t0, t0 + Duration::hours(6));
            for s in steps {
                let before = wo.version;
                let ok = match s {
                    0 => wo.schedule("T-1", "W", window(t0), "d", t0, "").is_ok(),
                    1 => wo.dispatch("T-1", t0).is_ok(),
                    2 => wo.board(Status::OnSite, "T-1", t0, "").is_ok(),
                    3 => wo.board(Status::InRepair, "T-1", t0, "").is_ok(),
                    4 => wo.board(Status::Stopped, "T-1", t0, "absent").is_ok(),
                    5 => wo.inspect(inspection(true, t0), "sup").is_ok(),
                    6 => wo.complete(completion(), true, t0).is_ok(),
                    _ => wo.cancel(t0, "cancelled").is_some(),
                };
                prop_assert_eq!(wo.version, if ok { before + 1 } else { before });
                let last = wo.history.last().unwrap();
                prop_assert_eq!(last.to, wo.status);
            }
            if wo.status == Status::Cancelled {
                prop_assert!(wo.appointment.is_none());
            }
        }
    }
}
