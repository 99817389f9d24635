//! `fieldservice.workorder.completed`: old parts replaced under warranty must come back; they
//! are expected from the technician by their return date (and reported when overdue).

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::fieldservice::v1 as fieldservice;
use chrono::NaiveDate;
use sea_orm::DatabaseTransaction;

use crate::domain::PartNo;
use crate::service::Warehouse;
use crate::store::old_parts::Expected;

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

#[async_trait::async_trait]
impl Handler for WorkOrderCompleted {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let p: fieldservice::WorkOrderCompleted = ev.payload()?;
        let mut expected = Vec::new();
        for o in p
            .old_parts
            .iter()
            .filter(|o| o.must_return && o.quantity > 0)
        {
            let part_no = PartNo::parse(&o.part_no).map_err(|e| {
                HandlerError::permanent(anyhow::anyhow!("old part number {:?}: {e}", o.part_no))
            })?;
            let by = if o.return_by_date.trim().is_empty() {
                None
            } else {
                Some(
                    NaiveDate::parse_from_str(o.return_by_date.trim(), "%Y-%m-%d").map_err(
                        |e| {
                            HandlerError::permanent(anyhow::anyhow!(
                                "return_by_date {:?}: {e}",
                                o.return_by_date
                            ))
                        },
                    )?,
                )
            };
            expected.push(Expected {
                work_order_no: p.work_order_no.clone(),
                part_no: part_no.as_str().to_owned(),
                request_no: p.request_no.clone(),
                branch: p.branch.clone(),
                technician_id: p.technician_id.clone(),
                quantity: i64::from(o.quantity),
                expected_by_date: by,
                received: 0,
            });
        }
        self.warehouse.expect_old_parts(txn, &expected).await?;
        Ok(())
    }
}
