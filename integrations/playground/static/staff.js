// The staff pane: the company's Discord server as an agent (Sam Staff, Lee Lead) sees it when
// agents work tickets in Discord. Sidebar (the channels only the staff see, the forum among
// them), a forum's posts listed as Discord lists them (one post per ticket), an open post or
// thread drawn with the customer pane's message code (the card's embed, buttons and select),
// the composer, the modal.

import { h, fill, colorFor, initial, rebuildScroller, relative } from "./dom.js";
import { Composer } from "./composer.js";
import { messageList, displayName } from "./discordmsg.js";
import { DiscordModal } from "./discordmodal.js";

const FORUM = 15;

export class StaffPane {
  /** app: {act(side, action, args), setWho(side, id), store} */
  constructor(app) {
    this.app = app;
    this.state = null;
    this.sel = app.store.get("staff.open") || null; // a channel's or a thread's id
    this.dismissed = new Set();
    this.sigs = {};
    this.who = h("select", { id: "who-staff", "data-testid": "who-staff",
      onchange: () => app.setWho("staff", this.who.value) });
    this.nav = h("div", { class: "dc-nav" });
    this.head = h("header", { class: "dc-head" });
    this.scroll = h("div", { class: "dc-scroll", role: "log", "aria-label": "Messages" });
    this.composer = new Composer({
      testid: "staff-composer", label: "Message", theme: "dc",
      onSend: (text) => this.send(text),
      commands: () => this.commands(),
      onCommand: (name) => this.slash(name),
    });
    this.layer = h("div", { class: "modal-layer dc-layer", hidden: true });
    this.modal = new DiscordModal(this.layer, (action, args) => this.act(action, args), "staff");
    this.serverName = h("span", {}, "Support");
    this.meName = h("span", { class: "dc-user-name" });
    this.meRoles = h("span", { class: "dc-user-roles", "data-testid": "staff-roles" });
    this.meAvatar = h("span", { class: "dc-nav-avatar", "aria-hidden": "true" });
    this.el = h("section", { class: "pane dc staff", "data-pane": "staff",
      "aria-label": "Discord, the staff channel", hidden: true },
    h("div", { class: "pane-bar dc-bar" },
      h("span", { class: "pane-logo dc-logo", "aria-hidden": "true" }, "◉"),
      h("span", { class: "pane-title" }, "Discord"),
      h("span", { class: "pane-sub" }, "the staff channel"),
      h("label", { class: "who", for: "who-staff" }, "You are:"), this.who),
    h("div", { class: "dc-frame" },
      h("nav", { class: "dc-side", "aria-label": "Discord staff channels" },
        h("div", { class: "dc-side-head" }, this.serverName), this.nav,
        h("div", { class: "dc-user" }, this.meAvatar,
          h("div", { class: "dc-user-text" }, this.meName, this.meRoles))),
      h("main", { class: "dc-main" }, this.head, this.scroll, this.composer.el)),
    this.layer);
  }

  act(action, args) {
    return this.app.act("staff", action, args);
  }

  /** Every place I can open: channels (a forum lists its posts) and their threads. */
  places(d) {
    const list = [];
    for (const ch of d.guild?.channels || []) {
      const forum = ch.type === FORUM;
      list.push({ key: ch.id, kind: forum ? "forum" : "channel", id: ch.id, name: ch.name,
        topic: ch.topic, messages: ch.messages || [], threads: ch.threads || [] });
      for (const th of ch.threads || []) {
        list.push({ key: th.id, kind: forum ? "post" : "thread", id: th.id, name: th.name,
          parent: ch, messages: th.messages || [], archived: th.thread_metadata?.archived });
      }
    }
    return list;
  }

  render(state) {
    const d = state.staff;
    this.state = state;
    if (this.me !== d.me) {
      this.me = d.me;
      this.sigs = {};
    }
    this.fillWho(d);
    const me = d.people.find((p) => p.id === d.me);
    const myName = me?.name || "You";
    this.meName.textContent = myName;
    this.meRoles.textContent = (me?.roles || []).join(", ");
    this.meAvatar.textContent = initial(myName);
    this.meAvatar.style.background = colorFor(d.me);
    this.serverName.textContent = d.guild?.name || "Discord";
    const places = this.places(d);
    let open = places.find((p) => p.key === this.sel);
    if (!open) {
      // A post someone else can't see, or none chosen yet: the forum, where tickets are.
      open = places.find((p) => p.kind === "forum") || places[0] || null;
      this.sel = open?.key || null;
    }
    this.renderNav(places, open);
    this.renderOpen(open, places, state);
    this.modal.render(d.modal, this.ctx(state, places));
  }

  fillWho(d) {
    const sig = JSON.stringify([d.people, d.me]);
    if (this.sigs.who === sig) return;
    this.sigs.who = sig;
    fill(this.who, d.people.map((p) => h("option", { value: p.id, selected: p.id === d.me },
      p.roles?.length ? `${p.name} — ${p.roles.join(", ")}` : p.name)));
  }

  ctx(state, places) {
    const d = state.staff;
    const users = { [d.bot.id]: displayName(d.bot) };
    for (const p of d.people) users[p.id] = p.name;
    const channels = {};
    for (const place of places) {
      channels[place.id] = place.name;
      for (const m of place.messages) {
        if (m.author) users[m.author.id] = displayName(m.author);
        for (const u of m.mentions || []) users[u.id] = displayName(u);
      }
    }
    return {
      users, channels, me: d.me, now: new Date(state.clock.now),
      act: (action, args) => this.act(action, args),
      dismiss: (id) => { this.dismissed.add(id); this.sigs.list = null; this.render(this.state); },
    };
  }

  renderNav(places, open) {
    // A post shows its forum as the current place; a text channel's threads sit under it.
    const here = open?.kind === "post" ? open.parent.id : open?.key;
    const sig = JSON.stringify([places.filter((p) => p.kind !== "post").map((p) => [p.key, p.name]),
      here]);
    if (this.sigs.nav === sig) return;
    this.sigs.nav = sig;
    const icons = { forum: "💬", channel: "#", thread: "└ 🧵" };
    fill(this.nav, h("div", { class: "dc-nav-section" }, "Channels"),
      places.filter((p) => p.kind !== "post").map((p) => h("button", {
        type: "button", class: `dc-nav-item ${p.kind === "thread" ? "thread" : "channel"}` +
          `${p.key === here ? " active" : ""}`,
        "data-testid": "nav", "data-kind": p.kind, dataset: { channel: p.id },
        "aria-current": p.key === here ? "page" : null, onclick: () => this.open(p.key),
      }, h("span", { class: p.kind === "thread" ? "dc-thread-icon" : "dc-hash", "aria-hidden": "true" },
        icons[p.kind]), h("span", { class: "dc-nav-label" }, p.name))));
  }

  open(key) {
    this.sel = key;
    this.app.store.set("staff.open", key);
    this.sigs.list = null;
    this.render(this.state);
    if (this.current()?.kind !== "forum") this.composer.focus();
  }

  current() {
    return this.places(this.state.staff).find((p) => p.key === this.sel);
  }

  renderOpen(open, places, state) {
    if (!open) {
      fill(this.head, h("span", { class: "dc-head-name" }, "No staff channel"));
      this.composer.el.hidden = true;
      fill(this.scroll, h("div", { class: "dc-empty" }, h("p", {}, "You see no staff channel.")));
      return;
    }
    this.renderHead(open);
    const ctx = this.ctx(state, places);
    const forum = open.kind === "forum";
    this.composer.el.hidden = forum; // a forum takes posts, not messages; posts are the bot's
    if (!forum) this.composer.show(open.key, `Message ${open.kind === "channel" ? "#" : ""}${open.name}`);
    const ephemerals = forum ? [] : this.ephemeralsFor(open, places, state.staff);
    const sig = JSON.stringify([open.key, forum ? open.threads : open.messages, ephemerals,
      ctx.users, state.clock.now]);
    if (this.sigs.list === sig) return;
    const switched = !this.sigs.list || JSON.parse(this.sigs.list)[0] !== open.key;
    this.sigs.list = sig;
    rebuildScroller(this.scroll, () => {
      if (forum) return this.postList(open, ctx);
      if (!open.messages.length && !ephemerals.length) {
        return h("div", { class: "dc-empty" }, h("p", {}, `This is the start of ${open.name}.`));
      }
      return messageList(open.messages, ephemerals, ctx);
    }, switched);
  }

  renderHead(open) {
    if (open.kind === "post" || open.kind === "thread") {
      fill(this.head,
        h("button", { type: "button", class: "dc-back", "data-testid": "staff-back",
          "aria-label": `Back to ${open.parent.name}`, title: `Back to ${open.parent.name}`,
          onclick: () => this.open(open.parent.id) }, "←"),
        h("span", { class: "dc-head-parent" }, open.parent.name),
        h("span", { class: "dc-head-icon", "aria-hidden": "true" }, "›"),
        h("span", { class: "dc-head-name", "data-testid": "staff-open-name" }, open.name),
        open.archived ? h("span", { class: "dc-head-topic" }, "Archived") : null);
      return;
    }
    fill(this.head,
      h("span", { class: "dc-head-icon", "aria-hidden": "true" }, open.kind === "forum" ? "💬" : "#"),
      h("span", { class: "dc-head-name", "data-testid": "staff-open-name" }, open.name),
      open.topic ? h("span", { class: "dc-head-topic" }, open.topic) : null);
  }

  /** A forum's posts, most recently active first: title, what the card says, replies, when. */
  postList(forum, ctx) {
    if (!forum.threads.length) {
      return h("div", { class: "dc-empty", "data-testid": "forum-empty" },
        h("div", { class: "dc-empty-avatar", style: { background: "#5865f2" }, "aria-hidden": "true" }, "💬"),
        h("h3", {}, `No posts in ${forum.name} yet`),
        h("p", {}, "The bot opens a post here for every ticket: write to Support Bot as a " +
          "customer, and it appears."));
    }
    return h("div", { class: "dc-forum" }, forum.threads.map((t) => {
      const messages = t.messages || [];
      const starter = messages.find((m) => m.id === t.id) || messages[0];
      const last = messages.at(-1);
      const embed = starter?.embeds?.[0];
      const said = [starter?.content, embed?.title, embed?.description].filter(Boolean).join(" · ");
      const when = last ? relative(new Date(last.timestamp), ctx.now) : "";
      const replies = Math.max(messages.length - (starter ? 1 : 0), 0);
      return h("button", {
        type: "button", class: `dc-post${t.thread_metadata?.archived ? " archived" : ""}`,
        "data-testid": "post", dataset: { id: t.id }, onclick: () => this.open(t.id),
      },
      h("span", { class: "dc-post-title" }, t.name),
      said ? h("span", { class: "dc-post-said" }, said.length > 160 ? `${said.slice(0, 159)}…` : said) : null,
      h("span", { class: "dc-post-meta" }, h("span", { "aria-hidden": "true" }, "💬 "),
        `${replies} ${replies === 1 ? "message" : "messages"}`,
        t.thread_metadata?.archived ? " · Archived" : "", when ? ` · ${when}` : ""));
    }));
  }

  /** Ephemeral replies go where they were asked for; strays to the open conversation. */
  ephemeralsFor(open, places, d) {
    const ids = new Set(places.map((p) => p.id));
    return (d.ephemerals || []).filter((m) => !this.dismissed.has(m.id))
      .filter((m) => m.channel_id === open.id || !ids.has(m.channel_id));
  }

  commands() {
    const open = this.state && this.current();
    if (!open || open.kind === "forum") return [];
    return this.state.staff.commands || [];
  }

  async send(text) {
    const open = this.current();
    if (!open || open.kind === "forum") return false;
    // "/mine", or "/ticket 1001": a command's one option typed after it, as Discord fills it.
    const slash = /^\/(\S+)(?:\s+(\S.*))?$/.exec(text.trim());
    const command = slash && this.commands().find((c) => c.name === slash[1]);
    if (command) return this.slash(command.name, slash[2], command);
    const res = await this.act("send", { channel_id: open.id, text });
    return res.ok;
  }

  async slash(name, typed, command) {
    const open = this.current();
    const args = { name, channel_id: open?.id };
    const first = (command || this.commands().find((c) => c.name === name))?.options?.[0];
    if (first && typed !== undefined) {
      // Integer (4) and number (10) options go as numbers, the rest as text.
      const numeric = first.type === 4 || first.type === 10;
      args.options = { [first.name]: numeric && /^-?\d+(\.\d+)?$/.test(typed) ? Number(typed) : typed };
    }
    const res = await this.act("slash", args);
    return res.ok;
  }
}
