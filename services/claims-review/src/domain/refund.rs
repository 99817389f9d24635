//! The refund of an approved return, once the warehouse inspected the unit: the price paid,
//! less every accessory that did not come back (the policy's list price), less the service fee
//! when the customer returns for their own reasons (a percentage, capped). Never negative.
//!
//! An authorized [`Refund`] is stored as JSON: its serde names are a storage format.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::command::Payment;
use super::policy::ServiceFee;

/// An accessory that did not come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// Part number, or the packing list's name where there is none.
    pub part: String,
    pub quantity: u32,
    /// The policy's list price per unit; `None` when the policy has none (nothing deducted).
    pub unit_price: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeductionReason {
    MissingAccessory,
    ServiceFee,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deduction {
    pub reason: DeductionReason,
    pub description: String,
    pub amount: i64,
    pub part_no: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundCalc {
    pub gross: i64,
    /// Every deduction, the service fee included, so that the list adds up.
    pub deductions: Vec<Deduction>,
    pub service_fee: i64,
    /// gross − Σ deductions, never negative.
    pub amount: i64,
}

/// A refund as authorized, once per request; amounts in `currency`'s minor unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub refund_id: uuid::Uuid,
    pub request_no: String,
    pub branch: String,
    pub currency: String,
    /// The product's price as paid.
    pub gross: i64,
    /// Every deduction, the service fee included.
    pub deductions: Vec<Deduction>,
    pub service_fee: i64,
    /// gross − Σ deductions, never negative: what is paid out.
    pub amount: i64,
    /// The original payment route: the refund goes back the same way.
    pub payment: Payment,
    /// The warehouse's inspection it was computed from.
    pub return_id: String,
    pub policy_version: String,
    pub authorized_at: DateTime<Utc>,
    /// Empty when authorized automatically.
    #[serde(default)]
    pub authorized_by: String,
    pub own_reasons: bool,
}

pub fn compute(gross: i64, missing: &[Missing], own_reasons: bool, fee: &ServiceFee) -> RefundCalc {
    let gross = gross.max(0);
    let mut deductions: Vec<Deduction> = missing
        .iter()
        .map(|m| match m.unit_price {
            Some(p) => Deduction {
                reason: DeductionReason::MissingAccessory,
                description: format!("{} × {} missing", m.quantity, m.part),
                amount: p * m.quantity as i64,
                part_no: m.part.clone(),
            },
            None => Deduction {
                reason: DeductionReason::MissingAccessory,
                description: format!(
                    "{} × {} missing; the policy lists no price, nothing deducted",
                    m.quantity, m.part
                ),
                amount: 0,
                part_no: m.part.clone(),
            },
        })
        .collect();
    let service_fee = if own_reasons { fee.on(gross) } else { 0 };
    if service_fee > 0 {
        deductions.push(Deduction {
            reason: DeductionReason::ServiceFee,
            description: format!(
                "service fee {} % of the price, at most {}",
                fee.percent, fee.cap_minor
            ),
            amount: service_fee,
            part_no: String::new(),
        });
    }
    let total: i64 = deductions.iter().map(|d| d.amount).sum();
    RefundCalc {
        gross,
        deductions,
        service_fee,
        amount: (gross - total).max(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fee() -> ServiceFee {
        ServiceFee {
            percent: 10,
            cap_minor: 50_000,
        }
    }

    fn remote(quantity: u32) -> Missing {
        Missing {
            part: "RMT-01".into(),
            quantity,
            unit_price: Some(8_000),
        }
    }

    #[test]
    fn a_quality_return_refunds_the_price_less_the_missing_accessories() {
        let r = compute(300_000, &[remote(1)], false, &fee());
        assert_eq!(r.service_fee, 0);
        assert_eq!(r.amount, 292_000);
        assert_eq!(r.deductions.len(), 1);
    }

    #[test]
    fn a_return_for_own_reasons_carries_ten_percent_service_fee() {
        let r = compute(300_000, &[remote(1)], true, &fee());
        assert_eq!(r.service_fee, 30_000);
        assert_eq!(r.amount, 300_000 - 8_000 - 30_000);
        assert_eq!(
            r.deductions.last().unwrap().reason,
            DeductionReason::ServiceFee
        );
    }

    #[test]
    fn the_service_fee_is_capped_at_500() {
        let r = compute(1_000_000, &[], true, &fee());
        assert_eq!(r.service_fee, 50_000);
        assert_eq!(r.amount, 950_000);
    }

    #[test]
    fn a_refund_is_never_negative_and_an_unpriced_accessory_deducts_nothing() {
        let r = compute(10_000, &[remote(3)], true, &fee());
        assert_eq!(r.amount, 0);
        let r = compute(
            10_000,
            &[Missing {
                part: "manual".into(),
                quantity: 1,
                unit_price: None,
            }],
            false,
            &fee(),
        );
        assert_eq!(r.amount, 10_000);
        assert!(r.deductions[0].description.contains("nothing deducted"));
    }
}
