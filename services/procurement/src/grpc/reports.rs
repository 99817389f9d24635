//! Scorecards and the cost report: parsing their periods, answering with rows.

use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::procurement::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations};
use chrono::{Datelike, FixedOffset, NaiveDate};

use crate::domain::SupplierId;
use crate::domain::cost::{CostRow, Grouping};
use crate::service::CostQuery;
use crate::wire::{self, money};

/// A period's bounds as given: `None` when absent, an error naming the field when malformed or
/// reversed.
fn period(
    v: &mut Violations,
    field: &str,
    r: Option<&common::TimeRange>,
) -> Option<Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>> {
    let Some(r) = r else {
        return Some(None);
    };
    let from = r.from.as_ref().and_then(wire::from_timestamp);
    let to = r.to.as_ref().and_then(wire::from_timestamp);
    match (from, to) {
        (Some(a), Some(b)) if b > a => Some(Some((a, b))),
        (Some(_), Some(_)) => {
            v.add(format!("{field}.to"), "must be after from");
            None
        }
        _ => {
            v.add(field, "needs both from and to");
            None
        }
    }
}

/// The supplier and the scorecard's period as local dates (`None`: the policy's window).
pub fn scorecard_request(
    m: &pb::GetScorecardRequest,
    offset: FixedOffset,
) -> Result<(SupplierId, Option<(NaiveDate, NaiveDate)>), Invalid> {
    let mut v = Violations::new();
    let id = v.check("supplier_id", SupplierId::parse(&m.supplier_id));
    let p = period(&mut v, "period", m.period.as_ref());
    v.done(|| {
        let p = p?.map(|(a, b)| {
            let last = b - chrono::Duration::microseconds(1);
            (
                a.with_timezone(&offset).date_naive(),
                last.with_timezone(&offset).date_naive(),
            )
        });
        Some((id?, p))
    })
}

/// The cost report's query: the period (absent: the current month) and the grouping
/// (UNSPECIFIED: per part).
pub fn cost_query(
    m: &pb::GetCostReportRequest,
    offset: FixedOffset,
    today: NaiveDate,
) -> Result<CostQuery, Invalid> {
    let mut v = Violations::new();
    let p = period(&mut v, "period", m.period.as_ref());
    let grouping = match pb::CostGrouping::try_from(m.group_by) {
        Ok(pb::CostGrouping::Supplier) => Some(Grouping::Supplier),
        Ok(pb::CostGrouping::Month) => Some(Grouping::Month),
        Ok(pb::CostGrouping::Part | pb::CostGrouping::Unspecified) => Some(Grouping::Part),
        Err(_) => {
            v.add("group_by", format!("{} is not a grouping", m.group_by));
            None
        }
    };
    v.done(|| {
        let (from, to) = match p? {
            Some(p) => p,
            None => {
                let first = today.with_day(1).unwrap_or(today);
                let next = first
                    .checked_add_months(chrono::Months::new(1))
                    .unwrap_or(first);
                (
                    wire::local_midnight(offset, first),
                    wire::local_midnight(offset, next),
                )
            }
        };
        Some(CostQuery {
            from,
            to,
            grouping: grouping?,
        })
    })
}

pub fn row(r: &CostRow, currency: &str) -> pb::CostReportRow {
    pb::CostReportRow {
        key: r.key.clone(),
        orders: r.orders,
        quantity: r.quantity.min(u64::from(u32::MAX)) as u32,
        spend: Some(money(currency, r.spend_minor)),
        quoted: Some(money(currency, r.quoted_minor)),
        variance: Some(money(currency, r.variance_minor())),
        freight: Some(money(currency, r.freight_minor)),
        at_line_quotes: Some(money(currency, r.at_line_quotes_minor)),
        total_cost: Some(money(currency, r.total_cost_minor())),
    }
}
