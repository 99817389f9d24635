//! The cross-branch and cross-role matrix over every operation of the published document
//! (`/openapi.json`, read at test time, so a new path cannot be left out): each role that is
//! not among an operation's security scopes gets 403; a branch asking for another branch's
//! resource gets 404; a list a branch reads never holds another branch's rows; head-office
//! operations refuse branch tokens; global resources answer every branch alike; and a role in
//! scope is let through. It runs against every service, with fixtures of both branches for every
//! path parameter.

use std::collections::HashMap;
use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::testing;
use serde_json::{Value, json};

use crate::helpers::{TestApp, agent, clerk, request_body, spawn_full_mesh_with, spawn_mesh};
use crate::logistics::{a_return, approve_return, pickup_of};

const WAIT: Duration = Duration::from_secs(60);

/// The resources the matrix addresses: ours (SH01's) and theirs (BJ02's), by path parameter.
struct Fixtures {
    ours: HashMap<&'static str, String>,
    theirs: HashMap<&'static str, String>,
}

/// A token of `role`; a dealer's carries its branch's fixture dealer (head office's: SH01's).
fn token(sub: &str, branch: &str, role: Role) -> String {
    if role == Role::Dealer {
        let of = if branch == "*" { "SH01" } else { branch };
        return testing::dealer_token(sub, branch, &dealer_of(of));
    }
    testing::token(sub, branch, &[role])
}

/// The fixture dealer of `branch` (the documents' examples name SH01's).
fn dealer_of(branch: &str) -> String {
    format!("D-{branch}-0001")
}

async fn post_ok(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    let r = app
        .post(
            path,
            token,
            &body,
            &[("idempotency-key", &uuid::Uuid::new_v4().to_string())],
        )
        .await;
    assert!(
        r.status == 200 || r.status == 201,
        "{path}: {} {}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
    r.json()
}

/// An in-warranty request of `branch` for `part_no`; returns its number.
async fn submit(app: &TestApp, branch: &str, part_no: &str) -> String {
    submit_as(app, branch, part_no, false).await
}

/// As [`submit`]; with `misuse`, its claim waits in the review queue for a person.
async fn submit_as(app: &TestApp, branch: &str, part_no: &str, misuse: bool) -> String {
    let bought = (chrono::Utc::now() - chrono::Duration::days(10))
        .date_naive()
        .to_string();
    let mut body = request_body(branch);
    body["product"]["purchase_date"] = json!(bought);
    body["product"]["invoice_date"] = json!(bought);
    body["parts"] = json!([{ "part_no": part_no, "quantity": 1 }]);
    body["misuse_suspected"] = json!(misuse);
    let r = post_ok(app, "/v1/requests", &agent(branch), body).await;
    r["request_no"].as_str().unwrap().to_owned()
}

async fn fixtures(app: &TestApp) -> Fixtures {
    // Stock for PWR-55-01 (not for PNL-55-01: a request for it waits as a back-order).
    let receipt = post_ok(
        app,
        "/v1/receipts",
        &clerk(),
        json!({"supplier_id": "SUP-1", "lines": [{"part_no": "PWR-55-01", "quantity": 20}]}),
    )
    .await;
    let receipt_id = receipt["receipt_id"].as_str().unwrap().to_owned();
    post_ok(
        app,
        &format!("/v1/receipts/{receipt_id}/inspection"),
        &clerk(),
        json!({"lines": [{"part_no": "PWR-55-01", "passed": 20, "failed": 0}]}),
    )
    .await;
    let ours = submit(app, "SH01", "PWR-55-01").await;
    let theirs = submit(app, "BJ02", "PWR-55-01").await;
    let theirs_waiting = submit(app, "BJ02", "PNL-55-01").await;
    // A claim of each branch in the review queue.
    for branch in ["SH01", "BJ02"] {
        let no = submit_as(app, branch, "PWR-55-01", true).await;
        testing::eventually(WAIT, || async {
            let r = app
                .get(&format!("/v1/claims/{no}"), &crate::helpers::reviewer())
                .await;
            (r.status == 200 && r.json()["status"] == "pending").then_some(())
        })
        .await
        .unwrap_or_else(|| panic!("the claim of {no} is pending"));
    }
    // Approved and reserved: each has its pick list; BJ02's panel waits as a back-order.
    for no in [&ours, &theirs] {
        testing::eventually(WAIT, || async {
            (app.get(&format!("/v1/pick-lists/PL-{no}"), &clerk())
                .await
                .status
                == 200)
                .then_some(())
        })
        .await
        .unwrap_or_else(|| panic!("the pick list of {no}"));
    }
    testing::eventually(WAIT, || async {
        let r = app.get("/v1/backorders", &clerk()).await.json();
        r["items"]
            .as_array()?
            .iter()
            .any(|b| b["request_no"] == theirs_waiting.as_str())
            .then_some(())
    })
    .await
    .expect("BJ02's panel is back-ordered");
    let stocktake = post_ok(
        app,
        "/v1/stocktakes",
        &clerk(),
        json!({"zones": ["qualified"], "part_nos": ["PWR-55-01"]}),
    )
    .await;
    let stocktake_id = stocktake["stocktake_id"].as_str().unwrap().to_owned();

    // Procurement: BJ02's back-ordered panel is ordered by procurement itself; SH01's order is
    // placed by hand for its request.
    let buyer = token("matrix-buyer", "*", Role::Procurement);
    let theirs_po = testing::eventually(WAIT, || async {
        let r = app
            .get(
                &format!("/v1/purchase-orders?request_no={theirs_waiting}"),
                &buyer,
            )
            .await;
        r.json()["items"].as_array()?.first()?["po_number"]
            .as_str()
            .map(str::to_owned)
    })
    .await
    .expect("BJ02's shortage is ordered");
    let ours_po = post_ok(
        app,
        "/v1/purchase-orders",
        &buyer,
        json!({"supplier_id": "SUP-HUAXIN",
               "lines": [{"part_no": "PWR-55-01", "quantity": 5, "request_nos": [ours]}]}),
    )
    .await["po_number"]
        .as_str()
        .unwrap()
        .to_owned();

    // Logistics: both shipments issued, dispatched, delayed once, then delivered by the
    // carrier, which makes feedback's return visits due.
    let log_clerk = token("matrix-log", "*", Role::Logistics);
    let mut shipments = Vec::new();
    let mut exceptions = Vec::new();
    let mut visits = Vec::new();
    for (no, branch) in [(&ours, "SH01"), (&theirs, "BJ02")] {
        app.issue(no).await;
        let s = app.shipment_of(no, true).await;
        let shipment_no = s["shipment_no"].as_str().unwrap().to_owned();
        let e = post_ok(
            app,
            &format!("/v1/shipments/{shipment_no}/exceptions"),
            &log_clerk,
            json!({"kind": "delay", "detail": "road closed"}),
        )
        .await;
        exceptions.push(e["exception"]["exception_id"].as_str().unwrap().to_owned());
        let now = chrono::Utc::now().to_rfc3339();
        let r = app
            .carrier_event(
                &json!({"event_id": format!("matrix-{shipment_no}"), "sent_at": now,
                "waybill_no": s["waybill_no"], "status": "delivered", "occurred_at": now}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        shipments.push(shipment_no);
        let visit = testing::eventually(WAIT, || async {
            let r = app
                .get(&format!("/v1/visits?request_no={no}"), &agent(branch))
                .await;
            r.json()["items"].as_array()?.first()?["visit_id"]
                .as_str()
                .map(str::to_owned)
        })
        .await
        .unwrap_or_else(|| panic!("a visit for {no}"));
        visits.push(visit);
    }

    // Returns: a door pick-up for each branch; SH01's unit booked at the returns intake.
    let ours_return = submit_body(app, "SH01", a_return("SH01")).await;
    let theirs_return = submit_body(app, "BJ02", a_return("BJ02")).await;
    approve_return(app, &ours_return, "SH01", false).await;
    approve_return(app, &theirs_return, "BJ02", false).await;
    let ours_pickup = pickup_of(app, &ours_return, "SH01").await;
    let theirs_pickup = pickup_of(app, &theirs_return, "BJ02").await;
    let return_id = post_ok(
        app,
        "/v1/returns",
        &clerk(),
        json!({"request_no": ours_return, "part_no": "PWR-55-01", "serial": "SN12345678"}),
    )
    .await["return_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Field service and feedback: a work order, a tool loan and a complaint of each branch.
    let mut work_orders = Vec::new();
    let mut loans = Vec::new();
    let mut complaints = Vec::new();
    for (no, branch) in [(&ours, "SH01"), (&theirs, "BJ02")] {
        let dispatcher = token(&format!("matrix-disp-{branch}"), branch, Role::Dispatcher);
        let wo = post_ok(
            app,
            "/v1/work-orders",
            &dispatcher,
            json!({"request_no": no, "branch": branch, "service_category": "free",
                   "customer": {"name": "Li Wei", "phone": "+86 138 0013 8000", "region": "urban"},
                   "product": {"category": "television", "model": "X55"}}),
        )
        .await;
        work_orders.push(wo["work_order_no"].as_str().unwrap().to_owned());
        let loan = post_ok(
            app,
            "/v1/tool-loans",
            &dispatcher,
            json!({"tool_id": format!("TOOL-{branch}"), "tool_name": "panel lifter",
                   "technician_id": format!("T-{branch}-001"), "due_back_date": "2030-01-31"}),
        )
        .await;
        loans.push(loan["loan_id"].as_str().unwrap().to_owned());
        let complaint = post_ok(
            app,
            "/v1/complaints",
            &agent(branch),
            json!({"request_no": no, "category": "product_quality", "severity": "minor",
                   "description": "noise", "source": "hotline", "product_model": "X55"}),
        )
        .await;
        complaints.push(complaint["complaint_id"].as_str().unwrap().to_owned());
    }
    // Dealers: one of each branch, a decided batch claim each, its old part back in a box, an
    // advance exchange each from turnover stock and a parts order each, shipped by logistics.
    let admin = token("matrix-admin", "*", Role::Admin);
    let today = chrono::Utc::now().date_naive();
    let bought = (today - chrono::Duration::days(30)).to_string();
    let mut dealer_batches = Vec::new();
    let mut old_part_batches = Vec::new();
    let mut exchanges = Vec::new();
    let mut orders = Vec::new();
    post_ok(
        app,
        "/v1/turnover-transfers",
        &clerk(),
        json!({"part_no": "PWR-55-01", "quantity": 2, "reason": "matrix turnover stock"}),
    )
    .await;
    for branch in ["SH01", "BJ02"] {
        let code = dealer_of(branch);
        post_ok(
            app,
            "/v1/dealers",
            &admin,
            json!({"code": code, "name": format!("Dealer of {branch}"), "kind": "dealer",
                   "branch": branch,
                   "terms": {"labour_rate_per_hour_minor": 6000, "default_labour_minutes": 45,
                             "parts_margin_bp": 1000, "old_part_return_days": 20,
                             "payment_days": 30, "advance_exchange_return_days": 15}}),
        )
        .await;
        let faulty = format!("PB55-MATRIX-{branch}");
        let batch = post_ok(
            app,
            "/v1/dealer-claims",
            &token(&format!("matrix-dealer-{branch}"), branch, Role::Dealer),
            json!({"lines": [{
                "product": {"category": "television", "model": "X55",
                            "serial": format!("SN-MATRIX-{branch}"), "purchase_date": bought,
                            "invoice_no": "INV-M", "invoice_date": bought},
                "fault_description": "no picture",
                "parts": [{"part_no": "PWR-55-01", "quantity": 1, "faulty_serial": faulty}],
                "labour_minutes": 45, "repaired_on": today.to_string()}]}),
        )
        .await;
        assert_eq!(batch["approved_lines"], 1, "{batch}");
        dealer_batches.push(batch["batch_id"].as_str().unwrap().to_owned());
        // The warehouse knows the dealer once the decided batch reached it.
        let received = testing::eventually(WAIT, || async {
            let r = app
                .post(
                    "/v1/old-part-batches",
                    &clerk(),
                    &json!({"dealer_code": code,
                            "parts": [{"part_no": "PWR-55-01", "quantity": 1, "faulty_serial": faulty}]}),
                    &[("idempotency-key", &uuid::Uuid::new_v4().to_string())],
                )
                .await;
            (r.status == 201).then(|| r.json())
        })
        .await
        .unwrap_or_else(|| panic!("the old parts of {code} received"));
        old_part_batches.push(received["batch_id"].as_str().unwrap().to_owned());
        let exchange = post_ok(
            app,
            "/v1/advance-exchanges",
            &clerk(),
            json!({"dealer_code": code, "part_no": "PWR-55-01", "quantity": 1,
                   "defective_serial": format!("PB55-AX-{branch}"),
                   "ship_to": {"recipient": format!("Dealer of {branch}"),
                               "phone": "+86 21 5050 1234", "address": "1 Dealer Road"}}),
        )
        .await;
        exchanges.push(exchange["exchange_id"].as_str().unwrap().to_owned());
        let order = post_ok(
            app,
            "/v1/dealer-orders",
            &clerk(),
            json!({"dealer_code": code, "lines": [{"part_no": "PWR-55-01", "quantity": 1}],
                   "ship_to": {"recipient": format!("Dealer of {branch}"),
                               "phone": "+86 21 5050 1234", "address": "1 Dealer Road"}}),
        )
        .await;
        orders.push(order["order_id"].as_str().unwrap().to_owned());
    }
    for order in &orders {
        testing::eventually(WAIT, || async {
            let r = app.get(&format!("/v1/consignments/{order}"), &admin).await;
            (r.status == 200).then_some(())
        })
        .await
        .unwrap_or_else(|| panic!("logistics ships {order}"));
    }
    let year = chrono::Utc::now().format("%Y").to_string();
    let month = chrono::Utc::now().format("%Y-%m").to_string();

    let both = |ours: &str, theirs: &str| (ours.to_owned(), theirs.to_owned());
    let table = [
        ("request_no", both(&ours, &theirs)),
        (
            "pick_list_id",
            both(&format!("PL-{ours}"), &format!("PL-{theirs}")),
        ),
        ("part_no", both("PWR-55-01", "PWR-55-01")),
        ("receipt_id", both(&receipt_id, &receipt_id)),
        ("stocktake_id", both(&stocktake_id, &stocktake_id)),
        ("supplier_id", both("SUP-HUAXIN", "SUP-HUAXIN")),
        ("po_number", both(&ours_po, &theirs_po)),
        ("shipment_no", both(&shipments[0], &shipments[1])),
        ("exception_id", both(&exceptions[0], &exceptions[1])),
        ("pickup_no", both(&ours_pickup, &theirs_pickup)),
        ("return_id", both(&return_id, &return_id)),
        ("work_order_no", both(&work_orders[0], &work_orders[1])),
        ("change_id", both("CHG-1", "CHG-1")),
        ("loan_id", both(&loans[0], &loans[1])),
        ("visit_id", both(&visits[0], &visits[1])),
        ("complaint_id", both(&complaints[0], &complaints[1])),
        ("period", both(&year, &year)),
        ("month", both(&month, &month)),
        ("dealer_code", both(&dealer_of("SH01"), &dealer_of("BJ02"))),
        ("batch_id", both(&dealer_batches[0], &dealer_batches[1])),
        (
            "old_part_batch_id",
            both(&old_part_batches[0], &old_part_batches[1]),
        ),
        ("exchange_id", both(&exchanges[0], &exchanges[1])),
        ("order_id", both(&orders[0], &orders[1])),
        ("consignment_id", both(&orders[0], &orders[1])),
    ];
    Fixtures {
        ours: table.iter().map(|(k, (o, _))| (*k, o.clone())).collect(),
        theirs: table.iter().map(|(k, (_, t))| (*k, t.clone())).collect(),
    }
}

/// Submits `body` as an agent of `branch`; returns the request number.
async fn submit_body(app: &TestApp, branch: &str, body: Value) -> String {
    let r = post_ok(app, "/v1/requests", &agent(branch), body).await;
    r["request_no"].as_str().unwrap().to_owned()
}

/// `template` with its parameters filled from `values`; every path parameter needs a fixture.
fn fill(template: &str, values: &HashMap<&'static str, String>) -> String {
    template
        .split('/')
        .map(
            |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => values
                    .get(name)
                    .unwrap_or_else(|| {
                        panic!(
                            "{template}: add a fixture for the path parameter {name} to the matrix"
                        )
                    })
                    .clone(),
                None => seg.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// The path parameters that name one branch's resource (another branch's answers 404).
const BRANCH_RESOURCES: &[&str] = &[
    "{request_no}",
    "{pick_list_id}",
    "{po_number}",
    "{shipment_no}",
    "{pickup_no}",
    "{work_order_no}",
    "{loan_id}",
    "{visit_id}",
    "{complaint_id}",
    "{dealer_code}",
    "{batch_id}",
    "{old_part_batch_id}",
    "{exchange_id}",
    "{order_id}",
    "{consignment_id}",
];

/// Whether a path addresses one branch's resource.
fn branch_resource(template: &str) -> bool {
    BRANCH_RESOURCES.iter().any(|p| template.contains(p))
}

/// The query a list needs to hold rows at all (the archive wants a product; visits are listed
/// up to a day, by default today, and the fixtures' are due later).
fn list_query(template: &str) -> &'static str {
    match template {
        "/v1/quality-archive" => "?product_model=X55",
        "/v1/visits" => "?due_by_date=2099-12-31",
        _ => "",
    }
}

struct Op {
    method: String,
    template: String,
    roles: Vec<Role>,
    scope: String,
    example: Option<Value>,
    /// The body is `multipart/form-data` (a photo upload).
    multipart: bool,
    stream: bool,
    /// A page of rows (`items`): a list whose rows belong to branches.
    list: bool,
}

/// Whether a response schema is a page of rows (`items`).
fn list_schema(doc: &Value, schema: &Value) -> bool {
    let resolved = match schema["$ref"].as_str() {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .cloned()
            .unwrap_or_default(),
        None => schema.clone(),
    };
    resolved["properties"].get("items").is_some()
}

fn operations(doc: &Value) -> Vec<Op> {
    let mut ops = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let scope = op["x-branch-scope"].as_str().unwrap().to_owned();
            if scope == "public" {
                continue;
            }
            let roles = op["security"][0]["bearer"]
                .as_array()
                .unwrap_or_else(|| panic!("{method} {template}: bearer scopes"))
                .iter()
                .map(|r| Role::parse(r.as_str().unwrap()).unwrap())
                .collect();
            let has_body = op.get("requestBody").is_some();
            // A multipart upload (a photo) is sent a small real JPEG instead of an example.
            let multipart = op["requestBody"]["content"]
                .get("multipart/form-data")
                .is_some();
            let mut example = op["requestBody"]["content"]["application/json"]["example"].clone();
            ahead(&mut example, chrono::Utc::now());
            assert!(
                !has_body || multipart || !example.is_null(),
                "{method} {template}: a request body needs an example (the demo data)"
            );
            ops.push(Op {
                method: method.to_uppercase(),
                template: template.clone(),
                roles,
                scope,
                example: (has_body && !multipart).then_some(example),
                multipart,
                stream: op["responses"]["200"]["content"]
                    .get("text/event-stream")
                    .is_some(),
                list: list_schema(
                    doc,
                    &op["responses"]["200"]["content"]["application/json"]["schema"],
                ),
            });
        }
    }
    // Reads first: the writes' examples change the fixtures (a cancel, an issue).
    ops.sort_by_key(|o| o.method != "GET");
    ops
}

/// The status of `op` on `path` for `token` (a stream is only opened).
async fn status(app: &TestApp, op: &Op, path: &str, token: &str) -> (u16, Option<Value>) {
    if op.stream {
        let s = app.stream(token, "", None).await;
        return (s.status, None);
    }
    let r = match &op.example {
        None if op.multipart => {
            app.upload_photo(
                path.trim_start_matches("/v1/requests/")
                    .trim_end_matches("/photos"),
                token,
                "matrix.jpg",
                &crate::photos::jpeg(32, 24),
            )
            .await
        }
        Some(body) => {
            app.post(
                path,
                token,
                body,
                &[("idempotency-key", &uuid::Uuid::new_v4().to_string())],
            )
            .await
        }
        None => app.send(&op.method, path, Some(token), &[], None).await,
    };
    if r.status >= 400 {
        assert_eq!(
            r.header("content-type"),
            "application/problem+json",
            "{} {path}",
            op.method
        );
    }
    let body = serde_json::from_slice(&r.body).ok();
    (r.status, body)
}

/// Moves the date-times of an example body forward by whole weeks (same weekday, same local
/// time: still inside working hours), all by the same amount, until the earliest is at least a day
/// ahead of `now`. The published examples carry fixed dates (an appointment window, a call-back
/// time); once those pass, a service refuses the body for being in the past before it looks at
/// the resource, and the matrix would test the calendar instead of the branch scope.
fn ahead(v: &mut Value, now: chrono::DateTime<chrono::Utc>) {
    fn walk(v: &mut Value, f: &mut dyn FnMut(&mut String)) {
        match v {
            Value::String(s) => f(s),
            Value::Array(a) => a.iter_mut().for_each(|v| walk(v, f)),
            Value::Object(o) => o.values_mut().for_each(|v| walk(v, f)),
            _ => {}
        }
    }
    let parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
    let mut earliest = None;
    walk(v, &mut |s| {
        if let Some(t) = parse(s) {
            earliest = Some(earliest.map_or(t, |e: chrono::DateTime<_>| e.min(t)));
        }
    });
    let Some(earliest) = earliest else { return };
    let mut weeks = 0;
    while earliest + chrono::Duration::weeks(weeks) < now + chrono::Duration::days(1) {
        weeks += 1;
    }
    walk(v, &mut |s| {
        if let Some(t) = parse(s) {
            *s = (t + chrono::Duration::weeks(weeks)).to_rfc3339();
        }
    });
}

/// The branch of a row of a list: its `branch`, or the one in its request number (or the first
/// of its requests: a purchase order), or in its technician's id (`T-SH01-001`: a tool loan).
fn row_branch(row: &Value) -> String {
    if let Some(b) = row["branch"].as_str().filter(|b| !b.is_empty()) {
        return b.to_owned();
    }
    let request = row["request_no"]
        .as_str()
        .filter(|n| !n.is_empty())
        .or_else(|| row["request_nos"][0].as_str());
    if let Some(n) = request {
        return n.split('-').nth(2).unwrap_or("").to_owned();
    }
    row["technician_id"]
        .as_str()
        .and_then(|t| t.split('-').nth(1))
        .unwrap_or("")
        .to_owned()
}

#[tokio::test]
async fn every_operation_answers_each_role_and_branch_as_its_security_scopes_and_branch_scope_say()
{
    // Hundreds of calls from a few tokens: the rate limits (tests/api/ratelimit.rs) are lifted.
    let app = spawn_full_mesh_with(|_, g| {
        g.gateway.rate_limit_burst = 1_000_000;
        g.gateway.rate_limit_per_second = 1_000_000;
        g.gateway.rate_limit_caller_burst = 1_000_000;
        g.gateway.rate_limit_caller_per_second = 1_000_000;
    })
    .await;
    let fx = fixtures(&app).await;
    let doc = app
        .send("GET", "/openapi.json", None, &[], None)
        .await
        .json();
    let ops = operations(&doc);
    assert!(ops.len() >= 15, "{} operations", ops.len());
    let mut checked = HashMap::<&str, usize>::new();

    for op in &ops {
        let label = format!("{} {}", op.method, op.template);
        let ours = fill(&op.template, &fx.ours);
        // A role without the scope gets 403, whatever its branch (head office here).
        for role in Role::ALL.into_iter().filter(|r| *r != Role::Admin) {
            if op.roles.contains(&role) {
                continue;
            }
            let (s, _) = status(&app, op, &ours, &token("matrix", "*", role)).await;
            assert_eq!(s, 403, "{label} as {role}");
            *checked.entry("role refused").or_default() += 1;
        }
        let role = *op
            .roles
            .iter()
            .find(|r| **r != Role::Admin)
            .unwrap_or(&Role::Admin);
        let branch_token = token("matrix-sh01", "SH01", role);
        let head_office = token("matrix-hq", "*", role);
        match op.scope.as_str() {
            "head_office" => {
                let (s, _) = status(&app, op, &ours, &branch_token).await;
                assert_eq!(s, 403, "{label}: a branch's {role}");
                *checked.entry("head office only").or_default() += 1;
            }
            "branch" if branch_resource(&op.template) => {
                let theirs = fill(&op.template, &fx.theirs);
                let (s, _) = status(&app, op, &theirs, &branch_token).await;
                assert_eq!(s, 404, "{label}: SH01's {role} on BJ02's {theirs}");
                *checked.entry("another branch's resource").or_default() += 1;
            }
            "branch" if op.method == "GET" && !op.stream && op.list => {
                // A list: ours holds only SH01's rows, whatever we ask; head office's holds
                // BJ02's too (so the check is not vacuous).
                let base = list_query(&op.template);
                let other = if base.is_empty() { "?" } else { "&" };
                for query in [base.to_owned(), format!("{base}{other}branch=BJ02")] {
                    let (s, body) =
                        status(&app, op, &format!("{ours}{query}"), &branch_token).await;
                    if s != 200 {
                        assert!(s == 403 || s == 404, "{label}{query}: {s}");
                        continue;
                    }
                    let rows = body.unwrap()["items"].as_array().cloned().unwrap();
                    for row in &rows {
                        assert_eq!(row_branch(row), "SH01", "{label}{query}: {row}");
                    }
                }
                let (s, all) = status(&app, op, &format!("{ours}{base}"), &head_office).await;
                assert_eq!(s, 200, "{label}{base} as head office: {all:?}");
                let all = all.unwrap()["items"].as_array().cloned().unwrap();
                assert!(
                    all.iter().any(|r| row_branch(r) == "BJ02"),
                    "{label}: head office sees BJ02's rows: {all:?}"
                );
                *checked.entry("list of one branch").or_default() += 1;
            }
            "global" => {
                let (s, a) = status(&app, op, &ours, &branch_token).await;
                let (t, b) = status(&app, op, &ours, &head_office).await;
                assert_eq!((s, a), (t, b), "{label}: every branch sees the same");
                assert_eq!(s, 200, "{label}");
                *checked.entry("global").or_default() += 1;
            }
            _ => {}
        }
        // A role in scope, of the right branch, is let through (the example may still be
        // refused on its merits: a decided claim, an issued pick list).
        let right = if op.scope == "head_office" {
            &head_office
        } else {
            &branch_token
        };
        let (s, _) = status(&app, op, &ours, right).await;
        assert!(s != 401 && s != 403, "{label} as SH01's {role}: {s}");
        *checked.entry("role admitted").or_default() += 1;
    }
    println!("matrix: {checked:?}");
    for kind in [
        "role refused",
        "head office only",
        "another branch's resource",
        "list of one branch",
        "global",
        "role admitted",
    ] {
        assert!(
            checked.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} case"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_branch_agent_gets_403_on_the_ledger_and_follows_its_request_through_the_timeline() {
    let app = spawn_mesh().await;
    let r = app.get("/v1/ledger", &agent("SH01")).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.header("content-type"), "application/problem+json");
    // Even a branch's warehouse clerk: the central books are head office's.
    let branch_clerk = token("clerk-sh01", "SH01", Role::Warehouse);
    assert_eq!(app.get("/v1/ledger", &branch_clerk).await.status, 403);
    let r = app
        .post(
            "/v1/receipts",
            &branch_clerk,
            &json!({"lines": [{"part_no": "PWR-55-01", "quantity": 1}]}),
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(app.get("/v1/ledger", &clerk()).await.status, 200);

    // The agent sees its request's movements on its timeline.
    app.stock_up("PWR-55-01", 2).await;
    let no = &submit(&app, "SH01", "PWR-55-01").await;
    let seen = testing::eventually(WAIT, || async {
        let t = app
            .get(&format!("/v1/requests/{no}/timeline"), &agent("SH01"))
            .await
            .json();
        t["events"]
            .as_array()?
            .iter()
            .any(|e| e["type"] == "warehouse.reservation.confirmed")
            .then_some(())
    })
    .await;
    assert!(seen.is_some(), "the reservation is on the agent's timeline");
    app.stop().await;
}
