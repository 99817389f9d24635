//! Group commit: concurrent submissions coalesced into one transaction.
//!
//! A submission is handed to one of [`COMMITTERS`] committer tasks. A committer takes what has
//! queued up while it was busy (at most [`MAX_BATCH`]) and writes all of it in one transaction
//! of four round trips: `BEGIN`, the numbers of every branch in one upsert, one statement for
//! the requests, their timeline entries and their events, `COMMIT`. Under load, a submission
//! thus shares its round trips and its commit (the WAL flush) with the others that arrived
//! meanwhile; alone, it is a batch of one, as cheap as before.
//!
//! The guarantees are the single path's ([`super::Intake::submit`]): each request gets its own
//! result; numbers stay gap-free (a batch that fails rolls back as a whole, numbers included);
//! the same idempotency key twice in a batch, a key taken already, or any error at all hands
//! every request of the batch back to its caller, which then runs the single path on its own
//! (a taken key replays, a database outage is reported the usual way). Each event carries its
//! own request's trace context.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, OnceLock};

use aftersales_platform::clock::Clock;
use aftersales_platform::outbox::{EventMeta, Outbox, Staged};
use aftersales_platform::proto::intake::v1 as pb;
use chrono::FixedOffset;
use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};
use tokio::sync::{Mutex, mpsc, oneshot};
use tracing::Instrument;

use crate::domain::tracking::{self, RequestNo};
use crate::domain::{NewRequest, RequestStatus};
use crate::store::requests::{self, StoredRequest};

/// Submissions written by one transaction, at most.
pub const MAX_BATCH: usize = 64;
/// Transactions of coalesced submissions in flight at once: while one commits, the next batch
/// fills and starts.
pub const COMMITTERS: usize = 2;

/// A submission waiting for its batch.
struct Pending {
    submitted_by: String,
    req: NewRequest,
    fingerprint: String,
    /// The submission's own span: its event carries this trace context.
    span: tracing::Span,
    /// The stored request, or the request back for the single path.
    answer: oneshot::Sender<Result<StoredRequest, NewRequest>>,
}

/// How a coalesced submission ended.
pub enum Coalesced {
    /// Written, in a batch.
    Stored(StoredRequest),
    /// Not written: the caller goes the single path with it.
    Alone(NewRequest),
    /// The committer stopped (the process is shutting down) before answering.
    Lost,
}

/// Hands submissions to the committers, started on first use (so that building an
/// [`super::Intake`] needs no runtime).
pub struct Coalescer {
    db: DatabaseConnection,
    outbox: Outbox,
    offset: FixedOffset,
    clock: Clock,
    queue: OnceLock<mpsc::UnboundedSender<Pending>>,
}

impl Coalescer {
    pub fn new(db: DatabaseConnection, outbox: Outbox, offset: FixedOffset, clock: Clock) -> Self {
        Self {
            db,
            outbox,
            offset,
            clock,
            queue: OnceLock::new(),
        }
    }

    fn queue(&self) -> &mpsc::UnboundedSender<Pending> {
        self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let rx = Arc::new(Mutex::new(rx));
            for _ in 0..COMMITTERS {
                let c = Committer {
                    db: self.db.clone(),
                    outbox: self.outbox.clone(),
                    offset: self.offset,
                    clock: self.clock.clone(),
                };
                tokio::spawn(c.run(rx.clone()));
            }
            tx
        })
    }

    /// Writes the submission in the next batch.
    pub async fn submit(
        &self,
        submitted_by: String,
        req: NewRequest,
        fingerprint: String,
    ) -> Coalesced {
        let (answer, rx) = oneshot::channel();
        let pending = Pending {
            submitted_by,
            req,
            fingerprint,
            span: tracing::Span::current(),
            answer,
        };
        if let Err(mpsc::error::SendError(p)) = self.queue().send(pending) {
            return Coalesced::Alone(p.req);
        }
        match rx.await {
            Ok(Ok(stored)) => Coalesced::Stored(stored),
            Ok(Err(req)) => Coalesced::Alone(req),
            Err(_) => Coalesced::Lost,
        }
    }
}

struct Committer {
    db: DatabaseConnection,
    outbox: Outbox,
    offset: FixedOffset,
    clock: Clock,
}

impl Committer {
    async fn run(self, queue: Arc<Mutex<mpsc::UnboundedReceiver<Pending>>>) {
        loop {
            let mut batch = Vec::new();
            {
                let mut rx = queue.lock().await;
                match rx.recv().await {
                    Some(p) => batch.push(p),
                    None => return,
                }
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(p) => batch.push(p),
                        Err(_) => break,
                    }
                }
            }
            // A key twice in one batch: the later ones go alone, after this batch decided.
            let mut keys = HashSet::new();
            let (batch, repeated): (Vec<Pending>, Vec<Pending>) = batch
                .into_iter()
                .partition(|p| keys.insert(p.req.idempotency_key.clone()));
            for p in repeated {
                let _ = p.answer.send(Err(p.req));
            }
            // A batch of one runs in its request's trace; a larger one in a trace of its own,
            // linked to each request's.
            let span = match batch.as_slice() {
                [one] => one.span.clone(),
                many => aftersales_platform::outbox::batch_span(
                    "intake.submit batch",
                    &many.iter().map(|p| p.span.clone()).collect::<Vec<_>>(),
                ),
            };
            match self.write(&batch).instrument(span).await {
                Ok(stored) => {
                    for (p, s) in batch.into_iter().zip(stored) {
                        let _ = p.answer.send(Ok(s));
                    }
                }
                Err(e) => {
                    if !requests::is_idempotency_conflict(&e) {
                        tracing::debug!(error = %e, size = batch.len(),
                            "a coalesced batch failed; its submissions go one by one");
                    }
                    for p in batch {
                        let _ = p.answer.send(Err(p.req));
                    }
                }
            }
        }
    }

    /// One transaction for the batch; the stored requests in batch order.
    async fn write(&self, batch: &[Pending]) -> Result<Vec<StoredRequest>, DbErr> {
        let now = super::micros(self.clock.now());
        let period = tracking::period(now, self.offset);
        let mut per_branch: BTreeMap<&str, i64> = BTreeMap::new();
        for p in batch {
            *per_branch.entry(p.req.branch.as_str()).or_default() += 1;
        }
        let txn = self.db.begin().await?;
        // Branches in a fixed order, so that two batches never wait for each other in a cycle.
        let counts: Vec<(&str, i64)> = per_branch.iter().map(|(b, n)| (*b, *n)).collect();
        let last = requests::next_sequences(&txn, &period, &counts).await?;
        let mut next: BTreeMap<&str, i64> = counts
            .iter()
            .zip(&last)
            .map(|((b, n), l)| (*b, l - n + 1))
            .collect();
        let mut rows = Vec::with_capacity(batch.len());
        for p in batch {
            let seq = next.get_mut(p.req.branch.as_str()).ok_or_else(|| {
                DbErr::Custom(format!("no number issued for branch {}", p.req.branch))
            })?;
            let request_no = RequestNo::new(&period, &p.req.branch, *seq).map_err(DbErr::Custom)?;
            *seq += 1;
            p.span.record("aftersales.request_no", request_no.as_str());
            let stored = StoredRequest {
                last_step: "intake.request.submitted".to_owned(),
                last_step_at: now,
                request_no,
                fingerprint: p.fingerprint.clone(),
                status: RequestStatus::Submitted,
                status_reason: String::new(),
                request: p.req.clone(),
                submitted_by: p.submitted_by.clone(),
                created_at: now,
                updated_at: now,
            };
            let staged = p.span.in_scope(|| self.staged(&stored));
            let entry = super::first_entry(&stored, &staged, now);
            rows.push((stored, entry, staged));
        }
        requests::insert_submitted(&txn, &rows).await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(|(s, _, _)| s).collect())
    }

    fn staged(&self, stored: &StoredRequest) -> Staged {
        let event = pb::RequestSubmitted {
            request: Some(crate::grpc::to_proto(stored)),
        };
        self.outbox.first_of_subject(
            EventMeta::request(stored.request_no.as_str(), stored.request.branch.as_str()),
            &event,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::request::{Customer, PartLine, PhoneNumber, Product};
    use crate::domain::tracking::BranchCode;
    use crate::domain::{Channel, Region, RequestKind, Urgency};
    use aftersales_platform::testing::TestDb;
    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    fn request(branch: &str, key: &str) -> NewRequest {
        NewRequest {
            idempotency_key: key.to_owned(),
            branch: BranchCode::parse(branch).unwrap(),
            channel: Channel::Hotline,
            kind: RequestKind::Replacement,
            urgency: Urgency::Normal,
            customer: Customer {
                name: "Li Wei".into(),
                phone: PhoneNumber::parse("+86 138 0013 8000").unwrap(),
                address: "1 Test Road".into(),
                region: Region::Urban,
                email: String::new(),
            },
            product: Product {
                category: "television".into(),
                model: "X55".into(),
                serial: format!("SN-{key}"),
                purchase_date: None,
                invoice_no: String::new(),
                invoice_date: None,
                receipt_date: None,
                factory_date: None,
                service_contract_no: String::new(),
            },
            fault_description: "no picture".into(),
            photos: vec![],
            parts: vec![PartLine {
                part_no: "PWR-55-01".into(),
                quantity: 1,
            }],
            misuse_suspected: false,
            notify: Default::default(),
        }
    }

    async fn count(db: &TestDb, sql: &str) -> i64 {
        db.conn
            .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index(0)
            .unwrap()
    }

    #[tokio::test]
    async fn concurrent_submissions_share_transactions_and_get_gap_free_numbers_per_branch() {
        let db = TestDb::create(crate::store::ALL_MIGRATIONS).await;
        let c = Arc::new(Coalescer::new(
            db.conn.clone(),
            Outbox::new("intake"),
            FixedOffset::east_opt(8 * 3600).unwrap(),
            Clock::system(),
        ));
        let calls = (0..120).map(|i| {
            let c = c.clone();
            let branch = ["SH01", "BJ02", "GZ03"][i % 3];
            tokio::spawn(async move {
                let req = request(branch, &format!("key-{i}"));
                let fp = req.fingerprint();
                c.submit("agent".into(), req, fp).await
            })
        });
        let mut numbers: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for r in futures_util::future::join_all(calls).await {
            let Coalesced::Stored(s) = r.unwrap() else {
                panic!("every new key is written by a batch");
            };
            let no = s.request_no.to_string();
            let seq: i64 = no.rsplit('-').next().unwrap().parse().unwrap();
            numbers
                .entry(s.request.branch.to_string())
                .or_default()
                .push(seq);
        }
        for (branch, mut seqs) in numbers {
            seqs.sort_unstable();
            assert_eq!(seqs, (1..=40).collect::<Vec<_>>(), "{branch}");
        }
        assert_eq!(count(&db, "SELECT count(*) FROM requests").await, 120);
        assert_eq!(count(&db, "SELECT count(*) FROM timeline").await, 120);
        assert_eq!(
            count(&db, "SELECT count(*) FROM outbox_sequences WHERE last = 1").await,
            120
        );
        assert_eq!(count(&db, "SELECT count(*) FROM outbox").await, 120);
    }

    #[tokio::test]
    async fn a_batch_with_a_taken_or_repeated_key_hands_every_submission_back_and_keeps_no_number()
    {
        let db = TestDb::create(crate::store::ALL_MIGRATIONS).await;
        let c = Arc::new(Coalescer::new(
            db.conn.clone(),
            Outbox::new("intake"),
            FixedOffset::east_opt(8 * 3600).unwrap(),
            Clock::system(),
        ));
        let first = request("SH01", "taken");
        let fp = first.fingerprint();
        assert!(matches!(
            c.submit("agent".into(), first, fp).await,
            Coalesced::Stored(_)
        ));
        // The taken key and a repeated one among new ones, all at once.
        let keys = ["taken", "new-1", "new-2", "twice", "twice", "new-3"];
        let calls = keys.iter().map(|k| {
            let c = c.clone();
            let req = request("SH01", k);
            tokio::spawn(async move {
                let fp = req.fingerprint();
                c.submit("agent".into(), req, fp).await
            })
        });
        let results = futures_util::future::join_all(calls).await;
        let mut stored = 0;
        let mut twice_alone = 0;
        for (k, r) in keys.iter().zip(results) {
            match r.unwrap() {
                Coalesced::Stored(_) => {
                    assert_ne!(*k, "taken", "a taken key is the single path's (a replay)");
                    stored += 1;
                }
                Coalesced::Alone(req) => {
                    assert_eq!(req.idempotency_key, *k);
                    twice_alone += i64::from(*k == "twice");
                }
                Coalesced::Lost => panic!("lost"),
            }
        }
        assert!(
            twice_alone >= 1,
            "one key is written once at most by batches"
        );
        // Whatever was written got consecutive numbers after the first: a batch that failed
        // returned its numbers.
        let last = count(&db, "SELECT max(last)::bigint FROM tracking_sequences").await;
        assert_eq!(last, 1 + stored);
        assert_eq!(
            count(&db, "SELECT count(*) FROM requests").await,
            1 + stored
        );
    }
}
