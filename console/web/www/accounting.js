// The accounting pages: balances, the ledger with its downloads, revenue,
// statements and verify. Every figure is the console's report, asked for
// through this server (report.c); the console decides who may see it.
import { t, translate, units } from "/common.js";

translate(document);

// Money is integer cents: "1234.50 EUR" without floating point.
function money(cents, currency) {
  const a = Math.abs(cents);
  return `${cents < 0 ? "−" : ""}${Math.floor(a / 100)}.${String(a % 100).padStart(2, "0")} ${currency || ""}`.trim();
}

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

// A report's failure: the console's refusal (403) goes at the top of the page.
async function failure(r, where) {
  const text = (await r.text()).trim();
  if (r.status === 403) {
    const el = document.getElementById("refused");
    el.textContent = `${t("The console refused:")} ${text}`;
    el.hidden = false;
  }
  if (where) { where.textContent = text; where.hidden = false; }
  return null;
}

// GET a JSON report: {status, out, err}, or null after showing the failure.
async function report(url, where) {
  if (where) where.hidden = true;
  const r = await fetch(url);
  if (!r.ok) return failure(r, where);
  return r.json();
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

// Balances; they also fill the customer pickers.
async function loadBalances() {
  const rep = await report("/api/balances");
  const body = document.querySelector("#balances-table tbody");
  body.replaceChildren();
  if (!rep) return;
  const rows = rep.status === 0 ? JSON.parse(rep.out) : [];
  for (const b of rows) {
    const tr = document.createElement("tr");
    tr.dataset.customer = b.customer;
    cell(tr, `${b.name} (${b.customer})`);
    cell(tr, b.plan);
    cell(tr, units(b.units), b.low ? "num neg" : "num");
    cell(tr, units(b.running_units), "num");
    cell(tr, units(b.available_units), "num");
    body.appendChild(tr);
  }
  document.querySelector("#balances .empty").hidden = rows.length > 0;
  for (const sel of document.querySelectorAll("select.customers")) {
    for (const b of rows) {
      const o = document.createElement("option");
      o.value = b.customer;
      o.textContent = `${b.name} (${b.customer})`;
      sel.appendChild(o);
    }
  }
  statementLinks();
}

// The ledger: the report's JSON lines as a table; the downloads follow the filter.
function ledgerFilter() {
  return {
    customer: document.getElementById("ledger-customer").value,
    from: document.getElementById("ledger-from").value,
    to: document.getElementById("ledger-to").value,
  };
}

function ledgerLinks() {
  const q = query(ledgerFilter());
  document.getElementById("ledger-csv").href = `/api/ledger.csv${q}`;
  document.getElementById("ledger-datev").href = `/api/ledger.datev${q}`;
}

async function loadLedger() {
  const where = document.getElementById("ledger-error");
  const body = document.querySelector("#ledger-table tbody");
  where.hidden = true;
  ledgerLinks();
  const r = await fetch(`/api/ledger.jsonl${query(ledgerFilter())}`);
  body.replaceChildren();
  if (!r.ok) return failure(r, where);
  const lines = (await r.text()).split("\n").filter((l) => l.length > 0);
  for (const line of lines) {
    const e = JSON.parse(line);
    const tr = document.createElement("tr");
    tr.dataset.entry = e.entry_id;
    cell(tr, e.entry_id, "num");
    cell(tr, e.posted_at);
    cell(tr, e.customer_id);
    cell(tr, e.kind);
    cell(tr, e.units, e.units < 0 ? "num neg" : "num");
    cell(tr, e.balance_after, "num");
    cell(tr, e.amount_cents ? money(e.amount_cents, e.currency) : "", "num");
    cell(tr, e.technician || "");
    cell(tr, e.note || "", "note");
    body.appendChild(tr);
  }
  document.querySelector("#ledger .empty").hidden = lines.length > 0;
  return null;
}

// Revenue of a month, per currency.
async function loadRevenue() {
  const where = document.getElementById("revenue-error");
  const month = document.getElementById("revenue-month").value;
  const body = document.querySelector("#revenue-table tbody");
  body.replaceChildren();
  const rep = await report(`/api/revenue${query({ month })}`, where);
  if (!rep) return;
  if (rep.status !== 0) { where.textContent = rep.err; where.hidden = false; return; }
  const v = JSON.parse(rep.out);
  const row = (label, text) => {
    const tr = document.createElement("tr");
    cell(tr, label);
    cell(tr, text, "num");
    body.appendChild(tr);
  };
  row(t("Period"), `${v.from} – ${v.to} (${v.timezone})`);
  for (const c of v.currencies) {
    row(t("Units debited"), units(c.units_debited));
    row(t("Recognised revenue"), `${money(c.recognised_cents, c.currency)} (${c.recognised_units} ${t("units")})`);
    row(t("Deferred at month end"), `${money(c.deferred_cents, c.currency)} (${c.deferred_units} ${t("units")})`);
    row(t("Units purchased"), `${c.units_purchased} (${money(c.purchased_cents, c.currency)})`);
    row(t("Installations purchased"), `${c.installations_purchased} (${money(c.installations_purchased_cents, c.currency)})`);
    row(t("Installations used"), `${c.installations_used} (${money(c.installations_used_cents, c.currency)})`);
  }
}

// Statements: rendered by this server as `qh-console statement` renders them.
function statementLinks() {
  const q = query({
    customer: document.getElementById("statement-customer").value,
    month: document.getElementById("statement-month").value,
  });
  for (const [id, path] of [["statement-view", "/api/statement.html"], ["statement-pdf", "/api/statement.pdf"]]) {
    const a = document.getElementById(id);
    a.href = path + q;
    a.classList.toggle("disabled", !q.includes("customer=") || !q.includes("month="));
  }
}

async function runVerify(head) {
  const box = document.getElementById("verify-result");
  const rep = await report(`/api/verify${head ? "?head=1" : ""}`);
  if (!rep) return;
  box.className = rep.status === 0 ? "ok" : "failed";
  box.dataset.status = rep.status;
  document.getElementById("verify-verdict").textContent =
    rep.status === 0 ? t("The ledger is consistent.") : t("The ledger failed verification:");
  document.getElementById("verify-text").textContent = (rep.out + rep.err).trim();
  box.hidden = false;
}

// One section at a time, chosen by the address's #fragment.
function show() {
  const id = (location.hash || "#balances").slice(1);
  for (const s of document.querySelectorAll("section.acct")) s.hidden = s.id !== id;
  for (const a of document.querySelectorAll("#acct-nav a"))
    a.classList.toggle("current", a.getAttribute("href") === `#${id}`);
}

const thisMonth = new Date().toISOString().slice(0, 7);
document.getElementById("revenue-month").value = thisMonth;
document.getElementById("statement-month").value = thisMonth;
document.getElementById("ledger-filter").addEventListener("submit", (ev) => { ev.preventDefault(); loadLedger(); });
document.getElementById("ledger-filter").addEventListener("change", ledgerLinks);
document.getElementById("revenue-filter").addEventListener("submit", (ev) => { ev.preventDefault(); loadRevenue(); });
document.getElementById("statement-filter").addEventListener("change", statementLinks);
document.getElementById("verify-run").addEventListener("click", () => runVerify(false));
document.getElementById("verify-head").addEventListener("click", () => runVerify(true));
window.addEventListener("hashchange", show);
show();

fetch("/api/me").then((r) => r.json()).then((me) => {
  document.getElementById("who").textContent = `${me.login} (${me.role}) · ${me.console}`;
});
window.qhAccounting = Promise.all([loadBalances(), loadLedger(), loadRevenue()]);
