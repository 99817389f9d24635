// A branch's day: mostly reading (timeline, list, polling a request), some submitting.
// Weights: 20 % submit, 35 % poll a request, 30 % read its timeline, 15 % list the branch's queue.
import http from 'k6/http';
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import { GATEWAY, GATEWAY_ADMIN, branchOf, requestBody, token, uuid, waitReady } from './lib/common.js';

export const options = {
  scenarios: {
    branches: {
      executor: 'constant-arrival-rate', rate: Number(__ENV.RATE || 100), timeUnit: '1s',
      duration: __ENV.DURATION || '30s', preAllocatedVUs: 32, maxVUs: 128,
    },
  },
  thresholds: { http_req_failed: ['rate<0.01'], http_req_duration: ['p(99)<' + (__ENV.P99_MS || 500)] },
  summaryTrendStats: ['avg', 'p(50)', 'p(95)', 'p(99)', 'max'],
};

export function setup() {
  waitReady(GATEWAY_ADMIN + '/readyz', 60);
}

const known = {}; // per VU: request numbers this branch created

export default function () {
  const branch = branchOf(exec.vu.idInTest);
  const auth = { Authorization: 'Bearer ' + token(branch) };
  const mine = known[branch] || (known[branch] = []);
  const roll = Math.random();
  if (roll < 0.2 || mine.length === 0) {
    const r = http.post(GATEWAY + '/v1/requests', JSON.stringify(requestBody(branch)), {
      headers: Object.assign({ 'Content-Type': 'application/json', 'Idempotency-Key': uuid() }, auth),
      tags: { name: 'submit' },
    });
    if (check(r, { created: (x) => x.status === 201 })) mine.push(r.json('request_no'));
    return;
  }
  const no = mine[Math.floor(Math.random() * mine.length)];
  if (roll < 0.55) {
    check(http.get(`${GATEWAY}/v1/requests/${no}`, { headers: auth, tags: { name: 'get' } }), { ok: (x) => x.status === 200 });
  } else if (roll < 0.85) {
    check(http.get(`${GATEWAY}/v1/requests/${no}/timeline`, { headers: auth, tags: { name: 'timeline' } }), { ok: (x) => x.status === 200 });
  } else {
    check(http.get(`${GATEWAY}/v1/requests?page_size=20`, { headers: auth, tags: { name: 'list' } }), { ok: (x) => x.status === 200 });
  }
  sleep(0.01);
}
