// The session page: a terminal on the agent over /ws/session/CODE, the
// session's figures from the queue, and "End with note".
import { t, translate, units, pretty, socket, showLink, wsURL } from "/common.js";

translate(document);
const code = new URLSearchParams(location.search).get("code") || "";
document.getElementById("title").textContent = pretty(code);
document.title = `quarterhour: ${pretty(code)}`;

const term = new Terminal({ cursorBlink: true, convertEol: false, scrollback: 5000 });
const fit = new FitAddon.FitAddon();
term.loadAddon(fit);
term.open(document.getElementById("terminal"));
fit.fit();
window.qhTerm = term; // the tests read term.buffer

const enc = new TextEncoder();
function frame(type, payload) {
  const b = new Uint8Array(1 + payload.length);
  b[0] = type;
  b.set(payload, 1);
  return b;
}
function sizeFrame() {
  const b = new Uint8Array(5);
  const v = new DataView(b.buffer);
  b[0] = 1;
  v.setUint16(1, term.rows);
  v.setUint16(3, term.cols);
  return b;
}

function notice(text, cls) {
  const li = document.createElement("li");
  li.textContent = text;
  if (cls) li.className = cls;
  document.getElementById("notices").appendChild(li);
}
const state = (s) => { document.getElementById("state").textContent = s; };

const sock = socket(`/ws/session/${code}`, (m) => {
  if (m instanceof ArrayBuffer) { term.write(new Uint8Array(m)); return; }
  switch (m.type) {
    case "link": showLink(m); break;
    case "open": state(t("terminal open")); term.focus(); break;
    case "notice": notice(m.text); break;
    case "error": notice(m.text, "error"); break;
    case "exit": notice(`exit ${m.status}`); break;
    case "closed": state(t("terminal closed")); break;
    case "ended":
      document.getElementById("ended").textContent = m.text;
      state(t("session ended"));
      break;
    case "info":
    case "info-failed": {
      const el = document.getElementById("info");
      el.textContent = m.text;
      el.hidden = false;
      el.dataset.state = m.type;
      break;
    }
    case "end-failed":
      document.getElementById("ended").textContent = m.text;
      document.getElementById("end-button").disabled = false;
      break;
  }
}, () => sock.send(sizeFrame()));

term.onData((d) => sock.send(frame(0, enc.encode(d))));
term.onBinary((d) => sock.send(frame(0, Uint8Array.from(d, (c) => c.charCodeAt(0)))));
term.onResize(() => sock.send(sizeFrame()));
window.addEventListener("resize", () => fit.fit());

document.getElementById("copy").addEventListener("click", () => {
  navigator.clipboard.writeText(term.getSelection());
  term.focus();
});
document.getElementById("paste").addEventListener("click", async () => {
  term.paste(await navigator.clipboard.readText());
  term.focus();
});

document.getElementById("info-button").addEventListener("click", () => sock.send(new Uint8Array([4])));

document.getElementById("end").addEventListener("submit", (ev) => {
  ev.preventDefault();
  document.getElementById("end-button").disabled = true;
  sock.send(frame(2, enc.encode(document.getElementById("note").value)));
});

// The session's figures, from the queue the console pushes.
socket("/ws/queue", (m) => {
  if (!Array.isArray(m)) return;
  const a = m.find((x) => x.code === code);
  if (!a) return;
  document.getElementById("customer").textContent = `${a.name} (${a.customer})`;
  document.getElementById("host").textContent = a.host;
  document.getElementById("balance").textContent = units(a.balance);
  document.getElementById("running").textContent = a.running_units ?? "–";
  document.getElementById("session").textContent = a.session ?? "–";
});

// Upload: /ws/push/CODE, the start (size, mode, flags, path), then the
// bytes in messages of at most 15 KiB; the console's agent checks SHA-256.
const CHUNK = 15 * 1024;
document.getElementById("upload").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const file = document.getElementById("file").files[0];
  const path = document.getElementById("remote").value;
  const out = document.getElementById("uploaded");
  const bar = document.getElementById("upload-progress");
  if (!file || !path) return;
  const data = new Uint8Array(await file.arrayBuffer());
  const p = enc.encode(path);
  const start = new Uint8Array(14 + p.length);
  const v = new DataView(start.buffer);
  start[0] = 3;
  v.setBigUint64(1, BigInt(data.length));
  v.setUint32(9, 0o644);
  start[13] = document.getElementById("force").checked ? 1 : 0;
  start.set(p, 14);
  bar.max = Math.max(1, data.length);
  bar.value = 0;
  out.textContent = "";
  document.getElementById("upload-button").disabled = true;
  const ws = new WebSocket(wsURL(`/ws/push/${code}`));
  ws.binaryType = "arraybuffer";
  ws.onopen = () => {
    ws.send(start);
    for (let off = 0; off < data.length; off += CHUNK)
      ws.send(frame(0, data.subarray(off, off + CHUNK)));
  };
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.type === "progress") bar.value = m.bytes;
    else if (m.type === "pushed") {
      out.textContent = m.status === 0
        ? `${t("uploaded")}: ${m.size} bytes, SHA-256 ${m.hash}` : (m.text || `status ${m.status}`);
      out.dataset.status = m.status;
      ws.close();
    } else if (m.type === "error") {
      out.textContent = m.text;
      out.dataset.status = "error";
    }
  };
  ws.onclose = () => { document.getElementById("upload-button").disabled = false; };
});

// Download: GET /api/pull streams the agent's file; the server cuts it
// short unless the agent's SHA-256 matches what passed.
document.getElementById("download").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const path = document.getElementById("pull-path").value;
  if (!path) return;
  const a = document.createElement("a");
  a.href = `/api/pull?code=${code}&path=${encodeURIComponent(path)}`;
  a.download = path.split("/").pop() || "download";
  document.body.appendChild(a);
  a.click();
  a.remove();
});
