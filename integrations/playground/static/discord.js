// The Discord pane: the customer's side. Sidebar (DM with the bot, the server's channels and
// my private threads), the open conversation, the composer with slash commands, the modal.

import { h, fill, colorFor, initial, rebuildScroller } from "./dom.js";
import { Composer } from "./composer.js";
import { messageList, displayName } from "./discordmsg.js";
import { DiscordModal } from "./discordmodal.js";

export class DiscordPane {
  /** app: {act(side, action, args), setWho(side, id), store} */
  constructor(app) {
    this.app = app;
    this.state = null;
    this.sel = app.store.get("discord.open") || "dm";
    this.dismissed = new Set();
    this.seen = new Map();
    this.sigs = {};
    this.who = h("select", { id: "who-discord", "data-testid": "who-discord",
      onchange: () => app.setWho("discord", this.who.value) });
    this.nav = h("div", { class: "dc-nav" });
    this.head = h("header", { class: "dc-head" });
    this.scroll = h("div", { class: "dc-scroll", role: "log", "aria-label": "Messages" });
    this.banner = h("div", { class: "dc-banner", hidden: true });
    this.composer = new Composer({
      testid: "discord-composer", label: "Message", theme: "dc",
      onSend: (text) => this.send(text),
      commands: () => this.commands(),
      onCommand: (name) => this.slash(name),
    });
    this.layer = h("div", { class: "modal-layer dc-layer", hidden: true });
    this.modal = new DiscordModal(this.layer, (action, args) => this.act(action, args));
    this.serverName = h("span", {}, "Support");
    this.dms = h("input", { type: "checkbox", id: "discord-dms", "data-testid": "discord-dms",
      onchange: () => this.act("dms", { open: this.dms.checked }) });
    this.meName = h("span", { class: "dc-user-name" });
    this.meAvatar = h("span", { class: "dc-nav-avatar", "aria-hidden": "true" });
    this.el = h("section", { class: "pane dc", "data-pane": "discord", "aria-label": "Discord" },
      h("div", { class: "pane-bar dc-bar" },
        h("span", { class: "pane-logo dc-logo", "aria-hidden": "true" }, "◉"),
        h("span", { class: "pane-title" }, "Discord"),
        h("span", { class: "pane-sub" }, "the customer's side"),
        h("label", { class: "who", for: "who-discord" }, "You are:"), this.who),
      h("div", { class: "dc-frame" },
        h("div", { class: "dc-rail", "aria-hidden": "true" },
          h("div", { class: "dc-rail-icon home" }, "✉"), h("div", { class: "dc-rail-sep" }),
          h("div", { class: "dc-rail-icon server" }, "S")),
        h("nav", { class: "dc-side", "aria-label": "Discord conversations" },
          h("div", { class: "dc-side-head" }, this.serverName), this.nav,
          h("div", { class: "dc-user" }, this.meAvatar,
            h("div", { class: "dc-user-text" }, this.meName,
              h("label", { class: "dc-dms", for: "discord-dms",
                title: "Discord's \u201cAllow direct messages from server members\u201d" },
              this.dms, " Allow DMs")))),
        h("main", { class: "dc-main" }, this.head, this.banner, this.scroll, this.composer.el)),
      this.layer);
  }

  act(action, args) {
    return this.app.act("discord", action, args);
  }

  /** Every conversation I can open, sidebar order. */
  conversations(d) {
    const list = [{ key: "dm", kind: "dm", id: d.dm?.channel_id || null,
      name: displayName(d.bot), messages: d.dm?.messages || [] }];
    for (const ch of d.guild?.channels || []) {
      list.push({ key: ch.id, kind: "channel", id: ch.id, name: ch.name, topic: ch.topic,
        messages: ch.messages || [] });
      for (const th of (d.guild.threads || []).filter((t) => t.parent_id === ch.id)) {
        list.push({ key: th.id, kind: "thread", id: th.id, name: th.name, parent: ch.name,
          messages: th.messages || [], private: th.private });
      }
    }
    const known = new Set(list.map((c) => c.id));
    for (const th of (d.guild?.threads || []).filter((t) => !known.has(t.id))) {
      list.push({ key: th.id, kind: "thread", id: th.id, name: th.name, messages: th.messages || [] });
    }
    return list;
  }

  render(state) {
    const d = state.discord;
    this.state = state;
    const me = d.me;
    if (this.me !== me) {
      this.me = me;
      this.seen.clear();
      this.sigs = {};
    }
    this.fillWho(d);
    this.dms.checked = d.dms_open !== false;
    const myName = d.customers.find((c) => c.id === d.me)?.name || "You";
    this.meName.textContent = myName;
    this.meAvatar.textContent = initial(myName);
    this.meAvatar.style.background = colorFor(d.me);
    this.serverName.textContent = d.guild?.name || "Direct Messages";
    const convs = this.conversations(d);
    let open = convs.find((c) => c.key === this.sel);
    if (!open) {
      open = convs[0];
      this.sel = open.key;
    }
    this.renderNav(convs, open);
    this.renderOpen(open, convs, state);
    this.modal.render(d.modal, this.ctx(state, convs));
  }

  fillWho(d) {
    const sig = JSON.stringify([d.customers, d.me]);
    if (this.sigs.who === sig) return;
    this.sigs.who = sig;
    fill(this.who, d.customers.map((c) => h("option", { value: c.id, selected: c.id === d.me }, c.name)));
  }

  ctx(state, convs) {
    const d = state.discord;
    const users = { [d.bot.id]: displayName(d.bot) };
    for (const c of d.customers) users[c.id] = c.name;
    for (const conv of convs) {
      for (const m of conv.messages) {
        if (m.author) users[m.author.id] = displayName(m.author);
        for (const u of m.mentions || []) users[u.id] = displayName(u);
      }
    }
    const channels = {};
    for (const c of convs) if (c.kind !== "dm") channels[c.id] = c.name;
    return {
      users, channels, me: d.me, now: new Date(state.clock.now),
      act: (action, args) => this.act(action, args),
      dismiss: (id) => { this.dismissed.add(id); this.render(this.state); },
    };
  }

  renderNav(convs, open) {
    const unread = new Set();
    for (const c of convs) {
      const last = c.messages.at(-1)?.id || "";
      if (c.key === open.key || !this.seen.has(c.key)) this.seen.set(c.key, last);
      else if (this.seen.get(c.key) !== last) unread.add(c.key);
    }
    const sig = JSON.stringify([convs.map((c) => [c.key, c.id, c.name]), open.key, [...unread]]);
    if (this.sigs.nav === sig) return;
    this.sigs.nav = sig;
    const entry = (c, icon, label) => h("button", {
      type: "button", class: `dc-nav-item ${c.kind}${c.key === open.key ? " active" : ""}` +
        `${unread.has(c.key) ? " unread" : ""}`,
      "data-testid": "nav", "data-kind": c.kind, dataset: { channel: c.id || "dm" },
      "aria-current": c.key === open.key ? "page" : null,
      onclick: () => this.open(c.key),
    }, icon, h("span", { class: "dc-nav-label" }, label));
    const dm = convs[0];
    fill(this.nav,
      h("div", { class: "dc-nav-section" }, "Direct Messages"),
      entry(dm, h("span", { class: "dc-nav-avatar", style: { background: "#5865f2" },
        "aria-hidden": "true" }, initial(dm.name)), dm.name),
      convs.length > 1 ? h("div", { class: "dc-nav-section" }, "Text Channels") : null,
      convs.slice(1).map((c) => c.kind === "channel"
        ? entry(c, h("span", { class: "dc-hash", "aria-hidden": "true" }, "#"), c.name)
        : entry(c, h("span", { class: "dc-thread-icon", "aria-hidden": "true" }, "└ 🧵"), c.name)));
  }

  open(key) {
    this.sel = key;
    this.app.store.set("discord.open", key);
    this.sigs.list = null;
    this.render(this.state);
    this.composer.focus();
  }

  renderOpen(open, convs, state) {
    const d = state.discord;
    if (open.kind === "dm") {
      fill(this.head, h("span", { class: "dc-head-icon", "aria-hidden": "true" }, "@"),
        h("span", { class: "dc-head-name" }, open.name));
    } else {
      fill(this.head, h("span", { class: "dc-head-icon", "aria-hidden": "true" },
        open.kind === "thread" ? "🧵" : "#"),
      h("span", { class: "dc-head-name" }, open.name),
      open.topic ? h("span", { class: "dc-head-topic" }, open.topic) : null);
    }
    this.banner.hidden = open.kind !== "dm" || d.dms_open !== false;
    this.banner.textContent = "Your direct messages are closed: the bot cannot write to you " +
      "here, so it answers in a private thread of #support.";
    const ephemerals = this.ephemeralsFor(open, convs, d);
    const ctx = this.ctx(state, convs);
    const sig = JSON.stringify([open.key, open.messages, ephemerals, ctx.users, ctx.channels,
      state.clock.now]);
    const placeholder = open.kind === "dm" ? `Message @${open.name}` : `Message #${open.name}`;
    this.composer.show(open.key, placeholder);
    if (this.sigs.list === sig) return;
    const switched = !this.sigs.list || JSON.parse(this.sigs.list)[0] !== open.key;
    this.sigs.list = sig;
    rebuildScroller(this.scroll, () => {
      if (!open.messages.length && !ephemerals.length) return this.emptyState(open);
      return messageList(open.messages, ephemerals, ctx);
    }, switched);
  }

  emptyState(open) {
    const title = open.kind === "dm" ? open.name : `Welcome to #${open.name}!`;
    const text = open.kind === "dm"
      ? `This is the beginning of your direct message history with ${open.name}.`
      : `This is the start of #${open.name}.`;
    return h("div", { class: "dc-empty" },
      h("div", { class: "dc-empty-avatar", style: { background: colorFor(open.key) }, "aria-hidden": "true" },
        open.kind === "dm" ? initial(open.name) : "#"),
      h("h3", {}, title), h("p", {}, text));
  }

  /** Ephemeral replies go where they were asked for; strays go to the open conversation. */
  ephemeralsFor(open, convs, d) {
    const ids = new Set(convs.map((c) => c.id).filter(Boolean));
    return (d.ephemerals || []).filter((m) => !this.dismissed.has(m.id)).filter((m) =>
      m.channel_id === open.id || (!ids.has(m.channel_id) && (open.kind === "dm" || !m.channel_id)));
  }

  current() {
    return this.conversations(this.state.discord).find((c) => c.key === this.sel);
  }

  commands() {
    const open = this.state && this.current();
    if (!open) return [];
    const all = this.state.discord.commands || [];
    return open.kind === "dm" ? all.filter((c) => c.guild === false) : all;
  }

  async send(text) {
    const open = this.current();
    const slash = /^\/(\S+)\s*$/.exec(text.trim());
    if (slash && this.commands().some((c) => c.name === slash[1])) return this.slash(slash[1]);
    const res = open.kind === "dm" ? await this.act("dm", { text })
      : await this.act("send", { channel_id: open.id, text });
    return res.ok;
  }

  async slash(name) {
    const open = this.current();
    const args = { name };
    if (open.kind !== "dm") args.channel_id = open.id;
    const res = await this.act("slash", args);
    return res.ok;
  }
}
