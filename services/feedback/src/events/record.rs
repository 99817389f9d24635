//! Every consumed event: into the event log and the read model, then its [`Reaction`] if it has
//! one, all in the handler's transaction (which also records it as processed). An event logged
//! already (a replay under the same id that got past `processed_events`) changes nothing.

use std::sync::Arc;

use aftersales_platform::bus::{Handler, HandlerError, Received};
use sea_orm::DatabaseTransaction;

use super::Reaction;
use crate::service::Feedback;

pub struct Consume {
    feedback: Feedback,
    reaction: Option<Arc<dyn Reaction>>,
}

impl Consume {
    pub fn new(feedback: &Feedback, reaction: Option<Arc<dyn Reaction>>) -> Self {
        Self {
            feedback: feedback.clone(),
            reaction,
        }
    }
}

#[async_trait::async_trait]
impl Handler for Consume {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let mut envelope = ev.envelope.clone();
        // Producers before the envelope carried it left the routing key to the delivery.
        if envelope.routing_key.is_empty() {
            envelope.routing_key = ev.routing_key.clone();
        }
        if !self.feedback.record(txn, &envelope).await? {
            return Ok(());
        }
        if let Some(r) = &self.reaction {
            r.react(&self.feedback, txn, ev).await?;
        }
        Ok(())
    }
}
