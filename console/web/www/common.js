// What the pages share: the queue socket, texts, formatting.

import { DE } from "/texts.js";

// German when the browser prefers it (texts from po/de.po), English otherwise.

export const lang = (navigator.languages || [navigator.language || "en"])
  .map((l) => l.slice(0, 2)).find((l) => l === "de" || l === "en") || "en";

export function t(s) {
  return lang === "de" && DE[s] ? DE[s] : s;
}

// Puts the page's fixed texts into the browser's language.
export function translate(root) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  for (const el of root.querySelectorAll("[data-tp]")) el.placeholder = t(el.dataset.tp);
}

// Units are quarter hours: "12 units (3h 00m)".
export function units(n) {
  if (n === null || n === undefined) return "–";
  const m = Math.abs(n) * 15;
  const hm = `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
  return `${n} ${t("units")} (${n < 0 ? "−" : ""}${hm})`;
}

export function since(iso) {
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}m ${String(s % 60).padStart(2, "0")}s`;
}

export function pretty(code) {
  return `${code.slice(0, 3)} ${code.slice(3)}`;
}

export function wsURL(path) {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
}

// Opens a WebSocket; reopens it after a loss. onmsg gets parsed JSON for
// text messages and an ArrayBuffer for binary ones.
export function socket(path, onmsg, onopen) {
  let ws;
  const state = { send: (data) => ws && ws.readyState === 1 && ws.send(data), closed: false };
  const open = () => {
    ws = new WebSocket(wsURL(path));
    ws.binaryType = "arraybuffer";
    ws.onopen = () => onopen && onopen();
    ws.onmessage = (ev) => onmsg(typeof ev.data === "string" ? JSON.parse(ev.data) : ev.data);
    ws.onclose = () => { if (!state.closed) setTimeout(open, 2000); };
  };
  open();
  state.close = () => { state.closed = true; ws.close(); };
  return state;
}

// The console connection's state in the header.
export function showLink(ev) {
  const el = document.getElementById("link");
  el.className = "link " + (ev.up ? "up" : "down");
  el.textContent = ev.up ? `${ev.login} (${ev.role}) · ${t("connected to")} ${ev.console}`
    : `${t("not connected")}: ${ev.text || ""}`;
}
