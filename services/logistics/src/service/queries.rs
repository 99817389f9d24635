//! What the API reads: a shipment with its tracking and exceptions, pages of shipments, a
//! pick-up, and the freight statistics.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};

use super::{Logistics, visible};
use crate::error::Error;
use crate::store::exceptions::{self, ExceptionRow};
use crate::store::pickups::{self, Pickup};
use crate::store::shipments::{self, Filter, Shipment};
use crate::store::stats::{self, Grouping, StatsRow};
use crate::store::tracking::{self, TrackingRow};

/// A shipment as answered: with its tracking updates and exceptions.
#[derive(Debug, Clone, PartialEq)]
pub struct ShipmentView {
    pub shipment: Shipment,
    pub tracking: Vec<TrackingRow>,
    pub exceptions: Vec<ExceptionRow>,
}

/// Which shipment: by number, or by a carrier's waybill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShipmentKey {
    No(String),
    Waybill { carrier: String, waybill_no: String },
}

/// A page of shipments.
#[derive(Debug, Clone, Default)]
pub struct ShipmentQuery {
    pub filter: Filter,
    pub size: u64,
    pub after: Option<(DateTime<Utc>, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreightQuery {
    pub grouping: Grouping,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// A local month "YYYY-MM" instead of from / to.
    pub month: Option<NaiveDate>,
    pub branch: Option<String>,
}

impl Logistics {
    async fn view(&self, shipment: Shipment) -> Result<ShipmentView, Error> {
        Ok(ShipmentView {
            tracking: tracking::of_shipment(&self.db, &shipment.shipment_no).await?,
            exceptions: exceptions::of_shipment(&self.db, &shipment.shipment_no).await?,
            shipment,
        })
    }

    pub async fn shipment(
        &self,
        key: &ShipmentKey,
        scope: Option<&str>,
    ) -> Result<ShipmentView, Error> {
        let (found, what) = match key {
            ShipmentKey::No(no) => (
                shipments::get(&self.db, no).await?,
                format!("shipment {no}"),
            ),
            ShipmentKey::Waybill {
                carrier,
                waybill_no,
            } => (
                shipments::by_waybill(&self.db, carrier, waybill_no).await?,
                format!("waybill {waybill_no} of carrier {carrier}"),
            ),
        };
        let s = found
            .filter(|s| visible(scope, &s.branch))
            .ok_or_else(|| Error::not_found(what))?;
        self.view(s).await
    }

    /// A page, newest first, and the key the next page starts after.
    pub async fn shipments(
        &self,
        q: &ShipmentQuery,
    ) -> Result<(Vec<ShipmentView>, Option<(DateTime<Utc>, String)>), Error> {
        let rows = shipments::list(&self.db, &q.filter, q.after.clone(), q.size).await?;
        let next = (rows.len() as u64 >= q.size && q.size > 0)
            .then(|| rows.last().map(|s| (s.planned_at, s.shipment_no.clone())))
            .flatten();
        let mut out = Vec::with_capacity(rows.len());
        for s in rows {
            out.push(self.view(s).await?);
        }
        Ok((out, next))
    }

    pub async fn pickup(
        &self,
        pickup_no: &str,
        scope: Option<&str>,
    ) -> Result<(Pickup, Vec<TrackingRow>), Error> {
        let p = pickups::get(&self.db, pickup_no)
            .await?
            .filter(|p| visible(scope, &p.branch))
            .ok_or_else(|| Error::not_found(format!("pick-up {pickup_no}")))?;
        let t = tracking::of_pickup(&self.db, pickup_no).await?;
        Ok((p, t))
    }

    /// The rows of a grouping and their total.
    pub async fn freight(&self, q: &FreightQuery) -> Result<(Vec<StatsRow>, StatsRow), Error> {
        let (from, to) = match q.month {
            Some(first) => {
                let next = if first.month() == 12 {
                    NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
                }
                .unwrap_or(first);
                (
                    Some(self.local_midnight(first)),
                    Some(self.local_midnight(next)),
                )
            }
            None => (q.from, q.to),
        };
        let rows = stats::freight(
            &self.db,
            q.grouping,
            from,
            to,
            q.branch.as_deref(),
            self.offset.local_minus_utc() / 60,
        )
        .await?;
        let mut total = StatsRow::default();
        for r in &rows {
            total.shipments += r.shipments;
            total.pickups += r.pickups;
            total.cost_minor += r.cost_minor;
            total.delivered += r.delivered;
            total.on_time += r.on_time;
            total.transit_minutes += r.transit_minutes;
            total.delays += r.delays;
            total.damages += r.damages;
            total.losses += r.losses;
        }
        Ok((rows, total))
    }

    fn local_midnight(&self, day: NaiveDate) -> DateTime<Utc> {
        self.offset
            .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| day.and_time(chrono::NaiveTime::MIN).and_utc())
    }
}
