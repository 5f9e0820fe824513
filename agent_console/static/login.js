// The login page: POST /api/login (the session cookie comes back with the answer),
// then on to the page of the user's role, or the page that sent them here.

import { $, describe } from "/static/common.js";

const PAGES = new Set(["/console", "/wallboard", "/history"]);
const form = $("#login-form");
const problem = $("#login-error");
const button = $("#sign-in");

function fail(text) {
  problem.textContent = text;
  problem.hidden = false;
}

function destination(role) {
  const next = new URLSearchParams(location.search).get("next");
  const home = role === "agent" ? "/console" : "/wallboard";
  // only our own pages, and only the one the role may see
  return PAGES.has(next) && (next === "/console" || role !== "agent") ? next : home;
}

function refusal(status, detail, retryAfter) {
  if (status === 401) return "Wrong tenant, user name or password.";
  if (status === 429) return `Too many failed attempts: try again in ${retryAfter || 60} s.`;
  if (status === 422) return `Please check the form: ${describe(detail)}`;
  return `Sign-in failed (HTTP ${status}): ${describe(detail) || "unexpected answer"}`;
}

async function signIn() {
  problem.hidden = true;
  const body = {
    tenant: $("#tenant").value.trim(),
    username: $("#username").value.trim(),
    password: $("#password").value,
  };
  const extension = $("#extension").value.trim();
  if (extension) body.extension = extension;
  const missing = [
    ["tenant", "the tenant"],
    ["username", "your user name"],
    ["password", "your password"],
  ]
    .filter(([key]) => !body[key])
    .map(([, label]) => label);
  if (missing.length) return fail(`Please enter ${missing.join(", ")}.`);
  if (extension && !/^[0-9*#+]{1,32}$/.test(extension)) {
    return fail("The extension is digits only (and * # +), up to 32.");
  }
  button.disabled = true;
  try {
    let reply;
    try {
      reply = await fetch("/api/login", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch {
      return fail("The server cannot be reached: check your network and try again.");
    }
    const data = await reply.json().catch(() => ({}));
    if (!reply.ok) return fail(refusal(reply.status, data.detail, reply.headers.get("Retry-After")));
    localStorage.setItem("cti.tenant", body.tenant);
    location.assign(destination(data.role));
  } finally {
    button.disabled = false;
  }
}

$("#tenant").value = localStorage.getItem("cti.tenant") || "";
($("#tenant").value ? $("#username") : $("#tenant")).focus();
form.addEventListener("submit", (event) => {
  event.preventDefault();
  signIn().catch((error) => fail(`Sign-in failed: ${error.message}`));
});
