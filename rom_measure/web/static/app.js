// rom-measure clinic pages: plain JavaScript over the JSON API (no build step, no CDN).
"use strict";

const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
const $ = (sel, root = document) => root.querySelector(sel);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const deg = (v, signed = false) => (v === null || v === undefined ? "—" : `${signed && v > 0 ? "+" : ""}${Number(v).toFixed(1)}°`);

function say(text, bad = false) {
  const el = $("#message");
  el.textContent = text;
  el.className = bad ? "rejected" : "muted";
}

async function api(method, url, body) {
  const options = { method, headers: { "X-CSRF-Token": csrf() } };
  if (body instanceof FormData) options.body = body;
  else if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(url, options);
  const data = (response.headers.get("content-type") || "").includes("json") ? await response.json() : null;
  if (!response.ok) throw new Error((data && data.error) || `error ${response.status}`);
  return data;
}

function formJson(form) {
  const data = {};
  for (const [k, v] of new FormData(form)) data[k] = k in data ? [].concat(data[k], v) : v;
  return data;
}

function onSubmit(sel, handler) {
  const form = $(sel);
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try { await handler(form); } catch (error) { say(error.message, true); }
  });
}

const pages = {
  login() {
    onSubmit("#login-form", async (form) => {
      await api("POST", "/api/login", formJson(form));
      location.href = "/";
    });
  },
  patients() {
    onSubmit("#new-patient", async (form) => {
      const { id } = await api("POST", "/api/patients", formJson(form));
      location.href = `/patients/${id}`;
    });
  },
  patient() {
    const id = document.body.dataset.patient;
    onSubmit("#new-visit", async (form) => {
      const data = formJson(form);
      data.planned = [].concat(data.planned || []);
      const visit = await api("POST", `/api/patients/${id}/visits`, data);
      location.href = `/visits/${visit.id}`;
    });
    $("#delete-patient").addEventListener("click", async () => {
      if (!confirm("Delete this patient, every visit, clip and result? This cannot be undone.")) return;
      try { await api("DELETE", `/api/patients/${id}`); location.href = "/"; } catch (e) { say(e.message, true); }
    });
    drawHistory(id, JSON.parse(document.body.dataset.series || "[]"));
  },
  visit() { visitPage(document.body.dataset.visit); },
  record() { recordPage(document.body.dataset); },
};

// -- history charts --------------------------------------------------------------------

function svg(tag, attrs, text) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

function historyChart(history, title) {
  const W = 640, H = 240, L = 50, R = 16, T = 26, B = 36;
  const visits = history.visits;
  const values = visits.flatMap((v) => ["pre", "post"].filter((l) => v[l] && v[l].rom_deg !== null)
    .flatMap((l) => [v[l].rom_deg - (v[l].uncertainty_deg || 0), v[l].rom_deg + (v[l].uncertainty_deg || 0)]));
  const first = visits.map((v) => v.pre || v.post).find((x) => x && x.rom_deg !== null);
  const mdc = history.literature_mdc95_deg;
  if (first && mdc) values.push(first.rom_deg - mdc, first.rom_deg + mdc);
  const lo = Math.floor(Math.min(...values, 0) / 10) * 10, hi = Math.ceil(Math.max(...values, 10) / 10) * 10;
  const x = (i) => L + (visits.length === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (visits.length - 1));
  const y = (v) => T + ((hi - v) * (H - T - B)) / (hi - lo || 1);
  const chart = svg("svg", { class: "chart", width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": `${title}: ROM per visit` });
  chart.append(svg("text", { x: L, y: 16, "font-size": 13, "font-weight": 600 }, `${title} — ROM per visit`));
  if (first && mdc) {
    chart.append(svg("rect", { x: L, y: y(first.rom_deg + mdc), width: W - L - R, height: y(first.rom_deg - mdc) - y(first.rom_deg + mdc),
      fill: "#d9e6f7", class: "mdc-band" }));
    chart.append(svg("text", { x: W - R - 4, y: y(first.rom_deg + mdc) + 12, "text-anchor": "end", "font-size": 11, fill: "#4a6a8f" },
      `first value ± MDC95 (${mdc}°)`));
  }
  const step = [5, 10, 20, 30, 45, 60].find((s) => (hi - lo) / s <= 6) || 90;
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) {
    chart.append(svg("line", { x1: L, x2: W - R, y1: y(t), y2: y(t), stroke: "#eee" }));
    chart.append(svg("text", { x: L - 6, y: y(t) + 4, "text-anchor": "end", "font-size": 11 }, `${Math.round(t)}°`));
  }
  const colors = { pre: "#2a6fdb", post: "#1e7d32" };
  visits.forEach((v, i) => {
    chart.append(svg("text", { x: x(i), y: H - 12, "text-anchor": "middle", "font-size": 11 }, v.date));
    ["pre", "post"].forEach((label, k) => {
      const m = v[label];
      if (!m || m.rom_deg === null) return;
      const cx = x(i) + (k ? 8 : -8), u = m.uncertainty_deg || 0;
      for (const [a, b] of [[cx, cx], [cx - 6, cx + 6]]) {
        for (const end of a === b ? [null] : [m.rom_deg - u, m.rom_deg + u]) {
          chart.append(svg("line", end === null
            ? { x1: a, x2: b, y1: y(m.rom_deg - u), y2: y(m.rom_deg + u), stroke: colors[label], "stroke-width": 2, class: "error-bar" }
            : { x1: a, x2: b, y1: y(end), y2: y(end), stroke: colors[label], "stroke-width": 2 }));
        }
      }
      // A result with quality warnings is drawn hollow: a number, not a promise.
      const sound = m.verdict === "ok";
      chart.append(svg("circle", { cx, cy: y(m.rom_deg), r: 3.5, fill: sound ? colors[label] : "#fff",
        stroke: colors[label], "stroke-width": 1.5, class: `point ${label}${sound ? "" : " warning"}`,
        "data-rom": m.rom_deg }, undefined));
      chart.lastChild.append(svg("title", {}, `${label} ${deg(m.rom_deg)} ± ${deg(u)} (${m.verdict})`));
    });
  });
  chart.append(svg("text", { x: L + 4, y: T + 12, "font-size": 11, fill: colors.pre }, "● pre"));
  chart.append(svg("text", { x: L + 50, y: T + 12, "font-size": 11, fill: colors.post }, "● post"));
  chart.append(svg("text", { x: L + 100, y: T + 12, "font-size": 11, fill: "#555" }, "○ quality warning"));
  return chart;
}

function asymmetryTable(history, title) {
  const rows = history.visits.flatMap((v) => ["pre", "post"].filter((l) => v.asymmetry && v.asymmetry[l])
    .map((l) => ({ date: v.date, label: l, ...v.asymmetry[l] })));
  if (!rows.length) return null;
  const table = document.createElement("table");
  table.className = "asymmetry";
  table.innerHTML = `<caption>${esc(title)}: left − right</caption><thead><tr><th>Date</th><th>Clip</th><th>Left</th><th>Right</th>` +
    `<th>Difference</th><th>%</th><th></th></tr></thead><tbody>` + rows.map((r) =>
      `<tr><td>${esc(r.date)}</td><td>${r.label}</td><td>${deg(r.left_deg)}</td><td>${deg(r.right_deg)}</td>` +
      `<td>${deg(r.difference_deg, true)}</td><td>${r.difference_pct ?? "—"}%</td>` +
      `<td><svg width="120" height="12"><rect x="${60 + Math.min(0, r.difference_pct || 0) * 0.6}" y="1" ` +
      `width="${Math.abs(r.difference_pct || 0) * 0.6}" height="10" fill="#8e6bbf"/><line x1="60" x2="60" y1="0" y2="12" stroke="#333"/></svg></td></tr>`).join("") + "</tbody>";
  return table;
}

async function drawHistory(patientId, series) {
  const box = $("#history");
  const asymDone = new Set();
  for (const [movement, side, title] of series) {
    const history = await api("GET", `/api/patients/${patientId}/history?movement=${encodeURIComponent(movement)}&side=${side}`);
    const figure = document.createElement("figure");
    figure.className = "history";
    figure.dataset.movement = movement;
    figure.dataset.side = side;
    figure.append(historyChart(history, `${title} ${side}`));
    box.append(figure);
    if (!asymDone.has(movement)) {
      const table = asymmetryTable(history, title);
      if (table) { box.append(table); asymDone.add(movement); }
    }
  }
}

// -- visit page --------------------------------------------------------------------------

async function uploadClip(visitId, file, label, movement, side) {
  const form = new FormData();
  form.append("file", file, file.name || "recording.webm");
  form.append("label", label);
  form.append("movement", movement);
  form.append("side", side);
  return api("POST", `/api/visits/${visitId}/clips`, form);
}

function visitPage(visitId) {
  const drop = $("#drop");
  const send = async (files) => {
    const pick = (n) => $(`select[name="${n}"]`, drop).value;
    for (const file of files) {
      try { await uploadClip(visitId, file, pick("label"), pick("movement"), pick("side")); say(`${file.name} uploaded`); }
      catch (error) { say(`${file.name}: ${error.message}`, true); }
    }
    refresh();
  };
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); send([...e.dataTransfer.files]); });
  $("#files").addEventListener("change", (e) => send([...e.target.files]));
  const refresh = async () => {
    const visit = await api("GET", `/api/visits/${visitId}`);
    $("#clips tbody").innerHTML = visit.clips.map((c) => `<tr class="clip" data-status="${c.status}"><td>${c.id}</td><td>${c.label}</td>` +
      `<td>${esc(c.movement)}</td><td>${c.side}</td><td>${esc(c.file_name)}</td><td class="${c.status}">${c.status}` +
      `${c.error ? ": " + esc(c.error) : ""}</td><td>${deg(c.rom_deg)}${c.uncertainty_deg !== null ? " ± " + deg(c.uncertainty_deg) : ""}</td>` +
      `<td class="${c.verdict || ""}">${c.verdict || ""}</td></tr>`).join("");
    const comparison = await api("GET", `/api/visits/${visitId}/comparisons`);
    $("#comparisons tbody").innerHTML = comparison.comparisons.map((c) => `<tr class="comparison"><td>${esc(c.movement)}</td><td>${c.side}</td>` +
      `<td>${deg(c.pre_rom_deg)}</td><td>${deg(c.post_rom_deg)}</td><td>${deg(c.change_deg, true)}</td>` +
      `<td>${deg(c.ci95_deg[0], true)} to ${deg(c.ci95_deg[1], true)}</td><td>${deg(c.mdc95_deg)}</td>` +
      `<td class="verdict ${c.verdict.replaceAll(" ", "-")}${c.doubtful ? " doubtful" : ""}">${esc(c.verdict_text || c.verdict)}${c.reasons.length ? "<br><small class=\"reasons\">" + c.reasons.map(esc).join("; ") + "</small>" : ""}</td></tr>`).join("")
      || `<tr><td colspan="8" class="muted">A comparison appears when a pre and a post clip of one movement and side are analysed.</td></tr>`;
    if (visit.clips.some((c) => c.status === "queued" || c.status === "running")) setTimeout(refresh, 1500);
  };
  refresh();
}

// -- recording page ------------------------------------------------------------------------

const SKELETON = [[11, 12], [11, 23], [12, 24], [23, 24], [11, 13], [13, 15], [12, 14], [14, 16],
  [23, 25], [25, 27], [24, 26], [26, 28], [27, 31], [28, 32], [0, 11], [0, 12]];
const FRAME_WIDTH = 320, FRAME_INTERVAL_MS = 80;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function recordPage(d) {
  const video = $("#video"), overlay = $("#overlay"), picker = $("#camera");
  const phase = $("#phase"), angle = $("#angle");
  let stream = null, socket = null, recorder = null, chunks = [], stopTimer = null, zeroed = false;
  const times = [];
  window.liveStats = { answers: 0, fps: 0, ready: false };

  async function openCamera(deviceId) {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = await navigator.mediaDevices.getUserMedia({ video: deviceId ? { deviceId: { exact: deviceId } } : { width: 640, height: 480 }, audio: false });
    video.srcObject = stream;
    const devices = (await navigator.mediaDevices.enumerateDevices()).filter((x) => x.kind === "videoinput");
    const current = stream.getVideoTracks()[0].getSettings().deviceId;
    picker.innerHTML = devices.map((x, i) => `<option value="${x.deviceId}" ${x.deviceId === current ? "selected" : ""}>${esc(x.label || "camera " + (i + 1))}</option>`).join("");
  }

  function drawPose(answer) {
    overlay.width = video.videoWidth || 640;
    overlay.height = video.videoHeight || 480;
    const g = overlay.getContext("2d");
    g.clearRect(0, 0, overlay.width, overlay.height);
    const marks = answer.landmarks;
    if (!marks) return;
    g.lineWidth = 3;
    g.strokeStyle = answer.ready ? "#4caf50" : "#ffb300";
    for (const [a, b] of SKELETON) {
      if (marks[a][2] < 0.3 || marks[b][2] < 0.3) continue;
      g.beginPath();
      g.moveTo(marks[a][0] * overlay.width, marks[a][1] * overlay.height);
      g.lineTo(marks[b][0] * overlay.width, marks[b][1] * overlay.height);
      g.stroke();
    }
  }

  function showAnswer(answer) {
    if (answer.error) { say(`live lights: ${answer.error}`, true); return; }
    const hints = [];
    for (const s of answer.signals) {
      const li = $(`#lights li[data-name="${s.name}"]`) || $(`#lights li:nth-child(${answer.signals.indexOf(s) + 1})`);
      if (li) { li.className = s.state; li.title = s.message; }
      if (s.message) hints.push(s.message);
    }
    $("#light-hint").textContent = hints.join(" · ");
    // the live angle's zero is the still start: shown once the recording has begun
    angle.textContent = !zeroed || answer.angle_deg === null ? "" : `${answer.angle_deg.toFixed(0)}°`;
    drawPose(answer);
    const now = performance.now();
    times.push(now);
    while (times.length && times[0] < now - 2000) times.shift();
    const fps = times.length > 1 ? ((times.length - 1) * 1000) / (now - times[0]) : 0;
    window.liveStats = { answers: window.liveStats.answers + 1, fps, ready: answer.ready };
    $("#fps").textContent = `live lights: ${fps.toFixed(1)} frames/s`;
  }

  function startLive() {
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/live?movement=${encodeURIComponent(d.movement)}&side=${d.side}`;
    socket = new WebSocket(url);
    const canvas = document.createElement("canvas");
    let last = 0;
    const sendFrame = () => {
      if (!socket || socket.readyState !== WebSocket.OPEN) return;
      if (!video.videoWidth) { setTimeout(sendFrame, 100); return; }
      canvas.width = FRAME_WIDTH;
      canvas.height = Math.round((FRAME_WIDTH * video.videoHeight) / video.videoWidth);
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      last = performance.now();
      canvas.toBlob((blob) => blob && socket.readyState === WebSocket.OPEN && socket.send(blob), "image/jpeg", 0.7);
    };
    socket.onopen = sendFrame;
    socket.onmessage = (event) => {
      showAnswer(JSON.parse(event.data));
      setTimeout(sendFrame, Math.max(0, FRAME_INTERVAL_MS - (performance.now() - last)));
    };
  }

  async function pollClip(id) {
    for (;;) {
      const clip = await api("GET", `/api/clips/${id}`);
      $("#result").innerHTML = `<p class="muted">analysis: ${clip.status}…</p>`;
      if (clip.status === "done" || clip.status === "failed") return clip;
      await sleep(1000);
    }
  }

  async function finish() {
    clearTimeout(stopTimer);
    $("#stop").disabled = true;
    phase.textContent = "";
    const stopped = new Promise((r) => { recorder.onstop = r; });
    recorder.stop();
    await stopped;
    const blob = new Blob(chunks, { type: recorder.mimeType || "video/webm" });
    $("#result").innerHTML = `<p class="muted">uploading ${(blob.size / 1e6).toFixed(1)} MB…</p>`;
    try {
      const file = new File([blob], `${d.label}_${d.movement}_${d.side}.webm`, { type: blob.type });
      const { id } = await uploadClip(d.visit, file, d.label, d.movement, d.side);
      const clip = await pollClip(id);
      if (clip.status === "failed") {
        $("#result").innerHTML = `<p class="rejected" id="verdict" data-verdict="failed">Analysis failed: ${esc(clip.error)}</p>`;
      } else {
        const q = clip.result.quality;
        $("#result").innerHTML = `<p id="verdict" class="${q.verdict}" data-verdict="${q.verdict}" data-rom="${clip.rom_deg}">` +
          `<b>ROM ${deg(clip.rom_deg)}</b> ± ${deg(clip.uncertainty_deg)} — quality <b>${q.verdict}</b></p>` +
          (q.reasons.length ? `<ul>${q.reasons.map((r) => `<li>${esc(r)}</li>`).join("")}</ul>` : "") +
          `<p><a href="/visits/${d.visit}">Back to the visit</a></p>`;
      }
    } catch (error) {
      $("#result").innerHTML = `<p class="rejected">${esc(error.message)}</p>`;
    }
    $("#redo").hidden = false;
    $("#start").disabled = false;
  }

  async function start() {
    $("#start").disabled = true;
    $("#redo").hidden = true;
    $("#result").innerHTML = "";
    for (let n = Math.ceil(Number(d.countdown)); n > 0; n--) { phase.textContent = n; await sleep(1000); }
    chunks = [];
    const type = ["video/webm;codecs=vp8", "video/webm", "video/mp4"].find((t) => MediaRecorder.isTypeSupported(t));
    recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
    recorder.ondataavailable = (e) => e.data.size && chunks.push(e.data);
    recorder.start(250);
    if (socket && socket.readyState === WebSocket.OPEN) socket.send("reset");
    zeroed = true;
    $("#stop").disabled = false;
    if (Number(d.still) > 0) { phase.textContent = "Stand still"; await sleep(Number(d.still) * 1000); }
    phase.textContent = "Now move";
    setTimeout(() => { if (phase.textContent === "Now move") phase.textContent = ""; }, 1500);
    const total = Number(d.duration);
    if (total > 0) stopTimer = setTimeout(finish, Math.max(0, total - Number(d.still)) * 1000);
  }

  $("#start").addEventListener("click", start);
  $("#stop").addEventListener("click", finish);
  $("#redo").addEventListener("click", () => { $("#result").innerHTML = ""; $("#redo").hidden = true; });
  picker.addEventListener("change", () => openCamera(picker.value).catch((e) => say(e.message, true)));
  try { await openCamera(); startLive(); } catch (error) { say(`camera: ${error.message}`, true); }
}

document.addEventListener("DOMContentLoaded", () => {
  const logout = $("#logout");
  if (logout) logout.addEventListener("click", async (e) => { e.preventDefault(); await api("POST", "/api/logout"); location.href = "/login"; });
  const page = pages[document.body.dataset.page];
  if (page) page();
});
