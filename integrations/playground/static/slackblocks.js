// Block Kit as the Slack client draws it. Interactive elements call back through `on`:
//   on.click(element, blockId)           a button
//   on.select(element, value, blockId)   a static/users/conversations select or an overflow
// so the same blocks work in messages, ephemerals, modals and the App Home.

import { h, emoji, link } from "./dom.js";
import { slackText, plain, slackUser, slackDate } from "./markup.js";

export function renderBlocks(blocks, ctx, on) {
  return (blocks || []).map((block) => {
    const el = renderBlock(block, ctx, on);
    if (el && block.block_id) el.dataset.blockId = block.block_id;
    return el;
  });
}

function renderBlock(block, ctx, on) {
  switch (block.type) {
    case "header":
      return h("div", { class: "sl-b-header", role: "heading", "aria-level": "3" }, plain(block.text));
    case "section": return section(block, ctx, on);
    case "context":
      return h("div", { class: "sl-b-context" }, (block.elements || []).map((e) =>
        e.type === "image" ? imageChip(e, true)
          : h("span", { class: "sl-b-context-item" }, slackText(e, ctx))));
    case "divider": return h("hr", { class: "sl-b-divider" });
    case "actions":
      return h("div", { class: "sl-b-actions" },
        (block.elements || []).map((e) => element(e, ctx, on, block.block_id)));
    case "rich_text": return h("div", { class: "sl-rich" }, (block.elements || []).map((e) => rich(e, ctx)));
    case "image":
      return h("figure", { class: "sl-b-image" },
        block.title ? h("figcaption", {}, plain(block.title)) : null, imageChip(block, false));
    case "markdown": return h("div", { class: "sl-b-section md" }, String(block.text || ""));
    default:
      return h("div", { class: "sl-unsupported" }, `[${block.type} block]`);
  }
}

function section(block, ctx, on) {
  const main = h("div", { class: "sl-b-section-main" },
    block.text ? h("div", { class: "sl-b-text md" }, slackText(block.text, ctx)) : null,
    block.fields?.length
      ? h("div", { class: "sl-b-fields" }, block.fields.map((f) =>
        h("div", { class: "sl-b-field md" }, slackText(f, ctx))))
      : null);
  const accessory = block.accessory
    ? h("div", { class: "sl-b-accessory" }, element(block.accessory, ctx, on, block.block_id)) : null;
  return h("div", { class: "sl-b-section" }, main, accessory);
}

function imageChip(img, small) {
  const url = img.image_url || img.slack_file?.url;
  return h("span", { class: `sl-image${small ? " small" : ""}`, role: "img",
    "aria-label": img.alt_text || "image", title: img.alt_text || "" },
  small ? "🖼" : ["🖼 ", img.alt_text || "image", url ? [" · ", link(url, "open")] : null]);
}

/** An interactive element (or an image) in an actions block or a section's accessory. */
export function element(e, ctx, on, blockId) {
  switch (e.type) {
    case "button":
      return h("button", {
        type: "button", class: `sl-btn${e.style ? ` ${e.style}` : ""}`,
        dataset: { actionId: e.action_id || "" }, "aria-label": e.accessibility_label || null,
        onclick: () => {
          if (e.confirm && !window.confirm(confirmText(e.confirm))) return;
          if (e.url) window.open(e.url, "_blank", "noopener");
          on.click(e, blockId);
        },
      }, plain(e.text));
    case "static_select": case "external_select":
      return select(e, options(e), e.initial_option?.value, on, blockId);
    case "users_select":
      return select(e, humans(ctx), e.initial_user, on, blockId);
    case "conversations_select": case "channels_select":
      return select(e, Object.entries(ctx.channels || {}).map(([v, n]) => ({ value: v, label: `#${n}` })),
        e.initial_conversation || e.initial_channel, on, blockId);
    case "overflow": return overflow(e, on, blockId);
    case "image": return imageChip(e, true);
    default:
      return h("span", { class: "sl-unsupported" }, `[${e.type}]`);
  }
}

function confirmText(c) {
  return [plain(c.title), plain(c.text)].filter(Boolean).join("\n\n");
}

/** Options of a static select, flattened (groups become <optgroup>s when rendered). */
export function options(e) {
  if (e.option_groups) {
    return e.option_groups.map((g) => ({ group: plain(g.label), options: g.options.map(opt) }));
  }
  return (e.options || []).map(opt);
}

function opt(o) {
  return { value: o.value, label: plain(o.text) };
}

/** The workspace's people, for users_select (bots are not offered, as in Slack). */
export function humans(ctx) {
  return Object.entries(ctx.users || {}).filter(([, u]) => !u.is_bot && !u.deleted)
    .map(([id, u]) => ({ value: id, label: u.real_name || u.name }))
    .sort((a, b) => a.label.localeCompare(b.label));
}

/** A <select> with its placeholder as a first, disabled option. */
export function selectInput(attrs, opts, initial, placeholder) {
  const optionEls = (list) => list.map((o) => o.group
    ? h("optgroup", { label: o.group }, optionEls(o.options))
    : h("option", { value: o.value, selected: o.value === initial }, o.label));
  return h("select", attrs,
    h("option", { value: "", disabled: true, selected: !initial }, placeholder || "Select an item"),
    optionEls(opts));
}

function select(e, opts, initial, on, blockId) {
  const el = selectInput({
    class: "sl-select", dataset: { actionId: e.action_id || "" },
    "aria-label": plain(e.placeholder) || "Select an item",
    onchange: () => on.select(e, el.value, blockId),
  }, opts, initial, plain(e.placeholder));
  return el;
}

function overflow(e, on, blockId) {
  const menu = h("div", { class: "sl-menu", role: "menu", hidden: true },
    (e.options || []).map((o) => h("button", {
      type: "button", role: "menuitem", class: "sl-menu-item", dataset: { value: o.value },
      onclick: () => {
        menu.hidden = true;
        toggle.setAttribute("aria-expanded", "false");
        on.select(e, o.value, blockId);
      },
    }, plain(o.text))));
  const toggle = h("button", {
    type: "button", class: "sl-btn sl-overflow-btn", "aria-label": "More actions",
    "aria-haspopup": "menu", "aria-expanded": "false", dataset: { actionId: e.action_id || "" },
    onclick: (ev) => {
      ev.stopPropagation();
      const opening = menu.hidden;
      closeMenus();
      menu.hidden = !opening;
      toggle.setAttribute("aria-expanded", String(opening));
    },
  }, "⋮");
  return h("span", { class: "sl-overflow" }, toggle, menu);
}

function closeMenus() {
  for (const m of document.querySelectorAll(".sl-menu")) m.hidden = true;
  for (const b of document.querySelectorAll(".sl-overflow-btn")) b.setAttribute("aria-expanded", "false");
}
document.addEventListener("click", closeMenus);

// --- rich_text: what people post -------------------------------------------------------

function rich(e, ctx) {
  switch (e.type) {
    case "rich_text_section":
      return h("div", { class: "sl-rich-section" }, (e.elements || []).map((x) => richInline(x, ctx)));
    case "rich_text_quote":
      return h("blockquote", { class: "sl-quote" }, (e.elements || []).map((x) => richInline(x, ctx)));
    case "rich_text_preformatted":
      return h("pre", { class: "sl-pre" }, (e.elements || []).map((x) => richInline(x, ctx)));
    case "rich_text_list": {
      const items = (e.elements || []).map((x) => h("li", {}, rich(x, ctx)));
      const tag = e.style === "ordered" ? "ol" : "ul";
      return h(tag, { class: `sl-rich-list indent-${e.indent || 0}` }, items);
    }
    default: return richInline(e, ctx);
  }
}

function richInline(x, ctx) {
  let node;
  switch (x.type) {
    case "text": node = document.createTextNode(x.text || ""); break;
    case "link": node = link(x.url, x.text || x.url); break;
    case "user": node = slackUser(x.user_id, ctx); break;
    case "channel": {
      const name = ctx.channels?.[x.channel_id] || "unknown-channel";
      node = h("span", { class: "sl-mention sl-channel" }, `#${name}`);
      break;
    }
    case "usergroup": node = h("span", { class: "sl-mention" }, "@group"); break;
    case "broadcast": node = h("span", { class: "sl-mention sl-broadcast" }, `@${x.range || "here"}`); break;
    case "emoji": node = document.createTextNode(unicodeEmoji(x)); break;
    case "date":
      node = h("span", { class: "sl-date" },
        slackDate(x.timestamp, x.format || "{date_short_pretty}", ctx.now) ?? x.fallback ?? "");
      break;
    case "color": node = document.createTextNode(x.value || ""); break;
    default: node = h("span", { class: "sl-unsupported" }, `[${x.type}]`);
  }
  const s = x.style || {};
  if (s.code) node = h("code", { class: "sl-code" }, node);
  if (s.strike) node = h("s", {}, node);
  if (s.italic) node = h("em", {}, node);
  if (s.bold) node = h("strong", {}, node);
  return node;
}

function unicodeEmoji(x) {
  if (x.unicode) {
    try {
      return String.fromCodePoint(...x.unicode.split("-").map((p) => parseInt(p, 16)));
    } catch {
      // fall through to the shortcode
    }
  }
  return emoji(x.name || "");
}
