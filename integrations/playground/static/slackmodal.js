// Slack's modal dialog: title bar, blocks, input blocks as form fields with their errors,
// Cancel and Submit. Kept in place while the same view stays open, so a refresh (or an
// errors answer) never wipes what was typed.

import { h, fill, append } from "./dom.js";
import { plain, slackText } from "./markup.js";
import { renderBlocks, options, humans, selectInput } from "./slackblocks.js";

let uid = 0;

/** Slack's "(optional)" after a label, unless the label says so already. */
function optional(block) {
  if (!block.optional || /\(optional\)/i.test(plain(block.label))) return null;
  return h("span", { class: "sl-optional" }, " (optional)");
}

export class SlackModal {
  /** layer: the element covering the pane; act(action, args) -> Promise<result> */
  constructor(layer, act, note) {
    this.layer = layer;
    this.act = act;
    this.note = note;
    this.key = null;
    this.viewId = null;
    this.fields = [];
    this.busy = false;
  }

  render(modal, ctx) {
    const key = modal
      ? JSON.stringify([modal.id, modal.title, modal.blocks, modal.submit, modal.close]) : null;
    if (key !== this.key) this.build(modal, key, ctx);
    if (modal) this.showErrors(modal.errors || {});
  }

  build(modal, key, ctx) {
    // The same view updated in place keeps what was typed; a new view starts afresh.
    const kept = modal && modal.id === this.viewId ? this.values() : {};
    this.key = key;
    this.viewId = modal?.id ?? null;
    this.fields = [];
    this.local = {};
    if (!modal) {
      this.layer.hidden = true;
      this.layer.replaceChildren();
      return;
    }
    const titleId = `sl-modal-title-${++uid}`;
    const on = {
      click: (e) => this.act("view_click", { action_id: e.action_id }),
      select: () => this.note("Menus outside input fields are not supported in playground dialogs."),
    };
    const body = h("form", { class: "sl-modal-body", novalidate: true,
      onsubmit: (e) => { e.preventDefault(); this.submit(); } });
    for (const block of modal.blocks || []) {
      append(body, [block.type === "input" ? this.input(block, ctx, kept)
        : renderBlocks([block], ctx, on)]);
    }
    const foot = h("footer", { class: "sl-modal-foot" },
      h("button", { type: "button", class: "sl-btn", "data-testid": "modal-cancel",
        onclick: () => this.act("close", {}) }, plain(modal.close) || "Cancel"),
      modal.submit ? h("button", { type: "button", class: "sl-btn primary", "data-testid": "modal-submit",
        onclick: () => this.submit() }, plain(modal.submit)) : null);
    const dialog = h("div", {
      class: "sl-modal", role: "dialog", "aria-modal": "true", "aria-labelledby": titleId,
      "data-testid": "modal", "data-side": "slack", dataset: { callbackId: modal.callback_id || "" },
      onkeydown: (e) => { if (e.key === "Escape") this.act("close", {}); },
    },
    h("header", { class: "sl-modal-head" },
      h("h2", { id: titleId }, plain(modal.title) || "Dialog"),
      h("button", { type: "button", class: "sl-modal-x", "aria-label": "Close",
        onclick: () => this.act("close", {}) }, "✕")),
    body, foot);
    fill(this.layer, dialog);
    this.layer.hidden = false;
    const first = body.querySelector("input, textarea, select");
    if (first) first.focus();
  }

  input(block, ctx, kept) {
    const e = block.element || {};
    const name = block.block_id;
    const id = `sl-field-${++uid}`;
    const initial = kept[name];
    const error = h("div", { class: "sl-field-error", role: "alert", hidden: true });
    const field = { block, name, error, read: () => "" };
    const label = h("label", { for: id, class: "sl-label" }, plain(block.label), optional(block));
    let control;
    const text = (type, multiline) => {
      const attrs = {
        id, name, class: "sl-input", placeholder: plain(e.placeholder) || null,
        maxlength: e.max_length ?? null, minlength: e.min_length ?? null,
        value: initial ?? e.initial_value ?? e.initial_date ?? e.initial_time ?? "",
      };
      control = multiline ? h("textarea", { ...attrs, rows: 4 }) : h("input", { ...attrs, type });
      field.read = () => control.value;
    };
    switch (e.type) {
      case "plain_text_input": text("text", e.multiline); break;
      case "email_text_input": text("email"); break;
      case "url_text_input": text("url"); break;
      case "number_input": text("number"); break;
      case "datepicker": text("date"); break;
      case "timepicker": text("time"); break;
      case "static_select": case "users_select": case "multi_static_select": case "multi_users_select": {
        const users = e.type.includes("users");
        const list = users ? humans(ctx) : options(e);
        const start = initial ?? (users ? e.initial_user : e.initial_option?.value);
        control = selectInput({ id, name, class: "sl-select", multiple: e.type.startsWith("multi") },
          list, start, plain(e.placeholder) || "Select an item");
        field.read = () => (control.multiple
          ? [...control.selectedOptions].map((o) => o.value) : control.value);
        break;
      }
      case "radio_buttons": case "checkboxes":
        return this.choices(block, e, field, kept, ctx);
      default:
        control = h("div", { id, class: "sl-unsupported" }, `[${e.type} input]`);
    }
    this.fields.push(field);
    return h("div", { class: "sl-field", dataset: { blockId: name } }, label, control,
      block.hint ? h("div", { class: "sl-hint" }, plain(block.hint)) : null, error);
  }

  /** Radio buttons and checkboxes: a fieldset, each choice with its own label. */
  choices(block, e, field, kept, ctx) {
    const multi = e.type === "checkboxes";
    const initial = kept[block.block_id]
      ?? (multi ? (e.initial_options || []).map((o) => o.value) : e.initial_option?.value);
    const boxes = (e.options || []).map((o) => {
      const id = `sl-choice-${++uid}`;
      const chosen = multi ? (initial || []).includes(o.value) : initial === o.value;
      const box = h("input", { id, type: multi ? "checkbox" : "radio", name: block.block_id,
        value: o.value, checked: chosen });
      return h("div", { class: "sl-choice" }, box,
        h("label", { for: id }, slackText(o.text, ctx)),
        o.description ? h("div", { class: "sl-hint" }, plain(o.description)) : null);
    });
    const set = h("fieldset", { class: "sl-field sl-choices", dataset: { blockId: block.block_id } },
      h("legend", { class: "sl-label" }, plain(block.label), optional(block)),
      boxes, block.hint ? h("div", { class: "sl-hint" }, plain(block.hint)) : null, field.error);
    field.read = () => {
      const checked = [...set.querySelectorAll("input:checked")].map((b) => b.value);
      return multi ? checked : (checked[0] ?? "");
    };
    this.fields.push(field);
    return set;
  }

  values() {
    const out = {};
    for (const f of this.fields) out[f.name] = f.read();
    return out;
  }

  showErrors(errors) {
    this.errors = errors;
    for (const f of this.fields) {
      const problem = this.local?.[f.name] || errors[f.name] || "";
      f.error.textContent = problem;
      f.error.hidden = !problem;
      f.error.closest(".sl-field")?.classList.toggle("has-error", Boolean(problem));
    }
  }

  /** As in Slack, an empty required input is caught before anything is sent. */
  async submit() {
    if (this.busy) return;
    const values = this.values();
    const missing = {};
    for (const f of this.fields) {
      const v = values[f.name];
      if (!f.block.optional && (Array.isArray(v) ? !v.length : !String(v).trim())) {
        missing[f.name] = "Please complete this required field.";
      }
    }
    this.local = missing;
    this.showErrors(this.errors || {});
    if (Object.keys(missing).length) return;
    this.busy = true;
    try {
      await this.act("submit", { values });
    } finally {
      this.busy = false;
    }
  }
}
