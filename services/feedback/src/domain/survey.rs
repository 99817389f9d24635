//! The return visit's survey: attitude, technical skill, arrival time and promise-keeping, each on
//! four levels, a comment, and whether the customer says the problem is solved. Technical skill
//! and arrival time are rated only when a technician came.

use std::fmt;

use chrono::{DateTime, Utc};

use super::complaint::{Category, Severity};
use super::visit::VisitSource;

/// Four levels, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rating {
    VerySatisfied,
    Satisfied,
    Dissatisfied,
    VeryDissatisfied,
}

impl Rating {
    pub const ALL: [Rating; 4] = [
        Rating::VerySatisfied,
        Rating::Satisfied,
        Rating::Dissatisfied,
        Rating::VeryDissatisfied,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rating::VerySatisfied => "very_satisfied",
            Rating::Satisfied => "satisfied",
            Rating::Dissatisfied => "dissatisfied",
            Rating::VeryDissatisfied => "very_dissatisfied",
        }
    }

    pub fn parse(s: &str) -> Option<Rating> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// SATISFIED or better.
    pub fn is_satisfied(self) -> bool {
        self <= Rating::Satisfied
    }
}

impl fmt::Display for Rating {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The four dimensions; the two about the technician may be absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratings {
    pub attitude: Rating,
    pub technical_skill: Option<Rating>,
    pub arrival_time: Option<Rating>,
    pub promise_keeping: Rating,
}

impl Ratings {
    fn given(&self) -> impl Iterator<Item = Rating> {
        [
            Some(self.attitude),
            self.technical_skill,
            self.arrival_time,
            Some(self.promise_keeping),
        ]
        .into_iter()
        .flatten()
    }

    /// Every given rating SATISFIED or better (the KPI's satisfied survey).
    pub fn satisfied(&self) -> bool {
        self.given().all(Rating::is_satisfied)
    }

    /// The dimensions a technician's visit must rate but these ratings leave out.
    pub fn missing_for(&self, source: VisitSource) -> Vec<&'static str> {
        if !source.had_technician() {
            return Vec::new();
        }
        let mut missing = Vec::new();
        if self.technical_skill.is_none() {
            missing.push("technical_skill");
        }
        if self.arrival_time.is_none() {
            missing.push("arrival_time");
        }
        missing
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Survey {
    pub survey_id: String,
    pub visit_id: String,
    pub request_no: String,
    pub branch: String,
    pub ratings: Ratings,
    pub comment: String,
    pub resolved: bool,
    pub satisfied: bool,
    pub technician_id: String,
    /// Set when the survey opened a complaint.
    pub complaint_id: String,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: String,
}

/// The complaint a survey opens: the one the agent asked for, or — when the problem is not solved
/// and nothing was asked — the policy's default. `None`: no complaint.
pub fn complaint_from_survey(
    resolved: bool,
    asked: Option<(Option<Category>, Option<Severity>)>,
    unresolved_default: (Category, Severity),
) -> Option<(Category, Severity)> {
    let (default_category, default_severity) = unresolved_default;
    match asked {
        Some((category, severity)) => Some((
            category.unwrap_or(default_category),
            severity.unwrap_or(default_severity),
        )),
        None if !resolved => Some(unresolved_default),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ratings(a: Rating, t: Option<Rating>, r: Option<Rating>, p: Rating) -> Ratings {
        Ratings {
            attitude: a,
            technical_skill: t,
            arrival_time: r,
            promise_keeping: p,
        }
    }

    #[test]
    fn one_dissatisfied_rating_makes_the_survey_unsatisfied() {
        use Rating::*;
        assert!(ratings(VerySatisfied, Some(Satisfied), None, Satisfied).satisfied());
        assert!(!ratings(VerySatisfied, Some(Dissatisfied), None, Satisfied).satisfied());
        assert!(!ratings(Satisfied, None, None, VeryDissatisfied).satisfied());
    }

    #[test]
    fn a_technicians_visit_must_rate_skill_and_arrival() {
        let r = ratings(Rating::Satisfied, None, None, Rating::Satisfied);
        assert_eq!(
            r.missing_for(VisitSource::WorkOrderCompleted),
            ["technical_skill", "arrival_time"]
        );
        assert!(r.missing_for(VisitSource::ShipmentDelivered).is_empty());
    }

    #[test]
    fn an_unsolved_problem_always_opens_a_complaint() {
        let default = (Category::ProductQuality, Severity::Major);
        assert_eq!(complaint_from_survey(false, None, default), Some(default));
        assert_eq!(complaint_from_survey(true, None, default), None);
        assert_eq!(
            complaint_from_survey(true, Some((Some(Category::StaffConduct), None)), default),
            Some((Category::StaffConduct, Severity::Major))
        );
    }

    proptest! {
        #[test]
        fn satisfied_means_no_given_rating_below_satisfied(
            a in 0usize..4, t in 0usize..5, r in 0usize..5, p in 0usize..4
        ) {
            let opt = |i: usize| (i < 4).then(|| Rating::ALL[i]);
            let s = ratings(Rating::ALL[a], opt(t), opt(r), Rating::ALL[p]);
            let worst = [Some(a), (t < 4).then_some(t), (r < 4).then_some(r), Some(p)]
                .into_iter().flatten().max().unwrap();
            prop_assert_eq!(s.satisfied(), worst <= 1);
        }
    }
}
