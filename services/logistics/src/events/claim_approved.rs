//! `claims.claim.approved`: an approved return or exchange (`pickup_required`) gets a door
//! pick-up, free for a quality problem (`pickup_free`), charged otherwise. Anything else is not
//! logistics' business yet (its parts come with the warehouse's confirmation).

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::claims::v1 as claims;
use aftersales_platform::validate::{Invalid, Violations, optional_text};
use sea_orm::DatabaseTransaction;

use crate::domain::{Address, BranchCode, RequestNo};
use crate::error::Error;
use crate::service::{Approved, Logistics, PickupOutcome};
use crate::wire;

pub struct ClaimApproved {
    logistics: Logistics,
}

impl ClaimApproved {
    pub fn new(logistics: &Logistics) -> Self {
        Self {
            logistics: logistics.clone(),
        }
    }
}

impl TryFrom<&claims::ClaimApproved> for Approved {
    type Error = Invalid;

    fn try_from(p: &claims::ClaimApproved) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let request_no = v.check("request_no", RequestNo::parse(&p.request_no));
        let branch = v.check("branch", BranchCode::parse(&p.branch));
        let customer = p.customer.clone().unwrap_or_default();
        let product = p.product.clone().unwrap_or_default();
        if p.pickup_required && customer.address.trim().is_empty() {
            v.add(
                "customer.address",
                "is required for a pick-up at the customer's door",
            );
        }
        let door = Address {
            recipient: v
                .check("customer.name", optional_text(&customer.name, 200))
                .unwrap_or_default(),
            phone: v
                .check("customer.phone", optional_text(&customer.phone, 40))
                .unwrap_or_default(),
            address: v
                .check("customer.address", optional_text(&customer.address, 500))
                .unwrap_or_default(),
            // The customer's region, else the approval's.
            region: wire::region_from(customer.region).or(wire::region_from(p.region)),
            branch: p.branch.trim().to_ascii_uppercase(),
        };
        let serial = v.check("product.serial", optional_text(&product.serial, 64));
        let model = v.check("product.model", optional_text(&product.model, 120));
        v.done(|| {
            Some(Approved {
                request_no: request_no?,
                branch: branch?,
                pickup_required: p.pickup_required,
                pickup_free: p.pickup_free,
                door,
                // The unit comes back under its first approved line's part number, where there is one.
                part_no: p
                    .lines
                    .first()
                    .map(|l| l.part_no.trim().to_ascii_uppercase())
                    .unwrap_or_default(),
                serial: serial?,
                model: model?,
            })
        })
    }
}

#[async_trait::async_trait]
impl Handler for ClaimApproved {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: claims::ClaimApproved = ev.payload()?;
        if !payload.pickup_required {
            return Ok(());
        }
        let cmd = Approved::try_from(&payload).map_err(Error::from)?;
        match self.logistics.on_approved(txn, &cmd).await? {
            PickupOutcome::Scheduled(_) | PickupOutcome::NotNeeded => {}
            PickupOutcome::Cancelled => {
                tracing::info!(request_no = %cmd.request_no, "request cancelled; no pick-up");
            }
            PickupOutcome::AlreadyScheduled => {
                tracing::info!(request_no = %cmd.request_no, "pick-up already scheduled; nothing to do");
            }
        }
        Ok(())
    }
}
