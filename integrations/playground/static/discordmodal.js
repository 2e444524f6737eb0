// Discord's modal dialog: a centred card with text inputs (and string selects in labels).
// Kept in place while the same modal stays open, so a refresh never wipes what was typed.

import { h, fill, append } from "./dom.js";
import { discordMarkdown } from "./markup.js";

let uid = 0;

export class DiscordModal {
  /** layer: the element covering the pane; act(action, args) -> Promise<bool>; side: the
   * pane's name in data-side ("discord": the customer's, "staff": the staff channel's) */
  constructor(layer, act, side = "discord") {
    this.layer = layer;
    this.act = act;
    this.side = side;
    this.key = null;
    this.busy = false;
  }

  render(modal, ctx) {
    const key = modal ? JSON.stringify([modal.custom_id, modal.title, modal.components]) : null;
    if (key === this.key) return;
    const kept = this.values();
    this.key = key;
    if (!modal) {
      this.layer.hidden = true;
      this.layer.replaceChildren();
      return;
    }
    const titleId = `dc-modal-title-${++uid}`;
    this.fields = [];
    const form = h("form", { class: "dc-modal-form", novalidate: true,
      onsubmit: (e) => { e.preventDefault(); this.submit(modal); } });
    for (const row of modal.components || []) append(form, [this.row(row, kept, ctx)]);
    const dialog = h("div", {
      class: "dc-modal", role: "dialog", "aria-modal": "true", "aria-labelledby": titleId,
      "data-testid": "modal", "data-side": this.side, dataset: { customId: modal.custom_id || "" },
      onkeydown: (e) => { if (e.key === "Escape") this.act("dismiss", {}); },
    },
    h("header", { class: "dc-modal-head" },
      h("h2", { id: titleId }, modal.title || "Form"),
      h("button", { type: "button", class: "dc-modal-x", "aria-label": "Close",
        onclick: () => this.act("dismiss", {}) }, "✕")),
    form,
    h("footer", { class: "dc-modal-foot" },
      h("button", { type: "button", class: "dc-linkish dc-modal-cancel", "data-testid": "modal-cancel",
        onclick: () => this.act("dismiss", {}) }, "Cancel"),
      h("button", { type: "button", class: "dc-btn primary", "data-testid": "modal-submit",
        onclick: () => this.submit(modal) }, "Submit")));
    fill(this.layer, dialog);
    this.layer.hidden = false;
    const first = form.querySelector("input, textarea, select");
    if (first) first.focus();
  }

  row(row, kept, ctx) {
    if (row.type === 1) return (row.components || []).map((c) => this.field(c, c.label, null, kept));
    if (row.type === 18) return this.field(row.component || {}, row.label, row.description, kept);
    if (row.type === 10) return h("div", { class: "dc-text md" }, discordMarkdown(row.content, ctx));
    return h("div", { class: "dc-unsupported" }, `[component type ${row.type}]`);
  }

  field(c, label, description, kept) {
    const id = `dc-field-${++uid}`;
    const required = c.type === 4 ? c.required !== false : (c.min_values ?? 1) > 0 && c.required !== false;
    let input;
    if (c.type === 4) {
      const attrs = {
        id, name: c.custom_id, placeholder: c.placeholder || null, required,
        minlength: c.min_length ?? null, maxlength: c.max_length ?? null,
        value: kept.get(c.custom_id) ?? c.value ?? "", class: "dc-input",
      };
      input = c.style === 2 ? h("textarea", { ...attrs, rows: 4 }) : h("input", { ...attrs, type: "text" });
    } else if (c.type === 3) {
      const chosen = kept.get(c.custom_id) ?? (c.options || []).find((o) => o.default)?.value ?? "";
      input = h("select", { id, name: c.custom_id, class: "dc-select", required },
        h("option", { value: "", disabled: true, selected: !chosen }, c.placeholder || "Make a selection"),
        (c.options || []).map((o) => h("option", { value: o.value, selected: o.value === chosen }, o.label)));
    } else {
      return h("div", { class: "dc-unsupported" }, `[input type ${c.type}]`);
    }
    const error = h("div", { class: "dc-field-error", role: "alert", hidden: true });
    this.fields.push({ c, input, error, required });
    return h("div", { class: "dc-field" },
      h("label", { for: id, class: "dc-label" }, label || c.custom_id,
        required ? h("span", { class: "dc-required", "aria-hidden": "true" }, " *") : null),
      description ? h("div", { class: "dc-field-desc" }, description) : null,
      input, error);
  }

  values() {
    const out = new Map();
    for (const f of this.fields || []) out.set(f.c.custom_id, f.input.value);
    return out;
  }

  /** Discord checks required fields and lengths before sending anything. */
  valid() {
    let ok = true;
    for (const f of this.fields) {
      const text = f.input.value;
      let problem = "";
      if (f.required && !text.trim()) problem = "This field is required";
      else if (text && f.c.min_length && text.length < f.c.min_length) {
        problem = `Must be at least ${f.c.min_length} characters long`;
      } else if (f.c.max_length && text.length > f.c.max_length) {
        problem = `Must be ${f.c.max_length} or fewer characters long`;
      }
      f.error.textContent = problem;
      f.error.hidden = !problem;
      if (problem) ok = false;
    }
    return ok;
  }

  async submit(modal) {
    if (this.busy || !this.valid()) return;
    const values = {};
    for (const f of this.fields) values[f.c.custom_id] = f.input.value;
    this.busy = true;
    try {
      await this.act("submit", { custom_id: modal.custom_id, values });
    } finally {
      this.busy = false;
    }
  }
}
