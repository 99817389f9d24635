//! The figures, read from the KPI read model: the KPIs of a period (and the periods before it),
//! the top returned parts, the parts fill rate by lifecycle class, the technicians' month and
//! the quality archive. A branch user sees its branch; head office any branch or all.

use aftersales_platform::auth::Caller;
use chrono::{DateTime, Utc};

use super::{Feedback, figure_branch};
use crate::domain::kpi::{LifecycleClass, ModelLifecycle, Ratio, lifecycle_class};
use crate::domain::period::{Granularity, Period};
use crate::error::Error;
use crate::store::readmodel::{self as rm, Figures, QualityRow, ReturnedPartRow, TechnicianRow};

/// A period by name, or a free range.
#[derive(Debug, Clone, PartialEq)]
pub enum Span {
    Named(Period),
    Range(DateTime<Utc>, DateTime<Utc>),
    /// The current month.
    Current,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KpiQuery {
    pub span: Span,
    pub branch: Option<String>,
    /// Periods before a named one, for charts.
    pub history: u32,
}

/// The KPIs of one period.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiReport {
    /// Empty for a free range.
    pub name: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub branch: String,
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QualityQuery {
    pub serial: Option<String>,
    pub product_model: Option<String>,
    pub part_no: Option<String>,
    pub branch: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub page_size: u64,
    pub before: Option<(DateTime<Utc>, String)>,
}

/// The fill rate of one lifecycle class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillClass {
    pub class: LifecycleClass,
    pub lines: Ratio,
    pub requests: u64,
}

impl Feedback {
    fn resolve_span(&self, span: &Span) -> (Option<Period>, DateTime<Utc>, DateTime<Utc>) {
        match span {
            Span::Named(p) => {
                let (from, to) = p.range(self.offset);
                (Some(*p), from, to)
            }
            Span::Range(from, to) => (None, *from, *to),
            Span::Current => {
                let p = Period::containing(Granularity::Month, self.today());
                let (from, to) = p.range(self.offset);
                (Some(p), from, to)
            }
        }
    }

    async fn report(
        &self,
        period: Option<Period>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        branch: &str,
    ) -> Result<KpiReport, Error> {
        let figures = rm::figures(&self.db, from, to, branch, self.now()).await?;
        Ok(KpiReport {
            name: period.map(|p| p.name()).unwrap_or_default(),
            from,
            to,
            branch: branch.to_owned(),
            figures,
        })
    }

    /// The KPIs asked for, and (oldest first) those of the periods before it.
    pub async fn kpis(
        &self,
        caller: &Caller,
        q: KpiQuery,
    ) -> Result<(KpiReport, Vec<KpiReport>), Error> {
        let branch = figure_branch(caller, q.branch.as_deref())?;
        let (period, from, to) = self.resolve_span(&q.span);
        let main = self.report(period, from, to, &branch).await?;
        let mut history = Vec::new();
        if let Some(p) = period {
            let mut before = p;
            for _ in 0..q.history {
                before = before.previous();
                let (f, t) = before.range(self.offset);
                history.push(self.report(Some(before), f, t, &branch).await?);
            }
            history.reverse();
        }
        Ok((main, history))
    }

    /// The parts returned most in a week or month, the period, and the units of all parts.
    pub async fn top_parts(
        &self,
        caller: &Caller,
        period: Period,
        branch: Option<String>,
        limit: u64,
    ) -> Result<(Vec<ReturnedPartRow>, i64), Error> {
        let branch = figure_branch(caller, branch.as_deref())?;
        let (from, to) = period.range(self.offset);
        Ok(rm::top_parts(&self.db, from, to, &branch, limit).await?)
    }

    /// Lines served from stock at the first reservation ÷ lines requested, per lifecycle class
    /// of the model on the reservation's day (in the enum's order, UNKNOWN last), and overall.
    pub async fn fill_rate(
        &self,
        caller: &Caller,
        span: Span,
        branch: Option<String>,
    ) -> Result<
        (
            Option<Period>,
            DateTime<Utc>,
            DateTime<Utc>,
            Vec<FillClass>,
            Ratio,
        ),
        Error,
    > {
        let branch = figure_branch(caller, branch.as_deref())?;
        let (period, from, to) = self.resolve_span(&span);
        let rows = rm::fill_rows(&self.db, from, to, &branch).await?;
        let classes = self.fill_classes(&rows);
        let overall = classes.iter().fold(Ratio::default(), |acc, c| {
            Ratio::new(
                acc.numerator + c.lines.numerator,
                acc.denominator + c.lines.denominator,
            )
        });
        Ok((period, from, to, classes, overall))
    }

    pub fn fill_classes(&self, rows: &[rm::FillRow]) -> Vec<FillClass> {
        LifecycleClass::ALL
            .iter()
            .map(|class| {
                let mut c = FillClass {
                    class: *class,
                    lines: Ratio::default(),
                    requests: 0,
                };
                for r in rows {
                    let on = r.first_at.with_timezone(&self.offset).date_naive();
                    let of = lifecycle_class(
                        ModelLifecycle {
                            lifecycle: r.lifecycle,
                            discontinued_on: r.discontinued_on,
                        },
                        on,
                        self.policy.long_discontinued_years,
                    );
                    if of == *class {
                        let (requested, filled) = r.lines();
                        c.lines.numerator += filled;
                        c.lines.denominator += requested;
                        c.requests += 1;
                    }
                }
                c
            })
            .collect()
    }

    /// Each technician's month.
    pub async fn technicians(
        &self,
        caller: &Caller,
        month: Period,
        branch: Option<String>,
        technician: Option<String>,
    ) -> Result<Vec<TechnicianRow>, Error> {
        let branch = figure_branch(caller, branch.as_deref())?;
        let (from, to) = month.range(self.offset);
        Ok(rm::technicians(
            &self.db,
            from,
            to,
            &branch,
            technician.as_deref().unwrap_or(""),
        )
        .await?)
    }

    /// One page of the quality archive, newest first, and where the next starts.
    pub async fn quality_archive(
        &self,
        caller: &Caller,
        q: QualityQuery,
    ) -> Result<(Vec<QualityRow>, Option<(DateTime<Utc>, String)>), Error> {
        let branch = match (caller.branch(), q.branch) {
            (Some(own), None) => Some(own.to_owned()),
            (Some(own), Some(asked)) if asked == own => Some(own.to_owned()),
            (Some(_), Some(_)) => return Ok((Vec::new(), None)),
            (None, asked) => asked,
        };
        let mut rows = rm::quality(
            &self.db,
            &rm::QualityFilter {
                serial: q.serial,
                product_model: q.product_model,
                part_no: q.part_no,
                branch,
                from: q.from,
                to: q.to,
                before: q.before,
                limit: q.page_size + 1,
            },
        )
        .await?;
        let more = rows.len() as u64 > q.page_size;
        rows.truncate(q.page_size as usize);
        let next = if more {
            rows.last().map(|r| (r.at, r.reference.clone()))
        } else {
            None
        };
        Ok((rows, next))
    }
}
