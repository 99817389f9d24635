//! The scanners, each run on one replica at a time by the platform's [`Scanner`] and reading
//! "now" from the service's clock:
//! - [`OVERDUE`]: an open PO past its promised date is announced once per promised date
//!   (`procurement.po.overdue`); the date it was announced for is recorded in the same
//!   transaction, and rows are taken with `SKIP LOCKED`, so a scan repeated anywhere finds
//!   nothing left to do. A revised date is announced again once it passes.
//! - [`FIX_BY`]: a warned supplier whose fix-by date passed is re-scored: still below the
//!   warning threshold, it is suspended; recovered, it is ACTIVE again.
//! - [`SOURCING`]: needs that waited for an eligible quote are ordered when one exists (a quote
//!   valid from a later date, a supplier reinstated, a PO cancelled by hand).

use std::time::Duration;

use aftersales_platform::proto::procurement::v1 as pb;
use aftersales_platform::scanner::Scanner;
use chrono::{DateTime, Utc};
use sea_orm::TransactionTrait;

use super::Procurement;
use crate::error::Error;
use crate::store::{demands, orders, suppliers};
use crate::wire;

pub const OVERDUE: &str = "po-overdue";
pub const FIX_BY: &str = "supplier-fix-by";
pub const SOURCING: &str = "sourcing";

/// How many rows one scan handles; the next tick takes the rest.
const BATCH: u64 = 100;

pub fn scanners(p: &Procurement, every: Duration) -> Vec<Scanner> {
    let (a, b, c) = (p.clone(), p.clone(), p.clone());
    vec![
        Scanner::new(OVERDUE, every, move |now| {
            let p = a.clone();
            async move { Ok(p.scan_overdue(now).await?) }
        }),
        Scanner::new(FIX_BY, every, move |_| {
            let p = b.clone();
            async move { Ok(p.scan_fix_by().await?) }
        }),
        Scanner::new(SOURCING, every, move |_| {
            let p = c.clone();
            async move { Ok(p.scan_sourcing().await?) }
        }),
    ]
}

impl Procurement {
    /// Announces every open PO past its promised date at `now` once per promised date. How many
    /// were announced.
    pub async fn scan_overdue(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let today = self.local_date(now);
        let txn = self.db.begin().await?;
        let due = orders::overdue_unannounced(&txn, today, BATCH).await?;
        let n = due.len();
        for mut po in due {
            po.overdue_announced_for = Some(po.promised_date);
            orders::update(&txn, &po).await?;
            let view = self.view(&txn, po).await?;
            let days = (today - view.po.promised_date).num_days().max(0) as u32;
            let event = pb::PoOverdue {
                po_number: view.po.po_number.clone(),
                supplier_id: view.po.supplier_id.clone(),
                supplier_name: view.supplier_name.clone(),
                promised_date: view.po.promised_date.to_string(),
                days_overdue: days,
                outstanding: view
                    .po
                    .lines
                    .iter()
                    .filter(|l| l.state().outstanding() > 0)
                    .map(|l| {
                        let mut line = wire::po_line_event(&view, l);
                        line.quantity = l.state().outstanding();
                        line
                    })
                    .collect(),
                request_nos: view.request_nos(),
                detected_at: Some(wire::timestamp(now)),
            };
            self.stage(&txn, &view.po.po_number, &event.request_nos, &event)
                .await?;
            tracing::info!(po_number = %view.po.po_number, promised_date = %view.po.promised_date, days, "purchase order overdue");
        }
        txn.commit().await?;
        Ok(n)
    }

    /// Re-scores the warned suppliers whose fix-by date passed. How many changed status.
    pub async fn scan_fix_by(&self) -> Result<usize, Error> {
        let txn = self.db.begin().await?;
        let due = suppliers::warned_past_fix_by(&txn, self.today(), BATCH).await?;
        let mut n = 0;
        for s in due {
            if self.evaluate(&txn, &s.supplier_id).await?.is_some() {
                n += 1;
            }
        }
        txn.commit().await?;
        Ok(n)
    }

    /// Orders what waited for a supplier. How many needs were ordered.
    pub async fn scan_sourcing(&self) -> Result<usize, Error> {
        let mut n = 0;
        for part_no in demands::unsourced_parts(&self.db).await? {
            n += self.source_part(&part_no).await?;
        }
        Ok(n)
    }
}
