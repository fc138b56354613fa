// Block Kit -> HTML, for the subset graybot sends: header, section (text, fields), context,
// divider, actions (buttons with style and confirm dialogs).
const EMOJI = {white_check_mark: "✅", arrow_forward: "▶️", white_circle: "⚪", hourglass: "⌛",
  arrows_counterclockwise: "🔄", raised_hand: "✋", double_vertical_bar: "⏸️", rewind: "⏪",
  leftwards_arrow_with_hook: "↩️", tada: "🎉", x: "❌", rotating_light: "🚨", warning: "⚠️",
  no_entry: "⛔", alarm_clock: "⏰", hourglass_flowing_sand: "⏳", twisted_rightwards_arrows: "🔀"};

function esc(text) {
  return String(text).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
}

function mrkdwn(text, names) {
  let html = esc(text);
  html = html.replace(/```([\s\S]*?)```/g, (_, code) => `<pre>${code}</pre>`);
  html = html.replace(/&lt;@([A-Z0-9]+)&gt;/g, (_, id) => `<span class="mention">@${names[id] || id}</span>`);
  html = html.replace(/&lt;#([A-Z0-9]+)&gt;/g, (_, id) => `<span class="mention">#${id}</span>`);
  html = html.replace(/&lt;!subteam\^([A-Z0-9]+)&gt;/g, (_, id) => `<span class="mention">@${id}</span>`);
  html = html.replace(/`([^`]+)`/g, "<code>$1</code>");
  html = html.replace(/\*([^*\n]+)\*/g, "<b>$1</b>");
  html = html.replace(/(^|\s)_([^_\n]+)_/g, "$1<i>$2</i>");
  html = html.replace(/:([a-z_]+):/g, (m, name) => EMOJI[name] || m);
  return html.replace(/\n/g, "<br>");
}

function textOf(obj, names) {
  if (!obj) return "";
  return obj.type === "mrkdwn" ? mrkdwn(obj.text, names) : esc(obj.text).replace(/:([a-z_]+):/g, (m, n) => EMOJI[n] || m);
}

function renderBlocks(blocks, names, message) {
  const parts = [];
  for (const block of blocks || []) {
    if (block.type === "header") parts.push(`<h3 class="bk-header">${textOf(block.text, names)}</h3>`);
    else if (block.type === "divider") parts.push(`<hr class="bk-divider">`);
    else if (block.type === "context") {
      parts.push(`<div class="bk-context">${block.elements.map(e => `<span>${textOf(e, names)}</span>`).join("")}</div>`);
    } else if (block.type === "section") {
      let html = block.text ? `<div class="bk-text">${textOf(block.text, names)}</div>` : "";
      if (block.fields) html += `<div class="bk-fields">${block.fields.map(f => `<div>${textOf(f, names)}</div>`).join("")}</div>`;
      parts.push(`<div class="bk-section">${html}</div>`);
    } else if (block.type === "actions") {
      const buttons = block.elements.filter(e => e.type === "button").map(e => {
        const confirm = e.confirm ? esc(JSON.stringify(e.confirm)) : "";
        return `<button class="bk-button ${e.style || ""}" data-action-id="${esc(e.action_id)}"
                 data-value="${esc(e.value || "")}" data-ts="${esc(message.ts)}" data-confirm="${confirm}">
                 ${textOf(e.text, names)}</button>`;
      });
      parts.push(`<div class="bk-actions">${buttons.join("")}</div>`);
    }
  }
  return parts.join("");
}
