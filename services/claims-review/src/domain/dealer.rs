//! Dealers and agents: the party with its contract terms, a batch of completed repairs decided
//! line by line (the warranty policy as for a customer's claim, then the dealer rules of the
//! policy data), what each approved line is paid, the goods shipped to a dealer and what an
//! order of its own costs it, and the statement periods. Pure: the service hands in what the
//! store knows about earlier claims of the same serials.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::claim::Product;
use super::evaluate::{self, ClaimInput, Coverage, Kind, Recommendation};
use super::policy::Policy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DealerKind {
    Dealer,
    Agent,
}

impl DealerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DealerKind::Dealer => "dealer",
            DealerKind::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "dealer" => Some(DealerKind::Dealer),
            "agent" => Some(DealerKind::Agent),
            _ => None,
        }
    }
}

/// A dealer's contract terms (amounts in minor units of the policy's currency).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Terms {
    pub labour_rate_per_hour_minor: i64,
    /// Per product category (lower-case).
    pub standard_labour_minutes: BTreeMap<String, u32>,
    pub default_labour_minutes: u32,
    /// Basis points added to each part's list price.
    pub parts_margin_bp: u32,
    pub old_part_return_days: u32,
    pub payment_days: u32,
    pub advance_exchange_return_days: u32,
}

impl Terms {
    /// The standard labour time of `category`.
    pub fn standard_minutes(&self, category: &str) -> u32 {
        self.standard_labour_minutes
            .get(&category.trim().to_lowercase())
            .copied()
            .unwrap_or(self.default_labour_minutes)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dealer {
    pub code: String,
    pub name: String,
    pub kind: DealerKind,
    pub branch: String,
    pub terms: Terms,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartUsed {
    pub part_no: String,
    pub quantity: u32,
    pub faulty_serial: String,
    pub new_serial: String,
}

/// One completed repair as the dealer claims it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineInput {
    pub product: Product,
    pub fault_description: String,
    pub parts: Vec<PartUsed>,
    pub labour_minutes: u32,
    pub repaired_on: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    Approved,
    Rejected,
    ChargedBack,
}

impl LineStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LineStatus::Approved => "approved",
            LineStatus::Rejected => "rejected",
            LineStatus::ChargedBack => "charged_back",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            LineStatus::Approved,
            LineStatus::Rejected,
            LineStatus::ChargedBack,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineReason {
    None,
    OutOfWarranty,
    DuplicateSerial,
    AlreadyClaimed,
    OldPartNotReturned,
    OldPartNoFault,
    OldPartWrong,
    NotCovered,
}

impl LineReason {
    pub const ALL: [LineReason; 8] = [
        LineReason::None,
        LineReason::OutOfWarranty,
        LineReason::DuplicateSerial,
        LineReason::AlreadyClaimed,
        LineReason::OldPartNotReturned,
        LineReason::OldPartNoFault,
        LineReason::OldPartWrong,
        LineReason::NotCovered,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LineReason::None => "",
            LineReason::OutOfWarranty => "out_of_warranty",
            LineReason::DuplicateSerial => "duplicate_serial",
            LineReason::AlreadyClaimed => "already_claimed",
            LineReason::OldPartNotReturned => "old_part_not_returned",
            LineReason::OldPartNoFault => "old_part_no_fault",
            LineReason::OldPartWrong => "old_part_wrong",
            LineReason::NotCovered => "not_covered",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        LineReason::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A decided line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub line_no: u32,
    pub input: LineInput,
    pub status: LineStatus,
    pub reason: LineReason,
    pub explanation: Vec<String>,
    pub labour_minutes_paid: u32,
    pub labour_minor: i64,
    pub parts_minor: i64,
    pub charged_back_minor: i64,
    /// YYYY-MM of the statement the approval is on ("" when rejected).
    pub period: String,
    pub charge_back_period: String,
}

impl Line {
    /// What the approval pays (labour + parts), 0 for a rejected line.
    pub fn amount(&self) -> i64 {
        match self.status {
            LineStatus::Rejected => 0,
            _ => self.labour_minor + self.parts_minor,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub batch_id: uuid::Uuid,
    pub dealer_code: String,
    pub branch: String,
    pub policy_version: String,
    pub currency: String,
    pub decided_at: DateTime<Utc>,
    pub old_parts_due_at: DateTime<Utc>,
    pub lines: Vec<Line>,
}

impl Batch {
    /// The approved lines' amounts as decided (charge-backs are separate entries).
    pub fn approved_total(&self) -> i64 {
        self.lines
            .iter()
            .filter(|l| l.status != LineStatus::Rejected)
            .map(Line::amount)
            .sum()
    }

    pub fn count(&self, status: LineStatus) -> u32 {
        self.lines.iter().filter(|l| l.status == status).count() as u32
    }
}

/// An earlier claim of a serial, as the store knows it (or an earlier line of the same batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prior {
    pub serial: String,
    pub repaired_on: NaiveDate,
    /// Where it was claimed: "batch <id> line <n>".
    pub reference: String,
    /// The period of the statement it was settled on, if that statement is issued.
    pub settled_in: Option<String>,
}

/// `a × b / d`, rounded half up, for non-negative amounts.
fn mul_div(a: i64, b: i64, d: i64) -> i64 {
    if d == 0 {
        return 0;
    }
    (a * b + d / 2) / d
}

/// Decides one line: the warranty policy on the repair day (as a repair of the listed parts),
/// then the dealer rules: the same repair already claimed, the same serial claimed within the
/// policy's duplicate window, labour paid at most at the standard time. `priors` are the earlier
/// non-rejected claims of the line's serial.
pub fn decide_line(
    policy: &Policy,
    terms: &Terms,
    line_no: u32,
    input: LineInput,
    priors: &[Prior],
) -> Line {
    let parts: Vec<(String, u32)> = input
        .parts
        .iter()
        .map(|p| (p.part_no.clone(), p.quantity))
        .collect();
    let claim = ClaimInput {
        kind: Kind::Repair,
        category: input.product.category.clone(),
        invoice_date: input.product.invoice_date,
        receipt_date: input.product.receipt_date,
        factory_date: input.product.factory_date,
        service_contract_no: input.product.service_contract_no.clone(),
        misuse_suspected: false,
        parts,
        on: input.repaired_on,
        payment_on_record: true,
    };
    let e = evaluate::evaluate(policy, &claim);
    let mut explanation = e.explanation.clone();
    let mut line = Line {
        line_no,
        input,
        status: LineStatus::Rejected,
        reason: LineReason::None,
        explanation: Vec::new(),
        labour_minutes_paid: 0,
        labour_minor: 0,
        parts_minor: 0,
        charged_back_minor: 0,
        period: String::new(),
        charge_back_period: String::new(),
    };
    let rejected = |mut line: Line, reason, explanation: Vec<String>| {
        line.status = LineStatus::Rejected;
        line.reason = reason;
        line.explanation = explanation;
        line
    };
    if let Recommendation::Reject(r) = e.recommendation {
        explanation.push(format!(
            "[dealer_warranty] the warranty policy rejects the repair ({}): not paid",
            serde_json::to_value(r)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        ));
        return rejected(line, LineReason::NotCovered, explanation);
    }
    let paid: Vec<&evaluate::Line> = e
        .lines
        .iter()
        .filter(|l| l.coverage == Coverage::Paid)
        .collect();
    let outside = if e.lines.is_empty() {
        e.coverage == Coverage::Paid
    } else {
        !paid.is_empty()
    };
    if outside {
        let what = if paid.is_empty() {
            "the unit".to_owned()
        } else {
            paid.iter()
                .map(|l| l.part_no.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        explanation.push(format!(
            "[dealer_warranty] {what} out of warranty on {}: a paid repair is the dealer's own business, not claimed",
            line.input.repaired_on
        ));
        return rejected(line, LineReason::OutOfWarranty, explanation);
    }
    let serial = line.input.product.serial.clone();
    if let Some(p) = priors
        .iter()
        .find(|p| p.repaired_on == line.input.repaired_on)
    {
        let settled = p
            .settled_in
            .as_ref()
            .map(|m| format!(", settled on the statement of {m}"))
            .unwrap_or_default();
        explanation.push(format!(
            "[dealer_already_claimed] the repair of {serial} on {} is already claimed ({}{settled})",
            line.input.repaired_on, p.reference
        ));
        return rejected(line, LineReason::AlreadyClaimed, explanation);
    }
    let window = policy.dealers.duplicate_window_days as i64;
    if let Some(p) = priors
        .iter()
        .find(|p| (line.input.repaired_on - p.repaired_on).num_days().abs() <= window)
    {
        explanation.push(format!(
            "[dealer_duplicate_serial] {serial} was claimed for a repair on {} ({}), within {window} days of this one",
            p.repaired_on, p.reference
        ));
        return rejected(line, LineReason::DuplicateSerial, explanation);
    }
    let standard = terms.standard_minutes(&line.input.product.category);
    let minutes = line.input.labour_minutes.min(standard);
    if line.input.labour_minutes > standard {
        explanation.push(format!(
            "[dealer_standard_labour] {} labour minutes claimed, {standard} standard for {}: {standard} paid",
            line.input.labour_minutes, line.input.product.category
        ));
    }
    let labour = mul_div(minutes as i64, terms.labour_rate_per_hour_minor, 60);
    let category = line.input.product.category.clone();
    let parts: i64 = line
        .input
        .parts
        .iter()
        .map(|p| {
            let each = policy
                .price(&category, &p.part_no)
                .unwrap_or_else(|| policy.fee(&category, &p.part_no, 1));
            mul_div(
                each * p.quantity as i64,
                10_000 + terms.parts_margin_bp as i64,
                10_000,
            )
        })
        .sum();
    explanation.push(format!(
        "[dealer_paid] approved: labour {minutes} min at {} per hour = {labour}, parts {parts} (list price + {} bp)",
        terms.labour_rate_per_hour_minor, terms.parts_margin_bp
    ));
    line.status = LineStatus::Approved;
    line.explanation = explanation;
    line.labour_minutes_paid = minutes;
    line.labour_minor = labour;
    line.parts_minor = parts;
    line
}

/// Decides every line in order; an approved line is a prior of the later lines of the batch.
/// `priors` holds the earlier claims of the batch's serials from the store.
pub fn decide_batch(
    policy: &Policy,
    terms: &Terms,
    batch_id: uuid::Uuid,
    inputs: Vec<LineInput>,
    mut priors: Vec<Prior>,
) -> Vec<Line> {
    let mut lines = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.into_iter().enumerate() {
        let line_no = i as u32 + 1;
        let serial = input.product.serial.clone();
        let of_serial: Vec<Prior> = priors
            .iter()
            .filter(|p| p.serial == serial)
            .cloned()
            .collect();
        let line = decide_line(policy, terms, line_no, input, &of_serial);
        if line.status == LineStatus::Approved {
            priors.push(Prior {
                serial,
                repaired_on: line.input.repaired_on,
                reference: format!("batch {batch_id} line {line_no}"),
                settled_in: None,
            });
        }
        lines.push(line);
    }
    lines
}

/// The statement period (`YYYY-MM`) of the local day of `at`.
pub fn period_of(at: DateTime<Utc>, offset: FixedOffset) -> String {
    let d = at.with_timezone(&offset).date_naive();
    format!("{:04}-{:02}", d.year(), d.month())
}

/// The month after `period` (`YYYY-MM`); `None` when it is not one.
pub fn next_period(period: &str) -> Option<String> {
    let first = NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d").ok()?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    Some(format!("{:04}-{:02}", next.year(), next.month()))
}

/// `period` (`YYYY-MM`) parsed to its first day.
pub fn period_start(period: &str) -> Option<NaiveDate> {
    let p = period.trim();
    if p.len() != 7 {
        return None;
    }
    NaiveDate::parse_from_str(&format!("{p}-01"), "%Y-%m-%d").ok()
}

/// One line of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: EntryKind,
    pub reference: String,
    pub serial: String,
    pub description: String,
    /// Credited positive, charged negative.
    pub amount_minor: i64,
    pub parts_qty: u32,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Claim,
    ChargeBack,
    AdvanceExchangeOverdue,
    /// Parts the dealer ordered, shipped: owed by it, but not a charge (its own total).
    PartsOrder,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Claim => "claim",
            EntryKind::ChargeBack => "charge_back",
            EntryKind::AdvanceExchangeOverdue => "advance_exchange_overdue",
            EntryKind::PartsOrder => "parts_order",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            EntryKind::Claim,
            EntryKind::ChargeBack,
            EntryKind::AdvanceExchangeOverdue,
            EntryKind::PartsOrder,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// What goods shipped to a dealer are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsignmentKind {
    /// Parts it ordered for its own workshop: on its statement, with its parts margin.
    DealerOrder,
    /// The good unit of an advance exchange: counted as shipped, charged only if the defective
    /// unit is late (`warehouse.advance_exchange.overdue`).
    AdvanceExchange,
}

impl ConsignmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsignmentKind::DealerOrder => "dealer_order",
            ConsignmentKind::AdvanceExchange => "advance_exchange",
        }
    }
}

/// A dealer's consignment handed to a carrier (`logistics.consignment.dispatched`), parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatch {
    pub consignment_id: String,
    pub kind: ConsignmentKind,
    pub dealer_code: String,
    pub shipment_no: String,
    /// The lines' quantities summed: what the month's `parts_shipped` counts.
    pub units: u32,
    /// The warehouse's value (unit cost × quantity); 0 for an exchange, whose value the dealer
    /// does not pay.
    pub value_minor: i64,
    /// The value's currency as the event names it ("" when it does not).
    pub currency: String,
    /// Decides the month (the local one, or the first later one not issued).
    pub dispatched_at: DateTime<Utc>,
}

impl Dispatch {
    /// What the dealer owes for it (a positive amount): an order's value plus the contract's
    /// parts margin, rounded half up as a claim line's parts are; nothing for an exchange.
    /// `None` when the amount does not fit.
    pub fn owed_minor(&self, terms: &Terms) -> Option<i64> {
        match self.kind {
            ConsignmentKind::AdvanceExchange => Some(0),
            ConsignmentKind::DealerOrder => {
                let v = i128::from(self.value_minor);
                let factor = 10_000 + i128::from(terms.parts_margin_bp);
                i64::try_from((v * factor + 5_000) / 10_000).ok()
            }
        }
    }
}

/// What the store counts for a month besides its entries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonthCounts {
    /// What earlier issued months left owing (their negative nets), as a positive amount.
    pub arrears_minor: i64,
    pub old_parts_returned: u32,
    /// Units of the consignments dispatched to the dealer on the month.
    pub parts_shipped: u32,
}

/// A month's statement of one dealer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub dealer_code: String,
    pub period: String,
    pub currency: String,
    pub issued_at: Option<DateTime<Utc>>,
    pub entries: Vec<Entry>,
    pub claims_total_minor: i64,
    /// Charges as a positive amount.
    pub charges_total_minor: i64,
    /// Parts orders shipped, as a positive amount (statements issued before they existed
    /// have none).
    #[serde(default)]
    pub parts_orders_total_minor: i64,
    pub net_minor: i64,
    pub arrears_minor: i64,
    pub new_parts_sent: u32,
    pub old_parts_returned: u32,
    #[serde(default)]
    pub parts_shipped: u32,
    pub payment_due: Option<NaiveDate>,
}

impl Statement {
    /// The statement of `entries`: totals (net = claims - charges - parts orders), the arrears
    /// carried from earlier issued months (what their negative nets left owing), the parts
    /// counted and, once issued, the payment date.
    pub fn compute(
        dealer_code: &str,
        period: &str,
        currency: &str,
        entries: Vec<Entry>,
        counts: MonthCounts,
        issued: Option<(DateTime<Utc>, u32, FixedOffset)>,
    ) -> Statement {
        let claims: i64 = entries
            .iter()
            .filter(|e| e.kind != EntryKind::PartsOrder && e.amount_minor > 0)
            .map(|e| e.amount_minor)
            .sum();
        let charges: i64 = entries
            .iter()
            .filter(|e| e.kind != EntryKind::PartsOrder && e.amount_minor < 0)
            .map(|e| -e.amount_minor)
            .sum();
        let parts_orders: i64 = entries
            .iter()
            .filter(|e| e.kind == EntryKind::PartsOrder)
            .map(|e| -e.amount_minor)
            .sum();
        let new_parts = entries
            .iter()
            .filter(|e| e.kind == EntryKind::Claim)
            .map(|e| e.parts_qty)
            .sum();
        Statement {
            dealer_code: dealer_code.to_owned(),
            period: period.to_owned(),
            currency: currency.to_owned(),
            issued_at: issued.map(|(at, _, _)| at),
            entries,
            claims_total_minor: claims,
            charges_total_minor: charges,
            parts_orders_total_minor: parts_orders,
            net_minor: claims - charges - parts_orders,
            arrears_minor: counts.arrears_minor,
            new_parts_sent: new_parts,
            old_parts_returned: counts.old_parts_returned,
            parts_shipped: counts.parts_shipped,
            payment_due: issued.and_then(|(at, days, offset)| {
                at.with_timezone(&offset)
                    .date_naive()
                    .checked_add_days(chrono::Days::new(days as u64))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> Terms {
        Terms {
            labour_rate_per_hour_minor: 12_000,
            standard_labour_minutes: [("television".to_owned(), 60)].into(),
            default_labour_minutes: 45,
            parts_margin_bp: 1_000,
            old_part_return_days: 30,
            payment_days: 15,
            advance_exchange_return_days: 15,
        }
    }

    fn input(serial: &str, invoice: &str, repaired: &str, minutes: u32) -> LineInput {
        LineInput {
            product: Product {
                category: "television".into(),
                model: "X55".into(),
                serial: serial.into(),
                invoice_date: NaiveDate::parse_from_str(invoice, "%Y-%m-%d").ok(),
                ..Product::default()
            },
            fault_description: "no picture".into(),
            parts: vec![PartUsed {
                part_no: "PWR-55-01".into(),
                quantity: 1,
                faulty_serial: format!("F-{serial}-{repaired}"),
                new_serial: format!("N-{serial}"),
            }],
            labour_minutes: minutes,
            repaired_on: NaiveDate::parse_from_str(repaired, "%Y-%m-%d").unwrap(),
        }
    }

    #[test]
    fn an_in_warranty_repair_is_paid_labour_capped_at_the_standard_and_parts_with_the_margin() {
        let policy = Policy::demo().unwrap();
        let price = policy
            .price("television", "PWR-55-01")
            .unwrap_or_else(|| policy.fee("television", "PWR-55-01", 1));
        let l = decide_line(
            &policy,
            &terms(),
            1,
            input("SN1", "2026-06-01", "2026-11-10", 90),
            &[],
        );
        assert_eq!(l.status, LineStatus::Approved, "{:?}", l.explanation);
        assert_eq!(l.labour_minutes_paid, 60);
        assert_eq!(l.labour_minor, 12_000);
        assert_eq!(l.parts_minor, price + price / 10);
        assert!(l.explanation.iter().any(|e| e.contains("60 paid")));
    }

    #[test]
    fn out_of_warranty_duplicates_and_repeats_are_rejected_with_their_reason() {
        let policy = Policy::demo().unwrap();
        let id = uuid::Uuid::nil();
        let lines = decide_batch(
            &policy,
            &terms(),
            id,
            vec![
                input("SN1", "2026-06-01", "2026-11-10", 30),
                input("SN2", "2024-01-01", "2026-11-10", 30),
                input("SN1", "2026-06-01", "2026-11-20", 30),
                input("SN1", "2026-06-01", "2026-11-10", 30),
            ],
            vec![],
        );
        let got: Vec<_> = lines.iter().map(|l| (l.status, l.reason)).collect();
        assert_eq!(
            got,
            vec![
                (LineStatus::Approved, LineReason::None),
                (LineStatus::Rejected, LineReason::OutOfWarranty),
                (LineStatus::Rejected, LineReason::DuplicateSerial),
                (LineStatus::Rejected, LineReason::AlreadyClaimed),
            ]
        );
        let settled = Prior {
            serial: "SN3".into(),
            repaired_on: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            reference: "batch x line 1".into(),
            settled_in: Some("2026-10".into()),
        };
        let l = decide_line(
            &policy,
            &terms(),
            1,
            input("SN3", "2026-06-01", "2026-10-01", 30),
            &[settled],
        );
        assert_eq!(l.reason, LineReason::AlreadyClaimed);
        assert!(
            l.explanation
                .last()
                .unwrap()
                .contains("settled on the statement of 2026-10")
        );
    }

    fn entry(kind: EntryKind, amount_minor: i64, parts_qty: u32) -> Entry {
        Entry {
            kind,
            reference: format!("{}-{amount_minor}", kind.as_str()),
            serial: String::new(),
            description: String::new(),
            amount_minor,
            parts_qty,
            at: DateTime::parse_from_rfc3339("2026-11-10T02:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    #[test]
    fn an_order_owes_its_value_plus_the_margin_rounded_half_up_and_an_exchange_nothing() {
        let mut d = Dispatch {
            consignment_id: "DO-1".into(),
            kind: ConsignmentKind::DealerOrder,
            dealer_code: "D-1".into(),
            shipment_no: "CS-2611-000001".into(),
            units: 5,
            value_minor: 100_000,
            currency: "CNY".into(),
            dispatched_at: Utc::now(),
        };
        assert_eq!(d.owed_minor(&terms()), Some(110_000));
        // 12 345 + 10 % = 13 579.5, half up.
        d.value_minor = 12_345;
        assert_eq!(d.owed_minor(&terms()), Some(13_580));
        d.value_minor = i64::MAX;
        assert_eq!(d.owed_minor(&terms()), None);
        d.kind = ConsignmentKind::AdvanceExchange;
        assert_eq!(d.owed_minor(&terms()), Some(0));
    }

    #[test]
    fn parts_orders_have_their_own_total_and_come_off_the_net() {
        let s = Statement::compute(
            "D-1",
            "2026-11",
            "CNY",
            vec![
                entry(EntryKind::Claim, 58_500, 1),
                entry(EntryKind::AdvanceExchangeOverdue, -20_000, 0),
                entry(EntryKind::PartsOrder, -110_000, 5),
            ],
            MonthCounts {
                arrears_minor: 7,
                old_parts_returned: 1,
                parts_shipped: 6,
            },
            None,
        );
        assert_eq!(
            (
                s.claims_total_minor,
                s.charges_total_minor,
                s.parts_orders_total_minor,
                s.net_minor
            ),
            (58_500, 20_000, 110_000, 58_500 - 20_000 - 110_000)
        );
        assert_eq!((s.new_parts_sent, s.parts_shipped), (1, 6));
        assert_eq!((s.arrears_minor, s.old_parts_returned), (7, 1));
    }

    #[test]
    fn a_statement_issued_before_parts_orders_reads_with_none() {
        let s = Statement::compute(
            "D-1",
            "2026-10",
            "CNY",
            vec![entry(EntryKind::Claim, 100, 1)],
            MonthCounts::default(),
            None,
        );
        let mut stored = serde_json::to_value(&s).unwrap();
        let fields = stored.as_object_mut().unwrap();
        fields.remove("parts_orders_total_minor");
        fields.remove("parts_shipped");
        let read: Statement = serde_json::from_value(stored).unwrap();
        assert_eq!(read, s);
    }

    #[test]
    fn periods_follow_the_local_month() {
        let offset = FixedOffset::east_opt(8 * 3600).unwrap();
        let at = DateTime::parse_from_rfc3339("2026-11-30T16:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(period_of(at, offset), "2026-12");
        assert_eq!(next_period("2026-12").as_deref(), Some("2027-01"));
        assert_eq!(period_start("2026-13"), None);
    }
}
