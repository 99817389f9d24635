//! The arrival-deadline scanner ("arrival-sla"): an open work order whose arrival deadline
//! passed with nobody on site is announced once (`fieldservice.workorder.sla_breached`). The
//! platform's [`Scanner`] runs it on one replica at a time; the breach is recorded on the work
//! order in the same transaction as its event and rows are taken with `SKIP LOCKED`, so a scan
//! repeated anywhere (or an arrival recorded meanwhile) finds nothing left to announce.

use std::time::Duration;

use aftersales_platform::scanner::Scanner;
use chrono::{DateTime, Utc};
use sea_orm::TransactionTrait;

use super::FieldService;
use crate::error::Error;
use crate::store::work_orders;

/// The scanner's name (its lock, its log lines, `TestService::scan`).
pub const SCANNER: &str = "arrival-sla";

/// Work orders one scan handles at most; the next tick takes the rest.
const BATCH: u64 = 200;

pub fn scanner(svc: &FieldService, every: Duration) -> Scanner {
    let svc = svc.clone();
    Scanner::new(SCANNER, every, move |now| {
        let svc = svc.clone();
        async move { Ok(svc.scan_arrivals(now).await?) }
    })
}

impl FieldService {
    /// Announces every late arrival at `now` once; how many.
    pub async fn scan_arrivals(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let now = super::micros(now);
        let txn = self.db.begin().await?;
        let overdue = work_orders::overdue_arrivals(&txn, now, BATCH).await?;
        let mut n = 0;
        for mut wo in overdue {
            if !wo.breach(now) {
                continue;
            }
            work_orders::save(&txn, &wo).await?;
            self.stage_breach(&txn, &wo, wo.status, now).await?;
            tracing::info!(work_order_no = %wo.work_order_no, request_no = %wo.request_no, "arrival deadline breached");
            n += 1;
        }
        txn.commit().await?;
        Ok(n)
    }
}
