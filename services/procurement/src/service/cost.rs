//! The purchase-cost report over a period of issue.

use chrono::{DateTime, Utc};

use super::Procurement;
use crate::domain::cost::{CostLine, CostRow, Grouping, report, share_freight};
use crate::error::Error;
use crate::store::orders;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostQuery {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub grouping: Grouping,
}

impl Procurement {
    /// Purchase cost of the POs issued in `[from, to)` that were not cancelled: rows per
    /// supplier, part or month, and their total.
    pub async fn cost_report(&self, q: CostQuery) -> Result<(Vec<CostRow>, CostRow), Error> {
        let pos = orders::issued_between(&self.db, q.from, q.to).await?;
        let mut lines = Vec::new();
        for po in pos {
            let live: Vec<_> = po.lines.iter().filter(|l| l.quantity > 0).collect();
            let values: Vec<i64> = live
                .iter()
                .map(|l| i64::from(l.quantity) * l.unit_price_minor)
                .collect();
            let shares = share_freight(po.freight_minor, &values);
            let month = po
                .issued_at
                .with_timezone(&self.offset)
                .format("%Y-%m")
                .to_string();
            for (l, freight) in live.iter().zip(shares) {
                lines.push(CostLine {
                    po_number: po.po_number.clone(),
                    supplier_id: po.supplier_id.clone(),
                    part_no: l.part_no.clone(),
                    month: month.clone(),
                    quantity: l.quantity,
                    unit_price_minor: l.unit_price_minor,
                    quoted_price_minor: l.quoted_price_minor,
                    best_price_minor: l.best_price_minor,
                    freight_minor: freight,
                });
            }
        }
        Ok(report(&lines, q.grouping))
    }
}
