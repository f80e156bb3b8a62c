// ui.js: small DOM helpers. Text always goes in as text (textContent),
// never as HTML, and handlers are attached with addEventListener: the
// Content-Security-Policy forbids inline handlers and styles anyway.

/**
 * h("button", {class: "btn", onclick: fn, disabled: true}, "Start"): an
 * element. Keys starting with "on" add listeners; "dataset" and "aria"
 * objects set data-* and aria-*; false/null attributes are left out.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "class") el.className = v;
    else if (k === "value") el.value = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace el's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A usage bar: used of total (total < 0: unlimited). */
export function bar(label, used, total, unit) {
  const unlimited = total < 0;
  const pct = unlimited || total === 0 ? 0 : Math.min(100, Math.round((used / total) * 100));
  const level = pct >= 90 ? "high" : pct >= 70 ? "mid" : "low";
  const fillEl = h("span", { class: "bar-fill " + level });
  fillEl.style.width = pct + "%"; // CSSOM, which the CSP allows (not an inline style attribute)
  const f = unit === "bytes" ? fmtBytes : (n) => `${fmtNum(n)} ${unit || ""}`.trim();
  const text = unlimited ? `${f(used)} used, no limit` : `${f(used)} of ${f(total)}`;
  return h("div", { class: "meter" },
    h("div", { class: "meter-label" }, h("span", {}, label), h("span", { class: "meter-value" }, text)),
    h("div", {
      class: "bar", role: "meter", "aria-label": label, "aria-valuemin": 0,
      "aria-valuemax": unlimited ? used : total, "aria-valuenow": used, "aria-valuetext": text,
    }, fillEl));
}

export function fmtNum(n) { return Number(n).toLocaleString("en"); }

export function fmtBytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + units[i];
}

export function fmtTime(s) {
  if (!s) return "";
  const d = new Date(s);
  return isNaN(d) ? s : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** A state badge: the class follows the state's meaning. */
export function badge(state) {
  const good = ["running", "active", "available", "in-use", "up", "success", "succeeded"];
  const bad = ["error", "down", "failure", "failed", "unknown"];
  const kind = good.includes(state) ? "ok" : bad.includes(state) ? "bad" : "busy";
  return h("span", { class: "badge " + kind, dataset: { state } }, state);
}

/** Show a short message for a few seconds (announced to screen readers). */
export function toast(message, kind = "ok") {
  const box = document.getElementById("toasts");
  const t = h("div", { class: "toast " + kind }, message);
  box.append(t);
  setTimeout(() => t.remove(), kind === "error" ? 8000 : 4000);
}

/** The text of an API error for a person: message, field and request id. */
export function errorText(err) {
  let s = err.message || String(err);
  if (err.field && !s.includes(err.field)) s += ` (${err.field})`;
  if (err.requestId) s += ` [${err.requestId}]`;
  return s;
}

/** An error line, hidden until set. */
export function errorBox() {
  const el = h("p", { class: "error", role: "alert", hidden: true });
  el.show = (err) => { el.textContent = err ? errorText(err) : ""; el.hidden = !err; };
  return el;
}

/**
 * A modal dialog with a form. fields: [{name, label, type, options, required,
 * value, hint, min, max, placeholder}]. submit(values, dialog) may throw an
 * ApiError, which is shown in the dialog; resolves when submitted or closed.
 */
export function formDialog({ title, fields, submitLabel = "Create", submit, extra }) {
  return new Promise((resolve) => {
    const err = errorBox();
    const inputs = {};
    const rows = fields.map((f) => {
      const id = "f-" + f.name + "-" + Math.random().toString(36).slice(2, 8);
      let input;
      if (f.type === "select") {
        input = h("select", { id, name: f.name, required: f.required },
          f.options.map((o) => h("option", { value: o.value, selected: o.value === f.value }, o.label)));
      } else if (f.type === "textarea") {
        input = h("textarea", { id, name: f.name, rows: f.rows || 4, placeholder: f.placeholder,
          spellcheck: "false" });
        if (f.value) input.value = f.value;
      } else if (f.type === "checkbox") {
        input = h("input", { id, name: f.name, type: "checkbox", checked: !!f.value });
      } else {
        input = h("input", { id, name: f.name, type: f.type || "text", required: f.required,
          min: f.min, max: f.max, placeholder: f.placeholder, value: f.value ?? null,
          autocomplete: f.autocomplete || "off", accept: f.accept });
      }
      inputs[f.name] = input;
      const label = h("label", { for: id }, f.label);
      const hint = f.hint ? h("span", { class: "hint" }, f.hint) : null;
      return f.type === "checkbox"
        ? h("div", { class: "check" }, input, label, hint)
        : h("div", { class: "field" }, label, input, hint);
    });
    const submitBtn = h("button", { type: "submit", class: "btn primary" }, submitLabel);
    const cancel = h("button", { type: "button", class: "btn" }, "Cancel");
    const form = h("form", { method: "dialog", novalidate: true }, h("h2", {}, title), rows,
      extra || null, err, h("div", { class: "dialog-actions" }, cancel, submitBtn));
    const dlg = h("dialog", { class: "modal", "aria-label": title }, form);
    let done = false;
    const close = (v) => { if (!done) { done = true; dlg.close(); dlg.remove(); resolve(v); } };
    cancel.addEventListener("click", () => close(null));
    dlg.addEventListener("cancel", (e) => { e.preventDefault(); close(null); });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const values = {};
      for (const [name, input] of Object.entries(inputs))
        values[name] = input.type === "checkbox" ? input.checked
          : input.type === "file" ? input.files[0] : input.value;
      err.show(null);
      submitBtn.disabled = true;
      try {
        const r = await submit(values, dlg);
        close(r === undefined ? true : r);
      } catch (ex) {
        err.show(ex);
        const bad = ex.field && inputs[ex.field];
        if (bad) bad.focus();
      } finally {
        submitBtn.disabled = false;
      }
    });
    document.body.append(dlg);
    dlg.showModal();
    const first = Object.values(inputs)[0];
    if (first) first.focus();
  });
}

/** Ask a yes/no question in a modal dialog; resolves true or false. */
export function confirmDialog(title, text, yesLabel = "Delete") {
  return new Promise((resolve) => {
    const yes = h("button", { type: "button", class: "btn danger" }, yesLabel);
    const no = h("button", { type: "button", class: "btn" }, "Cancel");
    const dlg = h("dialog", { class: "modal", role: "alertdialog", "aria-label": title },
      h("h2", {}, title), h("p", {}, text), h("div", { class: "dialog-actions" }, no, yes));
    const close = (v) => { dlg.close(); dlg.remove(); resolve(v); };
    yes.addEventListener("click", () => close(true));
    no.addEventListener("click", () => close(false));
    dlg.addEventListener("cancel", (e) => { e.preventDefault(); close(false); });
    document.body.append(dlg);
    dlg.showModal();
    no.focus();
  });
}

/** Show information in a modal dialog with a Close button. */
export function infoDialog(title, ...content) {
  return new Promise((resolve) => {
    const ok = h("button", { type: "button", class: "btn primary" }, "Close");
    const dlg = h("dialog", { class: "modal", "aria-label": title }, h("h2", {}, title), content,
      h("div", { class: "dialog-actions" }, ok));
    const close = () => { dlg.close(); dlg.remove(); resolve(); };
    ok.addEventListener("click", close);
    dlg.addEventListener("cancel", (e) => { e.preventDefault(); close(); });
    document.body.append(dlg);
    dlg.showModal();
    ok.focus();
  });
}

/**
 * A list table kept in step with data without rebuilding rows that stay
 * (so focus and clicks survive a refresh). columns: [{label, cell(item) ->
 * Node|string}]. update(items) syncs the rows, keyed by item.id.
 */
export function listTable(columns, { empty = "Nothing here yet.", label } = {}) {
  const tbody = h("tbody");
  const emptyRow = h("tr", { class: "empty" }, h("td", { colspan: columns.length }, empty));
  const table = h("table", { class: "list", "aria-label": label },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c.label)))), tbody);
  const rows = new Map();
  const cellsOf = (item) => columns.map((c) => {
    const v = c.cell(item);
    return v instanceof Node ? v : document.createTextNode(v ?? "");
  });
  table.update = (items) => {
    const seen = new Set();
    items.forEach((item, idx) => {
      seen.add(item.id);
      const sig = JSON.stringify(item);
      let row = rows.get(item.id);
      if (!row) {
        row = h("tr", { dataset: { id: item.id, name: item.name || "" } },
          columns.map((c) => h("td", { dataset: { label: c.label } })));
        rows.set(item.id, row);
      }
      if (row.sig !== sig || row.force) {
        row.sig = sig;
        const cells = cellsOf(item);
        [...row.children].forEach((td, i) => {
          const had = td.contains(document.activeElement) && document.activeElement.textContent;
          fill(td, cells[i]);
          if (had) { // keep keyboard focus on the same action after a refresh
            const again = [...td.querySelectorAll("button, a")].find((b) => b.textContent === had);
            if (again) again.focus();
          }
        });
      }
      if (tbody.children[idx] !== row) tbody.insertBefore(row, tbody.children[idx] || null);
    });
    for (const [id, row] of rows) if (!seen.has(id)) { row.remove(); rows.delete(id); }
    if (items.length === 0) tbody.append(emptyRow); else emptyRow.remove();
  };
  table.refreshAll = () => { for (const row of rows.values()) row.force = true; };
  return table;
}

/** A page heading with optional actions on its right. */
export function pageHead(title, ...actions) {
  return h("div", { class: "page-head" }, h("h1", {}, title),
    h("div", { class: "page-actions" }, actions));
}

/** Run fn now and every ms while the page is visible, until stop() is called. */
export function every(ms, fn) {
  let timer = null, stopped = false, busy = false;
  const tick = async () => {
    timer = null;
    if (stopped) return;
    if (document.visibilityState === "visible" && !busy) {
      busy = true;
      try { await fn(); } catch (_) { /* shown by fn's own error handling */ }
      busy = false;
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  const onVisible = () => {
    if (document.visibilityState === "visible" && !stopped && timer) {
      clearTimeout(timer);
      tick();
    }
  };
  document.addEventListener("visibilitychange", onVisible);
  tick();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    document.removeEventListener("visibilitychange", onVisible);
  };
}
