// What the tickets pages share: the requests to /api/desk and formatting.
import { t, lang } from "/common.js";

// A GET's JSON; a refusal throws its sentence (the console's, or ours).
export async function get(path) {
  const r = await fetch(path, { credentials: "same-origin" });
  if (!r.ok) throw new Error((await r.text()).trim() || `HTTP ${r.status}`);
  return r.json();
}

// A change: POST with a JSON body (qh-console web checks Origin and type).
export async function post(action, body) {
  const r = await fetch(`/api/desk/${action}`, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (!r.ok) throw new Error((await r.text()).trim() || `HTTP ${r.status}`);
  return r.json();
}

// A reply with attachments: one application/octet-stream body, its head a
// big-endian u32 length and the JSON with the files' names and sizes, then
// their bytes in that order (console/web/deskreq.h).
export async function postReply(id, text, files) {
  if (!files.length) return post("reply", { id, text });
  const head = new TextEncoder().encode(JSON.stringify({
    id, text, files: Array.from(files, (f) => ({ name: f.name, size: f.size })),
  }));
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, head.length);
  const r = await fetch("/api/desk/reply", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/octet-stream" },
    body: new Blob([len, head, ...files]),
  });
  if (!r.ok) throw new Error((await r.text()).trim() || `HTTP ${r.status}`);
  return r.json();
}

// "YYYY-MM-DDTHH:MM:SSZ" in the browser's time zone; "–" for none.
export function when(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" });
}

export function statusText(s) {
  return { open: t("open"), waiting: t("waiting for customer"), answered: t("answered"),
    closed: t("closed") }[s] || s;
}

// The overdue and past-deadline marks of a ticket, as elements.
export function marks(tk) {
  const out = [];
  if (tk.overdue) out.push([t("overdue"), "mark overdue"]);
  if (tk.past_deadline) out.push([t("past deadline"), "mark deadline"]);
  return out.map(([text, cls]) => {
    const s = document.createElement("span");
    s.className = cls;
    s.textContent = text;
    return s;
  });
}

export async function who() {
  try {
    const me = await get("/api/me");
    document.getElementById("who").textContent = `${me.login} (${me.role}) · ${me.console}`;
  } catch (e) { /* the header stays empty */ }
}
