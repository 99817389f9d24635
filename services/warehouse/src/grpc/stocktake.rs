//! Stocktakes, period close and ABC classification: parsing the requests, answering with
//! stocktakes, periods and classes.

use std::collections::HashMap;

use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations, optional_text, required_text};

use crate::domain::abc::Classified;
use crate::domain::stocktake::parse_period;
use crate::domain::{PartNo, Quantity};
use crate::service::{CloseStocktake, ClosedPeriod, OpenStocktake, RecordCount};
use crate::store::stocktakes::{Stocktake, StocktakeLine};
use crate::wire;

pub fn stocktake_id(s: &str) -> Result<String, String> {
    required_text(s, 64)
}

/// A month, "YYYY-MM".
pub fn period(s: &str) -> Result<(i32, u32), String> {
    parse_period(s)
}

impl TryFrom<&pb::OpenStocktakeRequest> for OpenStocktake {
    type Error = Invalid;

    fn try_from(m: &pb::OpenStocktakeRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let key = v.check("idempotency_key", required_text(&m.idempotency_key, 200));
        let note = v.check("note", optional_text(&m.note, 500));
        let mut zones = Vec::new();
        for (i, z) in m.zones.iter().enumerate() {
            let zone = wire::zone_from(*z)
                .and_then(|z| z.ok_or_else(|| "must be a zone, not UNSPECIFIED".to_owned()));
            if let Some(z) = v.check(format!("zones[{i}]"), zone) {
                zones.push(z);
            }
        }
        let mut part_nos = Vec::new();
        for (i, p) in m.part_nos.iter().enumerate() {
            if let Some(p) = v.check(format!("part_nos[{i}]"), PartNo::parse(p)) {
                part_nos.push(p);
            }
        }
        v.done(|| {
            Some(OpenStocktake {
                idempotency_key: key?,
                zones,
                part_nos,
                note: note?,
            })
        })
    }
}

impl TryFrom<&pb::RecordCountRequest> for RecordCount {
    type Error = Invalid;

    fn try_from(m: &pb::RecordCountRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let id = v.check("stocktake_id", stocktake_id(&m.stocktake_id));
        let part_no = v.check("part_no", PartNo::parse(&m.part_no));
        let zone = v.check("zone", wire::required_zone(m.zone));
        if m.counted > Quantity::MAX {
            v.add("counted", format!("must be at most {}", Quantity::MAX));
        }
        v.done(|| {
            Some(RecordCount {
                stocktake_id: id?,
                part_no: part_no?,
                zone: zone?,
                counted: m.counted,
            })
        })
    }
}

impl TryFrom<&pb::CloseStocktakeRequest> for CloseStocktake {
    type Error = Invalid;

    fn try_from(m: &pb::CloseStocktakeRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let id = v.check("stocktake_id", stocktake_id(&m.stocktake_id));
        let default_reason = v.check("default_reason", optional_text(&m.default_reason, 500));
        let mut reasons = HashMap::new();
        for (i, r) in m.reasons.iter().enumerate() {
            let part_no = v.check(format!("reasons[{i}].part_no"), PartNo::parse(&r.part_no));
            let zone = v.check(format!("reasons[{i}].zone"), wire::required_zone(r.zone));
            let reason = v.check(
                format!("reasons[{i}].reason"),
                required_text(&r.reason, 500),
            );
            if let (Some(p), Some(z), Some(reason)) = (part_no, zone, reason) {
                reasons.insert((p.into_string(), z), reason);
            }
        }
        v.done(|| {
            Some(CloseStocktake {
                stocktake_id: id?,
                reasons,
                default_reason: default_reason?,
                allow_uncounted: m.allow_uncounted,
            })
        })
    }
}

pub fn line_to_proto(l: &StocktakeLine) -> pb::StocktakeLine {
    pb::StocktakeLine {
        part_no: l.part_no.clone(),
        zone: wire::zone(l.zone),
        book: l.book as u32,
        counted: l.counted.map(|c| c as u32),
        difference: l.counted.map(|c| c - l.book).unwrap_or(0) as i32,
        reason: l.reason.clone(),
        counted_by: l.counted_by.clone(),
    }
}

pub fn stocktake_to_proto(s: &Stocktake) -> pb::Stocktake {
    pb::Stocktake {
        stocktake_id: s.stocktake_id.clone(),
        status: if s.closed {
            pb::StocktakeStatus::Closed
        } else {
            pb::StocktakeStatus::Open
        } as i32,
        zones: s.zones.iter().map(|z| wire::zone(*z)).collect(),
        part_nos: s.part_nos.clone(),
        lines: s.lines.iter().map(line_to_proto).collect(),
        accuracy_bp: s.accuracy_bp as u32,
        difference_value: s
            .closed
            .then(|| wire::money(&s.currency, s.difference_minor)),
        opened_at: Some(wire::timestamp(s.opened_at)),
        closed_at: s.closed_at.map(wire::timestamp),
        opened_by: s.opened_by.clone(),
        closed_by: s.closed_by.clone(),
    }
}

pub fn period_to_proto(p: ClosedPeriod) -> pb::Period {
    pb::Period {
        period: p.period,
        closed: true,
        closed_at: Some(wire::timestamp(p.closed_at)),
        closed_by: p.closed_by,
    }
}

pub fn abc_to_proto(classified: &[Classified], currency: &str) -> pb::ClassifyAbcResponse {
    pb::ClassifyAbcResponse {
        total_usage_value: Some(wire::money(
            currency,
            classified.iter().map(|c| c.usage.value_minor.max(0)).sum(),
        )),
        entries: classified
            .iter()
            .map(|c| pb::AbcEntry {
                part_no: c.usage.part_no.clone(),
                usage_quantity: c.usage.quantity.max(0) as u32,
                usage_value: Some(wire::money(currency, c.usage.value_minor)),
                share_bp: c.share_bp,
                cumulative_share_bp: c.cumulative_bp,
                abc_class: wire::abc_class(Some(c.class)),
            })
            .collect(),
    }
}
