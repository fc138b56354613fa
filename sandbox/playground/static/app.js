// The playground console: a Slack-like channel (as a chosen demo user) and a live cluster view.
const state = {users: [], names: {}, history: {}, lastRender: ""};
const $ = id => document.getElementById(id);
const COLORS = ["#3f51b5", "#e91e63", "#009688", "#ff9800", "#795548", "#607d8b"];

async function api(path, body) {
  const opts = body ? {method: "POST", body: JSON.stringify(body), headers: {"Content-Type": "application/json"}} : {};
  const resp = await fetch(path, opts);
  return resp.json();
}

function currentUser() { return $("user").value; }

function renderMessages(data) {
  const items = data.messages.map(m => ({kind: "message", ts: m.ts, m}))
    .concat(data.ephemerals.map(e => ({kind: "ephemeral", ts: e.ts, m: e})))
    .sort((a, b) => parseFloat(a.ts) - parseFloat(b.ts));
  const html = items.map(({kind, m}) => {
    if (kind === "ephemeral") {
      return `<article class="msg ephemeral"><div class="who">graybot <small>Only visible to you</small></div>
              <div class="body">${mrkdwn(m.text, state.names)}</div></article>`;
    }
    const body = m.blocks && m.blocks.length ? renderBlocks(m.blocks, state.names, m) : mrkdwn(m.text, state.names);
    const replies = (m.replies || []).map(r => {
      const files = (r.files || []).map(f => `<img class="file" alt="${esc(f.title)}" src="/api/file?id=${esc(f.id)}">`);
      return `<div class="reply"><b>graybot</b> ${mrkdwn(r.text, state.names)}${files.join("")}</div>`;
    }).join("");
    const edited = m.edited ? ` <small>(edited ${m.edited}×)</small>` : "";
    return `<article class="msg" data-ts="${m.ts}"><div class="who">graybot <small>APP</small>${edited}</div>
            <div class="body">${body}</div>
            ${replies ? `<details class="thread" open><summary>${m.replies.length} replies</summary>${replies}</details>` : ""}
            </article>`;
  }).join("");
  if (html !== state.lastRender) {
    const box = $("messages");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    box.innerHTML = html;
    state.lastRender = html;
    if (atBottom) box.scrollTop = box.scrollHeight;
  }
}

function chart(app, history) {
  const versions = [...new Set(history.flatMap(h => Object.keys(h)))].sort();
  const w = 280, h = 90, n = Math.max(history.length - 1, 1);
  const lines = versions.map((v, i) => {
    const pts = history.map((s, x) => {
      const total = Object.values(s).reduce((a, b) => a + b, 0) || 1;
      return `${(x / n * w).toFixed(1)},${(h - (s[v] || 0) / total * h).toFixed(1)}`;
    }).join(" ");
    return `<polyline points="${pts}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="2"/>`;
  }).join("");
  const last = history[history.length - 1] || {};
  const total = Object.values(last).reduce((a, b) => a + b, 0) || 1;
  const legend = versions.map((v, i) => `<span style="color:${COLORS[i % COLORS.length]}"
      data-share="${app}-${v}">${v} ${Math.round((last[v] || 0) / total * 100)}%</span>`).join(" ");
  return `<svg viewBox="0 0 ${w} ${h}" class="chart">${lines}</svg><div class="legend">traffic: ${legend}</div>`;
}

function renderApps(cluster, data) {
  return Object.entries(data.apps).sort().map(([app, deploys]) => {
    const key = `${cluster}/${app}`;
    const hist = state.history[key] = (state.history[key] || []).concat([data.traffic[app] || {}]).slice(-60);
    const rows = deploys.sort((a, b) => a.name.localeCompare(b.name)).map(d => {
      const pods = Array.from({length: Math.max(d.replicas, d.ready)}, (_, i) =>
        `<i class="pod ${i < d.ready ? "ready" : ""}"></i>`).join("");
      return `<div class="deploy" data-deploy="${d.name}" data-version="${d.version}" data-ready="${d.ready}"
               data-replicas="${d.replicas}"><b>${d.name}</b> <code>${d.image}</code>
               <span class="count">${d.ready}/${d.replicas} ready</span><div class="pods">${pods}</div></div>`;
    }).join("");
    const versions = {};
    deploys.forEach(d => versions[d.version] = (versions[d.version] || 0) + d.ready);
    const summary = Object.entries(versions).map(([v, r]) =>
      `<span data-version-ready="${app}-${v}">${v}: ${r}</span>`).join(" · ");
    return `<div class="app" data-app="${app}"><h4>${app}</h4><div class="summary">ready pods per version: ${summary}</div>
            ${rows}${chart(app, hist)}</div>`;
  }).join("");
}

function renderCluster(data) {
  // one section per sandbox cluster (staging, prod), in the order graybot releases them
  $("apps").innerHTML = data.clusters.map(c =>
    `<section class="kube" data-cluster="${c.name}"><h3>${c.name}</h3>${renderApps(c.name, c)}</section>`).join("");
}

async function poll() {
  try {
    const [messages, cluster] = await Promise.all([
      api(`/api/messages?user=${encodeURIComponent(currentUser())}`), api("/api/cluster")]);
    renderMessages(messages);
    renderCluster(cluster);
    await pollHome();
  } catch (err) { $("ack").textContent = `console: ${err}`; }
  setTimeout(poll, 700);
}

function askConfirm(confirm) {
  return new Promise(resolve => {
    const dialog = $("confirm");
    $("confirm-title").textContent = confirm.title.text;
    $("confirm-text").innerHTML = mrkdwn(confirm.text.text, state.names);
    $("confirm-ok").textContent = confirm.confirm ? confirm.confirm.text : "OK";
    $("confirm-deny").textContent = confirm.deny ? confirm.deny.text : "Cancel";
    dialog.onclose = () => resolve(dialog.returnValue === "ok");
    dialog.showModal();
  });
}

document.addEventListener("click", async event => {
  const button = event.target.closest(".bk-button");
  if (!button) return;
  if (button.dataset.confirm && !(await askConfirm(JSON.parse(button.dataset.confirm)))) return;
  if (button.dataset.ts.startsWith("home:")) {        // a button on the Home tab: the view was clicked
    await api("/api/home-action", {user: currentUser(), action_id: button.dataset.actionId,
                                   value: button.dataset.value, view_id: button.dataset.ts.slice(5)});
    return;
  }
  await api("/api/action", {user: currentUser(), action_id: button.dataset.actionId,
                            value: button.dataset.value, ts: button.dataset.ts});
});

$("composer").addEventListener("submit", async event => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  const reply = await api("/api/command", {user: currentUser(), text});
  $("ack").innerHTML = reply.status === 200 ? mrkdwn(reply.text || "", state.names) : `HTTP ${reply.status}`;
  $("text").value = "";
});

(async () => {
  state.users = await api("/api/users");
  state.users.forEach(u => state.names[u.id] = u.name);
  $("user").innerHTML = state.users.map(u => `<option value="${u.id}">${u.name} (${u.role})</option>`).join("");
  $("user").addEventListener("change", () => { state.lastRender = ""; views.homeOpened = false; });
  $("tab-home").addEventListener("click", () => showHome(true));
  $("tab-channel").addEventListener("click", () => showHome(false));
  $("start-form").addEventListener("click", openForm);
  $("modal-form").addEventListener("submit", submitModal);
  $("modal-cancel").addEventListener("click", () => $("modal").close());
  poll();
})();
