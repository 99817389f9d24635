//! The ledger checker: after a run, from the services' own databases, every submission the load
//! generator saw accepted is accounted for — found once (or lost, or duplicated), completed or
//! still in flight — and the warehouse's books balance (on-hand per part and zone equals the sum
//! of its ledger's movements and its last balance; what is reserved is what open reservations
//! hold).

use std::collections::BTreeMap;

use anyhow::Context;
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult, Statement};
use serde::Serialize;

/// One submission as the load generator recorded it: the unique serial it put on the product
/// (its marker in intake's data) and whether the gateway answered 2xx with a request number.
#[derive(Debug, Clone, Serialize)]
pub struct Submission {
    pub marker: String,
    pub accepted: bool,
    pub request_no: Option<String>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Accounting {
    pub accepted: usize,
    pub lost: Vec<String>,
    pub duplicated: Vec<String>,
    /// Accepted, found once, in a final status (closed, cancelled).
    pub completed: usize,
    /// Accepted, found once, still moving.
    pub in_flight: usize,
    /// By status, for the in-flight ones.
    pub in_flight_by_status: BTreeMap<String, usize>,
    /// Not answered 2xx (the generator gave up) yet present: harmless (a branch's retry with
    /// the same key returns it), reported for completeness.
    pub created_without_answer: usize,
    /// Parts and zones whose books do not balance, with why.
    pub unbalanced: Vec<String>,
    /// Parts and zones checked.
    pub stock_rows: usize,
}

impl Accounting {
    pub fn clean(&self) -> bool {
        self.lost.is_empty() && self.duplicated.is_empty() && self.unbalanced.is_empty()
    }
}

#[derive(Debug, FromQueryResult)]
struct Found {
    marker: String,
    request_no: String,
    status: String,
}

#[derive(Debug, FromQueryResult)]
struct Books {
    part_no: String,
    zone: String,
    on_hand: i64,
    reserved: i64,
    moved: Option<i64>,
    last_balance: Option<i64>,
    held: Option<i64>,
}

async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    aftersales_platform::testing::connect(url)
        .await
        .with_context(|| format!("connect {url}"))
}

/// Accounts for `submissions` in intake's database and checks the warehouse's books.
pub async fn check(
    submissions: &[Submission],
    intake_url: &str,
    warehouse_url: &str,
) -> anyhow::Result<Accounting> {
    let intake = connect(intake_url).await?;
    let markers: Vec<String> = submissions.iter().map(|s| s.marker.clone()).collect();
    let found = Found::find_by_statement(Statement::from_sql_and_values(
        sea_orm::DatabaseBackend::Postgres,
        "SELECT product->>'serial' AS marker, request_no, status FROM requests \
         WHERE product->>'serial' = ANY($1)",
        [markers.into()],
    ))
    .all(&intake)
    .await?;
    let _ = intake.close().await;
    let mut by_marker: BTreeMap<&str, Vec<&Found>> = BTreeMap::new();
    for f in &found {
        by_marker.entry(f.marker.as_str()).or_default().push(f);
    }
    let mut a = Accounting::default();
    for s in submissions {
        let rows = by_marker
            .get(s.marker.as_str())
            .cloned()
            .unwrap_or_default();
        if !s.accepted {
            if !rows.is_empty() {
                a.created_without_answer += 1;
            }
            continue;
        }
        a.accepted += 1;
        match rows.as_slice() {
            [] => a
                .lost
                .push(s.request_no.clone().unwrap_or_else(|| s.marker.clone())),
            [one] => {
                if s.request_no.as_deref().is_some_and(|n| n != one.request_no) {
                    a.duplicated.push(format!(
                        "{}: answered {} but stored as {}",
                        s.marker,
                        s.request_no.as_deref().unwrap_or_default(),
                        one.request_no
                    ));
                } else if matches!(one.status.as_str(), "closed" | "cancelled") {
                    a.completed += 1;
                } else {
                    a.in_flight += 1;
                    *a.in_flight_by_status.entry(one.status.clone()).or_default() += 1;
                }
            }
            many => a.duplicated.push(format!(
                "{}: {} requests ({})",
                s.marker,
                many.len(),
                many.iter()
                    .map(|f| f.request_no.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    let warehouse = connect(warehouse_url).await?;
    let books = Books::find_by_statement(Statement::from_string(
        sea_orm::DatabaseBackend::Postgres,
        "SELECT s.part_no, s.zone, s.on_hand, s.reserved, \
                (SELECT sum(l.quantity)::bigint FROM ledger l WHERE l.part_no = s.part_no AND l.zone = s.zone) AS moved, \
                (SELECT l.balance_after FROM ledger l WHERE l.part_no = s.part_no AND l.zone = s.zone \
                  ORDER BY l.entry_id DESC LIMIT 1) AS last_balance, \
                (SELECT sum(rl.held)::bigint FROM reservation_lines rl JOIN reservations r \
                   USING (request_no, replacement) \
                  WHERE rl.part_no = s.part_no AND rl.zone = s.zone \
                    AND r.status IN ('CONFIRMED', 'BACKORDERED')) AS held \
           FROM stock_levels s ORDER BY s.part_no, s.zone",
    ))
    .all(&warehouse)
    .await
    .context("the warehouse's books")?;
    let _ = warehouse.close().await;
    for b in books {
        a.stock_rows += 1;
        let moved = b.moved.unwrap_or(0);
        let last = b.last_balance.unwrap_or(0);
        let held = b.held.unwrap_or(0);
        if b.on_hand != moved || b.on_hand != last {
            a.unbalanced.push(format!(
                "{}/{}: on hand {}, ledger sum {moved}, last balance {last}",
                b.part_no, b.zone, b.on_hand
            ));
        }
        if b.reserved != held {
            a.unbalanced.push(format!(
                "{}/{}: reserved {}, held by open reservations {held}",
                b.part_no, b.zone, b.reserved
            ));
        }
    }
    Ok(a)
}

/// A database's count (a sanity check a report may add).
pub async fn count(url: &str, sql: &str) -> anyhow::Result<i64> {
    #[derive(FromQueryResult)]
    struct N {
        n: i64,
    }
    let db = connect(url).await?;
    let n = N::find_by_statement(Statement::from_string(
        sea_orm::DatabaseBackend::Postgres,
        sql.to_owned(),
    ))
    .one(&db)
    .await?
    .map(|n| n.n)
    .unwrap_or(0);
    let _ = db.close().await;
    Ok(n)
}

/// Issues `sql` (for a test that sabotages a database on purpose).
pub async fn execute(url: &str, sql: &str) -> anyhow::Result<()> {
    let db = connect(url).await?;
    db.execute_unprepared(sql).await?;
    let _ = db.close().await;
    Ok(())
}
