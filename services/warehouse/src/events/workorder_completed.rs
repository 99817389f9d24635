//! `fieldservice.workorder.completed`: old parts replaced under warranty must come back; they
//! are expected from the technician by their return date (and reported when overdue).

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::fieldservice::v1 as fieldservice;
use aftersales_platform::validate::{Invalid, Violations};
use chrono::NaiveDate;
use sea_orm::DatabaseTransaction;

use crate::domain::{BranchCode, PartNo, Quantity, RequestNo};
use crate::error::Error;
use crate::service::{DueOldPart, ExpectOldParts, Warehouse};

pub struct WorkOrderCompleted {
    warehouse: Warehouse,
}

impl WorkOrderCompleted {
    pub fn new(warehouse: &Warehouse) -> Self {
        Self {
            warehouse: warehouse.clone(),
        }
    }
}

/// The old parts that must come back; parts that stay with the customer or the technician are
/// not the warehouse's business.
impl TryFrom<&fieldservice::WorkOrderCompleted> for ExpectOldParts {
    type Error = Invalid;

    fn try_from(p: &fieldservice::WorkOrderCompleted) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let request_no = v.check("request_no", RequestNo::parse(&p.request_no));
        let branch = v.check("branch", BranchCode::parse(&p.branch));
        let mut parts = Vec::new();
        for (i, o) in p.old_parts.iter().enumerate() {
            if !o.must_return || o.quantity == 0 {
                continue;
            }
            let part_no = v.check(format!("old_parts[{i}].part_no"), PartNo::parse(&o.part_no));
            let quantity = v.check(
                format!("old_parts[{i}].quantity"),
                Quantity::parse(o.quantity),
            );
            let return_by = v.check(
                format!("old_parts[{i}].return_by_date"),
                return_by(&o.return_by_date),
            );
            if let (Some(part_no), Some(quantity), Some(return_by)) = (part_no, quantity, return_by)
            {
                parts.push(DueOldPart {
                    part_no,
                    quantity,
                    return_by,
                });
            }
        }
        v.done(|| {
            Some(ExpectOldParts {
                work_order_no: p.work_order_no.trim().to_owned(),
                request_no: request_no?,
                branch: branch?,
                technician_id: p.technician_id.clone(),
                parts,
            })
        })
    }
}

fn return_by(s: &str) -> Result<Option<NaiveDate>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

#[async_trait::async_trait]
impl Handler for WorkOrderCompleted {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: fieldservice::WorkOrderCompleted = ev.payload()?;
        if !payload
            .old_parts
            .iter()
            .any(|o| o.must_return && o.quantity > 0)
        {
            // Nothing comes back to the warehouse: not its business.
            return Ok(());
        }
        let cmd = ExpectOldParts::try_from(&payload).map_err(Error::from)?;
        self.warehouse.expect_old_parts(txn, &cmd).await?;
        Ok(())
    }
}
