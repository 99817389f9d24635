//! What a reviewer or a branch asks of claims-review, as the service receives it: parsed once at
//! the edge (the gRPC layer), identifiers checked by the mesh's one rule
//! ([`aftersales_platform::ids`]), every field valid on its own. What needs the stored claim
//! (its version, its status, its lines) the service checks.

use aftersales_platform::ids::{BranchCode, PartNo, Phone, RequestNo, Serial};
use chrono::{DateTime, NaiveDate, Utc};

use super::{ClaimStatus, Coverage, RejectReason};

/// An amount in a currency's minor unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    /// ISO 4217, upper-case (`CNY`).
    pub currency: String,
    pub minor: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    Urban,
    Suburban,
    Remote,
}

/// Where parts or a replacement go, when the reviewer sends them elsewhere than the customer's
/// own address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub recipient: String,
    pub phone: Phone,
    pub address: String,
    pub region: Region,
    /// The branch handling the delivery; `None`: the claim's own.
    pub branch: Option<BranchCode>,
}

/// What a reviewer may ask the branch for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingInfo {
    Invoice,
    Receipt,
    Photos,
    Serial,
    PurchaseDate,
    ServiceContract,
    FaultDescription,
    Payment,
    PartNumbers,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentMethod {
    Card,
    BankTransfer,
    Wallet,
    Cash,
    Marketplace,
    Other,
}

/// How the customer paid: a refund goes back the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub method: PaymentMethod,
    pub reference: String,
    pub amount: Option<Money>,
    pub payer: String,
}

/// A line as the reviewer approves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovedLine {
    pub part_no: PartNo,
    pub quantity: u32,
    /// `None`: as evaluated.
    pub coverage: Option<Coverage>,
    /// `None`: the policy's fee.
    pub fee: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approve {
        /// Empty: the claim's lines as evaluated.
        lines: Vec<ApprovedLine>,
        onsite_required: Option<bool>,
        ship_to: Option<Address>,
        /// A return for the customer's own reasons: the service fee applies, the pick-up is
        /// charged.
        own_reasons: bool,
    },
    Reject {
        reason: RejectReason,
    },
    RequestInfo {
        missing: Vec<MissingInfo>,
    },
}

/// A reviewer's decision, naming the claim's version the reviewer saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decide {
    pub idempotency_key: String,
    pub request_no: RequestNo,
    pub expected_version: u64,
    pub decision: Decision,
    pub note: String,
}

/// What the branch supplies; empty fields keep their value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub idempotency_key: String,
    pub request_no: RequestNo,
    pub invoice_no: String,
    pub invoice_date: Option<NaiveDate>,
    pub receipt_date: Option<NaiveDate>,
    pub serial: Option<Serial>,
    pub purchase_date: Option<NaiveDate>,
    pub service_contract_no: String,
    pub photos: Vec<String>,
    pub payment: Option<Payment>,
    pub fault_description: String,
    /// Empty: the lines stay as they are.
    pub parts: Vec<(PartNo, u32)>,
    pub note: String,
}

/// Where a claim stands in the queue's order (soonest due first, undated last and newest
/// first): the keyset a page continues after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueKey {
    pub due_at: Option<DateTime<Utc>>,
    pub opened_at: DateTime<Utc>,
    pub request_no: String,
}

/// One page of the review queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListClaims {
    /// The branch asked for; the caller's own scope narrows it further.
    pub branch: Option<BranchCode>,
    /// Never empty: the open queue (pending, info requested) unless asked otherwise.
    pub statuses: Vec<ClaimStatus>,
    pub due_before: Option<DateTime<Utc>>,
    pub escalated_only: bool,
    pub page_size: u64,
    /// `None`: the first page.
    pub after: Option<QueueKey>,
}
