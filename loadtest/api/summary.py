"""The API fuzzer's verdict (loadtest/api-test.sh): per operation, the cases sent, how many
answered 2xx, 4xx and 5xx, errors that were not problem+json, and schemathesis's own failures
(from its JUnit report). An operation passes with no schemathesis failure, no 5xx, every error
problem+json and at least one 2xx (`EXPECTED_NO_2XX` lists the operations that cannot succeed
here, and why). Prints `api-test: N passed, N failed` (operations) last.

Usage: summary.py <calls.jsonl> <junit.xml> <openapi.json>
"""

import collections
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

# The fuzzer cannot sign a carrier's event (that is the point of the signature): 401 (or 400
# for a body the document refuses) is all it can get. seed.py sends signed ones, and
# services/gateway/tests/api/logistics.rs covers applied, duplicate and stale.
EXPECTED_NO_2XX = {
    "POST /v1/carriers/{carrier}/events": "signed webhook; the fuzzer has no carrier secret",
    # The local photo store's URLs are signed by the gateway (the signature is the credential);
    # services/gateway/tests/api/photos.rs reads real ones and refuses tampered and expired ones.
    "GET /v1/photo-objects/{request_no}/{file}": "signed URL; the fuzzer cannot sign one",
}

calls_path, junit_path, doc_path = sys.argv[1:4]
doc = json.load(open(doc_path))
operations = [f"{m.upper()} {p}" for p, item in doc["paths"].items() for m in item]
# API_TEST_PATHS (a regex): only those paths were fuzzed, so only those are judged.
if os.environ.get("API_TEST_PATHS"):
    only = re.compile(os.environ["API_TEST_PATHS"])
    operations = [o for o in operations if only.search(o.split(" ", 1)[1])]
excluded = set(sys.argv[4].split(",")) if len(sys.argv) > 4 and sys.argv[4] else set()

stats = collections.defaultdict(collections.Counter)
for line in open(calls_path):
    c = json.loads(line)
    s = stats[c["operation"]]
    s["cases"] += 1
    s[f"{c['status'] // 100}xx"] += 1
    if c["status"] >= 400 and not c["content_type"].startswith("application/problem+json"):
        s["not_problem_json"] += 1

failures = collections.Counter()
try:
    for case in ET.parse(junit_path).getroot().iter("testcase"):
        for f in list(case.findall("failure")) + list(case.findall("error")):
            failures[case.get("name")] += 1
except (FileNotFoundError, ET.ParseError):
    pass

passed = failed = 0
print(f"{'operation':<48} {'cases':>6} {'2xx':>5} {'4xx':>5} {'5xx':>4} {'!problem':>8} {'fail':>5}  verdict")
for op in operations:
    if op in excluded:
        why = "an endless stream" if "stream" in op else "the document schemathesis loads"
        print(f"{op:<48} {'-':>6} {'':>5} {'':>5} {'':>4} {'':>8} {'':>5}  not fuzzed: {why}")
        continue
    s = stats.get(op, collections.Counter())
    why = []
    if s["cases"] == 0:
        why.append("never called")
    if s["5xx"]:
        why.append(f"{s['5xx']} server errors")
    if s["not_problem_json"]:
        why.append(f"{s['not_problem_json']} errors not problem+json")
    if failures.get(op):
        why.append(f"{failures[op]} schemathesis failures")
    if s["2xx"] == 0 and op not in EXPECTED_NO_2XX:
        why.append("no 2xx")
    verdict = "ok" if not why else "FAILED: " + "; ".join(why)
    if not why and op in EXPECTED_NO_2XX:
        verdict = f"ok (no 2xx expected: {EXPECTED_NO_2XX[op]})"
    print(f"{op:<48} {s['cases']:>6} {s['2xx']:>5} {s['4xx']:>5} {s['5xx']:>4} {s['not_problem_json']:>8} {failures.get(op, 0):>5}  {verdict}")
    if why:
        failed += 1
    else:
        passed += 1
for op in sorted(set(failures) - set(operations)):
    print(f"{op}: {failures[op]} schemathesis failures")
    failed += 1
print(f"api-test: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
