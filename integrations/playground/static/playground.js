// The playground page: fetches the state, listens for changes, sends what the visitor does,
// and hands the picture to the panes: the customer's Discord, the agents' Slack and, when agents
// work in Discord, the staff channel. The HTTP contract is in server.py.

import { h, fill, utcLabel, span } from "./dom.js";
import { DiscordPane } from "./discord.js";
import { SlackPane } from "./slack.js";
import { StaffPane } from "./staff.js";
import { Tour } from "./tour.js";

const store = {
  get(key) {
    try {
      return JSON.parse(localStorage.getItem(`threadline.${key}`));
    } catch {
      return null;
    }
  },
  set(key, value) {
    try {
      localStorage.setItem(`threadline.${key}`, JSON.stringify(value));
    } catch {
      // private mode or full: the choice just won't survive a reload
    }
  },
};

class Playground {
  constructor() {
    const fromHash = new URLSearchParams(location.hash.slice(1));
    this.who = {
      slack: fromHash.get("slack") || store.get("who.slack") || "",
      discord: fromHash.get("discord") || store.get("who.discord") || "",
      staff: fromHash.get("staff") || store.get("who.staff") || "",
    };
    this.store = store;
    this.state = null;
    this.seq = 0;
    this.loading = null;
    this.again = false;
    this.discord = new DiscordPane(this);
    this.slack = new SlackPane(this);
    this.staff = new StaffPane(this);
    this.tour = new Tour(this);
    this.buildTop();
    this.toastEl = h("div", { class: "toast", "data-testid": "toast", role: "status", hidden: true });
    this.panes = h("div", { class: "panes" }, this.discord.el, this.slack.el, this.staff.el);
    document.body.append(this.top, this.panes, this.toastEl, this.tour.card);
  }

  buildTop() {
    // One move at a time: a double click would otherwise move the clock twice.
    const clockButton = (testid, by, label) => h("button", {
      type: "button", class: "top-btn clock-btn", "data-testid": testid,
      onclick: async () => {
        const buttons = [...this.top.querySelectorAll(".clock-btn")];
        for (const b of buttons) b.disabled = true;
        try {
          await this.act("clock", "advance", { by });
        } finally {
          for (const b of buttons) b.disabled = false;
          if (this.state) this.renderClock(this.state.clock);
        }
      },
    }, label);
    this.clockNow = h("span", { class: "clock-now", "data-testid": "clock-now" }, "…");
    this.clockMoved = h("span", { class: "clock-moved" });
    this.clockNext = h("span", { class: "clock-next", "data-testid": "clock-due" });
    this.nextBtn = clockButton("clock-next", "next", "Next SLA event");
    this.buildAutoAnswer();
    this.live = h("span", { class: "live", title: "Connecting…", "aria-label": "Connecting" });
    this.top = h("header", { class: "topbar" },
      h("div", { class: "brand" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "🧵"),
        h("h1", {}, "Threadline playground"), this.live),
      h("div", { class: "clock", role: "group", "aria-label": "The bot's clock" },
        h("span", { class: "clock-label" }, "Bot clock"), this.clockNow, this.clockMoved,
        this.clockNext,
        clockButton("clock-1h", "1h", "+1 hour"), clockButton("clock-1d", "1d", "+1 day"),
        this.nextBtn, this.autoSwitch),
      h("button", { type: "button", class: "top-btn ghost", "data-testid": "tour-open",
        onclick: () => this.tour.open(0) }, "Tour"));
  }

  /** The demo's switch for the automated answer: the bot answers a customer's question from
   * its help articles before a person does. Hidden when the bot has no AI features. */
  buildAutoAnswer() {
    this.autoBusy = false;
    this.autoBox = h("input", {
      type: "checkbox", role: "switch", class: "top-switch-box", "data-testid": "auto-answer",
      onchange: async () => {
        const on = this.autoBox.checked;
        this.autoBusy = true; // a state fetched meanwhile must not flip the box back
        this.autoBox.disabled = true;
        try {
          const reply = await this.act("clock", "auto_answer", { to: on ? "on" : "off" });
          if (!reply.ok) this.autoBox.checked = !on;
          await this.settled();
        } finally {
          this.autoBusy = false;
          this.autoBox.disabled = false;
          if (this.state) this.renderClock(this.state.clock);
        }
      },
    });
    this.autoSwitch = h("label", {
      class: "top-switch", hidden: true,
      title: "Automated answers: the bot answers a customer's question from its help articles, " +
        "with a \u201cTalk to a person\u201d button",
    }, this.autoBox, h("span", {}, "Automated answers"));
  }

  start() {
    window.addEventListener("hashchange", () => {
      const q = new URLSearchParams(location.hash.slice(1));
      const changed = ["slack", "discord", "staff"].filter((side) => q.get(side) &&
        q.get(side) !== this.who[side]);
      if (changed.length) {
        for (const side of changed) this.who[side] = q.get(side);
        this.refresh();
      }
    });
    this.refresh();
    this.listen();
    this.tour.maybeStart();
  }

  /** Server-sent events: each `changed` means the picture moved on. */
  listen() {
    const events = new EventSource("/api/events");
    events.addEventListener("changed", (e) => {
      let revision = null;
      try {
        revision = JSON.parse(e.data).revision;
      } catch {
        // no revision: fetch anyway
      }
      if (revision === null || revision !== this.state?.revision) this.refresh();
    });
    events.onopen = () => this.setLive(true);
    events.onerror = () => this.setLive(false);
  }

  setLive(on) {
    this.live.classList.toggle("on", on);
    const text = on ? "Live" : "Reconnecting to the playground server…";
    this.live.title = text;
    this.live.setAttribute("aria-label", text);
  }

  /** Fetch the state; calls while one is under way fold into one more fetch after it. */
  refresh() {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = this.load().finally(() => {
      this.loading = null;
      if (this.again) {
        this.again = false;
        this.refresh();
      }
    });
    return this.loading;
  }

  /** Resolves once the fetches under way, and those they queued, are done. */
  async settled() {
    while (this.loading) await this.loading;
  }

  async load() {
    const seq = ++this.seq;
    const asked = { ...this.who };
    const q = new URLSearchParams();
    for (const side of ["slack", "discord", "staff"]) if (this.who[side]) q.set(side, this.who[side]);
    let state;
    try {
      const res = await fetch(`/api/state?${q}`, { cache: "no-store" });
      state = await res.json();
      if (!res.ok || state.ok === false) throw new Error(state.error || `HTTP ${res.status}`);
    } catch (err) {
      if (state?.ok === false && (this.who.slack || this.who.discord || this.who.staff) &&
        !this.retried) {
        // Someone remembered from another demo run: start again from the defaults.
        this.retried = true;
        this.who = { slack: "", discord: "", staff: "" };
        this.again = true;
        return;
      }
      this.toast(`Could not load the playground state: ${err.message}`, true);
      return;
    }
    if (seq !== this.seq) return;
    if (["slack", "discord", "staff"].some((side) => asked[side] !== this.who[side])) {
      // The visitor switched person while this was on its way: it shows someone else's view
      // (their ephemerals, their DMs), so it is dropped for a fetch as the new person.
      this.again = true;
      return;
    }
    this.render(state);
  }

  render(state) {
    this.state = state;
    // A pane is null when the agents do not work there (`threadline demo --workspaces`).
    if (state.slack) this.who.slack = state.slack.me;
    if (state.staff) this.who.staff = state.staff.me;
    this.who.discord = state.discord.me;
    this.remember();
    this.renderClock(state.clock);
    this.discord.render(state);
    this.slack.el.hidden = !state.slack;
    if (state.slack) this.slack.render(state);
    this.staff.el.hidden = !state.staff;
    if (state.staff) this.staff.render(state);
    this.panes.dataset.count = String(1 + Boolean(state.slack) + Boolean(state.staff));
    this.tour.refresh();
  }

  renderClock(clock) {
    const now = new Date(clock.now);
    this.clockNow.textContent = utcLabel(now);
    this.clockMoved.textContent = clock.moved ? `(moved +${clock.moved})` : "";
    this.clockMoved.hidden = !clock.moved;
    if (clock.next_due) {
      const due = new Date(clock.next_due);
      const when = due > now ? `in ${span(due - now)}` : `overdue by ${span(now - due)}`;
      fill(this.clockNext, "Next SLA: ", h("strong", {}, utcLabel(due)), ` (${when})`);
    } else {
      fill(this.clockNext, "No SLA event pending");
    }
    this.clockNext.title = this.clockNext.textContent; // the whole line, when it is cut short
    this.nextBtn.disabled = !clock.next_due;
    const auto = clock.auto_answer ?? null;
    this.autoSwitch.hidden = auto === null;
    if (!this.autoBusy) this.autoBox.checked = auto === true;
  }

  remember() {
    store.set("who.slack", this.who.slack);
    store.set("who.discord", this.who.discord);
    store.set("who.staff", this.who.staff);
    let hash = `#slack=${encodeURIComponent(this.who.slack)}&discord=${encodeURIComponent(this.who.discord)}`;
    if (this.state?.staff) hash += `&staff=${encodeURIComponent(this.who.staff)}`;
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }

  setWho(side, id) {
    this.who[side] = id;
    this.remember();
    return this.refresh();
  }

  /** POST /api/act; a refusal shows as an alert naming the error. Resolves to the reply. */
  async act(side, action, args = {}) {
    const body = { side, as: this.who[side] || "", action, ...args };
    let reply;
    try {
      const res = await fetch("/api/act", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      reply = await res.json().catch(() => ({ ok: false, error: `HTTP ${res.status}` }));
      if (!res.ok && reply.ok !== false) reply = { ok: false, error: `HTTP ${res.status}` };
    } catch (err) {
      reply = { ok: false, error: `the playground server did not answer (${err.message})` };
    }
    if (!reply.ok) this.toast(`Error: ${reply.error || "something went wrong"}`, true);
    else if (reply.note) this.toast(reply.note, false);
    this.refresh();
    return reply;
  }

  note(text) {
    this.toast(text, false);
  }

  toast(text, isError) {
    const el = this.toastEl;
    el.setAttribute("role", isError ? "alert" : "status");
    el.classList.toggle("error", isError);
    fill(el, h("span", { class: "toast-text" }, text), h("button", {
      type: "button", class: "toast-x", "aria-label": "Close message", onclick: () => { el.hidden = true; },
    }, "✕"));
    el.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => { el.hidden = true; }, isError ? 12000 : 8000);
  }

  /** Set the scene for a tour step: people, open conversations, drafts. */
  async scene(want) {
    const s = this.state;
    if (!s) return;
    if (want.discord === "first") this.who.discord = s.discord.customers[0]?.id || "";
    if (want.slack === "first") this.who.slack = s.slack?.people[0]?.id || "";
    if (want.slack === "lead") {
      const lead = s.slack?.people.find((p) => /lead/i.test(`${p.title} ${p.name}`));
      if (lead) this.who.slack = lead.id;
    }
    this.remember();
    await this.refresh();
    const st = this.state;
    if (want.discordOpen) {
      const ch = (st.discord.guild?.channels || []).find((c) => c.name === want.discordOpen);
      this.discord.open(want.discordOpen === "dm" ? "dm" : ch?.id || "dm");
    }
    if (want.discordDraft) this.draft(this.discord.composer, want.discordDraft);
    if (want.slackOpen && st.slack) {
      const ch = st.slack.channels.find((c) => c.name === want.slackOpen);
      if (ch) this.slack.open(ch.id);
    }
    if (want.slackDraft && st.slack) this.draft(this.slack.composer, want.slackDraft);
    if (want.slackThread && st.slack) {
      const ch = st.slack.channels.find((c) => c.id === this.slack.sel);
      const card = [...(ch?.messages || [])].reverse().find((m) => m.blocks?.length || m.reply_count);
      if (card) this.slack.openThread(ch.id, card.ts);
      else this.note("No ticket card yet: write to Support Bot on Discord first.");
    }
    if (want.threadDraft && this.slack.thread) this.draft(this.slack.threadComposer, want.threadDraft);
    this.tour.refresh();
  }

  draft(composer, text) {
    composer.box.value = text;
    composer.changed();
    composer.focus();
  }
}

const app = new Playground();
app.start();
