//! `warehouse.stock.low`: replenish a part that fell below its reorder point, up to the point
//! plus the lead-time demand, less what is on order. An older signal arriving after a newer one
//! (the envelope's per-part sequence) changes nothing.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::warehouse::v1 as warehouse;
use sea_orm::DatabaseTransaction;

use crate::domain::PartNo;
use crate::error::Error;
use crate::service::Procurement;

pub struct StockLow {
    procurement: Procurement,
}

impl StockLow {
    pub fn new(p: &Procurement) -> Self {
        Self {
            procurement: p.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Handler for StockLow {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: warehouse::StockLow = ev.payload()?;
        let part_no = PartNo::parse(&payload.part_no).map_err(|e| {
            Error::from(aftersales_platform::validate::Invalid::field("part_no", e))
        })?;
        let cmd = crate::service::StockLow {
            part_no,
            available: payload.available,
            reorder_point: payload.reorder_point,
            sequence: i64::try_from(ev.envelope.sequence).unwrap_or(i64::MAX),
            occurred_at: ev.occurred_at(),
        };
        self.procurement.stock_low(txn, &cmd).await?;
        Ok(())
    }
}
