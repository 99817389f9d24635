// The dispatch board (/board): open requests by status, live from the event stream. Served as
// a file of its own so the page runs under a Content-Security-Policy without inline script.
"use strict";
const COLUMNS = ["submitted", "under_review", "approved", "rejected", "sourcing", "shipped",
                 "delivered", "in_service", "completed", "closed", "cancelled"];
// What each event means for the request's column (the board grows with the services).
const STATUS_OF = {
  "intake.request.submitted": "submitted", "intake.request.cancelled": "cancelled",
  "intake.request.closed": "closed", "claims.claim.opened": "under_review",
  "claims.claim.info_requested": "under_review", "claims.claim.approved": "approved",
  "claims.claim.rejected": "rejected", "warehouse.stock.shortage": "sourcing",
  "warehouse.reservation.confirmed": "approved", "logistics.shipment.dispatched": "shipped",
  "logistics.shipment.delivered": "delivered", "fieldservice.workorder.created": "in_service",
  "fieldservice.workorder.scheduled": "in_service", "fieldservice.workorder.status_changed": "in_service",
  "fieldservice.workorder.completed": "completed"
};
const cards = new Map();   // request_no -> {status, branch, technician, summary}
const $ = (id) => document.getElementById(id);
// The token comes from the link's fragment (#token=…, never sent to a server, so it stays out of
// server and proxy logs) or is pasted into the field; it is never stored. Once read, the
// fragment is taken out of the address bar so the link on screen can be shared without it.
const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
$("token").value = fragment.get("token") || "";
$("branch").value = fragment.get("branch") || new URLSearchParams(location.search).get("branch") || "";
if (fragment.has("token")) history.replaceState(null, "", location.pathname + location.search);

function render() {
  const branch = $("branch").value.trim().toUpperCase();
  const tech = $("tech").value.trim();
  const board = $("board");
  board.textContent = "";
  for (const status of COLUMNS) {
    const col = document.createElement("section");
    col.className = "col"; col.dataset.status = status;
    const h = document.createElement("h2"); h.textContent = status.replace("_", " ");
    col.appendChild(h);
    for (const [no, c] of cards) {
      if (c.status !== status) continue;
      if (branch && c.branch !== branch) continue;
      if (tech && !(c.technician || "").includes(tech)) continue;
      const card = document.createElement("div");
      card.className = "card"; card.dataset.requestNo = no;
      const b = document.createElement("b"); b.textContent = no; card.appendChild(b);
      const m = document.createElement("div"); m.className = "meta";
      m.textContent = [c.branch, c.summary, c.technician].filter(Boolean).join(" · ");
      card.appendChild(m);
      col.appendChild(card);
    }
    h.textContent += " (" + (col.children.length - 1) + ")";
    board.appendChild(col);
  }
}

function upsert(no, patch) {
  if (!no) return;
  const c = cards.get(no) || { status: "submitted", branch: "", technician: "", summary: "" };
  cards.set(no, Object.assign(c, patch));
}

async function load(token) {
  const r = await fetch("/v1/requests?page_size=200", { headers: { Authorization: "Bearer " + token } });
  if (!r.ok) { $("state").textContent = "list failed: " + r.status; return false; }
  const body = await r.json();
  for (const q of body.items) {
    upsert(q.request_no, { status: q.status, branch: q.branch,
      summary: (q.product ? q.product.model + " " : "") + (q.fault_description || "") });
  }
  render();
  return true;
}

let source = null;
async function connect() {
  const token = $("token").value.trim();
  if (!token) { $("state").textContent = "paste a token to connect"; return; }
  if (source) source.close();
  if (!(await load(token))) return;
  source = new EventSource("/v1/events/stream?access_token=" + encodeURIComponent(token));
  source.onopen = () => { $("state").textContent = "live"; };
  // Events the stream could not deliver (a gap): reload the list, then follow again.
  source.addEventListener("gap", () => { load(token); });
  source.addEventListener("expired", () => {
    source.close();
    $("state").textContent = "token expired: paste a new one";
  });
  source.onerror = () => { $("state").textContent = "reconnecting…"; };
  source.onmessage = (m) => {
    const e = JSON.parse(m.data);
    const status = STATUS_OF[e.type];
    const p = e.payload || {};
    const patch = { branch: e.branch };
    if (status) patch.status = status;
    if (p.technician_id) patch.technician = p.technician_id;
    if (e.type === "intake.request.submitted") {
      const req = p.request || p;
      patch.summary = ((req.product && req.product.model) ? req.product.model + " " : "") + (req.fault_description || "");
    }
    upsert(e.request_no || e.subject, patch);
    render();
  };
}
$("connect").onclick = connect;
$("branch").oninput = render;
$("tech").oninput = render;
render();
if ($("token").value) connect();
