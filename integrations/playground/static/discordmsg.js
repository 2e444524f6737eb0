// One Discord message as the Discord client draws it: header, markdown, embeds, components,
// attachments, reactions, and the "Only you can see this" footer of ephemeral replies.

import { h, colorFor, initial, link, dayKey, fullDate, timeOfDay } from "./dom.js";
import { discordMarkdown } from "./markup.js";

const EPHEMERAL = 64;
const COMPONENTS_V2 = 1 << 15;
const GROUP_MS = 7 * 60 * 1000;
const BUTTON_STYLES = { 1: "primary", 2: "secondary", 3: "success", 4: "danger", 5: "link" };

export function displayName(user) {
  return user?.global_name || user?.username || "Unknown";
}

/** "Today at 10:03", "Yesterday at 9:12", or the date: as Discord labels a message. */
function stamp(date) {
  const days = Math.round((startOfDay(new Date()) - startOfDay(date)) / 86400000);
  if (days === 0) return `Today at ${timeOfDay(date)}`;
  if (days === 1) return `Yesterday at ${timeOfDay(date)}`;
  return `${date.toLocaleDateString()} ${timeOfDay(date)}`;
}

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

/**
 * The message list of one conversation, ephemerals last.
 * ctx: {users, channels, me, now, act(action, args), dismiss(id)}
 */
export function messageList(messages, ephemerals, ctx) {
  const out = [];
  let prev = null;
  for (const msg of messages) {
    const date = new Date(msg.timestamp);
    if (!prev || dayKey(new Date(prev.timestamp)) !== dayKey(date)) {
      out.push(h("div", { class: "dc-day", role: "separator" },
        h("span", {}, date.toLocaleDateString([], { dateStyle: "long" }))));
      prev = null;
    }
    out.push(message(msg, ctx, grouped(prev, msg)));
    prev = msg;
  }
  for (const msg of ephemerals) out.push(message(msg, ctx, false));
  return out;
}

function grouped(prev, msg) {
  if (!prev || prev.author?.id !== msg.author?.id || msg.message_reference) return false;
  if (msg.interaction_metadata || msg.interaction) return false;
  return new Date(msg.timestamp) - new Date(prev.timestamp) < GROUP_MS;
}

export function message(msg, ctx, compact) {
  const author = msg.author || {};
  const name = displayName(author);
  const date = new Date(msg.timestamp);
  const ephemeral = (msg.flags & EPHEMERAL) !== 0;
  const el = h("div", {
    class: `dc-msg${compact ? " compact" : ""}${ephemeral ? " ephemeral" : ""}`,
    "data-testid": "message", dataset: { id: msg.id, author: author.id || "" },
    "data-ephemeral": ephemeral ? "true" : null,
  });
  const top = context(msg, ctx);
  if (top) el.append(top);
  const avatar = compact
    ? h("span", { class: "dc-hover-time", title: fullDate(date) }, timeOfDay(date))
    : h("div", { class: "dc-avatar", style: { background: colorFor(author.id) }, "aria-hidden": "true" },
      initial(name));
  const body = h("div", { class: "dc-body" });
  if (!compact) {
    body.append(h("div", { class: "dc-meta" },
      h("span", { class: "dc-name", style: { color: author.bot ? "#fff" : null } }, name),
      author.bot ? h("span", { class: "dc-bot-tag" }, "BOT") : null,
      h("time", { class: "dc-stamp", datetime: msg.timestamp, title: fullDate(date) }, stamp(date))));
  }
  body.append(...content(msg, ctx));
  if (ephemeral) body.append(ephemeralFooter(msg, ctx));
  el.append(h("div", { class: "dc-gutter" }, avatar), body);
  return el;
}

function context(msg, ctx) {
  const used = msg.interaction_metadata || msg.interaction;
  if (used && (used.name || used.type === 2)) {
    const who = displayName(used.user || {});
    return h("div", { class: "dc-context" }, h("span", { class: "dc-context-line" }),
      h("span", { class: "dc-context-name" }, who), " used ",
      h("span", { class: "dc-context-cmd" }, `/${used.name || "command"}`));
  }
  const ref = msg.referenced_message;
  if (ref) {
    const snippet = (ref.content || "Click to see attachment").slice(0, 80);
    return h("div", { class: "dc-context" }, h("span", { class: "dc-context-line" }),
      h("span", { class: "dc-context-name" }, `@${displayName(ref.author)}`), " ",
      h("span", { class: "dc-context-text" }, snippet));
  }
  return null;
}

function content(msg, ctx) {
  const out = [];
  const system = systemLine(msg);
  if (system) return [system];
  if (msg.content) {
    const text = h("div", { class: "dc-content md" }, discordMarkdown(msg.content, ctx));
    if (msg.edited_timestamp) {
      const last = text.lastElementChild;
      (last?.classList.contains("md-p") ? last : text).append(" ", h("span", { class: "dc-edited", title: fullDate(new Date(msg.edited_timestamp)) },
        "(edited)"));
    }
    out.push(text);
  } else if (msg.edited_timestamp && !msg.embeds?.length) {
    out.push(h("span", { class: "dc-edited" }, "(edited)"));
  }
  for (const file of msg.attachments || []) out.push(attachment(file));
  for (const embed of msg.embeds || []) out.push(embedView(embed, ctx));
  const v2 = (msg.flags & COMPONENTS_V2) !== 0;
  if (msg.components?.length) out.push(components(msg, msg.components, ctx, v2));
  if (msg.reactions?.length) out.push(reactions(msg.reactions));
  return out;
}

function systemLine(msg) {
  const who = displayName(msg.author);
  if (msg.type === 18) return h("div", { class: "dc-system" }, `${who} started a thread: `,
    h("strong", {}, msg.content || "thread"));
  if (msg.type === 7) return h("div", { class: "dc-system" }, `${who} joined the server.`);
  if (msg.type === 1 || msg.type === 2) {
    const whom = msg.mentions?.length ? displayName(msg.mentions[0]) : "someone";
    return h("div", { class: "dc-system" },
      `${who} ${msg.type === 1 ? "added" : "removed"} `, h("strong", {}, whom),
      msg.type === 1 ? " to the thread." : " from the thread.");
  }
  return null;
}

function ephemeralFooter(msg, ctx) {
  return h("div", { class: "dc-ephemeral-note" },
    h("span", { "aria-hidden": "true" }, "👁 "), "Only you can see this • ",
    h("button", { type: "button", class: "dc-linkish", onclick: () => ctx.dismiss(msg.id) },
      "Dismiss message"));
}

function attachment(file) {
  const size = file.size ? ` · ${formatSize(file.size)}` : "";
  return h("div", { class: "dc-file" }, h("span", { class: "dc-file-icon", "aria-hidden": "true" }, "📄"),
    h("span", { class: "dc-file-name" }, link(file.url, file.filename || "file")),
    h("span", { class: "dc-file-size" }, size));
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1048576) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

function reactions(list) {
  return h("div", { class: "dc-reactions" }, list.map((r) => h("span", {
    class: `dc-reaction${r.me ? " me" : ""}`,
  }, r.emoji?.id ? `:${r.emoji.name}:` : r.emoji?.name || "?", " ", String(r.count ?? 1))));
}

// --- embeds ----------------------------------------------------------------------------

function embedView(embed, ctx) {
  const color = Number.isInteger(embed.color)
    ? `#${embed.color.toString(16).padStart(6, "0")}` : "#1e1f22";
  const parts = [];
  if (embed.author?.name) {
    parts.push(h("div", { class: "dc-embed-author" },
      embed.author.url ? link(embed.author.url, embed.author.name) : embed.author.name));
  }
  if (embed.title) {
    const title = discordMarkdown(embed.title, ctx);
    parts.push(h("div", { class: "dc-embed-title" }, embed.url ? link(embed.url, title) : title));
  }
  if (embed.description) {
    parts.push(h("div", { class: "dc-embed-desc md" }, discordMarkdown(embed.description, ctx)));
  }
  if (embed.fields?.length) {
    parts.push(h("div", { class: "dc-embed-fields" }, embed.fields.map((f) =>
      h("div", { class: `dc-embed-field${f.inline ? " inline" : ""}` },
        h("div", { class: "dc-embed-fname" }, discordMarkdown(f.name, ctx)),
        h("div", { class: "dc-embed-fvalue md" }, discordMarkdown(f.value, ctx))))));
  }
  for (const key of ["image", "thumbnail", "video"]) {
    if (embed[key]?.url) {
      parts.push(h("div", { class: "dc-embed-media" }, `🖼 ${key}: `, link(embed[key].url, "open")));
    }
  }
  const foot = [];
  if (embed.footer?.text) foot.push(embed.footer.text);
  if (embed.timestamp) foot.push(stamp(new Date(embed.timestamp)));
  if (foot.length) parts.push(h("div", { class: "dc-embed-footer" }, foot.join(" • ")));
  return h("div", { class: "dc-embed", style: { borderLeftColor: color } }, parts);
}

// --- components ------------------------------------------------------------------------

function components(msg, list, ctx, v2) {
  return h("div", { class: `dc-components${v2 ? " v2" : ""}` }, list.map((c) => component(msg, c, ctx)));
}

function component(msg, c, ctx) {
  switch (c.type) {
    case 1: return h("div", { class: "dc-row" }, (c.components || []).map((x) => component(msg, x, ctx)));
    case 2: return button(msg, c, ctx);
    case 3: return stringSelect(msg, c, ctx);
    case 9: return h("div", { class: "dc-section" },
      h("div", { class: "dc-section-text" }, (c.components || []).map((x) => component(msg, x, ctx))),
      c.accessory ? component(msg, c.accessory, ctx) : null);
    case 10: return h("div", { class: "dc-text md" }, discordMarkdown(c.content, ctx));
    case 14: return h("hr", { class: `dc-sep${c.divider === false ? " blank" : ""}` });
    case 17: return h("div", {
      class: "dc-container",
      style: { borderLeftColor: Number.isInteger(c.accent_color)
        ? `#${c.accent_color.toString(16).padStart(6, "0")}` : null },
    }, (c.components || []).map((x) => component(msg, x, ctx)));
    default: return h("span", { class: "dc-unsupported" }, `[component type ${c.type}]`);
  }
}

function emojiOf(e) {
  if (!e) return null;
  return h("span", { class: "dc-emoji", "aria-hidden": "true" }, e.id ? `:${e.name}:` : e.name);
}

function button(msg, c, ctx) {
  const style = BUTTON_STYLES[c.style] || "secondary";
  const label = c.label || "";
  return h("button", {
    type: "button", class: `dc-btn ${style}`, disabled: Boolean(c.disabled),
    "aria-label": label ? null : (c.emoji?.name || "button"),
    dataset: { customId: c.custom_id || "" },
    onclick: () => {
      if (c.style === 5 && c.url) window.open(c.url, "_blank", "noopener");
      else ctx.act("click", { message_id: msg.id, custom_id: c.custom_id });
    },
  }, emojiOf(c.emoji), label ? h("span", {}, label) : null,
  c.style === 5 ? h("span", { class: "dc-ext", "aria-hidden": "true" }, " ↗") : null);
}

function stringSelect(msg, c, ctx) {
  const chosen = (c.options || []).find((o) => o.default);
  const select = h("select", {
    class: "dc-select", disabled: Boolean(c.disabled), "aria-label": c.placeholder || "Make a selection",
    dataset: { customId: c.custom_id },
    onchange: () => ctx.act("select", {
      message_id: msg.id, custom_id: c.custom_id, values: [select.value],
    }),
  }, h("option", { value: "", disabled: true, selected: !chosen }, c.placeholder || "Make a selection"),
  (c.options || []).map((o) => h("option", { value: o.value, selected: o === chosen },
    `${o.emoji?.name ? `${o.emoji.name} ` : ""}${o.label}${o.description ? ` — ${o.description}` : ""}`)));
  return select;
}
