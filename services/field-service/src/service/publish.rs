//! The events a change stages, in the change's transaction. Envelope subject: the request
//! number, or the work order number for an INTERNAL job without one; branch: the work order's.

use aftersales_platform::outbox::EventMeta;
use aftersales_platform::proto::fieldservice::v1 as pb;
use aftersales_platform::sla::Move;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;

use super::FieldService;
use crate::domain::rework::days_since;
use crate::domain::work_order::StatusChange;
use crate::domain::{Status, WorkOrder};
use crate::error::Error;
use crate::wire;

fn meta(wo: &WorkOrder) -> EventMeta<'_> {
    if wo.request_no.is_empty() {
        EventMeta {
            subject: &wo.work_order_no,
            branch: &wo.branch,
            request_no: "",
        }
    } else {
        EventMeta::request(&wo.request_no, &wo.branch)
    }
}

impl FieldService {
    pub(crate) async fn stage_created(
        &self,
        txn: &DatabaseTransaction,
        wo: &WorkOrder,
    ) -> Result<(), Error> {
        let e = pb::WorkOrderCreated {
            request_no: wo.request_no.clone(),
            branch: wo.branch.clone(),
            work_order_no: wo.work_order_no.clone(),
            service_category: wire::category(wo.category),
            kind: wire::kind(wo.kind),
            urgency: wire::urgency(wo.urgency),
            region: wire::region(wo.region()),
            site: Some(wire::site(&wo.site)),
            product: Some(wire::product(&wo.product)),
            fault_description: wo.fault_description.clone(),
            planned_parts: wo.planned_parts.iter().map(wire::part_use).collect(),
            called_at: wire::ts(wo.called_at),
            arrival_due_at: wire::ts(wo.arrival_due_at),
            follow_up_of: wo.follow_up_of.clone(),
        };
        self.outbox.stage(txn, meta(wo), &e).await?;
        Ok(())
    }

    pub(crate) async fn stage_status(
        &self,
        txn: &DatabaseTransaction,
        wo: &WorkOrder,
        c: &StatusChange,
    ) -> Result<(), Error> {
        let e = pb::WorkOrderStatusChanged {
            request_no: wo.request_no.clone(),
            branch: wo.branch.clone(),
            work_order_no: wo.work_order_no.clone(),
            from: c.from.map(wire::status).unwrap_or(0),
            to: wire::status(c.to),
            changed_at: Some(wire::timestamp(c.at)),
            changed_by: c.by.clone(),
            technician_id: wo.technician_id.clone(),
            note: c.note.clone(),
            version: c.version,
        };
        self.outbox.stage(txn, meta(wo), &e).await?;
        Ok(())
    }

    pub(crate) async fn stage_scheduled(
        &self,
        txn: &DatabaseTransaction,
        wo: &WorkOrder,
        rescheduled: bool,
        note: &str,
    ) -> Result<(), Error> {
        let e = pb::WorkOrderScheduled {
            request_no: wo.request_no.clone(),
            branch: wo.branch.clone(),
            work_order_no: wo.work_order_no.clone(),
            appointment: wo.appointment.as_ref().map(wire::window),
            technician_id: wo.technician_id.clone(),
            technician_name: wo.technician_name.clone(),
            arrival_due_at: wire::ts(wo.arrival_due_at),
            rescheduled,
            note: note.to_owned(),
        };
        self.outbox.stage(txn, meta(wo), &e).await?;
        Ok(())
    }

    pub(crate) async fn stage_completed(
        &self,
        txn: &DatabaseTransaction,
        wo: &WorkOrder,
    ) -> Result<(), Error> {
        let Some(c) = &wo.completion else {
            return Err(Error::Unexpected(anyhow::anyhow!(
                "work order {} completed without its completion",
                wo.work_order_no
            )));
        };
        let serial = if c.serial.is_empty() {
            wo.product.serial.clone()
        } else {
            c.serial.clone()
        };
        let e = pb::WorkOrderCompleted {
            request_no: wo.request_no.clone(),
            branch: wo.branch.clone(),
            work_order_no: wo.work_order_no.clone(),
            technician_id: wo.technician_id.clone(),
            service_category: wire::category(wo.category),
            serial,
            product_model: wo.product.model.clone(),
            product_category: wo.product.category.clone(),
            parts_used: c.parts_used.iter().map(wire::part_use).collect(),
            labour_minutes: c.labour_minutes,
            charge: Some(wire::money(&c.currency, c.charge_minor)),
            old_parts: c.old_parts.iter().map(wire::old_part).collect(),
            arrived_at: wire::ts(wo.arrived_at),
            completed_at: wire::ts(wo.completed_at),
            arrival_on_time: wo.arrival_on_time(),
            resolution: c.resolution.clone(),
            rework_of: wo.rework_of.clone(),
        };
        self.outbox.stage(txn, meta(wo), &e).await?;
        Ok(())
    }

    /// The arrival deadline passed with nobody on site (`status`: at that moment).
    pub(crate) async fn stage_breach(
        &self,
        txn: &DatabaseTransaction,
        wo: &WorkOrder,
        status: Status,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let e = pb::WorkOrderSlaBreached {
            request_no: wo.request_no.clone(),
            branch: wo.branch.clone(),
            work_order_no: wo.work_order_no.clone(),
            due_at: wire::ts(wo.arrival_due_at),
            breached_at: Some(wire::timestamp(at)),
            region: wire::region(wo.region()),
            technician_id: wo.technician_id.clone(),
            status: wire::status(status),
        };
        self.outbox.stage(txn, meta(wo), &e).await?;
        Ok(())
    }

    /// The arrival deadline was re-derived and moved.
    pub(crate) async fn stage_deadline_changed(
        &self,
        txn: &DatabaseTransaction,
        wo: &WorkOrder,
        m: &Move,
    ) -> Result<(), Error> {
        let e = pb::WorkOrderDeadlineChanged {
            request_no: wo.request_no.clone(),
            branch: wo.branch.clone(),
            work_order_no: wo.work_order_no.clone(),
            change: Some(m.change()),
        };
        self.outbox.stage(txn, meta(wo), &e).await?;
        Ok(())
    }

    /// The announced late arrival no longer holds.
    pub(crate) async fn stage_breach_withdrawn(
        &self,
        txn: &DatabaseTransaction,
        wo: &WorkOrder,
        m: &Move,
    ) -> Result<(), Error> {
        let e = pb::WorkOrderSlaBreachWithdrawn {
            request_no: wo.request_no.clone(),
            branch: wo.branch.clone(),
            work_order_no: wo.work_order_no.clone(),
            withdrawal: Some(m.withdrawal()),
            status: wire::status(wo.status),
        };
        self.outbox.stage(txn, meta(wo), &e).await?;
        Ok(())
    }

    /// Rework: `previous` is the earlier job (external) or the job itself (internal).
    pub(crate) async fn stage_rework(
        &self,
        txn: &DatabaseTransaction,
        wo: &WorkOrder,
        previous: &WorkOrder,
        internal: bool,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let prev_done = previous.completed_at;
        let this_call = wo.called_at.unwrap_or(wo.created_at);
        let e = pb::WorkOrderReworkDetected {
            request_no: wo.request_no.clone(),
            branch: wo.branch.clone(),
            work_order_no: wo.work_order_no.clone(),
            serial: wo
                .completion
                .as_ref()
                .map(|c| c.serial.clone())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| wo.product.serial.clone()),
            previous_work_order_no: previous.work_order_no.clone(),
            previous_request_no: previous.request_no.clone(),
            previous_technician_id: previous.technician_id.clone(),
            previous_completed_at: wire::ts(prev_done),
            days_since: if internal {
                0
            } else {
                prev_done.map(|d| days_since(d, this_call)).unwrap_or(0)
            },
            product_model: wo.product.model.clone(),
            previous_parts_used: previous
                .completion
                .as_ref()
                .map(|c| c.parts_used.iter().map(wire::part_use).collect())
                .unwrap_or_default(),
            kind: if internal {
                pb::ReworkKind::Internal as i32
            } else {
                pb::ReworkKind::External as i32
            },
            technician_id: wo.technician_id.clone(),
            detected_at: Some(wire::timestamp(at)),
        };
        self.outbox.stage(txn, meta(wo), &e).await?;
        Ok(())
    }
}
