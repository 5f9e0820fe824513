// The screen pop of the agent console: who is calling (customer, tier, language,
// IVR path and what was keyed in, time waited), their previous calls and open
// callbacks; for an unknown caller, a form to create the customer with the caller's
// number, or to find a customer and link the number to them.

import { api, attempt, dateTime, duration, h } from "/static/common.js";

/**
 * The pop's elements. `ctx.queueName(id)` and `ctx.dispositionLabel(code)` name things
 * as the tenant does; `ctx.onLinked(pop, customer, history)` is called when the agent
 * created or linked the caller's customer.
 */
export function popView(pop, ctx) {
  const c = pop.customer;
  const pending = !c && pop.complete === false; // the record follows in a second pop
  const head = h(
    "div",
    { class: "pop-head" },
    h("span", { class: "name", id: "pop-name" }, c ? c.name : pending ? "Caller" : "Unknown caller"),
    h("span", { class: "badge tier", title: "Value tier" }, `Tier ${pop.tier ?? 0}`),
    pop.language ? h("span", { class: "badge", title: "Language" }, pop.language.toUpperCase()) : null,
  );
  const ivr = pop.ivr || { path: [], keyed: {} };
  const keyed = Object.entries(ivr.keyed || {});
  const path = ivr.path?.length ? h("span", { class: "ivr-path" }, ivr.path.join(" → ")) : "–";
  const facts = h(
    "dl",
    { class: "facts" },
    fact("Caller number", pop.caller_number || "withheld"),
    c?.account ? fact("Account", c.account) : null,
    ...(c?.phones || []).map((p) => fact(p.label || "Phone", p.number)),
    fact("Queue", ctx.queueName(pop.queue)),
    fact("Waited", pop.waited_seconds == null ? "–" : duration(pop.waited_seconds)),
    fact("IVR path", path),
    fact("Keyed in", keyed.length ? keyed.map(([k, v]) => `${k}: ${v}`).join(", ") : "nothing"),
    ...Object.entries(c?.fields || {}).map(([k, v]) => fact(k, String(v))),
    c?.notes ? fact("Notes", c.notes) : null,
  );
  const parts = [head, facts];
  if (pop.lookup_error) {
    parts.push(h("p", { class: "error" }, `The customer record could not be loaded: ${pop.lookup_error}`));
  }
  if (c) parts.push(...historyView(pop, ctx));
  else if (pending) parts.push(h("p", { class: "muted", id: "pop-pending" }, "Looking up the record…"));
  else parts.push(...unknownCallerView(pop, ctx));
  return parts;
}

function fact(term, value) {
  return [h("dt", {}, term), h("dd", {}, value)];
}

function table(id, headings, rows) {
  return h(
    "table",
    { id },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        headings.map((t) => h("th", {}, t)),
      ),
    ),
    h("tbody", {}, rows),
  );
}

function yesNo(flag) {
  return flag == null ? "–" : flag ? "yes" : "no";
}

/** The customer's previous calls and open callbacks (`pop.history`), as tables. */
export function historyView(pop, ctx) {
  const calls = (pop.history?.calls || []).filter((call) => call.call_id !== pop.call_id);
  const callbacks = pop.history?.callbacks || [];
  const parts = [h("h3", {}, `Previous calls (${calls.length})`)];
  if (calls.length) {
    const headings = ["Date", "Queue", "Agent", "Outcome", "Disposition", "Notes", "Survey", "Resolved"];
    const rows = calls.map((call) =>
      h(
        "tr",
        {},
        h("td", {}, dateTime(call.at)),
        h("td", {}, ctx.queueName(call.queue)),
        h("td", {}, call.agent ?? "–"),
        h("td", {}, call.outcome ?? "–"),
        h("td", {}, ctx.dispositionLabel(call.disposition)),
        h("td", {}, call.notes ?? ""),
        h("td", { class: "num" }, call.survey_score ?? "–"),
        h("td", {}, yesNo(call.resolved)),
      ),
    );
    parts.push(table("history", headings, rows));
  } else {
    parts.push(h("p", { class: "muted" }, "No previous calls."));
  }
  if (callbacks.length) {
    const headings = ["Requested", "Number", "Window", "Topic", "Status", "Attempts"];
    const rows = callbacks.map((cb) =>
      h(
        "tr",
        {},
        h("td", {}, dateTime(cb.requested_at)),
        h("td", {}, cb.number),
        h(
          "td",
          {},
          cb.window_start ? `${dateTime(cb.window_start)} – ${dateTime(cb.window_end)}` : "any time",
        ),
        h("td", {}, cb.topic ?? ""),
        h("td", {}, cb.status),
        h("td", { class: "num" }, cb.attempts),
      ),
    );
    parts.push(h("h3", {}, `Open callbacks (${callbacks.length})`), table("callbacks", headings, rows));
  }
  return parts;
}

// --- an unknown caller ---------------------------------------------------------------

function unknownCallerView(pop, ctx) {
  const number = pop.caller_number;
  const name = h("input", { id: "new-name", required: true, maxLength: 200 });
  const account = h("input", { id: "new-account", maxLength: 64 });
  const language = h("input", { id: "new-language", maxLength: 5, placeholder: pop.language || "fr" });
  const create = h(
    "form",
    {
      id: "new-customer",
      class: "stack",
      onsubmit: (e) => {
        e.preventDefault();
        attempt(() => createCustomer(pop, ctx, name.value, account.value, language.value));
      },
    },
    h(
      "div",
      { class: "row" },
      h("label", {}, "Name", name),
      h("label", {}, "Account", account),
      h("label", {}, "Language", language),
    ),
    h(
      "div",
      {},
      h("button", { type: "submit" }, number ? `Create customer with ${number}` : "Create customer"),
    ),
  );
  const query = h("input", {
    id: "find-query",
    type: "search",
    maxLength: 200,
    placeholder: "name, account or number",
  });
  const results = h("ul", { id: "find-results", class: "results" });
  const find = h(
    "form",
    {
      id: "find-customer",
      class: "row",
      onsubmit: (e) => {
        e.preventDefault();
        attempt(() => findCustomers(pop, ctx, query.value, results));
      },
    },
    h("label", {}, "Find a customer", query),
    h("button", { type: "submit", class: "secondary" }, "Search"),
  );
  return [h("h3", {}, "New customer"), create, h("h3", {}, "Or link an existing customer"), find, results];
}

async function createCustomer(pop, ctx, name, account, language) {
  if (!name.trim()) throw new Error("Enter the customer's name.");
  const body = { name: name.trim(), phones: pop.caller_number ? [{ number: pop.caller_number }] : [] };
  if (account.trim()) body.account = account.trim();
  if (language.trim()) body.language = language.trim();
  const customer = await api("POST", "/api/customers", body);
  ctx.onLinked(pop, customer, { calls: [], callbacks: [] });
}

async function findCustomers(pop, ctx, text, results) {
  const q = text.trim();
  if (!q) throw new Error("Enter a name, an account or a number to search.");
  const page = await api("GET", `/api/customers?q=${encodeURIComponent(q)}&limit=10`);
  if (!page.items.length) {
    results.replaceChildren(h("li", { class: "muted" }, "No customer found."));
    return;
  }
  results.replaceChildren(
    ...page.items.map((c) => {
      const numbers = c.phones.map((p) => p.number).join(", ") || "no number";
      const link = () => attempt(() => linkCustomer(pop, ctx, c));
      return h(
        "li",
        {},
        h("span", {}, [c.name, c.account, numbers].filter(Boolean).join(" · ")),
        pop.caller_number
          ? h("button", { type: "button", class: "secondary", onclick: link }, "Link this number")
          : h("span", { class: "muted" }, "number withheld"),
      );
    }),
  );
}

async function linkCustomer(pop, ctx, customer) {
  const path = `/api/customers/${encodeURIComponent(customer.id)}`;
  const updated = await api("POST", `${path}/phones`, { number: pop.caller_number });
  const history = await api("GET", `${path}/history`);
  ctx.onLinked(pop, updated, history);
}
