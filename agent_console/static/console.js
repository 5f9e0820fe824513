// The agent console: my state and its controls, the call, the screen pop (from the
// moment the call is offered), and the wrap-up. Everything shown comes from the
// server: the snapshot replaces it all after every (re)connection, pushes update it.

import {
  $,
  Socket,
  attempt,
  clock,
  dateTime,
  duration,
  h,
  onTick,
  setSince,
  showError,
  showLink,
  showUser,
  wireSignOut,
} from "/static/common.js";
import { customerSearch } from "/static/customers.js";
import { popView } from "/static/pop.js";

const STATE_NAMES = {
  logged_out: "Logged out",
  ready: "Ready",
  not_ready: "Not ready",
  reserved: "Ringing",
  on_call: "On call",
  wrap_up: "Wrap-up",
};
const CALL_NAMES = {
  dialing: "Dialing",
  ringing: "Ringing",
  consulting: "Consultation",
  talking: "Talking",
  on_hold: "On hold",
  ended: "Ended",
};
const IDLE = new Set(["ready", "not_ready", "logged_out"]);
const WRAP_KEY = "cti.console.wrapup";
const TITLE = document.title;

const state = {
  agent: null, // {agent_id, name, state, reason, since, wrapup_until}
  call: null, // {call_id, state, since, queue}
  pop: null, // the screen_pop of the current (or last) call
  preview: null, // a preview campaign's contact I decide to call or skip
  reasons: [],
  dispositions: [],
  queues: new Map(),
  colleagues: [], // [{id, name}] of my tenant, for transfers
  wrap: loadWrap(), // the call waiting for its wrap-up: {call_id, caller, name}
  linked: new Map(), // call id -> {customer, history} the agent created or linked
};
let shownPop = null;
let shownWrap = null;

const socket = new Socket({
  hello: (msg) => showUser(msg.principal),
  snapshot: onSnapshot,
  message: onPush,
  link: (status) => {
    showLink(status);
    renderControls();
  },
  error: showError,
});

// --- what the server says ------------------------------------------------------------

function onSnapshot(msg) {
  state.reasons = msg.reasons || [];
  state.dispositions = msg.dispositions || [];
  state.queues = new Map((msg.queues || []).map((q) => [q.id, q.name]));
  state.colleagues = msg.colleagues || [];
  state.agent = msg.agent || null;
  state.call = msg.call || null;
  state.pop = withLinked(msg.pop || null);
  state.preview = msg.preview || null;
  if (state.wrap && state.pop && state.pop.call_id !== state.wrap.call_id) setWrap(null);
  if (state.agent?.state === "wrap_up") {
    const callId = state.call?.call_id ?? state.pop?.call_id ?? state.wrap?.call_id;
    if (callId && state.wrap?.call_id !== callId) setWrap(wrapFor(callId));
  }
  if (!state.agent) showError("This user is not bound to an agent: ask an administrator.");
  renderOptions();
  renderAll();
}

function onPush(msg) {
  if (msg.type === "agent.state") onAgentState(msg);
  else if (msg.type === "screen_pop") onScreenPop(msg);
  else if (msg.type === "call.update") onCallUpdate(msg);
  else if (msg.type === "campaign.preview") state.preview = msg.preview;
  renderAll();
}

function onAgentState(msg) {
  if (!state.agent || msg.agent_id !== state.agent.agent_id) return;
  state.agent = { ...state.agent, state: msg.state, reason: msg.reason, since: msg.since };
  if (msg.state === "wrap_up") {
    const callId = state.call?.call_id ?? state.pop?.call_id;
    if (callId && state.wrap?.call_id !== callId) setWrap(wrapFor(callId));
    socket.sync(); // the snapshot says when the after-call work ends
  } else {
    state.agent.wrapup_until = null;
  }
  if (IDLE.has(msg.state)) {
    // as the server does: the call is over for this agent; an ended call's pop goes
    const ended = state.call?.state === "ended";
    state.call = null;
    if (ended) state.pop = null;
  }
}

function onScreenPop(msg) {
  if (state.wrap && state.wrap.call_id !== msg.call_id) {
    showError("A new call was offered before the last wrap-up was saved: that wrap-up is lost.");
    setWrap(null);
  }
  state.pop = withLinked(msg);
  if (state.call?.call_id !== msg.call_id) {
    // the first pop of a call (a second one, with the record, may follow it)
    // a colleague consulting me before an attended transfer shows me their caller
    const from = msg.consultation?.from_agent;
    state.call = from
      ? { call_id: msg.call_id, state: "consulting", since: msg.offered_at, queue: msg.queue, from_agent: from }
      : { call_id: msg.call_id, state: "ringing", since: msg.offered_at, queue: msg.queue };
  }
}

function onCallUpdate(msg) {
  if (msg.state === "missed" || msg.state === "gone") {
    if (!state.call || state.call.call_id === msg.call_id) {
      state.call = null;
      state.pop = null;
    }
    return;
  }
  state.call = {
    call_id: msg.call_id,
    state: msg.state,
    since: msg.since,
    queue: msg.queue,
    from_agent: msg.from_agent,
    consulting: msg.consulting,
    direction: msg.direction,
    number: msg.number,
    campaign: msg.campaign,
    dispositions: msg.dispositions,
    answered_at: msg.answered_at, // the call's duration runs from here (hold or not)
    recording: msg.recording, // "recording", "paused", or none: the call is not recorded
  };
  if (msg.state === "ended" && state.wrap?.call_id !== msg.call_id) setWrap(wrapFor(msg.call_id));
}

// --- the pending wrap-up (kept across reloads of the page) --------------------------

function loadWrap() {
  try {
    return JSON.parse(sessionStorage.getItem(WRAP_KEY) || "null");
  } catch {
    return null;
  }
}

function setWrap(wrap) {
  state.wrap = wrap;
  if (wrap) sessionStorage.setItem(WRAP_KEY, JSON.stringify(wrap));
  else sessionStorage.removeItem(WRAP_KEY);
}

function wrapFor(callId) {
  const pop = state.pop?.call_id === callId ? state.pop : null;
  const call = state.call?.call_id === callId ? state.call : null;
  return {
    call_id: callId,
    caller: pop?.caller_number ?? call?.number ?? null,
    name: pop?.customer?.name ?? null,
    // a campaign's call is wrapped up with the campaign's own codes
    dispositions: pop?.dispositions ?? call?.dispositions ?? null,
  };
}

function withLinked(pop) {
  const linked = pop && state.linked.get(pop.call_id);
  return linked ? { ...pop, ...linked, known: true } : pop;
}

// --- rendering -----------------------------------------------------------------------

function renderAll() {
  renderState();
  renderCall();
  renderPreview();
  renderPop();
  renderWrap();
  renderControls();
}

function renderOptions() {
  const reason = $("#reason");
  const chosen = reason.value;
  reason.replaceChildren(...state.reasons.map((r) => h("option", { value: r }, r)));
  if (state.reasons.includes(chosen)) reason.value = chosen;
  const me = state.agent?.agent_id;
  $("#transfer-queue").replaceChildren(
    ...[...state.queues].map(([id, name]) => h("option", { value: id }, name)),
  );
  $("#transfer-agent").replaceChildren(
    ...state.colleagues.filter((a) => a.id !== me).map((a) => h("option", { value: a.id }, a.name)),
  );
  const free = state.dispositions.length === 0;
  $("#disposition").hidden = free;
  $("#disposition-code").hidden = !free;
  fillDispositions();
}

// the tenant's codes, or a campaign's own when its call is being wrapped up (a snapshot
// arriving during the wrap-up keeps them and the code already picked)
function fillDispositions() {
  const select = $("#disposition");
  const picked = select.value;
  const allowed = state.wrap?.dispositions?.length ? new Set(state.wrap.dispositions) : null;
  const choices = state.dispositions.filter((d) => !allowed || allowed.has(d.code));
  select.replaceChildren(
    h("option", { value: "" }, "— choose —"),
    ...choices.map((d) => h("option", { value: d.code }, d.label)),
  );
  if (choices.some((d) => d.code === picked)) select.value = picked;
}

function renderState() {
  const badge = $("#agent-state");
  const agent = state.agent;
  badge.dataset.state = agent?.state ?? "";
  badge.textContent = agent ? (STATE_NAMES[agent.state] ?? agent.state) : "No agent";
  $("#agent-reason").textContent = agent?.state === "not_ready" && agent.reason ? agent.reason : "";
  setSince($("#agent-timer"), agent?.since ?? null);
}

function renderCall() {
  const call = state.call;
  const caller = state.pop?.customer?.name ?? state.pop?.caller_number ?? "a caller";
  document.title = call?.state === "ringing" ? `Ringing: ${caller} · Agent console` : TITLE;
  $("#call-none").hidden = Boolean(call);
  $("#call-info").hidden = !call;
  const badge = $("#call-state");
  badge.dataset.state = call?.state ?? "";
  badge.textContent = call ? (CALL_NAMES[call.state] ?? call.state) : "";
  setSince($("#call-timer"), call?.since ?? null);
  renderDuration(call);
  $("#call-queue").textContent =
    call?.state === "consulting"
      ? `${call.from_agent} consults you about this caller`
      : call?.queue
        ? `Queue: ${queueName(call.queue)}`
        : "";
}

/** The call's duration since the answer: it runs through hold and resume, and stops
 * at the end of the talk. */
function renderDuration(call) {
  const answered = call?.answered_at ?? null;
  const el = $("#call-duration");
  $("#call-length").hidden = answered == null;
  if (answered != null && call.state === "ended") {
    setSince(el, null);
    el.textContent = duration(Math.max(0, call.since - answered));
  } else {
    setSince(el, answered);
  }
}

function renderControls() {
  const s = state.agent?.state;
  const off = !socket.connected || !state.agent;
  $("#btn-login").disabled = off || s !== "logged_out";
  const consulted = state.call?.state === "consulting"; // a colleague is talking to me
  $("#btn-ready").disabled = off || consulted || !(s === "not_ready" || s === "wrap_up");
  $("#btn-not-ready").disabled =
    off || !["ready", "not_ready", "wrap_up"].includes(s) || !state.reasons.length;
  $("#reason").disabled = off || !state.reasons.length;
  $("#btn-logout").disabled =
    off || consulted || !["ready", "not_ready", "reserved", "wrap_up"].includes(s);
  $("#btn-wrapup").disabled = off;
  $("#btn-more").disabled = off || s !== "wrap_up";
  renderCallControls(off);
  $("#btn-preview-dial").disabled = off || !state.preview;
  $("#btn-preview-skip").disabled = off || !state.preview;
}

/** The controls of my call: what the server says the call is decides what is offered. */
function renderCallControls(off) {
  const call = state.call;
  const live = ["talking", "on_hold", "dialing"].includes(call?.state);
  const inbound = live && call.direction !== "outbound" && call.state !== "dialing";
  const consulting = Boolean(live && call.consulting);
  $("#call-controls").hidden = !live;
  $("#btn-hangup").disabled = off || !live;
  const hold = $("#btn-hold");
  hold.hidden = !inbound;
  hold.textContent = call?.state === "on_hold" ? "Resume" : "Hold";
  hold.disabled = off || consulting;
  $("#transfer-form").hidden = !inbound || consulting;
  $("#btn-transfer").disabled = off;
  const kind = $("#transfer-kind").value;
  $("#transfer-queue").hidden = kind !== "queue";
  $("#transfer-agent").hidden = kind !== "agent";
  $("#transfer-number").hidden = kind !== "number";
  const recording = live ? call.recording : null;
  $("#recording-controls").hidden = !recording;
  const badge = $("#recording-state");
  badge.dataset.recording = recording ?? "";
  badge.textContent = recording === "paused" ? "Recording paused" : "Recording";
  const toggle = $("#btn-recording");
  toggle.textContent = recording === "paused" ? "Resume recording" : "Pause recording";
  toggle.disabled = off;
  $("#consult-controls").hidden = !consulting;
  $("#consulting").textContent = consulting ? `Talking to ${colleagueName(call.consulting)}` : "";
  $("#btn-transfer-complete").disabled = off;
  $("#btn-transfer-cancel").disabled = off;
  const idle = !call || ["ended", "missed", "gone"].includes(call.state);
  const canDial = !off && idle && ["ready", "not_ready"].includes(state.agent?.state);
  $("#btn-dial").disabled = !canDial;
  // click-to-call from a customer's record found in the search (the pop is the
  // current caller's: gone by the time the agent is free to dial)
  for (const button of document.querySelectorAll("#customer-panel .dial")) {
    button.disabled = !canDial;
  }
  $("#btn-callback").disabled = off;
  const number = $("#callback-number");
  if (!number.value && state.pop?.caller_number) number.placeholder = state.pop.caller_number;
}

function colleagueName(id) {
  return state.colleagues.find((a) => a.id === id)?.name ?? id;
}

function renderWrap() {
  const wrap = state.wrap;
  $("#wrapup-panel").hidden = !wrap;
  if (!wrap) {
    shownWrap = null;
    return;
  }
  if (shownWrap !== wrap.call_id) {
    shownWrap = wrap.call_id;
    $("#wrapup-form").reset();
    $("#wrapup-saved").hidden = true;
    fillDispositions();
  }
  const who = [wrap.name, wrap.caller].filter(Boolean).join(" · ");
  $("#wrapup-call").textContent = who ? `Call with ${who}` : `Call ${wrap.call_id}`;
  const acw = $("#acw");
  const agent = state.agent;
  if (agent?.state === "wrap_up" && agent.wrapup_until) {
    const left = h("span", { id: "acw-left", class: "timer", dataset: { until: agent.wrapup_until } });
    left.textContent = duration(Math.max(0, agent.wrapup_until - clock.now()));
    acw.replaceChildren("After-call work left: ", left);
  } else if (agent?.state === "wrap_up") {
    acw.textContent = "After-call work (no time limit)";
  } else if (agent?.state === "on_call" || agent?.state === "reserved") {
    acw.textContent = "On a call: wrap up when it ends.";
  } else {
    acw.textContent = "After-call time is over: you can still save this wrap-up.";
  }
}

let shownPreview = null;

function renderPreview() {
  const preview = state.preview;
  $("#preview-panel").hidden = !preview;
  const key = preview ? JSON.stringify(preview) : null;
  if (key === shownPreview) return;
  shownPreview = key;
  if (!preview) return;
  const c = preview.customer;
  $("#preview-who").replaceChildren(
    h("span", { class: "name", id: "preview-name" }, c?.name ?? preview.name ?? "Customer"),
    h("span", { class: "muted" }, preview.number),
    h("span", { class: "badge" }, preview.campaign),
  );
  // the customer's record, when the contact is linked to one: who, and the last calls
  const facts = c
    ? [
        ["Account", c.account],
        ["Tier", c.tier],
        ["Language", c.language],
        ["Notes", c.notes],
      ].filter(([, v]) => v != null && v !== "")
    : [];
  const calls = (preview.history?.calls || []).slice(0, 5);
  $("#preview-record").replaceChildren(
    h("dl", { class: "facts" }, ...facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))])),
    calls.length
      ? h(
          "ul",
          { id: "preview-history" },
          ...calls.map((call) =>
            h("li", {}, `${dateTime(call.at)} · ${call.agent ?? "–"} · ${dispositionLabel(call.disposition)}${call.notes ? ` · ${call.notes}` : ""}`),
          ),
        )
      : h("p", { class: "muted" }, c ? "No previous calls." : "Not linked to a customer record."),
  );
}

function renderPop() {
  const pop = state.pop;
  $("#pop-panel").hidden = !pop;
  const key = pop ? JSON.stringify(pop) : null;
  if (key === shownPop) return; // the same pop again (a resync): keep what the agent is typing
  shownPop = key;
  $("#pop").replaceChildren(...(pop ? popView(pop, { queueName, dispositionLabel, onLinked: link }) : []));
}

function dispositionLabel(code) {
  if (!code) return "–";
  return state.dispositions.find((d) => d.code === code)?.label ?? code;
}

function queueName(id) {
  return state.queues.get(id) ?? id ?? "–";
}

/** The agent created or linked the caller's customer: the pop shows them from now on. */
function link(pop, customer, history) {
  const found = { customer, history: { calls: history.calls, callbacks: history.callbacks } };
  state.linked.set(pop.call_id, found);
  if (state.pop?.call_id === pop.call_id) state.pop = withLinked(state.pop);
  if (state.wrap?.call_id === pop.call_id) setWrap({ ...state.wrap, name: customer.name });
  renderAll();
}

// --- actions -----------------------------------------------------------------------

function act(type, fields) {
  return attempt(async () => {
    const result = await socket.send(type, fields);
    renderControls();
    return result;
  });
}

async function saveWrapUp() {
  const wrap = state.wrap;
  if (!wrap) return;
  const free = state.dispositions.length === 0;
  const disposition = (free ? $("#disposition-code").value.trim() : $("#disposition").value) || null;
  if (!free && !disposition) throw new Error("Choose a disposition for this call.");
  const notes = $("#notes").value.trim() || null;
  const resolved = $("#resolved").checked;
  const result = await socket.send("wrapup.done", { disposition, notes, resolved });
  if (result?.call_id && result.call_id !== wrap.call_id) {
    showError(`The wrap-up was saved on call ${result.call_id}, not ${wrap.call_id}.`);
  }
  setWrap(null);
  const saved = $("#wrapup-saved");
  saved.textContent = `Wrap-up saved${wrap.name ? ` for ${wrap.name}` : ""}: ${dispositionLabel(disposition)}.`;
  saved.hidden = false;
  setTimeout(() => (saved.hidden = true), 8000);
  renderAll();
}

function callAct(type, fields = {}) {
  return act(type, { call_id: state.call?.call_id, ...fields });
}

function transferTarget() {
  const kind = $("#transfer-kind").value;
  const to = { queue: "#transfer-queue", agent: "#transfer-agent", number: "#transfer-number" }[kind];
  return { to_kind: kind, to: $(to).value.trim() };
}

$("#btn-hangup").addEventListener("click", () => callAct("call.hangup"));
$("#btn-hold").addEventListener("click", () =>
  callAct(state.call?.state === "on_hold" ? "call.unhold" : "call.hold"),
);
$("#btn-recording").addEventListener("click", () =>
  act(state.call?.recording === "paused" ? "recording.resume" : "recording.pause").then((result) => {
    // the ack says at once what the call.update push will confirm
    if (result && state.call?.call_id === result.call_id) {
      state.call = { ...state.call, recording: result.recording };
      renderControls();
    }
  }),
);
$("#transfer-kind").addEventListener("change", () => renderControls());
$("#transfer-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const target = transferTarget();
  if (!target.to) return showError("Choose who to transfer the call to.");
  const mode = $("#transfer-attended").checked ? "attended" : "blind";
  callAct("call.transfer", { ...target, mode });
});
$("#btn-transfer-complete").addEventListener("click", () => callAct("call.transfer_complete"));
$("#btn-transfer-cancel").addEventListener("click", () => callAct("call.transfer_cancel"));
/** Click-to-call from a customer's record found in the search. */
function dialCustomer(number, customer) {
  act("call.dial", { number, customer_id: customer?.id ?? null });
}

$("#dial-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const number = $("#dial-number").value.trim();
  if (!number) return showError("Type the number to call.");
  act("call.dial", { number, customer_id: state.pop?.customer?.id ?? null });
});
$("#callback-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const number = $("#callback-number").value.trim() || state.pop?.caller_number;
  if (!number) return showError("Type the number to call back.");
  const when = $("#callback-at").value;
  const at = when ? new Date(when).getTime() / 1000 : null;
  const last = $("#callback-until").value;
  const until = last ? new Date(last).getTime() / 1000 : null;
  const customer_id = state.pop?.customer?.id ?? null;
  act("callback.schedule", { number, at, until, customer_id }).then(
    (result) => {
      if (!result) return;
      $("#callback-form").reset();
      const saved = $("#wrapup-saved");
      saved.textContent = `Callback to ${number} scheduled.`;
      saved.hidden = false;
      setTimeout(() => (saved.hidden = true), 8000);
    },
  );
});
$("#btn-preview-dial").addEventListener("click", () => act("campaign.dial"));
$("#btn-preview-skip").addEventListener("click", () => act("campaign.skip"));
$("#btn-login").addEventListener("click", () => act("agent.login"));
$("#btn-ready").addEventListener("click", () => act("agent.ready"));
$("#btn-not-ready").addEventListener("click", () => act("agent.not_ready", { reason: $("#reason").value }));
$("#btn-logout").addEventListener("click", () => act("agent.logout"));
$("#btn-more").addEventListener("click", () => act("wrapup.more", { seconds: 30 }).then(() => socket.sync()));
$("#disposition").addEventListener("change", (event) => {
  const chosen = state.dispositions.find((d) => d.code === event.target.value);
  if (chosen && chosen.resolved != null) $("#resolved").checked = chosen.resolved;
});
$("#wrapup-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const button = $("#btn-wrapup");
  button.disabled = true;
  attempt(saveWrapUp).finally(() => renderControls());
});

customerSearch({ onDial: dialCustomer, queueName, dispositionLabel, changed: renderControls });
wireSignOut();
onTick(renderControls);
socket.start();
