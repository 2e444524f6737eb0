// Message text as the real clients draw it: Discord markdown and Slack mrkdwn.
// Each renderer returns DOM nodes built from text nodes only (no innerHTML anywhere).
//
// How: "atoms" (code spans, mentions, links, escapes...) are found first and swapped for
// private-use characters, so the emphasis rules that run next cannot break them apart; the
// placeholders are swapped back for their nodes when the text is emitted.

import { h, link, emoji, emojify, relative, fullDate } from "./dom.js";

const PUA = 0xe000;
const PUA_RE = /[\ue000-\uf8ff]/g;

class Atoms {
  constructor() { this.nodes = []; }
  put(node) {
    this.nodes.push(node);
    return String.fromCharCode(PUA + this.nodes.length - 1);
  }
  /** Text with placeholders back to nodes; `decode` turns plain runs into display text. */
  expand(text, decode = (t) => t) {
    const out = [];
    let last = 0;
    for (const m of text.matchAll(PUA_RE)) {
      if (m.index > last) out.push(decode(text.slice(last, m.index)));
      out.push(this.nodes[m[0].charCodeAt(0) - PUA] ?? "");
      last = m.index + 1;
    }
    if (last < text.length) out.push(decode(text.slice(last)));
    return out;
  }
}

/** Swap every match of `re` (global) for the atom `make(match)` returns. */
function atomize(text, re, atoms, make) {
  return text.replace(re, (...args) => {
    const groups = args.slice(0, -2);
    const node = make(groups);
    return node === null ? groups[0] : atoms.put(node);
  });
}

/** Emphasis: find the earliest rule match, wrap it, recurse into its inside. */
function emphasize(text, rules, atoms, decode) {
  const out = [];
  let rest = text;
  while (rest) {
    let best = null;
    for (const rule of rules) {
      const m = rule.re.exec(rest);
      if (m && (best === null || m.index < best.m.index)) best = { m, rule };
    }
    if (!best) break;
    const { m, rule } = best;
    if (m.index > 0) out.push(...atoms.expand(rest.slice(0, m.index), decode));
    out.push(rule.wrap(emphasize(m[1], rules, atoms, decode)));
    rest = rest.slice(m.index + m[0].length);
  }
  if (rest) out.push(...atoms.expand(rest, decode));
  return out;
}

const clean = (text) => String(text ?? "").replace(PUA_RE, "\ufffd");

// --- Discord ---------------------------------------------------------------------------

const DISCORD_RULES = [
  { re: /\*\*([\s\S]+?)\*\*(?!\*)/, wrap: (c) => h("strong", {}, c) },
  { re: /__([\s\S]+?)__(?!_)/, wrap: (c) => h("u", {}, c) },
  { re: /\*(?![\s*])([\s\S]*?[^\s\\])\*(?!\*)/, wrap: (c) => h("em", {}, c) },
  { re: /(?<![A-Za-z0-9])_(?!_)([\s\S]+?)_(?![A-Za-z0-9_])/, wrap: (c) => h("em", {}, c) },
  { re: /~~([\s\S]+?)~~/, wrap: (c) => h("s", {}, c) },
  { re: /\|\|([\s\S]+?)\|\|/, wrap: (c) => spoiler(c) },
];

function spoiler(children) {
  const el = h("span", { class: "spoiler", title: "Spoiler: click to show" }, children);
  el.addEventListener("click", () => el.classList.add("shown"));
  return el;
}

const TIME_FORMATS = {
  t: { timeStyle: "short" },
  T: { timeStyle: "medium" },
  d: { dateStyle: "short" },
  D: { dateStyle: "long" },
  f: { dateStyle: "long", timeStyle: "short" },
  F: { dateStyle: "full", timeStyle: "short" },
};

/** A Discord `<t:unix:style>` timestamp in the reader's locale (R: relative to `now`). */
export function discordTime(seconds, style, now) {
  const date = new Date(Number(seconds) * 1000);
  if (Number.isNaN(date.getTime())) return null;
  const shown = style === "R" ? relative(date, now || new Date())
    : date.toLocaleString([], TIME_FORMATS[style] || TIME_FORMATS.f);
  return h("span", { class: "dc-time", title: fullDate(date) }, shown);
}

function discordInline(text, ctx) {
  const atoms = new Atoms();
  let s = clean(text);
  // One pass, earliest match first, as a scanner would: an escape before a backquote wins.
  const re = new RegExp([
    /\\([^\sA-Za-z0-9])/.source, // 1 escaped character
    /(`+)([\s\S]*?[^`])\2(?!`)/.source, // 2,3 inline code
    /<(@!?|#|@&)(\d+)>/.source, // 4,5 mentions
    /<t:(-?\d+)(?::([tTdDfFR]))?>/.source, // 6,7 timestamps
    /<a?:(\w+):\d+>/.source, // 8 custom emoji
    /<(https?:\/\/[^\s>]+)>/.source, // 9 link without preview
    /\[([^\[\]\n]+)\]\(<?(https?:\/\/[^\s)>]+)>?\)/.source, // 10,11 masked link
    /(https?:\/\/[^\s<]*[^\s<.,:;"')\]!?*_~|])/.source, // 12 bare link
    /(@everyone|@here)/.source, // 13
  ].join("|"), "g");
  s = atomize(s, re, atoms, (g) => {
    if (g[1] !== undefined) return document.createTextNode(g[1]);
    if (g[2] !== undefined) return h("code", { class: "dc-code" }, g[3].replace(/^ (.*) $/s, "$1"));
    if (g[4] !== undefined) return discordMention(g[4], g[5], ctx);
    if (g[6] !== undefined) return discordTime(g[6], g[7], ctx.now);
    if (g[8] !== undefined) return document.createTextNode(`:${g[8]}:`);
    if (g[9] !== undefined) return link(g[9], g[9]);
    if (g[10] !== undefined) return link(g[11], discordInline(g[10], ctx));
    if (g[12] !== undefined) return link(g[12], g[12]);
    if (g[13] !== undefined) return h("span", { class: "dc-mention" }, g[13]);
    return null;
  });
  return emphasize(s, DISCORD_RULES, atoms, (t) => t);
}

function discordMention(kind, id, ctx) {
  if (kind === "#") {
    const name = ctx.channels?.[id];
    return h("span", { class: "dc-mention" }, `#${name || "unknown-channel"}`);
  }
  if (kind === "@&") return h("span", { class: "dc-mention" }, "@role");
  const name = ctx.users?.[id];
  const mine = id === ctx.me;
  return h("span", { class: `dc-mention${mine ? " me" : ""}` }, `@${name || "unknown-user"}`);
}

/** Discord markdown (a message's content, an embed's description) as nodes. */
export function discordMarkdown(text, ctx = {}) {
  const out = [];
  const src = clean(text);
  const fence = /```(?:([\w+-]+)\n)?\n?([\s\S]*?)```/g;
  let last = 0;
  for (const m of src.matchAll(fence)) {
    if (m.index > last) out.push(...discordLines(src.slice(last, m.index), ctx));
    out.push(h("pre", { class: "dc-pre" }, h("code", {}, m[2].replace(/\n$/, ""))));
    last = m.index + m[0].length;
  }
  if (last < src.length) out.push(...discordLines(src.slice(last), ctx));
  return out;
}

function discordLines(text, ctx) {
  const out = [];
  const lines = text.replace(/^\n/, "").replace(/\n$/, "").split("\n");
  let para = [];
  const flush = () => {
    if (!para.length) return;
    const children = [];
    para.forEach((line, i) => {
      if (i) children.push(h("br"));
      children.push(...discordInline(line, ctx));
    });
    out.push(h("div", { class: "md-p" }, children));
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    let m;
    if (line.startsWith(">>> ")) {
      flush();
      const rest = [line.slice(4), ...lines.slice(i + 1)].join("\n");
      out.push(h("blockquote", { class: "dc-quote" }, discordLines(rest, ctx)));
      break;
    } else if (/^> ?/.test(line) && line !== ">") {
      flush();
      const quoted = [];
      while (i < lines.length && /^> ?/.test(lines[i])) quoted.push(lines[i++].replace(/^> ?/, ""));
      i--;
      out.push(h("blockquote", { class: "dc-quote" }, discordLines(quoted.join("\n"), ctx)));
    } else if ((m = /^(#{1,3}) (.+)$/.exec(line))) {
      flush();
      out.push(h(`h${m[1].length + 2}`, { class: "dc-h" }, discordInline(m[2], ctx)));
    } else if ((m = /^-# (.+)$/.exec(line))) {
      flush();
      out.push(h("div", { class: "dc-sub" }, discordInline(m[1], ctx)));
    } else if ((m = /^\s*[-*] (.+)$/.exec(line))) {
      flush();
      const items = [];
      while (i < lines.length && (m = /^\s*[-*] (.+)$/.exec(lines[i]))) {
        items.push(h("li", {}, discordInline(m[1], ctx)));
        i++;
      }
      i--;
      out.push(h("ul", { class: "md-list" }, items));
    } else {
      para.push(line);
    }
  }
  flush();
  return out;
}

// --- Slack -----------------------------------------------------------------------------

/** Slack's three entities, and only those. */
export function decodeEntities(text) {
  return String(text ?? "").replace(/&(lt|gt|amp);/g, (_, e) => ({ lt: "<", gt: ">", amp: "&" })[e]);
}

const SLACK_RULES = [
  { re: /(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])/, wrap: (c) => h("strong", {}, c) },
  { re: /(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])/, wrap: (c) => h("em", {}, c) },
  { re: /(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])/, wrap: (c) => h("s", {}, c) },
];

const SLACK_DATE_TOKENS = {
  date_num: { year: "numeric", month: "2-digit", day: "2-digit" },
  date: { year: "numeric", month: "long", day: "numeric" },
  date_short: { year: "numeric", month: "short", day: "numeric" },
  date_long: { weekday: "long", year: "numeric", month: "long", day: "numeric" },
  time: { hour: "numeric", minute: "2-digit" },
  time_secs: { hour: "numeric", minute: "2-digit", second: "2-digit" },
};

/** A `<!date^…>` token, in the reader's locale; "today"/"yesterday" count from `now`. */
export function slackDate(epoch, format, now) {
  const date = new Date(Number(epoch) * 1000);
  if (Number.isNaN(date.getTime())) return null;
  const today = now || new Date();
  const pretty = (base) => {
    const days = Math.round((startOfDay(date) - startOfDay(today)) / 86400000);
    const word = { 0: "today", [-1]: "yesterday", 1: "tomorrow" }[days];
    return word || date.toLocaleDateString([], SLACK_DATE_TOKENS[base]);
  };
  return format.replace(/\{(\w+)\}/g, (all, token) => {
    if (token.endsWith("_pretty")) return pretty(token.replace("_pretty", "") || "date");
    if (token === "ago") return relative(date, today);
    const opts = SLACK_DATE_TOKENS[token];
    if (!opts) return all;
    return token.startsWith("time") ? date.toLocaleTimeString([], opts)
      : date.toLocaleDateString([], opts);
  });
}

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

function slackAngle(inner, ctx) {
  const [target, label] = splitOnce(inner, "|");
  if (target.startsWith("@")) return slackUser(target.slice(1), ctx, label);
  if (target.startsWith("#")) {
    const id = target.slice(1);
    const name = label || ctx.channels?.[id] || "unknown-channel";
    return h("span", { class: "sl-mention sl-channel" }, `#${decodeEntities(name)}`);
  }
  if (target.startsWith("!")) return slackSpecial(target.slice(1), label, ctx);
  if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) return document.createTextNode(`<${decodeEntities(inner)}>`);
  const url = decodeEntities(target);
  return link(url, decodeEntities(label || target.replace(/^mailto:/, "")));
}

function slackSpecial(what, label, ctx) {
  if (["here", "channel", "everyone"].includes(what.split("^")[0])) {
    const name = what.startsWith("everyone") ? "@everyone" : "@here";
    return h("span", { class: "sl-mention sl-broadcast" }, name);
  }
  if (what.startsWith("subteam^")) {
    return h("span", { class: "sl-mention" }, decodeEntities(label || "@group"));
  }
  if (what.startsWith("date^")) {
    const [, epoch, format, url] = what.split("^");
    const shown = slackDate(epoch, decodeEntities(format || "{date}"), ctx.now);
    if (shown === null) return document.createTextNode(decodeEntities(label || ""));
    const el = h("span", { class: "sl-date", title: decodeEntities(label || "") }, shown);
    return url ? link(decodeEntities(url), el) : el;
  }
  return document.createTextNode(decodeEntities(label || `<!${what}>`));
}

/** `@Real Name`, highlighted (more so when it is the reader). */
export function slackUser(id, ctx, label) {
  const user = ctx.users?.[id];
  const name = user ? (user.real_name || user.name) : decodeEntities(label || id);
  const mine = id === ctx.me;
  return h("span", { class: `sl-mention${mine ? " me" : ""}`, dataset: { user: id } }, `@${name}`);
}

function splitOnce(text, sep) {
  const at = text.indexOf(sep);
  return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 1)];
}

function slackInline(text, ctx) {
  const atoms = new Atoms();
  const re = new RegExp([
    /`([^`\n]+)`/.source, // 1 code
    /<([^<>\n]+)>/.source, // 2 link, mention, special
    /(https?:\/\/[^\s<>]*[^\s<>.,:;"')\]!?*_~])/.source, // 3 bare link
    /:([a-z0-9_+-]+):/.source, // 4 emoji shortcode
  ].join("|"), "g");
  const s = atomize(clean(text), re, atoms, (g) => {
    if (g[1] !== undefined) return h("code", { class: "sl-code" }, decodeEntities(g[1]));
    if (g[2] !== undefined) return slackAngle(g[2], ctx);
    if (g[3] !== undefined) return link(decodeEntities(g[3]), decodeEntities(g[3]));
    if (g[4] !== undefined) return document.createTextNode(emoji(g[4]));
    return null;
  });
  return emphasize(s, SLACK_RULES, atoms, decodeEntities);
}

/** Slack mrkdwn (a message's text, a section's text) as nodes. */
export function slackMrkdwn(text, ctx = {}) {
  const out = [];
  const src = clean(text);
  let last = 0;
  for (const m of src.matchAll(/```([\s\S]*?)```/g)) {
    if (m.index > last) out.push(...slackLines(src.slice(last, m.index), ctx));
    const body = decodeEntities(m[1]).replace(/^\n/, "").replace(/\n$/, "");
    out.push(h("pre", { class: "sl-pre" }, body));
    last = m.index + m[0].length;
  }
  if (last < src.length) out.push(...slackLines(src.slice(last), ctx));
  return out;
}

function slackLines(text, ctx) {
  const out = [];
  const lines = text.replace(/^\n/, "").replace(/\n$/, "").split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (/^(&gt;|>)/.test(lines[i])) {
      const quoted = [];
      while (i < lines.length && /^(&gt;|>)/.test(lines[i])) {
        quoted.push(lines[i++].replace(/^(&gt;|>) ?/, ""));
      }
      i--;
      out.push(h("blockquote", { class: "sl-quote" }, joinLines(quoted, ctx)));
    } else {
      const plain = [];
      while (i < lines.length && !/^(&gt;|>)/.test(lines[i])) plain.push(lines[i++]);
      i--;
      out.push(h("div", { class: "md-p" }, joinLines(plain, ctx)));
    }
  }
  return out;
}

function joinLines(lines, ctx) {
  const out = [];
  lines.forEach((line, i) => {
    if (i) out.push(h("br"));
    out.push(...slackInline(line, ctx));
  });
  return out;
}

/** A Block Kit text object: mrkdwn, or plain_text (shortcodes drawn when `emoji`). */
export function slackText(obj, ctx) {
  if (!obj) return [];
  if (typeof obj === "string") return slackMrkdwn(obj, ctx);
  if (obj.type === "mrkdwn" && !obj.verbatim) return slackMrkdwn(obj.text, ctx);
  if (obj.type === "mrkdwn") return [decodeEntities(obj.text)];
  return [obj.emoji === false ? String(obj.text ?? "") : emojify(obj.text ?? "")];
}

/** The plain string of a text object (labels of buttons and options). */
export function plain(obj) {
  if (!obj) return "";
  if (typeof obj === "string") return obj;
  return obj.emoji === false ? String(obj.text ?? "") : emojify(obj.text ?? "");
}
