//! Purchase orders: parsing creations, lists, cancellations and new promised dates.

use aftersales_platform::proto::procurement::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations, optional_text, required_text};

use super::quotes::{charge, price};
use super::{Parse, optional, page};
use crate::domain::{
    PartNo, PurchaseReason, Quantity, RequestNo, SupplierId, optional_date, required_date,
};
use crate::service::{CancelPo, CreatePo, PoLineInput, PoQuery, RevisePromisedDate};
use crate::store::orders::Filter;
use crate::wire;

/// More lines than a purchase order has; a bigger message is a mistake, not an order.
const MAX_LINES: usize = 200;

/// A PO number as given ("PO-2611-000123", upper-cased).
pub fn po_number(s: &str) -> Result<String, String> {
    let t = required_text(s, 64)?.to_ascii_uppercase();
    if t.chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
    {
        Ok(t)
    } else {
        Err("must be a PO number like PO-2611-000123".into())
    }
}

impl TryFrom<Parse<'_, pb::CreatePurchaseOrderRequest>> for CreatePo {
    type Error = Invalid;

    fn try_from(p: Parse<'_, pb::CreatePurchaseOrderRequest>) -> Result<Self, Invalid> {
        let m = p.msg;
        let mut v = Violations::new();
        let key = v.check("idempotency_key", required_text(&m.idempotency_key, 200));
        let supplier_id = v.check("supplier_id", optional(&m.supplier_id, SupplierId::parse));
        let reason = v.check("reason", wire::reason_from(m.reason));
        if m.lines.is_empty() {
            v.add("lines", "at least one line is required");
        }
        if m.lines.len() > MAX_LINES {
            v.add("lines", format!("at most {MAX_LINES} lines"));
        }
        let mut lines = Vec::new();
        for (i, l) in m.lines.iter().enumerate() {
            let f = |n: &str| format!("lines[{i}].{n}");
            let part_no = v.check(f("part_no"), PartNo::parse(&l.part_no));
            let quantity = v.check(f("quantity"), Quantity::parse(l.quantity));
            let unit_price = match &l.unit_price {
                None => Some(None),
                Some(m) => v.check(f("unit_price"), price(Some(m), p.currency).map(Some)),
            };
            let quote_id = v.check(f("quote_id"), optional_text(&l.quote_id, 64));
            let mut request_nos = Vec::new();
            for (j, r) in l.request_nos.iter().enumerate() {
                if let Some(r) =
                    v.check(format!("lines[{i}].request_nos[{j}]"), RequestNo::parse(r))
                {
                    request_nos.push(r);
                }
            }
            let spec = v.check(f("specification"), optional_text(&l.specification, 2_000));
            if let (Some(part_no), Some(quantity), Some(unit_price), Some(quote_id), Some(spec)) =
                (part_no, quantity, unit_price, quote_id, spec)
            {
                lines.push(PoLineInput {
                    part_no,
                    quantity,
                    unit_price,
                    quote_id: (!quote_id.is_empty()).then_some(quote_id),
                    request_nos,
                    specification: (!spec.is_empty()).then_some(spec),
                });
            }
        }
        let promised_date = v.check("promised_date", optional_date(&m.promised_date));
        let mut backorder_ids = Vec::new();
        for (i, b) in m.backorder_ids.iter().enumerate() {
            if let Some(b) = v.check(format!("backorder_ids[{i}]"), required_text(b, 64)) {
                backorder_ids.push(b);
            }
        }
        let note = v.check("note", optional_text(&m.note, 2_000));
        let freight = v.check("freight", charge(m.freight.as_ref(), p.currency));
        v.done(|| {
            Some(CreatePo {
                idempotency_key: key?,
                supplier_id: supplier_id?,
                reason: reason?.unwrap_or(PurchaseReason::Manual),
                lines,
                promised_date: promised_date?,
                backorder_ids,
                note: note?,
                freight_minor: freight?,
            })
        })
    }
}

impl TryFrom<Parse<'_, pb::ListPurchaseOrdersRequest>> for PoQuery {
    type Error = Invalid;

    fn try_from(p: Parse<'_, pb::ListPurchaseOrdersRequest>) -> Result<Self, Invalid> {
        let m = p.msg;
        let mut v = Violations::new();
        let mut statuses = Vec::new();
        for (i, s) in m.statuses.iter().enumerate() {
            if let Some(Some(s)) = v.check(format!("statuses[{i}]"), wire::po_status_from(*s)) {
                statuses.push(s);
            }
        }
        let supplier_id = v.check("supplier_id", optional(&m.supplier_id, SupplierId::parse));
        let part_no = v.check("part_no", optional(&m.part_no, PartNo::parse));
        let request_no = v.check("request_no", optional(&m.request_no, RequestNo::parse));
        let issued = m.issued.as_ref();
        let from = issued
            .and_then(|r| r.from.as_ref())
            .map(wire::from_timestamp);
        let to = issued.and_then(|r| r.to.as_ref()).map(wire::from_timestamp);
        if matches!(from, Some(None)) {
            v.add("issued.from", "is not a valid timestamp");
        }
        if matches!(to, Some(None)) {
            v.add("issued.to", "is not a valid timestamp");
        }
        let page = page(&mut v, m.page_size, &m.page_token, 50, p.max_page_size);
        v.done(|| {
            Some(PoQuery {
                filter: Filter {
                    statuses,
                    supplier_id: supplier_id?.map(|s| s.as_str().to_owned()),
                    part_no: part_no?.map(|p| p.as_str().to_owned()),
                    request_no: request_no?.map(|r| r.as_str().to_owned()),
                    overdue_on: None,
                    issued_from: from.flatten(),
                    issued_to: to.flatten(),
                    branch: None,
                },
                overdue_only: m.overdue_only,
                page: page?,
            })
        })
    }
}

impl TryFrom<&pb::CancelPurchaseOrderRequest> for CancelPo {
    type Error = Invalid;

    fn try_from(m: &pb::CancelPurchaseOrderRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let po = v.check("po_number", po_number(&m.po_number));
        let reason = v.check("reason", required_text(&m.reason, 1_000));
        v.done(|| {
            Some(CancelPo {
                po_number: po?,
                reason: reason?,
            })
        })
    }
}

impl TryFrom<&pb::RevisePromisedDateRequest> for RevisePromisedDate {
    type Error = Invalid;

    fn try_from(m: &pb::RevisePromisedDateRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let po = v.check("po_number", po_number(&m.po_number));
        let date = v.check("promised_date", required_date(&m.promised_date));
        let reason = v.check("reason", required_text(&m.reason, 1_000));
        v.done(|| {
            Some(RevisePromisedDate {
                po_number: po?,
                promised_date: date?,
                reason: reason?,
            })
        })
    }
}
