//! The catalogue: parts by number, created or updated by upsert.

use aftersales_platform::db::is_unique_violation;
use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};

use super::{Page, Warehouse};
use crate::domain::{Lifecycle, PartClass, PartNo, PartSpec};
use crate::error::Error;
use crate::store::parts::{self, Part, PartFilter};
use crate::store::{stmt, stock};

/// Which parts a listing wants, in part-number order.
#[derive(Debug, Clone)]
pub struct PartsQuery {
    /// Part number or name contains it; empty for all.
    pub query: String,
    pub compatible_model: Option<String>,
    pub part_class: Option<PartClass>,
    pub lifecycle: Option<Lifecycle>,
    pub page: Page<PartNo>,
}

impl Warehouse {
    /// Creates or updates a part by number. The same entry twice changes nothing. A part's
    /// `valuable` flag may change only while it has no stock and no open reservation (its stock
    /// would otherwise sit in the wrong zone).
    pub async fn upsert_part(&self, entry: PartSpec) -> Result<(Part, bool), Error> {
        let txn = self.db.begin().await?;
        let now = self.now();
        let Some(old) = parts::get_for_update(&txn, entry.part_no.as_str()).await? else {
            let part = Part::new(entry, None, now, now);
            parts::insert(&txn, &part).await.map_err(|e| {
                if is_unique_violation(&e) {
                    Error::Aborted(format!(
                        "part {} was created concurrently; retry",
                        part.part_no
                    ))
                } else {
                    e.into()
                }
            })?;
            // A new part has nothing on hand: it starts below its reorder point without having
            // crossed it, so no alert; it re-arms once stock reaches the point.
            parts::set_low_alerted(&txn, &part.part_no, part.reorder_point > 0).await?;
            txn.commit().await?;
            return Ok((part, true));
        };
        let same = Part::new(entry, old.abc_class, old.created_at, old.updated_at);
        if same == old {
            return Ok((old, false));
        }
        if same.valuable != old.valuable && has_stock_or_holds(&txn, &old).await? {
            return Err(Error::precondition(format!(
                "part {} has stock or open reservations; its valuable flag can change only when it has none",
                old.part_no
            )));
        }
        let part = Part {
            updated_at: now,
            ..same
        };
        parts::update(&txn, &part).await?;
        self.check_low(&txn, std::slice::from_ref(&part.part_no))
            .await?;
        txn.commit().await?;
        Ok((part, false))
    }

    pub async fn get_part(&self, part_no: &PartNo) -> Result<Part, Error> {
        parts::get(&self.db, part_no.as_str())
            .await?
            .ok_or_else(|| Error::not_found(format!("part {part_no}")))
    }

    /// One page, and the part number the next one starts after.
    pub async fn list_parts(&self, q: PartsQuery) -> Result<(Vec<Part>, Option<String>), Error> {
        let rows = parts::list(
            &self.db,
            &PartFilter {
                query: q.query,
                compatible_model: q.compatible_model,
                part_class: q.part_class,
                lifecycle: q.lifecycle,
                after: q.page.after.as_ref().map(|p| p.as_str().to_owned()),
                limit: q.page.size,
            },
        )
        .await?;
        Ok(q.page.next(rows, |p| p.part_no.clone()))
    }
}

async fn has_stock_or_holds(txn: &DatabaseTransaction, p: &Part) -> Result<bool, Error> {
    let levels = stock::levels(txn, &p.part_no).await?;
    if levels.iter().any(|l| l.on_hand != 0 || l.reserved != 0) {
        return Ok(true);
    }
    let row = txn
        .query_one_raw(stmt(
            "SELECT 1 AS x FROM reservation_lines l JOIN reservations r USING (request_no, replacement) \
             WHERE l.part_no = $1 AND r.status IN ('CONFIRMED', 'BACKORDERED') LIMIT 1",
            [p.part_no.as_str().into()],
        ))
        .await?;
    Ok(row.is_some())
}
