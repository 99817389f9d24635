//! The figures: parsing the requests for KPIs, top returned parts, fill rate, technicians'
//! evaluations and the quality archive.

use aftersales_platform::ids::{BranchCode, PartNo, Serial};
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::feedback::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations, optional_text};
use chrono::NaiveDate;

use super::{Paged, date, instant, optional, page_desc};
use crate::domain::period::{Granularity, Period};
use crate::service::reports::{KpiQuery, QualityQuery, Span};

/// A named period (`2026-11`, `2026-W48` …), or a time range, or neither (the current month).
pub fn span(
    v: &mut Violations,
    name_field: &str,
    name: &str,
    range_field: &str,
    range: &Option<common::TimeRange>,
) -> Option<Span> {
    if !name.trim().is_empty() {
        return v.check(name_field, Period::parse(name)).map(Span::Named);
    }
    match range {
        None => Some(Span::Current),
        Some(r) => match (instant(&r.from), instant(&r.to)) {
            (None, None) => Some(Span::Current),
            (Some(f), Some(t)) if f < t => Some(Span::Range(f, t)),
            (Some(_), Some(_)) => {
                v.add(format!("{range_field}.to"), "must be after from");
                None
            }
            (None, Some(_)) => {
                v.add(format!("{range_field}.from"), "is required with to");
                None
            }
            (Some(_), None) => {
                v.add(format!("{range_field}.to"), "is required with from");
                None
            }
        },
    }
}

impl TryFrom<&pb::GetKpisRequest> for KpiQuery {
    type Error = Invalid;

    fn try_from(m: &pb::GetKpisRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let span = span(&mut v, "period_name", &m.period_name, "period", &m.period);
        let branch = v.check("branch", optional(&m.branch, BranchCode::parse));
        if m.history > 24 {
            v.add("history", "must be at most 24");
        }
        if m.history > 0 && m.period_name.trim().is_empty() {
            v.add(
                "history",
                "needs period_name: a free range has no previous period",
            );
        }
        v.done(|| {
            Some(KpiQuery {
                span: span?,
                branch: branch?.map(BranchCode::into_string),
                history: m.history,
            })
        })
    }
}

/// A week or a month: by name, or by kind and a date inside it (`today` when empty).
pub fn top_period(
    m: &pb::TopReturnedPartsRequest,
    today: NaiveDate,
) -> Result<(Period, Option<String>, u64), Invalid> {
    let mut v = Violations::new();
    let period = if !m.period_name.trim().is_empty() {
        match v.check("period_name", Period::parse(&m.period_name)) {
            Some(p) if matches!(p.granularity(), Granularity::Week | Granularity::Month) => Some(p),
            Some(_) => {
                v.add(
                    "period_name",
                    "must be a week (2026-W48) or a month (2026-11)",
                );
                None
            }
            None => None,
        }
    } else {
        let g = match pb::TopPeriod::try_from(m.period) {
            Ok(pb::TopPeriod::Week) => Some(Granularity::Week),
            Ok(pb::TopPeriod::Month) => Some(Granularity::Month),
            _ => {
                v.add("period", "is required: week or month (or period_name)");
                None
            }
        };
        let d = v.check("date", date(&m.date)).map(|d| d.unwrap_or(today));
        match (g, d) {
            (Some(g), Some(d)) => Some(Period::containing(g, d)),
            _ => None,
        }
    };
    let branch = v.check("branch", optional(&m.branch, BranchCode::parse));
    let limit = match m.limit {
        0 => Some(10),
        n if n <= 100 => Some(n as u64),
        _ => {
            v.add("limit", "must be at most 100");
            None
        }
    };
    v.done(|| Some((period?, branch?.map(BranchCode::into_string), limit?)))
}

/// The month of an evaluation (the current one when empty).
pub fn month(s: &str, today: NaiveDate) -> Result<Period, Invalid> {
    if s.trim().is_empty() {
        return Ok(Period::containing(Granularity::Month, today));
    }
    match Period::parse(s) {
        Ok(p) if p.granularity() == Granularity::Month => Ok(p),
        Ok(_) => Err(Invalid::field("month", "must be a month like 2026-11")),
        Err(e) => Err(Invalid::field("month", e)),
    }
}

impl TryFrom<Paged<'_, pb::GetQualityArchiveRequest>> for QualityQuery {
    type Error = Invalid;

    fn try_from(p: Paged<'_, pb::GetQualityArchiveRequest>) -> Result<Self, Invalid> {
        let m = p.msg;
        let mut v = Violations::new();
        let serial = v.check("serial", optional(&m.serial, Serial::parse));
        let model = v.check("product_model", optional_text(&m.product_model, 64));
        let part_no = v.check("part_no", optional(&m.part_no, PartNo::parse));
        if m.serial.trim().is_empty()
            && m.product_model.trim().is_empty()
            && m.part_no.trim().is_empty()
        {
            v.add(
                "product_model",
                "one of serial, product_model and part_no is required",
            );
        }
        let branch = v.check("branch", optional(&m.branch, BranchCode::parse));
        let (from, to) = m
            .period
            .as_ref()
            .map(|r| (instant(&r.from), instant(&r.to)))
            .unwrap_or((None, None));
        let page = page_desc(&mut v, m.page_size, &m.page_token, p.max_page_size);
        v.done(|| {
            let page = page?;
            Some(QualityQuery {
                serial: serial?.map(Serial::into_string),
                product_model: Some(model?).filter(|m| !m.is_empty()),
                part_no: part_no?.map(PartNo::into_string),
                branch: branch?.map(BranchCode::into_string),
                from,
                to,
                page_size: page.0,
                before: page.1,
            })
        })
    }
}
