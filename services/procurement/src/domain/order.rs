//! The purchase order's state machine: ISSUED → PARTIALLY_RECEIVED → RECEIVED, or CANCELLED.
//!
//! - A receipt adds what was received, passed and failed to its line. The PO is RECEIVED when
//!   every line passed its quantity (failed units must be replaced), PARTIALLY_RECEIVED once
//!   anything arrived before that.
//! - A cancelled request's quantity comes off its line, never below what already passed; a PO
//!   left with nothing to deliver is CANCELLED when nothing was received, RECEIVED otherwise.
//! - A person cancels only while nothing was received.
//!
//! RECEIVED and CANCELLED are final for the status (a late delivery is still counted on the
//! lines and the scorecard).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PoStatus {
    Issued,
    PartiallyReceived,
    Received,
    Cancelled,
}

impl PoStatus {
    pub const ALL: [PoStatus; 4] = [
        PoStatus::Issued,
        PoStatus::PartiallyReceived,
        PoStatus::Received,
        PoStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PoStatus::Issued => "ISSUED",
            PoStatus::PartiallyReceived => "PARTIALLY_RECEIVED",
            PoStatus::Received => "RECEIVED",
            PoStatus::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Something is still to be delivered.
    pub fn is_open(self) -> bool {
        matches!(self, PoStatus::Issued | PoStatus::PartiallyReceived)
    }
}

impl fmt::Display for PoStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a PO was raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PurchaseReason {
    Shortage,
    Replenishment,
    Manual,
}

impl PurchaseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            PurchaseReason::Shortage => "SHORTAGE",
            PurchaseReason::Replenishment => "REPLENISHMENT",
            PurchaseReason::Manual => "MANUAL",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Shortage, Self::Replenishment, Self::Manual]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// What a line ordered and what came of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineState {
    pub quantity: u32,
    pub received: u32,
    pub passed: u32,
    pub failed: u32,
}

impl LineState {
    /// What the supplier still owes: ordered minus passed (failed units must be replaced).
    pub fn outstanding(&self) -> u32 {
        self.quantity.saturating_sub(self.passed)
    }

    pub fn receive(&mut self, received: u32, passed: u32, failed: u32) {
        self.received = self.received.saturating_add(received);
        self.passed = self.passed.saturating_add(passed);
        self.failed = self.failed.saturating_add(failed);
    }

    /// Takes `quantity` off the line, never below what already passed; how much came off.
    pub fn take_off(&mut self, quantity: u32) -> u32 {
        let new = self.quantity.saturating_sub(quantity).max(self.passed);
        let off = self.quantity.saturating_sub(new);
        self.quantity = new;
        off
    }
}

/// The status a PO in `current` moves to with `lines` as they now are.
pub fn status_of(current: PoStatus, lines: &[LineState]) -> PoStatus {
    if !current.is_open() {
        return current;
    }
    let anything_received = lines.iter().any(|l| l.received > 0);
    let nothing_owed = lines.iter().all(|l| l.outstanding() == 0);
    match (nothing_owed, anything_received) {
        (true, true) => PoStatus::Received,
        (true, false) => PoStatus::Cancelled,
        (false, true) => PoStatus::PartiallyReceived,
        (false, false) => PoStatus::Issued,
    }
}

/// Whether a person may cancel the PO: only while nothing was received.
pub fn may_cancel(status: PoStatus, lines: &[LineState]) -> Result<(), String> {
    match status {
        PoStatus::Issued if lines.iter().all(|l| l.received == 0) => Ok(()),
        PoStatus::Issued | PoStatus::PartiallyReceived => {
            Err("goods were received against it; it can no longer be cancelled".into())
        }
        s => Err(format!("it is {s}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(q: u32) -> LineState {
        LineState {
            quantity: q,
            ..Default::default()
        }
    }

    #[test]
    fn two_partial_receipts_move_the_po_to_partially_received_then_received() {
        let mut lines = [line(5)];
        lines[0].receive(2, 2, 0);
        let s = status_of(PoStatus::Issued, &lines);
        assert_eq!(s, PoStatus::PartiallyReceived);
        lines[0].receive(3, 3, 0);
        assert_eq!(status_of(s, &lines), PoStatus::Received);
    }

    #[test]
    fn failed_units_are_still_owed() {
        let mut lines = [line(5)];
        lines[0].receive(5, 3, 2);
        assert_eq!(lines[0].outstanding(), 2);
        assert_eq!(
            status_of(PoStatus::Issued, &lines),
            PoStatus::PartiallyReceived
        );
    }

    #[test]
    fn taking_everything_off_cancels_an_untouched_po_and_completes_a_partly_received_one() {
        let mut lines = [line(4)];
        assert_eq!(lines[0].take_off(4), 4);
        assert_eq!(status_of(PoStatus::Issued, &lines), PoStatus::Cancelled);
        let mut lines = [line(4)];
        lines[0].receive(1, 1, 0);
        assert_eq!(lines[0].take_off(4), 3, "never below what passed");
        assert_eq!(lines[0].quantity, 1);
        assert_eq!(
            status_of(PoStatus::PartiallyReceived, &lines),
            PoStatus::Received
        );
    }

    #[test]
    fn a_person_cancels_only_before_anything_arrived() {
        let mut lines = [line(4)];
        assert!(may_cancel(PoStatus::Issued, &lines).is_ok());
        lines[0].receive(1, 0, 1);
        assert!(may_cancel(PoStatus::PartiallyReceived, &lines).is_err());
        assert!(may_cancel(PoStatus::Cancelled, &[line(1)]).is_err());
    }

    #[derive(Debug, Clone)]
    enum Step {
        Receive(usize, u32, u32),
        TakeOff(usize, u32),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0usize..3, 0u32..6, 0u32..3).prop_map(|(l, p, f)| Step::Receive(l, p, f)),
            (0usize..3, 0u32..6).prop_map(|(l, q)| Step::TakeOff(l, q)),
        ]
    }

    proptest! {
        #[test]
        fn the_status_follows_the_lines_and_final_states_stay_final(
            quantities in proptest::collection::vec(1u32..10, 1..3),
            steps in proptest::collection::vec(step(), 0..20),
        ) {
            let mut lines: Vec<LineState> = quantities.iter().map(|q| line(*q)).collect();
            let mut status = PoStatus::Issued;
            for s in steps {
                let before = status;
                match s {
                    Step::Receive(l, p, f) => {
                        let i = l % lines.len();
                        lines[i].receive(p + f, p, f);
                    }
                    Step::TakeOff(l, q) => {
                        let i = l % lines.len();
                        let passed = lines[i].passed;
                        lines[i].take_off(q);
                        prop_assert!(lines[i].quantity >= passed);
                    }
                }
                status = status_of(status, &lines);
                if !before.is_open() {
                    prop_assert_eq!(status, before, "a final status never changes");
                }
                if status == PoStatus::Received {
                    prop_assert!(lines.iter().any(|l| l.received > 0));
                }
                if status.is_open() {
                    prop_assert!(lines.iter().any(|l| l.outstanding() > 0));
                }
                if status == PoStatus::Issued {
                    prop_assert!(lines.iter().all(|l| l.received == 0));
                }
            }
        }
    }
}
