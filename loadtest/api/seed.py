"""Seeds the running mesh for the API fuzzer through the gateway, and writes what it made
(loadtest/api-test.sh): requests of two branches, cancellable ones, claims pending a person's
decision, receipts awaiting inspection, issuable pick lists, open stocktakes; suppliers whose
status may change, purchase orders; shipments planned, dispatched and delivered (by a signed
carrier webhook, as a carrier would), their exceptions; return pick-ups and returned units; work
orders in every state the paths act on; tool loans; return visits and complaints; dealers, their
batch claims, boxes of old parts, advance exchanges and parts orders (with their shipments). The demo
parts and stock, suppliers and quotes, and technicians are booked before by the services' own
`seed` subcommands.

Usage: seed.py <gateway url> <tokens.json> <fixtures.json>  (API_TEST_CARRIER_SECRET: sf's key)
"""

import datetime
import hashlib
import hmac
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
import uuid

BASE, TOKENS, OUT = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3]
CARRIER_SECRET = os.environ["API_TEST_CARRIER_SECRET"].encode()


def call(method, path, role, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {TOKENS[role]}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
        req.add_header("Idempotency-Key", str(uuid.uuid4()))
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def ok(what, status, body, expected=(200, 201)):
    assert status in expected, (what, status, body)
    return body


def request(branch, misuse=False, part="PWR-55-01", kind="replacement", days=10):
    bought = (datetime.date.today() - datetime.timedelta(days=days)).isoformat()
    body = {
        "branch": branch, "channel": "hotline", "kind": kind, "urgency": "normal",
        "customer": {"name": "Li Wei", "phone": "+86 138 0013 8000",
                     "address": "88 Century Avenue, Pudong, Shanghai", "region": "urban"},
        "product": {"category": "television", "model": "X55", "serial": "SN12345678",
                    "purchase_date": bought, "invoice_no": "INV-9", "invoice_date": bought,
                    "factory_date": "2026-08-15"},
        "fault_description": "no picture", "misuse_suspected": misuse,
        "parts": [{"part_no": part, "quantity": 1}],
    }
    status, r = call("POST", "/v1/requests", "dispatcher", body)
    assert status == 201, (status, r)
    return r["request_no"]


def wait(what, check, seconds=90):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise SystemExit(f"seed: {what} did not happen within {seconds} s")


fixtures = {"parts": ["PWR-55-01", "PNL-55-01"]}
fixtures["cancellable"] = [request(b) for b in ["SH01", "BJ02"] * 6]
pending = [request(b, misuse=True) for b in ["SH01", "BJ02"] * 6]
issuable = [request(b) for b in ["SH01", "BJ02"] * 6]
fixtures["requests"] = fixtures["cancellable"] + pending + issuable
for no in pending:
    wait(f"the claim of {no} pending",
         lambda no=no: call("GET", f"/v1/claims/{no}", "reviewer")[1].get("status") == "pending")
fixtures["pending_claims"] = pending
for no in issuable:
    wait(f"the pick list of {no}", lambda no=no: call("GET", f"/v1/pick-lists/PL-{no}", "warehouse")[0] == 200)
fixtures["pick_lists"] = [f"PL-{no}" for no in issuable]
receipts = []
for _ in range(10):
    status, r = call("POST", "/v1/receipts", "warehouse",
                     {"supplier_id": "SUP-1", "delivery_note": "DN-1",
                      "lines": [{"part_no": "PWR-55-01", "quantity": 10}]})
    assert status == 201, (status, r)
    receipts.append(r["receipt_id"])
fixtures["receipts"] = receipts
stocktakes = []
for _ in range(12):
    status, r = call("POST", "/v1/stocktakes", "warehouse",
                     {"zones": ["qualified"], "part_nos": ["PWR-55-01"], "note": "fuzz"})
    assert status == 201, (status, r)
    stocktakes.append(r["stocktake_id"])
# Counts go to stocktakes the fuzzer never closes (a closed one answers every count with 409).
fixtures["stocktakes"], fixtures["closable_stocktakes"] = stocktakes[:6], stocktakes[6:]

# --- procurement: suppliers the fuzzer may warn, suspend or terminate (not the demo ones, which
# the quotes and orders need), and purchase orders to read, re-date and cancel.
fixtures["suppliers"] = ["SUP-HUAXIN", "SUP-MINGDA"]
fixtures["status_suppliers"] = []
for i in range(6):
    r = ok("supplier", *call("POST", "/v1/suppliers", "procurement", {
        "supplier_id": f"SUP-FUZZ-{i}", "name": f"Fuzz Supplier {i}", "part_nos": ["PWR-55-01"],
        "qualification": {"reputation_bp": 9000, "quality_bp": 9000, "capacity_bp": 9000,
                          "price_bp": 9000}}))
    fixtures["status_suppliers"].append(r["supplier_id"])
orders = []
for i in range(12):
    r = ok("purchase order", *call("POST", "/v1/purchase-orders", "procurement", {
        "supplier_id": "SUP-HUAXIN", "lines": [{"part_no": "PWR-55-01", "quantity": 5}],
        "note": "fuzz"}))
    orders.append(r["po_number"])
fixtures["purchase_orders"], fixtures["cancellable_orders"] = orders[:6], orders[6:]


def sign(body):
    return "sha256=" + hmac.new(CARRIER_SECRET, body, hashlib.sha256).hexdigest()


def carrier_event(waybill, status):
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    data = json.dumps({"event_id": str(uuid.uuid4()), "sent_at": now, "waybill_no": waybill,
                       "status": status, "occurred_at": now, "signed_by": "Li Wei"}).encode()
    req = urllib.request.Request(BASE + "/v1/carriers/sf/events", data=data, method="POST")
    req.add_header("Content-Type", "application/json")
    req.add_header("X-Signature", sign(data))
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200, r.status


def shipment_of(no, dispatched):
    found = {}

    def check():
        items = call("GET", f"/v1/shipments?request_no={no}", "logistics")[1].get("items") or []
        if items and (not dispatched or items[0]["waybill_no"]):
            found["s"] = items[0]
            return True
        return False

    wait(f"the shipment of {no}", check)
    return found["s"]


def issue(no):
    pick = call("GET", f"/v1/pick-lists/PL-{no}", "warehouse")[1]
    lines = [{"part_no": l["part_no"], "quantity": l["quantity"]} for l in pick["lines"]]
    ok("issue", *call("POST", f"/v1/pick-lists/PL-{no}/issue", "warehouse", {"lines": lines}))


# --- logistics: planned shipments (the issuable requests'), dispatched ones with exceptions, and
# delivered ones, whose return visits feedback then schedules.
shipped = [request(b) for b in ["SH01", "BJ02"] * 6]
for no in shipped:
    wait(f"the pick list of {no}", lambda no=no: call("GET", f"/v1/pick-lists/PL-{no}", "warehouse")[0] == 200)
    issue(no)
planned = [shipment_of(no, False)["shipment_no"] for no in issuable[:4]]
dispatched = [shipment_of(no, True) for no in shipped]
open_shipments, delivered = dispatched[:6], dispatched[6:]
exceptions = []
for s in open_shipments:
    r = ok("exception", *call("POST", f"/v1/shipments/{s['shipment_no']}/exceptions", "logistics",
                              {"kind": "delay", "detail": "road closed"}))
    exceptions.append({"shipment_no": s["shipment_no"],
                       "exception_id": r["exception"]["exception_id"]})
for s in delivered:
    carrier_event(s["waybill_no"], "delivered")
fixtures["shipments"] = planned + [s["shipment_no"] for s in dispatched]
fixtures["open_shipments"] = [s["shipment_no"] for s in open_shipments]
fixtures["exceptions"] = exceptions
visits = []
for s in delivered:
    found = {}

    def check(no=s["request_no"]):
        items = call("GET", f"/v1/visits?request_no={no}", "admin")[1].get("items") or []
        if items:
            found["v"] = items[0]["visit_id"]
            return True
        return False

    wait(f"the return visit of {s['request_no']}", check)
    visits.append(found["v"])
fixtures["visits"], fixtures["survey_visits"] = visits[:3], visits[3:]

# --- returns: door pick-ups of approved returns, and units booked at the returns intake. A
# return waits for a person until its original payment is on record: the reviewer asks for it,
# the branch gives it, the reviewer approves.
PAYMENT = {"payment": {"method": "card", "reference": "POS-FUZZ",
                       "amount": {"currency": "CNY", "amount_minor": 399900}}}


def claim_when(no, status):
    found = {}

    def check():
        c = call("GET", f"/v1/claims/{no}", "reviewer")[1] or {}
        found["c"] = c
        return c.get("status") == status

    wait(f"the claim of {no} {status}", check)
    return found["c"]


def ask_payment(no):
    c = claim_when(no, "pending")
    return ok(f"ask {no}", *call("POST", f"/v1/claims/{no}/decision", "reviewer", {
        "decision": "request_info", "missing": ["payment"], "expected_version": c["version"]}))


def approve_return(no):
    ask_payment(no)
    c = ok(f"pay {no}", *call("POST", f"/v1/claims/{no}/info", "branch_agent", PAYMENT))
    ok(f"approve {no}", *call("POST", f"/v1/claims/{no}/decision", "reviewer", {
        "decision": "approve", "expected_version": c["version"]}))


# Claims waiting for information (the info path), and refunds.
info_claims = [request(b, kind="return", days=3) for b in ["SH01", "BJ02"] * 3]
for no in info_claims:
    ask_payment(no)
fixtures["info_claims"] = info_claims
returns = [request(b, kind="return", days=3) for b in ["SH01", "BJ02"] * 4]
for no in returns:
    approve_return(no)
pickups = []
for no in returns:
    found = {}

    def check(no=no):
        for e in call("GET", f"/v1/requests/{no}/timeline", "admin")[1].get("events") or []:
            m = re.search(r"PU-\d{4}-\d{6}", e.get("summary", ""))
            if m:
                found["p"] = m.group(0)
                return True
        return False

    wait(f"the pick-up of {no}", check)
    pickups.append(found["p"])
fixtures["pickups"] = pickups
received = [
    ok("return", *call("POST", "/v1/returns", "warehouse", {
        "request_no": no, "part_no": "PWR-55-01", "serial": "SN12345678", "model": "X55"}))["return_id"]
    for no in returns]
# Two inspected now (their refunds to read), the rest left for the fuzzer to inspect.
for rid in received[:2]:
    ok("inspect", *call("POST", f"/v1/returns/{rid}/inspection", "warehouse", {
        "accessories": [{"part_no": "RMT-01", "name": "remote control", "expected": 1, "present": 0}],
        "resaleable": True}))
fixtures["refunded"] = returns[:2]
for no in returns[:2]:
    wait(f"the refund of {no}", lambda no=no: call("GET", f"/v1/claims/{no}/refund", "reviewer")[0] == 200)
fixtures["returns"] = received[2:]

# --- field service: work orders in the states the paths act on.


def work_order(no, category="free"):
    branch = no.split("-")[2]
    return ok("work order", *call("POST", "/v1/work-orders", "dispatcher", {
        "request_no": no, "branch": branch, "service_category": category, "kind": "repair",
        "customer": {"name": "Li Wei", "phone": "+86 138 0013 8000",
                     "address": "88 Century Avenue, Pudong, Shanghai", "region": "urban"},
        "product": {"category": "television", "model": "X55", "serial": "SN12345678"},
        "fault_description": "no picture"}))["work_order_no"]


def version(wo):
    return call("GET", f"/v1/work-orders/{wo}", "dispatcher")[1]["version"]


def act(wo, path, body):
    return ok(f"{wo} {path}", *call("POST", f"/v1/work-orders/{wo}/{path}", "dispatcher", body))


def scheduled(wo):
    slots = call("GET", f"/v1/work-orders/{wo}/slots", "dispatcher")[1]["suggestions"]
    best = slots[0]
    act(wo, "appointment", {"window_from": best["window"]["from"],
                            "technician_id": best["technician_id"]})
    return wo


def moved(wo, status, note="by the seed"):
    act(wo, "status", {"status": status, "note": note, "expected_version": version(wo)})
    return wo


# Requests of their own, their claims left pending: nothing else acts on them meanwhile.
jobs = [request(b, misuse=True) for b in ["SH01", "BJ02"] * 13]
wo_new = [work_order(no) for no in jobs[0:4]]
wo_scheduled = [scheduled(work_order(no)) for no in jobs[4:7]]
wo_en_route = [act(scheduled(work_order(no)), "dispatch", {})["work_order_no"] for no in jobs[7:10]]
wo_repair = []
for no in jobs[10:13]:
    wo = act(scheduled(work_order(no)), "dispatch", {})["work_order_no"]
    moved(moved(wo, "on_site"), "in_repair")
    act(wo, "inspection", {"passed": True, "checklist": ["picture ok"]})
    wo_repair.append(wo)
wo_paid = [work_order(no, "paid") for no in jobs[13:16]]
QUOTE = {"items": [{"code": "visit", "quantity": 1}, {"code": "labour_hour", "quantity": 1}]}
wo_quoted = []
for no in jobs[16:19]:
    wo = work_order(no, "paid")
    act(wo, "quotation", QUOTE)
    wo_quoted.append(wo)
wo_approved, wo_changes = [], []
for i, no in enumerate(jobs[19:25]):
    wo = work_order(no, "paid")
    act(wo, "quotation", QUOTE)
    act(wo, "quotation/approve", {"approved": True, "customer_name": "Li Wei"})
    if i < 3:
        wo_approved.append(wo)
    else:
        r = act(wo, "changes", {"added": [{"code": "labour_hour", "quantity": 1}],
                                "reason": "more work than quoted"})
        wo_changes.append({"work_order_no": wo, "change_id": r["change_id"]})
fixtures.update({
    "work_orders": wo_new + wo_scheduled + wo_en_route + wo_repair + wo_paid + wo_quoted,
    "wo_new": wo_new, "wo_scheduled": wo_scheduled, "wo_en_route": wo_en_route,
    "wo_repair": wo_repair, "wo_paid": wo_paid, "wo_quoted": wo_quoted,
    "wo_approved": wo_approved, "wo_changes": wo_changes,
})
fixtures["loans"] = [
    ok("loan", *call("POST", "/v1/tool-loans", "dispatcher", {
        "tool_id": f"TOOL-FUZZ-{i}", "tool_name": "panel lifter", "technician_id": tech,
        "due_back_date": "2030-01-31"}))["loan_id"]
    for i, tech in enumerate(["T-SH01-001", "T-BJ02-001"] * 3)]

# --- feedback: complaints to read, escalate and resolve.
complaints = [
    ok("complaint", *call("POST", "/v1/complaints", "admin", {
        "branch": b, "category": "product_quality", "severity": "minor",
        "description": "noise from the back", "source": "hotline", "product_model": "X55"}))["complaint_id"]
    for b in ["SH01", "BJ02"] * 6]
fixtures["complaints"] = complaints[:4]
fixtures["escalatable"] = complaints[4:8]
fixtures["resolvable"] = complaints[8:]
# --- dealers (issue 23): the two of the documents' examples, a decided batch claim of each,
# their old parts back in boxes (inspected by the fuzzer), turnover stock, and advance exchanges
# whose defective unit is the one the return example brings back.
TERMS = {"labour_rate_per_hour_minor": 6000, "standard_labour_minutes": {"television": 60},
         "default_labour_minutes": 45, "parts_margin_bp": 1000, "old_part_return_days": 20,
         "payment_days": 30, "advance_exchange_return_days": 15}
dealers = [f"D-{b}-0001" for b in ["SH01", "BJ02"]]
for code, b in zip(dealers, ["SH01", "BJ02"]):
    ok("dealer", *call("POST", "/v1/dealers", "admin", {
        "code": code, "name": f"Dealer of {b}", "kind": "dealer", "branch": b, "terms": TERMS}))
today = datetime.date.today()
bought = (today - datetime.timedelta(days=30)).isoformat()
dealer_batches, boxes = [], []
for i, code in enumerate(dealers * 3):
    faulty = f"PB55-FUZZ-{i}"
    batch = ok("dealer batch", *call("POST", "/v1/dealer-claims", "admin", {
        "dealer_code": code, "lines": [{
            "product": {"category": "television", "model": "X55", "serial": f"SN-FUZZ-D{i}",
                        "purchase_date": bought, "invoice_no": "INV-D", "invoice_date": bought},
            "fault_description": "no picture",
            "parts": [{"part_no": "PWR-55-01", "quantity": 1, "faulty_serial": faulty}],
            "labour_minutes": 45, "repaired_on": today.isoformat()}]}))
    assert batch["approved_lines"] == 1, batch
    dealer_batches.append(batch["batch_id"])
    box = {}

    def received(code=code, faulty=faulty, box=box):
        # The warehouse knows the dealer once the decided batch reached it.
        status, r = call("POST", "/v1/old-part-batches", "warehouse", {
            "dealer_code": code,
            "parts": [{"part_no": "PWR-55-01", "quantity": 1, "faulty_serial": faulty}]})
        if status == 201:
            box.update(r)
        return status == 201
    wait(f"the old parts of {code} received", received)
    boxes.append(box["batch_id"])
ok("turnover", *call("POST", "/v1/turnover-transfers", "warehouse", {
    "part_no": "PWR-55-01", "quantity": 10, "reason": "fuzz turnover stock"}))
exchanges = [
    ok("exchange", *call("POST", "/v1/advance-exchanges", "warehouse", {
        "dealer_code": code, "part_no": "PWR-55-01", "quantity": 1,
        "defective_serial": "PB55-0042",
        "ship_to": {"recipient": "Dealer", "phone": "+86 21 5050 1234",
                    "address": "1 Dealer Road"}}))["exchange_id"]
    for code in dealers * 3]
# Parts orders of each dealer, shipped by logistics (their shipment notices are read).
dealer_orders = [
    ok("dealer order", *call("POST", "/v1/dealer-orders", "warehouse", {
        "dealer_code": code, "lines": [{"part_no": "PWR-55-01", "quantity": 1}],
        "ship_to": {"recipient": "Dealer", "phone": "+86 21 5050 1234",
                    "address": "1 Dealer Road"}}))["order_id"]
    for code in dealers * 2]
for order in dealer_orders:
    wait(f"logistics ships {order}",
         lambda order=order: call("GET", f"/v1/consignments/{order}", "admin")[0] == 200)
fixtures.update({
    "dealers": dealers, "dealer_batches": dealer_batches, "old_part_batches": boxes,
    "exchanges": exchanges, "dealer_orders": dealer_orders, "consignments": dealer_orders + exchanges,
    "statements": [{"dealer_code": c, "month": today.strftime("%Y-%m")} for c in dealers],
})
year = datetime.date.today().year
fixtures["periods"] = [str(year), f"{year}-Q{(datetime.date.today().month - 1) // 3 + 1}",
                       datetime.date.today().strftime("%Y-%m")]
json.dump(fixtures, open(OUT, "w"), indent=1)
print("seed: " + ", ".join(f"{len(v)} {k}" for k, v in fixtures.items()))
