// The Slack pane: the agents' side. Aubergine sidebar (Home, channels, the DM with the bot),
// the open channel or App Home, the thread side panel, the composers, the modal.

import { h, fill, rebuildScroller } from "./dom.js";
import { Composer } from "./composer.js";
import { messageList, message } from "./slackmsg.js";
import { renderBlocks } from "./slackblocks.js";
import { SlackModal } from "./slackmodal.js";

export class SlackPane {
  /** app: {act(side, action, args), setWho(side, id), store, note(text)} */
  constructor(app) {
    this.app = app;
    this.state = null;
    this.sel = app.store.get("slack.open") || null;
    this.thread = null; // {channel, ts}
    this.dismissed = new Set();
    this.homeOpened = new Set();
    this.seen = new Map();
    this.sigs = {};
    this.who = h("select", { id: "who-slack", "data-testid": "who-slack",
      onchange: () => app.setWho("slack", this.who.value) });
    this.team = h("span", { class: "sl-team-name" }, "Workspace");
    this.nav = h("div", { class: "sl-nav" });
    this.head = h("header", { class: "sl-head" });
    this.scroll = h("div", { class: "sl-scroll", role: "log", "aria-label": "Messages" });
    this.composer = new Composer({
      testid: "slack-composer", label: "Message", theme: "sl", fillOnChoose: true,
      onSend: (text) => this.post(text, null), commands: () => this.commands(),
    });
    this.threadHead = h("div", { class: "sl-thread-title" });
    this.threadScroll = h("div", { class: "sl-scroll sl-thread-scroll", role: "log",
      "aria-label": "Thread" });
    this.threadComposer = new Composer({
      testid: "thread-composer", label: "Reply…", theme: "sl", fillOnChoose: true,
      onSend: (text) => this.post(text, this.thread?.ts), commands: () => this.commands(),
    });
    this.threadPanel = h("aside", { class: "sl-thread", "data-testid": "thread-panel", hidden: true,
      "aria-label": "Thread" },
    h("header", { class: "sl-thread-head" }, this.threadHead,
      h("button", { type: "button", class: "sl-icon-btn", "aria-label": "Close thread",
        onclick: () => this.closeThread() }, "✕")),
    this.threadScroll, this.threadComposer.el);
    this.layer = h("div", { class: "modal-layer sl-layer", hidden: true });
    this.modal = new SlackModal(this.layer, (a, args) => this.act(a, args), (t) => app.note(t));
    this.el = h("section", { class: "pane sl", "data-pane": "slack", "aria-label": "Slack" },
      h("div", { class: "pane-bar sl-bar" },
        h("span", { class: "pane-logo sl-logo", "aria-hidden": "true" }, "#"),
        h("span", { class: "pane-title" }, "Slack"),
        h("span", { class: "pane-sub" }, "the support team's side"),
        h("label", { class: "who", for: "who-slack" }, "You are:"), this.who),
      h("div", { class: "sl-frame" },
        h("nav", { class: "sl-side", "aria-label": "Slack channels" },
          h("div", { class: "sl-team" }, this.team, h("span", { "aria-hidden": "true" }, " ▾")),
          this.nav),
        this.main = h("main", { class: "sl-main" }, this.head, this.scroll, this.composer.el),
        this.threadPanel),
      this.layer);
  }

  act(action, args) {
    return this.app.act("slack", action, args);
  }

  render(state) {
    // The DM with the bot has no id until it is opened: it is "dm" here until then.
    const s = { ...state.slack, channels: state.slack.channels.map((c) =>
      (c.id ? c : { ...c, id: "dm", unopened: true })) };
    this.state = state;
    if (this.me !== s.me) {
      this.me = s.me;
      this.seen.clear();
      this.sigs = {};
      if (this.thread) this.closeThread(false);
    }
    this.team.textContent = s.team || "Workspace";
    this.fillWho(s);
    if (this.sel !== "home" && !s.channels.some((c) => c.id === this.sel)) {
      this.sel = s.channels[0]?.id || "home";
    }
    if (this.thread && !this.threadOf(s)) this.closeThread(false);
    const ctx = this.ctx(state);
    this.renderNav(s);
    if (this.sel === "home") this.renderHome(s, ctx);
    else this.renderChannel(s, ctx);
    this.renderThread(s, ctx);
    this.modal.render(s.modal, ctx);
  }

  fillWho(s) {
    const sig = JSON.stringify([s.people, s.me]);
    if (this.sigs.who === sig) return;
    this.sigs.who = sig;
    fill(this.who, s.people.map((p) => h("option", { value: p.id, selected: p.id === s.me },
      p.title ? `${p.name} — ${p.title}` : p.name)));
  }

  ctx(state) {
    const s = state.slack;
    const channels = {};
    for (const c of s.channels) if (c.kind !== "dm") channels[c.id] = c.name;
    return {
      users: s.users, channels, me: s.me, now: new Date(state.clock.now), bot: s.bot,
      act: (action, args) => this.act(action, args),
      dismiss: (ts) => { this.dismissed.add(ts); this.sigs.list = this.sigs.thread = null; this.render(this.state); },
    };
  }

  renderNav(s) {
    const unread = new Set();
    for (const c of s.channels) {
      const last = c.messages.at(-1)?.ts || "";
      if (c.id === this.sel || !this.seen.has(c.id)) this.seen.set(c.id, last);
      else if (this.seen.get(c.id) !== last) unread.add(c.id);
    }
    const sig = JSON.stringify([s.channels.map((c) => [c.id, c.label, c.kind]), this.sel, [...unread]]);
    if (this.sigs.nav === sig) return;
    this.sigs.nav = sig;
    const entry = (id, kind, icon, label) => h("button", {
      type: "button", class: `sl-nav-item${id === this.sel ? " active" : ""}${unread.has(id) ? " unread" : ""}`,
      "data-testid": "nav", "data-kind": kind, dataset: { channel: id },
      "aria-current": id === this.sel ? "page" : null, onclick: () => this.open(id),
    }, h("span", { class: "sl-nav-icon", "aria-hidden": "true" }, icon), h("span", {}, label));
    const rooms = s.channels.filter((c) => c.kind !== "dm");
    const dms = s.channels.filter((c) => c.kind === "dm");
    fill(this.nav,
      entry("home", "home", "⌂", "Home"),
      h("div", { class: "sl-nav-section" }, "▾ Channels"),
      rooms.map((c) => {
        const el = entry(c.id, c.kind, c.kind === "private" ? "🔒" : "#", c.name);
        if (c.kind === "private") el.setAttribute("aria-label", `${c.name} (private)`);
        return el;
      }),
      h("div", { class: "sl-nav-section" }, "▾ Direct messages"),
      dms.map((c) => entry(c.id, "dm", h("span", { class: "sl-nav-bot" }, "🤖"), c.label || c.name)));
  }

  open(id) {
    // The thread covers the channel in a narrow pane: going elsewhere closes it, as in Slack.
    if (this.thread && this.thread.channel !== id) this.closeThread(false);
    this.sel = id;
    this.app.store.set("slack.open", id);
    this.sigs.list = null;
    this.render(this.state);
    if (id !== "home") this.composer.focus();
  }

  renderHome(s, ctx) {
    if (!this.homeOpened.has(s.me)) {
      this.homeOpened.add(s.me); // once per person per page load, as opening the tab does
      this.act("open_home", {});
    }
    fill(this.head, h("span", { class: "sl-head-bot", "aria-hidden": "true" }, "🤖"),
      h("span", { class: "sl-head-name" }, s.bot.name),
      h("span", { class: "sl-tabs" }, h("span", { class: "sl-tab active" }, "Home")));
    this.composer.el.hidden = true;
    const sig = JSON.stringify(["home", s.home, s.users, this.state.clock.now]);
    if (this.sigs.list === sig) return;
    this.sigs.list = sig;
    const on = {
      click: (e) => this.act("view_click", { action_id: e.action_id, home: true }),
      select: () => this.app.note("Menus in the Home tab are not supported in the playground."),
    };
    rebuildScroller(this.scroll, () => h("div", { class: "sl-home", "data-testid": "home" },
      s.home ? renderBlocks(s.home.blocks, ctx, on)
        : h("p", { class: "sl-muted" }, "Loading the Home tab…")), true);
  }

  renderChannel(s, ctx) {
    const ch = s.channels.find((c) => c.id === this.sel);
    const icon = ch.kind === "private" ? "🔒" : ch.kind === "dm" ? "🤖" : "#";
    fill(this.head, h("span", { class: "sl-head-icon", "aria-hidden": "true" }, icon),
      h("span", { class: "sl-head-name" }, ch.kind === "dm" ? (ch.label || ch.name) : ch.name));
    this.composer.el.hidden = Boolean(ch.unopened);
    const label = ch.kind === "dm" ? (ch.label || ch.name) : `#${ch.name}`;
    this.composer.show(ch.id, `Message ${label}`);
    const ephemerals = this.ephemeralsIn(s, ch, null);
    const sig = JSON.stringify([ch.id, ch.messages, ch.threads, ephemerals, s.users,
      this.state.clock.now]);
    if (this.sigs.list === sig) return;
    const switched = !this.sigs.list || JSON.parse(this.sigs.list)[0] !== ch.id;
    this.sigs.list = sig;
    const listCtx = { ...ctx, channel: ch.id, threads: ch.threads,
      openThread: (ts) => this.openThread(ch.id, ts) };
    rebuildScroller(this.scroll, () => ch.messages.length || ephemerals.length
      ? messageList(ch.messages, ephemerals, listCtx)
      : this.emptyState(ch, label),
    switched);
  }

  emptyState(ch, label) {
    const dm = ch.kind === "dm";
    return h("div", { class: "sl-empty" },
      h("h3", {}, dm ? label : `This is the very beginning of ${label}`),
      h("p", { class: "sl-muted" }, dm
        ? `${label} writes to you here: SLA reminders, breach notices and the daily digest.`
        : "Ticket cards appear here as customers write in."));
  }

  /** Ephemerals of a channel (thread_ts null) or of one thread; strays join the open channel. */
  ephemeralsIn(s, ch, threadTs) {
    const ids = new Set(s.channels.map((c) => c.id));
    const shownThread = this.thread && this.thread.channel === ch.id ? this.thread.ts : null;
    return (s.ephemerals || []).filter((e) => !this.dismissed.has(e.ts)).filter((e) => {
      const here = e.channel === ch.id || (!ids.has(e.channel) && ch.id === this.sel);
      if (!here) return false;
      if (threadTs) return e.thread_ts === threadTs;
      // A thread's ephemeral shows in the channel while its thread is not open.
      return !e.thread_ts || e.thread_ts !== shownThread;
    });
  }

  threadOf(s) {
    const ch = s.channels.find((c) => c.id === this.thread?.channel);
    const parent = ch?.messages.find((m) => m.ts === this.thread.ts);
    return parent ? { ch, parent } : null;
  }

  openThread(channel, ts) {
    this.thread = { channel, ts };
    this.sigs.thread = null;
    this.sigs.list = null;
    this.render(this.state);
    this.threadComposer.focus();
  }

  closeThread(rerender = true) {
    this.thread = null;
    this.threadPanel.hidden = true;
    this.sigs.thread = null;
    this.sigs.list = null;
    if (rerender) this.render(this.state);
  }

  renderThread(s, ctx) {
    const found = this.thread && this.threadOf(s);
    this.threadPanel.hidden = !found;
    this.el.classList.toggle("thread-open", Boolean(found));
    // In a narrow pane the thread lies over the channel: what it covers must not take clicks
    // or focus (a click meant for the thread would otherwise land on a card behind it).
    this.main.inert = Boolean(found) && getComputedStyle(this.threadPanel).position === "absolute";
    if (!found) return;
    const { ch, parent } = found;
    const replies = ch.threads?.[parent.ts] || [];
    const ephemerals = this.ephemeralsIn(s, ch, parent.ts);
    fill(this.threadHead, h("strong", {}, "Thread"), " ",
      h("span", { class: "sl-muted" }, ch.kind === "dm" ? (ch.label || ch.name) : `#${ch.name}`));
    this.threadComposer.show(`${ch.id}:${parent.ts}`, "Reply…");
    const sig = JSON.stringify([ch.id, parent, replies, ephemerals, s.users, this.state.clock.now]);
    if (this.sigs.thread === sig) return;
    const switched = !this.sigs.thread || JSON.parse(this.sigs.thread)[1].ts !== parent.ts;
    this.sigs.thread = sig;
    const threadCtx = { ...ctx, channel: ch.id, threads: null, openThread: null, inThread: true };
    rebuildScroller(this.threadScroll, () => [
      message(parent, threadCtx, false, "thread-parent"),
      h("div", { class: "sl-thread-count" },
        h("span", {}, `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`)),
      messageList(replies, ephemerals, threadCtx),
    ], switched);
  }

  commands() {
    return (this.state?.slack.commands || []).map((c) => ({ name: c.replace(/^\//, ""), description: "" }));
  }

  /** A line the person typed: a slash command, or a post (in the thread when threadTs). */
  async post(text, threadTs) {
    const channel = threadTs ? this.thread?.channel : this.sel;
    if (!channel || channel === "home") return false;
    const res = text.startsWith("/")
      ? await this.act("command", { line: text.trim(), channel })
      : await this.act("post", threadTs ? { channel, text, thread_ts: threadTs } : { channel, text });
    return res.ok;
  }
}
