//! The purchase-cost report (the procurement-cost KPI): what was ordered at PO prices against the
//! same quantities at the best current quote when ordered and at the quote each line came from,
//! with freight, grouped per supplier, per part or per month. A PO's freight is shared over its
//! lines in proportion to their value, so that per-part totals add up to the whole.

use std::collections::BTreeMap;

/// One ordered line of a PO that is not cancelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostLine {
    pub po_number: String,
    pub supplier_id: String,
    pub part_no: String,
    /// "YYYY-MM" of the PO's issue (department's local time).
    pub month: String,
    pub quantity: u32,
    pub unit_price_minor: i64,
    pub quoted_price_minor: i64,
    pub best_price_minor: i64,
    /// This line's share of the PO's freight.
    pub freight_minor: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    Supplier,
    Part,
    Month,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CostRow {
    pub key: String,
    pub orders: u32,
    pub quantity: u64,
    pub spend_minor: i64,
    pub quoted_minor: i64,
    pub at_line_quotes_minor: i64,
    pub freight_minor: i64,
}

impl CostRow {
    /// Paid beyond the best quote (negative: below it).
    pub fn variance_minor(&self) -> i64 {
        self.spend_minor - self.quoted_minor
    }

    pub fn total_cost_minor(&self) -> i64 {
        self.spend_minor + self.freight_minor
    }
}

/// Shares `freight` over lines worth `values`, in proportion; the remainder of the division goes
/// to the first line, so the shares add up to `freight`.
pub fn share_freight(freight: i64, values: &[i64]) -> Vec<i64> {
    let total: i128 = values.iter().map(|v| i128::from((*v).max(0))).sum();
    if values.is_empty() {
        return Vec::new();
    }
    let mut shares: Vec<i64> = if total == 0 {
        let n = values.len() as i64;
        vec![freight / n; values.len()]
    } else {
        values
            .iter()
            .map(|v| (i128::from(freight) * i128::from((*v).max(0)) / total) as i64)
            .collect()
    };
    let rest = freight - shares.iter().sum::<i64>();
    shares[0] += rest;
    shares
}

/// The rows of the report and their total (key empty).
pub fn report(lines: &[CostLine], grouping: Grouping) -> (Vec<CostRow>, CostRow) {
    let mut rows: BTreeMap<String, (CostRow, std::collections::BTreeSet<String>)> = BTreeMap::new();
    let mut total = CostRow::default();
    let mut all_orders = std::collections::BTreeSet::new();
    for l in lines {
        let key = match grouping {
            Grouping::Supplier => l.supplier_id.clone(),
            Grouping::Part => l.part_no.clone(),
            Grouping::Month => l.month.clone(),
        };
        let (row, orders) = rows.entry(key.clone()).or_insert_with(|| {
            (
                CostRow {
                    key,
                    ..Default::default()
                },
                Default::default(),
            )
        });
        for r in [&mut *row, &mut total] {
            let q = i64::from(l.quantity);
            r.quantity += u64::from(l.quantity);
            r.spend_minor += q * l.unit_price_minor;
            r.quoted_minor += q * l.best_price_minor;
            r.at_line_quotes_minor += q * l.quoted_price_minor;
            r.freight_minor += l.freight_minor;
        }
        orders.insert(l.po_number.clone());
        all_orders.insert(l.po_number.clone());
    }
    total.orders = all_orders.len() as u32;
    let rows = rows
        .into_values()
        .map(|(mut r, orders)| {
            r.orders = orders.len() as u32;
            r
        })
        .collect();
    (rows, total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(po: &str, supplier: &str, part: &str, q: u32, price: i64, best: i64) -> CostLine {
        CostLine {
            po_number: po.into(),
            supplier_id: supplier.into(),
            part_no: part.into(),
            month: "2026-11".into(),
            quantity: q,
            unit_price_minor: price,
            quoted_price_minor: price,
            best_price_minor: best,
            freight_minor: 0,
        }
    }

    #[test]
    fn spend_is_set_against_the_best_quote_per_supplier() {
        let lines = [
            line("PO-1", "SUP-A", "P1", 10, 120, 100),
            line("PO-1", "SUP-A", "P2", 1, 50, 50),
            line("PO-2", "SUP-B", "P1", 5, 100, 100),
        ];
        let (rows, total) = report(&lines, Grouping::Supplier);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].key, "SUP-A");
        assert_eq!(rows[0].orders, 1);
        assert_eq!(rows[0].spend_minor, 1_250);
        assert_eq!(rows[0].variance_minor(), 200);
        assert_eq!(total.orders, 2);
        assert_eq!(total.quantity, 16);
        let (parts, _) = report(&lines, Grouping::Part);
        assert_eq!(parts[0].key, "P1");
        assert_eq!(parts[0].orders, 2);
    }

    proptest! {
        #[test]
        fn freight_shares_add_up_to_the_freight(freight in 0i64..1_000_000, values in proptest::collection::vec(0i64..100_000, 1..6)) {
            let s = share_freight(freight, &values);
            prop_assert_eq!(s.len(), values.len());
            prop_assert_eq!(s.iter().sum::<i64>(), freight);
            prop_assert!(s.iter().all(|x| *x >= 0));
        }
    }
}
