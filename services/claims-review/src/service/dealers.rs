//! Dealers and agents: register and read them; decide a batch of completed repairs at once (one
//! transaction: the lines, the old parts owed, the statement entries and
//! `claims.dealer_batch.decided`); charge back what the warehouse's inspection or the return
//! deadline says; charge an overdue advance exchange; count the goods shipped to a dealer and
//! put its parts orders on its statement; issue each month's statement once.
//!
//! Statement periods: an entry goes on the open month of the moment it is made (a shipment: of
//! its dispatch), that is the local month or the first later one not issued, under the dealer's
//! row lock (FOR SHARE), while issuing a month takes that lock FOR UPDATE, so a closed month
//! never changes and a late entry goes to the next month.

use aftersales_platform::auth::Caller;
use aftersales_platform::outbox::EventMeta;
use aftersales_platform::proto::claims::v1 as pb;
use chrono::{DateTime, Days, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};
use sha2::Digest;

use crate::domain::dealer::{
    self, Batch, ConsignmentKind, Dealer, Dispatch, Entry, EntryKind, LineInput, LineReason,
    LineStatus, MonthCounts, Statement,
};
use crate::error::Error;
use crate::mapping::dealers as map;
use crate::service::{Claims, micros};
use crate::store::dealers::{self as store, LineRef, Lock};

/// The scanner's name: old parts not back by their deadline, and month-end statements.
pub const SCANNER: &str = "dealer-settlement";

/// How many lines or statements one scan handles; the next tick takes the rest.
const BATCH: u32 = 100;

/// A batch as submitted, parsed.
#[derive(Debug, Clone)]
pub struct SubmitBatch {
    pub dealer_code: String,
    pub idempotency_key: String,
    pub lines: Vec<LineInput>,
}

/// One verdict of the warehouse on a claimed old part.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub batch_id: uuid::Uuid,
    pub line_no: u32,
    pub faulty_serial: String,
    /// None: the fault is confirmed.
    pub charge: Option<LineReason>,
}

/// An advance exchange whose defective unit is overdue.
#[derive(Debug, Clone)]
pub struct OverdueExchange {
    pub exchange_id: String,
    pub dealer_code: String,
    pub part_no: String,
    pub quantity: u32,
    pub defective_serial: String,
    pub charge_minor: i64,
}

impl Claims {
    /// Whether `caller` may see `dealer`: its own token, or staff of its branch (head office
    /// sees all). Not seeing it is the same as its not existing.
    fn sees_dealer(caller: &Caller, d: &Dealer) -> Result<bool, Error> {
        Ok(match caller.dealer_scope()? {
            Some(own) => own == d.code,
            None => caller.sees_branch(&d.branch),
        })
    }

    async fn visible_dealer<C: ConnectionTrait>(
        &self,
        conn: &C,
        caller: &Caller,
        code: &str,
        lock: Lock,
    ) -> Result<Dealer, Error> {
        match store::dealer(conn, code, lock).await? {
            Some(d) if Self::sees_dealer(caller, &d)? => Ok(d),
            _ => Err(Error::not_found(format!("dealer {code}"))),
        }
    }

    pub async fn create_dealer(&self, caller: &Caller, mut d: Dealer) -> Result<Dealer, Error> {
        if !caller.sees_branch(&d.branch) {
            return Err(Error::invalid(
                "dealer.branch",
                format!("{} is not a branch you may register dealers for", d.branch),
            ));
        }
        d.created_at = self.now();
        if !store::insert_dealer(&self.db, &d).await? {
            return Err(Error::AlreadyExists(format!(
                "dealer {} is registered already",
                d.code
            )));
        }
        tracing::info!(dealer = %d.code, branch = %d.branch, "dealer registered");
        Ok(d)
    }

    pub async fn dealer(&self, caller: &Caller, code: &str) -> Result<Dealer, Error> {
        self.visible_dealer(&self.db, caller, code, Lock::None)
            .await
    }

    /// A page of the dealers the caller may see, after `after`; the next page's start.
    pub async fn dealers(
        &self,
        caller: &Caller,
        branch: Option<String>,
        after: String,
        page_size: u64,
    ) -> Result<(Vec<Dealer>, Option<String>), Error> {
        if let Some(own) = caller.dealer_scope()? {
            let d = store::dealer(&self.db, own, Lock::None).await?;
            return Ok((d.into_iter().filter(|d| d.code > after).collect(), None));
        }
        let branch = match (caller.branch(), branch) {
            (Some(own), None) => Some(own.to_owned()),
            (Some(own), Some(asked)) if asked == own => Some(asked),
            (Some(_), Some(_)) => return Ok((Vec::new(), None)),
            (None, asked) => asked,
        };
        let mut rows =
            store::list_dealers(&self.db, branch.as_deref(), &after, page_size as u32 + 1).await?;
        let more = rows.len() as u64 > page_size;
        rows.truncate(page_size as usize);
        let next = if more {
            rows.last().map(|d| d.code.clone())
        } else {
            None
        };
        Ok((rows, next))
    }

    /// The first month not yet issued from the month of `now` on, with the dealer's row held
    /// (FOR SHARE) by `txn` so the month cannot close under the entry.
    async fn open_period(
        &self,
        txn: &DatabaseTransaction,
        dealer: &str,
        now: DateTime<Utc>,
    ) -> Result<String, Error> {
        store::dealer(txn, dealer, Lock::Share)
            .await?
            .ok_or_else(|| Error::not_found(format!("dealer {dealer}")))?;
        let mut p = dealer::period_of(now, self.offset);
        // Months are issued only once they are over, so this is at most a step or two.
        for _ in 0..36 {
            if !store::issued(txn, dealer, &p).await? {
                return Ok(p);
            }
            p = dealer::next_period(&p)
                .ok_or_else(|| Error::Unexpected(anyhow::anyhow!("no month after {p}")))?;
        }
        Err(Error::Unexpected(anyhow::anyhow!(
            "dealer {dealer}: no open month within three years of {now}"
        )))
    }

    /// Decides a batch: every line with the policy and the dealer rules, the approved lines on
    /// the open month's statement, their old parts expected back by the contract's deadline,
    /// `claims.dealer_batch.decided` staged. The same key answers the first decision again
    /// (`true`: replayed); the same key with other lines is refused.
    pub async fn submit_batch(
        &self,
        caller: &Caller,
        cmd: SubmitBatch,
    ) -> Result<(Batch, bool), Error> {
        let fingerprint = fingerprint(&cmd.lines)?;
        let txn = self.db.begin().await?;
        let d = match store::dealer(&txn, &cmd.dealer_code, Lock::None).await? {
            Some(d) if Self::sees_dealer(caller, &d)? => d,
            _ => {
                return Err(Error::invalid(
                    "dealer_code",
                    format!("{} is not a dealer you may claim for", cmd.dealer_code),
                ));
            }
        };
        if let Some(b) = self
            .replay_batch(&txn, &d.code, &cmd.idempotency_key, &fingerprint)
            .await?
        {
            return Ok((b, true));
        }
        let serials: Vec<String> = cmd.lines.iter().map(|l| l.product.serial.clone()).collect();
        store::lock_serials(&txn, &serials).await?;
        let priors = store::priors(&txn, &serials).await?;
        let now = self.now();
        let period = self.open_period(&txn, &d.code, now).await?;
        let batch_id = uuid::Uuid::now_v7();
        let mut lines = dealer::decide_batch(&self.policy, &d.terms, batch_id, cmd.lines, priors);
        for l in lines
            .iter_mut()
            .filter(|l| l.status == LineStatus::Approved)
        {
            l.period = period.clone();
        }
        let due = now
            .checked_add_days(Days::new(d.terms.old_part_return_days as u64))
            .unwrap_or(now);
        let batch = Batch {
            batch_id,
            dealer_code: d.code.clone(),
            branch: d.branch.clone(),
            policy_version: self.policy.version.clone(),
            currency: self.policy.currency.clone(),
            decided_at: now,
            old_parts_due_at: micros(due),
            lines,
        };
        if !store::insert_batch(&txn, &batch, &cmd.idempotency_key, &fingerprint).await? {
            drop(txn);
            let again = self.db.begin().await?;
            return match self
                .replay_batch(&again, &d.code, &cmd.idempotency_key, &fingerprint)
                .await?
            {
                Some(b) => Ok((b, true)),
                None => Err(Error::Aborted(
                    "a batch with this key was being decided at the same time; retry".into(),
                )),
            };
        }
        for l in batch
            .lines
            .iter()
            .filter(|l| l.status == LineStatus::Approved)
        {
            let entry = Entry {
                kind: EntryKind::Claim,
                reference: format!("{batch_id}/{}", l.line_no),
                serial: l.input.product.serial.clone(),
                description: format!(
                    "repair of {} on {}: labour {} min, {} part(s)",
                    l.input.product.serial,
                    l.input.repaired_on,
                    l.labour_minutes_paid,
                    l.input.parts.len()
                ),
                amount_minor: l.amount(),
                parts_qty: l.input.parts.iter().map(|p| p.quantity).sum(),
                at: now,
            };
            store::insert_entry(&txn, &d.code, &period, &entry).await?;
        }
        let meta = EventMeta {
            subject: &batch_id.to_string(),
            branch: &d.branch,
            request_no: "",
        };
        self.outbox
            .stage(&txn, meta, &map::batch_decided(&batch))
            .await?;
        txn.commit().await?;
        tracing::info!(
            dealer = %d.code, batch = %batch_id,
            approved = batch.count(LineStatus::Approved),
            rejected = batch.count(LineStatus::Rejected),
            total = batch.approved_total(),
            "dealer batch decided"
        );
        Ok((batch, false))
    }

    async fn replay_batch(
        &self,
        txn: &DatabaseTransaction,
        dealer: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<Option<Batch>, Error> {
        let Some((id, seen)) = store::batch_by_key(txn, dealer, key).await? else {
            return Ok(None);
        };
        if seen != fingerprint {
            return Err(Error::AlreadyExists(
                "idempotency_key was already used for another batch; use a new key".into(),
            ));
        }
        let b = store::batch(txn, id)
            .await?
            .ok_or_else(|| Error::Unexpected(anyhow::anyhow!("batch {id} vanished")))?;
        Ok(Some(b))
    }

    pub async fn dealer_batch(&self, caller: &Caller, id: uuid::Uuid) -> Result<Batch, Error> {
        let b = store::batch(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("dealer batch {id}")))?;
        self.visible_dealer(&self.db, caller, &b.dealer_code, Lock::None)
            .await
            .map_err(|_| Error::not_found(format!("dealer batch {id}")))?;
        Ok(b)
    }

    /// The month's statement: as issued, or (an open month) as of now.
    pub async fn statement(
        &self,
        caller: &Caller,
        code: &str,
        period: &str,
    ) -> Result<Statement, Error> {
        let d = self
            .visible_dealer(&self.db, caller, code, Lock::None)
            .await?;
        if let Some(s) = store::statement(&self.db, code, period).await? {
            return Ok(s);
        }
        self.compute_statement(&self.db, &d, period, None).await
    }

    async fn compute_statement<C: ConnectionTrait>(
        &self,
        conn: &C,
        d: &Dealer,
        period: &str,
        issued_at: Option<DateTime<Utc>>,
    ) -> Result<Statement, Error> {
        let entries = store::entries(conn, &d.code, period).await?;
        let counts = MonthCounts {
            arrears_minor: store::arrears(conn, &d.code, period).await?,
            old_parts_returned: store::old_parts_returned(conn, &d.code, period).await?,
            parts_shipped: store::parts_shipped(conn, &d.code, period).await?,
        };
        Ok(Statement::compute(
            &d.code,
            period,
            &self.policy.currency,
            entries,
            counts,
            issued_at.map(|at| (at, d.terms.payment_days, self.offset)),
        ))
    }

    /// Charges back `l` for `reason` on the open month (once: a line no longer approved is
    /// left as it is).
    async fn charge_back(
        &self,
        txn: &DatabaseTransaction,
        l: &LineRef,
        reason: LineReason,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        let period = self.open_period(txn, &l.dealer_code, now).await?;
        store::charge_back(txn, l, reason, &period).await?;
        let entry = Entry {
            kind: EntryKind::ChargeBack,
            reference: format!("{}/{}", l.batch_id, l.line_no),
            serial: l.serial.clone(),
            description: format!(
                "charge-back of batch {} line {} ({})",
                l.batch_id,
                l.line_no,
                reason.as_str().replace('_', " ")
            ),
            amount_minor: -l.amount_minor,
            parts_qty: 0,
            at: now,
        };
        let added = store::insert_entry(txn, &l.dealer_code, &period, &entry).await?;
        tracing::info!(dealer = %l.dealer_code, batch = %l.batch_id, line = l.line_no, reason = reason.as_str(), period = %period, "dealer line charged back");
        Ok(added)
    }

    /// The warehouse's verdicts on a batch of old parts, in the event's transaction: each
    /// recorded once; a part found not faulty or wrong charges its line back.
    pub async fn record_verdicts(
        &self,
        txn: &DatabaseTransaction,
        dealer_code: &str,
        verdicts: &[Verdict],
    ) -> Result<usize, Error> {
        let now = self.now();
        if store::dealer(txn, dealer_code, Lock::None).await?.is_none() {
            tracing::warn!(dealer = %dealer_code, "old-part verdicts for a dealer claims-review does not know; nothing to do");
            return Ok(0);
        }
        let period = self.open_period(txn, dealer_code, now).await?;
        let mut charged = 0;
        for v in verdicts {
            let name = v
                .charge
                .map(LineReason::as_str)
                .unwrap_or("confirmed_fault");
            if !store::record_verdict(
                txn,
                v.batch_id,
                v.line_no,
                &v.faulty_serial,
                name,
                now,
                &period,
            )
            .await?
            {
                continue;
            }
            let Some(reason) = v.charge else { continue };
            if let Some(l) = store::approved_line(txn, v.batch_id, v.line_no).await?
                && l.dealer_code == dealer_code
                && self.charge_back(txn, &l, reason, now).await?
            {
                charged += 1;
            }
        }
        Ok(charged)
    }

    /// An advance exchange overdue: charged on the open month, once.
    pub async fn charge_advance_exchange(
        &self,
        txn: &DatabaseTransaction,
        x: &OverdueExchange,
    ) -> Result<bool, Error> {
        if store::dealer(txn, &x.dealer_code, Lock::None)
            .await?
            .is_none()
        {
            tracing::warn!(dealer = %x.dealer_code, exchange = %x.exchange_id, "overdue advance exchange of a dealer claims-review does not know; nothing to do");
            return Ok(false);
        }
        let now = self.now();
        let period = self.open_period(txn, &x.dealer_code, now).await?;
        let entry = Entry {
            kind: EntryKind::AdvanceExchangeOverdue,
            reference: x.exchange_id.clone(),
            serial: x.defective_serial.clone(),
            description: format!(
                "advance exchange {}: {} x {} sent, defective {} not back by the deadline",
                x.exchange_id, x.quantity, x.part_no, x.defective_serial
            ),
            amount_minor: -x.charge_minor.abs(),
            parts_qty: 0,
            at: now,
        };
        Ok(store::insert_entry(txn, &x.dealer_code, &period, &entry).await?)
    }

    /// A consignment handed to the carrier for a dealer, in the event's transaction, once per
    /// consignment: its units count into the month's parts shipped and an order is owed (its
    /// value plus the dealer's parts margin) as a parts-order entry. The month is the dispatch's
    /// (never one before the dealer was registered: the statement scan starts there), or the
    /// first later one not issued. A dealer claims-review does not know: nothing to do.
    pub async fn record_dispatch(
        &self,
        txn: &DatabaseTransaction,
        c: &Dispatch,
    ) -> Result<bool, Error> {
        let Some(d) = store::dealer(txn, &c.dealer_code, Lock::None).await? else {
            tracing::warn!(dealer = %c.dealer_code, consignment = %c.consignment_id, "consignment dispatched to a dealer claims-review does not know; nothing to do");
            return Ok(false);
        };
        if c.kind == ConsignmentKind::DealerOrder
            && !c.currency.is_empty()
            && c.currency != self.policy.currency
        {
            return Err(Error::invalid(
                "value.currency",
                format!("is not {}, the statements' currency", self.policy.currency),
            ));
        }
        let owed = c.owed_minor(&d.terms).ok_or_else(|| {
            Error::invalid("value", "is too large with the dealer's parts margin")
        })?;
        let period = self
            .open_period(txn, &d.code, c.dispatched_at.max(d.created_at))
            .await?;
        if !store::insert_consignment(txn, &period, c, self.now()).await? {
            tracing::info!(dealer = %d.code, consignment = %c.consignment_id, "consignment already recorded; nothing to do");
            return Ok(false);
        }
        if c.kind == ConsignmentKind::DealerOrder {
            let entry = Entry {
                kind: EntryKind::PartsOrder,
                reference: c.consignment_id.clone(),
                serial: String::new(),
                description: format!(
                    "parts order {} shipped ({}): {} unit(s), value {} + {} bp parts margin",
                    c.consignment_id,
                    c.shipment_no,
                    c.units,
                    c.value_minor,
                    d.terms.parts_margin_bp
                ),
                amount_minor: -owed,
                parts_qty: c.units,
                at: c.dispatched_at,
            };
            store::insert_entry(txn, &d.code, &period, &entry).await?;
        }
        tracing::info!(dealer = %d.code, consignment = %c.consignment_id, kind = c.kind.as_str(), units = c.units, owed, period = %period, "consignment to a dealer recorded");
        Ok(true)
    }

    /// One settlement scan at `now`: approved lines whose old part is not back by the deadline
    /// are charged back; every month that is over gets its statement issued
    /// (`claims.statement.issued`). How many things it did.
    pub async fn scan_dealers(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let now = micros(now);
        let txn = self.db.begin().await?;
        let late = store::lines_missing_old_parts(&txn, now, BATCH).await?;
        let mut done = 0;
        for l in &late {
            if self
                .charge_back(&txn, l, LineReason::OldPartNotReturned, now)
                .await?
            {
                done += 1;
            }
        }
        txn.commit().await?;
        let current = dealer::period_of(now, self.offset);
        for (code, created, last_issued) in store::dealer_codes(&self.db).await? {
            // Months are issued in order, so the scan starts after the last one issued.
            let mut p = match last_issued.as_deref().and_then(dealer::next_period) {
                Some(next) => next,
                None => dealer::period_of(created, self.offset),
            };
            let mut issued_here = 0;
            while p < current && issued_here < BATCH {
                if self.issue(&code, &p, now).await? {
                    done += 1;
                    issued_here += 1;
                }
                p = match dealer::next_period(&p) {
                    Some(n) => n,
                    None => break,
                };
            }
        }
        Ok(done)
    }

    /// Issues the dealer's statement of `period` unless it is issued; whether it was now.
    async fn issue(&self, code: &str, period: &str, now: DateTime<Utc>) -> Result<bool, Error> {
        let txn = self.db.begin().await?;
        let Some(d) = store::dealer(&txn, code, Lock::Update).await? else {
            return Ok(false);
        };
        if store::issued(&txn, code, period).await? {
            return Ok(false);
        }
        let s = self.compute_statement(&txn, &d, period, Some(now)).await?;
        store::insert_statement(&txn, &s, now).await?;
        let subject = format!("{code}/{period}");
        let meta = EventMeta {
            subject: &subject,
            branch: &d.branch,
            request_no: "",
        };
        let event = pb::StatementIssued {
            statement: Some(map::statement_to_proto(&s)),
            branch: d.branch.clone(),
        };
        self.outbox.stage(&txn, meta, &event).await?;
        txn.commit().await?;
        tracing::info!(dealer = %code, period = %period, net = s.net_minor, "dealer statement issued");
        Ok(true)
    }
}

/// SHA-256 of the lines as submitted: the same key must come with the same lines.
fn fingerprint(lines: &[LineInput]) -> Result<String, Error> {
    let bytes = serde_json::to_vec(lines)
        .map_err(|e| Error::Unexpected(anyhow::anyhow!("batch lines as JSON: {e}")))?;
    Ok(hex::encode(sha2::Sha256::digest(&bytes)))
}

pub fn scanner(
    claims: &Claims,
    every: std::time::Duration,
) -> aftersales_platform::scanner::Scanner {
    let claims = claims.clone();
    aftersales_platform::scanner::Scanner::new(SCANNER, every, move |now| {
        let claims = claims.clone();
        async move { Ok(claims.scan_dealers(now).await?) }
    })
}
