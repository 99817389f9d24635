//! The return visit: due N working days (policy) after what made it due — a completed work order,
//! a delivery with no on-site work, an authorized refund — one per such job, never sampled. Its
//! status machine: DUE → (calls) ATTEMPTED … → DONE when the survey is recorded, or
//! CLOSED_UNREACHED after the policy's attempts or a refusal; CANCELLED when the request is. DONE,
//! CLOSED_UNREACHED and CANCELLED are final.

use std::fmt;

use aftersales_platform::calendar::Calendar;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// What made the visit due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VisitSource {
    WorkOrderCompleted,
    ShipmentDelivered,
    RefundAuthorized,
}

impl VisitSource {
    pub fn as_str(self) -> &'static str {
        match self {
            VisitSource::WorkOrderCompleted => "work_order_completed",
            VisitSource::ShipmentDelivered => "shipment_delivered",
            VisitSource::RefundAuthorized => "refund_authorized",
        }
    }

    pub fn parse(s: &str) -> Option<VisitSource> {
        [
            VisitSource::WorkOrderCompleted,
            VisitSource::ShipmentDelivered,
            VisitSource::RefundAuthorized,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// A technician came: arrival time and technical skill can be rated.
    pub fn had_technician(self) -> bool {
        self == VisitSource::WorkOrderCompleted
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VisitStatus {
    Due,
    Attempted,
    Done,
    ClosedUnreached,
    Cancelled,
}

impl VisitStatus {
    pub const ALL: [VisitStatus; 5] = [
        VisitStatus::Due,
        VisitStatus::Attempted,
        VisitStatus::Done,
        VisitStatus::ClosedUnreached,
        VisitStatus::Cancelled,
    ];
    /// The statuses of a visit somebody still has to make.
    pub const OPEN: [VisitStatus; 2] = [VisitStatus::Due, VisitStatus::Attempted];

    pub fn as_str(self) -> &'static str {
        match self {
            VisitStatus::Due => "due",
            VisitStatus::Attempted => "attempted",
            VisitStatus::Done => "done",
            VisitStatus::ClosedUnreached => "closed_unreached",
            VisitStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<VisitStatus> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }
}

impl fmt::Display for VisitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one call or visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Reached: the survey follows.
    Reached,
    NoAnswer,
    WrongNumber,
    Refused,
    /// The customer asked to be called at another time.
    CallBack,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Reached,
        Outcome::NoAnswer,
        Outcome::WrongNumber,
        Outcome::Refused,
        Outcome::CallBack,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Reached => "reached",
            Outcome::NoAnswer => "no_answer",
            Outcome::WrongNumber => "wrong_number",
            Outcome::Refused => "refused",
            Outcome::CallBack => "call_back",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// The customer as intake recorded them (for the agent who calls).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Customer {
    pub name: String,
    pub phone: String,
    pub address: String,
    /// `urban`, `suburban`, `remote` or empty.
    pub region: String,
    pub email: String,
}

/// What made a visit due, as the event said it.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    pub source: VisitSource,
    pub request_no: String,
    pub branch: String,
    /// When the job was completed / delivered / refunded.
    pub at: DateTime<Utc>,
    pub work_order_no: String,
    pub shipment_no: String,
    pub refund_id: String,
    pub technician_id: String,
    pub product_model: String,
    pub serial: String,
    pub part_nos: Vec<String>,
    pub customer: Option<Customer>,
}

impl Trigger {
    /// One visit per job: the same job announced twice (a replay under a new event id) makes no
    /// second visit.
    pub fn key(&self) -> String {
        match self.source {
            VisitSource::WorkOrderCompleted => format!("work_order:{}", self.work_order_no),
            VisitSource::ShipmentDelivered => format!("shipment:{}", self.shipment_no),
            VisitSource::RefundAuthorized => format!("refund:{}", self.refund_id),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    pub visit_id: String,
    pub request_no: String,
    pub branch: String,
    pub source: VisitSource,
    pub status: VisitStatus,
    pub due_at: DateTime<Utc>,
    /// The local date of `due_at`.
    pub due_date: NaiveDate,
    pub work_order_no: String,
    pub shipment_no: String,
    pub refund_id: String,
    pub technician_id: String,
    pub product_model: String,
    pub serial: String,
    pub part_nos: Vec<String>,
    pub customer: Option<Customer>,
    pub attempts: u32,
    pub last_outcome: Option<Outcome>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub call_back_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
    pub note: String,
    pub survey_id: String,
    pub created_at: DateTime<Utc>,
}

/// Why a visit cannot take what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotOpen(pub VisitStatus);

impl fmt::Display for NotOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the visit is {}; only a due or attempted visit can take a call or a survey",
            self.0
        )
    }
}

/// When a visit made due at `at` is due: `days` working days later.
pub fn due_at(calendar: &Calendar, at: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    calendar.add_working_days(at, days)
}

impl Visit {
    /// A new visit for `trigger`, due `days` working days after the job.
    pub fn schedule(
        visit_id: String,
        trigger: &Trigger,
        calendar: &Calendar,
        offset: FixedOffset,
        days: u32,
        now: DateTime<Utc>,
    ) -> Visit {
        let due = due_at(calendar, trigger.at, days);
        Visit {
            visit_id,
            request_no: trigger.request_no.clone(),
            branch: trigger.branch.clone(),
            source: trigger.source,
            status: VisitStatus::Due,
            due_at: due,
            due_date: due.with_timezone(&offset).date_naive(),
            work_order_no: trigger.work_order_no.clone(),
            shipment_no: trigger.shipment_no.clone(),
            refund_id: trigger.refund_id.clone(),
            technician_id: trigger.technician_id.clone(),
            product_model: trigger.product_model.clone(),
            serial: trigger.serial.clone(),
            part_nos: trigger.part_nos.clone(),
            customer: trigger.customer.clone(),
            attempts: 0,
            last_outcome: None,
            last_attempt_at: None,
            call_back_at: None,
            done_at: None,
            note: String::new(),
            survey_id: String::new(),
            created_at: now,
        }
    }

    /// Still open after its due instant.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status.is_open() && now > self.due_at
    }

    /// A call or visit. Reaching the customer keeps the visit open for its survey; a call that
    /// did not reach them counts towards `max_attempts`, after which the visit is closed
    /// unreached (a customer who asked to be called back is not given up on); a refusal closes
    /// it at once.
    pub fn record(
        &mut self,
        outcome: Outcome,
        note: String,
        call_back_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<(), NotOpen> {
        if !self.status.is_open() {
            return Err(NotOpen(self.status));
        }
        self.attempts += 1;
        self.last_outcome = Some(outcome);
        self.last_attempt_at = Some(at);
        self.call_back_at = call_back_at.filter(|_| outcome == Outcome::CallBack);
        if !note.is_empty() {
            self.note = note;
        }
        self.status = match outcome {
            Outcome::Reached => self.status,
            Outcome::Refused => VisitStatus::ClosedUnreached,
            Outcome::CallBack => VisitStatus::Attempted,
            Outcome::NoAnswer | Outcome::WrongNumber if self.attempts >= max_attempts => {
                VisitStatus::ClosedUnreached
            }
            Outcome::NoAnswer | Outcome::WrongNumber => VisitStatus::Attempted,
        };
        Ok(())
    }

    /// The survey was recorded: the visit is done.
    pub fn complete(&mut self, survey_id: &str, at: DateTime<Utc>) -> Result<(), NotOpen> {
        if !self.status.is_open() {
            return Err(NotOpen(self.status));
        }
        self.status = VisitStatus::Done;
        self.survey_id = survey_id.to_owned();
        self.done_at = Some(at);
        Ok(())
    }

    /// The request was cancelled: an open visit is called off. Whether it changed.
    pub fn cancel(&mut self) -> bool {
        if !self.status.is_open() {
            return false;
        }
        self.status = VisitStatus::Cancelled;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(y, m, d, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn trigger() -> Trigger {
        Trigger {
            source: VisitSource::WorkOrderCompleted,
            request_no: "AS-2611-SH01-000001".into(),
            branch: "SH01".into(),
            at: at(2026, 11, 20, 17),
            work_order_no: "WO-1".into(),
            shipment_no: String::new(),
            refund_id: String::new(),
            technician_id: "tech-1".into(),
            product_model: "X55".into(),
            serial: "SN1".into(),
            part_nos: vec!["PWR-55-01".into()],
            customer: None,
        }
    }

    fn visit() -> Visit {
        let cal = Calendar::standard(480);
        let offset = FixedOffset::east_opt(8 * 3600).unwrap();
        Visit::schedule(
            "V-1".into(),
            &trigger(),
            &cal,
            offset,
            3,
            at(2026, 11, 20, 17),
        )
    }

    #[test]
    fn a_job_completed_on_friday_afternoon_is_visited_by_wednesday_afternoon() {
        let v = visit();
        assert_eq!(v.due_at, at(2026, 11, 25, 17));
        assert_eq!(v.due_date, NaiveDate::from_ymd_opt(2026, 11, 25).unwrap());
        assert!(!v.is_overdue(at(2026, 11, 25, 17)));
        assert!(v.is_overdue(at(2026, 11, 25, 18)));
    }

    #[test]
    fn three_unanswered_calls_close_the_visit_and_a_refusal_closes_it_at_once() {
        let mut v = visit();
        let t = at(2026, 11, 23, 10);
        v.record(Outcome::NoAnswer, String::new(), None, t, 3)
            .unwrap();
        assert_eq!(v.status, VisitStatus::Attempted);
        v.record(Outcome::CallBack, "after 6pm".into(), Some(t), t, 3)
            .unwrap();
        assert_eq!(v.call_back_at, Some(t));
        v.record(Outcome::NoAnswer, String::new(), None, t, 3)
            .unwrap();
        assert_eq!(v.status, VisitStatus::ClosedUnreached);
        assert_eq!(v.note, "after 6pm");
        assert!(
            v.record(Outcome::Reached, String::new(), None, t, 3)
                .is_err()
        );

        let mut w = visit();
        w.record(Outcome::Refused, String::new(), None, t, 3)
            .unwrap();
        assert_eq!(w.status, VisitStatus::ClosedUnreached);
    }

    #[test]
    fn a_reached_customer_keeps_the_visit_open_for_the_survey() {
        let mut v = visit();
        let t = at(2026, 11, 23, 10);
        v.record(Outcome::Reached, String::new(), None, t, 1)
            .unwrap();
        assert_eq!(v.status, VisitStatus::Due);
        v.complete("S-1", t).unwrap();
        assert_eq!(v.status, VisitStatus::Done);
        assert!(!v.cancel(), "a done visit stays done");
    }

    #[test]
    fn the_same_job_has_one_key() {
        let t = trigger();
        assert_eq!(t.key(), "work_order:WO-1");
        let mut u = t.clone();
        u.at = at(2026, 11, 21, 9);
        assert_eq!(u.key(), t.key());
    }

    proptest! {
        #[test]
        fn a_final_visit_never_reopens_and_an_unanswered_call_past_the_limit_closes_it(
            steps in proptest::collection::vec(0usize..7, 0..14),
            max in 1u32..5,
        ) {
            let mut v = visit();
            let t = at(2026, 11, 23, 10);
            let mut final_seen: Option<VisitStatus> = None;
            for step in steps {
                let before = v.status;
                match step {
                    5 => { v.cancel(); }
                    6 => { let _ = v.complete("S", t); }
                    o => {
                        let r = v.record(Outcome::ALL[o], String::new(), None, t, max);
                        prop_assert_eq!(r.is_ok(), before.is_open());
                        let unanswered = matches!(Outcome::ALL[o], Outcome::NoAnswer | Outcome::WrongNumber);
                        if r.is_ok() && unanswered {
                            prop_assert_eq!(v.status.is_open(), v.attempts < max);
                        }
                    }
                }
                if let Some(f) = final_seen {
                    prop_assert_eq!(v.status, f, "a final status stays");
                } else if !v.status.is_open() {
                    final_seen = Some(v.status);
                }
                prop_assert_eq!(v.status == VisitStatus::Done, v.survey_id == "S");
            }
        }
    }
}
