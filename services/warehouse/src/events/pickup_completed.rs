//! `logistics.pickup.completed`: the unit picked up at the customer's door reached the returns
//! intake; it is booked to PENDING_INSPECTION as ReceiveReturn books it, with the pick-up's
//! number, part, serial and model. Once per pick-up, whether the event comes again or a clerk
//! received the unit by hand first (see [`crate::service::Warehouse::receive_pickup`]).

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::ids::Serial;
use aftersales_platform::proto::logistics::v1 as logistics;
use aftersales_platform::validate::{Invalid, Violations, optional_text, required_text};
use sea_orm::DatabaseTransaction;

use crate::domain::{PartNo, RequestNo};
use crate::error::Error;
use crate::service::{PickupReceipt, ReceiveReturn, Warehouse};

pub struct PickupCompleted {
    warehouse: Warehouse,
}

impl PickupCompleted {
    pub fn new(warehouse: &Warehouse) -> Self {
        Self {
            warehouse: warehouse.clone(),
        }
    }
}

/// The pick-up as a receipt at the returns intake, booked today; every bad field is named (and
/// the event goes to the DLQ: it will not get better by itself).
impl TryFrom<&logistics::PickupCompleted> for ReceiveReturn {
    type Error = Invalid;

    fn try_from(p: &logistics::PickupCompleted) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let request_no = v.check("request_no", RequestNo::parse(&p.request_no));
        let pickup_no = v.check("pickup_no", required_text(&p.pickup_no, 64));
        let part_no = v.check("part_no", PartNo::parse(&p.part_no));
        let serial = v.check(
            "serial",
            if p.serial.trim().is_empty() {
                Ok(None)
            } else {
                Serial::parse(&p.serial).map(Some)
            },
        );
        let model = v.check("model", optional_text(&p.model, 64));
        v.done(|| {
            let pickup_no = pickup_no?;
            Some(ReceiveReturn {
                idempotency_key: format!("pickup:{pickup_no}"),
                request_no: request_no?,
                pickup_no,
                part_no: part_no?,
                serial: serial?,
                model: model?,
                movement_date: None,
            })
        })
    }
}

#[async_trait::async_trait]
impl Handler for PickupCompleted {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: logistics::PickupCompleted = ev.payload()?;
        let cmd = ReceiveReturn::try_from(&payload).map_err(Error::from)?;
        match self.warehouse.receive_pickup(txn, &cmd).await? {
            PickupReceipt::Received(u) => {
                tracing::info!(request_no = %cmd.request_no, pickup_no = %cmd.pickup_no, return_id = %u.return_id, "returned unit received for inspection");
            }
            PickupReceipt::AlreadyReceived(u) => {
                tracing::info!(request_no = %cmd.request_no, pickup_no = %cmd.pickup_no, return_id = %u.return_id, "pick-up's unit received already; nothing to do");
            }
        }
        Ok(())
    }
}
