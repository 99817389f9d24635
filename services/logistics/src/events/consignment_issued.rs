//! `warehouse.consignment.issued`: goods for a dealer left the warehouse (its parts order, or the
//! good unit of an advance exchange). Logistics ships them at once — method and carrier from the
//! rate table, the carrier's waybill — and publishes the shipment notice
//! `logistics.consignment.dispatched` (see [`crate::service::consignments`]). The same
//! consignment arriving again, under any event id, ships nothing more.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::warehouse::v1 as wh;
use aftersales_platform::validate::{Invalid, Violations, optional_text, required_text};
use sea_orm::DatabaseTransaction;

use crate::domain::{BranchCode, DealerCode, Urgency};
use crate::error::Error;
use crate::service::{ConsignOutcome, IssuedConsignment, Logistics};
use crate::wire;

pub struct ConsignmentIssued {
    logistics: Logistics,
}

impl ConsignmentIssued {
    pub fn new(logistics: &Logistics) -> Self {
        Self {
            logistics: logistics.clone(),
        }
    }
}

/// A currency code: three letters.
fn currency(s: &str) -> Result<String, String> {
    let t = s.trim().to_ascii_uppercase();
    if t.len() == 3 && t.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(t)
    } else {
        Err(format!("{s:?} is not a currency code (three letters)"))
    }
}

/// The consignment as a shipment to make; every bad field is named (the event goes to the DLQ:
/// it will not get better).
impl TryFrom<&wh::ConsignmentIssued> for IssuedConsignment {
    type Error = Invalid;

    fn try_from(p: &wh::ConsignmentIssued) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let consignment_id = v.check("consignment_id", required_text(&p.consignment_id, 80));
        let kind = v.check("kind", wire::consignment_kind_from(p.kind));
        let dealer_code = v.check("dealer_code", DealerCode::parse(&p.dealer_code));
        let branch = v.check("branch", BranchCode::parse(&p.branch));
        let ship_to = match &p.ship_to {
            Some(a) => {
                // A dealer's goods go to its door: a branch alone is not enough (with neither,
                // the address check below names it).
                if a.address.trim().is_empty() && !a.branch.trim().is_empty() {
                    v.add("ship_to.address", "is required: the dealer's address");
                }
                wire::address_from(&mut v, "ship_to", a)
            }
            None => {
                v.add("ship_to", "is required: where the goods go");
                None
            }
        };
        let lines = wire::pick_lines(&mut v, &p.lines);
        let value = match &p.value {
            Some(common::Money {
                currency: c,
                amount_minor,
            }) => {
                if *amount_minor < 0 {
                    v.add("value.amount_minor", "must not be negative");
                }
                v.check("value.currency", currency(c))
                    .map(|c| (*amount_minor, c))
            }
            None => {
                v.add("value", "is required: the warehouse's value of the goods");
                None
            }
        };
        let issued_at = match &p.issued_at {
            Some(t) => v.check("issued_at", wire::from_timestamp(t)).map(Some),
            None => Some(None),
        };
        let dealer_reference = v.check("dealer_reference", optional_text(&p.dealer_reference, 200));
        v.done(|| {
            let (value_minor, value_currency) = value?;
            Some(IssuedConsignment {
                consignment_id: consignment_id?,
                kind: kind?,
                dealer_code: dealer_code?,
                branch: branch?,
                ship_to: ship_to?,
                lines,
                value_minor,
                value_currency,
                // An urgency this build does not know ships as normal rather than not at all.
                urgency: wire::urgency_from(p.urgency).unwrap_or(Urgency::Normal),
                issued_at: issued_at?,
                dealer_reference: dealer_reference?,
            })
        })
    }
}

#[async_trait::async_trait]
impl Handler for ConsignmentIssued {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: wh::ConsignmentIssued = ev.payload()?;
        let cmd = IssuedConsignment::try_from(&payload).map_err(Error::from)?;
        match self.logistics.on_consignment_issued(txn, &cmd).await? {
            ConsignOutcome::Dispatched(_) => {}
            ConsignOutcome::AlreadyShipped => {
                tracing::info!(consignment_id = %cmd.consignment_id, "consignment shipped already; nothing to do");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> wh::ConsignmentIssued {
        wh::ConsignmentIssued {
            consignment_id: "DO-0123456789abcdef0123456789abcdef".into(),
            kind: common::ConsignmentKind::DealerOrder as i32,
            dealer_code: "d-sh-0001".into(),
            branch: "SH01".into(),
            ship_to: Some(common::Address {
                recipient: "Zhang Motors".into(),
                phone: "+86 21 5555 0101".into(),
                address: "12 Dealer Road, Minhang, Shanghai".into(),
                region: common::Region::Suburban as i32,
                branch: "SH01".into(),
            }),
            lines: vec![
                wh::PickLine {
                    part_no: "PWR-55-01".into(),
                    quantity: 2,
                    zone: wh::Zone::Qualified as i32,
                },
                wh::PickLine {
                    part_no: "GOLD-W1".into(),
                    quantity: 1,
                    zone: wh::Zone::Valuables as i32,
                },
            ],
            value: Some(common::Money {
                currency: "CNY".into(),
                amount_minor: 90_000,
            }),
            issued_at: None,
            urgency: common::Urgency::Normal as i32,
            dealer_reference: "PO-7781".into(),
        }
    }

    #[test]
    fn a_good_consignment_parses_with_its_valuables_marked() {
        let c = IssuedConsignment::try_from(&good()).unwrap();
        assert_eq!(c.dealer_code.as_str(), "D-SH-0001");
        assert_eq!(c.kind, crate::domain::ConsignmentKind::DealerOrder);
        assert_eq!(c.lines.len(), 2);
        assert!(!c.lines[0].valuable && c.lines[1].valuable);
        assert_eq!((c.value_minor, c.value_currency.as_str()), (90_000, "CNY"));
        assert_eq!(c.urgency, Urgency::Normal);
    }

    #[test]
    fn a_bad_consignment_names_every_bad_field() {
        let mut bad = good();
        bad.consignment_id = " ".into();
        bad.kind = 0;
        bad.dealer_code = "D SH".into();
        bad.branch = String::new();
        bad.ship_to = Some(common::Address {
            branch: "SH01".into(),
            ..Default::default()
        });
        bad.lines[0].part_no = "not a part!".into();
        bad.lines[1].quantity = 0;
        bad.value = Some(common::Money {
            currency: "yuan".into(),
            amount_minor: -1,
        });
        let fields: Vec<String> = IssuedConsignment::try_from(&bad)
            .unwrap_err()
            .0
            .into_iter()
            .map(|v| v.field)
            .collect();
        for f in [
            "consignment_id",
            "kind",
            "dealer_code",
            "branch",
            "ship_to.address",
            "lines[0].part_no",
            "lines[1].quantity",
            "value.amount_minor",
            "value.currency",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
        }

        let mut empty = good();
        empty.ship_to = None;
        empty.lines.clear();
        empty.value = None;
        let fields: Vec<String> = IssuedConsignment::try_from(&empty)
            .unwrap_err()
            .0
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, ["ship_to", "lines", "value"]);
    }
}
