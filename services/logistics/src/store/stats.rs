//! Freight statistics, computed from the shipments, pick-ups and exceptions themselves when asked
//! (never kept as counters, so a redelivered event can never count twice): shipments by the time
//! they were dispatched, pick-ups by the time they were booked, each exception once.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::{stmt, ts};

/// What the rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    Method,
    Carrier,
    Region,
    Branch,
    /// The department's local month, "YYYY-MM".
    Month,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, FromQueryResult)]
pub struct StatsRow {
    pub key: String,
    pub shipments: i64,
    pub pickups: i64,
    pub cost_minor: i64,
    pub delivered: i64,
    pub on_time: i64,
    pub transit_minutes: i64,
    pub delays: i64,
    pub damages: i64,
    pub losses: i64,
}

fn key(g: Grouping, at: &str, offset_minutes: i32) -> String {
    match g {
        Grouping::Method => "lower(method)".into(),
        Grouping::Carrier => "carrier".into(),
        Grouping::Region => "COALESCE(NULLIF(lower(region), ''), 'unknown')".into(),
        Grouping::Branch => "branch".into(),
        Grouping::Month => format!(
            "to_char(({at} AT TIME ZONE 'UTC') + make_interval(mins => {offset_minutes}), 'YYYY-MM')"
        ),
    }
}

pub async fn freight<C: ConnectionTrait>(
    conn: &C,
    grouping: Grouping,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    branch: Option<&str>,
    offset_minutes: i32,
) -> Result<Vec<StatsRow>, DbErr> {
    let sk = key(grouping, "dispatched_at", offset_minutes);
    let pk = key(grouping, "scheduled_at", offset_minutes);
    let sql = format!(
        "WITH s AS ( \
           SELECT {sk} AS key, shipment_no, COALESCE(actual_cost_minor, estimated_cost_minor) AS cost, \
                  dispatched_at, delivered_at, promised_eta \
           FROM shipments WHERE dispatched_at IS NOT NULL \
             AND ($1::timestamptz IS NULL OR dispatched_at >= $1) \
             AND ($2::timestamptz IS NULL OR dispatched_at < $2) \
             AND ($3::text IS NULL OR branch = $3)), \
         sg AS ( \
           SELECT key, count(*) AS shipments, sum(cost) AS cost, count(delivered_at) AS delivered, \
                  count(*) FILTER (WHERE delivered_at <= promised_eta) AS on_time, \
                  COALESCE(sum(extract(epoch FROM delivered_at - dispatched_at) / 60) \
                    FILTER (WHERE delivered_at IS NOT NULL), 0) AS transit \
           FROM s GROUP BY key), \
         eg AS ( \
           SELECT s.key, count(*) FILTER (WHERE x.kind = 'DELAY') AS delays, \
                  count(*) FILTER (WHERE x.kind = 'DAMAGE') AS damages, \
                  count(*) FILTER (WHERE x.kind = 'LOSS') AS losses \
           FROM s JOIN exceptions x ON x.shipment_no = s.shipment_no GROUP BY s.key), \
         pg AS ( \
           SELECT {pk} AS key, count(*) AS pickups, sum(estimated_cost_minor) AS cost FROM pickups \
           WHERE status <> 'CANCELLED' \
             AND ($1::timestamptz IS NULL OR scheduled_at >= $1) \
             AND ($2::timestamptz IS NULL OR scheduled_at < $2) \
             AND ($3::text IS NULL OR branch = $3) GROUP BY 1) \
         SELECT COALESCE(sg.key, pg.key) AS key, \
                COALESCE(sg.shipments, 0)::bigint AS shipments, COALESCE(pg.pickups, 0)::bigint AS pickups, \
                (COALESCE(sg.cost, 0) + COALESCE(pg.cost, 0))::bigint AS cost_minor, \
                COALESCE(sg.delivered, 0)::bigint AS delivered, COALESCE(sg.on_time, 0)::bigint AS on_time, \
                round(COALESCE(sg.transit, 0))::bigint AS transit_minutes, \
                COALESCE(eg.delays, 0)::bigint AS delays, COALESCE(eg.damages, 0)::bigint AS damages, \
                COALESCE(eg.losses, 0)::bigint AS losses \
         FROM sg FULL JOIN pg ON pg.key = sg.key \
         LEFT JOIN eg ON eg.key = COALESCE(sg.key, pg.key) \
         ORDER BY 1"
    );
    StatsRow::find_by_statement(stmt(
        sql,
        [ts(from), ts(to), branch.map(str::to_owned).into()],
    ))
    .all(conn)
    .await
}
