// The supervisors' history page: the KPIs of a date range by queue, agent, interval, day
// or month (GET /api/kpis), their CSV (/api/kpis.csv) and charts (/api/kpis/chart.svg),
// the abandoned calls not called back (/api/calls/abandoned), each to call back
// (POST /api/calls/{id}/callback) or to open (/api/calls/{id}: its record, and its
// recording's player when it has one the user may play), the callbacks to follow up
// (/api/callbacks) to cancel or move, and an Erlang C staffing estimate (/api/staffing).
// The tenant's time zone, queues and agents come from /api/meta. Every failure is shown.

import {
  $,
  api,
  attempt,
  count,
  describe,
  duration,
  h,
  percent,
  showUser,
  wireSignOut,
} from "/static/common.js";

/** The columns of the report: PRODUCT.md's field names, with readable headers. */
export const FIELDS = [
  { key: "offered", label: "Offered", show: count },
  { key: "answered", label: "Answered", show: count },
  { key: "abandoned", label: "Abandoned", show: count },
  { key: "short_abandoned", label: "Short abandons", show: count },
  { key: "transferred", label: "Transferred", show: count },
  { key: "service_level", label: "Service level", show: percent },
  { key: "service_level_with_abandons", label: "SL with abandons", show: percent },
  { key: "asa_seconds", label: "ASA", show: duration },
  { key: "avg_queue_seconds", label: "Avg queue time", show: duration },
  { key: "longest_wait_seconds", label: "Longest wait", show: duration },
  { key: "avg_talk_seconds", label: "Avg talk", show: duration },
  { key: "avg_hold_seconds", label: "Avg hold", show: duration },
  { key: "avg_acw_seconds", label: "Avg ACW", show: duration },
  { key: "aht_seconds", label: "AHT", show: duration },
  { key: "abandon_rate", label: "Abandon rate", show: percent },
  { key: "abandon_rate_excl_short", label: "Abandon rate excl. short", show: percent },
  { key: "fcr_rate", label: "FCR", show: percent },
  { key: "occupancy", label: "Occupancy", show: percent },
  { key: "occupancy_with_acw", label: "Occupancy with ACW", show: percent },
];

const GROUP_NAMES = {
  queue: "Queue",
  agent: "Agent",
  interval: "Interval",
  day: "Day",
  month: "Month",
};
const VOLUME = "offered,answered,abandoned";
const SERVICE = "service_level,asa_seconds";

const meta = { timezone: null, queues: new Map(), agents: new Map() };
let shown = 0; // the latest report asked for: an older answer arriving late is dropped

// --- dates (ISO yyyy-mm-dd, in the tenant's time zone) --------------------------------

/** A moment (epoch seconds) as the tenant's clock showed it. */
function moment(epochSeconds, timeStyle = "short") {
  if (epochSeconds == null) return "–";
  return new Date(epochSeconds * 1000).toLocaleString(undefined, {
    dateStyle: "medium",
    timeStyle,
    timeZone: meta.timezone || undefined,
  });
}

/** Today's date in `timeZone` (the browser's own when null). */
export function today(timeZone) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: timeZone || undefined,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).formatToParts(new Date());
  const part = (type) => parts.find((p) => p.type === type).value;
  return `${part("year")}-${part("month")}-${part("day")}`;
}

export function addDays(iso, days) {
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** [from, to] (both included) of a quick choice. */
export function quickRange(name, now) {
  if (name === "today") return [now, now];
  if (name === "yesterday") return [addDays(now, -1), addDays(now, -1)];
  if (name === "last7") return [addDays(now, -6), now];
  if (name === "month") return [`${now.slice(0, 8)}01`, now];
  throw new Error(`unknown range ${name}`);
}

// --- the report ------------------------------------------------------------------------

/** The query of the current filters, shared by the table, the CSV and the charts. */
function filters() {
  const from = $("#from").value;
  const to = $("#to").value;
  if (!from || !to) throw new Error("Choose the first and the last day of the report.");
  if (to < from) throw new Error("The last day is before the first day.");
  const [by, interval] = $("#by").value.split(":");
  const query = new URLSearchParams({ from, to: addDays(to, 1), by });
  if (interval) query.set("interval", interval);
  if ($("#queue").value) query.set("queue", $("#queue").value);
  if ($("#agent").value) query.set("agent", $("#agent").value);
  const threshold = $("#sl-threshold").value.trim();
  if (threshold) {
    const seconds = Number(threshold);
    if (!(seconds > 0 && seconds <= 600)) throw new Error("The SL threshold is 1 to 600 seconds.");
    query.set("sl_threshold", String(seconds));
  }
  return query;
}

function groupLabel(by, key) {
  if (by === "queue") return meta.queues.get(key)?.name ?? key;
  if (by === "agent") return meta.agents.get(key)?.name ?? key;
  // the group's start, ISO 8601 in the tenant's time zone: shown to the minute, day or month
  const cut = { interval: 16, day: 10, month: 7 }[by];
  return cut && /^\d{4}-\d\d/.test(key) ? key.slice(0, cut).replace("T", " ") : key;
}

function cells(tag, row) {
  return FIELDS.map((f) =>
    h(tag, { class: "num", dataset: { field: f.key } }, f.show(row?.[f.key] ?? null)),
  );
}

function renderReport(report) {
  const by = report.by;
  $("#kpis thead").replaceChildren(
    h(
      "tr",
      {},
      h("th", { dataset: { field: by } }, GROUP_NAMES[by] ?? by),
      FIELDS.map((f) =>
        h("th", { class: "num", dataset: { field: f.key }, title: f.key }, f.label),
      ),
    ),
  );
  const groups = Object.entries(report.groups || {});
  $("#kpis tbody").replaceChildren(
    ...groups.map(([key, row]) =>
      h(
        "tr",
        { dataset: { group: key } },
        h("th", { scope: "row" }, groupLabel(by, key)),
        cells("td", row),
      ),
    ),
  );
  $("#kpis tfoot").replaceChildren(
    h(
      "tr",
      { dataset: { group: "total" } },
      h("th", { scope: "row" }, "Total"),
      cells("td", report.total),
    ),
  );
  $("#kpis-empty").hidden = (report.total?.offered ?? 0) > 0;
  const bands = Object.entries(report.total?.service_level_bands || {}).sort(
    ([a], [b]) => Number(a) - Number(b),
  );
  $("#bands thead").replaceChildren(
    h(
      "tr",
      {},
      h("th", {}, "Answered within"),
      bands.map(([seconds]) => h("th", { class: "num" }, `${seconds} s`)),
    ),
  );
  $("#bands tbody").replaceChildren(
    h(
      "tr",
      {},
      h("th", { scope: "row" }, "Share of answered"),
      bands.map(([seconds, share]) =>
        h("td", { class: "num", dataset: { band: seconds } }, percent(share)),
      ),
    ),
  );
  const zone = meta.timezone ? ` (${meta.timezone})` : "";
  $("#range-note").textContent =
    `Calls queued from ${moment(report.from)} to ${moment(report.to)}${zone} · ` +
    `service level within ${report.sl_threshold} s`;
}

/** An <img> chart; when it fails, the API's own answer says why. */
function showChart(img, url) {
  img.onerror = () =>
    attempt(async () => {
      const reply = await fetch(url, { credentials: "same-origin" });
      const data = await reply.json().catch(() => null);
      const why = describe(data?.detail) || reply.statusText || "the image cannot be shown";
      throw new Error(`Chart failed (HTTP ${reply.status}): ${why}`);
    });
  img.src = url;
}

async function load() {
  const query = filters();
  const mine = ++shown;
  $("#csv").href = `/api/kpis.csv?${query}`;
  const chartQuery = new URLSearchParams(query);
  chartQuery.set("fields", VOLUME);
  showChart($("#chart-volume"), `/api/kpis/chart.svg?${chartQuery}`);
  chartQuery.set("fields", SERVICE);
  showChart($("#chart-service"), `/api/kpis/chart.svg?${chartQuery}`);
  const abandonedQuery = new URLSearchParams({ from: query.get("from"), to: query.get("to") });
  if (query.get("queue")) abandonedQuery.set("queue", query.get("queue"));
  const [report, abandoned] = await Promise.all([
    api("GET", `/api/kpis?${query}`),
    api("GET", `/api/calls/abandoned?${abandonedQuery}`),
  ]);
  if (mine !== shown) return;
  renderReport(report);
  renderAbandoned(abandoned.calls);
}

// --- abandoned calls and call records ------------------------------------------------------

function renderAbandoned(calls) {
  $("#abandoned tbody").replaceChildren(
    ...calls.map((c) =>
      h(
        "tr",
        { dataset: { call: c.call_id } },
        h(
          "td",
          {},
          h(
            "button",
            {
              type: "button",
              class: "link-button",
              onclick: () => attempt(() => showCall(c.call_id)),
            },
            c.call_id,
          ),
        ),
        h("td", {}, meta.queues.get(c.queue)?.name ?? c.queue),
        h("td", {}, c.caller_number),
        h("td", {}, c.customer_id ?? "–"),
        h("td", {}, moment(c.queued_at)),
        h("td", { class: "num" }, duration(c.queue_seconds)),
        h(
          "td",
          {},
          h(
            "button",
            { type: "button", class: "secondary small call-back", onclick: (e) => attempt(() => callBack(c, e.target)) },
            "Call back",
          ),
        ),
      ),
    ),
  );
  $("#abandoned-empty").hidden = calls.length > 0;
  $("#call-record").hidden = true;
}

function fieldValue(key, value) {
  if (value == null) return "–";
  if (key.endsWith("_at")) return moment(value, "medium");
  if (key.endsWith("_seconds")) return duration(value);
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

async function showCall(callId) {
  const record = await api("GET", `/api/calls/${encodeURIComponent(callId)}`);
  const { events = [], recording = null, ...fields } = record;
  $("#call-title").textContent = `Call ${callId}`;
  $("#call-fields").replaceChildren(
    ...Object.entries(fields).flatMap(([key, value]) => [
      h("dt", {}, key),
      h("dd", { dataset: { field: key } }, fieldValue(key, value)),
    ]),
  );
  const path = events
    .filter((e) => e.kind.startsWith("ivr.") && Array.isArray(e.data?.path))
    .flatMap((e) => e.data.path);
  $("#call-ivr").textContent = path.length ? path.join(" › ") : "none recorded";
  renderRecording(recording);
  $("#call-events tbody").replaceChildren(
    ...events.map((e) =>
      h(
        "tr",
        { dataset: { kind: e.kind } },
        h("td", {}, moment(e.at, "medium")),
        h("td", {}, e.kind),
        h("td", {}, e.agent_id ?? ""),
        h("td", {}, e.queue ?? ""),
        h("td", { class: "data" }, Object.keys(e.data ?? {}).length ? JSON.stringify(e.data) : ""),
      ),
    ),
  );
  $("#call-record").hidden = false;
  $("#call-record").scrollIntoView({ block: "nearest" });
}

/** The call's recording, when it has one the user may play: a player, and its pauses
 * (the file holds the call without them). */
function renderRecording(recording) {
  const box = $("#call-recording");
  box.hidden = !recording;
  if (!recording) {
    box.replaceChildren();
    return;
  }
  const pauses = recording.pauses || [];
  box.replaceChildren(
    h("h4", {}, "Recording"),
    recording.ended
      ? h("audio", { id: "call-audio", controls: true, preload: "metadata", src: recording.url })
      : h("p", { class: "muted" }, "The call is still being recorded."),
    pauses.length
      ? h(
          "p",
          { class: "muted", id: "call-pauses" },
          `Paused ${pauses.length} time(s), ${duration(recording.paused_seconds)} in all: ` +
            pauses.map(([start, end]) => `${moment(start, "medium")} – ${moment(end, "medium")}`).join(", "),
        )
      : null,
  );
}

/** Call an abandoned caller back now, through the call's queue. */
async function callBack(call, button) {
  button.disabled = true;
  try {
    const made = await api("POST", `/api/calls/${encodeURIComponent(call.call_id)}/callback`);
    button.replaceWith(h("span", { class: "muted requested" }, made.merged ? "Already asked" : "Requested"));
    notice(`Callback to ${made.number} requested through ${meta.queues.get(made.queue)?.name ?? made.queue}.`);
  } finally {
    button.disabled = false;
  }
  await loadCallbacks();
}

// --- callbacks to follow up ---------------------------------------------------------------

const CHANGEABLE = new Set(["pending", "retry", "reserved"]); // not one being dialed now

function notice(text) {
  const el = $("#callback-notice");
  el.textContent = text;
  el.hidden = false;
}

async function loadCallbacks() {
  const status = $("#callbacks-status").value;
  const found = await api("GET", `/api/callbacks?status=${encodeURIComponent(status)}`);
  renderCallbacks(found.callbacks);
}

function renderCallbacks(callbacks) {
  $("#callbacks tbody").replaceChildren(...callbacks.map(callbackRow));
  $("#callbacks-empty").hidden = callbacks.length > 0;
}

function callbackRow(cb) {
  const at = h("input", { type: "datetime-local", class: "move-at", "aria-label": "New time" });
  const actions = CHANGEABLE.has(cb.status)
    ? h(
        "td",
        { class: "actions" },
        h(
          "button",
          { type: "button", class: "secondary small cancel", onclick: () => attempt(() => cancelCallback(cb)) },
          "Cancel",
        ),
        at,
        h(
          "button",
          { type: "button", class: "secondary small move", onclick: () => attempt(() => moveCallback(cb, at.value)) },
          "Move",
        ),
      )
    : h("td", { class: "muted" }, "–");
  return h(
    "tr",
    { dataset: { ref: cb.ref, status: cb.status } },
    h("td", {}, cb.number),
    h("td", {}, meta.queues.get(cb.queue)?.name ?? cb.queue ?? "–"),
    h("td", {}, cb.source),
    h("td", { class: "status" }, cb.status),
    h("td", { class: "num" }, count(cb.attempts)),
    h("td", {}, cb.last_result ?? "–"),
    h("td", { class: "due" }, cb.due_at != null ? moment(cb.due_at) : CHANGEABLE.has(cb.status) ? "now" : "–"),
    h("td", {}, moment(cb.requested_at)),
    actions,
  );
}

async function cancelCallback(cb) {
  await api("POST", `/api/callbacks/${encodeURIComponent(cb.ref)}/cancel`);
  notice(`Callback to ${cb.number} cancelled.`);
  await loadCallbacks();
}

async function moveCallback(cb, when) {
  if (!when) throw new Error("Choose the new day and time of the callback.");
  const at = new Date(when).getTime() / 1000;
  if (!Number.isFinite(at)) throw new Error("That is not a day and time.");
  const moved = await api("POST", `/api/callbacks/${encodeURIComponent(cb.ref)}/reschedule`, { at });
  notice(`Callback to ${cb.number} moved to ${moment(moved.due_at)}.`);
  await loadCallbacks();
}

// --- staffing --------------------------------------------------------------------------

async function estimate() {
  const calls = $("#st-calls")
    .value.split(",")
    .map((v) => v.trim())
    .filter(Boolean);
  if (!calls.length) throw new Error("Enter the forecast calls per interval, e.g. 100, 120, 90.");
  const query = new URLSearchParams({
    calls: calls.join(","),
    aht: $("#st-aht").value,
    interval: $("#st-interval").value,
    target_sl: String(Number($("#st-target").value) / 100),
    threshold: $("#st-threshold").value,
  });
  const occupancy = $("#st-occupancy").value.trim();
  if (occupancy) query.set("max_occupancy", String(Number(occupancy) / 100));
  const plan = await api("GET", `/api/staffing?${query}`);
  $("#staffing-result tbody").replaceChildren(
    ...plan.intervals.map((row) =>
      h(
        "tr",
        { dataset: { interval: row.interval } },
        h("td", {}, row.interval),
        h("td", { class: "num" }, count(row.calls)),
        h("td", { class: "num" }, row.traffic_erlangs?.toFixed(2) ?? "–"),
        h("td", { class: "num agents" }, count(row.agents_needed)),
        h("td", { class: "num" }, percent(row.service_level)),
        h("td", { class: "num" }, duration(row.asa_seconds)),
        h("td", { class: "num" }, percent(row.occupancy)),
        h("td", { class: "num" }, percent(row.probability_of_wait)),
      ),
    ),
  );
  $("#staffing-result").hidden = false;
}

// --- the page ----------------------------------------------------------------------------

function setRange(name) {
  const [from, to] = quickRange(name, today(meta.timezone));
  $("#from").value = from;
  $("#to").value = to;
}

function fillSelect(select, items) {
  select.append(...items.map((item) => h("option", { value: item.id }, item.name || item.id)));
}

/** The tenant's time zone, queues and agents; without them the page still works (ids only). */
async function loadMeta() {
  const [me, info] = await Promise.all([api("GET", "/api/me"), api("GET", "/api/meta")]);
  showUser(me);
  meta.timezone = info.timezone;
  meta.queues = new Map(info.queues.map((q) => [q.id, q]));
  meta.agents = new Map(info.agents.map((a) => [a.id, a]));
  fillSelect($("#queue"), info.queues);
  fillSelect($("#agent"), info.agents);
}

async function start() {
  wireSignOut();
  for (const button of document.querySelectorAll("[data-range]")) {
    button.addEventListener("click", () => {
      setRange(button.dataset.range);
      attempt(load);
    });
  }
  $("#filters").addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(load);
  });
  for (const id of ["#by", "#queue", "#agent"]) {
    $(id).addEventListener("change", () => attempt(load));
  }
  $("#open-call").addEventListener("submit", (event) => {
    event.preventDefault();
    const callId = $("#open-call-id").value.trim();
    attempt(() => {
      if (!callId) throw new Error("Type the id of the call to open.");
      return showCall(callId);
    });
  });
  $("#callbacks-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(loadCallbacks);
  });
  $("#callbacks-status").addEventListener("change", () => attempt(loadCallbacks));
  $("#staffing").addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(estimate);
  });
  await attempt(loadMeta);
  setRange("today");
  await Promise.all([load(), attempt(loadCallbacks)]);
}

attempt(start);
