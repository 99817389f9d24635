//! The KPI read model (`rm_*`): what the event log says, one [`Fact`] at a time, merged so that
//! the result does not depend on the order the facts come in (earliest instant wins, flags are
//! or-ed, strings that should agree keep the greater, a first reservation is the one with the
//! lowest sequence). The same log thus gives the same figures live and rebuilt, and a fact
//! replayed under another event id changes nothing. The figures are read here too.

use std::collections::BTreeMap;

use aftersales_platform::calendar::Calendar;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::{json_list, list_of, stmt};
use crate::domain::kpi::{KpiName, Ratio};

/// One thing an event says, for the read model.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    RequestSubmitted {
        request_no: String,
        branch: String,
        at: DateTime<Utc>,
        processing_due_at: DateTime<Utc>,
        product_model: String,
        serial: String,
    },
    RequestClosed {
        request_no: String,
        branch: String,
        at: DateTime<Utc>,
        by_survey: bool,
    },
    RequestCancelled {
        request_no: String,
        branch: String,
        at: DateTime<Utc>,
    },
    ClaimOpened {
        request_no: String,
        branch: String,
        due_at: Option<DateTime<Utc>>,
    },
    ClaimDecided {
        request_no: String,
        branch: String,
        at: DateTime<Utc>,
    },
    ClaimBreached {
        request_no: String,
        branch: String,
    },
    ClaimApproved {
        request_no: String,
        branch: String,
        lines: i32,
        product_model: String,
        serial: String,
    },
    Delivery {
        shipment_no: String,
        request_no: String,
        branch: String,
        at: DateTime<Utc>,
        on_time: bool,
    },
    Stocktake {
        stocktake_id: String,
        at: DateTime<Utc>,
        counted: i64,
        matched: i64,
    },
    Purchase {
        po_number: String,
        revision: i32,
        at: DateTime<Utc>,
        actual_minor: i64,
        quoted_minor: i64,
    },
    WorkOrderCompleted {
        work_order_no: String,
        request_no: String,
        branch: String,
        technician_id: String,
        at: DateTime<Utc>,
        arrival_on_time: bool,
        rework: bool,
    },
    WorkOrderRework {
        work_order_no: String,
        request_no: String,
        branch: String,
    },
    WorkOrderSlaBreached {
        work_order_no: String,
        request_no: String,
        branch: String,
        technician_id: String,
    },
    VisitScheduled {
        visit_id: String,
        request_no: String,
        branch: String,
        due_at: DateTime<Utc>,
    },
    SurveyRecorded {
        survey_id: String,
        visit_id: String,
        request_no: String,
        branch: String,
        technician_id: String,
        work_order_no: String,
        at: DateTime<Utc>,
        /// Attitude, technical skill, arrival time, promise-keeping: 0 not rated, 1 … 4.
        ratings: [i16; 4],
        satisfied: bool,
        resolved: bool,
    },
    ComplaintOpened {
        complaint_id: String,
        branch: String,
        technician_id: String,
        at: DateTime<Utc>,
        respond_by: DateTime<Utc>,
    },
    ComplaintResolved {
        complaint_id: String,
        branch: String,
        at: DateTime<Utc>,
    },
    ReturnedPart {
        reference: String,
        request_no: String,
        branch: String,
        part_no: String,
        quantity: i64,
        at: DateTime<Utc>,
    },
    FirstReservation {
        request_no: String,
        branch: String,
        sequence: i64,
        at: DateTime<Utc>,
        confirmed: bool,
        lines: i32,
        model: String,
        lifecycle: i32,
        discontinued_on: Option<NaiveDate>,
    },
    Quality {
        reference: String,
        at: DateTime<Utc>,
        kind: String,
        request_no: String,
        branch: String,
        serial: String,
        product_model: String,
        summary: String,
        part_nos: Vec<String>,
    },
}

/// The tables of the read model, dropped together on a rebuild.
pub const TABLES: &[&str] = &[
    "rm_requests",
    "rm_claims",
    "rm_deliveries",
    "rm_stocktakes",
    "rm_purchases",
    "rm_work_orders",
    "rm_visits",
    "rm_surveys",
    "rm_complaints",
    "rm_returned_parts",
    "rm_fill",
    "rm_quality",
];

async fn exec<C: ConnectionTrait>(conn: &C, sql: &str, values: Vec<Value>) -> Result<(), DbErr> {
    conn.execute_raw(stmt(sql, values)).await?;
    Ok(())
}

/// Applies one fact. `calendar` measures a complaint's working minutes once both its ends are
/// known.
pub async fn apply<C: ConnectionTrait>(
    conn: &C,
    fact: &Fact,
    calendar: &Calendar,
) -> Result<(), DbErr> {
    match fact.clone() {
        Fact::RequestSubmitted {
            request_no,
            branch,
            at,
            processing_due_at,
            product_model,
            serial,
        } => {
            exec(
                conn,
                "INSERT INTO rm_requests AS r (request_no, branch, submitted_at, processing_due_at, \
                 product_model, serial) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (request_no) DO UPDATE SET \
                 branch = GREATEST(r.branch, excluded.branch), \
                 processing_due_at = CASE WHEN r.submitted_at IS NULL \
                   OR excluded.submitted_at < r.submitted_at THEN excluded.processing_due_at \
                   ELSE r.processing_due_at END, \
                 submitted_at = LEAST(r.submitted_at, excluded.submitted_at), \
                 product_model = GREATEST(r.product_model, excluded.product_model), \
                 serial = GREATEST(r.serial, excluded.serial)",
                vec![
                    request_no.into(),
                    branch.into(),
                    at.into(),
                    processing_due_at.into(),
                    product_model.into(),
                    serial.into(),
                ],
            )
            .await
        }
        Fact::RequestClosed {
            request_no,
            branch,
            at,
            by_survey,
        } => {
            exec(
                conn,
                "INSERT INTO rm_requests AS r (request_no, branch, closed_at, closed_by_survey) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (request_no) DO UPDATE SET \
                 branch = GREATEST(r.branch, excluded.branch), \
                 closed_at = LEAST(r.closed_at, excluded.closed_at), \
                 closed_by_survey = r.closed_by_survey OR excluded.closed_by_survey",
                vec![request_no.into(), branch.into(), at.into(), by_survey.into()],
            )
            .await
        }
        Fact::RequestCancelled {
            request_no,
            branch,
            at,
        } => {
            exec(
                conn,
                "INSERT INTO rm_requests AS r (request_no, branch, cancelled_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (request_no) DO UPDATE SET branch = GREATEST(r.branch, excluded.branch), \
                 cancelled_at = LEAST(r.cancelled_at, excluded.cancelled_at)",
                vec![request_no.into(), branch.into(), at.into()],
            )
            .await
        }
        Fact::ClaimApproved {
            request_no,
            branch,
            lines,
            product_model,
            serial,
        } => {
            exec(
                conn,
                "INSERT INTO rm_requests AS r (request_no, branch, approved_lines, product_model, serial) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_no) DO UPDATE SET \
                 branch = GREATEST(r.branch, excluded.branch), \
                 approved_lines = GREATEST(r.approved_lines, excluded.approved_lines), \
                 product_model = GREATEST(r.product_model, excluded.product_model), \
                 serial = GREATEST(r.serial, excluded.serial)",
                vec![
                    request_no.into(),
                    branch.into(),
                    lines.into(),
                    product_model.into(),
                    serial.into(),
                ],
            )
            .await
        }
        Fact::ClaimOpened {
            request_no,
            branch,
            due_at,
        } => {
            exec(
                conn,
                "INSERT INTO rm_claims AS c (request_no, branch, due_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (request_no) DO UPDATE SET branch = GREATEST(c.branch, excluded.branch), \
                 due_at = LEAST(c.due_at, excluded.due_at)",
                vec![request_no.into(), branch.into(), due_at.into()],
            )
            .await
        }
        Fact::ClaimDecided {
            request_no,
            branch,
            at,
        } => {
            exec(
                conn,
                "INSERT INTO rm_claims AS c (request_no, branch, decided_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (request_no) DO UPDATE SET branch = GREATEST(c.branch, excluded.branch), \
                 decided_at = LEAST(c.decided_at, excluded.decided_at)",
                vec![request_no.into(), branch.into(), at.into()],
            )
            .await
        }
        Fact::ClaimBreached { request_no, branch } => {
            exec(
                conn,
                "INSERT INTO rm_claims AS c (request_no, branch, breached) VALUES ($1, $2, true) \
                 ON CONFLICT (request_no) DO UPDATE SET branch = GREATEST(c.branch, excluded.branch), \
                 breached = true",
                vec![request_no.into(), branch.into()],
            )
            .await
        }
        Fact::Delivery {
            shipment_no,
            request_no,
            branch,
            at,
            on_time,
        } => {
            exec(
                conn,
                "INSERT INTO rm_deliveries AS d (shipment_no, request_no, branch, delivered_at, on_time) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (shipment_no) DO UPDATE SET \
                 delivered_at = LEAST(d.delivered_at, excluded.delivered_at), \
                 on_time = d.on_time AND excluded.on_time",
                vec![
                    shipment_no.into(),
                    request_no.into(),
                    branch.into(),
                    at.into(),
                    on_time.into(),
                ],
            )
            .await
        }
        Fact::Stocktake {
            stocktake_id,
            at,
            counted,
            matched,
        } => {
            exec(
                conn,
                "INSERT INTO rm_stocktakes (stocktake_id, closed_at, lines_counted, lines_matched) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (stocktake_id) DO NOTHING",
                vec![stocktake_id.into(), at.into(), counted.into(), matched.into()],
            )
            .await
        }
        Fact::Purchase {
            po_number,
            revision,
            at,
            actual_minor,
            quoted_minor,
        } => {
            // The latest revision of an amended PO counts, dated when the PO was first issued.
            exec(
                conn,
                "INSERT INTO rm_purchases AS p (po_number, revision, issued_at, actual_minor, quoted_minor) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (po_number) DO UPDATE SET \
                 issued_at = LEAST(p.issued_at, excluded.issued_at), \
                 revision = GREATEST(p.revision, excluded.revision), \
                 actual_minor = CASE WHEN excluded.revision > p.revision THEN excluded.actual_minor ELSE p.actual_minor END, \
                 quoted_minor = CASE WHEN excluded.revision > p.revision THEN excluded.quoted_minor ELSE p.quoted_minor END",
                vec![
                    po_number.into(),
                    revision.into(),
                    at.into(),
                    actual_minor.into(),
                    quoted_minor.into(),
                ],
            )
            .await
        }
        Fact::WorkOrderCompleted {
            work_order_no,
            request_no,
            branch,
            technician_id,
            at,
            arrival_on_time,
            rework,
        } => {
            exec(
                conn,
                "INSERT INTO rm_work_orders AS w (work_order_no, request_no, branch, technician_id, \
                 completed_at, arrival_on_time, rework) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (work_order_no) DO UPDATE SET \
                 request_no = GREATEST(w.request_no, excluded.request_no), \
                 branch = GREATEST(w.branch, excluded.branch), \
                 technician_id = GREATEST(w.technician_id, excluded.technician_id), \
                 completed_at = LEAST(w.completed_at, excluded.completed_at), \
                 arrival_on_time = CASE WHEN w.arrival_on_time IS NULL THEN excluded.arrival_on_time \
                   ELSE w.arrival_on_time AND excluded.arrival_on_time END, \
                 rework = w.rework OR excluded.rework",
                vec![
                    work_order_no.into(),
                    request_no.into(),
                    branch.into(),
                    technician_id.into(),
                    at.into(),
                    arrival_on_time.into(),
                    rework.into(),
                ],
            )
            .await
        }
        Fact::WorkOrderRework {
            work_order_no,
            request_no,
            branch,
        } => {
            exec(
                conn,
                "INSERT INTO rm_work_orders AS w (work_order_no, request_no, branch, rework) \
                 VALUES ($1, $2, $3, true) ON CONFLICT (work_order_no) DO UPDATE SET \
                 request_no = GREATEST(w.request_no, excluded.request_no), \
                 branch = GREATEST(w.branch, excluded.branch), rework = true",
                vec![work_order_no.into(), request_no.into(), branch.into()],
            )
            .await
        }
        Fact::WorkOrderSlaBreached {
            work_order_no,
            request_no,
            branch,
            technician_id,
        } => {
            exec(
                conn,
                "INSERT INTO rm_work_orders AS w (work_order_no, request_no, branch, technician_id, \
                 sla_breached) VALUES ($1, $2, $3, $4, true) ON CONFLICT (work_order_no) DO UPDATE SET \
                 request_no = GREATEST(w.request_no, excluded.request_no), \
                 branch = GREATEST(w.branch, excluded.branch), \
                 technician_id = GREATEST(w.technician_id, excluded.technician_id), \
                 sla_breached = true",
                vec![
                    work_order_no.into(),
                    request_no.into(),
                    branch.into(),
                    technician_id.into(),
                ],
            )
            .await
        }
        Fact::VisitScheduled {
            visit_id,
            request_no,
            branch,
            due_at,
        } => {
            exec(
                conn,
                "INSERT INTO rm_visits AS v (visit_id, request_no, branch, due_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (visit_id) DO UPDATE SET request_no = GREATEST(v.request_no, excluded.request_no), \
                 branch = GREATEST(v.branch, excluded.branch), due_at = LEAST(v.due_at, excluded.due_at)",
                vec![visit_id.into(), request_no.into(), branch.into(), due_at.into()],
            )
            .await
        }
        Fact::SurveyRecorded {
            survey_id,
            visit_id,
            request_no,
            branch,
            technician_id,
            work_order_no,
            at,
            ratings,
            satisfied,
            resolved,
        } => {
            exec(
                conn,
                "INSERT INTO rm_visits AS v (visit_id, request_no, branch, done_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (visit_id) DO UPDATE SET request_no = GREATEST(v.request_no, excluded.request_no), \
                 branch = GREATEST(v.branch, excluded.branch), done_at = LEAST(v.done_at, excluded.done_at)",
                vec![
                    visit_id.as_str().into(),
                    request_no.as_str().into(),
                    branch.as_str().into(),
                    at.into(),
                ],
            )
            .await?;
            exec(
                conn,
                "INSERT INTO rm_surveys (survey_id, visit_id, request_no, branch, technician_id, \
                 work_order_no, recorded_at, attitude, technical_skill, arrival_time, promise_keeping, \
                 satisfied, resolved) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                 ON CONFLICT (survey_id) DO NOTHING",
                vec![
                    survey_id.into(),
                    visit_id.into(),
                    request_no.into(),
                    branch.into(),
                    technician_id.into(),
                    work_order_no.into(),
                    at.into(),
                    ratings[0].into(),
                    ratings[1].into(),
                    ratings[2].into(),
                    ratings[3].into(),
                    satisfied.into(),
                    resolved.into(),
                ],
            )
            .await
        }
        Fact::ComplaintOpened {
            complaint_id,
            branch,
            technician_id,
            at,
            respond_by,
        } => {
            exec(
                conn,
                "INSERT INTO rm_complaints AS c (complaint_id, branch, technician_id, opened_at, respond_by) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (complaint_id) DO UPDATE SET \
                 branch = GREATEST(c.branch, excluded.branch), \
                 technician_id = GREATEST(c.technician_id, excluded.technician_id), \
                 opened_at = LEAST(c.opened_at, excluded.opened_at), \
                 respond_by = LEAST(c.respond_by, excluded.respond_by)",
                vec![
                    complaint_id.as_str().into(),
                    branch.into(),
                    technician_id.into(),
                    at.into(),
                    respond_by.into(),
                ],
            )
            .await?;
            measure_response(conn, &complaint_id, calendar).await
        }
        Fact::ComplaintResolved {
            complaint_id,
            branch,
            at,
        } => {
            exec(
                conn,
                "INSERT INTO rm_complaints AS c (complaint_id, branch, resolved_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (complaint_id) DO UPDATE SET branch = GREATEST(c.branch, excluded.branch), \
                 resolved_at = LEAST(c.resolved_at, excluded.resolved_at)",
                vec![complaint_id.as_str().into(), branch.into(), at.into()],
            )
            .await?;
            measure_response(conn, &complaint_id, calendar).await
        }
        Fact::ReturnedPart {
            reference,
            request_no,
            branch,
            part_no,
            quantity,
            at,
        } => {
            exec(
                conn,
                "INSERT INTO rm_returned_parts (ref, request_no, branch, part_no, quantity, at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (ref) DO NOTHING",
                vec![
                    reference.into(),
                    request_no.into(),
                    branch.into(),
                    part_no.into(),
                    quantity.into(),
                    at.into(),
                ],
            )
            .await
        }
        Fact::FirstReservation {
            request_no,
            branch,
            sequence,
            at,
            confirmed,
            lines,
            model,
            lifecycle,
            discontinued_on,
        } => {
            exec(
                conn,
                "INSERT INTO rm_fill AS f (request_no, branch, first_seq, first_at, first_confirmed, \
                 lines, model, lifecycle, discontinued_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (request_no) DO UPDATE SET branch = excluded.branch, \
                 first_seq = excluded.first_seq, first_at = excluded.first_at, \
                 first_confirmed = excluded.first_confirmed, lines = excluded.lines, \
                 model = excluded.model, lifecycle = excluded.lifecycle, \
                 discontinued_on = excluded.discontinued_on \
                 WHERE excluded.first_seq < f.first_seq",
                vec![
                    request_no.into(),
                    branch.into(),
                    sequence.into(),
                    at.into(),
                    confirmed.into(),
                    lines.into(),
                    model.into(),
                    lifecycle.into(),
                    discontinued_on.into(),
                ],
            )
            .await
        }
        Fact::Quality {
            reference,
            at,
            kind,
            request_no,
            branch,
            serial,
            product_model,
            summary,
            part_nos,
        } => {
            exec(
                conn,
                "INSERT INTO rm_quality (ref, at, type, request_no, branch, serial, product_model, \
                 summary, part_nos) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (ref) DO NOTHING",
                vec![
                    reference.into(),
                    at.into(),
                    kind.into(),
                    request_no.into(),
                    branch.into(),
                    serial.into(),
                    product_model.into(),
                    summary.into(),
                    json_list(&part_nos),
                ],
            )
            .await
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct Ends {
    opened_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
}

/// Once a complaint's opening and resolution are both known, its working minutes between them.
async fn measure_response<C: ConnectionTrait>(
    conn: &C,
    complaint_id: &str,
    calendar: &Calendar,
) -> Result<(), DbErr> {
    let Some(Ends {
        opened_at: Some(from),
        resolved_at: Some(to),
    }) = Ends::find_by_statement(stmt(
        "SELECT opened_at, resolved_at FROM rm_complaints WHERE complaint_id = $1",
        [complaint_id.into()],
    ))
    .one(conn)
    .await?
    else {
        return Ok(());
    };
    let minutes = calendar.working_time_between(from, to).num_minutes();
    exec(
        conn,
        "UPDATE rm_complaints SET response_minutes = $2 WHERE complaint_id = $1",
        vec![complaint_id.into(), minutes.into()],
    )
    .await
}

/// Empties the read model (under an exclusive lock, so a handler projecting at the same time
/// waits for the rebuild and then applies its fact on top of it).
pub async fn truncate<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
    let tables = TABLES.join(", ");
    conn.execute_unprepared(&format!("LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE"))
        .await?;
    conn.execute_unprepared(&format!("TRUNCATE {tables}"))
        .await?;
    Ok(())
}

#[derive(Debug, FromQueryResult)]
struct Pair {
    num: i64,
    den: i64,
}

impl Pair {
    fn ratio(&self) -> Ratio {
        Ratio::new(self.num.max(0) as u64, self.den.max(0) as u64)
    }
}

async fn pair<C: ConnectionTrait>(conn: &C, sql: &str, values: Vec<Value>) -> Result<Ratio, DbErr> {
    Ok(Pair::find_by_statement(stmt(sql, values))
        .one(conn)
        .await?
        .map(|p| p.ratio())
        .unwrap_or_default())
}

/// The ratio KPIs of a period, and what goes with them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Figures {
    pub ratios: BTreeMap<KpiName, Ratio>,
    /// Attitude, technical skill, arrival time, promise-keeping.
    pub dimensions: [Ratio; 4],
    pub complaint_avg_minutes: u64,
}

/// Every KPI of `[from, to)` for `branch` (empty: all). Inventory accuracy and procurement cost
/// belong to no branch (the warehouse and purchasing serve every branch): every view shows them.
/// `now` decides which return visits are judged already (those due by now).
pub async fn figures<C: ConnectionTrait>(
    conn: &C,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    branch: &str,
    now: DateTime<Utc>,
) -> Result<Figures, DbErr> {
    let args = || -> Vec<Value> { vec![from.into(), to.into(), branch.into()] };
    let mut ratios = BTreeMap::new();
    ratios.insert(
        KpiName::RequestProcessingTimeliness,
        pair(
            conn,
            "SELECT count(*) FILTER (WHERE closed_at <= processing_due_at) AS num, count(*) AS den \
             FROM rm_requests WHERE closed_by_survey AND submitted_at IS NOT NULL \
             AND closed_at >= $1 AND closed_at < $2 AND ($3 = '' OR branch = $3)",
            args(),
        )
        .await?,
    );
    ratios.insert(
        KpiName::ReviewTimeliness,
        pair(
            conn,
            "SELECT count(*) FILTER (WHERE NOT breached) AS num, count(*) AS den FROM rm_claims \
             WHERE decided_at >= $1 AND decided_at < $2 AND ($3 = '' OR branch = $3)",
            args(),
        )
        .await?,
    );
    ratios.insert(
        KpiName::ProcurementCostVsQuotes,
        pair(
            conn,
            "SELECT COALESCE(sum(quoted_minor), 0)::bigint AS num, COALESCE(sum(actual_minor), 0)::bigint AS den \
             FROM rm_purchases WHERE issued_at >= $1 AND issued_at < $2",
            vec![from.into(), to.into()],
        )
        .await?,
    );
    ratios.insert(
        KpiName::InventoryAccuracy,
        pair(
            conn,
            "SELECT COALESCE(sum(lines_matched), 0)::bigint AS num, COALESCE(sum(lines_counted), 0)::bigint AS den \
             FROM rm_stocktakes WHERE closed_at >= $1 AND closed_at < $2",
            vec![from.into(), to.into()],
        )
        .await?,
    );
    ratios.insert(
        KpiName::OnTimeDelivery,
        pair(
            conn,
            "SELECT count(*) FILTER (WHERE on_time) AS num, count(*) AS den FROM rm_deliveries \
             WHERE delivered_at >= $1 AND delivered_at < $2 AND ($3 = '' OR branch = $3)",
            args(),
        )
        .await?,
    );
    ratios.insert(
        KpiName::ArrivalSla,
        pair(
            conn,
            "SELECT count(*) FILTER (WHERE arrival_on_time AND NOT sla_breached) AS num, count(*) AS den \
             FROM rm_work_orders WHERE completed_at >= $1 AND completed_at < $2 AND ($3 = '' OR branch = $3)",
            args(),
        )
        .await?,
    );
    ratios.insert(
        KpiName::FirstTimeFix,
        pair(conn, &first_time_fix_sql(""), args()).await?,
    );
    ratios.insert(
        KpiName::ReworkRate,
        pair(
            conn,
            "SELECT count(*) FILTER (WHERE rework) AS num, count(*) AS den FROM rm_work_orders \
             WHERE completed_at >= $1 AND completed_at < $2 AND ($3 = '' OR branch = $3)",
            args(),
        )
        .await?,
    );
    let survey_where =
        "FROM rm_surveys WHERE recorded_at >= $1 AND recorded_at < $2 AND ($3 = '' OR branch = $3)";
    ratios.insert(
        KpiName::Satisfaction,
        pair(
            conn,
            &format!(
                "SELECT count(*) FILTER (WHERE satisfied) AS num, count(*) AS den {survey_where}"
            ),
            args(),
        )
        .await?,
    );
    let mut dimensions = [Ratio::default(); 4];
    for (i, col) in [
        "attitude",
        "technical_skill",
        "arrival_time",
        "promise_keeping",
    ]
    .iter()
    .enumerate()
    {
        dimensions[i] = pair(
            conn,
            &format!(
                "SELECT count(*) FILTER (WHERE {col} IN (1, 2)) AS num, \
                 count(*) FILTER (WHERE {col} <> 0) AS den {survey_where}"
            ),
            args(),
        )
        .await?;
    }
    ratios.insert(
        KpiName::ComplaintResponseTimeliness,
        pair(
            conn,
            "SELECT count(*) FILTER (WHERE resolved_at <= respond_by) AS num, count(*) AS den \
             FROM rm_complaints WHERE opened_at IS NOT NULL AND resolved_at >= $1 AND resolved_at < $2 \
             AND ($3 = '' OR branch = $3)",
            args(),
        )
        .await?,
    );
    let avg = Pair::find_by_statement(stmt(
        "SELECT COALESCE(round(avg(response_minutes)), 0)::bigint AS num, count(*) AS den \
         FROM rm_complaints WHERE response_minutes IS NOT NULL AND resolved_at >= $1 \
         AND resolved_at < $2 AND ($3 = '' OR branch = $3)",
        args(),
    ))
    .one(conn)
    .await?
    .map(|p| p.num.max(0) as u64)
    .unwrap_or(0);
    let mut visit_args = args();
    visit_args.push(now.into());
    ratios.insert(
        KpiName::ReturnVisitTimeliness,
        pair(
            conn,
            "SELECT count(*) FILTER (WHERE v.done_at IS NOT NULL AND v.done_at <= v.due_at) AS num, \
             count(*) AS den FROM rm_visits v WHERE v.due_at >= $1 AND v.due_at < $2 \
             AND ($3 = '' OR v.branch = $3) AND (v.due_at <= $4 OR v.done_at IS NOT NULL) \
             AND NOT EXISTS (SELECT 1 FROM rm_requests r WHERE r.request_no = v.request_no \
               AND r.cancelled_at IS NOT NULL)",
            visit_args,
        )
        .await?,
    );
    Ok(Figures {
        ratios,
        dimensions,
        complaint_avg_minutes: avg,
    })
}

/// First-time fix over `[$1, $2)` and branch `$3`: original (not rework) jobs completed in the
/// period that needed no other job for their request and whose survey did not say unsolved.
/// `extra` narrows the jobs (a technician).
fn first_time_fix_sql(extra: &str) -> String {
    format!(
        "SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM rm_work_orders o \
           WHERE o.request_no = w.request_no AND w.request_no <> '' AND o.work_order_no <> w.work_order_no) \
           AND NOT EXISTS (SELECT 1 FROM rm_surveys s WHERE s.work_order_no = w.work_order_no AND NOT s.resolved)) AS num, \
         count(*) AS den FROM rm_work_orders w WHERE NOT w.rework \
         AND w.completed_at >= $1 AND w.completed_at < $2 AND ($3 = '' OR w.branch = $3){extra}"
    )
}

/// A part of the top list.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct ReturnedPartRow {
    pub part_no: String,
    pub quantity: i64,
    pub requests: i64,
}

/// The parts returned most in `[from, to)`, and the units of every part together.
pub async fn top_parts<C: ConnectionTrait>(
    conn: &C,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    branch: &str,
    limit: u64,
) -> Result<(Vec<ReturnedPartRow>, i64), DbErr> {
    let rows = ReturnedPartRow::find_by_statement(stmt(
        "SELECT part_no, sum(quantity)::bigint AS quantity, count(DISTINCT request_no) AS requests \
         FROM rm_returned_parts WHERE at >= $1 AND at < $2 AND ($3 = '' OR branch = $3) \
         GROUP BY part_no ORDER BY quantity DESC, part_no LIMIT $4",
        [from.into(), to.into(), branch.into(), (limit as i64).into()],
    ))
    .all(conn)
    .await?;
    let total = Pair::find_by_statement(stmt(
        "SELECT COALESCE(sum(quantity), 0)::bigint AS num, count(*) AS den FROM rm_returned_parts \
         WHERE at >= $1 AND at < $2 AND ($3 = '' OR branch = $3)",
        [from.into(), to.into(), branch.into()],
    ))
    .one(conn)
    .await?
    .map(|p| p.num)
    .unwrap_or(0);
    Ok((rows, total))
}

/// A request's first reservation, with the lines its claim approved.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct FillRow {
    pub first_at: DateTime<Utc>,
    pub first_confirmed: bool,
    pub lines: i32,
    pub lifecycle: i32,
    pub discontinued_on: Option<NaiveDate>,
    pub approved_lines: Option<i32>,
}

impl FillRow {
    /// Lines asked for and lines served from stock at the first reservation: a confirmation
    /// served every line; a shortage lists the lines short, and the claim says how many there
    /// were in all.
    pub fn lines(&self) -> (u64, u64) {
        let listed = self.lines.max(0) as u64;
        if self.first_confirmed {
            return (listed, listed);
        }
        let requested = (self.approved_lines.unwrap_or(0).max(0) as u64).max(listed);
        (requested, requested - listed)
    }
}

pub async fn fill_rows<C: ConnectionTrait>(
    conn: &C,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    branch: &str,
) -> Result<Vec<FillRow>, DbErr> {
    FillRow::find_by_statement(stmt(
        "SELECT f.first_at, f.first_confirmed, f.lines, f.lifecycle, f.discontinued_on, r.approved_lines \
         FROM rm_fill f LEFT JOIN rm_requests r ON r.request_no = f.request_no \
         WHERE f.first_at >= $1 AND f.first_at < $2 AND ($3 = '' OR f.branch = $3)",
        [from.into(), to.into(), branch.into()],
    ))
    .all(conn)
    .await
}

/// One technician's month, from the jobs, surveys and complaints naming them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TechnicianRow {
    pub technician_id: String,
    pub branch: String,
    pub jobs: u64,
    pub arrival: Ratio,
    pub rework: u64,
    pub first_time_fix: Ratio,
    pub satisfaction: Ratio,
    /// Attitude, technical skill, arrival time, promise-keeping.
    pub dimensions: [Ratio; 4],
    pub complaints: u64,
    pub unresolved: u64,
}

#[derive(Debug, FromQueryResult)]
struct JobRow {
    technician_id: String,
    branch: String,
    jobs: i64,
    on_time: i64,
    rework: i64,
}

#[derive(Debug, FromQueryResult)]
struct SurveyRow {
    technician_id: String,
    branch: String,
    surveys: i64,
    satisfied: i64,
    unresolved: i64,
    a_num: i64,
    a_den: i64,
    t_num: i64,
    t_den: i64,
    r_num: i64,
    r_den: i64,
    p_num: i64,
    p_den: i64,
}

#[derive(Debug, FromQueryResult)]
struct CountRow {
    technician_id: String,
    branch: String,
    n: i64,
}

fn n(v: i64) -> u64 {
    v.max(0) as u64
}

pub async fn technicians<C: ConnectionTrait>(
    conn: &C,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    branch: &str,
    technician: &str,
) -> Result<Vec<TechnicianRow>, DbErr> {
    let args = || -> Vec<Value> { vec![from.into(), to.into(), branch.into(), technician.into()] };
    let mut out: BTreeMap<(String, String), TechnicianRow> = BTreeMap::new();
    fn row<'a>(
        out: &'a mut BTreeMap<(String, String), TechnicianRow>,
        t: &str,
        b: &str,
    ) -> &'a mut TechnicianRow {
        out.entry((t.to_owned(), b.to_owned()))
            .or_insert_with(|| TechnicianRow {
                technician_id: t.to_owned(),
                branch: b.to_owned(),
                ..Default::default()
            })
    }
    let jobs = JobRow::find_by_statement(stmt(
        "SELECT technician_id, branch, count(*) AS jobs, \
         count(*) FILTER (WHERE arrival_on_time AND NOT sla_breached) AS on_time, \
         count(*) FILTER (WHERE rework) AS rework FROM rm_work_orders \
         WHERE completed_at >= $1 AND completed_at < $2 AND ($3 = '' OR branch = $3) \
         AND technician_id <> '' AND ($4 = '' OR technician_id = $4) GROUP BY technician_id, branch",
        args(),
    ))
    .all(conn)
    .await?;
    for j in jobs {
        let r = row(&mut out, &j.technician_id, &j.branch);
        r.jobs = n(j.jobs);
        r.arrival = Ratio::new(n(j.on_time), n(j.jobs));
        r.rework = n(j.rework);
    }
    let keys: Vec<(String, String)> = out.keys().cloned().collect();
    for (t, b) in keys {
        let ftf = pair(
            conn,
            &first_time_fix_sql(" AND w.technician_id = $4"),
            vec![from.into(), to.into(), b.as_str().into(), t.as_str().into()],
        )
        .await?;
        row(&mut out, &t, &b).first_time_fix = ftf;
    }
    let surveys = SurveyRow::find_by_statement(stmt(
        "SELECT technician_id, branch, count(*) AS surveys, count(*) FILTER (WHERE satisfied) AS satisfied, \
         count(*) FILTER (WHERE NOT resolved) AS unresolved, \
         count(*) FILTER (WHERE attitude IN (1, 2)) AS a_num, count(*) FILTER (WHERE attitude <> 0) AS a_den, \
         count(*) FILTER (WHERE technical_skill IN (1, 2)) AS t_num, count(*) FILTER (WHERE technical_skill <> 0) AS t_den, \
         count(*) FILTER (WHERE arrival_time IN (1, 2)) AS r_num, count(*) FILTER (WHERE arrival_time <> 0) AS r_den, \
         count(*) FILTER (WHERE promise_keeping IN (1, 2)) AS p_num, count(*) FILTER (WHERE promise_keeping <> 0) AS p_den \
         FROM rm_surveys WHERE recorded_at >= $1 AND recorded_at < $2 AND ($3 = '' OR branch = $3) \
         AND technician_id <> '' AND ($4 = '' OR technician_id = $4) GROUP BY technician_id, branch",
        args(),
    ))
    .all(conn)
    .await?;
    for s in surveys {
        let r = row(&mut out, &s.technician_id, &s.branch);
        r.satisfaction = Ratio::new(n(s.satisfied), n(s.surveys));
        r.unresolved = n(s.unresolved);
        r.dimensions = [
            Ratio::new(n(s.a_num), n(s.a_den)),
            Ratio::new(n(s.t_num), n(s.t_den)),
            Ratio::new(n(s.r_num), n(s.r_den)),
            Ratio::new(n(s.p_num), n(s.p_den)),
        ];
    }
    let complaints = CountRow::find_by_statement(stmt(
        "SELECT technician_id, branch, count(*) AS n FROM rm_complaints \
         WHERE opened_at >= $1 AND opened_at < $2 AND ($3 = '' OR branch = $3) \
         AND technician_id <> '' AND ($4 = '' OR technician_id = $4) GROUP BY technician_id, branch",
        args(),
    ))
    .all(conn)
    .await?;
    for c in complaints {
        row(&mut out, &c.technician_id, &c.branch).complaints = n(c.n);
    }
    Ok(out.into_values().collect())
}

/// One entry of the quality archive.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityRow {
    pub reference: String,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub request_no: String,
    pub branch: String,
    pub serial: String,
    pub product_model: String,
    pub summary: String,
    pub part_nos: Vec<String>,
}

#[derive(Debug, FromQueryResult)]
struct QualityDbRow {
    reference: String,
    at: DateTime<Utc>,
    kind: String,
    request_no: String,
    branch: String,
    serial: String,
    product_model: String,
    summary: String,
    part_nos: serde_json::Value,
}

/// What the archive is asked for: at least one of serial, model and part.
#[derive(Debug, Clone, Default)]
pub struct QualityFilter {
    pub serial: Option<String>,
    pub product_model: Option<String>,
    pub part_no: Option<String>,
    pub branch: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub before: Option<(DateTime<Utc>, String)>,
    pub limit: u64,
}

/// Newest first. A record without the product's model or serial (an old part, say) takes them
/// from the request's intake and claim events, whenever those arrived.
pub async fn quality<C: ConnectionTrait>(
    conn: &C,
    f: &QualityFilter,
) -> Result<Vec<QualityRow>, DbErr> {
    let mut wheres = vec!["true".to_owned()];
    let mut values: Vec<Value> = Vec::new();
    let arg = |v: Value, values: &mut Vec<Value>| {
        values.push(v);
        format!("${}", values.len())
    };
    if let Some(s) = &f.serial {
        let p = arg(s.as_str().into(), &mut values);
        wheres.push(format!("serial = {p}"));
    }
    if let Some(m) = &f.product_model {
        let p = arg(m.as_str().into(), &mut values);
        wheres.push(format!("upper(product_model) = upper({p})"));
    }
    if let Some(pn) = &f.part_no {
        let p = arg(pn.as_str().into(), &mut values);
        wheres.push(format!("part_nos ? {p}"));
    }
    if let Some(b) = &f.branch {
        let p = arg(b.as_str().into(), &mut values);
        wheres.push(format!("branch = {p}"));
    }
    if let Some(t) = f.from {
        let p = arg(t.into(), &mut values);
        wheres.push(format!("at >= {p}"));
    }
    if let Some(t) = f.to {
        let p = arg(t.into(), &mut values);
        wheres.push(format!("at < {p}"));
    }
    if let Some((at, r)) = &f.before {
        let a = arg((*at).into(), &mut values);
        let b = arg(r.as_str().into(), &mut values);
        wheres.push(format!("(at, reference) < ({a}, {b})"));
    }
    let l = arg((f.limit as i64).into(), &mut values);
    let sql = format!(
        "SELECT * FROM (SELECT q.ref AS reference, q.at, q.type AS kind, q.request_no, q.branch, \
         COALESCE(NULLIF(q.serial, ''), r.serial, '') AS serial, \
         COALESCE(NULLIF(q.product_model, ''), r.product_model, '') AS product_model, \
         q.summary, q.part_nos FROM rm_quality q LEFT JOIN rm_requests r ON r.request_no = q.request_no \
         AND q.request_no <> '') x WHERE {} ORDER BY at DESC, reference DESC LIMIT {l}",
        wheres.join(" AND ")
    );
    Ok(QualityDbRow::find_by_statement(stmt(sql, values))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| QualityRow {
            reference: r.reference,
            at: r.at,
            kind: r.kind,
            request_no: r.request_no,
            branch: r.branch,
            serial: r.serial,
            product_model: r.product_model,
            summary: r.summary,
            part_nos: list_of(&r.part_nos),
        })
        .collect())
}
