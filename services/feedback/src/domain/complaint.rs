//! Complaints: from any validated source, with a severity; routed to a department by category;
//! a SERIOUS one escalates at once to the policy's level (the deputy general manager), the others
//! escalate one level when their response deadline (working hours per severity) passes
//! unresolved — once; the result is reported back to the customer and recorded.
//!
//! Escalation levels are the policy's list, lowest first; level 0 is the department the category
//! routes to.

use std::fmt;

use aftersales_platform::calendar::Calendar;
use chrono::{DateTime, Utc};

use super::visit::Customer;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    ProductQuality,
    PackagingTransportDamage,
    StaffConduct,
    Other,
    DealerConduct,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Department {
    QualityRnd,
    WarehouseLogistics,
    ServiceManagement,
    CustomerService,
    ChannelManagement,
}

/// Who handles a complaint of each category (the department's procedure).
pub fn route(category: Category) -> Department {
    match category {
        Category::ProductQuality => Department::QualityRnd,
        Category::PackagingTransportDamage => Department::WarehouseLogistics,
        Category::StaffConduct => Department::ServiceManagement,
        Category::DealerConduct => Department::ChannelManagement,
        Category::Other => Department::CustomerService,
    }
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::ProductQuality,
        Category::PackagingTransportDamage,
        Category::StaffConduct,
        Category::Other,
        Category::DealerConduct,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::ProductQuality => "product_quality",
            Category::PackagingTransportDamage => "packaging_transport_damage",
            Category::StaffConduct => "staff_conduct",
            Category::Other => "other",
            Category::DealerConduct => "dealer_conduct",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl Department {
    pub const ALL: [Department; 5] = [
        Department::QualityRnd,
        Department::WarehouseLogistics,
        Department::ServiceManagement,
        Department::CustomerService,
        Department::ChannelManagement,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Department::QualityRnd => "quality_rnd",
            Department::WarehouseLogistics => "warehouse_logistics",
            Department::ServiceManagement => "service_management",
            Department::CustomerService => "customer_service",
            Department::ChannelManagement => "channel_management",
        }
    }

    pub fn parse(s: &str) -> Option<Department> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Minor,
    Major,
    Serious,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Minor, Severity::Major, Severity::Serious];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Minor => "minor",
            Severity::Major => "major",
            Severity::Serious => "serious",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComplaintStatus {
    Open,
    Escalated,
    Resolved,
}

impl ComplaintStatus {
    pub const ALL: [ComplaintStatus; 3] = [
        ComplaintStatus::Open,
        ComplaintStatus::Escalated,
        ComplaintStatus::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ComplaintStatus::Open => "open",
            ComplaintStatus::Escalated => "escalated",
            ComplaintStatus::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<ComplaintStatus> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for ComplaintStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The escalation ladder and the response deadlines (policy data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ladder {
    /// Level names, lowest first; level 0 is the routed department.
    pub levels: Vec<String>,
    /// Where a SERIOUS complaint goes at once.
    pub serious_level: u32,
    /// Working hours to respond, per severity.
    pub minor_hours: u32,
    pub major_hours: u32,
    pub serious_hours: u32,
}

impl Ladder {
    pub fn top(&self) -> u32 {
        self.levels.len().saturating_sub(1) as u32
    }

    /// Who handles a complaint at `level` by default: its department at level 0, the level's
    /// name above.
    pub fn assignee(&self, level: u32, department: Department) -> String {
        if level == 0 {
            return department.as_str().to_owned();
        }
        self.levels
            .get(level as usize)
            .cloned()
            .unwrap_or_else(|| format!("level_{level}"))
    }

    pub fn response_hours(&self, severity: Severity) -> u32 {
        match severity {
            Severity::Minor => self.minor_hours,
            Severity::Major => self.major_hours,
            Severity::Serious => self.serious_hours,
        }
    }

    /// The response deadline of a complaint opened at `at`.
    pub fn respond_by(
        &self,
        calendar: &Calendar,
        at: DateTime<Utc>,
        severity: Severity,
    ) -> DateTime<Utc> {
        calendar.add_working_hours(at, self.response_hours(severity))
    }
}

/// What a new complaint says.
#[derive(Debug, Clone, PartialEq)]
pub struct NewComplaint {
    pub request_no: String,
    pub branch: String,
    pub category: Category,
    pub severity: Severity,
    pub description: String,
    pub customer: Option<Customer>,
    pub technician_id: String,
    pub source: String,
    pub survey_id: String,
    pub serial: String,
    pub product_model: String,
    pub part_nos: Vec<String>,
    pub opened_by: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Complaint {
    pub complaint_id: String,
    pub request_no: String,
    pub branch: String,
    pub category: Category,
    pub routed_to: Department,
    pub severity: Severity,
    pub status: ComplaintStatus,
    pub description: String,
    pub customer: Option<Customer>,
    pub escalation_level: u32,
    pub assignee: String,
    pub technician_id: String,
    pub source: String,
    pub survey_id: String,
    pub serial: String,
    pub product_model: String,
    pub part_nos: Vec<String>,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub respond_by: DateTime<Utc>,
    pub escalated_at: Option<DateTime<Utc>>,
    /// Set when the response deadline passed unresolved and escalated it (once).
    pub deadline_escalated_at: Option<DateTime<Utc>>,
    pub resolution: String,
    pub reported_via: String,
    pub resolved_by: String,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// One step up the ladder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub from_level: u32,
    pub to_level: u32,
    pub assignee: String,
    pub reason: String,
    /// Because of its severity at opening.
    pub automatic: bool,
    /// Because its response deadline passed.
    pub deadline_passed: bool,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// Why a complaint cannot take what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Resolved,
    AtTop(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Resolved => f.write_str("the complaint is resolved"),
            Refusal::AtTop(name) => write!(
                f,
                "the complaint is at the highest level ({name}); it cannot go higher"
            ),
        }
    }
}

impl Complaint {
    /// Opens a complaint, routed by its category; a SERIOUS one is escalated at once (the
    /// escalation is returned, to be announced with the opening).
    pub fn open(
        id: String,
        new: NewComplaint,
        ladder: &Ladder,
        calendar: &Calendar,
        now: DateTime<Utc>,
    ) -> (Complaint, Option<Escalation>) {
        let routed_to = route(new.category);
        let mut c = Complaint {
            complaint_id: id,
            request_no: new.request_no,
            branch: new.branch,
            category: new.category,
            routed_to,
            severity: new.severity,
            status: ComplaintStatus::Open,
            description: new.description,
            customer: new.customer,
            escalation_level: 0,
            assignee: ladder.assignee(0, routed_to),
            technician_id: new.technician_id,
            source: new.source,
            survey_id: new.survey_id,
            serial: new.serial,
            product_model: new.product_model,
            part_nos: new.part_nos,
            opened_by: new.opened_by,
            opened_at: now,
            respond_by: ladder.respond_by(calendar, now, new.severity),
            escalated_at: None,
            deadline_escalated_at: None,
            resolution: String::new(),
            reported_via: String::new(),
            resolved_by: String::new(),
            resolved_at: None,
        };
        let escalation = (c.severity == Severity::Serious).then(|| {
            let to = ladder.serious_level.min(ladder.top());
            c.climb(
                to,
                ladder.assignee(to, routed_to),
                "serious complaint: escalated at once".into(),
                true,
                false,
                "system",
                now,
            )
        });
        (c, escalation)
    }

    #[allow(clippy::too_many_arguments)]
    fn climb(
        &mut self,
        to: u32,
        assignee: String,
        reason: String,
        automatic: bool,
        deadline_passed: bool,
        by: &str,
        at: DateTime<Utc>,
    ) -> Escalation {
        let e = Escalation {
            from_level: self.escalation_level,
            to_level: to,
            assignee: assignee.clone(),
            reason,
            automatic,
            deadline_passed,
            by: by.to_owned(),
            at,
        };
        self.escalation_level = to;
        self.assignee = assignee;
        self.status = ComplaintStatus::Escalated;
        self.escalated_at = Some(at);
        e
    }

    /// A person moves it one level up (to `assignee`, or the level's default handler).
    pub fn escalate(
        &mut self,
        ladder: &Ladder,
        reason: String,
        assignee: Option<String>,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<Escalation, Refusal> {
        if self.status == ComplaintStatus::Resolved {
            return Err(Refusal::Resolved);
        }
        if self.escalation_level >= ladder.top() {
            return Err(Refusal::AtTop(
                ladder.assignee(ladder.top(), self.routed_to),
            ));
        }
        let to = self.escalation_level + 1;
        let assignee = assignee.unwrap_or_else(|| ladder.assignee(to, self.routed_to));
        Ok(self.climb(to, assignee, reason, false, false, by, at))
    }

    /// Whether the response deadline has passed unresolved and not been acted on yet: only
    /// MINOR and MAJOR complaints (a SERIOUS one was escalated at opening).
    pub fn deadline_lapsed(&self, now: DateTime<Utc>) -> bool {
        self.severity != Severity::Serious
            && self.status != ComplaintStatus::Resolved
            && self.deadline_escalated_at.is_none()
            && now >= self.respond_by
    }

    /// The response deadline passed unresolved: one level up, once. The lapse is recorded even
    /// when the complaint already stands at the top (then nothing is announced).
    pub fn escalate_for_deadline(
        &mut self,
        ladder: &Ladder,
        now: DateTime<Utc>,
    ) -> Option<Escalation> {
        if !self.deadline_lapsed(now) {
            return None;
        }
        self.deadline_escalated_at = Some(now);
        if self.escalation_level >= ladder.top() {
            return None;
        }
        let to = self.escalation_level + 1;
        Some(self.climb(
            to,
            ladder.assignee(to, self.routed_to),
            format!(
                "no response within {} working hours",
                ladder.response_hours(self.severity)
            ),
            true,
            true,
            "system",
            now,
        ))
    }

    /// Closes it with what was done and how the customer was told.
    /// The response deadline was re-derived (the calendar or the policy changed): it is `due`
    /// now. A lapse recorded for the old deadline that no longer holds at `now` is withdrawn, so
    /// the new deadline may lapse once in its turn; the escalation the lapse made is taken back
    /// (one level down, to that level's handler) unless someone escalated the complaint since.
    /// `None` when no lapse was withdrawn, else whether the lapse had been announced (it climbed).
    pub fn rederive_deadline(
        &mut self,
        ladder: &Ladder,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<bool> {
        if self.status == ComplaintStatus::Resolved {
            return None;
        }
        self.respond_by = due;
        let lapsed_at = self.deadline_escalated_at?;
        if now >= due {
            return None;
        }
        self.deadline_escalated_at = None;
        let climbed = self.escalated_at == Some(lapsed_at) && self.escalation_level > 0;
        if climbed {
            let to = self.escalation_level - 1;
            self.escalation_level = to;
            self.assignee = ladder.assignee(to, self.routed_to);
            if to == 0 {
                self.status = ComplaintStatus::Open;
                self.escalated_at = None;
            }
        }
        Some(climbed)
    }

    pub fn resolve(
        &mut self,
        resolution: String,
        reported_via: String,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        if self.status == ComplaintStatus::Resolved {
            return Err(Refusal::Resolved);
        }
        self.status = ComplaintStatus::Resolved;
        self.resolution = resolution;
        self.reported_via = reported_via;
        self.resolved_by = by.to_owned();
        self.resolved_at = Some(at);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, TimeZone};
    use proptest::prelude::*;

    fn ladder() -> Ladder {
        Ladder {
            levels: vec![
                "department".into(),
                "department_head".into(),
                "deputy_general_manager".into(),
                "general_manager".into(),
            ],
            serious_level: 2,
            minor_hours: 24,
            major_hours: 8,
            serious_hours: 4,
        }
    }

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, d, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn new(category: Category, severity: Severity) -> NewComplaint {
        NewComplaint {
            request_no: String::new(),
            branch: "SH01".into(),
            category,
            severity,
            description: "rude".into(),
            customer: None,
            technician_id: String::new(),
            source: "hotline".into(),
            survey_id: String::new(),
            serial: String::new(),
            product_model: String::new(),
            part_nos: vec![],
            opened_by: "agent".into(),
        }
    }

    #[test]
    fn each_category_goes_to_its_department() {
        assert_eq!(route(Category::ProductQuality), Department::QualityRnd);
        assert_eq!(
            route(Category::PackagingTransportDamage),
            Department::WarehouseLogistics
        );
        assert_eq!(route(Category::StaffConduct), Department::ServiceManagement);
        assert_eq!(
            route(Category::DealerConduct),
            Department::ChannelManagement
        );
        assert_eq!(route(Category::Other), Department::CustomerService);
    }

    #[test]
    fn a_serious_complaint_goes_to_the_deputy_general_manager_at_once() {
        let cal = Calendar::standard(480);
        let (c, e) = Complaint::open(
            "C-1".into(),
            new(Category::ProductQuality, Severity::Serious),
            &ladder(),
            &cal,
            at(20, 10),
        );
        let e = e.expect("escalated at once");
        assert_eq!((e.from_level, e.to_level), (0, 2));
        assert!(e.automatic && !e.deadline_passed);
        assert_eq!(c.assignee, "deputy_general_manager");
        assert_eq!(c.status, ComplaintStatus::Escalated);
        assert!(
            !c.deadline_lapsed(at(30, 10)),
            "its deadline escalates nothing more"
        );
    }

    #[test]
    fn a_minor_complaint_escalates_once_when_its_working_hours_run_out() {
        let cal = Calendar::standard(480);
        // Friday 10:00 + 24 working hours (8 on Friday, 9 on Monday, 7 on Tuesday) = Tuesday 16:00.
        let (mut c, e) = Complaint::open(
            "C-2".into(),
            new(Category::StaffConduct, Severity::Minor),
            &ladder(),
            &cal,
            at(20, 10),
        );
        assert!(e.is_none());
        assert_eq!(c.assignee, "service_management");
        assert_eq!(c.respond_by, at(24, 16));
        assert!(c.escalate_for_deadline(&ladder(), at(24, 15)).is_none());
        let e = c.escalate_for_deadline(&ladder(), at(24, 16)).unwrap();
        assert_eq!((e.from_level, e.to_level), (0, 1));
        assert!(e.deadline_passed);
        assert!(
            c.escalate_for_deadline(&ladder(), at(27, 9)).is_none(),
            "once"
        );
    }

    #[test]
    fn a_lapse_that_no_longer_holds_is_withdrawn_and_its_escalation_taken_back_once() {
        let (mut c, _) = Complaint::open(
            "C-3".into(),
            new(Category::StaffConduct, Severity::Minor),
            &ladder(),
            &Calendar::standard(480),
            at(20, 10),
        );
        let first_due = c.respond_by;
        let e = c
            .escalate_for_deadline(&ladder(), first_due + chrono::Duration::hours(1))
            .unwrap();
        assert_eq!(
            (c.escalation_level, c.status),
            (1, ComplaintStatus::Escalated)
        );
        // The deadline moves a day on (a holiday): the lapse is void, the complaint goes back.
        let later = first_due + chrono::Duration::days(1);
        assert_eq!(c.rederive_deadline(&ladder(), later, e.at), Some(true));
        assert_eq!((c.escalation_level, c.status), (0, ComplaintStatus::Open));
        assert_eq!(c.assignee, ladder().assignee(0, c.routed_to));
        assert_eq!(c.rederive_deadline(&ladder(), later, e.at), None, "once");
        // The new deadline lapses in its turn, once.
        assert!(c.escalate_for_deadline(&ladder(), later).is_some());
        // A deadline that moves but still lies in the past keeps the lapse.
        assert_eq!(
            c.rederive_deadline(&ladder(), later - chrono::Duration::hours(2), later),
            None
        );
        assert_eq!(c.escalation_level, 1);
    }

    #[test]
    fn a_resolved_complaint_neither_escalates_nor_resolves_again() {
        let cal = Calendar::standard(480);
        let (mut c, _) = Complaint::open(
            "C-3".into(),
            new(Category::Other, Severity::Major),
            &ladder(),
            &cal,
            at(20, 10),
        );
        c.resolve("replaced".into(), "phone".into(), "agent", at(20, 11))
            .unwrap();
        assert_eq!(
            c.escalate(&ladder(), "x".into(), None, "agent", at(20, 12)),
            Err(Refusal::Resolved)
        );
        assert!(c.escalate_for_deadline(&ladder(), at(30, 12)).is_none());
        assert!(
            c.resolve("again".into(), "phone".into(), "a", at(21, 9))
                .is_err()
        );
    }

    proptest! {
        #[test]
        fn escalation_only_climbs_never_past_the_top_and_the_deadline_fires_at_most_once(
            steps in proptest::collection::vec(0usize..3, 0..12),
            severity in 0usize..3,
        ) {
            let cal = Calendar::standard(480);
            let l = ladder();
            let (mut c, _) = Complaint::open(
                "C".into(), new(Category::Other, Severity::ALL[severity]), &l, &cal, at(20, 10));
            let mut deadline_fired = 0;
            for (i, s) in steps.iter().enumerate() {
                let before = c.escalation_level;
                let now = at(20, 10) + chrono::Duration::days(i as i64 + 1);
                match s {
                    0 => { let _ = c.escalate(&l, "x".into(), None, "a", now); }
                    1 => { if c.escalate_for_deadline(&l, now).is_some() { deadline_fired += 1; } }
                    _ => { let _ = c.resolve("r".into(), "phone".into(), "a", now); }
                }
                prop_assert!(c.escalation_level >= before);
                prop_assert!(c.escalation_level <= l.top());
            }
            prop_assert!(deadline_fired <= 1);
        }
    }
}
