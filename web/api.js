// api.js: the console's only way to nubod: the public REST API (/v1), with
// the same bearer tokens as every other client.
//
// The token is kept in this module's memory only: never in localStorage,
// sessionStorage or a cookie, so no other page, tab or script that outlives
// this one can read it. The price: a reload asks to log in again.

let token = null;
let onExpired = () => {};

/** An error answered by the API: code, message, field and request id. */
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || "";
    this.field = e.field || "";
    this.requestId = e.request_id || "";
  }
}

export function setToken(t) { token = t; }
export function hasToken() { return token !== null; }
/** Called once when the API says the token is no longer valid (401). */
export function setExpiredHandler(fn) { onExpired = fn; }

function headers(extra) {
  const h = Object.assign({ Accept: "application/json" }, extra || {});
  if (token) h.Authorization = "Bearer " + token;
  return h;
}

async function failure(resp) {
  let body = null;
  try { body = await resp.json(); } catch (_) { /* not JSON */ }
  const err = new ApiError(resp.status, body);
  if (resp.status === 401 && token) {
    token = null;
    onExpired(err);
  }
  return err;
}

/** Send a request; resolves to the parsed JSON (null for 204), throws ApiError. */
export async function request(method, path, body) {
  const init = { method, headers: headers(), cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const resp = await fetch(path, init);
  if (!resp.ok) throw await failure(resp);
  if (resp.status === 204) return null;
  return resp.json();
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body);
export const patch = (path, body) => request("PATCH", path, body);
export const del = (path) => request("DELETE", path);

/** Every item of a list, following `next` cursors (at most `max` items). */
export async function listAll(path, max = 1000) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const page = await get(path + sep + "limit=" + Math.min(max, 1000) +
      (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
    items.push(...page.items);
    cursor = page.next;
  } while (cursor && items.length < max);
  return items;
}

/** Log in; resolves to the login answer (token, user, project, role). */
export async function login(username, password, project) {
  const body = { username, password };
  if (project) body.project = project;
  const resp = await fetch("/v1/auth/login", {
    method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body), cache: "no-store", credentials: "omit",
  });
  if (!resp.ok) {
    let b = null;
    try { b = await resp.json(); } catch (_) { /* not JSON */ }
    throw new ApiError(resp.status, b);
  }
  return resp.json();
}

/**
 * A console's bytes from offset on (or its retained tail when offset is
 * null): resolves to {bytes: Uint8Array, start, end}.
 */
export async function consoleRead(id, offset) {
  const q = offset === null ? "" : "?offset=" + offset;
  const resp = await fetch(`/v1/instances/${encodeURIComponent(id)}/console${q}`,
    { headers: headers({ Accept: "text/plain" }), cache: "no-store", credentials: "omit" });
  if (!resp.ok) throw await failure(resp);
  return {
    bytes: new Uint8Array(await resp.arrayBuffer()),
    start: Number(resp.headers.get("X-Console-Start") || 0),
    end: Number(resp.headers.get("X-Console-End") || 0),
  };
}

/**
 * PUT a File to path, streamed by the browser from disk (never read into
 * memory here), reporting progress(sent, total). Resolves to the JSON answer.
 * XMLHttpRequest because fetch has no upload progress.
 */
export function upload(path, file, progress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", path);
    for (const [k, v] of Object.entries(headers({ "Content-Type": "application/octet-stream" })))
      xhr.setRequestHeader(k, v);
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) progress(e.loaded, e.total);
    });
    xhr.addEventListener("load", () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else {
        const err = new ApiError(xhr.status, body);
        if (xhr.status === 401 && token) { token = null; onExpired(err); }
        reject(err);
      }
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, { error: {
      message: "the upload was interrupted (network error)" } })));
    xhr.send(file);
  });
}
