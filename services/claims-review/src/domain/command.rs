//! What claims-review is asked to do, as the service receives it: intake's submission (parsed
//! from its event by the handler) and what a reviewer or a branch asks (parsed by the gRPC
//! layer). Parsed once at the edge, identifiers checked by the mesh's one rule
//! ([`aftersales_platform::ids`]), every field valid on its own. What needs the stored claim
//! (its version, its status, its lines) the service checks.
//!
//! The types a claim keeps ([`Money`], [`Region`], [`Urgency`], [`MissingInfo`], [`Payment`])
//! are stored in its JSON: their serde names are a storage format (add, never rename).

use aftersales_platform::ids::{BranchCode, PartNo, Phone, RequestNo, Serial};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::claim::{Customer, Product};
use super::{ClaimInput, ClaimStatus, Coverage, Kind, RejectReason};

/// An amount in a currency's minor unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// ISO 4217, upper-case (`CNY`).
    pub currency: String,
    pub minor: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    Urban,
    Suburban,
    Remote,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Low,
    Normal,
    High,
    Critical,
}

/// A request intake accepted (`intake.request.submitted`): what its claim is opened from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub request_no: RequestNo,
    pub branch: BranchCode,
    pub kind: Kind,
    /// `None` where the producer left it unspecified.
    pub urgency: Option<Urgency>,
    pub customer: Customer,
    pub product: Product,
    pub fault_description: String,
    pub photos: Vec<String>,
    /// Part number (trimmed, upper-case) and quantity, as requested.
    pub parts: Vec<(String, u32)>,
    pub misuse_suspected: bool,
    /// When intake accepted it: windows are judged on that day. `None`: when it is opened.
    pub submitted_at: Option<DateTime<Utc>>,
}

impl Submission {
    /// The evaluation's input, judged on `on`.
    pub fn input(&self, on: NaiveDate) -> ClaimInput {
        ClaimInput {
            kind: self.kind,
            category: self.product.category.clone(),
            invoice_date: self.product.invoice_date,
            receipt_date: self.product.receipt_date,
            factory_date: self.product.factory_date,
            service_contract_no: self.product.service_contract_no.clone(),
            misuse_suspected: self.misuse_suspected,
            parts: self.parts.clone(),
            on,
            // intake takes no payment: the branch provides it when the reviewer asks.
            payment_on_record: false,
        }
    }
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Card,
    BankTransfer,
    Wallet,
    Cash,
    Marketplace,
    Other,
}

/// How the customer paid: a refund goes back the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
