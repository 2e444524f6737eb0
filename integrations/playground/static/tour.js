// The guided tour: a small card beside the part of the page each step is about, which it
// highlights. Not modal: everything stays clickable while it is open.

import { h, fill } from "./dom.js";

const HIDE_KEY = "threadline.tour.hidden";

/** Each step: what to say; what to highlight (for each selector its first match, or its last
 * with `last: true`; `fallback` when none is on the page yet); and a "Show me" that sets the
 * scene (the right person, the right conversation, a draft). */
const STEPS = [
  {
    title: "A customer writes in",
    text: "On Discord you are Alice, a customer. In your DM with Support Bot, write " +
      "\u201cMy order #A-1 never arrived\u201d and press Enter.",
    targets: ['[data-testid="discord-composer"]', '[data-pane="discord"] [data-kind="dm"]'],
    show: (app) => app.scene({ discord: "first", discordOpen: "dm",
      discordDraft: "My order #A-1 never arrived" }),
  },
  {
    title: "The ticket reaches the team",
    text: "In Slack the ticket card appeared in #support. You are Alice Agent: click Claim " +
      "on the card.",
    targets: ['[data-pane="slack"] .sl-b-actions'],
    fallback: ['[data-pane="slack"] .sl-main'],
    last: true,
    show: (app) => app.scene({ slack: "first", slackOpen: "support" }),
  },
  {
    title: "The AI lends a hand",
    text: "The card shows the AI's triage; a drafted reply waits in the thread for an agent " +
      "to Send, Edit or Discard.",
    targets: ['[data-pane="slack"] [data-block-id="ticket_triage"]',
      '[data-pane="slack"] [data-block-id="draft_actions"]'],
    fallback: ['[data-pane="slack"] .sl-main'],
    last: true,
    show: (app) => app.scene({ slack: "first", slackOpen: "support", slackThread: "last" }),
  },
  {
    title: "Answer in the card's thread",
    text: "Open the card's thread (\u201cN replies\u201d) and write there: it goes to the " +
      "customer. Start a line with \u201cnote:\u201d (or \u201c;;\u201d) and it stays internal.",
    targets: ['[data-pane="slack"] [data-testid="thread-composer"]',
      '[data-pane="slack"] [data-testid="replies"]'],
    fallback: ['[data-pane="slack"] .sl-main'],
    last: true,
    show: (app) => app.scene({ slack: "first", slackOpen: "support", slackThread: "last",
      threadDraft: "Sorry about that! A new parcel is on its way." }),
  },
  {
    title: "The customer reads it",
    text: "Back on Discord, Alice sees the reply in her DM, signed by the agent. She can " +
      "answer right there.",
    targets: ['[data-pane="discord"] .dc-scroll'],
    show: (app) => app.scene({ discord: "first", discordOpen: "dm" }),
  },
  {
    title: "Escalate or resolve",
    text: "The card's Escalate and Resolve buttons open a dialog: fill it in and submit. " +
      "The card, the thread and the customer all hear of it.",
    targets: ['[data-pane="slack"] [data-testid="modal"]', '[data-pane="slack"] .sl-b-actions'],
    fallback: ['[data-pane="slack"] .sl-main'],
    last: true,
    show: (app) => app.scene({ slack: "first", slackOpen: "support" }),
  },
  {
    title: "The customer rates the help",
    text: "Once resolved, the customer is asked for a rating in Discord: click one of the " +
      "buttons, then add a comment if you like.",
    targets: ['[data-pane="discord"] .dc-row'],
    fallback: ['[data-pane="discord"] .dc-scroll'],
    last: true,
    show: (app) => app.scene({ discord: "first", discordOpen: "dm" }),
  },
  {
    title: "Move the clock",
    text: "\u201c+1 day\u201d or \u201cNext SLA event\u201d moves the bot's clock: reminders " +
      "and breach notices follow. Switch Slack to Carol Lead to see #support-leads and her DMs.",
    targets: [".clock"],
    show: (app) => app.scene({ slack: "lead" }),
  },
  {
    title: "Commands",
    text: "Type /support in Discord's #support channel for the request form, or /threadline " +
      "in Slack (try \u201c/threadline queue\u201d). That's the tour: explore freely!",
    targets: ['[data-testid="discord-composer"]', '[data-testid="slack-composer"]'],
    show: (app) => app.scene({ discordOpen: "support", discordDraft: "/support",
      slackOpen: "support", slackDraft: "/threadline queue" }),
  },
];

export class Tour {
  constructor(app) {
    this.app = app;
    this.step = 0;
    this.lit = [];
    this.title = h("h2", { id: "tour-title" });
    this.text = h("p", { class: "tour-text" });
    this.count = h("span", { class: "tour-count" });
    this.back = h("button", { type: "button", class: "tour-btn", "data-testid": "tour-back",
      onclick: () => this.go(this.step - 1) }, "Back");
    this.next = h("button", { type: "button", class: "tour-btn primary", "data-testid": "tour-next",
      onclick: () => (this.step === STEPS.length - 1 ? this.close() : this.go(this.step + 1)) }, "Next");
    this.showMe = h("button", { type: "button", class: "tour-btn", "data-testid": "tour-show",
      onclick: () => STEPS[this.step].show(this.app) }, "Show me");
    this.hide = h("input", { type: "checkbox", id: "tour-hide", checked: localStorage.getItem(HIDE_KEY) === "1",
      onchange: () => localStorage.setItem(HIDE_KEY, this.hide.checked ? "1" : "0") });
    this.card = h("div", { class: "tour", role: "dialog", "aria-labelledby": "tour-title",
      "data-testid": "tour", hidden: true },
    h("div", { class: "tour-top" }, this.count,
      h("button", { type: "button", class: "tour-skip", "data-testid": "tour-skip",
        onclick: () => this.close() }, "Skip tour")),
    this.title, this.text,
    h("div", { class: "tour-actions" }, this.showMe, h("span", { class: "tour-gap" }), this.back, this.next),
    h("div", { class: "tour-foot" }, this.hide, h("label", { for: "tour-hide" }, "Don't show again")));
    window.addEventListener("resize", () => this.place());
  }

  /** On a first visit (and until "Don't show again"), unless the address says ?tour=off. */
  maybeStart() {
    const off = new URLSearchParams(location.search).get("tour") === "off";
    if (!off && localStorage.getItem(HIDE_KEY) !== "1") this.open(0);
  }

  open(step = 0) {
    this.card.hidden = false;
    this.go(step);
  }

  close() {
    this.card.hidden = true;
    this.light([]);
  }

  go(step) {
    this.step = Math.max(0, Math.min(step, STEPS.length - 1));
    const s = STEPS[this.step];
    this.count.textContent = `Step ${this.step + 1} of ${STEPS.length}`;
    this.title.textContent = s.title;
    fill(this.text, s.text);
    this.back.disabled = this.step === 0;
    this.next.textContent = this.step === STEPS.length - 1 ? "Done" : "Next";
    this.refresh();
    this.next.focus();
  }

  /** After every render: the targets may have appeared, moved or been rebuilt. */
  refresh() {
    if (this.card.hidden) return;
    const s = STEPS[this.step];
    const pick = (selectors) => selectors.map((sel) => {
      const all = [...document.querySelectorAll(sel)].filter((el) => el.offsetParent !== null);
      return s.last ? all.at(-1) : all[0];
    }).filter(Boolean);
    let found = pick(s.targets);
    if (!found.length && s.fallback) found = pick(s.fallback);
    this.light(found);
    this.place();
  }

  light(els) {
    for (const el of this.lit) if (!els.includes(el)) el.classList.remove("tour-lit");
    for (const el of els) el.classList.add("tour-lit");
    this.lit = els;
  }

  /** Beside the first target where the card fits; else over the other half of the page. */
  place() {
    if (this.card.hidden) return;
    const card = this.card.getBoundingClientRect();
    const vw = window.innerWidth;
    const vh = window.innerHeight;
    const gap = 12;
    const target = this.lit[0]?.getBoundingClientRect();
    let spot = null;
    if (target) {
      const clampX = (x) => Math.max(8, Math.min(x, vw - card.width - 8));
      const clampY = (y) => Math.max(60, Math.min(y, vh - card.height - 8));
      const tries = [
        [clampX(target.left), target.bottom + gap],
        [clampX(target.left), target.top - card.height - gap],
        [target.right + gap, clampY(target.top)],
        [target.left - card.width - gap, clampY(target.top)],
      ];
      spot = tries.find(([x, y]) => x >= 8 && y >= 56 && x + card.width <= vw - 8 &&
        y + card.height <= vh - 8);
      if (!spot) {
        const leftHalf = target.left + target.width / 2 < vw / 2;
        spot = [leftHalf ? vw * 0.75 - card.width / 2 : vw * 0.25 - card.width / 2, 120];
      }
    } else {
      spot = [(vw - card.width) / 2, 120];
    }
    this.card.style.left = `${Math.round(spot[0])}px`;
    this.card.style.top = `${Math.round(spot[1])}px`;
  }
}
