// The sessions page (accounting): sessions with their audit log, terminal
// recordings played in the page (asciinema-player), desktop recordings to
// download. The listing is the console's `sessions --json`
// (/api/sessions); a recording comes from /api/recording, checked by the
// server against the size and SHA-256 the console announced.
import { t, translate, units } from "/common.js";

translate(document);

const el = (id) => document.getElementById(id);
let player = null;

// "2026-12-03T14:05:00Z" as "2026-12-03 14:05:00 UTC".
function when(iso) {
  return iso ? iso.replace("T", " ").replace("Z", " UTC") : "–";
}

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function recordingURL(session, name) {
  return `/api/recording?session=${session}&name=${encodeURIComponent(name)}`;
}

function link(href, text, name) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  if (name) a.download = name;
  return a;
}

function play(session, name) {
  if (player) player.dispose();
  el("player").replaceChildren();
  player = AsciinemaPlayer.create(recordingURL(session, name), el("player"),
    { preload: true, fit: "width" }); // in the recording's own time
  window.qhPlayer = player; // for the browser tests
  el("player").dataset.recording = name;
}

function showRecordings(s) {
  const list = el("recordings");
  list.replaceChildren();
  for (const r of s.recordings || []) {
    const li = document.createElement("li");
    li.dataset.file = r.file;
    const fbs = r.file.endsWith(".fbs");
    li.append(`${r.file} · ${r.kind || "?"} · ${r.size} ${t("bytes")} · ` +
      `${r.technician || "–"} · ${r.source === "reported" ? t("reported by the technician's client")
        : t("relayed through the console")} `);
    if (!fbs) {
      const b = document.createElement("button");
      b.className = "primary play";
      b.textContent = t("Play");
      b.addEventListener("click", () => play(s.id, r.file));
      li.append(b, " ");
    }
    li.append(link(recordingURL(s.id, r.file), t("Download"), r.file));
    if (fbs) { // `qh-console replay` reads the viewer's side beside it
      const viewer = r.file.replace(/\.fbs$/, ".client.fbs");
      li.append(" · ", link(recordingURL(s.id, viewer), t("Download the viewer's side"), viewer));
    }
    list.appendChild(li);
  }
  if (!list.children.length) {
    const li = document.createElement("li");
    li.textContent = t("No recordings.");
    list.appendChild(li);
  }
}

function showSession(s) {
  if (player) { player.dispose(); player = null; }
  el("player").replaceChildren();
  el("detail").hidden = false;
  el("detail").dataset.session = s.id;
  el("detail-title").textContent = `${t("Session")} ${s.id} · ${s.customer}`;
  const facts = [`${t("Kind")}: ${s.kind}`, `${t("Billable")}: ${s.billable_seconds} s`];
  if (s.close_reason) facts.push(`${t("Closed")}: ${s.close_reason}`);
  if (s.internal_note) facts.push(`${t("Internal note")}: ${s.internal_note}`);
  el("detail-facts").textContent = facts.join(" · ");
  const body = el("audit").querySelector("tbody");
  body.replaceChildren();
  for (const e of s.audit || []) {
    const tr = document.createElement("tr");
    tr.dataset.id = e.id;
    cell(tr, when(e.started_at));
    cell(tr, e.kind || "");
    cell(tr, e.login || "–");
    cell(tr, e.command || "");
    cell(tr, e.ended_at && e.ended_at !== e.started_at ? when(e.ended_at) : "");
    const d = e.detail === null || e.detail === undefined ? ""
      : typeof e.detail === "string" ? e.detail : JSON.stringify(e.detail);
    cell(tr, d, "detail");
    body.appendChild(tr);
  }
  showRecordings(s);
}

function render(list) {
  const body = el("sessions").querySelector("tbody");
  body.replaceChildren();
  for (const s of list) {
    const tr = document.createElement("tr");
    tr.dataset.session = s.id;
    cell(tr, String(s.id), "num");
    cell(tr, s.customer);
    cell(tr, (s.technicians || []).join(", ") || "–");
    cell(tr, when(s.opened_at));
    cell(tr, s.closed_at ? when(s.closed_at) : t("open"));
    cell(tr, units(s.debited_units), "num");
    cell(tr, s.note || "", "note");
    const td = document.createElement("td");
    const b = document.createElement("button");
    b.className = "open";
    b.textContent = t("Audit log and recordings");
    b.addEventListener("click", () => showSession(s));
    td.appendChild(b);
    tr.appendChild(td);
    body.appendChild(tr);
  }
  el("empty").hidden = list.length > 0;
}

async function load() {
  const customer = el("customer").value.trim();
  el("state").textContent = t("loading…");
  el("detail").hidden = true;
  const r = await fetch("/api/sessions" +
    (customer ? `?customer=${encodeURIComponent(customer)}` : ""));
  if (!r.ok) {
    el("state").textContent = `${t("The console did not list the sessions")}: ${await r.text()}`;
    el("state").dataset.error = "1";
    render([]);
    return;
  }
  const list = await r.json();
  delete el("state").dataset.error;
  el("state").textContent = `${list.length} ${t("sessions")}`;
  render(list);
}

el("filter").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
fetch("/api/me").then((r) => r.json()).then((me) => {
  el("who").textContent = `${me.login} (${me.role}) · ${me.console}`;
});
load();
