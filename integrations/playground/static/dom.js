// Small DOM helpers shared by both panes. Text always goes in as text nodes: nothing a
// message says is ever parsed as HTML.

/** Build an element: h("div", {class: "x", onclick: fn, dataset: {id: 1}}, child, "text"). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "value" || key === "checked" || key === "selected") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** Append children (nodes, strings, nested arrays; null and false skipped). */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A URL safe to put in href (http, https, mailto), or null. */
export function safeUrl(raw) {
  try {
    const url = new URL(String(raw).trim()); // absolute only: no page-relative surprises
    return ["http:", "https:", "mailto:"].includes(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

/** A link that opens in a new tab, or plain text when the URL is not one to follow. */
export function link(url, ...children) {
  const href = safeUrl(url);
  if (!href) return h("span", { class: "link-dead", title: String(url) }, ...children);
  return h("a", { href, target: "_blank", rel: "noopener noreferrer" }, ...children);
}

/** A stable colour for a person, so avatars are told apart at a glance. */
export function colorFor(id) {
  const palette = ["#e8912d", "#2bac76", "#1d9bd1", "#e01e5a", "#9b59b6", "#3b6fd4",
    "#d4a72c", "#00a3a3", "#c25b00", "#6f42c1"];
  let hash = 0;
  for (const ch of String(id)) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return palette[hash % palette.length];
}

export function initial(name) {
  const first = [...String(name || "?").trim()][0] || "?";
  return first.toUpperCase();
}

/** Whether a scroller is (nearly) at its bottom. */
export function atBottom(el) {
  return el.scrollHeight - el.scrollTop - el.clientHeight < 40;
}

/** Rebuild a scrolling list, keeping the reader where they were (or at the bottom). */
export function rebuildScroller(el, build, forceBottom = false) {
  const stick = forceBottom || atBottom(el);
  const top = el.scrollTop;
  el.replaceChildren();
  append(el, [build()]);
  el.scrollTop = stick ? el.scrollHeight : top;
}

// --- time ------------------------------------------------------------------------------

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
  "Dec"];

/** "Sun 6 Dec 10:00 UTC": the bot's clock is UTC, so it is shown in UTC. */
export function utcLabel(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${WEEKDAYS[date.getUTCDay()]} ${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`;
}

export function timeOfDay(date) {
  return date.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
}

export function fullDate(date) {
  return date.toLocaleString([], { dateStyle: "full", timeStyle: "short" });
}

export function dayKey(date) {
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

/** "in 2 hours", "3 minutes ago", relative to `now` (the bot's clock). */
export function relative(date, now) {
  const seconds = (date.getTime() - now.getTime()) / 1000;
  const steps = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
    ["hour", 3600], ["minute", 60], ["second", 1]];
  const rtf = new Intl.RelativeTimeFormat([], { numeric: "auto" });
  for (const [unit, size] of steps) {
    if (Math.abs(seconds) >= size || unit === "second") {
      return rtf.format(Math.round(seconds / size), unit);
    }
  }
  return "";
}

/** A short human span: "2 h 5 min", "1 d 3 h". */
export function span(ms) {
  const minutes = Math.round(Math.abs(ms) / 60000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ""}`;
  return `${Math.floor(hours / 24)} d${hours % 24 ? ` ${hours % 24} h` : ""}`;
}

// --- emoji -----------------------------------------------------------------------------

// A few shortcodes Slack turns into pictures; the rest stay as text, as Slack shows unknown ones.
const EMOJI = {
  white_check_mark: "✅", heavy_check_mark: "✔️", x: "❌", new: "🆕", raising_hand: "🙋",
  arrow_double_up: "⏫", hourglass: "⌛", hourglass_flowing_sand: "⏳", lock: "🔒",
  red_circle: "🔴", large_orange_circle: "🟠", large_blue_circle: "🔵", white_circle: "⚪",
  large_green_circle: "🟢", large_yellow_circle: "🟡", rotating_light: "🚨",
  alarm_clock: "⏰", star: "⭐", speech_balloon: "💬", wave: "👋", tada: "🎉",
  warning: "⚠️", eyes: "👀", thumbsup: "👍", "+1": "👍", thumbsdown: "👎", "-1": "👎",
  heart: "❤️", bell: "🔔", inbox_tray: "📥", outbox_tray: "📤", memo: "📝",
  bar_chart: "📊", clipboard: "📋", pushpin: "📌", calendar: "📅", email: "📧",
  envelope: "✉️", package: "📦", mag: "🔍", bulb: "💡", fire: "🔥", rocket: "🚀",
  smile: "😄", slightly_smiling_face: "🙂", disappointed: "😞", pray: "🙏",
  information_source: "ℹ️", zzz: "💤", sunny: "☀️", robot_face: "🤖", ticket: "🎫",
  stopwatch: "⏱️", no_entry: "⛔", question: "❓", exclamation: "❗", point_right: "👉",
  leftwards_arrow_with_hook: "↩️", bust_in_silhouette: "👤", link: "🔗", paperclip: "📎",
  recycle: "♻️", globe_with_meridians: "🌐", arrows_counterclockwise: "🔄", hand: "✋", pencil2: "✏️", wastebasket: "🗑️",
};

/** The picture of a shortcode, or the shortcode itself. */
export function emoji(name) {
  return EMOJI[name] || `:${name}:`;
}

/** Replace the shortcodes Slack would draw in a plain string. */
export function emojify(text) {
  return String(text).replace(/:([a-z0-9_+-]+):/g, (all, name) => EMOJI[name] || all);
}
