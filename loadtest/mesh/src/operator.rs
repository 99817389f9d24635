//! The demo operator: the department's people, played through the gateway with their own tokens,
//! exactly as a person would act (DESIGN §6): the reviewer decides the claims the policy left
//! for a person, the warehouse clerk issues pick lists, receives and inspects purchased goods and
//! returned units, the dispatcher books technicians, each technician works their own work
//! orders, and the branch agents call the customers back and record the surveys. In the demo a
//! dealer of SH01 has its day too: it claims a batch of repairs, sends its old parts back (one
//! short, one that works), and asks for an advance exchange from turnover stock.
//!
//! Every pass looks at what is waiting and acts once on each item; every write carries an
//! idempotency key derived from the item, so a pass repeated after a crash, a timeout or a
//! restart of the gateway has each effect once. `make up` runs it with short human pauses
//! (`operator` binary); the end-to-end tests, `make chaos` and `make bench` run it without.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aftersales_platform::auth::{Role, mint_hs256};
use serde_json::{Value, json};

use crate::http::{Answer, Client};

/// Whether the customer says the problem is solved, by request number.
pub type SurveyAnswer = Arc<dyn Fn(&str) -> bool + Send + Sync>;

#[derive(Clone)]
pub struct OperatorConfig {
    /// The gateway's base URL.
    pub gateway: String,
    /// The HS256 secret the people's tokens are signed with (development and tests).
    pub secret: String,
    /// The branches whose agents call customers back.
    pub branches: Vec<String>,
    /// How long a person waits after an item appears before acting on it (a demo's pace).
    pub pause: Duration,
    /// Between passes.
    pub poll: Duration,
    /// Every how many visits one is left open for a person to record (0: none).
    pub leave_visit_open_every: usize,
    /// The customers' answer to "is the problem solved?".
    pub solved: SurveyAnswer,
    /// Print each action (the demo) or stay quiet (tests).
    pub verbose: bool,
    /// Requests nobody touches (a test that cancels one before a person acts on it).
    pub hands_off: Arc<Mutex<HashSet<String>>>,
    /// Play the demo dealer's day ([`DEMO_DEALER`]): the demo does, the tests do not.
    pub dealers: bool,
}

impl OperatorConfig {
    /// For tests and benchmarks: no pauses, every customer satisfied, nothing left open.
    pub fn fast(gateway: &str, secret: &str) -> Self {
        Self {
            gateway: gateway.to_owned(),
            secret: secret.to_owned(),
            branches: vec!["SH01".into(), "BJ02".into(), "GZ03".into()],
            pause: Duration::ZERO,
            poll: Duration::from_millis(300),
            leave_visit_open_every: 0,
            solved: Arc::new(|_| true),
            verbose: false,
            hands_off: Arc::new(Mutex::new(HashSet::new())),
            dealers: false,
        }
    }

    /// For `make up`: a person's pace, one visit in three left for a person to record, every
    /// tenth customer not satisfied.
    pub fn demo(gateway: &str, secret: &str) -> Self {
        let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        Self {
            pause: Duration::from_secs(2),
            poll: Duration::from_secs(2),
            leave_visit_open_every: 3,
            solved: Arc::new(move |_| {
                n.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 10 != 9
            }),
            verbose: true,
            dealers: true,
            ..Self::fast(gateway, secret)
        }
    }
}

/// What the operator did, by kind of action (for tests and the chaos report).
#[derive(Debug, Default, Clone)]
pub struct Actions {
    pub done: BTreeMap<&'static str, u64>,
    /// Calls that failed (retried on the next pass).
    pub failed: u64,
    pub last_error: String,
}

pub struct Operator {
    cfg: OperatorConfig,
    reviewer: Client,
    clerk: Client,
    dispatcher: Client,
    head_office: Client,
    /// When each item was first seen (for the pause).
    seen: Mutex<BTreeMap<String, std::time::Instant>>,
    /// Items acted on for good.
    finished: Mutex<HashSet<String>>,
    actions: Mutex<Actions>,
    /// Refusals (4xx) per step key of the dealer's day: the next try goes under a fresh key.
    refused: Mutex<BTreeMap<String, u32>>,
    /// Visits taken up so far (every `leave_visit_open_every`-th is left for a person, counted
    /// across passes: visits mostly fall due one at a time).
    visits_taken: std::sync::atomic::AtomicUsize,
}

/// The demo's dealer (SH01's), whose day the demo operator plays.
pub const DEMO_DEALER: &str = "D-SH01-0001";

/// What the demo's customers paid for their product, as their receipt shows it (minor units
/// of CNY): the gross amount of a return's refund.
pub const DEMO_PRICE_MINOR: i64 = 399_900;

fn id(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_owned()
}

fn items(a: &Answer) -> Vec<Value> {
    a.json["items"].as_array().cloned().unwrap_or_default()
}

impl Operator {
    pub fn new(cfg: OperatorConfig) -> anyhow::Result<Self> {
        let mint = |sub: &str, branch: &str, roles: &[Role]| {
            mint_hs256(
                &cfg.secret,
                sub,
                branch,
                roles,
                Duration::from_secs(7 * 24 * 3600),
            )
        };
        let client = |t: String| Client::new(&cfg.gateway, &t);
        Ok(Self {
            reviewer: client(mint("demo-reviewer", "*", &[Role::Reviewer])?),
            clerk: client(mint("demo-clerk", "*", &[Role::Warehouse])?),
            dispatcher: client(mint("demo-dispatcher", "*", &[Role::Dispatcher])?),
            head_office: client(mint("demo-procurement", "*", &[Role::Procurement])?),
            seen: Mutex::new(BTreeMap::new()),
            finished: Mutex::new(HashSet::new()),
            actions: Mutex::new(Actions::default()),
            refused: Mutex::new(BTreeMap::new()),
            visits_taken: std::sync::atomic::AtomicUsize::new(0),
            cfg,
        })
    }

    pub fn actions(&self) -> Actions {
        self.actions.lock().map(|a| a.clone()).unwrap_or_default()
    }

    fn token(&self, sub: &str, branch: &str, roles: &[Role]) -> anyhow::Result<Client> {
        let t = mint_hs256(
            &self.cfg.secret,
            sub,
            branch,
            roles,
            Duration::from_secs(24 * 3600),
        )?;
        Ok(Client::new(&self.cfg.gateway, &t))
    }

    /// Whether a person would act on `key` now: it was first seen at least `pause` ago and was
    /// not finished.
    fn due(&self, key: &str) -> bool {
        if self.finished.lock().is_ok_and(|f| f.contains(key)) {
            return false;
        }
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let first = *seen
            .entry(key.to_owned())
            .or_insert_with(std::time::Instant::now);
        first.elapsed() >= self.cfg.pause
    }

    /// Whether a person leaves the request alone.
    fn hands_off(&self, request_no: &str) -> bool {
        self.cfg
            .hands_off
            .lock()
            .is_ok_and(|h| h.contains(request_no))
    }

    fn finish(&self, key: &str) {
        if let Ok(mut f) = self.finished.lock() {
            f.insert(key.to_owned());
        }
    }

    fn did(&self, what: &'static str, line: String) {
        if let Ok(mut a) = self.actions.lock() {
            *a.done.entry(what).or_default() += 1;
        }
        if self.cfg.verbose {
            println!("operator: {line}");
        }
    }

    /// POSTs one step of a keyed flow. A refusal (4xx) wrote nothing, and the gateway keeps it
    /// under its key for a day: the next pass asks again under a fresh key (`<key>#<n>`), so a
    /// step refused for a state that has changed since (the warehouse not yet told of the
    /// dealer's decided batch, stock not yet received) is not refused for the rest of the day. An
    /// answer lost in transit is asked again under the same key.
    async fn post_step(
        &self,
        client: &Client,
        path: &str,
        body: &Value,
        key: &str,
    ) -> anyhow::Result<Answer> {
        let n = self
            .refused
            .lock()
            .map(|r| r.get(key).copied().unwrap_or(0))
            .unwrap_or(0);
        let asked = if n == 0 {
            key.to_owned()
        } else {
            format!("{key}#{n}")
        };
        let a = client.post_with_key(path, body, &asked).await;
        if let Ok(answer) = &a
            && (400..500).contains(&answer.status)
            && let Ok(mut r) = self.refused.lock()
        {
            *r.entry(key.to_owned()).or_default() += 1;
        }
        a
    }

    fn failed(&self, what: &str, e: impl std::fmt::Display) {
        let line = format!("{what}: {e}");
        if self.cfg.verbose {
            eprintln!("operator: (will retry) {line}");
        }
        if let Ok(mut a) = self.actions.lock() {
            a.failed += 1;
            a.last_error = line;
        }
    }

    /// Checks an answer: 2xx, or a 409 saying it was already done (someone else, or an earlier
    /// pass whose answer was lost), is done.
    fn settled(&self, what: &str, a: anyhow::Result<Answer>) -> Option<Answer> {
        match a {
            Ok(a) if a.ok() => Some(a),
            Ok(a) => {
                self.failed(what, format!("{}: {}", a.status, a.text));
                None
            }
            Err(e) => {
                self.failed(what, format!("{e:#}"));
                None
            }
        }
    }

    /// Settles a person's step on the item `key`: once its answer is 2xx (see
    /// [`Self::settled`]) the item is finished and the action counted (`line` printed in the
    /// demo).
    fn settle(
        &self,
        key: &str,
        what: &str,
        a: anyhow::Result<Answer>,
        kind: &'static str,
        line: impl FnOnce() -> String,
    ) {
        if self.settled(what, a).is_some() {
            self.finish(key);
            self.did(kind, line());
        }
    }

    /// One look at everything waiting; acts once on each item that is due.
    pub async fn pass(&self) {
        self.review_claims().await;
        self.answer_reviewers().await;
        self.inspect_returns().await;
        self.issue_pick_lists().await;
        self.receive_purchases().await;
        self.book_technicians().await;
        self.work_orders().await;
        self.call_customers().await;
        if self.cfg.dealers {
            self.dealer_day().await;
        }
    }

    /// Passes until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            self.pass().await;
            tokio::select! {
                _ = tokio::time::sleep(self.cfg.poll) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return;
            }
        }
    }

    /// The reviewer: claims the policy left pending are approved after a look (the demo policy
    /// auto-approves complete in-warranty requests; the rest wait for a person).
    async fn review_claims(&self) {
        let Some(list) = self.settled(
            "list pending claims",
            self.reviewer
                .get("/v1/claims?status=pending&page_size=100")
                .await,
        ) else {
            return;
        };
        for c in items(&list) {
            let no = id(&c, "request_no");
            let key = format!("claim:{no}:{}", c["version"]);
            if self.hands_off(&no) || !self.due(&key) {
                continue;
            }
            // The reviewer follows the policy's recommendation: approve what it would approve
            // with a person's look (documents checked), reject what it recommends rejecting. A
            // return's refund goes back to the original payment: without it on record the
            // branch is asked for it first.
            let body = if c["recommendation"] != "reject"
                && c["kind"] == "return"
                && c["payment"].is_null()
            {
                json!({
                    "decision": "request_info",
                    "missing": ["payment"],
                    "note": "the refund goes back to the original payment: how did the customer pay?",
                    "expected_version": c["version"],
                })
            } else if c["recommendation"] == "reject" {
                let reason = c["reject_reason"]
                    .as_str()
                    .filter(|r| !r.is_empty())
                    .unwrap_or("paid_service_declined");
                let why = c["explanation"]
                    .as_array()
                    .and_then(|e| e.last())
                    .and_then(Value::as_str)
                    .unwrap_or("as the warranty policy says");
                json!({
                    "decision": "reject",
                    "reason_code": reason,
                    "note": why,
                    "expected_version": c["version"],
                })
            } else {
                json!({
                    "decision": "approve",
                    "note": "documents checked by the reviewer",
                    "expected_version": c["version"],
                })
            };
            let a = self
                .reviewer
                .post_with_key(&format!("/v1/claims/{no}/decision"), &body, &key)
                .await;
            self.settle(
                &key,
                &format!("decide claim {no}"),
                a,
                "claim_decided",
                || format!("reviewer decided the claim of {no}: {}", body["decision"]),
            );
        }
    }

    /// The branch agents: a claim waiting for the original payment gets it, as the customer's
    /// receipt shows it (what else a reviewer asks for is a person's to find).
    async fn answer_reviewers(&self) {
        for branch in &self.cfg.branches {
            let Ok(agent) = self.token(
                &format!("demo-agent-{}", branch.to_lowercase()),
                branch,
                &[Role::BranchAgent],
            ) else {
                continue;
            };
            let Some(list) = self.settled(
                "list claims waiting for information",
                agent
                    .get("/v1/claims?status=info_requested&page_size=100")
                    .await,
            ) else {
                continue;
            };
            for c in items(&list) {
                let no = id(&c, "request_no");
                let key = format!("info:{no}:{}", c["version"]);
                let asked = c["missing_info"]
                    .as_array()
                    .is_some_and(|m| m.iter().any(|m| m == "payment"));
                if !asked || self.hands_off(&no) || !self.due(&key) {
                    continue;
                }
                let body = json!({
                    "payment": { "method": "card", "reference": format!("POS-{no}"),
                                 "amount": { "currency": "CNY", "amount_minor": DEMO_PRICE_MINOR } },
                    "note": "paid by card at the branch; the receipt is on file",
                });
                let a = agent
                    .post_with_key(&format!("/v1/claims/{no}/info"), &body, &key)
                    .await;
                self.settle(
                    &key,
                    &format!("payment for {no}"),
                    a,
                    "info_provided",
                    || format!("agent of {branch} gave the original payment of {no}"),
                );
            }
        }
    }

    /// The clerk at the returns intake: each unit picked up from a customer is unpacked and
    /// inspected; the demo's customers send everything back, resaleable.
    async fn inspect_returns(&self) {
        let Some(list) = self.settled(
            "list returned units",
            self.clerk
                .get("/v1/returns?status=received&page_size=100")
                .await,
        ) else {
            return;
        };
        for u in items(&list) {
            let return_id = id(&u, "return_id");
            let no = id(&u, "request_no");
            let key = format!("return:{return_id}");
            if self.hands_off(&no) || !self.due(&key) {
                continue;
            }
            let body = json!({
                "accessories": [
                    { "part_no": "RMT-01", "name": "remote control", "expected": 1, "present": 1 }
                ],
                "resaleable": true,
                "inspection_note": "complete and undamaged",
            });
            let a = self
                .clerk
                .post_with_key(&format!("/v1/returns/{return_id}/inspection"), &body, &key)
                .await;
            self.settle(
                &key,
                &format!("inspect the return of {no}"),
                a,
                "return_inspected",
                || format!("clerk inspected the unit {no} sent back: complete, resaleable"),
            );
        }
    }

    /// The warehouse clerk: each planned shipment's pick list is picked and issued.
    async fn issue_pick_lists(&self) {
        let Some(list) = self.settled(
            "list planned shipments",
            self.clerk
                .get("/v1/shipments?status=planned&page_size=100")
                .await,
        ) else {
            return;
        };
        for s in items(&list) {
            let pick_list = id(&s, "pick_list_id");
            let shipment = id(&s, "shipment_no");
            if pick_list.is_empty() {
                continue;
            }
            let key = format!("issue:{pick_list}:{shipment}");
            if self.hands_off(&id(&s, "request_no")) || !self.due(&key) {
                continue;
            }
            let Some(pl) = self.settled(
                "get pick list",
                self.clerk.get(&format!("/v1/pick-lists/{pick_list}")).await,
            ) else {
                continue;
            };
            if pl.json["status"] != "open" {
                // Issued already (an earlier pass) or released (cancelled).
                self.finish(&key);
                continue;
            }
            let lines: Vec<Value> = pl.json["lines"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|l| json!({ "part_no": l["part_no"], "quantity": l["quantity"] }))
                .collect();
            let body = json!({ "lines": lines, "shipment_no": shipment });
            let a = self
                .clerk
                .post_with_key(&format!("/v1/pick-lists/{pick_list}/issue"), &body, &key)
                .await;
            self.settle(
                &key,
                &format!("issue {pick_list}"),
                a,
                "pick_list_issued",
                || format!("warehouse clerk issued {pick_list} for shipment {shipment}"),
            );
        }
    }

    /// The warehouse clerk at goods-in: what each open purchase order still owes arrives with
    /// the supplier's delivery note, is counted and passes inspection.
    async fn receive_purchases(&self) {
        let Some(list) = self.settled(
            "list open purchase orders",
            self.head_office
                .get("/v1/purchase-orders?status=issued,partially_received&page_size=100")
                .await,
        ) else {
            return;
        };
        for po in items(&list) {
            let po_number = id(&po, "po_number");
            let key = format!("receive:{po_number}:{}", po["revision"]);
            let serves_held = po["request_nos"].as_array().is_some_and(|r| {
                r.iter()
                    .any(|n| self.hands_off(n.as_str().unwrap_or_default()))
            });
            if serves_held || !self.due(&key) {
                continue;
            }
            let lines: Vec<Value> = po["lines"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|l| l["outstanding"].as_u64().unwrap_or(0) > 0)
                .map(|l| {
                    json!({
                        "part_no": l["part_no"],
                        "quantity": l["outstanding"],
                        "po_line_no": l["line_no"],
                    })
                })
                .collect();
            if lines.is_empty() {
                self.finish(&key);
                continue;
            }
            let body = json!({
                "po_number": po_number,
                "supplier_id": po["supplier_id"],
                "delivery_note": format!("DN-{po_number}"),
                "lines": lines,
            });
            let Some(receipt) = self.settled(
                &format!("receive {po_number}"),
                self.clerk
                    .post_with_key("/v1/receipts", &body, &format!("{key}:receipt"))
                    .await,
            ) else {
                continue;
            };
            let receipt_id = id(&receipt.json, "receipt_id");
            let inspected: Vec<Value> = receipt.json["lines"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|l| json!({ "part_no": l["part_no"], "passed": l["quantity"], "failed": 0 }))
                .collect();
            let a = self
                .clerk
                .post_with_key(
                    &format!("/v1/receipts/{receipt_id}/inspection"),
                    &json!({ "lines": inspected }),
                    &format!("{key}:inspection"),
                )
                .await;
            self.settle(
                &key,
                &format!("inspect {receipt_id}"),
                a,
                "goods_received",
                || format!("warehouse clerk received and inspected {po_number} ({receipt_id})"),
            );
        }
    }

    /// The dispatcher: every new work order gets the best suggested slot, held and booked.
    async fn book_technicians(&self) {
        let Some(list) = self.settled(
            "list new work orders",
            self.dispatcher
                .get("/v1/work-orders?status=new&page_size=100")
                .await,
        ) else {
            return;
        };
        for wo in items(&list) {
            let no = id(&wo, "work_order_no");
            let key = format!("book:{no}");
            if self.hands_off(&id(&wo, "request_no")) || !self.due(&key) {
                continue;
            }
            let Some(slots) = self.settled(
                &format!("slots of {no}"),
                self.dispatcher
                    .get(&format!("/v1/work-orders/{no}/slots?limit=1"))
                    .await,
            ) else {
                continue;
            };
            let Some(best) = slots.json["suggestions"].get(0).cloned() else {
                self.failed(&format!("book {no}"), "no free slot suggested");
                continue;
            };
            let Some(hold) = self.settled(
                &format!("hold a slot for {no}"),
                self.dispatcher
                    .post_with_key(
                        &format!("/v1/work-orders/{no}/slots/hold"),
                        &json!({
                            "technician_id": best["technician_id"],
                            "window_from": best["window"]["from"],
                        }),
                        &format!("{key}:hold"),
                    )
                    .await,
            ) else {
                continue;
            };
            let a = self
                .dispatcher
                .post_with_key(
                    &format!("/v1/work-orders/{no}/appointment"),
                    &json!({
                        "window_from": best["window"]["from"],
                        "technician_id": best["technician_id"],
                        "hold_id": hold.json["hold_id"],
                    }),
                    &key,
                )
                .await;
            self.settle(&key, &format!("book {no}"), a, "technician_booked", || {
                format!(
                    "dispatcher booked {} for {no} at {}",
                    id(&best, "technician_id"),
                    best["window"]["from"].as_str().unwrap_or_default()
                )
            });
        }
    }

    /// Each technician works their own scheduled work orders: on the way, on site, repair (a
    /// paid job's quotation first, accepted by the customer), exit inspection, completion with
    /// the parts fitted and the old parts to send back.
    async fn work_orders(&self) {
        let mut scheduled = Vec::new();
        for status in ["scheduled", "en_route", "on_site", "in_repair"] {
            if let Some(list) = self.settled(
                "list work orders",
                self.dispatcher
                    .get(&format!("/v1/work-orders?status={status}&page_size=100"))
                    .await,
            ) {
                scheduled.extend(items(&list));
            }
        }
        for wo in scheduled {
            let no = id(&wo, "work_order_no");
            let tech = id(&wo, "technician_id");
            if tech.is_empty() {
                continue;
            }
            let key = format!("work:{no}:{}", wo["version"]);
            if self.hands_off(&id(&wo, "request_no")) || !self.due(&key) {
                continue;
            }
            let Ok(me) = self.token(&tech, &id(&wo, "branch"), &[Role::Technician]) else {
                continue;
            };
            if let Some(next) = self.step(&me, &wo).await {
                self.finish(&key);
                self.did("work_order_step", format!("technician {tech}: {no} {next}"));
            }
        }
    }

    /// One step of a work order by its technician; what was done.
    async fn step(&self, me: &Client, wo: &Value) -> Option<String> {
        let no = id(wo, "work_order_no");
        let version = wo["version"].clone();
        let key = format!("work:{no}:{version}");
        let post = |path: String, body: Value| {
            let me = me.clone();
            let key = key.clone();
            async move { me.post_with_key(&path, &body, &key).await }
        };
        let moved = |to: &str| json!({ "status": to, "note": "", "expected_version": version });
        let (what, a) = match id(wo, "status").as_str() {
            "scheduled" => (
                "set off".to_owned(),
                post(format!("/v1/work-orders/{no}/dispatch"), json!({})).await,
            ),
            "en_route" => (
                "on site".to_owned(),
                post(format!("/v1/work-orders/{no}/status"), moved("on_site")).await,
            ),
            "on_site" => {
                let paid = wo["service_category"] == "paid";
                let quoted = wo["quotation"]["status"].as_str().unwrap_or_default();
                if paid && quoted.is_empty() {
                    (
                        "quoted".to_owned(),
                        post(
                            format!("/v1/work-orders/{no}/quotation"),
                            json!({ "items": [ { "code": "LABOUR-STD", "quantity": 1 } ],
                                    "note": "standard repair", "expected_version": version }),
                        )
                        .await,
                    )
                } else if paid && quoted == "proposed" {
                    (
                        "quotation accepted".to_owned(),
                        post(
                            format!("/v1/work-orders/{no}/quotation/approve"),
                            json!({ "approved": true, "customer_name": wo["customer"]["name"],
                                    "note": "", "expected_version": version }),
                        )
                        .await,
                    )
                } else {
                    (
                        "in repair".to_owned(),
                        post(format!("/v1/work-orders/{no}/status"), moved("in_repair")).await,
                    )
                }
            }
            "in_repair" => {
                if wo["final_inspection"]["passed"] != true {
                    (
                        "exit inspection passed".to_owned(),
                        post(
                            format!("/v1/work-orders/{no}/inspection"),
                            json!({ "passed": true, "checklist": ["powers on", "picture ok"],
                                    "note": "", "customer_signed": true }),
                        )
                        .await,
                    )
                } else {
                    let planned = wo["planned_parts"].as_array().cloned().unwrap_or_default();
                    let used: Vec<Value> = planned
                        .iter()
                        .map(|p| json!({ "part_no": p["part_no"], "quantity": p["quantity"] }))
                        .collect();
                    let old: Vec<Value> = planned
                        .iter()
                        .map(|p| {
                            json!({ "part_no": p["part_no"], "quantity": p["quantity"],
                                    "must_return": p["coverage"] == "free" })
                        })
                        .collect();
                    (
                        "completed".to_owned(),
                        post(
                            format!("/v1/work-orders/{no}/complete"),
                            json!({
                                "expected_version": version,
                                "parts_used": used,
                                "labour_minutes": 45,
                                "old_parts": old,
                                "serial": wo["product"]["serial"],
                                "resolution": "replaced the faulty part; tested",
                            }),
                        )
                        .await,
                    )
                }
            }
            _ => return None,
        };
        self.settled(&format!("{no}: {what}"), a).map(|_| what)
    }

    /// The demo dealer's day, once per day the demo runs: head office registers the dealer (once),
    /// the dealer claims three repairs, the warehouse clerk receives its box of old parts (the
    /// third is missing: charged back at the contract's deadline) and inspects it (the second
    /// board works: charged back), sets a board aside in turnover stock, and the dealer asks for
    /// it ahead of a defective one. Every step carries a key of the day, so a pass that fails
    /// half-way repeats the done steps without effect (the warehouse learns the dealer only from
    /// its decided batch: the box may wait for a pass or two).
    async fn dealer_day(&self) {
        let today = chrono::Utc::now().date_naive();
        let day = today.format("%Y%m%d").to_string();
        let key = format!("dealer-day:{day}");
        if !self.due(&key) {
            return;
        }
        let (Ok(admin), Ok(dealer)) = (
            self.token("demo-admin", "*", &[Role::Admin]),
            aftersales_platform::auth::mint_hs256_dealer(
                &self.cfg.secret,
                "demo-dealer",
                "SH01",
                DEMO_DEALER,
                Duration::from_secs(24 * 3600),
            )
            .map(|t| Client::new(&self.cfg.gateway, &t)),
        ) else {
            return;
        };
        let register = json!({
            "code": DEMO_DEALER, "name": "Pudong Home Appliance Service", "kind": "dealer",
            "branch": "SH01",
            "terms": { "labour_rate_per_hour_minor": 6000, "standard_labour_minutes": {"television": 60},
                       "default_labour_minutes": 45, "parts_margin_bp": 1000,
                       "old_part_return_days": 20, "payment_days": 30,
                       "advance_exchange_return_days": 15 }
        });
        match admin
            .post_with_key("/v1/dealers", &register, "demo-dealer-register")
            .await
        {
            // Registered now, or by an earlier day's pass.
            Ok(a) if a.ok() || a.status == 409 => {}
            other => {
                self.settled("register the demo dealer", other);
                return;
            }
        }
        let bought = (today - chrono::Duration::days(60)).to_string();
        let repairs: Vec<Value> = (1..=3)
            .map(|i| {
                json!({
                    "product": { "category": "television", "model": "X55",
                                 "serial": format!("SN-DEMO-{day}-{i}"), "purchase_date": bought,
                                 "invoice_no": format!("INV-DEMO-{i}"), "invoice_date": bought },
                    "fault_description": "no picture",
                    "parts": [{ "part_no": "PWR-55-01", "quantity": 1,
                                "faulty_serial": format!("OLD-DEMO-{day}-{i}") }],
                    "labour_minutes": 40 + 10 * i,
                    "repaired_on": today.to_string(),
                })
            })
            .collect();
        let Some(batch) = self.settled(
            "the demo dealer's batch claim",
            self.post_step(
                &dealer,
                "/v1/dealer-claims",
                &json!({ "lines": repairs }),
                &format!("{key}:batch"),
            )
            .await,
        ) else {
            return;
        };
        let parts: Vec<Value> = (1..=2)
            .map(|i| json!({ "part_no": "PWR-55-01", "quantity": 1, "faulty_serial": format!("OLD-DEMO-{day}-{i}") }))
            .collect();
        let Some(boxed) = self.settled(
            "receive the demo dealer's old parts",
            self.post_step(
                &self.clerk,
                "/v1/old-part-batches",
                &json!({ "dealer_code": DEMO_DEALER, "parts": parts, "note": "two of three" }),
                &format!("{key}:box"),
            )
            .await,
        ) else {
            return;
        };
        let box_id = id(&boxed.json, "batch_id");
        let verdicts = json!({ "verdicts": [
            { "position": 0, "verdict": "confirmed_fault", "note": "burnt capacitor" },
            { "position": 1, "verdict": "no_fault_found", "note": "works on the bench" },
        ]});
        match self
            .post_step(
                &self.clerk,
                &format!("/v1/old-part-batches/{box_id}/inspection"),
                &verdicts,
                &format!("{key}:inspection"),
            )
            .await
        {
            // Inspected now, or by an earlier pass whose answer was lost.
            Ok(a) if a.ok() || a.status == 409 => {}
            other => {
                self.settled("inspect the demo dealer's old parts", other);
                return;
            }
        }
        let turnover = json!({ "part_no": "PWR-55-01", "quantity": 1, "reason": "advance exchange for the demo dealer" });
        if self
            .settled(
                "set a board aside in turnover stock",
                self.post_step(
                    &self.clerk,
                    "/v1/turnover-transfers",
                    &turnover,
                    &format!("{key}:turnover"),
                )
                .await,
            )
            .is_none()
        {
            return;
        }
        let exchange = json!({
            "part_no": "PWR-55-01", "quantity": 1, "defective_serial": format!("PB55-DEMO-{day}"),
            "ship_to": { "recipient": "Pudong Home Appliance Service", "phone": "+86 21 5050 1234",
                         "address": "88 Zhangyang Road, Pudong, Shanghai", "region": "urban" }
        });
        let a = self
            .post_step(
                &dealer,
                "/v1/advance-exchanges",
                &exchange,
                &format!("{key}:exchange"),
            )
            .await;
        if self
            .settled("the demo dealer's advance exchange", a)
            .is_none()
        {
            return;
        }
        // The dealer orders a spare board for its workshop; logistics ships it, the statement
        // bills it with the dealer's parts margin.
        let order = json!({
            "lines": [{ "part_no": "PWR-55-01", "quantity": 1 }],
            "ship_to": { "recipient": "Pudong Home Appliance Service", "phone": "+86 21 5050 1234",
                         "address": "88 Zhangyang Road, Pudong, Shanghai", "region": "urban" },
            "dealer_reference": format!("PD-{day}")
        });
        let o = self
            .post_step(
                &dealer,
                "/v1/dealer-orders",
                &order,
                &format!("{key}:order"),
            )
            .await;
        let approved = batch.json["approved_total"]["amount_minor"]
            .as_i64()
            .unwrap_or(0);
        self.settle(&key, "the demo dealer's parts order", o, "dealer_day", || {
            format!(
                "dealer {DEMO_DEALER} claimed 3 repairs ({}.{:02} CNY approved), sent 2 old parts back \
                 (1 works: charged back; 1 missing: charged at the deadline), box {box_id}; got a \
                 board ahead of its defective one and ordered a spare (both shipped by logistics)",
                approved / 100,
                approved % 100
            )
        });
    }

    /// The branch agents: each due return visit is called; a reached customer answers the
    /// survey (solved or not, as `solved` says); some visits are left for a person.
    async fn call_customers(&self) {
        let by = (chrono::Utc::now() + chrono::Duration::days(30))
            .date_naive()
            .to_string();
        for branch in &self.cfg.branches {
            let Ok(agent) = self.token(
                &format!("demo-agent-{}", branch.to_lowercase()),
                branch,
                &[Role::BranchAgent],
            ) else {
                continue;
            };
            let Some(list) = self.settled(
                "list due visits",
                agent
                    .get(&format!(
                        "/v1/visits?due_by_date={by}&status=due,attempted&page_size=100"
                    ))
                    .await,
            ) else {
                continue;
            };
            for v in items(&list) {
                let visit = id(&v, "visit_id");
                let no = id(&v, "request_no");
                let key = format!("visit:{visit}");
                if self.hands_off(&no) || !self.due(&key) {
                    continue;
                }
                let every = self.cfg.leave_visit_open_every;
                let i = self
                    .visits_taken
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if every > 0 && i % every == every - 1 {
                    // Left for a person to record.
                    self.finish(&key);
                    continue;
                }
                let reached = agent
                    .post_with_key(
                        &format!("/v1/visits/{visit}"),
                        &json!({ "outcome": "reached", "note": "customer reached by phone" }),
                        &format!("{key}:call"),
                    )
                    .await;
                if self
                    .settled(&format!("call for {visit}"), reached)
                    .is_none()
                {
                    continue;
                }
                let solved = (self.cfg.solved)(&no);
                let technician = !id(&v, "technician_id").is_empty();
                let rating = if solved {
                    "very_satisfied"
                } else {
                    "dissatisfied"
                };
                let mut survey = json!({
                    "visit_id": visit,
                    "attitude": rating,
                    "promise_keeping": rating,
                    "comment": if solved { "works well again" } else { "the fault came back" },
                    "resolved": solved,
                });
                if technician {
                    survey["technical_skill"] = json!(rating);
                    survey["arrival_time"] = json!(rating);
                }
                let a = agent
                    .post_with_key("/v1/surveys", &survey, &format!("{key}:survey"))
                    .await;
                self.settle(
                    &key,
                    &format!("survey for {visit}"),
                    a,
                    "survey_recorded",
                    || {
                        format!(
                            "agent of {branch} recorded the survey of {no} ({})",
                            if solved { "solved" } else { "NOT solved" }
                        )
                    },
                );
            }
        }
    }
}
