// The HTTP API (docs/api.md) and the shared event stream.

export class ApiError extends Error {
  constructor(status, errors) {
    super(errors.map((e) => `${e.code}: ${e.message}`).join("; ") || `HTTP ${status}`);
    this.status = status;
    this.errors = errors;
  }
}

async function handle(res) {
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (res.status === 401) window.dispatchEvent(new CustomEvent("radflow:signin"));
  if (!res.ok) throw new ApiError(res.status, (body && body.errors) || []);
  return body;
}

export const get = (path, opts = {}) => fetch(path, opts).then(handle);
export const post = (path, body = "") =>
  fetch(path, { method: "POST", body, headers: { "Content-Type": "application/json" } }).then(handle);

export const del = (path) =>
  fetch(path, { method: "DELETE", headers: { "Content-Type": "application/json" } }).then(handle);

export const enc = encodeURIComponent;

// After signing in: the event stream refused without a token is opened again.
export function reconnectEvents() {
  if (!source) return;
  source.close();
  connect();
}

// One EventSource for the page; views subscribe and unsubscribe.
const listeners = new Set();
let source = null;
export function onEvent(f) {
  if (!source) connect();
  listeners.add(f);
  return () => listeners.delete(f);
}
function connect() {
  source = new EventSource("/api/v1/events");
  const live = document.getElementById("live");
  source.onopen = () => live && live.classList.add("on");
  source.onerror = () => live && live.classList.remove("on");
  for (const type of ["run", "step", "progress"]) {
    source.addEventListener(type, (e) => {
      const ev = JSON.parse(e.data);
      for (const f of listeners) f(ev);
    });
  }
}

// Streams a step's logs (follow mode, NDJSON) until the step has finished or
// the signal aborts; calls onLine per line. Resumes after a dropped connection.
export async function followLogs(run, step, after, onLine, signal) {
  for (;;) {
    const res = await fetch(`/api/v1/runs/${run}/steps/${enc(step)}/logs?follow=1&after=${after}`, { signal });
    if (!res.ok) throw new ApiError(res.status, []);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let nl;
      const batch = [];
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.trim()) continue;
        const log = JSON.parse(line);
        after = log.id;
        batch.push(log);
      }
      if (batch.length) onLine(batch);
    }
    // The stream ends once the step is final; check, in case it was dropped.
    const page = await get(`/api/v1/runs/${run}/steps/${enc(step)}/logs?after=${after}&limit=10000`, { signal });
    if (page.logs.length) { onLine(page.logs); after = page.next_after; }
    if (["succeeded", "failed", "cancelled", "cached"].includes(page.step_status)) return after;
  }
}
