//! A claim's status: PENDING → APPROVED | REJECTED | INFO_REQUESTED; INFO_REQUESTED → PENDING
//! when the branch provides what was asked for; PENDING | INFO_REQUESTED → CANCELLED when the
//! request is cancelled. Approved, rejected and cancelled are final.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimStatus {
    Pending,
    Approved,
    Rejected,
    InfoRequested,
    Cancelled,
}

impl ClaimStatus {
    pub const ALL: [ClaimStatus; 5] = [
        ClaimStatus::Pending,
        ClaimStatus::Approved,
        ClaimStatus::Rejected,
        ClaimStatus::InfoRequested,
        ClaimStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Pending => "pending",
            ClaimStatus::Approved => "approved",
            ClaimStatus::Rejected => "rejected",
            ClaimStatus::InfoRequested => "info_requested",
            ClaimStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<ClaimStatus> {
        ClaimStatus::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// A reviewer may approve, reject or ask for information only on a pending claim.
    pub fn can_decide(self) -> bool {
        self == ClaimStatus::Pending
    }

    /// The branch may provide information only when it was asked for.
    pub fn can_provide_info(self) -> bool {
        self == ClaimStatus::InfoRequested
    }

    /// A cancelled request closes its claim only while no decision was made.
    pub fn can_cancel(self) -> bool {
        matches!(self, ClaimStatus::Pending | ClaimStatus::InfoRequested)
    }

    /// Whether the review deadline runs (it is paused while waiting for the branch).
    pub fn deadline_runs(self) -> bool {
        self == ClaimStatus::Pending
    }
}

impl std::fmt::Display for ClaimStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_pending_claim_can_be_decided_and_only_an_info_request_answered() {
        for s in ClaimStatus::ALL {
            assert_eq!(s.can_decide(), s == ClaimStatus::Pending, "{s}");
            assert_eq!(s.can_provide_info(), s == ClaimStatus::InfoRequested, "{s}");
            assert_eq!(ClaimStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                s.can_cancel(),
                matches!(s, ClaimStatus::Pending | ClaimStatus::InfoRequested),
                "{s}"
            );
        }
    }
}
