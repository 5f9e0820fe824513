// The supervisors' wallboard: per queue the calls waiting, longest current wait,
// service level, ASA, abandonment and counts today, and its agents by state (the
// snapshot says who serves each queue); the agents with their state and
// time in it; alerts when a queue's figure crosses its configured thresholds; and
// changing an agent's state. The snapshot replaces everything after every
// (re)connection; `queue.stats`, `tenant.stats`, `agent.stats` and `agent.state`
// pushes update it.

import {
  $,
  Socket,
  api,
  attempt,
  clock,
  count,
  duration,
  h,
  onTick,
  percent,
  setSince,
  showError,
  showLink,
  showUser,
  wireSignOut,
} from "/static/common.js";

const STATE_NAMES = {
  logged_out: "Logged out",
  ready: "Ready",
  not_ready: "Not ready",
  reserved: "Ringing",
  on_call: "On call",
  hold: "On hold",
  wrap_up: "Wrap-up",
};

/** The figures of a queue (and of the tenant), in the order shown. */
const FIGURES = [
  { key: "calls_waiting", label: "Waiting", value: (s) => s?.calls_waiting ?? 0, show: count },
  { key: "longest_wait_seconds", label: "Longest wait", value: longestWait, show: duration },
  { key: "service_level", label: "Service level", value: (s) => s?.service_level, show: percent },
  { key: "asa_seconds", label: "ASA", value: (s) => s?.asa_seconds, show: duration },
  { key: "abandon_rate", label: "Abandon rate", value: (s) => s?.abandon_rate, show: percent },
  { key: "answered", label: "Answered", value: (s) => s?.answered ?? 0, show: count },
  { key: "abandoned", label: "Abandoned", value: (s) => s?.abandoned ?? 0, show: count },
  { key: "offered", label: "Offered", value: (s) => s?.offered ?? 0, show: count },
];

const state = {
  queues: [], // [{id, name, thresholds, agents: the ids of the agents serving it}]
  agents: new Map(), // id -> {agent_id, name, state, reason, since}
  queueStats: new Map(),
  agentStats: new Map(),
  total: null,
  reasons: [],
};
let shownAlerts = "";

const socket = new Socket({
  hello: (msg) => showUser(msg.principal),
  snapshot: onSnapshot,
  message: onPush,
  link: (status) => {
    showLink(status);
    renderAgentControls();
  },
  error: showError,
});

/** The longest wait of the callers waiting now, moving with the clock between pushes. */
function longestWait(stats) {
  if (!stats || !stats.calls_waiting || stats.longest_current_wait_seconds == null) return null;
  const moved = stats.at == null ? 0 : Math.max(0, clock.now() - stats.at);
  return stats.longest_current_wait_seconds + moved;
}

/** "red", "amber" or null: a figure reaching a threshold (or with `below`, under it). */
export function level(threshold, value) {
  if (!threshold || value == null) return null;
  const breached = (limit) => (threshold.below ? value < limit : value >= limit);
  if (breached(threshold.red)) return "red";
  if (breached(threshold.amber)) return "amber";
  return null;
}

// --- what the server says ------------------------------------------------------------

function onSnapshot(msg) {
  state.queues = msg.queues || [];
  state.reasons = msg.reasons || [];
  state.agents = new Map((msg.agents || []).map((a) => [a.agent_id, { ...a }]));
  const stats = msg.stats || {};
  state.queueStats = new Map(Object.entries(stats.queues || {}));
  state.agentStats = new Map(Object.entries(stats.agents || {}));
  state.total = msg.stats ? stats : null;
  if (!msg.agents) showError("This page is for supervisors: your user cannot see the wallboard.");
  buildQueues();
  buildAgents();
  render();
}

function onPush(msg) {
  if (msg.type === "queue.stats") state.queueStats.set(msg.queue, msg.stats);
  else if (msg.type === "tenant.stats") state.total = msg.stats;
  else if (msg.type === "agent.stats") state.agentStats.set(msg.agent_id, msg.stats);
  else if (msg.type === "agent.state") {
    const agent = state.agents.get(msg.agent_id);
    if (!agent) return; // not one of this tenant's configured agents
    Object.assign(agent, { state: msg.state, reason: msg.reason, since: msg.since });
  }
  render();
}

// --- building the page (once per snapshot) -----------------------------------------

function tiles(scope) {
  return FIGURES.map((f) =>
    h(
      "div",
      { class: "tile", dataset: { scope, figure: f.key } },
      h("span", { class: "figure" }, "–"),
      h("span", { class: "caption" }, f.label),
    ),
  );
}

function buildQueues() {
  $("#total-tiles").replaceChildren(...tiles("total"));
  $("#queues").replaceChildren(
    ...state.queues.map((q) =>
      h(
        "article",
        { class: "panel queue", dataset: { queue: q.id } },
        h("h2", {}, q.name),
        h("div", { class: "tiles" }, tiles(q.id)),
        h("div", { class: "counts queue-agents", dataset: { queue: q.id }, "aria-label": `Agents of ${q.name}` }),
      ),
    ),
  );
}

function buildAgents() {
  const choices = [
    h("option", { value: "ready" }, "Ready"),
    ...state.reasons.map((r) => h("option", { value: `not_ready:${r}` }, `Not ready: ${r}`)),
    h("option", { value: "logged_out" }, "Log out"),
  ];
  $("#agents tbody").replaceChildren(
    ...[...state.agents.values()].map((agent) => {
      const select = h(
        "select",
        { "aria-label": `New state for ${agent.name || agent.agent_id}` },
        choices.map((o) => o.cloneNode(true)),
      );
      const apply = h(
        "button",
        { type: "button", onclick: () => setState(agent.agent_id, select.value) },
        "Set",
      );
      return h(
        "tr",
        { dataset: { agent: agent.agent_id } },
        h("td", {}, agent.name || agent.agent_id),
        h("td", {}, h("span", { class: "badge state" })),
        h("td", { class: "reason" }),
        h("td", { class: "num since" }),
        h("td", { class: "num calls" }),
        h("td", { class: "num aht" }),
        h("td", {}, h("div", { class: "set-state" }, select, apply)),
        h(
          "td",
          {},
          h(
            "div",
            { class: "spy" },
            ...SPY_MODES.map(([mode, label]) =>
              h(
                "button",
                { type: "button", class: "secondary small", dataset: { mode }, onclick: () => spy(agent.agent_id, mode) },
                label,
              ),
            ),
          ),
        ),
      );
    }),
  );
}

// --- rendering (every push and every second) ---------------------------------------

function render() {
  renderFigures("total", state.total, null);
  for (const q of state.queues) renderFigures(q.id, state.queueStats.get(q.id), q.thresholds || {});
  renderAgents();
  renderAlerts();
}

function renderFigures(scope, stats, thresholds) {
  for (const f of FIGURES) {
    const tile = document.querySelector(`.tile[data-scope="${CSS.escape(scope)}"][data-figure="${f.key}"]`);
    if (!tile) continue;
    const value = f.value(stats);
    tile.querySelector(".figure").textContent = f.show(value);
    const breach = thresholds ? level(thresholds[f.key], value) : null;
    if (breach) tile.dataset.level = breach;
    else delete tile.dataset.level;
  }
}

function renderAgents() {
  const counts = new Map();
  for (const agent of state.agents.values()) {
    const row = document.querySelector(`#agents tr[data-agent="${CSS.escape(agent.agent_id)}"]`);
    if (!row) continue;
    const stats = state.agentStats.get(agent.agent_id);
    const shown = shownState(agent);
    const badge = row.querySelector(".state");
    badge.dataset.state = shown;
    badge.textContent = STATE_NAMES[shown] ?? shown;
    row.querySelector(".reason").textContent = agent.state === "not_ready" ? agent.reason || "" : "";
    const since = agent.since ?? (stats?.state === agent.state ? stats.state_since : null);
    setSince(row.querySelector(".since"), agent.state === "logged_out" ? null : since);
    row.querySelector(".calls").textContent = count(stats?.calls_handled ?? 0);
    row.querySelector(".aht").textContent = duration(stats?.aht_seconds);
    if (agent.state !== "logged_out") counts.set(shown, (counts.get(shown) ?? 0) + 1);
  }
  $("#agent-counts").replaceChildren(...countBadges(counts));
  for (const q of state.queues) {
    const box = document.querySelector(`.queue-agents[data-queue="${CSS.escape(q.id)}"]`);
    if (!box) continue;
    const members = new Map();
    for (const id of q.agents || []) {
      const shown = shownState(state.agents.get(id));
      if (shown && shown !== "logged_out") members.set(shown, (members.get(shown) ?? 0) + 1);
    }
    box.replaceChildren(
      ...(members.size ? countBadges(members) : [h("span", { class: "muted" }, "No agent logged in")]),
    );
  }
  renderAgentControls();
}

/** The state shown for an agent: on hold while their caller is (from agent.stats). */
function shownState(agent) {
  if (!agent) return null;
  const stats = state.agentStats.get(agent.agent_id);
  return agent.state === "on_call" && stats?.state === "hold" ? "hold" : agent.state;
}

/** "Ready: 2"-like badges of agents by state, in the order of STATE_NAMES. */
function countBadges(counts) {
  const order = Object.keys(STATE_NAMES);
  return [...counts.entries()]
    .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
    .map(([s, n]) => h("span", { class: "badge", dataset: { state: s } }, `${STATE_NAMES[s] ?? s}: ${n}`));
}

function renderAgentControls() {
  for (const el of document.querySelectorAll("#agents .set-state > *")) el.disabled = !socket.connected;
  for (const agent of state.agents.values()) {
    const row = document.querySelector(`#agents tr[data-agent="${CSS.escape(agent.agent_id)}"]`);
    // a call to listen to: the agent is on one (the server says if it cannot be done)
    const onCall = agent.state === "on_call";
    for (const button of row?.querySelectorAll(".spy button") ?? []) {
      button.disabled = !socket.connected || !onCall;
    }
  }
}

function renderAlerts() {
  const breaches = [];
  for (const q of state.queues) {
    const stats = state.queueStats.get(q.id);
    for (const f of FIGURES) {
      const threshold = (q.thresholds || {})[f.key];
      const value = f.value(stats);
      const breach = level(threshold, value);
      if (breach) {
        const limit = f.show(threshold[breach]);
        const how = threshold.below ? "below" : "at or above";
        breaches.push({
          level: breach,
          where: `${q.id}/${f.key}`,
          text: `${q.name}: ${f.label.toLowerCase()} ${f.show(value)} (${breach}: ${how} ${limit})`,
        });
      }
    }
  }
  breaches.sort((a, b) => (a.level === b.level ? 0 : a.level === "red" ? -1 : 1));
  const box = $("#alerts");
  const key = JSON.stringify(breaches.map((b) => [b.level, b.where]));
  if (key !== shownAlerts) {
    // a new breach (or one less): new alert elements, announced once
    shownAlerts = key;
    box.replaceChildren(
      ...breaches.map((b) => h("div", { class: "alert", role: "alert", dataset: { level: b.level } })),
    );
  }
  breaches.forEach((b, i) => (box.children[i].textContent = b.text));
}

// --- actions -----------------------------------------------------------------------

const SPY_MODES = [
  ["listen", "Listen"],
  ["whisper", "Whisper"],
  ["barge", "Barge"],
];

/** Ring my phone into the agent's call: listen, whisper to the agent, or barge in. */
function spy(agentId, mode) {
  return attempt(async () => {
    await socket.send("supervisor.spy", { agent_id: agentId, mode });
    const note = $("#spy-note");
    note.textContent = `Your phone rings: ${mode} on ${agentId}'s call.`;
    note.hidden = false;
    setTimeout(() => (note.hidden = true), 8000);
  });
}

function setState(agentId, choice) {
  const cut = choice.indexOf(":");
  const target = cut < 0 ? choice : choice.slice(0, cut);
  const reason = cut < 0 ? null : choice.slice(cut + 1);
  const fields = { agent_id: agentId, state: target };
  if (reason) fields.reason = reason;
  return attempt(() => socket.send("supervisor.set_state", fields));
}

// --- campaigns (their progress from the store, every few seconds) -------------------

const CAMPAIGN_EVERY_MS = 3000;
const CAMPAIGN_MOVES = { draft: ["start", "stop"], running: ["pause", "stop"], paused: ["resume", "stop"] };

let campaignTimer = null;

async function refreshCampaigns() {
  clearTimeout(campaignTimer);
  try {
    renderCampaigns(await api("GET", "/api/campaigns"));
  } catch (error) {
    showError(error);
  } finally {
    clearTimeout(campaignTimer);
    campaignTimer = setTimeout(refreshCampaigns, CAMPAIGN_EVERY_MS);
  }
}

function renderCampaigns(campaigns) {
  $("#campaigns-panel").hidden = !campaigns.length;
  $("#campaigns tbody").replaceChildren(
    ...campaigns.map((c) => {
      const p = c.progress;
      const results = Object.entries(p.by_result)
        .filter(([, n]) => n)
        .map(([r, n]) => `${r.replace("_", " ")} ${n}`)
        .join(", ");
      const moves = (CAMPAIGN_MOVES[c.status] ?? []).map((move) =>
        h(
          "button",
          { type: "button", class: "secondary small", dataset: { move }, onclick: () => moveCampaign(c.id, move) },
          move[0].toUpperCase() + move.slice(1),
        ),
      );
      return h(
        "tr",
        { dataset: { campaign: c.id } },
        h("td", {}, c.name),
        h("td", {}, c.queue),
        h("td", {}, h("span", { class: "badge", dataset: { state: c.status } }, c.status)),
        h("td", { class: "num contacts" }, count(p.contacts)),
        h("td", { class: "num dialed" }, count(p.dialed)),
        h("td", { class: "num connected" }, count(p.connected)),
        h("td", { class: "num rate" }, percent(p.contact_rate)),
        h("td", { class: "num remaining" }, count(p.remaining)),
        h("td", { class: "results" }, results || "–"),
        h("td", {}, h("div", { class: "spy" }, ...moves)),
      );
    }),
  );
}

function moveCampaign(id, move) {
  return attempt(async () => {
    await api("POST", `/api/campaigns/${encodeURIComponent(id)}/${move}`);
    await refreshCampaigns();
  });
}

wireSignOut();
refreshCampaigns();
onTick(() => {
  for (const q of state.queues) renderFigures(q.id, state.queueStats.get(q.id), q.thresholds || {});
  renderFigures("total", state.total, null);
  renderAlerts();
});
socket.start();
