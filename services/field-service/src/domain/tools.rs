//! Tool loans (form 11): a special tool lent to a technician, returned (fine or damaged) or
//! lost; a loan still out after its due date is overdue.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LoanStatus {
    Out,
    Returned,
    Damaged,
    Lost,
}

impl LoanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LoanStatus::Out => "OUT",
            LoanStatus::Returned => "RETURNED",
            LoanStatus::Damaged => "DAMAGED",
            LoanStatus::Lost => "LOST",
        }
    }

    pub fn parse(s: &str) -> Option<LoanStatus> {
        [
            LoanStatus::Out,
            LoanStatus::Returned,
            LoanStatus::Damaged,
            LoanStatus::Lost,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolLoan {
    pub loan_id: String,
    pub tool_id: String,
    pub tool_name: String,
    pub technician_id: String,
    pub branch: String,
    pub work_order_no: String,
    pub loaned_at: DateTime<Utc>,
    pub due_back: NaiveDate,
    pub returned_at: Option<DateTime<Utc>>,
    pub return_condition: String,
    pub status: LoanStatus,
    /// Order of loans (newest first in lists).
    pub seq: i64,
}

impl ToolLoan {
    /// Out after its due date (local `today`).
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.status == LoanStatus::Out && self.due_back < today
    }
}

/// What a return records: the condition as given, or "ok" for a plain return.
pub fn return_condition(outcome: LoanStatus, given: &str) -> Result<String, String> {
    let t = given.trim();
    match outcome {
        LoanStatus::Out => Err("a return cannot leave the tool out".into()),
        LoanStatus::Returned if t.is_empty() => Ok("ok".into()),
        LoanStatus::Damaged | LoanStatus::Lost if t.is_empty() => {
            Err("is required: say what happened to the tool".into())
        }
        _ => Ok(t.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loan_is_overdue_only_while_out_past_its_due_date() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let mut l = ToolLoan {
            loan_id: "LOAN-1".into(),
            tool_id: "TOOL-1".into(),
            tool_name: "Crimper".into(),
            technician_id: "T-SH01-001".into(),
            branch: "SH01".into(),
            work_order_no: String::new(),
            loaned_at: Utc::now(),
            due_back: NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
            returned_at: None,
            return_condition: String::new(),
            status: LoanStatus::Out,
            seq: 1,
        };
        assert!(l.overdue(today));
        assert!(!l.overdue(l.due_back));
        l.status = LoanStatus::Returned;
        assert!(!l.overdue(today));
    }

    #[test]
    fn damage_and_loss_need_a_description() {
        assert_eq!(return_condition(LoanStatus::Returned, " ").unwrap(), "ok");
        assert!(return_condition(LoanStatus::Damaged, "").is_err());
        assert_eq!(
            return_condition(LoanStatus::Lost, "left on site").unwrap(),
            "left on site"
        );
        assert!(return_condition(LoanStatus::Out, "x").is_err());
    }
}
