"""Schemathesis hooks for the gateway's API fuzzer (loadtest/api-test.sh).

- Auth: per operation, a token of a role among the operation's security scopes (the document's
  bearer scopes are role names), minted with the development secret by `gateway token`.
- Real identifiers: a generated path parameter that is valid (matches its schema) is swapped,
  three times in four, for a resource the script seeded (a request, a pending claim, a receipt,
  a pick list, a stocktake, a catalogue part, a supplier, a purchase order, a shipment and its
  exception, a pick-up, a returned unit, a work order in the state the path acts on, a tool loan,
  a visit, a complaint, a dealer, its batch claim and statement, a box of old parts, an advance
  exchange), so the operations' success paths are reached too (a photo upload sends
  the real 1x1 PNG schemathesis generates for a binary part); invalid ones are sent as generated. A valid Idempotency-Key becomes a fresh UUID (a client's new request gets a new
  key); a valid If-Match on a seeded claim or work order becomes its current ETag (and a
  positive board move or completion gets one). A positive survey names a seeded visit; a
  positive hold or appointment takes a window field-service suggested.
- A record of every call (operation, mode, status, content type) for the summary.
"""

import hashlib
import json
import os
import re
import urllib.request
import uuid

import schemathesis

BASE = os.environ["API_TEST_URL"]
TOKENS = json.load(open(os.environ["API_TEST_TOKENS"]))
FIXTURES = json.load(open(os.environ["API_TEST_FIXTURES"]))
RECORD = open(os.environ["API_TEST_RECORD"], "a", buffering=1)

# Which seeded resources each operation's path parameter takes.
SEEDED = {
    ("GET", "/v1/requests/{request_no}"): ("request_no", "requests"),
    ("GET", "/v1/requests/{request_no}/timeline"): ("request_no", "requests"),
    ("POST", "/v1/requests/{request_no}/cancel"): ("request_no", "cancellable"),
    ("GET", "/v1/requests/{request_no}/photos"): ("request_no", "requests"),
    ("POST", "/v1/requests/{request_no}/photos"): ("request_no", "requests"),
    ("GET", "/v1/requests/{request_no}/notifications"): ("request_no", "requests"),
    ("GET", "/v1/claims/{request_no}"): ("request_no", "requests"),
    ("POST", "/v1/claims/{request_no}/decision"): ("request_no", "pending_claims"),
    ("POST", "/v1/claims/{request_no}/info"): ("request_no", "info_claims"),
    ("GET", "/v1/claims/{request_no}/refund"): ("request_no", "refunded"),
    ("GET", "/v1/stock/{part_no}"): ("part_no", "parts"),
    ("POST", "/v1/receipts/{receipt_id}/inspection"): ("receipt_id", "receipts"),
    ("GET", "/v1/pick-lists/{pick_list_id}"): ("pick_list_id", "pick_lists"),
    ("POST", "/v1/pick-lists/{pick_list_id}/issue"): ("pick_list_id", "pick_lists"),
    ("POST", "/v1/stocktakes/{stocktake_id}/counts"): ("stocktake_id", "stocktakes"),
    ("POST", "/v1/stocktakes/{stocktake_id}/close"): ("stocktake_id", "closable_stocktakes"),
    ("GET", "/v1/suppliers/{supplier_id}"): ("supplier_id", "suppliers"),
    ("GET", "/v1/suppliers/{supplier_id}/scorecard"): ("supplier_id", "suppliers"),
    ("POST", "/v1/suppliers/{supplier_id}/status"): ("supplier_id", "status_suppliers"),
    ("GET", "/v1/purchase-orders/{po_number}"): ("po_number", "purchase_orders"),
    ("POST", "/v1/purchase-orders/{po_number}/promised-date"): ("po_number", "purchase_orders"),
    ("POST", "/v1/purchase-orders/{po_number}/cancel"): ("po_number", "cancellable_orders"),
    ("GET", "/v1/shipments/{shipment_no}"): ("shipment_no", "shipments"),
    ("POST", "/v1/shipments/{shipment_no}/events"): ("shipment_no", "open_shipments"),
    ("POST", "/v1/shipments/{shipment_no}/exceptions"): ("shipment_no", "open_shipments"),
    ("GET", "/v1/pickups/{pickup_no}"): ("pickup_no", "pickups"),
    ("POST", "/v1/pickups/{pickup_no}/complete"): ("pickup_no", "pickups"),
    ("POST", "/v1/returns/{return_id}/inspection"): ("return_id", "returns"),
    ("GET", "/v1/work-orders/{work_order_no}"): ("work_order_no", "work_orders"),
    ("GET", "/v1/work-orders/{work_order_no}/slots"): ("work_order_no", "wo_new"),
    ("POST", "/v1/work-orders/{work_order_no}/slots/hold"): ("work_order_no", "wo_new"),
    ("POST", "/v1/work-orders/{work_order_no}/appointment"): ("work_order_no", "wo_new"),
    ("POST", "/v1/work-orders/{work_order_no}/dispatch"): ("work_order_no", "wo_scheduled"),
    ("POST", "/v1/work-orders/{work_order_no}/status"): ("work_order_no", "wo_en_route"),
    ("POST", "/v1/work-orders/{work_order_no}/quotation"): ("work_order_no", "wo_paid"),
    ("POST", "/v1/work-orders/{work_order_no}/quotation/approve"): ("work_order_no", "wo_quoted"),
    ("POST", "/v1/work-orders/{work_order_no}/changes"): ("work_order_no", "wo_approved"),
    ("POST", "/v1/work-orders/{work_order_no}/inspection"): ("work_order_no", "wo_repair"),
    ("POST", "/v1/work-orders/{work_order_no}/complete"): ("work_order_no", "wo_repair"),
    ("POST", "/v1/tool-loans/{loan_id}/return"): ("loan_id", "loans"),
    ("GET", "/v1/visits/{visit_id}"): ("visit_id", "visits"),
    ("POST", "/v1/visits/{visit_id}"): ("visit_id", "visits"),
    ("GET", "/v1/complaints/{complaint_id}"): ("complaint_id", "complaints"),
    ("POST", "/v1/complaints/{complaint_id}/escalate"): ("complaint_id", "escalatable"),
    ("POST", "/v1/complaints/{complaint_id}/resolve"): ("complaint_id", "resolvable"),
    ("GET", "/v1/assessments/{period}"): ("period", "periods"),
    ("GET", "/v1/dealers/{dealer_code}"): ("dealer_code", "dealers"),
    ("GET", "/v1/dealer-claims/{batch_id}"): ("batch_id", "dealer_batches"),
    ("GET", "/v1/old-part-batches/{old_part_batch_id}"): ("old_part_batch_id", "old_part_batches"),
    ("POST", "/v1/old-part-batches/{old_part_batch_id}/inspection"): ("old_part_batch_id", "old_part_batches"),
    ("POST", "/v1/advance-exchanges/{exchange_id}/return"): ("exchange_id", "exchanges"),
    ("GET", "/v1/dealer-orders/{order_id}"): ("order_id", "dealer_orders"),
    ("GET", "/v1/consignments/{consignment_id}"): ("consignment_id", "consignments"),
}


# Paths with two parameters that name one seeded thing together (fixtures of dicts).
SEEDED_TOGETHER = {
    ("POST", "/v1/shipments/{shipment_no}/exceptions/{exception_id}/close"): "exceptions",
    ("POST", "/v1/work-orders/{work_order_no}/changes/{change_id}/decision"): "wo_changes",
    ("GET", "/v1/dealers/{dealer_code}/statements/{month}"): "statements",
}


def scopes(operation):
    """The roles that may call the operation, or None for a public one."""
    for requirement in operation.definition.raw.get("security") or []:
        if "bearer" in requirement:
            return requirement["bearer"]
    return None


def pick(choices, seed):
    digest = hashlib.sha256(repr(seed).encode()).digest()
    return choices[digest[0] % len(choices)], digest[1] % 4 != 0


@schemathesis.auth(cache_by_key=lambda case, ctx: case.operation.label)
class RoleToken:
    """A token of a role the operation allows: the first specific one, else admin."""

    def get(self, case, ctx):
        roles = scopes(case.operation)
        if not roles:
            return None
        for role in roles:
            if role != "admin" and role in TOKENS:
                return TOKENS[role]
        return TOKENS["admin"]

    def set(self, case, data, ctx):
        if data is None:
            return
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


def valid(operation, name, location, value):
    for p in operation.definition.raw.get("parameters") or []:
        if p.get("name") == name and p.get("in") == location:
            schema = p.get("schema") or {}
            ref = schema.get("$ref") or next(
                (s.get("$ref") for s in schema.get("oneOf", []) if "$ref" in s), None
            )
            if ref:
                schema = DOC["components"]["schemas"][ref.rsplit("/", 1)[1]]
            pattern = schema.get("pattern")
            return isinstance(value, str) and (pattern is None or re.search(pattern, value) is not None)
    return False


DOC = json.load(urllib.request.urlopen(BASE + "/openapi.json"))


def current_etag(request_no):
    req = urllib.request.Request(
        f"{BASE}/v1/claims/{request_no}", headers={"Authorization": f"Bearer {TOKENS['reviewer']}"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.headers.get("ETag")
    except Exception:
        return None


def get_json(path, role="admin"):
    req = urllib.request.Request(BASE + path, headers={"Authorization": f"Bearer {TOKENS[role]}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r), r.headers.get("ETag")
    except Exception:
        return None, None


def positive(case):
    meta = case.meta
    return meta is None or not meta.generation.mode.is_negative


@schemathesis.hook
def before_call(context, case, kwargs):
    op = case.operation
    key = (op.method.upper(), op.path)
    seeded = SEEDED.get(key)
    if seeded and case.path_parameters:
        name, kind = seeded
        value = case.path_parameters.get(name)
        if valid(op, name, "path", value) and FIXTURES.get(kind):
            chosen, swap = pick(FIXTURES[kind], (key, value))
            if swap:
                case.path_parameters[name] = chosen
    together = SEEDED_TOGETHER.get(key)
    if together and case.path_parameters and FIXTURES.get(together):
        params = case.path_parameters
        if all(valid(op, n, "path", params.get(n)) for n in params):
            chosen, swap = pick(FIXTURES[together], (key, tuple(sorted(params.items()))))
            if swap:
                params.update(chosen)
    params = case.path_parameters or {}
    body = case.body if isinstance(case.body, dict) else None
    wo = params.get("work_order_no")
    if positive(case) and body is not None:
        if key == ("POST", "/v1/dealers") and isinstance(body.get("code"), str):
            # Generated codes repeat (and the example's is seeded): most get a fresh one.
            _, swap = pick([None], (key, json.dumps(body, sort_keys=True)))
            if swap:
                body["code"] = "D-FZ-" + uuid.uuid4().hex[:12].upper()
        if key == ("POST", "/v1/surveys") and FIXTURES.get("survey_visits"):
            chosen, swap = pick(FIXTURES["survey_visits"], (key, body.get("visit_id")))
            if swap:
                body["visit_id"] = chosen
        if op.path.endswith(("/slots/hold", "/appointment")) and wo in FIXTURES.get("wo_new", []):
            slots, _ = get_json(f"/v1/work-orders/{wo}/slots", "dispatcher")
            suggestions = (slots or {}).get("suggestions") or []
            chosen, swap = pick(suggestions or [None], (key, json.dumps(body, sort_keys=True)))
            if chosen and swap:
                body["technician_id"] = chosen["technician_id"]
                body["window_from"] = chosen["window"]["from"]
                body.pop("window_to", None)
    headers = case.headers or {}
    seeded_wo = wo in FIXTURES.get("work_orders", []) + FIXTURES.get("wo_approved", []) + [
        c["work_order_no"] for c in FIXTURES.get("wo_changes", [])]
    if positive(case) and seeded_wo and op.path.endswith(("/status", "/complete")) and not any(
        h.lower() == "if-match" for h in headers
    ):
        _, etag = get_json(f"/v1/work-orders/{wo}", "dispatcher")
        if etag and (body is None or "expected_version" not in body):
            case.headers = headers = dict(headers, **{"If-Match": etag})
    for h in list(headers):
        if h.lower() == "idempotency-key" and valid(op, "Idempotency-Key", "header", headers[h]):
            headers[h] = str(uuid.uuid4())
        if h.lower() == "if-match" and valid(op, "If-Match", "header", headers[h]) and params:
            no = params.get("request_no")
            etag = None
            if no in FIXTURES.get("pending_claims", []):
                etag = current_etag(no)
            elif seeded_wo:
                _, etag = get_json(f"/v1/work-orders/{wo}", "dispatcher")
            if etag:
                headers[h] = etag
                if body is not None and isinstance(body.get("expected_version"), int):
                    body["expected_version"] = int(etag.strip('"'))
    if positive(case) and seeded_wo and body is not None and isinstance(body.get("expected_version"), int):
        if not any(h.lower() == "if-match" for h in headers):
            _, etag = get_json(f"/v1/work-orders/{wo}", "dispatcher")
            if etag:
                body["expected_version"] = int(etag.strip('"'))


def problem_detail(response):
    try:
        return str(json.loads(response.content).get("detail", ""))[:300]
    except Exception:
        return ""


@schemathesis.hook
def after_call(context, case, response):
    meta = case.meta
    mode = "negative" if meta is not None and meta.generation.mode.is_negative else "positive"
    RECORD.write(
        json.dumps(
            {
                "operation": case.operation.label,
                "mode": mode,
                "status": response.status_code,
                "content_type": response.headers.get("content-type", [""])[0]
                if isinstance(response.headers.get("content-type"), list)
                else response.headers.get("content-type", ""),
                # What an error said (its problem's detail), to see why an operation never
                # succeeded (target/api-test-calls.jsonl).
                "detail": problem_detail(response) if response.status_code >= 400 else "",
            }
        )
        + "\n"
    )
