// One Slack message as the Slack client draws it: author, time, blocks (or the mrkdwn text
// when there are none), files, reactions, the "N replies" link; ephemerals with their note.

import { h, colorFor, initial, dayKey, fullDate, timeOfDay, emoji } from "./dom.js";
import { slackMrkdwn } from "./markup.js";
import { renderBlocks } from "./slackblocks.js";

const GROUP_SECONDS = 5 * 60;

export function tsDate(ts) {
  return new Date(Number.parseFloat(ts) * 1000);
}

/** Who wrote it: the bot is "supportbot" with an APP tag, people by their real name. */
export function authorOf(msg, ctx) {
  const user = ctx.users[msg.user];
  if (msg.bot_id || user?.is_bot || msg.is_ephemeral) {
    // The app may post under another name (a customer's words, relayed): Slack shows that
    // name, still with the APP tag.
    const name = msg.username || ctx.bot.name;
    return { id: `${ctx.bot.user_id}:${name}`, name, app: true, relayed: Boolean(msg.username) };
  }
  return { id: msg.user, name: user ? (user.real_name || user.name) : (msg.username || msg.user || "?") };
}

/**
 * Messages in order, with day dividers; ctx: {users, channels, me, now, bot, channel,
 * threads, act, openThread(ts) | null, dismiss(ts)}.
 */
export function messageList(messages, ephemerals, ctx) {
  const out = [];
  let prev = null;
  for (const msg of messages) {
    const date = tsDate(msg.ts);
    if (!ctx.inThread && (!prev || dayKey(tsDate(prev.ts)) !== dayKey(date))) {
      out.push(h("div", { class: "sl-day", role: "separator" },
        h("span", {}, date.toLocaleDateString([], { weekday: "long", month: "long", day: "numeric" }))));
      prev = null;
    }
    out.push(message(msg, ctx, grouped(prev, msg, ctx)));
    prev = msg;
  }
  for (const eph of ephemerals) out.push(message({ ...eph, is_ephemeral: true }, ctx, false));
  return out;
}

function grouped(prev, msg, ctx) {
  if (!prev || authorOf(prev, ctx).id !== authorOf(msg, ctx).id) return false;
  return Number.parseFloat(msg.ts) - Number.parseFloat(prev.ts) < GROUP_SECONDS;
}

export function message(msg, ctx, compact, testid = "message") {
  const who = authorOf(msg, ctx);
  const date = tsDate(msg.ts);
  const ephemeral = Boolean(msg.is_ephemeral);
  const el = h("div", {
    class: `sl-msg${compact ? " compact" : ""}${ephemeral ? " ephemeral" : ""}`,
    "data-testid": testid, dataset: { ts: msg.ts, user: msg.user || "" },
    "data-ephemeral": ephemeral ? "true" : null,
  });
  const gutter = compact
    ? h("span", { class: "sl-hover-time", title: fullDate(date) }, timeOfDay(date))
    : h("div", { class: "sl-avatar", style: { background: who.app && !who.relayed ? "#4a154b" : colorFor(who.id) },
      "aria-hidden": "true" }, who.app && !who.relayed ? "🤖" : initial(who.name));
  const body = h("div", { class: "sl-body" });
  if (ephemeral) {
    body.append(h("div", { class: "sl-eph-note" }, h("span", { "aria-hidden": "true" }, "👁 "),
      "Only visible to you",
      msg.thread_ts && !ctx.inThread ? " · in a thread" : null,
      h("button", { type: "button", class: "sl-linkish", onclick: () => ctx.dismiss(msg.ts) }, "Dismiss")));
  }
  if (!compact) {
    body.append(h("div", { class: "sl-meta" },
      h("span", { class: "sl-name" }, who.name),
      who.app ? h("span", { class: "sl-app-tag" }, "APP") : null,
      h("time", { class: "sl-time", datetime: date.toISOString(), title: fullDate(date) }, timeOfDay(date))));
  }
  body.append(content(msg, ctx));
  if (msg.files?.length) body.append(files(msg.files));
  if (msg.reactions?.length) body.append(reactions(msg.reactions, ctx));
  const replies = ctx.threads?.[msg.ts]?.length || msg.reply_count || 0;
  if (replies && ctx.openThread) {
    body.append(h("button", {
      type: "button", class: "sl-replies", "data-testid": "replies", dataset: { ts: msg.ts },
      onclick: () => ctx.openThread(msg.ts),
    }, h("span", { class: "sl-replies-count" }, `${replies} ${replies === 1 ? "reply" : "replies"}`),
    h("span", { class: "sl-replies-view" }, "View thread")));
  }
  el.append(h("div", { class: "sl-gutter" }, gutter), body);
  return el;
}

function content(msg, ctx) {
  const on = {
    click: (e) => ctx.act("click", { channel: ctx.channel, ts: msg.ts, action_id: e.action_id }),
    select: (e, value) => ctx.act("select", {
      channel: ctx.channel, ts: msg.ts, action_id: e.action_id, value,
    }),
  };
  // Slack marks an edit, except on an app's Block Kit message: an app redraws those (a card,
  // a draft once sent, a translation added beneath a message) and no "(edited)" shows.
  const redrawn = Boolean(msg.bot_id && msg.blocks?.length);
  const edited = msg.edited && !redrawn ? h("span", { class: "sl-edited" }, " (edited)") : null;
  if (msg.blocks?.length) {
    const blocks = renderBlocks(msg.blocks, ctx, on);
    const last = blocks.at(-1);
    const context = last?.classList.contains("sl-b-context");
    const inline = context || last?.classList.contains("sl-rich");
    if (edited && inline) (context ? last : (last.lastElementChild || last)).append(edited);
    return h("div", { class: "sl-content sl-blocks" }, blocks, inline ? null : edited);
  }
  const text = h("div", { class: "sl-content md" }, slackMrkdwn(msg.text || "", ctx));
  const last = text.lastElementChild;
  if (edited) (last?.classList.contains("md-p") ? last : text).append(edited);
  return text;
}

function files(list) {
  return h("div", { class: "sl-files" }, list.map((f) => h("div", { class: "sl-file" },
    h("span", { class: "sl-file-icon", "aria-hidden": "true" }, "📄"),
    h("span", { class: "sl-file-name" }, f.title || f.name || "file"),
    h("span", { class: "sl-file-type" }, f.pretty_type || f.filetype || ""))));
}

function reactions(list, ctx) {
  return h("div", { class: "sl-reactions" }, list.map((r) => h("span", {
    class: `sl-reaction${(r.users || []).includes(ctx.me) ? " me" : ""}`, title: `:${r.name}:`,
  }, emoji(r.name), " ", String(r.count ?? (r.users || []).length))));
}
