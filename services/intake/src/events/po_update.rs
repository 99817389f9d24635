//! `procurement.po.*`: a purchase order serves several requests; each gets the line in its
//! timeline.

use aftersales_platform::bus::{Handler, HandlerError, Received};
use aftersales_platform::proto::procurement::v1 as procurement;
use sea_orm::DatabaseTransaction;

use super::timeline::apply;
use crate::notify::Notifier;
use crate::service::Intake;

pub struct PoUpdate {
    notifier: Notifier,
}

impl PoUpdate {
    pub fn new(intake: &Intake) -> Self {
        Self {
            notifier: intake.notifier.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Handler for PoUpdate {
    async fn handle(&self, txn: &DatabaseTransaction, ev: &Received) -> Result<(), HandlerError> {
        let request_nos = match ev.routing_key.as_str() {
            "procurement.po.issued" => {
                let po = ev.payload::<procurement::PoIssued>()?;
                // An amendment (a coalesced shortage joined, a cancelled request's quantity came
                // off) is re-issued with the next revision: only the requests it added get a
                // "PO issued" entry, the others already have one.
                if po.revision > 1 {
                    po.added_request_nos
                } else {
                    po.request_nos
                }
            }
            "procurement.po.received" => ev.payload::<procurement::PoReceived>()?.request_nos,
            "procurement.po.cancelled" => ev.payload::<procurement::PoCancelled>()?.request_nos,
            "procurement.po.deadline_changed" => {
                ev.payload::<procurement::PoDeadlineChanged>()?.request_nos
            }
            "procurement.po.overdue_withdrawn" => {
                ev.payload::<procurement::PoOverdueWithdrawn>()?.request_nos
            }
            _ => ev.payload::<procurement::PoOverdue>()?.request_nos,
        };
        let summary = super::summary::summarize(ev);
        for no in request_nos {
            // One event, several requests: the timeline key is per (event, request).
            let mut per_request = ev.clone();
            per_request.envelope.event_id = derived_id(&ev.envelope.event_id, &no);
            apply(txn, &self.notifier, &per_request, &no, &summary).await?;
        }
        Ok(())
    }
}

/// A stable id for the entry of `request_no` made from the event `event_id` (UUIDv5-like).
fn derived_id(event_id: &str, request_no: &str) -> String {
    let base = uuid::Uuid::parse_str(event_id).unwrap_or_default();
    let mut bytes = *base.as_bytes();
    for (i, b) in request_no.bytes().enumerate() {
        bytes[i % 16] ^= b.rotate_left((i / 16) as u32);
    }
    uuid::Uuid::from_bytes(bytes).to_string()
}
