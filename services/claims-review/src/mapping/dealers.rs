//! Dealers, batches and statements as the API answers them and `claims.dealer_batch.decided`
//! carries them.

use aftersales_platform::proto::claims::v1 as pb;

use super::{date_to_proto, minor, product_to_proto, timestamp};
use crate::domain::dealer::{
    Batch, Dealer, DealerKind, Entry, EntryKind, Line, LineReason, LineStatus, Statement, Terms,
};

pub fn kind_to_proto(k: DealerKind) -> pb::DealerKind {
    match k {
        DealerKind::Dealer => pb::DealerKind::Dealer,
        DealerKind::Agent => pb::DealerKind::Agent,
    }
}

pub fn terms_to_proto(t: &Terms) -> pb::DealerTerms {
    pb::DealerTerms {
        labour_rate_per_hour_minor: t.labour_rate_per_hour_minor,
        standard_labour_minutes: t
            .standard_labour_minutes
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect(),
        default_labour_minutes: t.default_labour_minutes,
        parts_margin_bp: t.parts_margin_bp,
        old_part_return_days: t.old_part_return_days,
        payment_days: t.payment_days,
        advance_exchange_return_days: t.advance_exchange_return_days,
    }
}

pub fn dealer_to_proto(d: &Dealer) -> pb::Dealer {
    pb::Dealer {
        code: d.code.clone(),
        name: d.name.clone(),
        kind: kind_to_proto(d.kind) as i32,
        branch: d.branch.clone(),
        terms: Some(terms_to_proto(&d.terms)),
        created_at: Some(timestamp(d.created_at)),
    }
}

fn status_to_proto(s: LineStatus) -> pb::DealerLineStatus {
    match s {
        LineStatus::Approved => pb::DealerLineStatus::Approved,
        LineStatus::Rejected => pb::DealerLineStatus::Rejected,
        LineStatus::ChargedBack => pb::DealerLineStatus::ChargedBack,
    }
}

fn reason_to_proto(r: LineReason) -> pb::DealerLineReason {
    match r {
        LineReason::None => pb::DealerLineReason::Unspecified,
        LineReason::OutOfWarranty => pb::DealerLineReason::OutOfWarranty,
        LineReason::DuplicateSerial => pb::DealerLineReason::DuplicateSerial,
        LineReason::AlreadyClaimed => pb::DealerLineReason::AlreadyClaimed,
        LineReason::OldPartNotReturned => pb::DealerLineReason::OldPartNotReturned,
        LineReason::OldPartNoFault => pb::DealerLineReason::OldPartNoFault,
        LineReason::OldPartWrong => pb::DealerLineReason::OldPartWrong,
        LineReason::NotCovered => pb::DealerLineReason::NotCovered,
    }
}

fn line_to_proto(l: &Line, currency: &str) -> pb::DealerClaimLine {
    pb::DealerClaimLine {
        line_no: l.line_no,
        input: Some(pb::DealerClaimLineInput {
            product: Some(product_to_proto(&l.input.product)),
            fault_description: l.input.fault_description.clone(),
            parts: l
                .input
                .parts
                .iter()
                .map(|p| pb::DealerPartUsed {
                    part_no: p.part_no.clone(),
                    quantity: p.quantity,
                    faulty_serial: p.faulty_serial.clone(),
                    new_serial: p.new_serial.clone(),
                })
                .collect(),
            labour_minutes: l.input.labour_minutes,
            repaired_on: date_to_proto(Some(l.input.repaired_on)),
        }),
        status: status_to_proto(l.status) as i32,
        reason: reason_to_proto(l.reason) as i32,
        explanation: l.explanation.clone(),
        labour: Some(minor(l.labour_minor, currency)),
        parts: Some(minor(l.parts_minor, currency)),
        charged_back: Some(minor(l.charged_back_minor, currency)),
        period: l.period.clone(),
        charge_back_period: l.charge_back_period.clone(),
        labour_minutes_paid: l.labour_minutes_paid,
    }
}

pub fn batch_to_proto(b: &Batch) -> pb::DealerBatch {
    pb::DealerBatch {
        batch_id: b.batch_id.to_string(),
        dealer_code: b.dealer_code.clone(),
        branch: b.branch.clone(),
        policy_version: b.policy_version.clone(),
        decided_at: Some(timestamp(b.decided_at)),
        old_parts_due_at: Some(timestamp(b.old_parts_due_at)),
        lines: b
            .lines
            .iter()
            .map(|l| line_to_proto(l, &b.currency))
            .collect(),
        approved_total: Some(minor(b.approved_total(), &b.currency)),
        approved_lines: b.lines.len() as u32 - b.count(LineStatus::Rejected),
        rejected_lines: b.count(LineStatus::Rejected),
    }
}

/// `claims.dealer_batch.decided`.
pub fn batch_decided(b: &Batch) -> pb::DealerBatchDecided {
    pb::DealerBatchDecided {
        batch_id: b.batch_id.to_string(),
        dealer_code: b.dealer_code.clone(),
        branch: b.branch.clone(),
        decided_at: Some(timestamp(b.decided_at)),
        old_parts_due_at: Some(timestamp(b.old_parts_due_at)),
        lines: b
            .lines
            .iter()
            .map(|l| line_to_proto(l, &b.currency))
            .collect(),
        approved_total: Some(minor(b.approved_total(), &b.currency)),
    }
}

fn entry_kind_to_proto(k: EntryKind) -> pb::StatementEntryKind {
    match k {
        EntryKind::Claim => pb::StatementEntryKind::Claim,
        EntryKind::ChargeBack => pb::StatementEntryKind::ChargeBack,
        EntryKind::AdvanceExchangeOverdue => pb::StatementEntryKind::AdvanceExchangeOverdue,
        EntryKind::PartsOrder => pb::StatementEntryKind::PartsOrder,
    }
}

fn entry_to_proto(e: &Entry, currency: &str) -> pb::StatementEntry {
    pb::StatementEntry {
        kind: entry_kind_to_proto(e.kind) as i32,
        reference: e.reference.clone(),
        serial: e.serial.clone(),
        description: e.description.clone(),
        amount: Some(minor(e.amount_minor, currency)),
        at: Some(timestamp(e.at)),
    }
}

pub fn statement_to_proto(s: &Statement) -> pb::Statement {
    let c = s.currency.as_str();
    pb::Statement {
        dealer_code: s.dealer_code.clone(),
        period: s.period.clone(),
        status: if s.issued_at.is_some() {
            pb::StatementStatus::Issued
        } else {
            pb::StatementStatus::Open
        } as i32,
        entries: s.entries.iter().map(|e| entry_to_proto(e, c)).collect(),
        claims_total: Some(minor(s.claims_total_minor, c)),
        charges_total: Some(minor(s.charges_total_minor, c)),
        parts_orders_total: Some(minor(s.parts_orders_total_minor, c)),
        net: Some(minor(s.net_minor, c)),
        arrears: Some(minor(s.arrears_minor, c)),
        new_parts_sent: s.new_parts_sent,
        old_parts_returned: s.old_parts_returned,
        parts_shipped: s.parts_shipped,
        issued_at: s.issued_at.map(timestamp),
        payment_due: date_to_proto(s.payment_due),
    }
}
