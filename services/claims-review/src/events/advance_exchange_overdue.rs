//! `warehouse.advance_exchange.overdue`: a unit sent ahead of its defective one, which is not
//! back by the deadline; charged on the dealer's statement, once.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::warehouse::v1 as warehouse;
use sea_orm::DatabaseTransaction;

use crate::error::Error;
use crate::service::Claims;
use crate::service::dealers::OverdueExchange;

pub struct AdvanceExchangeOverdue {
    claims: Claims,
}

impl AdvanceExchangeOverdue {
    pub fn new(claims: &Claims) -> Self {
        Self {
            claims: claims.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Handler for AdvanceExchangeOverdue {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let p: warehouse::AdvanceExchangeOverdue = ev.payload()?;
        if p.exchange_id.trim().is_empty() {
            return Err(Error::invalid("exchange_id", "is required").into());
        }
        let x = OverdueExchange {
            exchange_id: p.exchange_id.trim().to_owned(),
            dealer_code: p.dealer_code.trim().to_owned(),
            part_no: p.part_no.clone(),
            quantity: p.quantity,
            defective_serial: p.defective_serial.clone(),
            charge_minor: p.charge.as_ref().map(|m| m.amount_minor).unwrap_or(0),
        };
        self.claims.charge_advance_exchange(txn, &x).await?;
        Ok(())
    }
}
