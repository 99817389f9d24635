// The submission straight to intake over gRPC: the service's own cost, without the gateway.
// k6 run --no-usage-report -e RATE=500 -e DURATION=20s loadtest/grpc_intake.js
import grpc from 'k6/net/grpc';
import { check } from 'k6';
import exec from 'k6/execution';
import { INTAKE_GRPC, branchOf, token, uuid, waitReady } from './lib/common.js';

const RATE = Number(__ENV.RATE || 200);
// MODE=open: a constant arrival rate (latency at a given load); MODE=closed: VUS callers
// back to back (the throughput ceiling at that concurrency, comparable with pgbench -c VUS).
const scenario = (__ENV.MODE || 'open') === 'closed'
  ? { executor: 'constant-vus', vus: Number(__ENV.VUS || 16), duration: __ENV.DURATION || '20s' }
  : { executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: __ENV.DURATION || '20s',
      preAllocatedVUs: Number(__ENV.VUS || 64), maxVUs: Number(__ENV.MAX_VUS || 256) };
export const options = {
  scenarios: { submit: scenario },
  thresholds: {
    checks: ['rate>0.99'],
    grpc_req_duration: ['p(95)<' + (__ENV.P95_MS || 250), 'p(99)<' + (__ENV.P99_MS || 500)],
  },
  summaryTrendStats: ['avg', 'p(50)', 'p(95)', 'p(99)', 'max'],
};

const client = new grpc.Client();
const enums = { channel: 1, kind: 1, urgency: 2, region: 1 };

export function setup() {
  waitReady(__ENV.INTAKE_ADMIN || 'http://127.0.0.1:51051/readyz', 60);
}

export default function () {
  if (exec.vu.iterationInScenario === 0) {
    client.connect(INTAKE_GRPC, { plaintext: true, reflect: true, timeout: '5s' });
  }
  const branch = branchOf(exec.vu.idInTest);
  const res = client.invoke('aftersales.intake.v1.IntakeService/SubmitRequest', {
    idempotency_key: uuid(),
    branch: branch,
    channel: enums.channel, kind: enums.kind, urgency: enums.urgency,
    customer: { name: 'Load Test', phone: '+86 138 0013 8000', address: '1 Test Road', region: enums.region },
    product: {
      category: 'television', model: 'X55', serial: 'SN' + Math.floor(Math.random() * 1e9),
      purchase_date: '2026-10-02', invoice_no: 'INV-9', invoice_date: '2026-10-02', factory_date: '2026-08-15',
    },
    fault_description: 'no picture',
    parts: [{ part_no: 'PWR-55-01', quantity: 1 }],
  }, { metadata: { authorization: 'Bearer ' + token(branch) }, timeout: '10s' });
  check(res, { 'status OK': (r) => r && r.status === grpc.StatusOK });
}
