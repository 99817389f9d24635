//! A claim as claims-review keeps it, and its status machine:
//!
//! PENDING → APPROVED | REJECTED | INFO_REQUESTED; INFO_REQUESTED → PENDING when the branch
//! provides what was asked for; PENDING | INFO_REQUESTED | APPROVED → CANCELLED when the request
//! is cancelled. An approval does not outlive its request: the departments acting on it
//! (warehouse, logistics, field-service) stop on `intake.request.cancelled` themselves, and the
//! claim must not look approved to anyone reading it later. Rejected and cancelled are final.
//!
//! A [`Claim`] is the review queue's columns plus its [`ClaimDetail`], which is stored as JSON:
//! the serde names of the detail and of every type inside it are a storage format (add fields
//! with defaults, never rename).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::command::{Address, MissingInfo, Money, Payment, Region, Submission, Urgency};
use super::evaluate::{
    ClaimInput, Coverage, Evaluation, Kind, Recommendation, RejectReason, Window, WindowKind,
};
use super::policy::PartClass;

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

    /// A cancelled request closes its claim unless it was rejected (the request ended there) or
    /// is closed already.
    pub fn can_cancel(self) -> bool {
        matches!(
            self,
            ClaimStatus::Pending | ClaimStatus::InfoRequested | ClaimStatus::Approved
        )
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

/// The customer as intake recorded them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Customer {
    pub name: String,
    pub phone: String,
    pub address: String,
    pub region: Option<Region>,
    pub email: String,
}

/// The product and its documents' dates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Product {
    pub category: String,
    pub model: String,
    /// Serial number, IMEI or VIN.
    pub serial: String,
    pub purchase_date: Option<NaiveDate>,
    pub invoice_no: String,
    pub invoice_date: Option<NaiveDate>,
    pub receipt_date: Option<NaiveDate>,
    pub factory_date: Option<NaiveDate>,
    /// A number on file means a service contract in force.
    pub service_contract_no: String,
}

/// Where parts or a replacement go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShipTo {
    pub recipient: String,
    pub phone: String,
    pub address: String,
    pub region: Option<Region>,
    /// The branch handling the delivery.
    pub branch: String,
}

impl ShipTo {
    /// The customer's own address, where things go unless the reviewer says otherwise.
    pub fn customer(c: &Customer, branch: &str) -> Self {
        Self {
            recipient: c.name.clone(),
            phone: c.phone.clone(),
            address: c.address.clone(),
            region: c.region,
            branch: branch.to_owned(),
        }
    }

    /// An address a reviewer gave; without a branch of its own, the claim's.
    pub fn given(a: &Address, claim_branch: &str) -> Self {
        Self {
            recipient: a.recipient.clone(),
            phone: a.phone.to_string(),
            address: a.address.clone(),
            region: Some(a.region),
            branch: a
                .branch
                .as_ref()
                .map(|b| b.to_string())
                .unwrap_or_else(|| claim_branch.to_owned()),
        }
    }
}

/// A part line with its coverage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimLine {
    pub part_no: String,
    pub quantity: u32,
    pub class: PartClass,
    pub coverage: Coverage,
    /// The window that applied to this line.
    #[serde(default)]
    pub window: Option<Window>,
    /// Only for PAID lines: the fee for the whole line.
    #[serde(default)]
    pub fee: Option<Money>,
    /// The policy rule that decided the coverage, e.g. `key_part_window`.
    #[serde(default)]
    pub rule: String,
}

/// Everything about a claim beyond the queue's columns. Empty (the default) for the claim a
/// cancellation leaves when it overtakes the submission.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClaimDetail {
    /// `None` only for a claim that was cancelled before it opened.
    pub kind: Option<Kind>,
    pub urgency: Option<Urgency>,
    pub customer: Option<Customer>,
    pub product: Option<Product>,
    pub fault_description: String,
    pub photos: Vec<String>,
    /// The agent flagged man-made damage: lines are PAID.
    pub misuse_suspected: bool,
    pub recommendation: Option<Recommendation>,
    /// The policy data version the evaluation used.
    pub policy_version: String,
    /// The requested lines with the evaluated (once approved, the approved) coverage.
    pub lines: Vec<ClaimLine>,
    /// The window that applied to the request as a whole.
    pub window: Option<Window>,
    /// The rules evaluated, in order; the last names the rule that decided.
    pub explanation: Vec<String>,
    pub onsite_required: bool,
    /// Sum of the PAID lines' fees.
    pub total_fee: Option<Money>,
    pub ship_to: Option<ShipTo>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The reviewer; empty for a decision of the policy itself.
    pub decided_by: String,
    pub auto_decided: bool,
    /// The rejection's reason, or the one the evaluation recommends.
    pub reject_reason: Option<RejectReason>,
    /// The reviewer's free text (rejection reason, note to the branch), or why it was cancelled.
    pub note: String,
    /// While INFO_REQUESTED: what is missing.
    pub missing_info: Vec<MissingInfo>,
    /// Needed for a return's refund.
    pub payment: Option<Payment>,
    /// Set on approval: a return for the customer's own reasons (service fee, charged pick-up).
    pub own_reasons: bool,
}

impl ClaimDetail {
    /// Writes an evaluation's outcome into the claim.
    pub fn apply(&mut self, e: &Evaluation) {
        self.recommendation = Some(e.recommendation);
        self.reject_reason = match e.recommendation {
            Recommendation::Reject(r) => Some(r),
            _ => None,
        };
        self.policy_version = e.policy_version.clone();
        self.lines = e
            .lines
            .iter()
            .map(|l| ClaimLine {
                part_no: l.part_no.clone(),
                quantity: l.quantity,
                class: l.class,
                coverage: l.coverage,
                window: Some(l.window.clone()),
                fee: (l.coverage == Coverage::Paid).then(|| Money {
                    currency: e.currency.clone(),
                    minor: l.fee_minor,
                }),
                rule: l.rule.clone(),
            })
            .collect();
        self.window = Some(e.window.clone());
        self.explanation = e.explanation.clone();
        self.onsite_required = e.onsite_required;
        self.total_fee = Some(Money {
            currency: e.currency.clone(),
            minor: e.total_fee_minor,
        });
    }

    /// The evaluation's input for `parts`, judged on `on`.
    pub fn input(&self, parts: Vec<(String, u32)>, on: NaiveDate) -> Result<ClaimInput, String> {
        let kind = self.kind.ok_or("the claim has no request kind")?;
        let product = self.product.clone().unwrap_or_default();
        Ok(ClaimInput {
            kind,
            category: product.category,
            invoice_date: product.invoice_date,
            receipt_date: product.receipt_date,
            factory_date: product.factory_date,
            service_contract_no: product.service_contract_no,
            misuse_suspected: self.misuse_suspected,
            parts,
            on,
            payment_on_record: self.payment.as_ref().is_some_and(|p| p.amount.is_some()),
        })
    }

    /// The requested parts as the lines hold them.
    pub fn parts(&self) -> Vec<(String, u32)> {
        self.lines
            .iter()
            .map(|l| (l.part_no.clone(), l.quantity))
            .collect()
    }

    /// Coverage of the job as a whole: CONTRACT if a contract applies, FREE if every line is
    /// FREE and nothing is charged, otherwise PAID.
    pub fn overall_coverage(&self) -> Coverage {
        let contract = self
            .window
            .as_ref()
            .is_some_and(|w| w.kind == WindowKind::ServiceContract);
        let total = self.total_fee.as_ref().map(|m| m.minor).unwrap_or(0);
        if contract {
            Coverage::Contract
        } else if self.lines.iter().all(|l| l.coverage == Coverage::Free) && total == 0 {
            Coverage::Free
        } else if !self.lines.is_empty()
            && self.lines.iter().all(|l| l.coverage == Coverage::Contract)
        {
            Coverage::Contract
        } else {
            Coverage::Paid
        }
    }

    /// A return or an exchange: the unit is picked up at the customer's door.
    pub fn pickup_required(&self) -> bool {
        matches!(self.kind, Some(Kind::Return | Kind::Exchange))
    }
}

/// One claim per request: the queue's columns and the detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub request_no: String,
    pub branch: String,
    pub status: ClaimStatus,
    /// Optimistic concurrency: bumped on every change; a decision names the version it saw.
    pub version: i64,
    pub opened_at: DateTime<Utc>,
    /// The review deadline while it runs (PENDING).
    pub due_at: Option<DateTime<Utc>>,
    /// Working time left (ms) while the deadline is paused for INFO_REQUESTED.
    pub paused_left_ms: Option<i64>,
    pub escalated: bool,
    /// The deadline whose breach was announced: one announcement per breach.
    pub breach_announced_for: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub detail: ClaimDetail,
}

impl Claim {
    /// The claim of a submitted request at `now`, evaluated as `e`, PENDING until `due`.
    pub fn open(s: &Submission, e: &Evaluation, now: DateTime<Utc>, due: DateTime<Utc>) -> Self {
        let mut detail = ClaimDetail {
            kind: Some(s.kind),
            urgency: s.urgency,
            ship_to: Some(ShipTo::customer(&s.customer, s.branch.as_str())),
            customer: Some(s.customer.clone()),
            product: Some(s.product.clone()),
            fault_description: s.fault_description.clone(),
            photos: s.photos.clone(),
            misuse_suspected: s.misuse_suspected,
            ..Default::default()
        };
        detail.apply(e);
        Self {
            request_no: s.request_no.to_string(),
            branch: s.branch.to_string(),
            status: ClaimStatus::Pending,
            version: 1,
            opened_at: now,
            due_at: Some(due),
            paused_left_ms: None,
            escalated: false,
            breach_announced_for: None,
            updated_at: now,
            detail,
        }
    }

    /// What a cancellation leaves when it arrives before the submission: a CANCELLED claim with
    /// nothing in it, holding the request's place so the late submission opens nothing.
    pub fn cancelled_before_opening(
        request_no: &str,
        branch: &str,
        now: DateTime<Utc>,
        note: String,
    ) -> Self {
        Self {
            request_no: request_no.to_owned(),
            branch: branch.to_owned(),
            status: ClaimStatus::Cancelled,
            version: 1,
            opened_at: now,
            due_at: None,
            paused_left_ms: None,
            escalated: false,
            breach_announced_for: None,
            updated_at: now,
            detail: ClaimDetail {
                note,
                ..Default::default()
            },
        }
    }

    fn changed(&mut self, now: DateTime<Utc>) {
        self.version += 1;
        self.updated_at = now;
    }

    /// Approves it at `now`; `by` is the reviewer, empty for the policy itself.
    pub fn approve(&mut self, now: DateTime<Utc>, by: &str) {
        self.status = ClaimStatus::Approved;
        self.due_at = None;
        self.paused_left_ms = None;
        self.changed(now);
        self.detail.decided_at = Some(now);
        self.detail.decided_by = by.to_owned();
        self.detail.auto_decided = by.is_empty();
    }

    /// Rejects it at `now` for `reason`, by the reviewer `by`.
    pub fn reject(&mut self, now: DateTime<Utc>, by: &str, reason: RejectReason) {
        self.status = ClaimStatus::Rejected;
        self.due_at = None;
        self.paused_left_ms = None;
        self.changed(now);
        self.detail.reject_reason = Some(reason);
        self.detail.decided_at = Some(now);
        self.detail.decided_by = by.to_owned();
        self.detail.auto_decided = false;
    }

    /// Asks the branch for `missing`; the deadline pauses with `left` working time.
    pub fn request_info(&mut self, now: DateTime<Utc>, left: Duration, missing: Vec<MissingInfo>) {
        self.status = ClaimStatus::InfoRequested;
        self.paused_left_ms = Some(left.num_milliseconds());
        self.due_at = None;
        self.changed(now);
        self.detail.missing_info = missing;
    }

    /// Back to PENDING with the information provided; the deadline resumes at `due`.
    pub fn resume(&mut self, now: DateTime<Utc>, due: DateTime<Utc>) {
        self.status = ClaimStatus::Pending;
        self.due_at = Some(due);
        self.paused_left_ms = None;
        self.changed(now);
        self.detail.missing_info.clear();
    }

    /// The review deadline was re-derived at `now` (the calendar or the policy changed): `due`
    /// is the clock's (running: the deadline; paused: the instant the time ran out, if it did
    /// before the pause), `left` the time a paused clock keeps. A breach announced before that no
    /// longer holds is withdrawn, the escalation made for it taken back: true. One that still
    /// holds is kept for the new deadline, so it is not announced twice. The version stays:
    /// nobody changed the claim, and a reviewer deciding meanwhile is not stale.
    pub fn rederive(
        &mut self,
        now: DateTime<Utc>,
        due: Option<DateTime<Utc>>,
        left: Duration,
    ) -> bool {
        let breached = match self.status {
            ClaimStatus::Pending => {
                self.due_at = due;
                due.filter(|d| *d < now)
            }
            ClaimStatus::InfoRequested => {
                self.paused_left_ms = Some(left.num_milliseconds());
                due
            }
            _ => return false,
        };
        if self.breach_announced_for.is_none() {
            return false;
        }
        match breached {
            Some(d) => {
                self.breach_announced_for = Some(d);
                false
            }
            None => {
                self.breach_announced_for = None;
                self.escalated = false;
                true
            }
        }
    }

    /// The deadline `due` passed undecided and the policy escalates: flagged, still PENDING.
    pub fn escalate(&mut self, now: DateTime<Utc>, due: DateTime<Utc>) {
        self.escalated = true;
        self.breach_announced_for = Some(due);
        self.changed(now);
    }

    /// The request was cancelled: the claim closes with `note` and its deadline stops, whether
    /// it waited for a decision or was approved. Whether it changed (a rejected or cancelled
    /// claim stays as it is).
    pub fn cancel(&mut self, now: DateTime<Utc>, note: String) -> bool {
        if !self.status.can_cancel() {
            return false;
        }
        self.status = ClaimStatus::Cancelled;
        self.due_at = None;
        self.paused_left_ms = None;
        self.changed(now);
        self.detail.missing_info.clear();
        self.detail.note = note;
        true
    }
}

/// What a change of a claim announces (the mapping makes each the catalogue's event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimEvent {
    /// `claims.claim.opened`.
    Opened,
    /// `claims.claim.approved`.
    Approved { at: DateTime<Utc> },
    /// `claims.claim.rejected`: reason, note and reviewer are the claim's.
    Rejected { at: DateTime<Utc> },
    /// `claims.claim.info_requested`: what is missing and the note are the claim's.
    InfoRequested { at: DateTime<Utc>, by: String },
    /// `claims.claim.sla_breached`.
    SlaBreached {
        due: DateTime<Utc>,
        at: DateTime<Utc>,
        action: super::policy::LapseAction,
    },
    /// `claims.claim.deadline_changed`: the review deadline was re-derived and moved.
    DeadlineChanged(aftersales_platform::sla::Move),
    /// `claims.claim.sla_breach_withdrawn`: the announced breach no longer holds.
    SlaBreachWithdrawn(aftersales_platform::sla::Move),
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
                !matches!(s, ClaimStatus::Rejected | ClaimStatus::Cancelled),
                "{s}"
            );
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn claim(status: ClaimStatus) -> Claim {
        let mut c = Claim::cancelled_before_opening(
            "AS-2611-SH01-000042",
            "SH01",
            at("2026-11-30T09:00:00Z"),
            String::new(),
        );
        c.status = status;
        c.due_at = status.deadline_runs().then(|| at("2026-12-02T09:00:00Z"));
        c.paused_left_ms = (status == ClaimStatus::InfoRequested).then_some(3_600_000);
        c
    }

    #[test]
    fn a_cancellation_closes_a_pending_waiting_or_approved_claim_and_stops_its_deadline() {
        let now = at("2026-11-30T10:00:00Z");
        for s in [
            ClaimStatus::Pending,
            ClaimStatus::InfoRequested,
            ClaimStatus::Approved,
        ] {
            let mut c = claim(s);
            assert!(c.cancel(now, "request cancelled".into()), "{s}");
            assert_eq!(c.status, ClaimStatus::Cancelled);
            assert_eq!((c.due_at, c.paused_left_ms), (None, None));
            assert_eq!(c.version, 2, "a change bumps the version");
            assert_eq!(c.updated_at, now);
            assert_eq!(c.detail.note, "request cancelled");
            assert!(!c.status.deadline_runs());
        }
    }

    #[test]
    fn a_rejected_or_cancelled_claim_stays_as_it_is_when_the_request_is_cancelled() {
        for s in [ClaimStatus::Rejected, ClaimStatus::Cancelled] {
            let mut c = claim(s);
            let before = c.clone();
            assert!(!c.cancel(at("2026-11-30T10:00:00Z"), "again".into()), "{s}");
            assert_eq!(c, before);
        }
    }

    #[test]
    fn the_detail_round_trips_through_its_stored_json() {
        let mut c = claim(ClaimStatus::Approved);
        c.detail.kind = Some(Kind::Exchange);
        c.detail.recommendation = Some(Recommendation::Reject(RejectReason::ReturnWindowExpired));
        c.detail.product = Some(Product {
            category: "television".into(),
            invoice_date: NaiveDate::from_ymd_opt(2026, 10, 2),
            ..Default::default()
        });
        c.detail.lines = vec![ClaimLine {
            part_no: "PWR-55-01".into(),
            quantity: 1,
            class: PartClass::KeyPart,
            coverage: Coverage::Paid,
            window: None,
            fee: Some(Money {
                currency: "CNY".into(),
                minor: 45_000,
            }),
            rule: "misuse".into(),
        }];
        let json = serde_json::to_value(&c.detail).unwrap();
        assert_eq!(json["recommendation"]["reject"], "return_window_expired");
        assert_eq!(json["lines"][0]["class"], "key_part");
        let back: ClaimDetail = serde_json::from_value(json).unwrap();
        assert_eq!(back, c.detail);
        // A detail written before a field existed still reads.
        let old: ClaimDetail = serde_json::from_str(r#"{"note":"x"}"#).unwrap();
        assert_eq!(old.note, "x");
    }
}
