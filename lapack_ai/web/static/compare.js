// The comparison page: the form is built from /api/compare/options; Run posts a job, then the
// page polls it for progress and plots the rows when it is done.
"use strict";

const $ = (id) => document.getElementById(id);
let options = null;

function option(select, value) {
  const o = document.createElement("option");
  o.value = o.textContent = value;
  select.appendChild(o);
}

function renderDevices() {
  const box = $("devices");
  box.replaceChildren();
  const gpu = options.opencl_routines.includes($("op").value) && !$("dtype").value.startsWith("complex");
  for (const d of options.devices) {
    if (d !== "cpu" && !gpu) continue;
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "checkbox";
    input.value = d;
    input.checked = true;
    input.name = "device";
    label.append(input, " " + d);
    box.appendChild(label);
  }
}

async function loadOptions() {
  options = await (await fetch("/api/compare/options")).json();
  for (const r of options.routines) option($("op"), r);
  for (const t of options.dtypes) option($("dtype"), t);
  $("op").value = options.routines.includes("gemm") ? "gemm" : options.routines[0];
  $("limits").textContent = `up to ${options.max_sizes} sizes, each at most ${options.max_size}`;
  renderDevices();
}

function showRows(job) {
  $("result").hidden = false;
  $("title").textContent = `${job.op} (${job.dtype})`;
  const series = {};
  const body = $("rows").tBodies[0];
  body.replaceChildren();
  for (const r of job.rows) {
    const s = series[r.device] || (series[r.device] = {n: [], ms: [], text: []});
    s.n.push(r.n);
    s.ms.push(r.seconds * 1e3);
    s.text.push(`${r.device} n=${r.n}: ${(r.seconds * 1e3).toFixed(3)} ms (ran on ${r.backend})`);
    const tr = document.createElement("tr");
    for (const v of [r.n, r.device, r.backend, (r.seconds * 1e3).toFixed(3), r.gflops ? r.gflops.toFixed(2) : "-",
                     r.vs_numpy ? r.vs_numpy.toFixed(2) + "x" : "-"]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  drawChart($("chart"), series, {lines: true});
}

async function poll(id) {
  const bar = $("progress");
  bar.hidden = false;
  for (;;) {
    const job = await (await fetch(`/api/compare/${id}`)).json();
    bar.max = job.total;
    bar.value = job.done;
    $("message").textContent = `comparison ${id}: ${job.status}, ${job.done} of ${job.total} timings`;
    if (job.status === "done") { showRows(job); break; }
    if (job.status === "failed" || job.status === "cancelled" || job.error) {
      $("message").textContent = `comparison ${id} ${job.status}: ${job.error || ""}`;
      break;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  bar.hidden = true;
  $("run").disabled = false;
  listJobs();
}

async function listJobs() {
  const jobs = await (await fetch("/api/compare")).json();
  const ul = $("jobs");
  ul.replaceChildren();
  for (const j of jobs) {
    const li = document.createElement("li");
    li.textContent = `#${j.id} ${j.op} ${j.dtype} n=${j.sizes.join(",")} on ${j.devices.join(", ")}: ${j.status}`;
    ul.appendChild(li);
  }
}

$("form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const sizes = $("sizes").value.split(/[\s,]+/).filter(Boolean).map(Number);
  const devices = [...document.querySelectorAll("input[name=device]:checked")].map((i) => i.value);
  const request = {op: $("op").value, sizes, devices, dtype: $("dtype").value};
  $("run").disabled = true;
  const res = await fetch("/api/compare", {method: "POST", headers: {"content-type": "application/json"},
                                           body: JSON.stringify(request)});
  const body = await res.json();
  if (!res.ok) {
    $("message").textContent = `refused: ${body.error}`;
    $("run").disabled = false;
    return;
  }
  poll(body.id);
});
$("op").addEventListener("change", renderDevices);
$("dtype").addEventListener("change", renderDevices);
loadOptions().then(listJobs);
