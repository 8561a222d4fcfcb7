// A ticket: its facts, environment, attachments, proposals, conversation and
// the technician's actions (reply, ask, assign, confirm, close).
import { t, translate } from "/common.js";
import { get, post, postReply, when, statusText, marks, who } from "/desk.js";

translate(document);
who();
const id = Number(new URLSearchParams(location.search).get("id"));
const $ = (sel) => document.getElementById(sel);

function text(el, s) {
  $(el).textContent = s === null || s === undefined || s === "" ? "–" : String(s);
}

function item(list, parts, cls) {
  const li = document.createElement("li");
  li.append(...parts);
  if (cls) li.className = cls;
  $(list).appendChild(li);
  return li;
}

function span(cls, s) {
  const el = document.createElement(cls === "text" ? "p" : "span");
  el.className = cls;
  el.textContent = s;
  return el;
}

function render(doc) {
  const tk = doc.ticket;
  document.title = `quarterhour: ${t("Ticket")} ${tk.id}`;
  $("title").textContent = `${t("Ticket")} ${tk.id}: ${tk.subject}`;
  text("customer", tk.customer_name ? `${tk.customer_name} (${tk.customer})` : tk.customer);
  text("host", tk.host);
  text("kind", tk.kind);
  text("status", statusText(tk.status));
  $("status").dataset.status = tk.status;
  text("created", when(tk.created_at));
  $("due").replaceChildren(when(tk.due_at), ...marks(tk));
  $("due").dataset.due = tk.due_at || "";
  text("deadline", when(tk.deadline_at));
  text("assigned", tk.assigned_name ? `${tk.assigned_name} (${tk.assigned_to})` : tk.assigned_to);
  $("closed-note").hidden = tk.status !== "closed";
  $("closed-note").textContent = tk.status === "closed"
    ? `${t("Closed")} ${when(tk.closed_at)}: ${tk.close_note || ""}` : "";
  $("steps").textContent = tk.steps || "–";
  $("environment").textContent = doc.environment_text
    || (typeof tk.environment === "string" ? tk.environment : t("(none)"));

  $("attachments").replaceChildren();
  for (const a of tk.attachments || []) {
    const link = document.createElement("a");
    link.href = `/api/desk/file?id=${tk.id}&name=${encodeURIComponent(a.name)}`;
    link.download = a.name;
    link.textContent = a.name;
    link.className = "attachment";
    item("attachments", [link, ` (${a.size} ${t("bytes")}, SHA-256 `, span("sha", a.sha256), ")"]);
  }
  if (!(tk.attachments || []).length) item("attachments", [t("(none)")]);

  $("proposals").replaceChildren();
  for (const p of tk.proposals || []) {
    const parts = [`${p.slot}: ${p.local_time} (UTC${p.utc_offset}) = ${when(p.starts_at)}`];
    if (p.after_hours) parts.push(` · ${t("outside business hours")}`);
    if (p.confirmed) parts.push(span("state", ` · ${t("confirmed")} ${when(p.confirmed_at)}`));
    else if (tk.status !== "closed") {
      const b = document.createElement("button");
      b.textContent = t("Confirm");
      b.className = "confirm";
      b.dataset.slot = p.slot;
      b.addEventListener("click", () => act("confirm", { id, slot: p.slot }));
      parts.push(" ", b);
    }
    item("proposals", parts).dataset.slot = p.slot;
  }
  if (!(tk.proposals || []).length) item("proposals", [t("(none)")]);

  $("messages").replaceChildren();
  for (const m of tk.messages || []) {
    const who = m.side === "staff" ? t("Support") : t("Customer");
    const meta = `${who}${m.author_name ? ` (${m.author_name})` : ""} · ${when(m.created_at)}`
      + (m.kind === "need" ? ` · ${t("asks for more information")}` : "");
    const parts = [span("meta", meta), span("text", m.text)];
    if ((m.attachments || []).length)
      parts.push(span("meta", `${t("Attachments")}: ${m.attachments.join(", ")}`));
    item("messages", parts, m.side);
  }
  for (const f of ["reply", "need", "assign", "close"])
    for (const el of $(f).elements) el.disabled = tk.status === "closed";
}

async function load() {
  try {
    render(await get(`/api/desk/ticket?id=${id}`));
    $("error").hidden = true;
  } catch (e) {
    $("error").textContent = `${t("The console refused")}: ${e.message}`;
    $("error").hidden = false;
  }
}

// A change; the console's refusal is shown as it said it.
async function act(action, body, form) {
  const result = $("result");
  result.className = "state";
  result.textContent = t("Sending…");
  try {
    if (action === "reply") await postReply(body.id, body.text, $("reply-files").files);
    else await post(action, body);
    result.textContent = t("Done.");
    if (form) form.reset();
  } catch (e) {
    result.className = "error";
    result.textContent = `${t("The console refused")}: ${e.message}`;
    return;
  }
  await load();
}

function onSubmit(form, build) {
  $(form).addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(form, build(), $(form));
  });
}

onSubmit("reply", () => ({ id, text: $("reply-text").value }));
onSubmit("need", () => ({ id, text: $("need-text").value }));
onSubmit("assign", () => ({ id, login: $("assign-login").value.trim() }));
onSubmit("close", () => ({ id, text: $("close-note-text").value }));
load();
