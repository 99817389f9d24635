//! ABC classification from the 12-month usage value, stored on the parts.

use chrono::{Months, NaiveDate};
use sea_orm::{ConnectionTrait, TransactionTrait};

use super::Warehouse;
use crate::domain::abc::{Classified, Usage, classify};
use crate::error::Error;
use crate::store::stmt;

impl Warehouse {
    /// Usage = units issued (ISSUE rows) dated in the 12 months ending on `as_of`, valued at
    /// each part's current unit cost; every part is classified and its class stored. The same
    /// data gives the same classes. Returns the classification and the currency of the values.
    /// `as_of` is today unless given.
    pub async fn classify_abc(
        &self,
        as_of: Option<NaiveDate>,
    ) -> Result<(Vec<Classified>, String), Error> {
        let as_of = as_of.unwrap_or_else(|| self.today());
        let from = as_of
            .checked_sub_months(Months::new(12))
            .ok_or_else(|| Error::Unexpected(anyhow::anyhow!("date out of range")))?;
        let txn = self.db.begin().await?;
        let rows = txn
            .query_all_raw(stmt(
                "SELECT p.part_no, p.unit_cost_minor, p.unit_cost_currency, \
                   COALESCE((SELECT -SUM(l.quantity) FROM ledger l WHERE l.part_no = p.part_no \
                     AND l.kind = 'ISSUE' AND l.movement_date > $1 AND l.movement_date <= $2), 0)::bigint AS used \
                 FROM parts p ORDER BY p.part_no FOR UPDATE OF p",
                [from.into(), as_of.into()],
            ))
            .await?;
        let mut usage = Vec::with_capacity(rows.len());
        let mut currency = String::new();
        for r in &rows {
            let part_no: String = r.try_get("", "part_no")?;
            let cost: i64 = r.try_get("", "unit_cost_minor")?;
            let used: i64 = r.try_get("", "used")?;
            if currency.is_empty() {
                currency = r.try_get("", "unit_cost_currency")?;
            }
            usage.push(Usage {
                part_no,
                quantity: used,
                value_minor: used.saturating_mul(cost),
            });
        }
        let classified = classify(usage);
        for c in &classified {
            txn.execute_raw(stmt(
                "UPDATE parts SET abc_class = $2 WHERE part_no = $1 AND abc_class IS DISTINCT FROM $2",
                [c.usage.part_no.as_str().into(), c.class.as_str().into()],
            ))
            .await?;
        }
        txn.commit().await?;
        Ok((classified, currency))
    }
}
