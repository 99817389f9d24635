// Shared by the k6 scenarios: tokens, test data, the readiness wait.
// Every target is loopback; every run is bounded by its scenario's duration.
import http from 'k6/http';
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';
import { sleep } from 'k6';

export const GATEWAY = __ENV.GATEWAY_URL || 'http://127.0.0.1:8080';
// The gateway's admin port (/readyz, /metrics): never the public API's.
export const GATEWAY_ADMIN = __ENV.GATEWAY_ADMIN || 'http://127.0.0.1:8081';
export const INTAKE_GRPC = __ENV.INTAKE_GRPC || '127.0.0.1:50051';
const SECRET = __ENV.JWT_SECRET || 'dev-only-secret-change-me';

// Branches B001..Bnnn spread the load the way many regional branches do (each branch has its
// own tracking-number sequence row).
export const BRANCHES = Number(__ENV.BRANCHES || 20);
export function branchOf(i) {
  return 'B' + String((i % BRANCHES) + 1).padStart(3, '0');
}

// HS256 JWT, the same shape the gateway's `token` subcommand mints.
export function token(branch, roles) {
  const b64 = (o) => encoding.b64encode(JSON.stringify(o), 'rawurl');
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({ sub: 'k6-' + branch, branch: branch, roles: roles || ['branch_agent'], exp: Math.floor(Date.now() / 1000) + 3600 });
  const sig = crypto.hmac('sha256', SECRET, head + '.' + body, 'base64rawurl');
  return head + '.' + body + '.' + sig;
}

export function uuid() {
  const h = crypto.randomBytes(16);
  const b = new Uint8Array(h);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

// The JSON body of DESIGN §8 (the gateway's contract).
export function requestBody(branch) {
  return {
    branch: branch,
    channel: 'hotline',
    kind: 'replacement',
    urgency: 'normal',
    customer: { name: 'Load Test', phone: '+86 138 0013 8000', address: '1 Test Road', region: 'urban' },
    product: {
      category: 'television', model: 'X55', serial: 'SN' + Math.floor(Math.random() * 1e9),
      purchase_date: '2026-10-02', invoice_no: 'INV-9', invoice_date: '2026-10-02', factory_date: '2026-08-15',
    },
    fault_description: 'no picture',
    photos: [],
    parts: [{ part_no: 'PWR-55-01', quantity: 1 }],
  };
}

// Waits up to `seconds` for `url` to answer 200 before the load starts.
export function waitReady(url, seconds) {
  for (let i = 0; i < seconds * 4; i++) {
    const r = http.get(url, { timeout: '2s', tags: { name: 'readiness' } });
    if (r.status === 200) return;
    sleep(0.25);
  }
  throw new Error(`${url} not ready after ${seconds}s`);
}
