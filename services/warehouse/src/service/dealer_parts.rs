//! Dealers' old parts by batch: the parts a decided dealer claim batch says must come back
//! (recorded in the consumer's transaction), a dealer's box received (counted, identified,
//! booked into OLD_PARTS), inspected once (staging `warehouse.oldpart_batch.inspected`), and
//! read with its analysis.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aftersales_platform::db::is_unique_violation;
use aftersales_platform::ids::Serial;
use aftersales_platform::outbox::EventMeta;
use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::validate::Violations;
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, TransactionTrait};

use super::{Warehouse, vanished};
use crate::domain::dealer::{self, Claimed, Identification, Verdict};
use crate::domain::{BranchCode, DealerCode, MovementKind, PartNo, Quantity, Zone};
use crate::error::Error;
use crate::store::dealer_parts::{self, Batch, BatchPart, ExpectedPart};
use crate::store::{parts, stock};
use crate::wire;

/// The old parts of a decided dealer claim batch's approved lines.
#[derive(Debug, Clone)]
pub struct ExpectDealerParts {
    pub claim_batch_id: String,
    pub dealer_code: DealerCode,
    pub branch: BranchCode,
    pub due_at: DateTime<Utc>,
    pub parts: Vec<DealerDuePart>,
}

#[derive(Debug, Clone)]
pub struct DealerDuePart {
    pub line_no: u32,
    /// The part's index in the line's parts.
    pub part_index: u32,
    pub part_no: PartNo,
    pub quantity: Quantity,
    /// Empty when the dealer gave none (such a part can never be identified).
    pub faulty_serial: String,
}

/// A dealer's box of old parts.
#[derive(Debug, Clone)]
pub struct ReceiveOldPartBatch {
    pub idempotency_key: String,
    pub dealer_code: DealerCode,
    pub parts: Vec<BoxedPart>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoxedPart {
    pub part_no: PartNo,
    pub quantity: Quantity,
    pub faulty_serial: Serial,
}

/// The inspection of a received batch.
#[derive(Debug, Clone)]
pub struct InspectOldPartBatch {
    pub batch_id: String,
    pub verdicts: Vec<GivenVerdict>,
}

#[derive(Debug, Clone)]
pub struct GivenVerdict {
    /// The part's position in the box.
    pub position: u32,
    pub verdict: Verdict,
    pub note: String,
}

/// A batch with the catalogue's unit cost of each of its part numbers (currency, minor units).
#[derive(Debug, Clone)]
pub struct BatchView {
    pub batch: Batch,
    pub unit_costs: HashMap<String, (String, i64)>,
}

impl BatchView {
    /// The catalogue's currency (that of the batch's first part; the catalogue keeps one).
    pub fn currency(&self) -> String {
        self.batch
            .parts
            .first()
            .and_then(|p| self.unit_costs.get(&p.part_no))
            .map(|(c, _)| c.clone())
            .unwrap_or_default()
    }

    pub fn unit_cost(&self, part_no: &str) -> i64 {
        self.unit_costs.get(part_no).map_or(0, |(_, m)| *m)
    }

    /// The part numbers of the batch by quantity returned, most first (ties by part_no).
    pub fn top_parts(&self) -> Vec<(String, i64)> {
        dealer::top_parts(
            self.batch
                .parts
                .iter()
                .map(|p| (p.part_no.as_str(), p.quantity)),
        )
    }

    /// Quantity and cost (minor units) per verdict (`None`: no verdict), in verdict order.
    pub fn cost_by_verdict(&self) -> Vec<(Option<Verdict>, i64, i64)> {
        dealer::cost_by_verdict(
            self.batch
                .parts
                .iter()
                .map(|p| (p.verdict, p.quantity, self.unit_cost(&p.part_no))),
        )
    }
}

impl Warehouse {
    /// Records the old parts a decided dealer batch expects back (in the handler's transaction).
    /// A part already recorded is left as it is. How many were new.
    pub async fn expect_dealer_parts(
        &self,
        txn: &DatabaseTransaction,
        cmd: &ExpectDealerParts,
    ) -> Result<usize, Error> {
        let mut new = 0;
        for p in &cmd.parts {
            let fresh = dealer_parts::record_expected(
                txn,
                &ExpectedPart {
                    claim_batch_id: cmd.claim_batch_id.clone(),
                    line_no: p.line_no as i32,
                    part_index: p.part_index as i32,
                    dealer_code: cmd.dealer_code.as_str().to_owned(),
                    branch: cmd.branch.as_str().to_owned(),
                    part_no: p.part_no.as_str().to_owned(),
                    quantity: i64::from(p.quantity.get()),
                    faulty_serial: p.faulty_serial.clone(),
                    due_at: cmd.due_at,
                    received_in: None,
                },
            )
            .await?;
            new += usize::from(fresh);
        }
        Ok(new)
    }

    /// Receives a dealer's box: identifies each part against the dealer's claimed parts still
    /// expected back, books each into OLD_PARTS with a ledger row, all or nothing. The same
    /// idempotency key answers the first batch (`true`: replayed).
    pub async fn receive_old_part_batch(
        &self,
        actor: &str,
        cmd: ReceiveOldPartBatch,
    ) -> Result<(Batch, bool), Error> {
        if let Some(b) = dealer_parts::find_by_key(&self.db, &cmd.idempotency_key).await? {
            return replay(b, &cmd);
        }
        let movement_date = self.today();
        let txn = self.db.begin().await?;
        let mut v = Violations::new();
        let branch = dealer_parts::dealer_branch(&txn, cmd.dealer_code.as_str()).await?;
        if branch.is_none() {
            v.add(
                "dealer_code",
                format!(
                    "{} has no decided claim batch the warehouse knows of",
                    cmd.dealer_code
                ),
            );
        }
        let mut unit_costs = HashMap::new();
        for (i, p) in cmd.parts.iter().enumerate() {
            match parts::get(&txn, p.part_no.as_str()).await? {
                Some(part) => {
                    unit_costs.insert(
                        part.part_no,
                        (part.unit_cost_currency, part.unit_cost_minor),
                    );
                }
                None => v.add(
                    format!("parts[{i}].part_no"),
                    format!("{} is not in the catalogue", p.part_no),
                ),
            }
        }
        v.finish()?;
        let branch = branch.unwrap_or_default();
        self.check_period(&txn, movement_date).await?;

        let serials: Vec<String> = cmd
            .parts
            .iter()
            .map(|p| p.faulty_serial.as_str().to_owned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let open = dealer_parts::open_for_update(&txn, cmd.dealer_code.as_str(), &serials).await?;
        let claimed: Vec<Claimed<'_>> = open
            .iter()
            .map(|e| Claimed {
                part_no: &e.part_no,
                faulty_serial: &e.faulty_serial,
            })
            .collect();
        let boxed: Vec<(&str, &str)> = cmd
            .parts
            .iter()
            .map(|p| (p.part_no.as_str(), p.faulty_serial.as_str()))
            .collect();
        let matched = dealer::identify(&boxed, &claimed);

        let batch_id = format!("OPB-{}", uuid::Uuid::now_v7().simple());
        let batch = Batch {
            batch_id: batch_id.clone(),
            idempotency_key: cmd.idempotency_key.clone(),
            dealer_code: cmd.dealer_code.as_str().to_owned(),
            branch,
            note: cmd.note.clone(),
            inspected: false,
            movement_date,
            received_by: actor.to_owned(),
            received_at: self.now(),
            inspected_by: String::new(),
            inspected_at: None,
            parts: cmd
                .parts
                .iter()
                .zip(&matched)
                .enumerate()
                .map(|(i, (p, (how, found)))| {
                    let e = found.map(|k| &open[k]);
                    BatchPart {
                        position: i as i32,
                        part_no: p.part_no.as_str().to_owned(),
                        quantity: i64::from(p.quantity.get()),
                        faulty_serial: p.faulty_serial.as_str().to_owned(),
                        identification: *how,
                        claim_batch_id: e.map(|e| e.claim_batch_id.clone()).unwrap_or_default(),
                        line_no: e.map_or(0, |e| e.line_no),
                        claimed_part_no: e.map(|e| e.part_no.clone()).unwrap_or_default(),
                        verdict: None,
                        verdict_note: String::new(),
                    }
                })
                .collect(),
        };
        if let Err(e) = dealer_parts::insert_batch(&txn, &batch).await {
            if is_unique_violation(&e) {
                drop(txn);
                let b = dealer_parts::find_by_key(&self.db, &cmd.idempotency_key)
                    .await?
                    .ok_or_else(|| vanished("old-part batch"))?;
                return replay(b, &cmd);
            }
            return Err(e.into());
        }
        for k in matched.iter().filter_map(|(_, found)| *found) {
            dealer_parts::mark_received(&txn, &open[k], &batch_id).await?;
        }
        let keys: Vec<(String, Zone)> = batch
            .parts
            .iter()
            .map(|p| (p.part_no.clone(), Zone::OldParts))
            .collect();
        stock::lock(&txn, &keys).await?;
        for p in &batch.parts {
            stock::post(
                &txn,
                &stock::Movement {
                    part_no: &p.part_no,
                    zone: Zone::OldParts,
                    kind: MovementKind::OldPartReturn,
                    quantity: p.quantity,
                    reference_type: "old_part_batch",
                    reference_id: &batch_id,
                    request_no: "",
                    reason: &format!(
                        "old part {} from dealer {} ({})",
                        p.faulty_serial,
                        batch.dealer_code,
                        p.identification
                            .as_str()
                            .to_ascii_lowercase()
                            .replace('_', " ")
                    ),
                    actor,
                    movement_date,
                },
                0,
            )
            .await?;
        }
        txn.commit().await?;
        Ok((batch, false))
    }

    /// Records the inspection of a received batch, once, and stages
    /// `warehouse.oldpart_batch.inspected` in the same transaction.
    pub async fn inspect_old_part_batch(
        &self,
        actor: &str,
        cmd: InspectOldPartBatch,
    ) -> Result<Batch, Error> {
        let txn = self.db.begin().await?;
        let mut batch = dealer_parts::get(&txn, &cmd.batch_id, true)
            .await?
            .ok_or_else(|| Error::not_found(format!("old-part batch {}", cmd.batch_id)))?;
        if batch.inspected {
            return Err(Error::precondition(format!(
                "old-part batch {} was inspected already (by {}); a batch is inspected once",
                batch.batch_id, batch.inspected_by
            )));
        }
        let given = verdicts_by_position(&batch, &cmd.verdicts)?;
        for p in &mut batch.parts {
            let g = given.get(&(p.position as u32));
            p.verdict = dealer::final_verdict(p.identification, g.map(|g| g.verdict));
            p.verdict_note = match (p.identification, g) {
                (Identification::WrongPartNo, g) => {
                    let said = g.map(|g| g.note.as_str()).unwrap_or_default();
                    let why = format!("received {}, claimed {}", p.part_no, p.claimed_part_no);
                    if said.is_empty() {
                        why
                    } else {
                        format!("{why}; {said}")
                    }
                }
                (_, Some(g)) => g.note.clone(),
                (_, None) => String::new(),
            };
        }
        let now = self.now();
        batch.inspected = true;
        batch.inspected_by = actor.to_owned();
        batch.inspected_at = Some(now);
        dealer_parts::record_inspection(&txn, &batch).await?;
        let event = pb::OldPartBatchInspected {
            batch_id: batch.batch_id.clone(),
            dealer_code: batch.dealer_code.clone(),
            branch: batch.branch.clone(),
            parts: batch
                .parts
                .iter()
                .filter(|p| p.identification != Identification::Unidentified)
                .map(|p| pb::OldPartInspection {
                    claim_batch_id: p.claim_batch_id.clone(),
                    line_no: p.line_no as u32,
                    part_no: p.claimed_part_no.clone(),
                    faulty_serial: p.faulty_serial.clone(),
                    verdict: wire::old_part_verdict(p.verdict),
                    note: p.verdict_note.clone(),
                })
                .collect(),
            unidentified: batch
                .parts
                .iter()
                .filter(|p| p.identification == Identification::Unidentified)
                .count() as u32,
            inspected_at: Some(wire::timestamp(now)),
            inspected_by: actor.to_owned(),
        };
        self.outbox
            .stage(
                &txn,
                EventMeta {
                    subject: &batch.batch_id,
                    branch: &batch.branch,
                    request_no: "",
                },
                &event,
            )
            .await?;
        txn.commit().await?;
        Ok(batch)
    }

    /// A batch with the unit costs of its part numbers.
    pub async fn old_part_batch(&self, batch_id: &str) -> Result<BatchView, Error> {
        let batch = dealer_parts::get(&self.db, batch_id, false)
            .await?
            .ok_or_else(|| Error::not_found(format!("old-part batch {batch_id}")))?;
        let mut unit_costs = HashMap::new();
        for p in &batch.parts {
            if unit_costs.contains_key(&p.part_no) {
                continue;
            }
            if let Some(part) = parts::get(&self.db, &p.part_no).await? {
                unit_costs.insert(
                    part.part_no.clone(),
                    (part.unit_cost_currency, part.unit_cost_minor),
                );
            }
        }
        Ok(BatchView { batch, unit_costs })
    }
}

/// The verdicts given, by position: each names an identified part of the batch, once, and every
/// part identified with its own part_no has one (one with another part_no is the wrong part
/// anyway). Every bad verdict is named.
fn verdicts_by_position<'a>(
    batch: &Batch,
    given: &'a [GivenVerdict],
) -> Result<BTreeMap<u32, &'a GivenVerdict>, Error> {
    let mut v = Violations::new();
    let mut by = BTreeMap::new();
    for (i, g) in given.iter().enumerate() {
        let part = batch.parts.iter().find(|p| p.position as u32 == g.position);
        match part.map(|p| p.identification) {
            None => v.add(
                format!("verdicts[{i}].position"),
                format!("the batch has no part at position {}", g.position),
            ),
            Some(Identification::Unidentified) => v.add(
                format!("verdicts[{i}].position"),
                format!(
                    "the part at position {} was not identified; only identified parts are inspected",
                    g.position
                ),
            ),
            Some(_) => {
                if by.insert(g.position, g).is_some() {
                    v.add(
                        format!("verdicts[{i}].position"),
                        format!("position {} is given more than once", g.position),
                    );
                }
            }
        }
    }
    let missing: Vec<String> = batch
        .parts
        .iter()
        .filter(|p| {
            p.identification == Identification::Identified && !by.contains_key(&(p.position as u32))
        })
        .map(|p| format!("{} ({})", p.position, p.faulty_serial))
        .collect();
    if !missing.is_empty() {
        v.add(
            "verdicts",
            format!(
                "no verdict for the identified part(s) at position {}",
                missing.join(", ")
            ),
        );
    }
    v.finish()?;
    Ok(by)
}

fn replay(b: Batch, cmd: &ReceiveOldPartBatch) -> Result<(Batch, bool), Error> {
    let same = b.dealer_code == cmd.dealer_code.as_str()
        && b.parts.len() == cmd.parts.len()
        && b.parts.iter().zip(&cmd.parts).all(|(p, c)| {
            p.part_no == c.part_no.as_str()
                && p.quantity == i64::from(c.quantity.get())
                && p.faulty_serial == c.faulty_serial.as_str()
        });
    if same {
        Ok((b, true))
    } else {
        Err(Error::AlreadyExists(
            "idempotency_key was already used for a different old-part batch; use a new key".into(),
        ))
    }
}
