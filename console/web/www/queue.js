// The queue page: waiting agents as the console pushes them.
import { t, translate, units, since, pretty, socket, showLink } from "/common.js";

translate(document);
let agents = [];

function render() {
  const body = document.querySelector("#queue tbody");
  body.replaceChildren();
  for (const a of agents) {
    const tr = document.createElement("tr");
    tr.dataset.code = a.code;
    if (!a.connected) tr.className = "away";
    const cells = [pretty(a.code), `${a.name} (${a.customer})`, a.host, units(a.balance),
      since(a.waiting_since), (a.technicians || []).join(", ") || "–"];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      td.textContent = text + (i === 2 && !a.connected ? ` (${t("reconnecting")})` : "");
      if (i === 3 || i === 4) td.className = "num";
      tr.appendChild(td);
    });
    const td = document.createElement("td");
    const b = document.createElement("button");
    b.className = "primary start";
    b.textContent = a.session ? t("Open session") : t("Start session");
    b.addEventListener("click", () => { location.href = `/session.html?code=${a.code}`; });
    td.appendChild(b);
    tr.appendChild(td);
    body.appendChild(tr);
  }
  document.getElementById("empty").hidden = agents.length > 0;
}

socket("/ws/queue", (m) => {
  if (Array.isArray(m)) { agents = m; render(); }
  else if (m.type === "link") showLink(m);
});
setInterval(render, 1000); // the waiting time moves on
// An accounting bundle sees no queue: its pages are the accounting ones.
fetch("/api/me").then((r) => r.json()).then((me) => {
  if (me.role === "accounting") location.replace("/accounting.html");
});
