// The message box both panes use: Enter sends, Shift+Enter breaks the line, the box grows
// with its text, "/" offers the slash commands. It is built once and never re-rendered, so
// what someone is typing (and the focus) survives every state refresh.

import { h, fill } from "./dom.js";

export class Composer {
  /**
   * @param {object} opts
   *   testid, label: the textarea's data-testid and accessible name
   *   onSend(text): called with the text (returns a promise of true when it went through)
   *   commands(): [{name, description}] offered after "/" (empty: no popup)
   *   onCommand(name): a command was chosen (Discord runs it at once)
   *   fillOnChoose: put the chosen command in the box instead (Slack)
   *   theme: "dc" | "sl"
   */
  constructor(opts) {
    this.opts = opts;
    this.drafts = new Map();
    this.key = null;
    this.choice = 0;
    this.box = h("textarea", {
      rows: 1, "data-testid": opts.testid, "aria-label": opts.label, class: "composer-input",
      onkeydown: (e) => this.keydown(e), oninput: () => this.changed(),
    });
    this.popup = h("div", { class: `slash-popup ${opts.theme}-popup`, role: "listbox", hidden: true });
    this.send = h("button", {
      type: "button", class: "composer-send", "aria-label": "Send message", title: "Send",
      onclick: () => this.submit(),
    }, "➤");
    this.el = h("div", { class: `composer ${opts.theme}-composer` }, this.popup,
      h("div", { class: "composer-box" }, this.box, this.send));
  }

  /** Point the box at a conversation; each keeps its own draft. */
  show(key, placeholder) {
    this.box.placeholder = placeholder;
    this.box.setAttribute("aria-label", placeholder);
    if (key === this.key) return;
    if (this.key !== null) this.drafts.set(this.key, this.box.value);
    this.key = key;
    this.box.value = this.drafts.get(key) || "";
    this.changed();
  }

  focus() { this.box.focus(); }

  changed() {
    this.box.style.height = "auto";
    this.box.style.height = `${Math.min(this.box.scrollHeight, 200)}px`;
    this.refreshPopup();
  }

  matches() {
    const text = this.box.value;
    if (!text.startsWith("/") || /\s/.test(text)) return [];
    const typed = text.slice(1).toLowerCase();
    return (this.opts.commands() || []).filter((c) => c.name.toLowerCase().startsWith(typed));
  }

  refreshPopup() {
    const found = this.matches();
    if (!found.length) {
      this.popup.hidden = true;
      return;
    }
    this.choice = Math.min(this.choice, found.length - 1);
    fill(this.popup, h("div", { class: "slash-title" }, "Commands"), found.map((c, i) =>
      h("button", {
        type: "button", role: "option", class: `slash-item${i === this.choice ? " active" : ""}`,
        "aria-selected": String(i === this.choice), dataset: { command: c.name },
        onmousedown: (e) => e.preventDefault(), // keep the focus in the box
        onclick: () => this.choose(c.name),
      }, h("span", { class: "slash-name" }, `/${c.name}`),
      h("span", { class: "slash-desc" }, c.description || ""))));
    this.popup.hidden = false;
  }

  choose(name) {
    if (this.opts.fillOnChoose) {
      // Slack puts the command in the box, for its arguments to be typed after it.
      this.box.value = `/${name} `;
      this.popup.hidden = true;
      this.changed();
      return;
    }
    this.clear();
    this.opts.onCommand(name);
  }

  clear() {
    this.box.value = "";
    this.popup.hidden = true;
    this.changed();
  }

  keydown(e) {
    const found = this.popup.hidden ? [] : this.matches();
    if (found.length && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      const step = e.key === "ArrowDown" ? 1 : -1;
      this.choice = (this.choice + step + found.length) % found.length;
      this.refreshPopup();
      return;
    }
    if (found.length && e.key === "Tab") {
      e.preventDefault();
      this.choose(found[this.choice].name);
      return;
    }
    if (e.key === "Escape" && !this.popup.hidden) {
      this.popup.hidden = true;
      return;
    }
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (found.length) this.choose(found[this.choice].name);
      else this.submit();
    }
  }

  async submit() {
    const text = this.box.value;
    if (!text.trim()) return;
    const key = this.key;
    this.clear();
    const ok = await this.opts.onSend(text);
    // Refused: give the text back, unless the person has started typing something new.
    if (!ok && this.key === key && !this.box.value) {
      this.box.value = text;
      this.changed();
    }
  }
}
