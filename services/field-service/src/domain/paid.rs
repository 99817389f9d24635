//! Paid work: a quotation priced from the fee table before work starts, the customer's answer
//! (approval is the repair authorization), and the change log of service items added or removed
//! during the repair, each answered by the customer. What the customer pays on completion is
//! what they authorized: the approved quotation plus the approved changes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Refusal;
use super::policy::Policy;

/// A priced line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub code: String,
    pub description: String,
    pub quantity: u32,
    pub unit_minor: i64,
}

impl Item {
    pub fn amount_minor(&self) -> i64 {
        self.unit_minor * i64::from(self.quantity)
    }
}

/// A line asked for, before pricing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemLine {
    pub code: String,
    pub quantity: u32,
}

/// Prices `lines` from the fee table; every unknown code is named under `field[i].code`.
pub fn price(policy: &Policy, field: &str, lines: &[ItemLine]) -> Result<Vec<Item>, Vec<Refusal>> {
    let mut bad = Vec::new();
    let mut items = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        match policy.fee(&l.code) {
            Some((code, fee)) => items.push(Item {
                code: code.to_owned(),
                description: fee.description.clone(),
                quantity: l.quantity,
                unit_minor: fee.amount_minor,
            }),
            None => bad.push(Refusal::field(
                format!("{field}[{i}].code"),
                format!("{} is not in the fee table {}", l.code, policy.version),
            )),
        }
    }
    if bad.is_empty() { Ok(items) } else { Err(bad) }
}

pub fn total(items: &[Item]) -> i64 {
    items.iter().map(Item::amount_minor).sum()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Pending,
    Approved,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quotation {
    pub items: Vec<Item>,
    pub currency: String,
    pub status: Answer,
    pub quoted_by: String,
    pub quoted_at: DateTime<Utc>,
    pub decided_by: String,
    pub decided_at: Option<DateTime<Utc>>,
    pub note: String,
    pub fee_table_version: String,
}

impl Quotation {
    pub fn total_minor(&self) -> i64 {
        total(&self.items)
    }
}

/// One entry of the change log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub change_id: String,
    pub added: Vec<Item>,
    pub removed: Vec<Item>,
    pub reason: String,
    pub status: Answer,
    pub proposed_by: String,
    pub proposed_at: DateTime<Utc>,
    pub decided_by: String,
    pub decided_at: Option<DateTime<Utc>>,
    pub note: String,
}

impl Change {
    /// Added minus removed.
    pub fn delta_minor(&self) -> i64 {
        total(&self.added) - total(&self.removed)
    }
}

/// What the customer authorized: nothing until the quotation is approved, then its total plus
/// every approved change.
pub fn authorized_minor(quotation: Option<&Quotation>, changes: &[Change]) -> Option<i64> {
    let q = quotation.filter(|q| q.status == Answer::Approved)?;
    Some(
        q.total_minor()
            + changes
                .iter()
                .filter(|c| c.status == Answer::Approved)
                .map(Change::delta_minor)
                .sum::<i64>(),
    )
}

/// Removing what the quotation (with the changes approved so far) does not hold is refused.
pub fn check_removal(
    quotation: &Quotation,
    changes: &[Change],
    removed: &[Item],
) -> Result<(), Refusal> {
    for (i, r) in removed.iter().enumerate() {
        let held: i64 = quotation
            .items
            .iter()
            .filter(|x| x.code == r.code)
            .map(|x| i64::from(x.quantity))
            .sum::<i64>()
            + changes
                .iter()
                .filter(|c| c.status == Answer::Approved)
                .map(|c| {
                    let plus: i64 = c
                        .added
                        .iter()
                        .filter(|x| x.code == r.code)
                        .map(|x| i64::from(x.quantity))
                        .sum();
                    let minus: i64 = c
                        .removed
                        .iter()
                        .filter(|x| x.code == r.code)
                        .map(|x| i64::from(x.quantity))
                        .sum();
                    plus - minus
                })
                .sum::<i64>();
        if i64::from(r.quantity) > held {
            return Err(Refusal::field(
                format!("removed[{i}].quantity"),
                format!("only {held} of {} are authorized", r.code),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy() -> Policy {
        Policy::demo().unwrap()
    }

    fn line(code: &str, quantity: u32) -> ItemLine {
        ItemLine {
            code: code.into(),
            quantity,
        }
    }

    fn quotation(items: Vec<Item>, status: Answer) -> Quotation {
        Quotation {
            items,
            currency: "CNY".into(),
            status,
            quoted_by: "t".into(),
            quoted_at: Utc::now(),
            decided_by: String::new(),
            decided_at: None,
            note: String::new(),
            fee_table_version: "v".into(),
        }
    }

    fn change(added: Vec<Item>, removed: Vec<Item>, status: Answer) -> Change {
        Change {
            change_id: "C1".into(),
            added,
            removed,
            reason: "r".into(),
            status,
            proposed_by: "t".into(),
            proposed_at: Utc::now(),
            decided_by: String::new(),
            decided_at: None,
            note: String::new(),
        }
    }

    #[test]
    fn lines_are_priced_from_the_fee_table_and_unknown_codes_are_named() {
        let items = price(
            &policy(),
            "items",
            &[line("visit", 1), line("labour_hour", 2)],
        )
        .unwrap();
        assert_eq!(total(&items), 5000 + 2 * 8000);
        let bad = price(&policy(), "items", &[line("visit", 1), line("gold", 1)]).unwrap_err();
        assert_eq!(
            bad,
            vec![Refusal::field(
                "items[1].code",
                format!("gold is not in the fee table {}", policy().version)
            )]
        );
    }

    #[test]
    fn only_an_approved_quotation_authorizes_and_only_approved_changes_add_to_it() {
        let p = policy();
        let q_items = price(&p, "items", &[line("visit", 1), line("labour_hour", 1)]).unwrap();
        let extra = price(&p, "added", &[line("PWR-55-01", 1)]).unwrap();
        let less = price(&p, "removed", &[line("labour_hour", 1)]).unwrap();
        let proposed = quotation(q_items.clone(), Answer::Pending);
        assert_eq!(authorized_minor(Some(&proposed), &[]), None);
        let approved = quotation(q_items, Answer::Approved);
        let changes = vec![
            change(extra.clone(), vec![], Answer::Approved),
            change(extra, vec![], Answer::Rejected),
            change(vec![], less.clone(), Answer::Pending),
        ];
        assert_eq!(
            authorized_minor(Some(&approved), &changes),
            Some(13000 + 45000)
        );
        assert!(check_removal(&approved, &changes, &less).is_ok());
        let too_much = vec![Item {
            quantity: 2,
            ..less[0].clone()
        }];
        assert!(check_removal(&approved, &changes, &too_much).is_err());
    }

    proptest! {
        #[test]
        fn the_total_is_the_sum_of_quantity_times_price(qs in proptest::collection::vec(0u32..20, 0..6)) {
            let codes = ["visit", "labour_hour", "installation", "PWR-55-01", "PNL-55-01", "RMT-01"];
            let lines: Vec<ItemLine> = qs.iter().zip(codes).map(|(q, c)| line(c, *q)).collect();
            let p = policy();
            let items = price(&p, "items", &lines).unwrap();
            let expected: i64 = lines.iter()
                .map(|l| p.fee(&l.code).unwrap().1.amount_minor * i64::from(l.quantity))
                .sum();
            prop_assert_eq!(total(&items), expected);
        }
    }
}
