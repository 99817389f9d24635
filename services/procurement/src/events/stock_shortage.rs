//! `warehouse.stock.shortage`: buy what the back-ordered request misses, for its first
//! reservation's back-order or a replacement's. Recorded once per back-order and part (a
//! redelivered or repeated shortage changes nothing) and never for a request cancelled before:
//! see [`crate::service::sourcing`].

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::warehouse::v1 as warehouse;
use aftersales_platform::validate::{Invalid, Violations};
use sea_orm::DatabaseTransaction;

use crate::domain::{BranchCode, PartNo, RequestNo};
use crate::error::Error;
use crate::service::{Procurement, Shortage, ShortageLine};

pub struct StockShortage {
    procurement: Procurement,
}

impl StockShortage {
    pub fn new(p: &Procurement) -> Self {
        Self {
            procurement: p.clone(),
        }
    }
}

impl TryFrom<&warehouse::StockShortage> for Shortage {
    type Error = Invalid;

    fn try_from(p: &warehouse::StockShortage) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let request_no = v.check("request_no", RequestNo::parse(&p.request_no));
        let branch = v.check("branch", BranchCode::parse(&p.branch));
        let mut lines = Vec::new();
        for (i, l) in p.lines.iter().enumerate() {
            if let Some(part_no) = v.check(format!("lines[{i}].part_no"), PartNo::parse(&l.part_no))
            {
                lines.push(ShortageLine {
                    part_no,
                    missing: l.missing,
                });
            }
        }
        v.done(|| {
            Some(Shortage {
                request_no: request_no?,
                branch: branch?,
                backorder_id: p.backorder_id.trim().to_owned(),
                lines,
            })
        })
    }
}

#[async_trait::async_trait]
impl Handler for StockShortage {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let payload: warehouse::StockShortage = ev.payload()?;
        let cmd = Shortage::try_from(&payload).map_err(Error::from)?;
        self.procurement.shortage(txn, &cmd).await?;
        Ok(())
    }
}
