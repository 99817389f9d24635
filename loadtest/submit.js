// Submissions through the gateway: POST /v1/requests with distinct branches and tokens and an
// Idempotency-Key each. MODE=open (constant arrival rate, latency) or MODE=closed (VUS callers
// back to back, the throughput ceiling comparable with pgbench at the same concurrency).
// k6 run --no-usage-report -e RATE=500 -e DURATION=20s loadtest/submit.js
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import { GATEWAY, GATEWAY_ADMIN, branchOf, requestBody, token, uuid, waitReady } from './lib/common.js';

const scenario = (__ENV.MODE || 'open') === 'closed'
  ? { executor: 'constant-vus', vus: Number(__ENV.VUS || 16), duration: __ENV.DURATION || '20s' }
  : { executor: 'constant-arrival-rate', rate: Number(__ENV.RATE || 200), timeUnit: '1s',
      duration: __ENV.DURATION || '20s', preAllocatedVUs: Number(__ENV.VUS || 64), maxVUs: Number(__ENV.MAX_VUS || 256) };

export const options = {
  scenarios: { submit: scenario },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    'http_req_duration{name:submit}': ['p(95)<' + (__ENV.P95_MS || 250), 'p(99)<' + (__ENV.P99_MS || 500)],
  },
  summaryTrendStats: ['avg', 'p(50)', 'p(95)', 'p(99)', 'max'],
};

export function setup() {
  waitReady(GATEWAY_ADMIN + '/readyz', 60);
}

export default function () {
  const branch = branchOf(exec.vu.idInTest);
  const res = http.post(GATEWAY + '/v1/requests', JSON.stringify(requestBody(branch)), {
    headers: {
      'Content-Type': 'application/json',
      Authorization: 'Bearer ' + token(branch),
      'Idempotency-Key': uuid(),
    },
    tags: { name: 'submit' },
    timeout: '10s',
  });
  check(res, {
    'created': (r) => r.status === 201,
    'has a tracking number': (r) => r.status === 201 && /^AS-\d{4}-[A-Z0-9]+-\d{6}$/.test(r.json('request_no')),
  });
}
