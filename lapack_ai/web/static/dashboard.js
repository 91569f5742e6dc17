// The live page: one EventSource on /api/events. The server pushes "status" every second,
// "calls" when the metrics changed and "devices" every few seconds; EventSource reconnects by
// itself when the connection drops. Text goes in with textContent only (no HTML from data).
"use strict";

const $ = (id) => document.getElementById(id);
let lastSeries = {};

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

const clock = (t) => new Date(t * 1000).toLocaleTimeString();
const gib = (n) => (n == null ? "?" : (n / 2 ** 30).toFixed(1) + " GiB");

function renderCalls(d) {
  const body = $("calls").tBodies[0];
  body.replaceChildren();
  for (const r of d.calls) {
    const tr = document.createElement("tr");
    if (r.error) tr.className = "err";
    tr.dataset.operation = r.operation;
    cell(tr, clock(r.time));
    cell(tr, r.operation);
    cell(tr, r.routine);
    cell(tr, r.shape);
    cell(tr, r.dtype || "");
    cell(tr, r.backend || "");
    cell(tr, r.ms != null ? r.ms.toFixed(3) : "-", "num");
    cell(tr, r.gflops ? r.gflops.toFixed(2) : "-", "num");
    const why = cell(tr, (r.error || r.reason || "").slice(0, 80));
    why.title = r.error || r.reason || "";
    body.appendChild(tr);
  }
  $("nocalls").hidden = d.calls.length > 0;
  $("buffered").textContent = `(${d.buffered} buffered of ${d.maxlen}; metrics ${d.metrics_on ? "on" : "off"})`;
  const errs = $("errors");
  errs.replaceChildren();
  for (const r of d.errors) {
    const li = document.createElement("li");
    li.className = "err";
    li.textContent = `${clock(r.time)} ${r.operation}: ${r.error}`;
    errs.appendChild(li);
  }
  if (!d.errors.length) {
    const li = document.createElement("li");
    li.textContent = "none";
    errs.appendChild(li);
  }
  lastSeries = d.series;
  drawChart($("chart"), lastSeries);
}

function renderDevices(d) {
  const ul = document.createElement("ul");
  const item = (text, cls) => {
    const li = document.createElement("li");
    li.textContent = text;
    if (cls) li.className = cls;
    ul.appendChild(li);
  };
  if (d.cpu) item(`cpu: OpenBLAS ${d.cpu.version} (${d.cpu.corename}, ${d.cpu.threads} threads; ${d.cpu.library})`);
  for (const o of d.opencl) {
    const free = o.free_memory != null ? `, ${gib(o.free_memory)} free` : "";
    item(`${o.selector}: ${o.name} (${o.type}), ${gib(o.global_memory)}${free}` +
         (o.unusable ? ` - unusable: ${o.unusable}` : ""), o.unusable ? "err" : "");
  }
  for (const g of d.nvml) {
    item(g.error ? `${g.name}: NVML error ${g.error}`
                 : `${g.name}: ${g.utilization}% busy, ${gib(g.memory_used)} of ${gib(g.memory_total)} used (NVML)`);
  }
  for (const p of d.problems) item(p);
  for (const h of d.hints) item(`note: ${h}`);
  if (d.container && d.container.memory_limit) {
    item(`container memory: ${gib(d.container.memory_usage)} of ${gib(d.container.memory_limit)}`);
  }
  if (d.rss != null) item(`this process: ${gib(d.rss)} resident`);
  $("devices").replaceChildren(ul);
}

function renderStatus(s) {
  $("status").textContent = `v${s.version}, ${s.status}, up ${Math.round(s.uptime)} s, ` +
    `updated ${new Date().toLocaleTimeString()}`;
}

function connect(delay = 1000) {
  const conn = $("conn");
  const es = new EventSource("/api/events");
  es.addEventListener("open", () => { conn.textContent = "live"; conn.className = "conn live"; delay = 1000; });
  es.addEventListener("error", () => {
    conn.textContent = "reconnecting\u2026"; conn.className = "conn down";
    // EventSource retries by itself after a dropped connection, but gives up for good on an
    // HTTP error (a 503 when too many pages are open, a proxy's 502 while a pod restarts).
    if (es.readyState === EventSource.CLOSED) setTimeout(() => connect(Math.min(delay * 2, 30000)), delay);
  });
  es.addEventListener("status", (e) => {
    conn.textContent = "live"; conn.className = "conn live";
    renderStatus(JSON.parse(e.data));
  });
  es.addEventListener("calls", (e) => renderCalls(JSON.parse(e.data)));
  es.addEventListener("devices", (e) => renderDevices(JSON.parse(e.data)));
}

window.addEventListener("resize", () => drawChart($("chart"), lastSeries));
connect();
