// compute.js: the overview (quota usage), instances (live list, launch
// dialog, actions) and an instance's serial console.

import * as api from "./api.js";
import {
  h, fill, bar, badge, every, fmtTime, listTable, pageHead, formDialog, confirmDialog, toast,
  errorText, errorBox,
} from "./ui.js";

const POLL_MS = 2500;
const QUOTA_LABELS = [
  ["instances", "Instances", ""], ["vcpus", "vCPUs", ""], ["ram_mb", "Memory", "MB"],
  ["volumes", "Volumes", ""], ["volume_gb", "Volume storage", "GB"],
  ["access_keys", "Access keys", ""], ["networks", "Networks", ""],
  ["floating_ips", "Floating IPs", ""], ["buckets", "Buckets", ""],
  ["object_bytes", "Object storage", "bytes"],
];

function quotaBars(q) {
  return h("div", { class: "meters" },
    QUOTA_LABELS.filter(([k]) => q[k]).map(([k, label, unit]) => bar(label, q[k].used, q[k].limit, unit)));
}

export function overviewPage(main, s) {
  const err = errorBox();
  const body = h("div", {});
  fill(main, pageHead("Overview"), err, body);
  (async () => {
    try {
      const instances = await api.listAll("/v1/instances");
      const counts = {};
      for (const i of instances) counts[i.state] = (counts[i.state] || 0) + 1;
      const summary = h("section", { class: "card", "aria-labelledby": "ov-inst" },
        h("h2", { id: "ov-inst" }, "Instances"),
        h("p", {}, instances.length === 1 ? "1 instance" : `${instances.length} instances`,
          s.project ? ` in project ${s.project.name}` : " in the projects you see"),
        h("ul", { class: "counts" }, Object.keys(counts).sort().map((st) =>
          h("li", {}, badge(st), " ", String(counts[st])))),
        h("p", {}, h("a", { href: "#/instances" }, "Go to instances")));
      if (s.project) {
        const q = await api.get(`/v1/projects/${encodeURIComponent(s.project.id)}/quotas`);
        fill(body, h("section", { class: "card", "aria-labelledby": "ov-quota" },
          h("h2", { id: "ov-quota" }, `Quota usage of project ${s.project.name}`), quotaBars(q.quotas)),
        summary);
        return;
      }
      const projects = await api.listAll("/v1/projects", 20);
      const cards = [];
      for (const p of projects) {
        try {
          const q = await api.get(`/v1/projects/${encodeURIComponent(p.id)}/quotas`);
          cards.push(h("section", { class: "card" }, h("h2", {}, `Project ${p.name}`), quotaBars(q.quotas)));
        } catch (_) { /* a project whose quotas we may not read */ }
      }
      fill(body, h("p", { class: "notice" },
        "This session is not scoped to a project: resources are created inside a project, so use ",
        h("strong", {}, "Switch project"), " to pick one."),
      summary, cards.length ? h("h2", {}, "Quota usage by project") : null, cards);
    } catch (ex) { err.show(ex); }
  })();
}

/* Names of flavors, images and hosts by id, for the instance list. */
async function lookups(s) {
  const [flavors, images, keypairs] = await Promise.all([
    api.listAll("/v1/flavors"), api.listAll("/v1/images"), api.listAll("/v1/keypairs"),
  ]);
  let hosts = [];
  if (s.user.system_admin) { try { hosts = await api.listAll("/v1/hosts"); } catch (_) { /* none */ } }
  const byId = (xs) => Object.fromEntries(xs.map((x) => [x.id, x]));
  return { flavors, images, keypairs, flavorById: byId(flavors), imageById: byId(images), hostById: byId(hosts) };
}

function canChange(s) { return s.project && (s.role === "member" || s.role === "admin"); }

async function launchDialog(s, lk, zones) {
  const images = lk.images.filter((i) => i.state === "active");
  return formDialog({
    title: "Launch instance", submitLabel: "Launch",
    fields: [
      { name: "name", label: "Name", required: true, placeholder: "web-1",
        hint: "Letters, digits, '-', unique in the project." },
      { name: "image", label: "Image", type: "select", required: true,
        options: images.map((i) => ({ value: i.id, label: i.name })) },
      { name: "flavor", label: "Flavor", type: "select", required: true,
        options: lk.flavors.map((f) => ({ value: f.id, label: `${f.name} — ${f.vcpus} vCPU, ${f.ram_mb} MB, ${f.disk_gb} GB` })) },
      { name: "keypair", label: "Keypair", type: "select",
        options: [{ value: "", label: "None" }].concat(lk.keypairs.map((k) => ({ value: k.id, label: k.name }))) },
      { name: "zone", label: "Zone", type: "select",
        options: [{ value: "", label: "Any" }].concat(zones.map((z) => ({ value: z.id, label: `${z.name} (${z.jurisdiction})` }))) },
      { name: "user_data", label: "User data (cloud-init)", type: "textarea", rows: 3,
        placeholder: "#cloud-config" },
    ],
    submit: (v) => {
      const body = { name: v.name.trim(), image: v.image, flavor: v.flavor };
      if (v.keypair) body.keypair = v.keypair;
      if (v.zone) body.zone = v.zone;
      if (v.user_data) body.user_data = v.user_data;
      return api.post("/v1/instances", body);
    },
  });
}

async function action(inst, verb, refresh) {
  try {
    await api.post(`/v1/instances/${inst.id}/${verb}`);
    toast(`${inst.name}: ${verb} asked`);
  } catch (ex) { toast(`${inst.name}: ${errorText(ex)}`, "error"); }
  refresh();
}

export function instancesPage(main, s) {
  const err = errorBox();
  const launch = h("button", { type: "button", class: "btn primary", disabled: !canChange(s) }, "Launch instance");
  const why = canChange(s) ? null : h("p", { class: "notice" }, s.project
    ? "Your role in this project is reader: you can look but not change."
    : "Pick a project (Switch project) to launch instances; this list shows every project you see.");
  let lk = { flavorById: {}, imageById: {}, hostById: {}, flavors: [], images: [], keypairs: [] };
  let refresh = () => {};
  const rowActions = (i) => {
    const change = canChange(s);
    const btn = (label, verb, enabled) => h("button", {
      type: "button", class: "btn small", disabled: !change || !enabled,
      onclick: () => action(i, verb, refresh),
    }, label);
    return h("div", { class: "actions" },
      btn("Start", "start", i.state === "stopped"),
      btn("Stop", "stop", i.state === "running"),
      btn("Reboot", "reboot", i.state === "running"),
      h("a", { class: "btn small", href: `#/instances/${encodeURIComponent(i.id)}/console` }, "Console"),
      h("button", {
        type: "button", class: "btn small danger", disabled: !change || i.state === "deleting",
        onclick: async () => {
          if (!(await confirmDialog(`Delete ${i.name}?`, "Its disk is removed with it; volumes stay.")))
            return;
          try { await api.del(`/v1/instances/${i.id}`); toast(`${i.name}: deletion asked`); }
          catch (ex) { toast(`${i.name}: ${errorText(ex)}`, "error"); }
          refresh();
        },
      }, "Delete"));
  };
  const table = listTable([
    { label: "Name", cell: (i) => h("span", { class: "name" }, i.name) },
    { label: "State", cell: (i) => h("span", {}, badge(i.state), i.error ? h("span", { class: "reason" }, i.error) : null) },
    { label: "Size", cell: (i) => `${(lk.flavorById[i.flavor_id] || {}).name || "?"} · ${i.vcpus} vCPU · ${i.ram_mb} MB · ${i.disk_gb} GB` },
    { label: "Image", cell: (i) => (lk.imageById[i.image_id] || {}).name || i.image_id.slice(0, 8) },
    { label: "Host", cell: (i) => i.host ? ((lk.hostById[i.host] || {}).name || i.host.slice(0, 8)) : "—" },
    { label: "Created", cell: (i) => fmtTime(i.created_at) },
    { label: "Actions", cell: rowActions },
  ], { empty: "No instances yet.", label: "Instances" });
  fill(main, pageHead("Instances", launch), why, err, h("div", { class: "table-wrap" }, table));

  const load = async () => {
    try {
      table.update(await api.listAll("/v1/instances"));
      err.show(null);
    } catch (ex) { err.show(ex); }
  };
  refresh = load;
  launch.addEventListener("click", async () => {
    let zones = [];
    try { lk = await lookups(s); zones = await api.listAll("/v1/zones"); } catch (ex) { err.show(ex); return; }
    const r = await launchDialog(s, lk, zones);
    if (r && r.id) { toast(`${r.name}: launching`); load(); }
  });
  let stop = () => {};
  lookups(s).then((x) => { lk = x; table.refreshAll(); }).catch((ex) => err.show(ex))
    .finally(() => { stop = every(POLL_MS, load); });
  return () => stop();
}

// Terminal escapes (colours, cursor moves, the BIOS's screen clears) are
// dropped: the console is shown as plain text.
const ESCAPES = /\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_]|[()][0-9A-Za-z])/g;

export function consolePage(main, s, id) {
  const err = errorBox();
  const title = h("h1", {}, "Console");
  const state = h("span", {});
  const pre = h("pre", { class: "console", tabindex: 0, "aria-label": "Serial console output", "aria-live": "off" });
  const follow = h("input", { type: "checkbox", id: "console-follow", checked: true });
  const pos = h("span", { class: "hint" });
  fill(main, h("div", { class: "page-head" }, title, h("div", { class: "page-actions" },
    h("div", { class: "check" }, follow, h("label", { for: "console-follow" }, "Follow")),
    h("a", { class: "btn", href: "#/instances" }, "Back to instances"))),
  h("p", {}, state, " ", pos), err, pre);
  const decoder = new TextDecoder("utf-8");
  let offset = null;
  let text = "";
  const load = async () => {
    try {
      const inst = await api.get(`/v1/instances/${encodeURIComponent(id)}`);
      fill(title, `Console of ${inst.name}`);
      fill(state, badge(inst.state));
      if (!follow.checked && offset !== null) return;
      const c = await api.consoleRead(inst.id, offset);
      if (c.bytes.length) {
        text += decoder.decode(c.bytes, { stream: true }).replace(ESCAPES, "").replace(/\r/g, "");
        if (text.length > 256 * 1024) text = text.slice(-192 * 1024);
        const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
        pre.textContent = text;
        if (atEnd) pre.scrollTop = pre.scrollHeight;
      }
      offset = c.end;
      pos.textContent = `${c.end} bytes so far`;
      if (!text) pre.textContent = "(nothing on the console yet)";
      err.show(null);
    } catch (ex) { err.show(ex); }
  };
  return every(1500, load);
}
