// The console's customer search: find a customer of my tenant (name, account or
// number), see their record (tier, numbers, recent calls and open callbacks) and call
// one of their numbers while I have no call (click-to-call from the record).

import { api, attempt, h } from "/static/common.js";
import { historyView } from "/static/pop.js";

const RESULTS = 10;
const HISTORY = 5;

/**
 * Wire the search form of the console. `ctx.onDial(number, customer)` places the
 * call; `ctx.queueName(id)` and `ctx.dispositionLabel(code)` name things as the
 * tenant does; `ctx.changed()` is called when the record shown changed (the console
 * then enables or disables its call buttons).
 */
export function customerSearch(ctx) {
  const form = document.querySelector("#customer-search");
  const query = document.querySelector("#customer-query");
  const results = document.querySelector("#customer-results");
  const record = document.querySelector("#customer-record");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(() => search(query.value, results, record, ctx));
  });
}

async function search(text, results, record, ctx) {
  const q = text.trim();
  if (!q) throw new Error("Enter a name, an account or a number to search.");
  const page = await api("GET", `/api/customers?q=${encodeURIComponent(q)}&limit=${RESULTS}`);
  record.replaceChildren();
  if (!page.items.length) {
    results.replaceChildren(h("li", { class: "muted" }, `No customer found for “${q}”.`));
    ctx.changed();
    return;
  }
  results.replaceChildren(
    ...page.items.map((c) =>
      h(
        "li",
        {},
        h("span", {}, [c.name, c.account, c.phones.map((p) => p.number).join(", ")].filter(Boolean).join(" · ")),
        h(
          "button",
          { type: "button", class: "secondary small open", onclick: () => attempt(() => show(c, record, ctx)) },
          "Open",
        ),
      ),
    ),
  );
  if (page.items.length === 1) await show(page.items[0], record, ctx);
  else ctx.changed();
}

async function show(customer, record, ctx) {
  const history = await api(
    "GET",
    `/api/customers/${encodeURIComponent(customer.id)}/history?limit=${HISTORY}`,
  );
  const phones = customer.phones.length
    ? customer.phones.map((p) => [
        h("dt", {}, p.label || "Phone"),
        h(
          "dd",
          {},
          p.number,
          " ",
          h(
            "button",
            { type: "button", class: "secondary small dial", onclick: () => ctx.onDial(p.number, customer) },
            "Call",
          ),
        ),
      ])
    : [h("dt", {}, "Phone"), h("dd", { class: "muted" }, "no number")];
  const facts = [
    ["Account", customer.account],
    ["Language", customer.language],
    ["Notes", customer.notes],
  ].filter(([, v]) => v != null && v !== "");
  record.replaceChildren(
    h(
      "div",
      { class: "pop-head" },
      h("span", { class: "name", id: "customer-name" }, customer.name),
      h("span", { class: "badge tier", title: "Value tier" }, `Tier ${customer.tier}`),
    ),
    h(
      "dl",
      { class: "facts" },
      ...phones.flat(),
      ...facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]),
    ),
    ...historyView({ call_id: null, history }, ctx).map((el) => {
      if (el.id) el.id = `customer-${el.id}`; // the pop's tables keep their own ids
      return el;
    }),
  );
  ctx.changed();
}
