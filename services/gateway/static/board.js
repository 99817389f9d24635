// The dispatch board (/board): work orders by status (field-service's repair status board), the
// open requests by status below them, and the requests that are stuck (their next step overdue)
// beside them; all of it kept live from the event stream. Served as a file of its own so the page
// runs under a Content-Security-Policy without inline script.
"use strict";

// ---- work orders ------------------------------------------------------------------------------
// One column per status of `GET /v1/board`, in the order a job moves through them (a job waiting
// for parts has not been booked yet, so it stands next to the new ones). Cancelled jobs leave.
const WO_COLUMNS = ["new", "waiting_parts", "scheduled", "en_route", "on_site", "in_repair",
                    "machining", "awaiting_reply", "stopped", "done"];
const WO_LABEL = {
  new: "New", waiting_parts: "Waiting parts", scheduled: "Scheduled", en_route: "En route",
  on_site: "On site", in_repair: "In repair", machining: "Machining",
  awaiting_reply: "Awaiting reply", stopped: "Stopped", done: "Done (24 h)"
};
// The proto enum's numbers, for a stream payload that carries numbers instead of names.
const WO_BY_NUMBER = ["", "new", "scheduled", "en_route", "on_site", "in_repair", "waiting_parts",
                      "machining", "awaiting_reply", "stopped", "done", "cancelled"];

// ---- requests ---------------------------------------------------------------------------------
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

const cards = new Map();       // request_no -> {status, branch, technician, summary}
const workOrders = new Map();  // work_order_no -> the card's fields (see fromBoardCard)
const stuck = new Map();       // request_no -> the request as `GET /v1/requests?stuck=true` has it
const $ = (id) => document.getElementById(id);

// The token comes from the link's fragment (#token=…, never sent to a server, so it stays out of
// server and proxy logs) or is pasted into the field; it is never stored. Once read, the
// fragment is taken out of the address bar so the link on screen can be shared without it.
const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
$("token").value = fragment.get("token") || "";
$("branch").value = fragment.get("branch") || new URLSearchParams(location.search).get("branch") || "";
if (fragment.has("token")) history.replaceState(null, "", location.pathname + location.search);

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function ago(iso) {
  const t = Date.parse(iso || "");
  if (isNaN(t)) return "";
  const s = Math.max(0, (Date.now() - t) / 1000);
  if (s < 90) return Math.round(s) + " s ago";
  if (s < 90 * 60) return Math.round(s / 60) + " min ago";
  if (s < 36 * 3600) return Math.round(s / 3600) + " h ago";
  return Math.round(s / 86400) + " d ago";
}

function when(iso) {
  const t = Date.parse(iso || "");
  if (isNaN(t)) return "";
  return new Date(t).toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" });
}

function woStatus(v) {
  if (typeof v === "number") return WO_BY_NUMBER[v] || "";
  if (typeof v !== "string") return "";
  const s = v.replace(/^WORK_ORDER_STATUS_/, "").toLowerCase();
  return s === "unspecified" ? "" : s;
}

function filters() {
  return { branch: $("branch").value.trim().toUpperCase(), tech: $("tech").value.trim().toLowerCase() };
}

function stuckBadge(card, requestNo) {
  const s = stuck.get(requestNo);
  if (!s) return;
  card.classList.add("stuck");
  const b = el("span", "badge stuck-badge", "stuck");
  b.title = "next step overdue " + ago((s.stuck || {}).since) + (s.last_step ? " (last: " + s.last_step + ")" : "");
  card.appendChild(b);
}

function renderWorkOrders() {
  const { branch, tech } = filters();
  const root = $("work-orders");
  root.textContent = "";
  for (const status of WO_COLUMNS) {
    const col = el("section", "col wo-col");
    col.dataset.status = status;
    const h = el("h2", "", WO_LABEL[status] || status);
    col.appendChild(h);
    const shown = [...workOrders.values()]
      .filter((w) => w.status === status)
      .filter((w) => !branch || w.branch === branch)
      .filter((w) => !tech || (w.technician_id + " " + (w.technician || "")).toLowerCase().includes(tech))
      .sort((a, b) => String(a.since || "").localeCompare(String(b.since || "")) || a.no.localeCompare(b.no));
    for (const w of shown) {
      const card = el("div", "card wo");
      card.dataset.workOrderNo = w.no;
      card.dataset.status = w.status;
      card.dataset.version = String(w.version || "");
      card.dataset.forRequest = w.request_no || "";
      card.appendChild(el("b", "", w.no));
      const what = [w.request_no, w.model, w.customer].filter(Boolean).join(" · ");
      if (what) card.appendChild(el("div", "meta", what));
      const who = [w.technician || w.technician_id, w.appointment && w.appointment.from
        ? when(w.appointment.from) : ""].filter(Boolean).join(" · ");
      if (who) card.appendChild(el("div", "meta", who));
      if (w.note) card.appendChild(el("div", "note", w.note));
      if (w.breached) card.appendChild(el("span", "badge sla-badge", "arrival SLA breached"));
      else if (w.due && !["done", "on_site", "in_repair", "machining"].includes(w.status)) {
        card.appendChild(el("div", "meta", "arrive by " + when(w.due)));
      }
      stuckBadge(card, w.request_no);
      col.appendChild(card);
    }
    h.textContent += " (" + shown.length + ")";
    root.appendChild(col);
  }
}

function renderRequests() {
  const { branch, tech } = filters();
  const root = $("requests");
  root.textContent = "";
  for (const status of COLUMNS) {
    const col = el("section", "col");
    col.dataset.status = status;
    const h = el("h2", "", status.replace("_", " "));
    col.appendChild(h);
    for (const [no, c] of cards) {
      if (c.status !== status) continue;
      if (branch && c.branch !== branch) continue;
      if (tech && !(c.technician || "").toLowerCase().includes(tech)) continue;
      const card = el("div", "card");
      card.dataset.requestNo = no;
      card.appendChild(el("b", "", no));
      card.appendChild(el("div", "meta", [c.branch, c.summary, c.technician].filter(Boolean).join(" · ")));
      stuckBadge(card, no);
      col.appendChild(card);
    }
    h.textContent += " (" + (col.children.length - 1) + ")";
    root.appendChild(col);
  }
}

function renderStuck() {
  const { branch } = filters();
  const list = $("stuck-list");
  list.textContent = "";
  const shown = [...stuck.values()].filter((q) => !branch || q.branch === branch);
  for (const q of shown) {
    const li = el("li", "stuck-item");
    li.dataset.stuckRequestNo = q.request_no;
    li.appendChild(el("b", "", q.request_no));
    li.appendChild(el("span", "status", q.status || ""));
    li.appendChild(el("span", "step", q.last_step || "—"));
    li.appendChild(el("span", "ago", ago(q.last_step_at)));
    const s = q.stuck || {};
    li.title = "overdue since " + (s.since || "?") + " (expected within " + (s.expected_within || "?")
      + ", rule " + (s.rule || "?") + ")";
    list.appendChild(li);
  }
  if (!shown.length) list.appendChild(el("li", "none", "none"));
  $("stuck").dataset.count = String(shown.length);
  $("stuck-count").textContent = String(shown.length);
  $("stuck").classList.toggle("alert", shown.length > 0);
}

function render() {
  renderWorkOrders();
  renderRequests();
  renderStuck();
}

function upsert(no, patch) {
  if (!no) return;
  const c = cards.get(no) || { status: "submitted", branch: "", technician: "", summary: "" };
  cards.set(no, Object.assign(c, patch));
}

// A work order's card fields, from `GET /v1/board` …
function fromBoardCard(c) {
  return {
    no: c.work_order_no, request_no: c.request_no, branch: c.branch, status: c.status,
    version: c.version, technician_id: c.technician_id, technician: c.technician_name,
    model: c.product_model, customer: c.customer_name, appointment: c.appointment,
    due: c.arrival_due_at, breached: c.sla_breached, note: c.status_note, since: c.status_since
  };
}

// … and from `GET /v1/work-orders/{no}` (no technician name there: the card keeps the one it has).
function fromWorkOrder(w) {
  return {
    no: w.work_order_no, request_no: w.request_no, branch: w.branch, status: w.status,
    version: w.version, technician_id: w.technician_id,
    model: w.product ? w.product.model : "", customer: w.customer ? w.customer.name : "",
    appointment: w.appointment, due: w.arrival_due_at, breached: w.sla_breached,
    note: w.status_note, since: w.status_since
  };
}

// Applies what is known of a work order, unless it is older than what the card shows already
// (the answers of reloads and the stream's events may arrive in any order).
function applyWorkOrder(patch) {
  if (!patch.no) return;
  const cur = workOrders.get(patch.no);
  if (cur && patch.version && cur.version && Number(patch.version) < Number(cur.version)) return;
  const next = Object.assign({}, cur || {});
  if (cur && patch.technician_id && patch.technician_id !== cur.technician_id && !patch.technician) {
    next.technician = "";
  }
  for (const [k, v] of Object.entries(patch)) {
    if (v !== undefined && v !== null && v !== "") next[k] = v;
  }
  if (patch.version) next.version = Number(patch.version);
  next.touched = Date.now();
  if (next.status === "cancelled") workOrders.delete(patch.no);
  else workOrders.set(patch.no, next);
}

function authorized(token) {
  return { headers: { Authorization: "Bearer " + token } };
}

async function loadRequests(token) {
  const r = await fetch("/v1/requests?page_size=200", authorized(token));
  if (!r.ok) { $("state").textContent = "list failed: " + r.status; return false; }
  const body = await r.json();
  for (const q of body.items) {
    upsert(q.request_no, { status: q.status, branch: q.branch,
      summary: (q.product ? q.product.model + " " : "") + (q.fault_description || "") });
  }
  render();
  return true;
}

// The whole board again: cards that left it (cancelled, done over a day ago) go, unless the stream
// moved them while the board was being read.
async function loadWorkOrders(token) {
  const started = Date.now();
  let r;
  try {
    r = await fetch("/v1/board", authorized(token));
  } catch (err) {
    $("wo-state").textContent = "unavailable";
    return;
  }
  if (!r.ok) { $("wo-state").textContent = "unavailable (" + r.status + ")"; return; }
  const body = await r.json();
  const seen = new Set();
  for (const col of body.columns || []) {
    for (const c of col.cards || []) {
      seen.add(c.work_order_no);
      applyWorkOrder(fromBoardCard(c));
    }
  }
  for (const [no, w] of workOrders) {
    if (!seen.has(no) && w.touched < started) workOrders.delete(no);
  }
  $("wo-state").textContent = "";
  $("work-orders-lane").dataset.loaded = "true";
  render();
}

async function loadStuck(token) {
  let r;
  try {
    r = await fetch("/v1/requests?stuck=true&page_size=200", authorized(token));
  } catch (err) {
    $("stuck-state").textContent = "unavailable";
    return;
  }
  if (!r.ok) { $("stuck-state").textContent = "unavailable (" + r.status + ")"; return; }
  const body = await r.json();
  stuck.clear();
  for (const q of body.items || []) stuck.set(q.request_no, q);
  $("stuck-state").textContent = "as of " + new Date().toLocaleTimeString();
  $("stuck").dataset.loaded = "true";
  render();
}

// A work-order event: move the card at once as far as the event says, then read the work order
// for the rest (an event names what changed, not the whole card).
async function onWorkOrderEvent(token, e) {
  const p = e.payload || {};
  const no = p.work_order_no;
  if (!no) return;
  const patch = { no, request_no: p.request_no || e.request_no, branch: p.branch || e.branch };
  switch (e.type) {
    case "fieldservice.workorder.created":
      if (!workOrders.has(no)) patch.status = "new";
      patch.model = p.product ? p.product.model : "";
      patch.due = p.arrival_due_at;
      break;
    case "fieldservice.workorder.scheduled":
      patch.technician_id = p.technician_id;
      patch.technician = p.technician_name;
      patch.appointment = p.appointment;
      break;
    case "fieldservice.workorder.status_changed":
      patch.status = woStatus(p.to);
      patch.version = Number(p.version) || undefined;
      patch.note = p.note;
      break;
    case "fieldservice.workorder.completed":
      patch.status = "done";
      break;
    case "fieldservice.workorder.sla_breached":
      patch.breached = true;
      break;
  }
  applyWorkOrder(patch);
  render();
  try {
    const r = await fetch("/v1/work-orders/" + encodeURIComponent(no), authorized(token));
    if (r.ok) { applyWorkOrder(fromWorkOrder(await r.json())); render(); }
  } catch (err) { /* the next event or reload brings it */ }
}

let source = null;
let timer = null;
async function connect() {
  const token = $("token").value.trim();
  if (!token) { $("state").textContent = "paste a token to connect"; return; }
  if (source) source.close();
  if (timer) clearInterval(timer);
  if (!(await loadRequests(token))) return;
  loadWorkOrders(token);
  loadStuck(token);
  // Stuck is a matter of time passing, not of an event: ask again every half minute (and
  // refresh the board's times left with it).
  timer = setInterval(() => { loadStuck(token); loadWorkOrders(token); }, 30000);
  source = new EventSource("/v1/events/stream?access_token=" + encodeURIComponent(token));
  source.onopen = () => { $("state").textContent = "live"; };
  // Events the stream could not deliver (a gap): reload, then follow again.
  source.addEventListener("gap", () => { loadRequests(token); loadWorkOrders(token); });
  source.addEventListener("expired", () => {
    source.close();
    clearInterval(timer);
    $("state").textContent = "token expired: paste a new one";
  });
  source.onerror = () => { $("state").textContent = "reconnecting…"; };
  source.onmessage = (m) => {
    const e = JSON.parse(m.data);
    if (String(e.type).startsWith("fieldservice.workorder.")) onWorkOrderEvent(token, e);
    const status = STATUS_OF[e.type];
    const p = e.payload || {};
    const patch = { branch: e.branch };
    if (status) patch.status = status;
    if (p.technician_id) patch.technician = p.technician_id;
    if (e.type === "intake.request.submitted") {
      const req = p.request || p;
      patch.summary = ((req.product && req.product.model) ? req.product.model + " " : "") + (req.fault_description || "");
    }
    // An internal job has no request: its events name the work order instead.
    if (e.request_no && e.request_no !== p.work_order_no) upsert(e.request_no, patch);
    render();
  };
}
$("connect").onclick = connect;
$("branch").oninput = render;
$("tech").oninput = render;
render();
if ($("token").value) connect();
