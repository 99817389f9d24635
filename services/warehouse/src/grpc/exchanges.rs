//! Advance exchange from turnover stock: parsing the requests, answering with exchanges.

use aftersales_platform::ids::Serial;
use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations, optional_text, required_text};
use chrono::{DateTime, Utc};

use super::{Paged, optional, page};
use crate::domain::{BranchCode, DealerCode, PartNo, Quantity, Zone};
use crate::service::{CreateExchange, ExchangeReturn, ExchangesQuery, TransferToTurnover};
use crate::store::exchanges::Exchange;
use crate::wire;

impl TryFrom<&pb::TransferToTurnoverRequest> for TransferToTurnover {
    type Error = Invalid;

    fn try_from(m: &pb::TransferToTurnoverRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let key = v.check("idempotency_key", required_text(&m.idempotency_key, 200));
        let part_no = v.check("part_no", PartNo::parse(&m.part_no));
        let quantity = v.check("quantity", Quantity::parse(m.quantity));
        let reason = v.check("reason", required_text(&m.reason, 500));
        v.done(|| {
            Some(TransferToTurnover {
                idempotency_key: key?,
                part_no: part_no?,
                quantity: quantity?,
                reason: reason?,
            })
        })
    }
}

/// At most a year to send a defective unit back.
const MAX_RETURN_DAYS: u32 = 365;

impl TryFrom<&pb::CreateAdvanceExchangeRequest> for CreateExchange {
    type Error = Invalid;

    fn try_from(m: &pb::CreateAdvanceExchangeRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let key = v.check("idempotency_key", required_text(&m.idempotency_key, 200));
        let dealer = v.check("dealer_code", DealerCode::parse(&m.dealer_code));
        let branch = v.check("branch", BranchCode::parse(&m.branch));
        let part_no = v.check("part_no", PartNo::parse(&m.part_no));
        let quantity = v.check("quantity", Quantity::parse(m.quantity));
        let serial = v.check("defective_serial", Serial::parse(&m.defective_serial));
        if m.return_days > MAX_RETURN_DAYS {
            v.add(
                "return_days",
                format!("must be at most {MAX_RETURN_DAYS} (0: the warehouse's default)"),
            );
        }
        if m.ship_to
            .as_ref()
            .is_none_or(|a| a.address.trim().is_empty())
        {
            v.add("ship_to.address", "is required: where the good units go");
        }
        v.done(|| {
            Some(CreateExchange {
                idempotency_key: key?,
                dealer_code: dealer?,
                branch: branch?,
                part_no: part_no?,
                quantity: quantity?,
                defective_serial: serial?,
                ship_to: m.ship_to.as_ref().map(wire::address_from),
                return_days: Some(m.return_days).filter(|d| *d > 0),
            })
        })
    }
}

impl TryFrom<&pb::ReceiveAdvanceExchangeReturnRequest> for ExchangeReturn {
    type Error = Invalid;

    fn try_from(m: &pb::ReceiveAdvanceExchangeReturnRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let id = v.check("exchange_id", exchange_id(&m.exchange_id));
        let serial = v.check("serial", Serial::parse(&m.serial));
        let zone = v.check(
            "zone",
            wire::zone_from(m.zone).and_then(|z| match z {
                None => Ok(Zone::OldParts),
                Some(z @ (Zone::OldParts | Zone::Nonconforming)) => Ok(z),
                Some(_) => Err("must be OLD_PARTS or NONCONFORMING".to_owned()),
            }),
        );
        let note = v.check("note", optional_text(&m.note, 500));
        v.done(|| {
            Some(ExchangeReturn {
                exchange_id: id?,
                serial: serial?,
                zone: zone?,
                note: note?,
            })
        })
    }
}

impl TryFrom<Paged<'_, pb::ListAdvanceExchangesRequest>> for ExchangesQuery {
    type Error = Invalid;

    fn try_from(r: Paged<'_, pb::ListAdvanceExchangesRequest>) -> Result<Self, Invalid> {
        let m = r.msg;
        let mut v = Violations::new();
        let dealer = v.check("dealer_code", optional(&m.dealer_code, DealerCode::parse));
        let page = page::<(DateTime<Utc>, String)>(
            &mut v,
            m.page_size,
            &m.page_token,
            100,
            r.max_page_size,
        );
        v.done(|| {
            Some(ExchangesQuery {
                dealer_code: dealer?.map(|d| d.as_str().to_owned()),
                branch: None,
                overdue_only: m.overdue_only,
                page: page?,
            })
        })
    }
}

/// An exchange id (`AX-…`).
fn exchange_id(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("is required".into());
    }
    if t.len() > 64 || !t.starts_with("AX-") {
        return Err(format!("{s:?} is not an advance exchange id (AX-…)"));
    }
    Ok(t.to_owned())
}

pub fn exchange_to_proto(x: &Exchange) -> pb::AdvanceExchange {
    pb::AdvanceExchange {
        exchange_id: x.exchange_id.clone(),
        dealer_code: x.dealer_code.clone(),
        branch: x.branch.clone(),
        part_no: x.part_no.clone(),
        quantity: x.quantity as u32,
        defective_serial: x.defective_serial.clone(),
        ship_to: x.ship_to.as_ref().map(wire::address),
        status: wire::exchange_status(x.status),
        shipped_at: Some(wire::timestamp(x.shipped_at)),
        due_at: Some(wire::timestamp(x.due_at)),
        returned_at: x.returned_at.map(wire::timestamp),
        returned_late: x.returned_late,
        charge: Some(wire::money(&x.charge_currency, x.charge_minor)),
        overdue_at: x.overdue_at.map(wire::timestamp),
        created_by: x.created_by.clone(),
    }
}
