"""Schemathesis hooks for the gateway's API fuzzer (loadtest/api-test.sh).

- Auth: per operation, a token of a role among the operation's security scopes (the document's
  bearer scopes are role names), minted with the development secret by `gateway token`.
- Real identifiers: a generated path parameter that is valid (matches its schema) is swapped,
  three times in four, for a resource the script seeded (a request, a pending claim, a receipt,
  a pick list, a stocktake, a catalogue part), so the operations' success paths are reached too;
  invalid ones are sent as generated. A valid Idempotency-Key becomes a fresh UUID (a client's
  new request gets a new key); a valid If-Match on a seeded claim becomes its current ETag.
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
    ("GET", "/v1/claims/{request_no}"): ("request_no", "requests"),
    ("POST", "/v1/claims/{request_no}/decision"): ("request_no", "pending_claims"),
    ("GET", "/v1/stock/{part_no}"): ("part_no", "parts"),
    ("POST", "/v1/receipts/{receipt_id}/inspection"): ("receipt_id", "receipts"),
    ("GET", "/v1/pick-lists/{pick_list_id}"): ("pick_list_id", "pick_lists"),
    ("POST", "/v1/pick-lists/{pick_list_id}/issue"): ("pick_list_id", "pick_lists"),
    ("POST", "/v1/stocktakes/{stocktake_id}/counts"): ("stocktake_id", "stocktakes"),
    ("POST", "/v1/stocktakes/{stocktake_id}/close"): ("stocktake_id", "stocktakes"),
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
    headers = case.headers or {}
    for h in list(headers):
        if h.lower() == "idempotency-key" and valid(op, "Idempotency-Key", "header", headers[h]):
            headers[h] = str(uuid.uuid4())
        if h.lower() == "if-match" and valid(op, "If-Match", "header", headers[h]) and case.path_parameters:
            no = case.path_parameters.get("request_no")
            if no in FIXTURES.get("pending_claims", []):
                etag = current_etag(no)
                if etag:
                    headers[h] = etag
                    if isinstance(case.body, dict) and isinstance(case.body.get("expected_version"), int):
                        case.body["expected_version"] = int(etag.strip('"'))


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
            }
        )
        + "\n"
    )
