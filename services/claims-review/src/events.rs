//! What claims-review consumes, declared in one place ([`subscriptions`], matching its row of
//! `platform::topology::TABLE`), one handler file per kind of event. Handlers answer with the
//! platform's [`crate::error::Error`], so the consumer applies the mesh's one retry rule; an
//! event that is stale or about nothing claims-review holds is `Ok` and changes nothing.

pub mod advance_exchange_overdue;
pub mod consignment_dispatched;
pub mod oldpart_batch_inspected;
pub mod request_cancelled;
pub mod request_submitted;
pub mod return_inspected;

use aftersales_platform::bus::Subscription;

use crate::service::Claims;

pub fn subscriptions(claims: &Claims) -> Vec<Subscription> {
    vec![
        Subscription::new(
            "intake.request.submitted",
            request_submitted::RequestSubmitted::new(claims),
        ),
        Subscription::new(
            "intake.request.cancelled",
            request_cancelled::RequestCancelled::new(claims),
        ),
        Subscription::new(
            "warehouse.return.inspected",
            return_inspected::ReturnInspected::new(claims),
        ),
        Subscription::new(
            "warehouse.oldpart_batch.inspected",
            oldpart_batch_inspected::OldPartBatchInspected::new(claims),
        ),
        Subscription::new(
            "warehouse.advance_exchange.overdue",
            advance_exchange_overdue::AdvanceExchangeOverdue::new(claims),
        ),
        Subscription::new(
            "logistics.consignment.dispatched",
            consignment_dispatched::ConsignmentDispatched::new(claims),
        ),
    ]
}
