// The Home tab and the start form (a modal), as the fake Slack holds what graybot published.
const views = {home: false, homeOpened: false, modalId: null, modalShown: ""};

function renderHome(view) {
  const box = $("home");
  if (!view) { box.innerHTML = "<p class='empty'>graybot has not published your Home tab yet…</p>"; return; }
  const html = renderBlocks(view.blocks, state.names, {ts: "home:" + view.id});
  if (box.dataset.rendered !== html) { box.innerHTML = html; box.dataset.rendered = html; }
}

async function pollHome() {
  if (!views.home) return;
  const data = await api(`/api/home?user=${encodeURIComponent(currentUser())}&opened=${views.homeOpened ? 0 : 1}`);
  views.homeOpened = true;
  renderHome(data.view);
}

function showHome(on) {
  views.home = on;
  views.homeOpened = false;
  $("home").hidden = !on;
  $("messages").hidden = on;
  $("tab-home").classList.toggle("active", on);
  $("tab-channel").classList.toggle("active", !on);
  if (on) pollHome();
}

function inputOf(block) {
  const e = block.element;
  if (e.type === "static_select") {
    const initial = e.initial_option ? e.initial_option.value : "";
    const options = [block.optional ? "<option value=''>—</option>" : ""].concat(e.options.map(o =>
      `<option value="${esc(o.value)}" ${o.value === initial ? "selected" : ""}>${esc(o.text.text)}</option>`));
    return `<select name="${esc(block.block_id)}">${options.join("")}</select>`;
  }
  const hint = e.placeholder ? esc(e.placeholder.text) : "";
  return `<input name="${esc(block.block_id)}" placeholder="${hint}" spellcheck="false">`;
}

function renderModal(view) {
  const key = JSON.stringify(view);
  if (views.modalShown === key) return;
  views.modalShown = key;
  views.modalId = view.id;
  $("modal-title").textContent = view.title.text;
  $("modal-body").innerHTML = view.blocks.map(b => b.type === "input"
    ? `<label class="field" data-block="${esc(b.block_id)}">${esc(b.label.text)}${inputOf(b)}<span class="error"></span></label>`
    : renderBlocks([b], state.names, {ts: "modal"})).join("");
  $("modal-submit").hidden = !view.submit;
  $("modal-submit").textContent = view.submit ? view.submit.text : "";
  if (!$("modal").open) $("modal").showModal();
}

async function pollModal(until) {
  for (let i = 0; i < 50; i++) {
    const data = await api("/api/modal");
    if (data.view && until(data.view)) { renderModal(data.view); return; }
    await new Promise(r => setTimeout(r, 200));
  }
}

async function openForm() {
  const before = (await api("/api/modal")).view;
  await api("/api/command", {user: currentUser(), text: ""});
  await pollModal(v => !before || v.id !== before.id);
}

async function submitModal(event) {
  event.preventDefault();
  const values = {};
  document.querySelectorAll("#modal-body [name]").forEach(el => { if (el.value) values[el.name] = el.value; });
  document.querySelectorAll("#modal-body .error").forEach(el => { el.textContent = ""; });
  const shown = views.modalShown;
  const answer = await api("/api/submit", {user: currentUser(), view_id: views.modalId, values});
  if (answer.response_action === "errors") {
    Object.entries(answer.errors).forEach(([block, text]) => {
      const field = document.querySelector(`#modal-body [data-block="${block}"] .error`);
      if (field) field.textContent = text;
    });
  } else if (answer.response_action === "clear") {
    $("modal").close();
  } else {
    await pollModal(v => JSON.stringify(v) !== shown && !!v.submit);
  }
}
