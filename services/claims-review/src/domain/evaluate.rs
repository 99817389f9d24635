//! The policy evaluation of one claim: which date the warranty starts from, which window applies
//! to the request and to each part line, the coverage FREE / PAID / CONTRACT per line with the fee
//! for PAID, a recommendation, whether the policy decides alone, and the explanation: the rules
//! evaluated, in order, one sentence each, the last naming the rule that decided.

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::policy::{Category, PartClass, PartRule, Policy};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Replacement,
    Repair,
    Return,
    Exchange,
    Installation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    Free,
    Paid,
    Contract,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    Return,
    Exchange,
    WholeUnit,
    KeyPart,
    ServiceContract,
}

/// What the warranty start date was taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartSource {
    Invoice,
    Receipt,
    FactoryPlusGrace,
}

/// The fixed list of reasons a claim is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    NonReturnableCategory,
    ReturnWindowExpired,
    ExchangeWindowExpired,
    InvalidDocuments,
    SerialMismatch,
    Duplicate,
    PaidServiceDeclined,
    InfoNotProvided,
    NoFaultFound,
    FraudSuspected,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    Approve,
    Reject(RejectReason),
    /// The policy cannot decide alone.
    Review,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub kind: WindowKind,
    pub start: Option<(StartSource, NaiveDate)>,
    /// Last covered day, inclusive.
    pub end: Option<NaiveDate>,
    pub within: bool,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub part_no: String,
    pub quantity: u32,
    pub class: PartClass,
    pub coverage: Coverage,
    pub window: Window,
    /// For PAID lines: the fee for the whole line; 0 otherwise.
    pub fee_minor: i64,
    pub rule: String,
}

/// What the evaluation needs to know about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimInput {
    pub kind: Kind,
    pub category: String,
    pub invoice_date: Option<NaiveDate>,
    pub receipt_date: Option<NaiveDate>,
    pub factory_date: Option<NaiveDate>,
    /// A service contract number on file means a contract in force.
    pub service_contract_no: String,
    pub misuse_suspected: bool,
    pub parts: Vec<(String, u32)>,
    /// The day the claim is judged on (the request's submission, local date).
    pub on: NaiveDate,
    /// The original payment (route, reference, amount) is on record. A return is refunded to
    /// it, so a return without it is never approved automatically: a person asks the branch.
    pub payment_on_record: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub policy_version: String,
    pub currency: String,
    pub window: Window,
    pub lines: Vec<Line>,
    pub recommendation: Recommendation,
    /// The rule that decided, e.g. `key_part_window`.
    pub deciding_rule: String,
    pub explanation: Vec<String>,
    /// The policy approves without a person.
    pub auto_approve: bool,
    pub onsite_required: bool,
    pub pickup_required: bool,
    pub total_fee_minor: i64,
    /// Of the job as a whole: CONTRACT if a contract applies, FREE if every line is, else PAID.
    pub coverage: Coverage,
}

fn add_days(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_days(Days::new(n as u64))
        .unwrap_or(NaiveDate::MAX)
}

/// The last day of an `n`-month window starting on `d`: 12 months from 2026-10-02 end on
/// 2027-10-01.
fn months_end(d: NaiveDate, n: u32) -> Option<NaiveDate> {
    if n == 0 {
        return None;
    }
    d.checked_add_months(Months::new(n))
        .and_then(|e| e.pred_opt())
}

fn start_label(s: StartSource, d: NaiveDate) -> String {
    match s {
        StartSource::Invoice => format!("invoice {d}"),
        StartSource::Receipt => format!("receipt {d}"),
        StartSource::FactoryPlusGrace => format!("factory date + grace {d}"),
    }
}

fn years_or_months(n: u32) -> String {
    match n {
        12 => "1 year".into(),
        n if n % 12 == 0 => format!("{} years", n / 12),
        n => format!("{n} months"),
    }
}

struct Ctx<'a> {
    policy: &'a Policy,
    category: Option<&'a Category>,
    input: &'a ClaimInput,
    start: Option<(StartSource, NaiveDate)>,
    explanation: Vec<String>,
}

impl Ctx<'_> {
    fn say(&mut self, rule: &str, text: impl AsRef<str>) {
        self.explanation.push(format!("[{rule}] {}", text.as_ref()));
    }

    fn part(&self, part_no: &str) -> (PartClass, Option<&PartRule>) {
        match self.category {
            Some(c) => match c.parts.get(part_no) {
                Some(r) => (r.class, Some(r)),
                None => (c.default_class, None),
            },
            None => (PartClass::Unit, None),
        }
    }

    fn fee(&self, rule: Option<&PartRule>, quantity: u32) -> i64 {
        let each = rule
            .map(|r| r.fee_minor)
            .or(self.category.map(|c| c.default_fee_minor))
            .unwrap_or(0);
        each * quantity as i64
    }

    fn day_window(&self, kind: WindowKind, days: u32, name: &str) -> Window {
        match self.start {
            Some((src, d)) => {
                let end = add_days(d, days);
                Window {
                    kind,
                    start: self.start,
                    end: Some(end),
                    within: self.input.on >= d && self.input.on <= end,
                    label: format!(
                        "{name} {days} days from {}, until {end}",
                        start_label(src, d)
                    ),
                }
            }
            None => Window {
                kind,
                start: None,
                end: None,
                within: false,
                label: format!("{name} {days} days; no start date known"),
            },
        }
    }

    fn class_window(&self, class: PartClass) -> Window {
        let months = self.policy.windows.months(class);
        let (kind, name) = match class {
            PartClass::KeyPart => (WindowKind::KeyPart, "key part"),
            PartClass::Unit => (WindowKind::WholeUnit, "whole unit"),
            PartClass::Accessory => (WindowKind::WholeUnit, "accessory"),
            PartClass::Consumable => (WindowKind::WholeUnit, "consumable"),
        };
        match (self.start, months_end_opt(self.start, months)) {
            (Some((src, d)), Some(end)) => Window {
                kind,
                start: self.start,
                end: Some(end),
                within: self.input.on >= d && self.input.on <= end,
                label: format!(
                    "{name} {} from {}, until {end}",
                    years_or_months(months),
                    start_label(src, d)
                ),
            },
            (start, _) => Window {
                kind,
                start,
                end: None,
                within: false,
                label: if months == 0 {
                    format!("{name}: never covered")
                } else {
                    format!("{name} {}; no start date known", years_or_months(months))
                },
            },
        }
    }

    fn contract_window(&self) -> Window {
        Window {
            kind: WindowKind::ServiceContract,
            start: self.start,
            end: None,
            within: true,
            label: format!("service contract {}", self.input.service_contract_no.trim()),
        }
    }

    /// Every requested line with one coverage.
    fn lines_all(&self, coverage: Coverage, rule: &str, window: &Window) -> Vec<Line> {
        self.input
            .parts
            .iter()
            .map(|(part_no, quantity)| {
                let (class, r) = self.part(part_no);
                Line {
                    part_no: part_no.clone(),
                    quantity: *quantity,
                    class,
                    coverage,
                    window: window.clone(),
                    fee_minor: if coverage == Coverage::Paid {
                        self.fee(r, *quantity)
                    } else {
                        0
                    },
                    rule: rule.to_owned(),
                }
            })
            .collect()
    }
}

fn months_end_opt(start: Option<(StartSource, NaiveDate)>, months: u32) -> Option<NaiveDate> {
    start.and_then(|(_, d)| months_end(d, months))
}

/// Evaluates `input` against `policy`.
pub fn evaluate(policy: &Policy, input: &ClaimInput) -> Evaluation {
    let category_name = input.category.trim().to_lowercase();
    let mut ctx = Ctx {
        policy,
        category: policy.categories.get(&category_name),
        input,
        start: None,
        explanation: Vec::new(),
    };
    if ctx.category.is_none() {
        ctx.say(
            "unknown_category",
            format!(
                "Category {category_name:?} is not in policy {}: parts count as whole-unit parts and a person decides.",
                policy.version
            ),
        );
    }

    // 1. Where the warranty starts.
    ctx.start = if let Some(d) = input.invoice_date {
        ctx.say(
            "start_invoice",
            format!("The warranty starts on the invoice date {d}."),
        );
        Some((StartSource::Invoice, d))
    } else if let Some(d) = input.receipt_date {
        ctx.say(
            "start_receipt",
            format!("No invoice: the warranty starts on the receipt date {d}."),
        );
        Some((StartSource::Receipt, d))
    } else if let Some(f) = input.factory_date {
        let d = f
            .checked_add_months(Months::new(policy.no_document_grace_months))
            .unwrap_or(f);
        ctx.say(
            "start_factory_plus_grace",
            format!(
                "No invoice and no receipt: the warranty starts {} months after the factory date {f}, on {d}.",
                policy.no_document_grace_months
            ),
        );
        Some((StartSource::FactoryPlusGrace, d))
    } else {
        ctx.say(
            "no_start_date",
            "No invoice, receipt or factory date: no warranty window can be established.",
        );
        None
    };

    let contract = !input.service_contract_no.trim().is_empty();
    let returning = matches!(input.kind, Kind::Return | Kind::Exchange);
    let unit_window = ctx.class_window(PartClass::Unit);

    let (window, lines, recommendation, rule): (Window, Vec<Line>, Recommendation, String) =
        if input.misuse_suspected {
            let lines = ctx.lines_all(Coverage::Paid, "misuse", &unit_window);
            ctx.say(
                "misuse",
                "The agent flagged damage by misuse: the service is PAID at the fee schedule's prices, and a person confirms.",
            );
            (unit_window, lines, Recommendation::Review, "misuse".into())
        } else if returning && policy.non_returnable.contains(&category_name) {
            let lines = ctx.lines_all(Coverage::Paid, "non_returnable_category", &unit_window);
            ctx.say(
                "non_returnable_category",
                format!(
                    "Category {category_name:?} is non-returnable: no return or exchange; a paid repair is still possible."
                ),
            );
            (
                unit_window,
                lines,
                Recommendation::Reject(RejectReason::NonReturnableCategory),
                "non_returnable_category".into(),
            )
        } else if returning {
            let (kind, days, name, rule, expired) = if input.kind == Kind::Return {
                (
                    WindowKind::Return,
                    policy.windows.return_days,
                    "return",
                    "return_window",
                    RejectReason::ReturnWindowExpired,
                )
            } else {
                (
                    WindowKind::Exchange,
                    policy.windows.exchange_days,
                    "exchange",
                    "exchange_window",
                    RejectReason::ExchangeWindowExpired,
                )
            };
            let w = ctx.day_window(kind, days, name);
            if w.within {
                let lines = ctx.lines_all(Coverage::Free, rule, &w);
                ctx.say(
                    rule,
                    format!(
                        "{} on {}: inside the window ({}).",
                        capitalize(name),
                        input.on,
                        w.label
                    ),
                );
                (w, lines, Recommendation::Approve, rule.into())
            } else {
                let lines = ctx.lines_all(Coverage::Paid, rule, &w);
                let rule = format!("{rule}_expired");
                ctx.say(
                    &rule,
                    format!(
                        "{} on {}: outside the window ({}).",
                        capitalize(name),
                        input.on,
                        w.label
                    ),
                );
                (w, lines, Recommendation::Reject(expired), rule)
            }
        } else if contract {
            let w = ctx.contract_window();
            let lines = ctx.lines_all(Coverage::Contract, "service_contract", &w);
            ctx.say(
                "service_contract",
                format!(
                    "Service contract {} is on file: the job is covered by the contract.",
                    input.service_contract_no.trim()
                ),
            );
            (w, lines, Recommendation::Approve, "service_contract".into())
        } else {
            // Repair, replacement, installation: each line by its part class's window.
            let mut lines = Vec::new();
            let mut deciding: Option<String> = None;
            for (part_no, quantity) in &input.parts {
                let (class, r) = ctx.part(part_no);
                let w = ctx.class_window(class);
                let (coverage, rule, fee) = if w.within {
                    (Coverage::Free, format!("{}_window", class.as_str()), 0)
                } else {
                    (
                        Coverage::Paid,
                        format!("{}_window_expired", class.as_str()),
                        ctx.fee(r, *quantity),
                    )
                };
                ctx.say(
                    &rule,
                    format!(
                        "{part_no} ({}) on {}: {} the window ({}){}.",
                        class.as_str().replace('_', " "),
                        input.on,
                        if w.within { "inside" } else { "outside" },
                        w.label,
                        if coverage == Coverage::Paid {
                            format!(", PAID {} {}", fee, policy.currency)
                        } else {
                            ", FREE".into()
                        }
                    ),
                );
                if coverage == Coverage::Paid || deciding.is_none() {
                    deciding = Some(rule.clone());
                }
                lines.push(Line {
                    part_no: part_no.clone(),
                    quantity: *quantity,
                    class,
                    coverage,
                    window: w,
                    fee_minor: fee,
                    rule,
                });
            }
            let rule = match deciding {
                Some(r) => r,
                None => {
                    let r = if unit_window.within {
                        "unit_window"
                    } else {
                        "unit_window_expired"
                    };
                    ctx.say(
                        r,
                        format!(
                            "No part lines: the whole unit on {} is {} its window ({}).",
                            input.on,
                            if unit_window.within {
                                "inside"
                            } else {
                                "outside"
                            },
                            unit_window.label
                        ),
                    );
                    r.to_owned()
                }
            };
            let recommendation = if ctx.start.is_none() {
                Recommendation::Review
            } else {
                Recommendation::Approve
            };
            (unit_window, lines, recommendation, rule)
        };

    let recommendation = if ctx.category.is_none() && recommendation == Recommendation::Approve {
        Recommendation::Review
    } else {
        recommendation
    };

    let mut total_fee: i64 = lines.iter().map(|l| l.fee_minor).sum();
    // A PAID job with no part lines costs the category's default fee.
    let paid_without_lines =
        lines.is_empty() && !returning && !contract && (input.misuse_suspected || !window.within);
    if paid_without_lines {
        total_fee = ctx.category.map(|c| c.default_fee_minor).unwrap_or(0);
    }
    let coverage = if lines.is_empty() {
        if contract && !input.misuse_suspected && !returning {
            Coverage::Contract
        } else if paid_without_lines || recommendation != Recommendation::Approve {
            Coverage::Paid
        } else {
            Coverage::Free
        }
    } else if lines.iter().all(|l| l.coverage == Coverage::Contract) {
        Coverage::Contract
    } else if lines.iter().all(|l| l.coverage == Coverage::Free) {
        Coverage::Free
    } else {
        Coverage::Paid
    };

    let documents = input.invoice_date.is_some() || input.receipt_date.is_some() || contract;
    let auto = &policy.auto_approve;
    let refundable = input.kind != Kind::Return || input.payment_on_record;
    let auto_approve = auto.enabled
        && recommendation == Recommendation::Approve
        && (documents || !auto.require_documents)
        && total_fee <= auto.max_total_fee_minor
        && refundable;
    let onsite_required = matches!(input.kind, Kind::Repair | Kind::Installation)
        || (!returning
            && input
                .parts
                .iter()
                .any(|(p, _)| ctx.part(p).1.is_some_and(|r| r.onsite)));

    let verdict = match recommendation {
        Recommendation::Approve if auto_approve => "approve automatically".to_owned(),
        Recommendation::Approve => {
            let why = if !auto.enabled {
                "automatic approval is off"
            } else if !documents && auto.require_documents {
                "documents are incomplete"
            } else if !refundable {
                "the original payment, which the refund goes back to, is not on record"
            } else {
                "the fees exceed the automatic approval threshold"
            };
            format!("recommend approval; a person decides ({why})")
        }
        Recommendation::Reject(r) => format!("recommend rejection ({r:?}); a person decides"),
        Recommendation::Review => "a person reviews".to_owned(),
    };
    ctx.say(
        "decision",
        format!(
            "Decided by rule {rule} of policy {}: {verdict}; coverage {coverage:?}, fees {total_fee} {}.",
            policy.version, policy.currency
        ),
    );

    Evaluation {
        policy_version: policy.version.clone(),
        currency: policy.currency.clone(),
        window,
        lines,
        recommendation,
        deciding_rule: rule,
        explanation: ctx.explanation,
        auto_approve,
        onsite_required,
        pickup_required: returning,
        total_fee_minor: total_fee,
        coverage,
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn policy() -> Policy {
        Policy::demo().unwrap()
    }

    /// A television bought (invoice) on 2026-01-01, judged on `on`.
    fn tv(kind: Kind, on: &str, parts: &[&str]) -> ClaimInput {
        ClaimInput {
            kind,
            category: "television".into(),
            invoice_date: Some(d("2026-01-01")),
            receipt_date: None,
            factory_date: Some(d("2025-10-01")),
            service_contract_no: String::new(),
            misuse_suspected: false,
            parts: parts.iter().map(|p| (p.to_string(), 1)).collect(),
            on: d(on),
            payment_on_record: false,
        }
    }

    struct Case {
        name: &'static str,
        input: ClaimInput,
        recommendation: Recommendation,
        coverage: Coverage,
        rule: &'static str,
    }

    fn with(mut i: ClaimInput, f: impl FnOnce(&mut ClaimInput)) -> ClaimInput {
        f(&mut i);
        i
    }

    #[test]
    fn every_window_edge_decides_as_the_policy_says() {
        use Coverage::*;
        use Recommendation::*;
        let cases = vec![
            Case {
                name: "return on day 7",
                input: tv(Kind::Return, "2026-01-08", &[]),
                recommendation: Approve,
                coverage: Free,
                rule: "return_window",
            },
            Case {
                name: "return on day 8",
                input: tv(Kind::Return, "2026-01-09", &[]),
                recommendation: Reject(RejectReason::ReturnWindowExpired),
                coverage: Paid,
                rule: "return_window_expired",
            },
            Case {
                name: "exchange on day 30",
                input: tv(Kind::Exchange, "2026-01-31", &[]),
                recommendation: Approve,
                coverage: Free,
                rule: "exchange_window",
            },
            Case {
                name: "exchange on day 31",
                input: tv(Kind::Exchange, "2026-02-01", &[]),
                recommendation: Reject(RejectReason::ExchangeWindowExpired),
                coverage: Paid,
                rule: "exchange_window_expired",
            },
            Case {
                name: "unit part on the last day of year 1",
                input: tv(Kind::Replacement, "2026-12-31", &["PWR-55-01"]),
                recommendation: Approve,
                coverage: Free,
                rule: "unit_window",
            },
            Case {
                name: "unit part on the first day of year 2",
                input: tv(Kind::Replacement, "2027-01-01", &["PWR-55-01"]),
                recommendation: Approve,
                coverage: Paid,
                rule: "unit_window_expired",
            },
            Case {
                name: "key part in year 2",
                input: tv(Kind::Replacement, "2027-06-01", &["PNL-55-01"]),
                recommendation: Approve,
                coverage: Free,
                rule: "key_part_window",
            },
            Case {
                name: "key part on the last day of year 3",
                input: tv(Kind::Replacement, "2028-12-31", &["PNL-55-01"]),
                recommendation: Approve,
                coverage: Free,
                rule: "key_part_window",
            },
            Case {
                name: "key part on the first day of year 4",
                input: tv(Kind::Replacement, "2029-01-01", &["PNL-55-01"]),
                recommendation: Approve,
                coverage: Paid,
                rule: "key_part_window_expired",
            },
            Case {
                name: "accessory in year 2",
                input: tv(Kind::Replacement, "2027-06-01", &["RMT-01"]),
                recommendation: Approve,
                coverage: Paid,
                rule: "accessory_window_expired",
            },
            Case {
                name: "an unlisted part counts as the category's default class",
                input: tv(Kind::Replacement, "2026-06-01", &["XYZ-1"]),
                recommendation: Approve,
                coverage: Free,
                rule: "unit_window",
            },
            Case {
                name: "repair without part lines in year 1",
                input: tv(Kind::Repair, "2026-06-01", &[]),
                recommendation: Approve,
                coverage: Free,
                rule: "unit_window",
            },
            Case {
                name: "repair without part lines in year 2",
                input: tv(Kind::Repair, "2027-06-01", &[]),
                recommendation: Approve,
                coverage: Paid,
                rule: "unit_window_expired",
            },
            Case {
                name: "misuse",
                input: with(tv(Kind::Replacement, "2026-02-01", &["PWR-55-01"]), |i| {
                    i.misuse_suspected = true
                }),
                recommendation: Review,
                coverage: Paid,
                rule: "misuse",
            },
            Case {
                name: "contract",
                input: with(tv(Kind::Replacement, "2030-02-01", &["PWR-55-01"]), |i| {
                    i.service_contract_no = "SC-1".into()
                }),
                recommendation: Approve,
                coverage: Contract,
                rule: "service_contract",
            },
            Case {
                name: "misuse beats a contract",
                input: with(tv(Kind::Repair, "2026-02-01", &["PWR-55-01"]), |i| {
                    i.misuse_suspected = true;
                    i.service_contract_no = "SC-1".into()
                }),
                recommendation: Review,
                coverage: Paid,
                rule: "misuse",
            },
            Case {
                name: "unknown category goes to a person",
                input: with(tv(Kind::Replacement, "2026-02-01", &["PWR-55-01"]), |i| {
                    i.category = "spaceship".into()
                }),
                recommendation: Review,
                coverage: Free,
                rule: "unit_window",
            },
        ];
        for c in cases {
            let e = evaluate(&policy(), &c.input);
            assert_eq!(
                e.recommendation, c.recommendation,
                "{}: {:#?}",
                c.name, e.explanation
            );
            assert_eq!(e.coverage, c.coverage, "{}: {:#?}", c.name, e.explanation);
            assert_eq!(e.deciding_rule, c.rule, "{}", c.name);
            let last = e.explanation.last().unwrap();
            assert!(
                last.contains(&format!("Decided by rule {}", c.rule)),
                "{}: {last}",
                c.name
            );
        }
    }

    #[test]
    fn key_parts_have_three_years_where_other_parts_have_one() {
        let e = evaluate(
            &policy(),
            &tv(Kind::Replacement, "2027-06-01", &["PNL-55-01", "PWR-55-01"]),
        );
        assert_eq!(e.lines[0].coverage, Coverage::Free);
        assert_eq!(e.lines[0].window.kind, WindowKind::KeyPart);
        assert_eq!(e.lines[0].window.end, Some(d("2028-12-31")));
        assert_eq!(e.lines[1].coverage, Coverage::Paid);
        assert_eq!(e.lines[1].window.end, Some(d("2026-12-31")));
        assert_eq!(e.lines[1].fee_minor, 45000);
        assert_eq!(e.total_fee_minor, 45000);
        assert_eq!(e.coverage, Coverage::Paid);
        assert!(
            !e.auto_approve,
            "fees above the threshold wait for a person"
        );
        assert_eq!(e.deciding_rule, "unit_window_expired");
        assert!(e.onsite_required, "a panel needs a technician");
    }

    #[test]
    fn with_no_invoice_the_receipt_date_starts_the_warranty() {
        let i = with(tv(Kind::Return, "2026-03-08", &[]), |i| {
            i.invoice_date = None;
            i.receipt_date = Some(d("2026-03-01"));
            i.payment_on_record = true;
        });
        let e = evaluate(&policy(), &i);
        assert_eq!(
            e.window.start,
            Some((StartSource::Receipt, d("2026-03-01")))
        );
        assert_eq!(e.recommendation, Recommendation::Approve);
        assert!(e.explanation[0].starts_with("[start_receipt]"));
        assert!(e.auto_approve, "a receipt is a complete document");
    }

    #[test]
    fn with_no_document_the_warranty_starts_three_months_after_the_factory_date() {
        let none = |on: &str| {
            with(tv(Kind::Replacement, on, &["PWR-55-01"]), |i| {
                i.invoice_date = None;
                i.receipt_date = None;
                i.factory_date = Some(d("2025-10-15"));
            })
        };
        let e = evaluate(&policy(), &none("2027-01-14"));
        assert_eq!(
            e.window.start,
            Some((StartSource::FactoryPlusGrace, d("2026-01-15")))
        );
        assert_eq!(e.lines[0].window.end, Some(d("2027-01-14")));
        assert_eq!(e.lines[0].coverage, Coverage::Free);
        assert!(!e.auto_approve, "without documents a person decides");
        assert!(e.explanation[0].starts_with("[start_factory_plus_grace]"));
        let e = evaluate(&policy(), &none("2027-01-15"));
        assert_eq!(e.lines[0].coverage, Coverage::Paid);
    }

    #[test]
    fn every_non_returnable_category_refuses_return_and_exchange_but_allows_paid_repair() {
        let p = policy();
        for category in &p.non_returnable {
            for kind in [Kind::Return, Kind::Exchange] {
                let i = with(tv(kind, "2026-01-02", &["PWR-55-01"]), |i| {
                    i.category = category.clone()
                });
                let e = evaluate(&p, &i);
                assert_eq!(
                    e.recommendation,
                    Recommendation::Reject(RejectReason::NonReturnableCategory),
                    "{category} {kind:?}"
                );
                assert_eq!(e.deciding_rule, "non_returnable_category");
                assert!(
                    e.explanation
                        .last()
                        .unwrap()
                        .contains("non_returnable_category")
                );
                assert!(!e.auto_approve);
            }
            let repair = with(tv(Kind::Repair, "2027-06-01", &[]), |i| {
                i.category = category.clone()
            });
            let e = evaluate(&p, &repair);
            assert_ne!(
                e.recommendation,
                Recommendation::Reject(RejectReason::NonReturnableCategory),
                "{category}: repair"
            );
            assert_eq!(
                e.coverage,
                Coverage::Paid,
                "{category}: repair after the window is paid"
            );
        }
    }

    #[test]
    fn a_return_is_approved_automatically_only_with_the_payment_its_refund_goes_back_to() {
        let without = evaluate(&policy(), &tv(Kind::Return, "2026-01-05", &[]));
        assert_eq!(without.recommendation, Recommendation::Approve);
        assert!(!without.auto_approve, "no payment on record: a person asks");
        let last = without.explanation.last().cloned().unwrap_or_default();
        assert!(last.contains("original payment"), "{last}");
        let with_payment = evaluate(
            &policy(),
            &with(tv(Kind::Return, "2026-01-05", &[]), |i| {
                i.payment_on_record = true
            }),
        );
        assert!(with_payment.auto_approve);
        let exchange = evaluate(&policy(), &tv(Kind::Exchange, "2026-01-05", &[]));
        assert!(exchange.auto_approve, "an exchange refunds nothing");
    }

    #[test]
    fn an_in_warranty_request_with_an_invoice_is_approved_automatically() {
        let e = evaluate(
            &policy(),
            &tv(Kind::Replacement, "2026-06-01", &["PWR-55-01"]),
        );
        assert!(e.auto_approve);
        assert_eq!(e.coverage, Coverage::Free);
        assert_eq!(e.total_fee_minor, 0);
        assert!(!e.onsite_required, "a power board is shipped");
        assert_eq!(
            e.lines[0].window.label,
            "whole unit 1 year from invoice 2026-01-01, until 2026-12-31"
        );
    }

    #[test]
    fn misuse_prices_every_line_from_the_fee_schedule() {
        let i = with(
            tv(Kind::Replacement, "2026-02-01", &["PWR-55-01", "RMT-01"]),
            |i| {
                i.misuse_suspected = true;
                i.parts[1].1 = 2;
            },
        );
        let e = evaluate(&policy(), &i);
        assert!(e.lines.iter().all(|l| l.coverage == Coverage::Paid));
        assert_eq!(e.total_fee_minor, 45000 + 2 * 8000);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn a_later_day_never_turns_a_paid_line_free(
                a in 0u64..1500, b in 0u64..1500, key in any::<bool>()
            ) {
                let (early, late) = if a <= b { (a, b) } else { (b, a) };
                let part = if key { "PNL-55-01" } else { "PWR-55-01" };
                let on = |n: u64| {
                    d("2026-01-01").checked_add_days(Days::new(n)).unwrap().to_string()
                };
                let e1 = evaluate(&policy(), &tv(Kind::Replacement, &on(early), &[part]));
                let e2 = evaluate(&policy(), &tv(Kind::Replacement, &on(late), &[part]));
                if e1.lines[0].coverage == Coverage::Paid {
                    prop_assert_eq!(e2.lines[0].coverage, Coverage::Paid);
                }
                // Free exactly up to the window's last day.
                let end = e1.lines[0].window.end.unwrap();
                prop_assert_eq!(
                    e1.lines[0].coverage == Coverage::Free,
                    d(&on(early)) <= end
                );
                prop_assert!(e1.explanation.last().unwrap().contains(&e1.deciding_rule));
            }
        }
    }
}
