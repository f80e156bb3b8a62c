// storage.js: images (upload with progress), volumes (create, attach,
// detach, extend, delete) and keypairs (create or import, delete).

import * as api from "./api.js";
import {
  h, fill, badge, every, fmtBytes, fmtTime, listTable, pageHead, formDialog, confirmDialog,
  infoDialog, toast, errorText, errorBox,
} from "./ui.js";

const POLL_MS = 3000;

function canChange(s) { return s.user.system_admin || s.role === "member" || s.role === "admin"; }

function deleteButton(what, item, path, refresh, enabled = true, question = "") {
  return h("button", {
    type: "button", class: "btn small danger", disabled: !enabled,
    onclick: async () => {
      if (!(await confirmDialog(`Delete ${what} ${item.name}?`, question || "This cannot be undone.")))
        return;
      try { await api.del(path); toast(`${item.name}: deleted`); }
      catch (ex) { toast(`${item.name}: ${errorText(ex)}`, "error"); }
      refresh();
    },
  }, "Delete");
}

/* ------------------------------------------------------------------ images */

async function uploadDialog(s) {
  const progress = h("progress", { max: 100, value: 0, class: "upload-progress", "aria-label": "Upload progress", hidden: true });
  const status = h("p", { class: "hint", "aria-live": "polite" });
  const fields = [
    { name: "name", label: "Name", required: true, placeholder: "debian-12" },
    { name: "description", label: "Description" },
    { name: "file", label: "Disk image file", type: "file", required: true,
      hint: "qcow2, raw, vmdk or vhdx; sent as it is, streamed from your disk." },
  ];
  if (s.user.system_admin)
    fields.push({ name: "public", label: "Public (every project may use it)", type: "checkbox" });
  return formDialog({
    title: "Upload image", submitLabel: "Upload", fields, extra: h("div", {}, progress, status),
    submit: async (v) => {
      if (!v.file) throw new api.ApiError(400, { error: { message: "choose a file to upload", field: "file" } });
      const body = { name: v.name.trim() };
      if (v.description) body.description = v.description;
      if (v.public) body.visibility = "public";
      const im = await api.post("/v1/images", body);
      progress.hidden = false;
      status.textContent = "Uploading…";
      try {
        const done = await api.upload(`/v1/images/${im.id}/file`, v.file, (sent, total) => {
          progress.value = Math.round((sent / total) * 100);
          status.textContent = `${fmtBytes(sent)} of ${fmtBytes(total)} sent`;
        });
        return done || im;
      } catch (ex) {
        status.textContent = "The image was created but its upload failed; delete it or try again.";
        throw ex;
      }
    },
  });
}

export function imagesPage(main, s) {
  const err = errorBox();
  const up = h("button", { type: "button", class: "btn primary", disabled: !(s.project ? canChange(s) : s.user.system_admin) }, "Upload image");
  let refresh = () => {};
  const table = listTable([
    { label: "Name", cell: (i) => h("span", { class: "name" }, i.name) },
    { label: "State", cell: (i) => h("span", {}, badge(i.state), i.error ? h("span", { class: "reason" }, i.error) : null) },
    { label: "Visibility", cell: (i) => i.visibility + (i.project_id ? "" : " (system)") },
    { label: "Format", cell: (i) => i.disk_format || "—" },
    { label: "Size", cell: (i) => i.state === "active" ? `${fmtBytes(i.size_bytes)} (disk ${fmtBytes(i.virtual_size)})` : "—" },
    { label: "Created", cell: (i) => fmtTime(i.created_at) },
    { label: "Actions", cell: (i) => h("div", { class: "actions" },
      deleteButton("image", i, `/v1/images/${i.id}`, refresh, canChange(s))) },
  ], { empty: "No images yet.", label: "Images" });
  fill(main, pageHead("Images", up), err, h("div", { class: "table-wrap" }, table));
  const load = async () => {
    try { table.update(await api.listAll("/v1/images")); err.show(null); } catch (ex) { err.show(ex); }
  };
  refresh = load;
  up.addEventListener("click", async () => {
    const r = await uploadDialog(s);
    if (r && r.id) toast(`${r.name}: ${r.state}`);
    load();
  });
  return every(POLL_MS * 2, load);
}

/* ----------------------------------------------------------------- volumes */

export function volumesPage(main, s) {
  const err = errorBox();
  const can = !!s.project && canChange(s);
  const create = h("button", { type: "button", class: "btn primary", disabled: !can }, "Create volume");
  const why = can ? null : h("p", { class: "notice" }, s.project
    ? "Your role in this project is reader: you can look but not change."
    : "Pick a project (Switch project) to create volumes; this list shows every project you see.");
  let instances = {};
  let refresh = () => {};
  const act = async (v, verb, body) => {
    try { await api.post(`/v1/volumes/${v.id}/${verb}`, body); toast(`${v.name}: ${verb} asked`); }
    catch (ex) { toast(`${v.name}: ${errorText(ex)}`, "error"); }
    refresh();
  };
  const attach = async (v) => {
    const list = Object.values(instances).filter((i) => i.project_id === v.project_id &&
      ["running", "stopped"].includes(i.state));
    await formDialog({
      title: `Attach ${v.name}`, submitLabel: "Attach",
      fields: [{ name: "instance", label: "Instance", type: "select", required: true,
        options: list.map((i) => ({ value: i.id, label: `${i.name} (${i.state})` })) }],
      submit: (x) => api.post(`/v1/volumes/${v.id}/attach`, { instance: x.instance }),
    });
    refresh();
  };
  const extend = async (v) => {
    await formDialog({
      title: `Extend ${v.name}`, submitLabel: "Extend",
      fields: [{ name: "size_gb", label: "New size (GB)", type: "number", required: true,
        min: v.size_gb + 1, value: String(v.size_gb + 1) }],
      submit: (x) => api.post(`/v1/volumes/${v.id}/extend`, { size_gb: Number(x.size_gb) }),
    });
    refresh();
  };
  const btn = (label, enabled, fn) => h("button", { type: "button", class: "btn small", disabled: !can || !enabled, onclick: fn }, label);
  const table = listTable([
    { label: "Name", cell: (v) => h("span", { class: "name" }, v.name) },
    { label: "Size", cell: (v) => `${v.size_gb} GB` },
    { label: "Storage", cell: (v) => v.pool ? `pool ${v.pool}` : "local" },
    { label: "State", cell: (v) => h("span", {}, badge(v.state), v.error ? h("span", { class: "reason" }, v.error) : null) },
    { label: "Attached to", cell: (v) => v.instance_id
      ? `${(instances[v.instance_id] || {}).name || v.instance_id.slice(0, 8)}${v.device ? " as " + v.device : ""}` : "—" },
    { label: "Created", cell: (v) => fmtTime(v.created_at) },
    { label: "Actions", cell: (v) => h("div", { class: "actions" },
      btn("Attach", v.state === "available", () => attach(v)),
      btn("Detach", v.state === "in-use", () => act(v, "detach", {})),
      btn("Extend", ["available", "in-use"].includes(v.state), () => extend(v)),
      deleteButton("volume", v, `/v1/volumes/${v.id}`, refresh, can && v.state === "available",
        "Its data is removed for good.")) },
  ], { empty: "No volumes yet.", label: "Volumes" });
  fill(main, pageHead("Volumes", create), why, err, h("div", { class: "table-wrap" }, table));
  const load = async () => {
    try {
      const [vols, insts] = await Promise.all([api.listAll("/v1/volumes"), api.listAll("/v1/instances")]);
      instances = Object.fromEntries(insts.map((i) => [i.id, i]));
      table.update(vols);
      err.show(null);
    } catch (ex) { err.show(ex); }
  };
  refresh = load;
  create.addEventListener("click", async () => {
    let images = [], pools = [];
    try { images = (await api.listAll("/v1/images")).filter((i) => i.state === "active"); } catch (_) { /* blank only */ }
    try { pools = await api.listAll("/v1/storage-pools"); } catch (_) { /* local only */ }
    const r = await formDialog({
      title: "Create volume",
      fields: [
        { name: "name", label: "Name", required: true, placeholder: "data" },
        { name: "size_gb", label: "Size (GB)", type: "number", required: true, min: 1, value: "1" },
        { name: "image", label: "Contents", type: "select",
          options: [{ value: "", label: "Blank" }].concat(images.map((i) => ({ value: i.id, label: `Copy of image ${i.name}` }))) },
        { name: "pool", label: "Storage", type: "select",
          options: [{ value: "", label: "Local disk of its first instance's host" }].concat(
            pools.map((p) => ({ value: p.id, label: `Shared pool ${p.name}` }))) },
      ],
      submit: (v) => {
        const body = { name: v.name.trim(), size_gb: Number(v.size_gb) };
        if (v.image) body.image = v.image;
        if (v.pool) body.pool = v.pool;
        return api.post("/v1/volumes", body);
      },
    });
    if (r && r.id) toast(`${r.name}: ${r.state}`);
    load();
  });
  return every(POLL_MS, load);
}

/* ---------------------------------------------------------------- keypairs */

function showPrivateKey(kp) {
  const blob = new Blob([kp.private_key], { type: "application/x-pem-file" });
  const url = URL.createObjectURL(blob);
  const area = h("textarea", { readonly: true, rows: 8, class: "mono", "aria-label": "Private key", spellcheck: "false" });
  area.value = kp.private_key;
  return infoDialog(`Private key of ${kp.name}`,
    h("p", { class: "notice" }, "This is the only time nubo shows the private key: it is not kept. Save it now."),
    area,
    h("p", {}, h("a", { class: "btn", href: url, download: kp.name }, "Download the private key")),
  ).then(() => URL.revokeObjectURL(url));
}

export function keypairsPage(main) {
  const err = errorBox();
  const create = h("button", { type: "button", class: "btn primary" }, "Create keypair");
  let refresh = () => {};
  const table = listTable([
    { label: "Name", cell: (k) => h("span", { class: "name" }, k.name) },
    { label: "Type", cell: (k) => k.type },
    { label: "Fingerprint", cell: (k) => h("code", { class: "wrap" }, k.fingerprint) },
    { label: "Created", cell: (k) => fmtTime(k.created_at) },
    { label: "Actions", cell: (k) => h("div", { class: "actions" },
      deleteButton("keypair", k, `/v1/keypairs/${k.id}`, refresh, true,
        "Instances made with it keep their copy of the public key.")) },
  ], { empty: "No keypairs yet.", label: "Keypairs" });
  fill(main, pageHead("Keypairs", create),
    h("p", { class: "hint" }, "Keypairs belong to you, whatever project you work in."),
    err, h("div", { class: "table-wrap" }, table));
  const load = async () => {
    try { table.update(await api.listAll("/v1/keypairs")); err.show(null); } catch (ex) { err.show(ex); }
  };
  refresh = load;
  create.addEventListener("click", async () => {
    const r = await formDialog({
      title: "Create keypair",
      fields: [
        { name: "name", label: "Name", required: true, placeholder: "laptop" },
        { name: "public_key", label: "Public key (optional)", type: "textarea", rows: 3,
          placeholder: "ssh-ed25519 AAAA… you@laptop",
          hint: "Leave empty to have nubo make an Ed25519 key pair and show its private key once." },
      ],
      submit: (v) => {
        const body = { name: v.name.trim() };
        if (v.public_key.trim()) body.public_key = v.public_key.trim();
        return api.post("/v1/keypairs", body);
      },
    });
    load();
    if (r && r.private_key) await showPrivateKey(r);
    else if (r && r.id) toast(`${r.name}: imported`);
  });
  load();
  return () => {};
}
