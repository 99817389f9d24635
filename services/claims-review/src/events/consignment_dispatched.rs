//! `logistics.consignment.dispatched`: goods handed to a carrier for a dealer. Their units count
//! into the month's parts shipped; a parts order of the dealer's own goes on its statement at
//! the warehouse's value plus its parts margin. Once per consignment however often it arrives.
//! The event is parsed here, once, into the domain's [`Dispatch`].

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::logistics::v1 as logistics;
use aftersales_platform::validate::{Invalid, Violations, required_text};
use sea_orm::DatabaseTransaction;

use crate::domain::dealer::{ConsignmentKind, Dispatch};
use crate::error::Error;
use crate::mapping;
use crate::service::{Claims, micros};

pub struct ConsignmentDispatched {
    claims: Claims,
}

impl ConsignmentDispatched {
    pub fn new(claims: &Claims) -> Self {
        Self {
            claims: claims.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Handler for ConsignmentDispatched {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let p: logistics::ConsignmentDispatched = ev.payload()?;
        let dispatch = Dispatch::try_from(&p).map_err(Error::from)?;
        self.claims.record_dispatch(txn, &dispatch).await?;
        Ok(())
    }
}

impl TryFrom<&logistics::ConsignmentDispatched> for Dispatch {
    type Error = Invalid;

    fn try_from(p: &logistics::ConsignmentDispatched) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let consignment_id = v.check("consignment_id", required_text(&p.consignment_id, 100));
        let dealer_code = v.check("dealer_code", required_text(&p.dealer_code, 100));
        let kind = v.check(
            "kind",
            match common::ConsignmentKind::try_from(p.kind) {
                Ok(common::ConsignmentKind::DealerOrder) => Ok(ConsignmentKind::DealerOrder),
                Ok(common::ConsignmentKind::AdvanceExchange) => {
                    Ok(ConsignmentKind::AdvanceExchange)
                }
                _ => Err("is not a consignment kind"),
            },
        );
        if p.lines.is_empty() {
            v.add("lines", "is required");
        }
        let mut units: Option<u32> = Some(0);
        for (i, l) in p.lines.iter().enumerate() {
            if l.part_no.trim().is_empty() {
                v.add(format!("lines[{i}].part_no"), "is required");
            }
            if l.quantity == 0 {
                v.add(format!("lines[{i}].quantity"), "must be at least 1");
            }
            units = units.and_then(|u| u.checked_add(l.quantity));
        }
        let units = units.filter(|u| i32::try_from(*u).is_ok());
        if units.is_none() {
            v.add("lines", "hold more units than a consignment can");
        }
        // What an exchange's unit is worth is charged only if its defective unit is late.
        let (value_minor, currency) = match (kind, &p.value) {
            (Some(ConsignmentKind::DealerOrder), None) => {
                v.add("value", "is required for a dealer order");
                (0, String::new())
            }
            (Some(ConsignmentKind::DealerOrder), Some(m)) if m.amount_minor < 0 => {
                v.add("value.amount_minor", "must not be negative");
                (0, String::new())
            }
            (Some(ConsignmentKind::DealerOrder), Some(m)) => {
                (m.amount_minor, m.currency.trim().to_owned())
            }
            _ => (0, String::new()),
        };
        let dispatched_at = v.check(
            "dispatched_at",
            p.dispatched_at
                .as_ref()
                .ok_or("is required")
                .and_then(|t| mapping::from_timestamp(t).ok_or("is not a time")),
        );
        v.done(|| {
            Some(Dispatch {
                consignment_id: consignment_id?,
                kind: kind?,
                dealer_code: dealer_code?,
                shipment_no: p.shipment_no.trim().to_owned(),
                units: units?,
                value_minor,
                currency,
                dispatched_at: micros(dispatched_at?),
            })
        })
    }
}
