// A log-log chart in SVG: time against size, one colour per series, hover text per point.
// Hand-written (about 100 lines) so the page ships inside the package with nothing fetched at
// run time and the production image stays small (docs/serve.md, "Why these libraries").
"use strict";

const CHART_COLORS = {cpu: "#1f77b4", opencl: "#d62728", "cpu-fallback": "#ff7f0e", numpy: "#7f7f7f"};
const CHART_PALETTE = ["#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"];

function chartColor(name, i) {
  return CHART_COLORS[name.split(":")[0]] || CHART_PALETTE[i % CHART_PALETTE.length];
}

function svgEl(tag, attrs, parent, text) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

function fmtTick(v) {
  if (v >= 1e4 || v < 1e-3) return v.toExponential(0).replace("e+", "e");
  return String(Number(v.toPrecision(3)));
}

// series: {name: {n: [...], ms: [...], text: [...]}}; opts: {lines: bool, xlabel, ylabel}
function drawChart(svg, series, opts = {}) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const W = svg.clientWidth || 640, H = svg.clientHeight || 320;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const m = {l: 60, r: 14, t: 10, b: 62};
  const xs = [], ys = [];
  for (const s of Object.values(series)) {
    s.n.forEach((n, i) => { if (n > 0 && s.ms[i] > 0) { xs.push(n); ys.push(s.ms[i]); } });
  }
  if (!xs.length) {
    svgEl("text", {x: W / 2, y: H / 2, "text-anchor": "middle"}, svg, "no calls with arrays yet");
    return;
  }
  const range = (v) => {
    let lo = Math.floor(Math.log10(Math.min(...v))), hi = Math.ceil(Math.log10(Math.max(...v)));
    return hi > lo ? [lo, hi] : [lo, lo + 1];
  };
  const [x0, x1] = range(xs), [y0, y1] = range(ys);
  const sx = (v) => m.l + (Math.log10(v) - x0) / (x1 - x0) * (W - m.l - m.r);
  const sy = (v) => H - m.b - (Math.log10(v) - y0) / (y1 - y0) * (H - m.t - m.b);
  // grid and ticks: each decade, and 2 and 5 between when the axis spans few decades
  const ticks = (lo, hi) => {
    const out = [];
    for (let k = lo; k <= hi; k++) {
      for (const f of (hi - lo <= 3 ? [1, 2, 5] : [1])) {
        const v = f * 10 ** k;
        if (Math.log10(v) <= hi + 1e-9) out.push([v, f === 1]);
      }
    }
    return out;
  };
  for (const [v, major] of ticks(x0, x1)) {
    svgEl("line", {x1: sx(v), x2: sx(v), y1: m.t, y2: H - m.b, class: "grid"}, svg);
    if (major || x1 - x0 <= 2) svgEl("text", {x: sx(v), y: H - m.b + 14, "text-anchor": "middle"}, svg, fmtTick(v));
  }
  for (const [v, major] of ticks(y0, y1)) {
    svgEl("line", {x1: m.l, x2: W - m.r, y1: sy(v), y2: sy(v), class: "grid"}, svg);
    if (major || y1 - y0 <= 2) svgEl("text", {x: m.l - 6, y: sy(v) + 4, "text-anchor": "end"}, svg, fmtTick(v));
  }
  svgEl("line", {x1: m.l, x2: m.l, y1: m.t, y2: H - m.b, class: "axis"}, svg);
  svgEl("line", {x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b, class: "axis"}, svg);
  svgEl("text", {x: (m.l + W - m.r) / 2, y: H - m.b + 30, "text-anchor": "middle"}, svg, opts.xlabel || "matrix size n");
  svgEl("text", {x: 14, y: (m.t + H - m.b) / 2, "text-anchor": "middle",
                 transform: `rotate(-90 14 ${(m.t + H - m.b) / 2})`}, svg, opts.ylabel || "time (ms)");
  // series, then the legend under the axis
  let lx = m.l;
  Object.entries(series).forEach(([name, s], i) => {
    const color = chartColor(name, i);
    const pts = s.n.map((n, j) => [n, s.ms[j], (s.text || [])[j]]).filter(([n, ms]) => n > 0 && ms > 0);
    if (opts.lines) {
      pts.sort((a, b) => a[0] - b[0]);
      svgEl("polyline", {points: pts.map(([n, ms]) => `${sx(n)},${sy(ms)}`).join(" "), fill: "none",
                         stroke: color, "stroke-width": 1.5}, svg);
    }
    const g = svgEl("g", {class: "series", "data-series": name}, svg);
    for (const [n, ms, text] of pts) {
      const c = svgEl("circle", {cx: sx(n), cy: sy(ms), r: 3.5, fill: color, "fill-opacity": 0.75}, g);
      svgEl("title", {}, c, text || `${name} n=${n}: ${ms.toFixed(3)} ms`);
    }
    svgEl("rect", {x: lx, y: H - 18, width: 10, height: 10, fill: color, class: "legend"}, svg);
    const t = svgEl("text", {x: lx + 14, y: H - 9}, svg, name);
    lx += 24 + 7 * name.length;
    void t;
  });
}
