//! Quotes: parsing submissions and comparisons.

use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::procurement::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations, optional_text, required_text};

use super::Parse;
use crate::domain::{PartNo, Price, Quantity, SupplierId, optional_date, required_date};
use crate::service::{CompareQuotes, SubmitQuote};

/// A price that must be given: positive, in the deployment's currency.
pub(crate) fn price(m: Option<&common::Money>, currency: &str) -> Result<Price, String> {
    let m = m.ok_or_else(|| "is required".to_owned())?;
    Price::parse(&m.currency, m.amount_minor, currency)
}

/// An amount that may be absent or zero (freight), never negative or foreign.
pub(crate) fn charge(m: Option<&common::Money>, currency: &str) -> Result<Option<i64>, String> {
    match m {
        None => Ok(None),
        Some(m) if m.amount_minor == 0 && m.currency.trim().is_empty() => Ok(None),
        Some(m) if m.amount_minor == 0 => Price::parse(&m.currency, 1, currency).map(|_| Some(0)),
        Some(m) => Price::parse(&m.currency, m.amount_minor, currency).map(|p| Some(p.minor())),
    }
}

impl TryFrom<Parse<'_, pb::SubmitQuoteRequest>> for SubmitQuote {
    type Error = Invalid;

    fn try_from(p: Parse<'_, pb::SubmitQuoteRequest>) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let key = v.check(
            "idempotency_key",
            required_text(&p.msg.idempotency_key, 200),
        );
        let Some(q) = &p.msg.quote else {
            v.add("quote", "is required");
            return Err(Invalid(v.into_vec()));
        };
        let supplier_id = v.check("quote.supplier_id", SupplierId::parse(&q.supplier_id));
        let part_no = v.check("quote.part_no", PartNo::parse(&q.part_no));
        let unit_price = v.check("quote.unit_price", price(q.unit_price.as_ref(), p.currency));
        if q.min_quantity > Quantity::MAX {
            v.add(
                "quote.min_quantity",
                format!("must be at most {}", Quantity::MAX),
            );
        }
        if q.lead_time_days > 365 {
            v.add("quote.lead_time_days", "must be at most 365");
        }
        let valid_from = v.check("quote.valid_from_date", optional_date(&q.valid_from_date));
        let valid_until = v.check("quote.valid_until_date", required_date(&q.valid_until_date));
        if let (Some(Some(from)), Some(until)) = (valid_from, valid_until)
            && until < from
        {
            v.add(
                "quote.valid_until_date",
                format!("must not be before valid_from_date {from}"),
            );
        }
        let supplier_ref = v.check("quote.supplier_ref", optional_text(&q.supplier_ref, 100));
        let specification = v.check(
            "quote.specification",
            optional_text(&q.specification, 2_000),
        );
        let freight = v.check(
            "quote.freight",
            super::quotes::charge(q.freight.as_ref(), p.currency),
        );
        v.done(|| {
            Some(SubmitQuote {
                idempotency_key: key?,
                supplier_id: supplier_id?,
                part_no: part_no?,
                unit_price: unit_price?,
                min_quantity: q.min_quantity.max(1),
                lead_time_days: (q.lead_time_days > 0).then_some(q.lead_time_days),
                valid_from: valid_from?,
                valid_until: valid_until?,
                supplier_ref: supplier_ref?,
                specification: specification?,
                freight_minor: freight?.unwrap_or(0),
            })
        })
    }
}

impl TryFrom<&pb::CompareQuotesRequest> for CompareQuotes {
    type Error = Invalid;

    fn try_from(m: &pb::CompareQuotesRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let part_no = v.check("part_no", PartNo::parse(&m.part_no));
        let quantity = v.check("quantity", Quantity::parse(m.quantity));
        let need_by = v.check("need_by_date", optional_date(&m.need_by_date));
        let as_of = v.check("as_of_date", optional_date(&m.as_of_date));
        v.done(|| {
            Some(CompareQuotes {
                part_no: part_no?,
                quantity: quantity?,
                need_by: need_by?,
                as_of: as_of?,
            })
        })
    }
}
