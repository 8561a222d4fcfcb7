// The session page's desktop: noVNC's RFB client against
// /ws/desktop/CODE?control=0|1&screen=N. The server relays the agent's RFB
// stream as binary messages and says what happens to the channel in JSON
// text messages (a refusal's reason, notices); those are taken out here
// before noVNC sees the stream. The customer is asked for view and for
// control by the agent; view-only also stops noVNC sending input, and so
// does the customer taking control back. Under control the clipboard goes
// both ways, as with any viewer: what the PC copies shows in the page's
// clipboard box, and "Send to the PC" puts the box's text on the PC's.
import RFB from "/vendor/novnc/core/rfb.js";
import { t, wsURL } from "/common.js";

const code = new URLSearchParams(location.search).get("code") || "";
const el = (id) => document.getElementById(id);
let rfb = null;

function state(text, kind) {
  const s = el("desk-state");
  s.textContent = text;
  s.dataset.state = kind;
}

// A WebSocket as noVNC takes one (websock.js's raw channel: send, close,
// binaryType, protocol, readyState, on*), without the server's events.
class Channel {
  constructor(ws, onEvent) {
    this.ws = ws;
    this.onopen = null;
    this.onmessage = null;
    this.onerror = null;
    this.onclose = null;
    ws.binaryType = "arraybuffer";
    ws.onopen = (e) => this.onopen && this.onopen(e);
    ws.onerror = (e) => this.onerror && this.onerror(e);
    ws.onclose = (e) => this.onclose && this.onclose(e);
    ws.onmessage = (e) => {
      if (typeof e.data === "string") onEvent(JSON.parse(e.data));
      else if (this.onmessage) this.onmessage(e);
    };
  }
  get binaryType() { return this.ws.binaryType; }
  set binaryType(v) { this.ws.binaryType = v; }
  get protocol() { return this.ws.protocol; }
  get readyState() { return this.ws.readyState; }
  send(data) { this.ws.send(data); }
  close() { this.ws.close(); }
}

// The clipboard box: shown while the page controls the desktop.
function clipboard(shown) {
  el("desk-clip").hidden = !shown;
}

function buttons(busy) {
  el("desk-view").disabled = busy;
  el("desk-control").disabled = busy;
  el("desk-disconnect").disabled = !busy;
}

function connect(control) {
  const screen = Math.max(0, Math.min(255, parseInt(el("desk-screen").value, 10) || 0));
  const ws = new WebSocket(
    wsURL(`/ws/desktop/${code}?control=${control ? 1 : 0}&screen=${screen}`), ["binary"]);
  let refused = null;
  const notices = el("desk-notices");
  notices.textContent = "";
  const channel = new Channel(ws, (m) => {
    if (m.type === "error") {
      refused = m.text;
      state(`${t("refused")}: ${m.text}`, "refused");
    } else if (m.type === "notice" || m.type === "control-off") {
      const li = document.createElement("li");
      li.textContent = m.text;
      notices.appendChild(li);
      if (m.type === "control-off" && rfb) {
        rfb.viewOnly = true;
        clipboard(false);
        state(t("viewing"), "view");
      }
    }
  });
  const view = el("desktop");
  view.hidden = false;
  rfb = new RFB(view, channel);
  rfb.viewOnly = !control;
  rfb.scaleViewport = true;
  window.qhDesk = rfb; // the tests read its canvas
  state(t("waiting for the customer's consent"), "waiting");
  buttons(true);
  rfb.addEventListener("connect", () => {
    state(control ? t("controlling") : t("viewing"), control ? "control" : "view");
    clipboard(control);
    if (control) rfb.focus();
  });
  rfb.addEventListener("clipboard", (e) => { el("desk-clip-text").value = e.detail.text; });
  rfb.addEventListener("disconnect", () => {
    if (refused === null) state(t("ended"), "ended");
    view.hidden = true;
    clipboard(false);
    buttons(false);
    rfb = null;
  });
}

// The page shows View and Control disabled until this module (and noVNC
// with it) has loaded: a click before would have done nothing.
buttons(false);
el("desk-view").addEventListener("click", () => connect(false));
el("desk-control").addEventListener("click", () => connect(true));
el("desk-disconnect").addEventListener("click", () => rfb && rfb.disconnect());
el("desk-clip-send").addEventListener("click", () => {
  if (rfb && !rfb.viewOnly) rfb.clipboardPasteFrom(el("desk-clip-text").value);
});
