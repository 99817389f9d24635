//! Dealers' old parts by batch: parsing the requests, answering with batches and their analysis.

use aftersales_platform::ids::Serial;
use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations, optional_text, required_text};

use crate::domain::{DealerCode, PartNo, Quantity};
use crate::service::{
    BatchView, BoxedPart, GivenVerdict, InspectOldPartBatch, ReceiveOldPartBatch,
};
use crate::store::dealer_parts::Batch;
use crate::wire;

impl TryFrom<&pb::ReceiveOldPartBatchRequest> for ReceiveOldPartBatch {
    type Error = Invalid;

    fn try_from(m: &pb::ReceiveOldPartBatchRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let key = v.check("idempotency_key", required_text(&m.idempotency_key, 200));
        let dealer = v.check("dealer_code", DealerCode::parse(&m.dealer_code));
        let note = v.check("note", optional_text(&m.note, 500));
        if m.parts.is_empty() {
            v.add("parts", "at least one part is required");
        }
        let mut parts = Vec::new();
        for (i, p) in m.parts.iter().enumerate() {
            let part_no = v.check(format!("parts[{i}].part_no"), PartNo::parse(&p.part_no));
            let quantity = v.check(format!("parts[{i}].quantity"), Quantity::parse(p.quantity));
            let serial = v.check(
                format!("parts[{i}].faulty_serial"),
                Serial::parse(&p.faulty_serial),
            );
            if let (Some(part_no), Some(quantity), Some(faulty_serial)) =
                (part_no, quantity, serial)
            {
                parts.push(BoxedPart {
                    part_no,
                    quantity,
                    faulty_serial,
                });
            }
        }
        v.done(|| {
            Some(ReceiveOldPartBatch {
                idempotency_key: key?,
                dealer_code: dealer?,
                parts,
                note: note?,
            })
        })
    }
}

impl TryFrom<&pb::InspectOldPartBatchRequest> for InspectOldPartBatch {
    type Error = Invalid;

    fn try_from(m: &pb::InspectOldPartBatchRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let batch_id = v.check("batch_id", batch_id(&m.batch_id));
        let mut verdicts = Vec::new();
        for (i, g) in m.verdicts.iter().enumerate() {
            let verdict = v.check(
                format!("verdicts[{i}].verdict"),
                wire::batch_verdict_from(g.verdict),
            );
            let note = v.check(format!("verdicts[{i}].note"), optional_text(&g.note, 500));
            if let (Some(verdict), Some(note)) = (verdict, note) {
                verdicts.push(GivenVerdict {
                    position: g.position,
                    verdict,
                    note,
                });
            }
        }
        v.done(|| {
            Some(InspectOldPartBatch {
                batch_id: batch_id?,
                verdicts,
            })
        })
    }
}

/// A batch id (`OPB-…`).
pub fn batch_id(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("is required".into());
    }
    if t.len() > 64 || !t.starts_with("OPB-") {
        return Err(format!("{s:?} is not an old-part batch id (OPB-…)"));
    }
    Ok(t.to_owned())
}

pub fn batch_to_proto(b: &Batch, view: Option<&BatchView>) -> pb::OldPartBatch {
    use crate::domain::dealer::Identification as I;
    let count = |i: I| b.parts.iter().filter(|p| p.identification == i).count() as u32;
    pb::OldPartBatch {
        batch_id: b.batch_id.clone(),
        dealer_code: b.dealer_code.clone(),
        branch: b.branch.clone(),
        note: b.note.clone(),
        status: if b.inspected {
            pb::OldPartBatchStatus::Inspected
        } else {
            pb::OldPartBatchStatus::Received
        } as i32,
        parts: b
            .parts
            .iter()
            .map(|p| pb::OldPartBatchPart {
                position: p.position as u32,
                part_no: p.part_no.clone(),
                quantity: p.quantity as u32,
                faulty_serial: p.faulty_serial.clone(),
                identification: wire::identification(p.identification),
                claim_batch_id: p.claim_batch_id.clone(),
                line_no: p.line_no as u32,
                claimed_part_no: p.claimed_part_no.clone(),
                verdict: wire::batch_verdict(p.verdict),
                verdict_note: p.verdict_note.clone(),
                unit_cost: view.map(|v| wire::money(&v.currency(), v.unit_cost(&p.part_no))),
            })
            .collect(),
        identified: count(I::Identified),
        wrong_part_no: count(I::WrongPartNo),
        unidentified: count(I::Unidentified),
        received_at: Some(wire::timestamp(b.received_at)),
        received_by: b.received_by.clone(),
        inspected_at: b.inspected_at.map(wire::timestamp),
        inspected_by: b.inspected_by.clone(),
    }
}

/// The batch with its analysis: top returned part numbers and cost per verdict.
pub fn view_to_proto(v: &BatchView) -> pb::GetOldPartBatchResponse {
    let currency = v.currency();
    let by_verdict: Vec<pb::VerdictCost> = v
        .cost_by_verdict()
        .into_iter()
        .map(|(verdict, quantity, cost)| pb::VerdictCost {
            verdict: wire::batch_verdict(verdict),
            quantity: quantity as u32,
            cost: Some(wire::money(&currency, cost)),
        })
        .collect();
    let total = by_verdict
        .iter()
        .filter_map(|c| c.cost.as_ref())
        .map(|m| m.amount_minor)
        .sum();
    pb::GetOldPartBatchResponse {
        batch: Some(batch_to_proto(&v.batch, Some(v))),
        top_parts: v
            .top_parts()
            .into_iter()
            .map(|(part_no, quantity)| pb::ReturnedPartCount {
                part_no,
                quantity: quantity as u32,
            })
            .collect(),
        cost: Some(pb::OldPartBatchCost {
            by_verdict,
            total: Some(wire::money(&currency, total)),
        }),
    }
}
