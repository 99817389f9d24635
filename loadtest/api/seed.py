"""Seeds the running mesh for the API fuzzer through the gateway, and writes what it made
(loadtest/api-test.sh): requests of two branches, cancellable ones, claims pending a person's
decision, receipts awaiting inspection, issuable pick lists and open stocktakes. The demo parts
and their stock are booked before by `warehouse seed`.

Usage: seed.py <gateway url> <tokens.json> <fixtures.json>
"""

import datetime
import json
import sys
import time
import urllib.error
import urllib.request
import uuid

BASE, TOKENS, OUT = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3]


def call(method, path, role, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {TOKENS[role]}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
        req.add_header("Idempotency-Key", str(uuid.uuid4()))
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def request(branch, misuse=False, part="PWR-55-01"):
    bought = (datetime.date.today() - datetime.timedelta(days=10)).isoformat()
    body = {
        "branch": branch, "channel": "hotline", "kind": "replacement", "urgency": "normal",
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
for _ in range(6):
    status, r = call("POST", "/v1/stocktakes", "warehouse",
                     {"zones": ["qualified"], "part_nos": ["PWR-55-01"], "note": "fuzz"})
    assert status == 201, (status, r)
    stocktakes.append(r["stocktake_id"])
fixtures["stocktakes"] = stocktakes
json.dump(fixtures, open(OUT, "w"), indent=1)
print("seed: " + ", ".join(f"{len(v)} {k}" for k, v in fixtures.items()))
