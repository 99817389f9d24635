// The KPI page (/kpis): one chart per indicator of `GET /v1/kpis` — a gauge of the period's value
// against its target, and the periods before it as bars — drawn as inline SVG by this script (no
// library, nothing from another origin). Served as a file of its own so the page runs under a
// Content-Security-Policy without inline script.
"use strict";

// How many periods before the current one the bars show.
const HISTORY = 5;
const LABEL = {
  request_processing_timeliness: "Requests processed in time",
  review_timeliness: "Claims reviewed in time",
  procurement_cost_vs_quotes: "Purchase cost against quotes",
  inventory_accuracy: "Inventory accuracy",
  on_time_delivery: "On-time delivery",
  arrival_sla: "Arrival within the SLA",
  satisfaction: "Customer satisfaction",
  first_time_fix: "First-time fix",
  rework_rate: "Rework rate",
  satisfaction_attitude: "Satisfaction: attitude",
  satisfaction_technical_skill: "Satisfaction: technical skill",
  satisfaction_arrival_time: "Satisfaction: arrival time",
  satisfaction_promise_keeping: "Satisfaction: promise keeping",
  complaint_response_timeliness: "Complaints answered in time",
  return_visit_timeliness: "Return visits in time"
};
const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 240;
const $ = (id) => document.getElementById(id);

// The token comes from the link's fragment (#token=…, never sent to a server, so it stays out of
// server and proxy logs) or is pasted into the field; it is never stored. Once read, the
// fragment is taken out of the address bar so the link on screen can be shared without it.
const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
const search = new URLSearchParams(location.search);
$("token").value = fragment.get("token") || "";
$("period").value = fragment.get("period") || search.get("period") || "";
$("branch").value = fragment.get("branch") || search.get("branch") || "";
if (fragment.has("token")) history.replaceState(null, "", location.pathname + location.search);

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function shape(tag, attrs, parent) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (parent) parent.appendChild(e);
  return e;
}

function percent(bp) {
  return (bp / 100).toFixed(2) + " %";
}

// A value's share of the chart's width: basis points, 100 % at most (spend above the quotes, say).
function scaled(bp, width) {
  return Math.round(width * Math.min(Math.max(bp, 0), 10000) / 10000);
}

function isKpi(v) {
  return v !== null && typeof v === "object" && typeof v.value_bp === "number";
}

function meets(k) {
  if (!k.target_bp || !k.denominator) return null;
  return k.lower_is_better ? k.value_bp <= k.target_bp : k.value_bp >= k.target_bp;
}

// One indicator's chart: `trend` is the periods before, oldest first, then this one.
function chart(name, k, trend) {
  const fig = el("figure", "kpi");
  const ok = meets(k);
  fig.classList.add(!k.denominator ? "empty" : ok === null ? "neutral" : ok ? "ok" : "miss");
  fig.dataset.kpi = name;
  fig.dataset.value = String(k.value_bp);
  fig.dataset.numerator = String(k.numerator);
  fig.dataset.denominator = String(k.denominator);
  fig.dataset.target = String(k.target_bp);
  fig.appendChild(el("figcaption", "", LABEL[name] || name.replace(/_/g, " ")));

  const svg = shape("svg", { viewBox: "0 0 260 110", width: 260, height: 110, role: "img",
    "aria-label": (LABEL[name] || name) + ": " + percent(k.value_bp) });
  // The gauge: the value against 100 %, the target as a mark.
  shape("rect", { class: "track", x: 10, y: 6, width: WIDTH, height: 16, rx: 3 }, svg);
  shape("rect", { class: "bar", x: 10, y: 6, width: scaled(k.value_bp, WIDTH), height: 16, rx: 3 }, svg);
  if (k.target_bp) {
    const x = 10 + scaled(k.target_bp, WIDTH);
    const mark = shape("line", { class: "target", x1: x, x2: x, y1: 2, y2: 26 }, svg);
    shape("title", {}, mark).textContent = "target " + (k.lower_is_better ? "≤ " : "≥ ") + percent(k.target_bp);
  }
  // The trend: one bar per period.
  const slot = WIDTH / Math.max(trend.length, 1);
  trend.forEach((t, i) => {
    const h = Math.max(scaled(t.kpi.value_bp, 60), 1);
    const bar = shape("rect", { class: i === trend.length - 1 ? "tbar current" : "tbar",
      x: (10 + i * slot + 2).toFixed(1), y: 94 - h, width: Math.max(slot - 4, 1).toFixed(1), height: h }, svg);
    shape("title", {}, bar).textContent = (t.period || "this period") + ": " + percent(t.kpi.value_bp)
      + " (" + t.kpi.numerator + " / " + t.kpi.denominator + ")";
    const label = shape("text", { class: "period", x: (10 + i * slot + slot / 2).toFixed(1), y: 106,
      "text-anchor": "middle" }, svg);
    label.textContent = t.period || "";
  });
  fig.appendChild(svg);

  fig.appendChild(el("p", "value", percent(k.value_bp)));
  fig.appendChild(el("p", "ratio", k.denominator ? k.numerator + " / " + k.denominator : "no data yet"));
  if (k.target_bp) {
    fig.appendChild(el("p", "target", "target " + (k.lower_is_better ? "≤ " : "≥ ") + percent(k.target_bp)));
  }
  return fig;
}

function draw(report) {
  const main = report.kpis || {};
  const before = report.history || [];
  const root = $("kpis");
  root.textContent = "";
  for (const [name, k] of Object.entries(main)) {
    if (!isKpi(k)) continue;
    const trend = before
      .filter((p) => isKpi(p[name]))
      .map((p) => ({ period: p.period_name, kpi: p[name] }))
      .concat([{ period: main.period_name, kpi: k }]);
    root.appendChild(chart(name, k, trend));
  }
  const range = main.period || {};
  $("scope").textContent = (main.period_name || "free range") + " · "
    + (range.from || "?") + " – " + (range.to || "?") + " · " + (main.branch || "every branch you see");
  const extra = $("extra");
  extra.textContent = "";
  if (typeof main.complaint_response_avg_minutes === "number") {
    const p = el("span", "", "Complaints were answered in " + main.complaint_response_avg_minutes
      + " working minutes on average.");
    p.id = "complaint-avg";
    p.dataset.value = String(main.complaint_response_avg_minutes);
    extra.appendChild(p);
  }
  root.dataset.count = String(root.children.length);
}

async function problem(r) {
  try {
    const body = await r.json();
    return r.status + " " + (body.detail || body.title || "");
  } catch (err) {
    return String(r.status);
  }
}

async function load() {
  const token = $("token").value.trim();
  if (!token) { $("state").textContent = "paste a token to load"; return; }
  const auth = { headers: { Authorization: "Bearer " + token } };
  const q = new URLSearchParams();
  if ($("period").value.trim()) q.set("period", $("period").value.trim());
  if ($("branch").value.trim()) q.set("branch", $("branch").value.trim().toUpperCase());
  $("state").textContent = "loading…";
  let r = await fetch("/v1/kpis?" + q, auth);
  if (!r.ok) { $("state").textContent = "failed: " + (await problem(r)); return; }
  let report = await r.json();
  // The periods before need the period's name (a free range has none).
  const name = report.kpis && report.kpis.period_name;
  if (name) {
    q.set("period", name);
    q.set("history", String(HISTORY));
    r = await fetch("/v1/kpis?" + q, auth);
    if (r.ok) report = await r.json();
  }
  draw(report);
  $("state").textContent = "loaded";
}

$("load").onclick = load;
if ($("token").value) load();
