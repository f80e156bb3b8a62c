// Browser tests of the nubo web console: a real nubod (NUBOD, default
// build/nubod; `make browser` uses the sanitizer build) with a fresh data
// dir, driven through Debian's Chromium by playwright-core.
//
// The cloud is set up over the REST API (project, flavor, the test guest
// image as a public image) with one real host: a nubo-agent (next to NUBOD)
// with an embedded libvirt QEMU driver under a short /tmp/nv-* root, run as
// the integration tests run theirs (in a mount namespace where /dev/kvm is
// /dev/null when there is one: TCG). The guest image is NUBO_GUEST_IMAGE or
// build/guest.qcow2 (`make guest-image`); root is needed, as for the VM
// tests. Then the console is used as a person would: a wrong password,
// logging in, the overview's quotas, launching an instance from the guest
// image and seeing it run, its console log with the guest's own boot
// output, stopping and deleting it, an image upload, a volume, a keypair,
// the hosts' capacity bars, zones, flavors and storage pools, projects,
// users, the audit log, the placeholders, a phone-width viewport and
// logging out. Each step saves a screenshot into the output
// directory (NUBO_TEST_OUT, default <nubod's build dir>/browser-screenshots).
//
// A step fails on its own assertion; the run also fails when the page
// throws, logs an error other than an API answer's HTTP status, or reports
// a Content-Security-Policy violation, and when nubod or the agent does not
// exit 0 or its log holds a sanitizer report. Object storage (upload and download of
// an object) is not tested: buckets do not exist in the API yet.
//
// Prints "N passed, N failed" last; exits 1 when anything failed.

import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const NUBOD = process.env.NUBOD || path.join(ROOT, "build", "nubod");
const AGENT = path.join(path.dirname(NUBOD), "nubo-agent");
const GUEST = process.env.NUBO_GUEST_IMAGE || path.join(ROOT, "build", "guest.qcow2");
// the first domain of a fresh embedded driver probes QEMU; TCG boots slowly
const BOOT_TIMEOUT = 240000;
const OUT = process.env.NUBO_TEST_OUT || path.join(path.dirname(NUBOD), "browser-screenshots");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SANITIZER = ["ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
  "SUMMARY: UndefinedBehaviorSanitizer"];
const STEP_TIMEOUT = 15000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const results = [];
const problems = []; // page errors, console errors, CSP violations

/* ------------------------------------------------------------------ nubod */

async function startNubod(dir) {
  const data = path.join(dir, "data");
  const logPath = path.join(dir, "nubod.log");
  const log = fs.openSync(logPath, "a");
  const proc = spawn(NUBOD, ["--listen", "127.0.0.1:0", "--data-dir", data,
    "--web-dir", path.join(ROOT, "web"), "--argon2-memory", "1024", "--argon2-passes", "1"],
  { stdio: ["ignore", log, log] });
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error("nubod exited:\n" + fs.readFileSync(logPath, "utf8"));
    const m = /msg="nubod ready" url=(\S+)/.exec(fs.readFileSync(logPath, "utf8"));
    if (m) {
      return { proc, url: m[1], logPath,
        password: fs.readFileSync(path.join(data, "admin.password"), "utf8").trim() };
    }
    await sleep(50);
  }
  throw new Error("nubod not ready:\n" + fs.readFileSync(logPath, "utf8"));
}

async function stopNubod(n) {
  if (n.proc.exitCode !== null) return n.proc.exitCode;
  const done = new Promise((r) => n.proc.once("exit", (code, sig) => r(code ?? sig)));
  n.proc.kill("SIGTERM");
  return Promise.race([done, sleep(20000).then(() => { n.proc.kill("SIGKILL"); return "timeout"; })]);
}

/* --------------------------------------------------------------- REST API */

function client(base, token) {
  return async (method, p, body, extra = {}) => {
    const headers = Object.assign({}, extra.headers || {});
    if (token) headers.Authorization = "Bearer " + token;
    let data = extra.raw;
    if (body !== undefined && body !== null) {
      data = JSON.stringify(body);
      headers["Content-Type"] = "application/json";
    }
    const r = await fetch(base + p, { method, headers, body: data });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
}

async function setUpCloud(n, dir) {
  if (!fs.existsSync(GUEST)) throw new Error(`no guest image at ${GUEST}: run make guest-image`);
  const anon = client(n.url);
  const login = await anon("POST", "/v1/auth/login", { username: "admin", password: n.password });
  const admin = client(n.url, login.token);
  await admin("POST", "/v1/projects", { name: "demo", description: "browser tests" });
  await admin("POST", "/v1/flavors", { name: "tiny", vcpus: 1, ram_mb: 256, disk_gb: 1 });
  const img = await admin("POST", "/v1/images", { name: "guest", visibility: "public" });
  await admin("PUT", `/v1/images/${img.id}/file`, null, { raw: fs.readFileSync(GUEST) });
  const tok = await admin("POST", "/v1/hosts/enroll-tokens");
  const agent = startAgent(n, tok.token, dir);
  const deadline = Date.now() + 120000;
  let host = null;
  while (!host && Date.now() < deadline) {
    if (agent.proc.exitCode !== null) throw new Error("nubo-agent exited:\n" + agent.log());
    host = (await admin("GET", "/v1/hosts")).items.find((x) => x.name === "hv-1" && x.state === "up");
    if (!host) await sleep(500);
  }
  if (!host) throw new Error("the agent's host is not up:\n" + agent.log());
  const demo = client(n.url, (await anon("POST", "/v1/auth/login",
    { username: "admin", password: n.password, project: "demo" })).token);
  return { admin, demo, host, agent };
}

/* ------------------------------------------------------------------ agent */

// One nubo-agent with an embedded libvirt QEMU driver in a short directory
// of its own (QEMU runs as libvirt-qemu and must traverse it; its monitor
// sockets must stay under 108 bytes). Where /dev/kvm exists it runs in a
// mount namespace that hides it, as the integration tests do: libvirt 9.0
// would probe QEMU again for every domain, and KVM cannot run guests here.
function startAgent(n, token, dir) {
  const top = fs.mkdtempSync("/tmp/nv-");
  fs.chmodSync(top, 0o711);
  const logPath = path.join(dir, "agent.log");
  const log = fs.openSync(logPath, "a");
  const args = [AGENT, "--server", n.url, "--state-dir", path.join(top, "state"), "--enroll", token,
    "--name", "hv-1", "--libvirt-uri", `qemu:///embed?root=${top}/lv`, "--heartbeat-interval", "1",
    "--stop-timeout", "10"];
  const noKvm = fs.existsSync("/dev/kvm") && process.getuid() === 0
    ? ["unshare", "--mount", "--propagation", "private", "sh", "-c",
      'mount --bind /dev/null /dev/kvm 2>/dev/null; exec "$@"', "nubo-agent"] : [];
  const cmd = noKvm.concat(args);
  const proc = spawn(cmd[0], cmd.slice(1), { stdio: ["ignore", log, log] });
  return { proc, top, logPath, log: () => fs.readFileSync(logPath, "utf8") };
}

// Stop the agent (SIGTERM; it answers between passes), end its guests (an
// embedded driver's QEMU outlives it) and remove its directory. Returns its
// exit code.
async function stopAgent(a) {
  let code = a.proc.exitCode;
  if (code === null) {
    const done = new Promise((r) => a.proc.once("exit", (c, sig) => r(c ?? sig)));
    a.proc.kill("SIGTERM");
    code = await Promise.race([done, sleep(90000).then(() => { a.proc.kill("SIGKILL"); return "timeout"; })]);
  }
  await new Promise((r) => spawn("pkill", ["-9", "-f", `qemu-system.*${a.top}`]).once("exit", r));
  fs.rmSync(a.top, { recursive: true, force: true });
  return code;
}

/* ------------------------------------------------------------------ steps */

async function step(name, page, shot, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${e.message.split("\n").slice(0, 6).join("\n     ")}`);
  }
  if (shot) {
    try { await page.screenshot({ path: path.join(OUT, shot + ".png"), fullPage: true }); }
    catch (e) { console.log(`     (no screenshot ${shot}: ${e.message})`); }
  }
}

function expect(cond, what) { if (!cond) throw new Error(what); }

const dialog = (page) => page.locator("dialog[open]");
const row = (page, name) => page.locator(`tr[data-name="${name}"]`);
const stateOf = (page, name) => row(page, name).locator(".badge");

async function waitState(page, name, state, timeout = 20000) {
  await stateOf(page, name).filter({ hasText: new RegExp(`^${state}$`) }).waitFor({ timeout });
}

async function nav(page, label) {
  await page.locator(".sidenav").getByRole("link", { name: label, exact: true }).click();
}

async function run(browser, n, cloud) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
    });
  });
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    // an API answer's error status is the page working as meant (a wrong
    // password is a 401); anything else is a bug or a CSP violation
    if (/^Failed to load resource: the server responded with a status of [45]\d\d/.test(m.text())) return;
    problems.push("console error: " + m.text());
  });

  await step("the login page loads with its security headers", page, "01-login", async () => {
    const resp = await page.goto(n.url + "/");
    const hd = resp.headers();
    expect(resp.status() === 200, "GET / answered " + resp.status());
    expect((hd["content-security-policy"] || "").includes("script-src 'self'"), "no CSP on /");
    await page.locator("#login-form").waitFor();
  });

  await step("a wrong password shows an error", page, "02-login-wrong-password", async () => {
    await page.getByLabel("User name").fill("admin");
    await page.getByLabel("Password", { exact: true }).fill("not the password at all");
    await page.getByRole("button", { name: "Log in" }).click();
    const err = page.locator("#login-error");
    await err.waitFor({ state: "visible" });
    const text = await err.textContent();
    expect(/password|user name|credentials/i.test(text), "error says: " + text);
    expect(await page.locator("#app-view").isHidden(), "logged in with a wrong password");
  });

  await step("log in as admin in project demo", page, "03-logged-in", async () => {
    await page.getByLabel("Password", { exact: true }).fill(n.password);
    await page.getByLabel(/^Project/).fill("demo");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.locator("#app-view").waitFor({ state: "visible" });
    await page.locator("#who", { hasText: "demo" }).waitFor();
    expect(await page.locator("#login-error").isHidden(), "the old error is still shown");
  });

  await step("the overview shows quota usage", page, "04-overview", async () => {
    const meter = page.locator(".meter", { hasText: "Instances" }).first();
    await meter.waitFor();
    expect((await meter.textContent()).includes("0 of 10"), "instances quota: " + await meter.textContent());
    await page.locator(".meter", { hasText: "Memory" }).first().waitFor();
  });

  await step("launch an instance from the guest image and see it reach running", page, "05-instances", async () => {
    await nav(page, "Instances");
    await page.getByRole("button", { name: "Launch instance" }).click();
    const d = dialog(page);
    await d.getByLabel("Name", { exact: true }).fill("web-1");
    await d.getByLabel("Image").selectOption({ label: "guest" });
    await d.getByLabel("Flavor").selectOption({ index: 0 });
    await d.getByRole("button", { name: "Launch" }).click();
    await d.waitFor({ state: "detached" });
    await row(page, "web-1").waitFor();
    await waitState(page, "web-1", "running", BOOT_TIMEOUT);
    expect((await row(page, "web-1").textContent()).includes("hv-1"), "host not shown");
  });

  await step("open the instance's console log and follow the guest booting", page, "06-console", async () => {
    await row(page, "web-1").getByRole("link", { name: "Console" }).click();
    await page.locator("h1", { hasText: "Console of web-1" }).waitFor();
    const pre = page.locator("pre.console");
    // the boot loader, then what the guest's init read of its config drive
    await pre.filter({ hasText: "NUBO_GUEST_READY" }).waitFor({ timeout: BOOT_TIMEOUT });
    const text = await pre.textContent();
    const id = (await cloud.demo("GET", "/v1/instances/web-1")).id;
    expect(text.includes("SYSLINUX"), "no boot loader output in the console");
    expect(text.includes(`instance-id: ${id}`), "the guest did not print its own instance id");
    expect(!text.includes("\x1b"), "escape codes shown");
  });

  await step("stop the instance, then delete it", page, "07-instance-deleted", async () => {
    await page.getByRole("link", { name: "Back to instances" }).click();
    await row(page, "web-1").getByRole("button", { name: "Stop" }).click();
    await waitState(page, "web-1", "stopped", 90000);
    await page.screenshot({ path: path.join(OUT, "07-instance-stopped.png"), fullPage: true });
    await row(page, "web-1").getByRole("button", { name: "Delete" }).click();
    await dialog(page).getByRole("button", { name: "Delete" }).click();
    await row(page, "web-1").waitFor({ state: "detached", timeout: 60000 });
  });

  await step("upload an image", page, "08-images", async () => {
    await nav(page, "Images");
    await page.getByRole("button", { name: "Upload image" }).click();
    const d = dialog(page);
    await d.getByLabel("Name", { exact: true }).fill("tiny-raw");
    await d.getByLabel("Disk image file").setInputFiles({ name: "tiny.raw",
      mimeType: "application/octet-stream", buffer: Buffer.alloc(2 << 20) });
    await d.getByRole("button", { name: "Upload" }).click();
    await d.waitFor({ state: "detached" });
    await waitState(page, "tiny-raw", "active");
  });

  await step("create a volume", page, "09-volumes", async () => {
    await nav(page, "Volumes");
    await page.getByRole("button", { name: "Create volume" }).click();
    const d = dialog(page);
    await d.getByLabel("Name", { exact: true }).fill("data-1");
    await d.getByLabel("Size (GB)").fill("2");
    await d.getByRole("button", { name: "Create" }).click();
    await d.waitFor({ state: "detached" });
    await waitState(page, "data-1", "available");
    expect((await row(page, "data-1").textContent()).includes("2 GB"), "size not shown");
  });

  await step("create a keypair and see its private key once", page, "10-keypair-private-key", async () => {
    await nav(page, "Keypairs");
    await page.getByRole("button", { name: "Create keypair" }).click();
    let d = dialog(page);
    await d.getByLabel("Name", { exact: true }).fill("laptop");
    await d.getByRole("button", { name: "Create" }).click();
    d = page.locator("dialog[open]", { hasText: "Private key of laptop" });
    await d.waitFor();
    expect((await d.locator("textarea").inputValue()).includes("BEGIN OPENSSH PRIVATE KEY"), "no private key");
    await page.screenshot({ path: path.join(OUT, "10-keypair-private-key.png"), fullPage: true });
    await d.getByRole("button", { name: "Close" }).click();
    await row(page, "laptop").waitFor();
  });
  await page.screenshot({ path: path.join(OUT, "10-keypairs.png"), fullPage: true });

  await step("hosts show state and capacity bars", page, "11-hosts", async () => {
    await cloud.demo("POST", "/v1/instances", { name: "bg-1", image: "guest", flavor: "tiny" });
    await nav(page, "Hosts");
    const r = row(page, "hv-1");
    await r.waitFor();
    await r.locator(".badge", { hasText: /^up$/ }).waitFor();
    const vcpu = r.locator('[role="meter"][aria-label="vCPUs"]');
    await vcpu.waitFor();
    const total = Number(await vcpu.getAttribute("aria-valuemax"));
    expect(total === cloud.host.cpus * 4, `vCPUs total ${total} (${cloud.host.cpus} CPUs at ratio 4)`);
    // the bar fills once the scheduler placed bg-1 (the page refreshes every 5 s)
    await r.locator('[role="meter"][aria-label="vCPUs"][aria-valuenow="1"]').waitFor({ timeout: 12000 });
    const w = await r.locator('[aria-label="vCPUs"] .bar-fill').evaluate((e) => e.getBoundingClientRect().width);
    expect(w > 0, "the vCPU bar is empty");
  });

  await step("zones, flavors and storage pools are defined in the console", page, "11-catalogue", async () => {
    await nav(page, "Storage pools");
    await page.getByRole("button", { name: "Create storage pool" }).click();
    let d = dialog(page);
    await d.getByLabel(/^Name/).fill("nfs-web");
    await d.getByLabel("Description").fill("the share");
    await d.getByRole("button", { name: "Create" }).click();
    await d.waitFor({ state: "detached" });
    await row(page, "nfs-web").waitFor();
    expect((await row(page, "nfs-web").textContent()).includes("dir"), "driver not shown");
    await page.screenshot({ path: path.join(OUT, "11-storage-pools.png"), fullPage: true });
    await nav(page, "Flavors");
    await row(page, "tiny").waitFor();
    await page.screenshot({ path: path.join(OUT, "11-flavors.png"), fullPage: true });
    await nav(page, "Zones");
    await page.getByRole("button", { name: "Create zone" }).click();
    d = dialog(page);
    await d.getByLabel("Name", { exact: true }).fill("web-zone");
    await d.getByLabel(/^Jurisdiction/).fill("fr");
    await d.getByRole("button", { name: "Create" }).click();
    await d.waitFor({ state: "detached" });
    await row(page, "web-zone").waitFor();
    expect((await row(page, "web-zone").textContent()).includes("FR"), "jurisdiction not shown");
    await page.screenshot({ path: path.join(OUT, "11-zones.png"), fullPage: true });
    await row(page, "web-zone").getByRole("button", { name: "Delete" }).click();
    await dialog(page).getByRole("button", { name: /^(Delete|OK|Yes)$/ }).click();
    await row(page, "web-zone").waitFor({ state: "detached" });
  });

  await step("projects and users are listed", page, "12-projects", async () => {
    await nav(page, "Projects");
    await row(page, "demo").waitFor();
    await nav(page, "Users");
    await row(page, "admin").waitFor();
    await page.screenshot({ path: path.join(OUT, "13-users.png"), fullPage: true });
  });

  await step("the audit log lists events", page, "14-audit", async () => {
    await nav(page, "Audit log");
    await page.locator("table.list code", { hasText: "instance.create" }).first().waitFor();
    await page.locator("table.list code", { hasText: "auth.login" }).first().waitFor();
    const failed = page.locator("tr", { hasText: "auth.login" }).locator(".badge", { hasText: "failure" });
    expect(await failed.count() >= 1, "the wrong password's failed login is not listed");
  });

  await step("networks, security groups and buckets say they are not in the API yet", page, "15-networks-placeholder", async () => {
    await nav(page, "Networks");
    await page.locator(".placeholder", { hasText: "not part of nubo's API yet" }).waitFor();
    await nav(page, "Buckets");
    await page.locator(".placeholder", { hasText: "Buckets are not part" }).waitFor();
  });

  await step("at phone width the instance list fits without horizontal scrolling", page, "16-instances-phone", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await nav(page, "Instances");
    await row(page, "bg-1").waitFor();
    await sleep(300);
    const { sw, cw } = await page.evaluate(() => ({
      sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
    expect(sw <= cw, `the page is ${sw} px wide in a ${cw} px viewport`);
    expect(await row(page, "bg-1").getByRole("button", { name: "Delete" }).isVisible(), "actions hidden");
  });

  await step("the overview at phone width", page, "17-overview-phone", async () => {
    await nav(page, "Overview");
    await page.locator(".meter", { hasText: "Instances" }).first().waitFor();
    const sw = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(sw <= 390, "overview is " + sw + " px wide");
  });

  await step("a reload asks to log in again (the token lives in memory only)", page, "18-after-reload", async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.reload();
    await page.locator("#login-form").waitFor({ state: "visible" });
    expect(await page.locator("#app-view").isHidden(), "still logged in after a reload");
  });

  await step("log in without a project, switch to one, then log out", page, "19-logged-out", async () => {
    await page.getByLabel("User name").fill("admin");
    await page.getByLabel("Password", { exact: true }).fill(n.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.locator("#who", { hasText: "no project" }).waitFor();
    await page.locator(".notice", { hasText: "not scoped to a project" }).waitFor();
    await page.screenshot({ path: path.join(OUT, "19-overview-system-scope.png"), fullPage: true });
    await page.getByRole("button", { name: "Switch project" }).click();
    const d = dialog(page);
    await d.getByLabel("Project").selectOption({ label: "demo" });
    await d.getByLabel(/^Password of admin/).fill("wrong password, asked again");
    await d.getByRole("button", { name: "Switch" }).click();
    await d.locator(".error").waitFor({ state: "visible" });
    await d.getByLabel(/^Password of admin/).fill(n.password);
    await d.getByRole("button", { name: "Switch" }).click();
    await page.locator("#who", { hasText: "demo" }).waitFor();
    await page.getByRole("button", { name: "Log out" }).click();
    await page.locator("#login-form").waitFor({ state: "visible" });
  });

  await context.close();
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nubo-browser-"));
  const t0 = Date.now();
  let n = null, cloud = null, browser = null;
  try {
    n = await startNubod(dir);
    cloud = await setUpCloud(n, dir);
    const args = process.getuid && process.getuid() === 0 ? ["--no-sandbox"] : [];
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args });
    await run(browser, n, cloud);
  } catch (e) {
    results.push({ name: "set-up", ok: false });
    console.log("FAIL set-up: " + e.stack);
  } finally {
    if (browser) await browser.close();
    if (cloud) {
      const code = await stopAgent(cloud.agent);
      const san = cloud.agent.log().split("\n").filter((l) => SANITIZER.some((m) => l.includes(m)));
      if (code !== 0) problems.push(`nubo-agent exited with ${code}`);
      problems.push(...san.map((l) => "nubo-agent: " + l));
      if (code !== 0 || san.length) console.log(cloud.agent.log().slice(-8000));
    }
    if (n) {
      const code = await stopNubod(n);
      const log = fs.readFileSync(n.logPath, "utf8");
      const san = log.split("\n").filter((l) => SANITIZER.some((m) => l.includes(m)));
      if (code !== 0) problems.push(`nubod exited with ${code}`);
      problems.push(...san.map((l) => "nubod: " + l));
      if (code !== 0 || san.length) console.log(log.slice(-8000));
    }
  }
  const clean = "no page errors, console errors or CSP violations; nubod and the agent exit cleanly";
  results.push({ name: clean, ok: problems.length === 0 });
  for (const p of problems) console.log("     " + p);
  console.log(`${problems.length ? "FAIL" : "ok  "} ${clean}`);
  if (results.every((r) => r.ok)) fs.rmSync(dir, { recursive: true, force: true });
  else console.log(`nubod's data and log kept in ${dir}`);
  console.log(`screenshots in ${OUT}; ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const passed = results.filter((r) => r.ok).length;
  console.log(`${passed} passed, ${results.length - passed} failed`);
  process.exit(results.length === passed ? 0 : 1);
}

main();
