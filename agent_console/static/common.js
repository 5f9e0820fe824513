// What the console and the wallboard share: the websocket (protocol v1, see
// agent_console/ws.py) with reconnection and resynchronisation, the server's
// clock, REST calls, error display, formatting and a small DOM builder.

export const PROTOCOL_VERSION = 1;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const PING_EVERY_MS = 15_000;
const PING_TIMEOUT_MS = 5_000;
const SNAPSHOT_WAIT_MS = 3_000;
const ACTION_TIMEOUT_MS = 10_000;

// --- the server's clock ------------------------------------------------------------

/** Server time, from the offset between the last snapshot's `now` and this browser's. */
export const clock = {
  offsetMs: 0,
  sync(serverNowSeconds) {
    if (typeof serverNowSeconds === "number") this.offsetMs = serverNowSeconds * 1000 - Date.now();
  },
  now() {
    return (Date.now() + this.offsetMs) / 1000;
  },
};

const tickers = new Set();

/** Call `fn` every second (and now); live timers are elements with data-since / data-until. */
export function onTick(fn) {
  tickers.add(fn);
  fn();
}

function tick() {
  const now = clock.now();
  for (const el of document.querySelectorAll("[data-since]")) {
    const since = Number(el.dataset.since);
    el.textContent = Number.isFinite(since) ? duration(Math.max(0, now - since)) : "–";
  }
  for (const el of document.querySelectorAll("[data-until]")) {
    const until = Number(el.dataset.until);
    const left = Math.max(0, until - now);
    el.textContent = Number.isFinite(until) ? duration(left) : "–";
    el.dataset.over = String(left <= 0);
  }
  for (const fn of tickers) fn();
}
setInterval(tick, 1000);

/** Set or clear an element's live timer (seconds since `since`, server time). */
export function setSince(el, since) {
  if (since == null) {
    delete el.dataset.since;
    el.textContent = "";
  } else {
    el.dataset.since = String(since);
    el.textContent = duration(Math.max(0, clock.now() - since));
  }
}

// --- formatting --------------------------------------------------------------------

export function duration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return "–";
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

export function percent(fraction) {
  return fraction == null ? "–" : `${Math.round(fraction * 1000) / 10}%`;
}

export function count(n) {
  return n == null ? "–" : String(n);
}

export function dateTime(epochSeconds) {
  if (epochSeconds == null) return "–";
  return new Date(epochSeconds * 1000).toLocaleString(undefined, {
    dateStyle: "medium",
    timeStyle: "short",
  });
}

/** A server error's `detail` (a text, pydantic's list of problems, or anything) as text. */
export function describe(detail) {
  if (detail == null) return "";
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((p) =>
        p && p.msg ? `${(p.loc || []).filter((l) => l !== "body").join(".")}: ${p.msg}` : JSON.stringify(p),
      )
      .join("; ");
  }
  return JSON.stringify(detail);
}

// --- DOM ---------------------------------------------------------------------------

/** An element: h("td", {class: "num", dataset: {x: 1}, onclick: fn}, "text", child, ...). */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else if (key in el && key !== "list") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function $(selector) {
  const el = document.querySelector(selector);
  if (!el) throw new Error(`page element ${selector} missing`);
  return el;
}

/** Show an error (from the server or the network) until the user dismisses it. */
export function showError(error) {
  const box = $("#errors");
  const text = error instanceof ServerError ? error.message : String(error?.message ?? error);
  const item = h(
    "div",
    { class: "error-item", role: "alert" },
    h("span", {}, text),
    h(
      "button",
      { type: "button", title: "Dismiss", "aria-label": "Dismiss", onclick: () => item.remove() },
      "×",
    ),
  );
  box.append(item);
  while (box.children.length > 5) box.firstElementChild.remove();
  console.error(text);
}

/** Run an async page action; any failure is shown, never swallowed. */
export async function attempt(fn) {
  try {
    return await fn();
  } catch (error) {
    showError(error);
    return undefined;
  }
}

// --- REST --------------------------------------------------------------------------

export class ServerError extends Error {
  constructor(code, detail, status) {
    const text = describe(detail);
    super(text ? `${code}: ${text}` : code);
    this.code = code;
    this.detail = detail;
    this.status = status;
  }
}

/** A JSON request with the session cookie; a refusal throws ServerError with its detail. */
export async function api(method, path, body) {
  let reply;
  try {
    reply = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ServerError("network", "the server cannot be reached", 0);
  }
  if (reply.status === 401) {
    toLogin();
    throw new ServerError("not signed in", "your session has ended: sign in again", 401);
  }
  if (reply.status === 204) return null;
  const data = await reply.json().catch(() => null);
  if (!reply.ok)
    throw new ServerError(`HTTP ${reply.status}`, data?.detail ?? reply.statusText, reply.status);
  return data;
}

export function toLogin() {
  const next = encodeURIComponent(location.pathname);
  location.assign(`/login?next=${next}`);
}

export async function signOut() {
  await api("POST", "/api/logout").catch(() => null);
  location.assign("/login");
}

// --- the websocket -------------------------------------------------------------------

/**
 * The console socket. `handlers`: `hello(msg)`, `snapshot(msg)` (replace everything on
 * screen: it follows every (re)connection), `message(msg)` (pushes), `link(status)`
 * (status.online, status.attempt, status.retryInMs) and `error(ServerError)` for errors
 * that answer no pending action. `send()` returns a promise of the ack's result.
 */
export class Socket {
  constructor(handlers) {
    this.handlers = handlers;
    this.ws = null;
    this.attempt = 0;
    this.nextId = 1;
    this.pending = new Map();
    this.timers = {};
    this.opened = false;
    this.online = false;
  }

  start() {
    this._connect();
    window.addEventListener("online", () => this._retryNow());
  }

  get connected() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  send(type, fields = {}) {
    if (!this.connected) {
      return Promise.reject(
        new ServerError("offline", "not connected to the server: wait for the reconnection"),
      );
    }
    const id = `m${this.nextId++}`;
    this.ws.send(JSON.stringify({ type, version: PROTOCOL_VERSION, id, ...fields }));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ServerError("timeout", `no answer to ${type}`));
      }, ACTION_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer, type });
    });
  }

  /** Ask for a fresh snapshot (the page replaces what it shows with it). */
  sync() {
    if (this.connected) this.send("sync").catch((error) => this.handlers.error?.(error));
  }

  _connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/ws`);
    this.ws = ws;
    this.opened = false;
    ws.onopen = () => {
      this.opened = true;
      this._status();
      this._heartbeat();
    };
    ws.onmessage = (event) => this._receive(event.data);
    ws.onclose = () => this._lost(ws);
    ws.onerror = () => {}; // onclose follows, and says what to do
  }

  _receive(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      this.handlers.error?.(new ServerError("bad message", "the server sent something unreadable"));
      return;
    }
    if (msg.type === "hello") {
      clearTimeout(this.timers.snapshot);
      this.timers.snapshot = setTimeout(() => this.sync(), SNAPSHOT_WAIT_MS);
      this.handlers.hello?.(msg);
      return;
    }
    if (msg.type === "snapshot") {
      clearTimeout(this.timers.snapshot);
      clock.sync(msg.now);
      this.attempt = 0; // a whole resynchronisation: the link is good again
      this.online = true;
      this._status();
    }
    const waiting = msg.id != null ? this.pending.get(msg.id) : undefined;
    if (
      waiting &&
      (msg.type === "ack" || msg.type === "error" || msg.type === "pong" || msg.type === "snapshot")
    ) {
      this.pending.delete(msg.id);
      clearTimeout(waiting.timer);
      if (msg.type === "error") waiting.reject(new ServerError(msg.error, msg.detail));
      else waiting.resolve(msg.type === "ack" ? msg.result : msg);
    } else if (msg.type === "error") {
      this.handlers.error?.(new ServerError(msg.error, msg.detail));
      return;
    }
    if (msg.type === "snapshot") this.handlers.snapshot?.(msg);
    else if (msg.type !== "ack" && msg.type !== "pong") this.handlers.message?.(msg);
  }

  _heartbeat() {
    clearInterval(this.timers.ping);
    this.timers.ping = setInterval(() => {
      if (!this.connected) return;
      const sent = this.send("ping");
      const dead = setTimeout(() => this._drop(), PING_TIMEOUT_MS);
      sent.then(
        () => clearTimeout(dead),
        () => clearTimeout(dead),
      );
    }, PING_EVERY_MS);
  }

  /** Give up on a connection that stopped answering (a half-open TCP link). */
  _drop() {
    const ws = this.ws;
    if (ws === null) return;
    ws.onclose = null;
    ws.close();
    this._lost(ws);
  }

  _lost(ws) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.online = false;
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.snapshot);
    for (const [id, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(
        new ServerError("connection lost", `${waiting.type} may not have been done: check and retry`),
      );
      this.pending.delete(id);
    }
    const delay =
      Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
    this.attempt += 1;
    this._status(delay);
    this.timers.retry = setTimeout(() => this._connect(), delay);
    if (!this.opened) this._checkSession();
  }

  _retryNow() {
    if (this.ws !== null) return;
    clearTimeout(this.timers.retry);
    this._connect();
  }

  /** A socket refused before opening may mean the session ended: then sign in again. */
  async _checkSession() {
    try {
      const reply = await fetch("/api/me", { credentials: "same-origin" });
      if (reply.status === 401) toLogin();
    } catch {
      // the server is unreachable: keep retrying
    }
  }

  _status(retryInMs) {
    document.body.classList.toggle("stale", !this.online);
    this.handlers.link?.({ online: this.online, attempt: this.attempt, retryInMs });
  }
}

/** Show the link's state in the bar (#link) and the reconnection banner (#banner). */
export function showLink(status) {
  const link = $("#link");
  const banner = $("#banner");
  if (status.online) {
    link.dataset.link = "online";
    link.textContent = "Connected";
    banner.hidden = true;
    return;
  }
  link.dataset.link = "offline";
  link.textContent = status.retryInMs == null ? "Connecting…" : "Reconnecting…";
  if (status.retryInMs == null && !banner.hidden) {
    banner.textContent = "Connected again: bringing everything up to date…";
  } else if (status.retryInMs != null) {
    const seconds = Math.max(1, Math.round(status.retryInMs / 1000));
    banner.textContent =
      `Connection to the server lost: what is shown may be out of date. ` +
      `Reconnecting in ${seconds} s (attempt ${status.attempt}).`;
    banner.hidden = false;
  }
}

/** The bar's user name, and its sign-out button. */
export function showUser(principal) {
  $("#who").textContent = `${principal.username} · ${principal.tenant}`;
}

export function wireSignOut() {
  $("#sign-out").addEventListener("click", () => attempt(signOut));
}
