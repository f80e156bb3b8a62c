// app.js: the console's shell: logging in and out, switching project, the
// navigation and the hash router (#/instances...). Pages live in
// compute.js, storage.js and admin.js; each is a function render(main,
// session) that fills main and may return a function that stops its timers.

import * as api from "./api.js";
import { h, fill, formDialog, toast, errorText } from "./ui.js";
import { overviewPage, instancesPage, consolePage } from "./compute.js";
import { imagesPage, volumesPage, keypairsPage } from "./storage.js";
import {
  hostsPage, zonesPage, flavorsPage, poolsPage, projectsPage, usersPage, auditPage,
} from "./admin.js";

// who is logged in (from the login answer); null when logged out
let session = null;
let stopPage = null;

const $ = (id) => document.getElementById(id);

function laterPage(what, why) {
  return (main) => {
    fill(main, h("div", { class: "page-head" }, h("h1", {}, what)),
      h("div", { class: "placeholder" },
        h("p", {}, `${what} are not part of nubo's API yet, so the console does not show any.`),
        h("p", {}, why)));
  };
}

const PAGES = {
  overview: overviewPage,
  instances: instancesPage,
  images: imagesPage,
  volumes: volumesPage,
  keypairs: keypairsPage,
  hosts: hostsPage,
  zones: zonesPage,
  flavors: flavorsPage,
  "storage-pools": poolsPage,
  projects: projectsPage,
  users: usersPage,
  audit: auditPage,
  networks: laterPage("Networks", "When tenant networks, subnets and floating IPs arrive in the API, they will be managed here."),
  "security-groups": laterPage("Security groups", "When security groups arrive in the API, their rules will be edited here."),
  buckets: laterPage("Buckets", "When the S3 service arrives, buckets and objects (upload, download) will be here."),
};

function route() {
  if (!session) return;
  if (stopPage) { stopPage(); stopPage = null; }
  const parts = (location.hash.replace(/^#\/?/, "") || "overview").split("/");
  let name = parts[0];
  let render = PAGES[name];
  if (name === "instances" && parts[2] === "console") render = (m, s) => consolePage(m, s, decodeURIComponent(parts[1]));
  if (!render) { name = "overview"; render = PAGES.overview; }
  for (const a of document.querySelectorAll(".sidenav a")) {
    if (a.dataset.page === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const main = $("main");
  fill(main);
  const r = render(main, session);
  stopPage = typeof r === "function" ? r : null;
  main.focus({ preventScroll: true });
}

function showWho() {
  const s = session;
  const who = $("who");
  fill(who, h("span", { class: "who-user" }, s.user.name),
    s.user.system_admin ? h("span", { class: "tag" }, "system admin") : null,
    h("span", { class: "who-sep" }, " · "),
    s.project ? h("span", { class: "who-project" }, "project ", h("strong", {}, s.project.name),
      ` (${s.role})`) : h("span", { class: "who-project" }, "no project"));
  const admin = s.user.system_admin || s.role === "admin";
  for (const el of document.querySelectorAll("[data-admin]")) el.hidden = !admin;
  for (const el of document.querySelectorAll("[data-sysadmin]")) el.hidden = !s.user.system_admin;
}

function enter(answer) {
  api.setToken(answer.token);
  session = { user: answer.user, project: answer.project, role: answer.role,
    expires: answer.expires_at, tokenId: answer.token_id };
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  showWho();
  if (!location.hash || location.hash === "#") location.hash = "#/overview";
  route();
}

function leave(message) {
  if (stopPage) { stopPage(); stopPage = null; }
  session = null;
  api.setToken(null);
  for (const d of document.querySelectorAll("dialog")) { d.close(); d.remove(); }
  fill($("main"));
  $("app-view").hidden = true;
  $("login-view").hidden = false;
  const err = $("login-error");
  err.textContent = message || "";
  err.hidden = !message;
  $("login-password").value = "";
  $("login-username").focus();
}

async function onLogin(e) {
  e.preventDefault();
  const btn = $("login-submit");
  const err = $("login-error");
  const user = $("login-username").value.trim();
  const pw = $("login-password").value;
  if (!user || !pw) {
    err.textContent = "Enter your user name and password.";
    err.hidden = false;
    return;
  }
  btn.disabled = true;
  err.hidden = true;
  try {
    const answer = await api.login(user, pw, $("login-project").value.trim() || undefined);
    $("login-password").value = "";
    enter(answer);
  } catch (ex) {
    err.textContent = errorText(ex);
    err.hidden = false;
    $("login-password").focus();
  } finally {
    btn.disabled = false;
  }
}

async function onLogout() {
  try { await api.post("/v1/auth/logout"); } catch (_) { /* the token ends here anyway */ }
  leave("");
}

// Switching project is a new login scoped to it: the password is asked
// again (it is never kept), and the old token is revoked.
async function onSwitch() {
  let projects = [];
  try { projects = await api.listAll("/v1/projects"); } catch (ex) { toast(errorText(ex), "error"); return; }
  const options = [{ value: "", label: "No project (system scope)" }]
    .concat(projects.map((p) => ({ value: p.name, label: p.name })));
  const answer = await formDialog({
    title: "Switch project", submitLabel: "Switch",
    fields: [
      { name: "project", label: "Project", type: "select", options, value: session.project ? session.project.name : "" },
      { name: "password", label: `Password of ${session.user.name}`, type: "password", required: true,
        autocomplete: "current-password", hint: "Asked again: the console keeps no password." },
    ],
    submit: (v) => api.login(session.user.name, v.password, v.project || undefined),
  });
  if (!answer || answer === true) return;
  try { await api.post("/v1/auth/logout"); } catch (_) { /* best effort */ }
  enter(answer);
  toast(answer.project ? `Now working in project ${answer.project.name}` : "Now working in the system scope");
}

function start() {
  api.setExpiredHandler(() => leave("Your session has ended (the token expired or was revoked). Log in again."));
  $("login-form").addEventListener("submit", onLogin);
  $("logout").addEventListener("click", onLogout);
  $("switch-project").addEventListener("click", onSwitch);
  window.addEventListener("hashchange", route);
  leave("");
}

start();
