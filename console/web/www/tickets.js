// The tickets page: the console's tickets, filtered, each linking to its page.
import { t, translate } from "/common.js";
import { get, when, statusText, marks, who } from "/desk.js";

translate(document);
who();
const params = new URLSearchParams(location.search);
const openOnly = document.getElementById("open-only");
const customer = document.getElementById("customer");
openOnly.checked = params.get("open") !== "0";
customer.value = params.get("customer") || "";

function cell(tr, content, cls) {
  const td = document.createElement("td");
  if (typeof content === "string") td.textContent = content;
  else td.append(...content);
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function render(list) {
  const body = document.querySelector("#tickets tbody");
  body.replaceChildren();
  for (const tk of list) {
    const tr = document.createElement("tr");
    tr.dataset.id = tk.id;
    const a = document.createElement("a");
    a.href = `/ticket.html?id=${tk.id}`;
    a.textContent = String(tk.id);
    cell(tr, [a], "num");
    cell(tr, tk.customer_name ? `${tk.customer_name} (${tk.customer})` : tk.customer || "–");
    const subject = document.createElement("a");
    subject.href = a.href;
    subject.textContent = tk.subject;
    cell(tr, [subject]);
    cell(tr, statusText(tk.status)).className = "status";
    const due = cell(tr, [when(tk.due_at), ...marks(tk)], "due");
    due.dataset.due = tk.due_at || "";
    cell(tr, tk.assigned_to || "–");
    body.appendChild(tr);
  }
  document.getElementById("empty").hidden = list.length > 0;
}

async function load() {
  const q = new URLSearchParams();
  q.set("open", openOnly.checked ? "1" : "0");
  if (customer.value.trim()) q.set("customer", customer.value.trim());
  history.replaceState(null, "", `?${q}`);
  const err = document.getElementById("error");
  try {
    render(await get(`/api/desk/tickets?${q}`));
    err.hidden = true;
  } catch (e) {
    err.textContent = `${t("The console refused")}: ${e.message}`;
    err.hidden = false;
  }
}

document.getElementById("filters").addEventListener("submit", (ev) => {
  ev.preventDefault();
  load();
});
openOnly.addEventListener("change", load);
load();
