//! `claims.claim.approved`: a request that needs someone on site (installation, repair, or the
//! claim says so) gets its work order, category from the claim's coverage, waiting for its parts
//! when some are on their way. The platform records the event id in this transaction and the
//! work order is unique per request, so a redelivered approval opens nothing twice; a request
//! cancelled first opens nothing at all.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::ids::{BranchCode, PartNo, RequestNo};
use aftersales_platform::proto::claims::v1 as claims;
use aftersales_platform::validate::{Invalid, Violations};
use sea_orm::DatabaseTransaction;

use crate::domain::Category;
use crate::domain::kinds::Coverage;
use crate::domain::work_order::PartUse;
use crate::error::Error;
use crate::service::FieldService;
use crate::service::opening::{ClaimApproval, Opened};
use crate::wire;

pub struct ClaimApproved {
    svc: FieldService,
}

impl ClaimApproved {
    pub fn new(svc: &FieldService) -> Self {
        Self { svc: svc.clone() }
    }
}

/// The approval as field-service needs it; every bad field is named (and the event goes to the
/// DLQ: it will not get better).
impl TryFrom<&claims::ClaimApproved> for ClaimApproval {
    type Error = Invalid;

    fn try_from(p: &claims::ClaimApproved) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let request_no = v.check("request_no", RequestNo::parse(&p.request_no));
        let branch = v.check("branch", BranchCode::parse(&p.branch));
        let mut lines = Vec::new();
        for (i, l) in p.lines.iter().enumerate() {
            let part_no = v.check(format!("lines[{i}].part_no"), PartNo::parse(&l.part_no));
            if l.quantity == 0 {
                v.add(format!("lines[{i}].quantity"), "must be at least 1");
            }
            if let Some(part_no) = part_no {
                lines.push(PartUse {
                    part_no: part_no.into_string(),
                    quantity: l.quantity,
                    coverage: wire::coverage_from(l.coverage),
                    serial: String::new(),
                });
            }
        }
        let region = wire::region_from(p.region);
        let mut customer = p
            .customer
            .as_ref()
            .map(wire::customer_from)
            .unwrap_or_default();
        customer.region = customer.region.or(region);
        let mut site = p.ship_to.as_ref().map(wire::site_from).unwrap_or_default();
        site.region = site.region.or(region);
        // The claim's coverage of the job as a whole; older approvals without it: PAID when a
        // line is paid, else FREE.
        let category = wire::category_of_coverage(p.coverage).unwrap_or(
            if lines.iter().any(|l| l.coverage == Some(Coverage::Paid)) {
                Category::Paid
            } else {
                Category::Free
            },
        );
        v.done(|| {
            Some(ClaimApproval {
                request_no: request_no?,
                branch: branch?,
                kind: wire::kind_from(p.kind),
                urgency: wire::urgency_from(p.urgency),
                category,
                customer,
                site,
                product: p
                    .product
                    .as_ref()
                    .map(wire::product_from)
                    .unwrap_or_default(),
                fault_description: p.fault_description.trim().to_owned(),
                lines,
                onsite_required: p.onsite_required,
                approved_at: wire::time_from(&p.approved_at),
            })
        })
    }
}

#[async_trait::async_trait]
impl Handler for ClaimApproved {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: claims::ClaimApproved = ev.payload()?;
        let approval = ClaimApproval::try_from(&payload).map_err(Error::from)?;
        match self.svc.open_from_claim(txn, &approval).await? {
            Opened::Opened(_) | Opened::NotOnSite => {}
            Opened::AlreadyOpen(no) => {
                tracing::info!(request_no = %approval.request_no, work_order_no = %no, "work order exists already; nothing to do");
            }
            Opened::Cancelled => {
                tracing::info!(request_no = %approval.request_no, "request cancelled before its approval; no work order");
            }
        }
        Ok(())
    }
}
