//! When a request is stuck: its next step is overdue. Policy data (`intake.stuck_after`): for
//! each step (the routing key of the request's newest timeline entry) or status, the time the
//! next step is expected within — wall-clock (`2m`, `6h`, `3d`) or working time of the platform
//! calendar (`4wh` working hours, `1wd` working days) — and `*` for any other open request.
//! The step's rule wins over the status's, which wins over `*`. A final request (closed,
//! cancelled, rejected) is never stuck. Nothing is stored: the answer is derived from the last
//! step, its time, the policy and the calendar, so a changed policy applies at once.

use aftersales_platform::calendar::Calendar;
use chrono::{DateTime, Duration, Utc};

use super::RequestStatus;

/// The expected time to the next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Within {
    Wall(Duration),
    WorkingHours(u32),
    WorkingDays(u32),
}

impl Within {
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let bad = || format!("{t:?} is not a duration like 2m, 6h, 3d, 4wh or 1wd");
        let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
        let n: u32 = digits.parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(format!("{t:?} must be more than zero"));
        }
        Ok(match unit {
            "m" => Within::Wall(Duration::minutes(n.into())),
            "h" => Within::Wall(Duration::hours(n.into())),
            "d" => Within::Wall(Duration::days(n.into())),
            "wh" => Within::WorkingHours(n),
            "wd" => Within::WorkingDays(n),
            _ => return Err(bad()),
        })
    }

    /// The latest time a step may have happened without being overdue at `now`.
    pub fn cutoff(&self, now: DateTime<Utc>, cal: &Calendar) -> DateTime<Utc> {
        match self {
            Within::Wall(d) => now - *d,
            Within::WorkingHours(h) => cal.subtract_working_time(now, Duration::hours((*h).into())),
            Within::WorkingDays(d) => cal.subtract_working_time(now, cal.day_length() * *d as i32),
        }
    }

    /// When a step that happened at `at` becomes overdue.
    pub fn due(&self, at: DateTime<Utc>, cal: &Calendar) -> DateTime<Utc> {
        match self {
            Within::Wall(d) => at + *d,
            Within::WorkingHours(h) => cal.add_working_hours(at, *h),
            Within::WorkingDays(d) => cal.add_working_days(at, *d),
        }
    }
}

/// The policy: rules by step, by status, and for anything else.
#[derive(Debug, Clone)]
pub struct StuckPolicy {
    by_step: Vec<(String, Within, String)>,
    by_status: Vec<(RequestStatus, Within, String)>,
    otherwise: Option<(Within, String)>,
}

/// The defaults (DESIGN §6 and the procedures: a claim opens within minutes, a decision within
/// the review deadline, an automatic hand-over within minutes, a person's step within working
/// days).
pub const DEFAULT_RULES: &[&str] = &[
    "intake.request.submitted=2m",
    "claims.claim.opened=3wd",
    "claims.claim.info_requested=10wd",
    "claims.claim.approved=5m",
    "warehouse.reservation.confirmed=1wd",
    "logistics.shipment.planned=1wd",
    "warehouse.parts.issued=1wd",
    "warehouse.stock.shortage=15wd",
    "procurement.po.issued=15wd",
    "logistics.shipment.dispatched=5wd",
    "logistics.shipment.delivered=3wd",
    "fieldservice.workorder.created=2wd",
    "fieldservice.workorder.completed=4wd",
    "feedback.visit.scheduled=4wd",
    "submitted=2m",
    "*=10wd",
];

/// What a stuck request missed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stuck {
    /// When the next step became overdue.
    pub since: DateTime<Utc>,
    /// The rule's expectation as configured (`2m`, `1wd`).
    pub expected_within: String,
    /// What the rule applies to: the step, the status, or `*`.
    pub rule: String,
}

/// Cut-offs at one instant, for the store's query.
#[derive(Debug, Clone, Default)]
pub struct Cutoffs {
    pub by_step: Vec<(String, DateTime<Utc>)>,
    pub by_status: Vec<(RequestStatus, DateTime<Utc>)>,
    pub otherwise: Option<DateTime<Utc>>,
}

impl StuckPolicy {
    /// Rules `KEY=WITHIN`: KEY a routing key (`claims.claim.approved`), a status (`submitted`)
    /// or `*`.
    pub fn parse(rules: &[String]) -> Result<Self, String> {
        let mut p = StuckPolicy {
            by_step: Vec::new(),
            by_status: Vec::new(),
            otherwise: None,
        };
        for (i, rule) in rules.iter().enumerate() {
            let (key, within) = rule
                .split_once('=')
                .ok_or_else(|| format!("[{i}] {rule:?} is not KEY=WITHIN"))?;
            let key = key.trim();
            let text = within.trim().to_owned();
            let within = Within::parse(&text).map_err(|e| format!("[{i}] {e}"))?;
            if key == "*" {
                p.otherwise = Some((within, text));
            } else if let Some(status) = RequestStatus::parse(key) {
                if status.is_final() {
                    return Err(format!("[{i}] {key}: a final status is never stuck"));
                }
                p.by_status.push((status, within, text));
            } else if aftersales_platform::proto::catalogue::contains(key) {
                p.by_step.push((key.to_owned(), within, text));
            } else {
                return Err(format!(
                    "[{i}] {key:?} is neither a routing key of the catalogue, a status nor *"
                ));
            }
        }
        Ok(p)
    }

    pub fn defaults() -> Self {
        let rules: Vec<String> = DEFAULT_RULES.iter().map(|r| (*r).to_owned()).collect();
        // The defaults are checked by a unit test; an empty policy (never stuck) is the
        // harmless fallback.
        Self::parse(&rules).unwrap_or(StuckPolicy {
            by_step: Vec::new(),
            by_status: Vec::new(),
            otherwise: None,
        })
    }

    fn rule_for(&self, status: RequestStatus, last_step: &str) -> Option<(&Within, &str, String)> {
        if let Some((k, w, t)) = self.by_step.iter().find(|(k, _, _)| k == last_step) {
            return Some((w, t, k.clone()));
        }
        if let Some((s, w, t)) = self.by_status.iter().find(|(s, _, _)| *s == status) {
            return Some((w, t, s.as_str().to_owned()));
        }
        self.otherwise
            .as_ref()
            .map(|(w, t)| (w, t.as_str(), "*".to_owned()))
    }

    /// Whether a request with this status and last step is stuck at `now`.
    pub fn check(
        &self,
        status: RequestStatus,
        last_step: &str,
        last_step_at: DateTime<Utc>,
        now: DateTime<Utc>,
        cal: &Calendar,
    ) -> Option<Stuck> {
        if status.is_final() {
            return None;
        }
        let (within, text, rule) = self.rule_for(status, last_step)?;
        let since = within.due(last_step_at, cal);
        (since <= now).then(|| Stuck {
            since,
            expected_within: text.to_owned(),
            rule,
        })
    }

    /// The cut-offs at `now` (the store's query form of [`StuckPolicy::check`]).
    pub fn cutoffs(&self, now: DateTime<Utc>, cal: &Calendar) -> Cutoffs {
        Cutoffs {
            by_step: self
                .by_step
                .iter()
                .map(|(k, w, _)| (k.clone(), w.cutoff(now, cal)))
                .collect(),
            by_status: self
                .by_status
                .iter()
                .map(|(s, w, _)| (*s, w.cutoff(now, cal)))
                .collect(),
            otherwise: self.otherwise.as_ref().map(|(w, _)| w.cutoff(now, cal)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn cal() -> Calendar {
        Calendar::standard(480)
    }

    #[test]
    fn the_default_rules_parse() {
        let rules: Vec<String> = DEFAULT_RULES.iter().map(|r| (*r).to_owned()).collect();
        StuckPolicy::parse(&rules).unwrap();
    }

    #[test]
    fn bad_rules_name_their_position() {
        for bad in [
            "x=2m",
            "submitted=2y",
            "closed=1d",
            "submitted",
            "claims.claim.approved=0m",
        ] {
            let e = StuckPolicy::parse(&[bad.to_owned()]).unwrap_err();
            assert!(e.starts_with("[0]"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_steps_rule_wins_over_the_status_and_final_requests_are_never_stuck() {
        let p = StuckPolicy::parse(&[
            "claims.claim.approved=5m".into(),
            "approved=1d".into(),
            "*=10wd".into(),
        ])
        .unwrap();
        let at = Utc.with_ymd_and_hms(2026, 11, 30, 2, 0, 0).unwrap();
        let later = at + Duration::minutes(6);
        let s = p
            .check(
                RequestStatus::Approved,
                "claims.claim.approved",
                at,
                later,
                &cal(),
            )
            .unwrap();
        assert_eq!(s.rule, "claims.claim.approved");
        assert_eq!(s.since, at + Duration::minutes(5));
        assert!(
            p.check(RequestStatus::Approved, "other.step.x", at, later, &cal())
                .is_none()
        );
        assert!(
            p.check(
                RequestStatus::Cancelled,
                "claims.claim.approved",
                at,
                later,
                &cal()
            )
            .is_none()
        );
    }

    #[test]
    fn working_days_skip_the_weekend() {
        let p = StuckPolicy::parse(&["*=1wd".into()]).unwrap();
        // Friday 17:00 local (09:00 UTC): one working day later is Monday 17:00 local.
        let fri = Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap();
        let mon_morning = Utc.with_ymd_and_hms(2026, 11, 30, 2, 0, 0).unwrap();
        assert!(
            p.check(RequestStatus::Sourcing, "x", fri, mon_morning, &cal())
                .is_none()
        );
        let mon_evening = Utc.with_ymd_and_hms(2026, 11, 30, 9, 1, 0).unwrap();
        assert!(
            p.check(RequestStatus::Sourcing, "x", fri, mon_evening, &cal())
                .is_some()
        );
        // The query's cut-off agrees with the check.
        let cut = p.cutoffs(mon_evening, &cal()).otherwise.unwrap();
        assert!(fri < cut);
    }
}
