//! The complaint-deadline scanner ("complaint-deadlines"): an unresolved MINOR or MAJOR complaint
//! whose response deadline (working hours per severity, policy data) passed is escalated one
//! level, once (`feedback.complaint.escalated` with `deadline_passed`). The platform's [`Scanner`]
//! runs it on one replica at a time, reading "now" from the kit's clock; the lapse is recorded in
//! the same transaction as its event and the rows are taken with `SKIP LOCKED`, so a scan repeated
//! anywhere finds nothing left to do.

use std::time::Duration;

use aftersales_platform::scanner::Scanner;

use crate::service::Feedback;

/// The scanner's name (its lock, its log lines, `TestService::scan`).
pub const SCANNER: &str = "complaint-deadlines";

pub fn scanner(feedback: &Feedback, every: Duration) -> Scanner {
    let feedback = feedback.clone();
    Scanner::new(SCANNER, every, move |now| {
        let feedback = feedback.clone();
        async move { Ok(feedback.scan_deadlines(now).await?) }
    })
}
