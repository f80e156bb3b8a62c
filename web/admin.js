// admin.js: what operators see: hosts (capacity bars from each host's
// allocation), the catalogue (zones, flavors, storage pools), projects,
// users and the audit log.

import * as api from "./api.js";
import {
  h, fill, bar, badge, every, fmtTime, listTable, pageHead, formDialog, confirmDialog,
  infoDialog, toast, errorText, errorBox,
} from "./ui.js";

function needSysadmin(main, s, title) {
  if (s.user.system_admin) return false;
  fill(main, pageHead(title), h("p", { class: "notice" }, "This page is for system administrators."));
  return true;
}

/* ------------------------------------------------------------------- hosts */

export function hostsPage(main, s) {
  if (needSysadmin(main, s, "Hosts")) return null;
  const err = errorBox();
  const enroll = h("button", { type: "button", class: "btn primary" }, "New enrollment token");
  let refresh = () => {};
  const capacity = (x) => {
    const a = x.allocation;
    if (!a) return "—";
    return h("div", { class: "meters compact" },
      bar("vCPUs", a.vcpus_used, a.vcpus_total, ""),
      bar("Memory", a.ram_mb_used, a.ram_mb_total, "MB"),
      bar("Disk", a.disk_gb_used, a.disk_gb_total, "GB"));
  };
  const toggle = (x) => h("button", {
    type: "button", class: "btn small",
    onclick: async () => {
      try { await api.patch(`/v1/hosts/${x.id}`, { enabled: !x.enabled }); }
      catch (ex) { toast(`${x.name}: ${errorText(ex)}`, "error"); }
      refresh();
    },
  }, x.enabled ? "Disable" : "Enable");
  const table = listTable([
    { label: "Name", cell: (x) => h("span", { class: "name" }, x.name) },
    { label: "State", cell: (x) => h("span", {}, badge(x.state), x.enabled ? null : h("span", { class: "reason" }, "disabled: takes no new instances")) },
    { label: "Capacity placed", cell: capacity },
    { label: "Hardware", cell: (x) => `${x.cpus} CPUs · ${x.ram_mb} MB · ${x.disk_gb} GB · ${x.virt_type || "?"}` },
    { label: "Last heartbeat", cell: (x) => fmtTime(x.last_heartbeat) || "never" },
    { label: "Actions", cell: (x) => h("div", { class: "actions" }, toggle(x),
      h("button", {
        type: "button", class: "btn small danger",
        onclick: async () => {
          if (!(await confirmDialog(`Delete host ${x.name}?`, "Its agent's credential stops working; it must enroll again.")))
            return;
          try { await api.del(`/v1/hosts/${x.id}`); } catch (ex) { toast(`${x.name}: ${errorText(ex)}`, "error"); }
          refresh();
        },
      }, "Delete")) },
  ], { empty: "No hosts yet: enroll one with nubo-agent --enroll TOKEN.", label: "Hosts" });
  fill(main, pageHead("Hosts", enroll), err, h("div", { class: "table-wrap" }, table));
  const load = async () => {
    try { table.update(await api.listAll("/v1/hosts")); err.show(null); } catch (ex) { err.show(ex); }
  };
  refresh = load;
  enroll.addEventListener("click", async () => {
    try {
      const t = await api.post("/v1/hosts/enroll-tokens");
      const area = h("textarea", { readonly: true, rows: 2, class: "mono", "aria-label": "Enrollment token" });
      area.value = t.token;
      await infoDialog("Enrollment token", h("p", {}, `One use, valid until ${fmtTime(t.expires_at)}. On the new host run:`),
        h("pre", { class: "mono" }, `nubo-agent --server ${location.origin} --enroll TOKEN`), area);
    } catch (ex) { toast(errorText(ex), "error"); }
  });
  return every(5000, load);
}

/* --------------------------------------------- zones, flavors, storage pools */

// A list that system administrators add to and delete from; everyone sees it.
function cataloguePage(main, s, { title, path, what, columns, fields, body, empty, note }) {
  const err = errorBox();
  const admin = s.user.system_admin;
  const create = h("button", { type: "button", class: "btn primary", disabled: !admin }, `Create ${what}`);
  let refresh = () => {};
  const table = listTable(columns.concat([{ label: "Actions", cell: (x) => h("div", { class: "actions" },
    admin ? h("button", {
      type: "button", class: "btn small danger",
      onclick: async () => {
        if (!(await confirmDialog(`Delete ${what} ${x.name}?`, note))) return;
        try { await api.del(`${path}/${x.id}`); toast(`${x.name}: deleted`); }
        catch (ex) { toast(`${x.name}: ${errorText(ex)}`, "error"); }
        refresh();
      },
    }, "Delete") : null) }]), { empty, label: title });
  fill(main, pageHead(title, create), admin ? null : h("p", { class: "notice" },
    `System administrators define ${title.toLowerCase()}; you can look.`),
  err, h("div", { class: "table-wrap" }, table));
  const load = async () => {
    try { table.update(await api.listAll(path)); err.show(null); } catch (ex) { err.show(ex); }
  };
  refresh = load;
  create.addEventListener("click", async () => {
    const r = await formDialog({ title: `Create ${what}`, fields, submit: (v) => api.post(path, body(v)) });
    if (r && r.id) toast(`${r.name}: created`);
    load();
  });
  load();
  return null;
}

const ratio = (x) => (x == null ? "default" : `${x}×`);

export function zonesPage(main, s) {
  return cataloguePage(main, s, {
    title: "Zones", path: "/v1/zones", what: "zone", empty: "No zones yet.",
    note: "Only a zone without hosts can be deleted.",
    columns: [
      { label: "Name", cell: (z) => h("span", { class: "name" }, z.name) },
      { label: "Jurisdiction", cell: (z) => z.jurisdiction },
      { label: "Overcommit (CPU · RAM)", cell: (z) => `${ratio(z.cpu_allocation_ratio)} · ${ratio(z.ram_allocation_ratio)}` },
      { label: "Description", cell: (z) => z.description },
    ],
    fields: [
      { name: "name", label: "Name", required: true, placeholder: "fr-par-1" },
      { name: "jurisdiction", label: "Jurisdiction (ISO 3166 country code)", required: true, placeholder: "FR" },
      { name: "description", label: "Description" },
    ],
    body: (v) => ({ name: v.name.trim(), jurisdiction: v.jurisdiction.trim().toUpperCase(), description: v.description }),
  });
}

export function flavorsPage(main, s) {
  return cataloguePage(main, s, {
    title: "Flavors", path: "/v1/flavors", what: "flavor", empty: "No flavors yet.",
    note: "Instances made from it keep their size.",
    columns: [
      { label: "Name", cell: (f) => h("span", { class: "name" }, f.name) },
      { label: "vCPUs", cell: (f) => String(f.vcpus) },
      { label: "Memory", cell: (f) => `${f.ram_mb} MB` },
      { label: "Disk", cell: (f) => `${f.disk_gb} GB` },
    ],
    fields: [
      { name: "name", label: "Name", required: true, placeholder: "m1.small" },
      { name: "vcpus", label: "vCPUs", type: "number", required: true, min: 1, value: "1" },
      { name: "ram_mb", label: "Memory (MB)", type: "number", required: true, min: 64, value: "1024" },
      { name: "disk_gb", label: "Disk (GB)", type: "number", required: true, min: 1, value: "10" },
    ],
    body: (v) => ({ name: v.name.trim(), vcpus: Number(v.vcpus), ram_mb: Number(v.ram_mb), disk_gb: Number(v.disk_gb) }),
  });
}

export function poolsPage(main, s) {
  return cataloguePage(main, s, {
    title: "Storage pools", path: "/v1/storage-pools", what: "storage pool",
    empty: "No storage pools: volumes live on their hosts' local disks.",
    note: "Only a pool that holds no volume or snapshot can be deleted.",
    columns: [
      { label: "Name", cell: (p) => h("span", { class: "name" }, p.name) },
      { label: "Driver", cell: (p) => p.driver },
      { label: "Description", cell: (p) => p.description },
      { label: "Created", cell: (p) => fmtTime(p.created_at) },
    ],
    fields: [
      { name: "name", label: "Name (as the agents' --storage-pools name it)", required: true, placeholder: "nfs1" },
      { name: "description", label: "Description", placeholder: "the NFS export every host mounts" },
    ],
    body: (v) => ({ name: v.name.trim(), driver: "dir", description: v.description }),
  });
}

/* ---------------------------------------------------------------- projects */

export function projectsPage(main, s) {
  const err = errorBox();
  const create = h("button", { type: "button", class: "btn primary", disabled: !s.user.system_admin }, "Create project");
  let refresh = () => {};
  const table = listTable([
    { label: "Name", cell: (p) => h("span", { class: "name" }, p.name) },
    { label: "Description", cell: (p) => p.description },
    { label: "Created", cell: (p) => fmtTime(p.created_at) },
    { label: "Actions", cell: (p) => h("div", { class: "actions" },
      h("button", { type: "button", class: "btn small", onclick: () => members(p) }, "Members"),
      s.user.system_admin ? h("button", {
        type: "button", class: "btn small danger",
        onclick: async () => {
          if (!(await confirmDialog(`Delete project ${p.name}?`, "Only an empty project can be deleted.")))
            return;
          try { await api.del(`/v1/projects/${p.id}`); toast(`${p.name}: deleted`); }
          catch (ex) { toast(`${p.name}: ${errorText(ex)}`, "error"); }
          refresh();
        },
      }, "Delete") : null) },
  ], { empty: "No projects.", label: "Projects" });
  const members = async (p) => {
    try {
      const ms = await api.listAll(`/v1/projects/${p.id}/members`);
      await infoDialog(`Members of ${p.name}`, ms.length
        ? h("ul", { class: "plain" }, ms.map((m) => h("li", {}, h("strong", {}, m.user_name), ` — ${m.role}`)))
        : h("p", {}, "No members."));
    } catch (ex) { toast(errorText(ex), "error"); }
  };
  fill(main, pageHead("Projects", create), err, h("div", { class: "table-wrap" }, table));
  const load = async () => {
    try { table.update(await api.listAll("/v1/projects")); err.show(null); } catch (ex) { err.show(ex); }
  };
  refresh = load;
  create.addEventListener("click", async () => {
    const r = await formDialog({
      title: "Create project",
      fields: [{ name: "name", label: "Name", required: true }, { name: "description", label: "Description" }],
      submit: (v) => api.post("/v1/projects", { name: v.name.trim(), description: v.description }),
    });
    if (r && r.id) toast(`${r.name}: created`);
    load();
  });
  load();
  return null;
}

/* ------------------------------------------------------------------- users */

export function usersPage(main, s) {
  if (needSysadmin(main, s, "Users")) return null;
  const err = errorBox();
  const create = h("button", { type: "button", class: "btn primary" }, "Create user");
  let refresh = () => {};
  const table = listTable([
    { label: "Name", cell: (u) => h("span", { class: "name" }, u.name) },
    { label: "E-mail", cell: (u) => u.email || "—" },
    { label: "Role", cell: (u) => u.system_admin ? "system admin" : "user" },
    { label: "Status", cell: (u) => badge(u.disabled ? "disabled" : "active") },
    { label: "Created", cell: (u) => fmtTime(u.created_at) },
    { label: "Actions", cell: (u) => h("div", { class: "actions" },
      h("button", {
        type: "button", class: "btn small", disabled: u.id === s.user.id,
        onclick: async () => {
          try { await api.patch(`/v1/users/${u.id}`, { disabled: !u.disabled }); }
          catch (ex) { toast(`${u.name}: ${errorText(ex)}`, "error"); }
          refresh();
        },
      }, u.disabled ? "Enable" : "Disable"),
      h("button", {
        type: "button", class: "btn small danger", disabled: u.id === s.user.id,
        onclick: async () => {
          if (!(await confirmDialog(`Delete user ${u.name}?`, "Their tokens and access keys stop working.")))
            return;
          try { await api.del(`/v1/users/${u.id}`); toast(`${u.name}: deleted`); }
          catch (ex) { toast(`${u.name}: ${errorText(ex)}`, "error"); }
          refresh();
        },
      }, "Delete")) },
  ], { empty: "No users.", label: "Users" });
  fill(main, pageHead("Users", create), err, h("div", { class: "table-wrap" }, table));
  const load = async () => {
    try { table.update(await api.listAll("/v1/users")); err.show(null); } catch (ex) { err.show(ex); }
  };
  refresh = load;
  create.addEventListener("click", async () => {
    const r = await formDialog({
      title: "Create user",
      fields: [
        { name: "name", label: "Name", required: true },
        { name: "password", label: "Password", type: "password", required: true, autocomplete: "new-password",
          hint: "At least 12 characters." },
        { name: "email", label: "E-mail", type: "email" },
        { name: "system_admin", label: "System administrator", type: "checkbox" },
      ],
      submit: (v) => {
        const body = { name: v.name.trim(), password: v.password, system_admin: v.system_admin };
        if (v.email) body.email = v.email.trim();
        return api.post("/v1/users", body);
      },
    });
    if (r && r.id) toast(`${r.name}: created`);
    load();
  });
  load();
  return null;
}

/* ------------------------------------------------------------------- audit */

export function auditPage(main, s) {
  const err = errorBox();
  let next = null;
  let items = [];
  const more = h("button", { type: "button", class: "btn", hidden: true }, "Load older events");
  const reload = h("button", { type: "button", class: "btn" }, "Refresh");
  const table = listTable([
    { label: "Time", cell: (e) => fmtTime(e.time) },
    { label: "User", cell: (e) => e.user.name || "—" },
    { label: "Action", cell: (e) => h("code", {}, e.action) },
    { label: "Resource", cell: (e) => e.resource.type ? `${e.resource.type} ${e.resource.id.slice(0, 8)}` : "—" },
    { label: "Outcome", cell: (e) => h("span", {}, badge(e.outcome), ` ${e.status}`) },
    { label: "Source", cell: (e) => e.source },
    { label: "Request", cell: (e) => h("code", { class: "wrap" }, e.request_id) },
  ], { empty: "No events.", label: "Audit events" });
  const scope = s.user.system_admin ? "" : (s.project ? `project=${encodeURIComponent(s.project.id)}&` : "");
  fill(main, pageHead("Audit log", reload),
    h("p", { class: "hint" }, s.user.system_admin ? "Every event, newest first." : "Your project's events, newest first."),
    err, h("div", { class: "table-wrap" }, table), more);
  const page = async (append) => {
    try {
      const r = await api.get(`/v1/audit?${scope}limit=50` + (append && next ? "&cursor=" + encodeURIComponent(next) : ""));
      items = append ? items.concat(r.items) : r.items;
      next = r.next;
      table.update(items);
      more.hidden = !next;
      err.show(null);
    } catch (ex) { err.show(ex); }
  };
  more.addEventListener("click", () => page(true));
  reload.addEventListener("click", () => page(false));
  page(false);
  return null;
}
