// tqse serve: the page's logic. Plain browser JavaScript, no libraries; talks to the JSON API in docs/SERVE.md.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { mixtureFile: null, exampleId: "", limits: null, polling: null, recording: false };
const STEMS = ["mixture", "extracted", "residual"];

async function getJSON(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error((await response.json().catch(() => ({}))).error || response.statusText);
  return response.json();
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function appendLine(parent, text, className) {
  const line = document.createElement("div");
  line.className = className;
  line.textContent = text;
  parent.append(line);
  return line;
}

// The model in plain words (GET /api/models, from its card's records): its own name, what it was trained on,
// one figure per evaluation set (which mixtures, which query kind), and a link to the full card.
async function loadModel() {
  try {
    const { models } = await getJSON("/api/models");
    const m = models.find((x) => x.loaded) || models[0];
    const info = $("model-info");
    info.textContent = "";
    const head = document.createElement("div");
    const params = m.parameters ? `, ${(m.parameters / 1e6).toFixed(2)} M parameters` : "";
    head.innerHTML = "model <b></b>";
    head.querySelector("b").textContent = m.name;
    head.append(` (${m.model}, ${m.sample_rate / 1000} kHz, query encoder ${m.encoder}${params})`);
    if (m.has_card) {
      const link = document.createElement("a");
      link.href = "/api/card";
      link.target = "_blank";
      link.textContent = "full model card";
      head.append(" · ", link);
    }
    info.append(head);
    if (m.trained_on) appendLine(info, `trained on ${m.trained_on}`, "model-line");
    const figures = m.figures || [];
    for (const figure of figures) appendLine(info, figure, "model-line score");
    if (!figures.length) appendLine(info, "no scores in its card", "model-line");
  } catch (err) {
    $("model-info").textContent = `model info unavailable: ${err.message}`;
  }
}

async function loadLimits() {
  try {
    const health = await getJSON("/api/health");
    state.limits = health.limits;
    $("limits-hint").textContent = `any format soundfile reads; up to ${health.limits.max_upload_mb} MB and ${health.limits.max_seconds} s`;
  } catch (err) { /* the page still works; the server enforces the limits */ }
  return state.limits;
}

async function loadExamples() {
  const catalogue = await getJSON("/api/examples");
  for (const m of catalogue.mixtures) {
    const option = new Option(m.label, m.id);
    option.dataset.query = m.suggested_query;
    option.dataset.url = m.url;
    $("example-select").append(option);
  }
  for (const q of catalogue.queries) $("query-example-select").append(new Option(q.label, q.id));
}

function chooseFile(file, label = "") {
  if (!file) return;
  if (state.limits && file.size > state.limits.max_upload_mb * 1048576) {
    setStatus(`${file.name} is ${(file.size / 1048576).toFixed(1)} MB; the limit is ${state.limits.max_upload_mb} MB`, true);
    return;
  }
  state.mixtureFile = file;
  state.exampleId = "";
  $("example-select").value = "";
  $("mixture-name").textContent = `${label || `file: ${file.name}`} (${(file.size / 1024).toFixed(0)} kB)`;
  preview(URL.createObjectURL(file));
  setStatus("");
}

function chooseExample() {
  const option = $("example-select").selectedOptions[0];
  state.exampleId = option.value;
  if (!option.value) return;
  state.mixtureFile = null;
  $("mixture-file").value = "";
  $("mixture-name").textContent = `example: ${option.textContent}`;
  if (!$("text-query").value) $("text-query").value = option.dataset.query;
  preview(option.dataset.url);
}

function preview(url) {
  $("mixture-preview").src = url;
  $("mixture-preview").hidden = false;
}

function buildForm() {
  const form = new FormData();
  if (state.mixtureFile) form.append("mixture", state.mixtureFile, "upload");
  else if (state.exampleId) form.append("example", state.exampleId);
  else throw new Error("choose a mixture first: drop a file or pick an example");
  const kind = document.querySelector("input[name=query-kind]:checked").value;
  if (kind === "text") {
    const text = $("text-query").value.trim();
    if (!text) throw new Error("type what to extract, e.g. \"a dog barking\"");
    form.append("query", text);
  } else if ($("query-example-select").value) {
    form.append("query_example", $("query-example-select").value);
  } else if ($("audio-query-file").files.length) {
    form.append("audio_query", $("audio-query-file").files[0], "query");
  } else {
    throw new Error("choose an audio example or upload an audio file as the query");
  }
  return form;
}

async function extract() {
  if (state.recording) { setStatus("stop the recording first", true); return; }
  let form;
  try { form = buildForm(); } catch (err) { setStatus(err.message, true); return; }
  $("extract-button").disabled = true;
  $("progress").hidden = false;
  $("progress").value = 0;
  setStatus("uploading…");
  try {
    const response = await fetch("/api/extract", { method: "POST", body: form });
    const job = await response.json().catch(() => ({ error: response.statusText }));
    if (!response.ok) throw new Error(job.error || `HTTP ${response.status}`);
    await poll(job.id);
  } catch (err) {
    setStatus(err.message, true);
    $("progress").hidden = true;
  } finally {
    $("extract-button").disabled = Boolean(state.recording);
  }
}

async function poll(jobId) {
  for (;;) {
    const job = await getJSON(`/api/jobs/${jobId}`);
    $("progress").value = job.progress;
    if (job.status === "queued") setStatus(`queued (${job.queue_position} ahead)`);
    else if (job.status === "running") setStatus(`extracting… ${Math.round(job.progress * 100)} %`);
    else if (job.status === "error") throw new Error(job.error);
    else if (job.status === "done") { showResult(job.result); return; }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

function niceStep(span, target) {
  const raw = span / target;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) || raw;
}

function linearTicks(max, target) {
  const step = niceStep(max, target);
  const values = [];
  for (let v = 0; v <= max + 1e-9; v += step) values.push(v);
  return values;
}

const hzToMel = (hz) => 2595 * Math.log10(1 + hz / 700);

function placeTicks(container, values, position, horizontal, format) {
  for (const v of values) {
    const tick = document.createElement("span");
    tick.className = "tick";
    tick.textContent = format(v);
    const pct = 100 * position(v);
    if (horizontal) tick.style.left = `${pct}%`; else tick.style.top = `${100 - pct}%`;
    container.append(tick);
  }
}

function spectrogramFigure(pngUrl, scale, stem) {
  const figure = document.createElement("figure");
  figure.className = "spec";
  figure.innerHTML = '<div class="ylabel">Frequency (kHz, mel scale)</div><div class="yticks"></div>' +
    '<div class="plot"><img></div><div class="xaxis"><span class="xlabel">Time (s)</span></div>';
  const img = figure.querySelector("img");
  img.src = pngUrl;
  img.alt = `${stem} spectrogram`;
  img.className = "spectrogram";
  // Frequency rows are mel-spaced (see tqse/serve/spectrogram.py): ticks sit at their mel positions.
  const kHz = [0, 0.5, 1, 2, 4, 8, 16, 32].filter((v) => v * 1000 <= scale.max_hz);
  placeTicks(figure.querySelector(".yticks"), kHz, (v) => hzToMel(v * 1000) / hzToMel(scale.max_hz), false,
    (v) => String(v));
  placeTicks(figure.querySelector(".xaxis"), linearTicks(scale.seconds, 5), (v) => v / scale.seconds, true,
    (v) => (v % 1 ? v.toFixed(1) : v.toFixed(0)));
  return figure;
}

// What the model understood a text query as (GET /api/describe, or a result's `understood`): the nearest
// known sounds with their similarity, and the server's warning when the text is far from all of them.
function understoodText(d) {
  const nearest = d.nearest.map((n) => `${n.class} ${n.similarity.toFixed(2)}`).join(", ");
  return d.warning ? `⚠ ${d.warning}` : `understood as: ${nearest}`;
}

function showUnderstood(element, d) {
  element.textContent = d ? understoodText(d) : "";
  element.classList.toggle("error", Boolean(d && d.warning));
}

async function describeTyped() {
  const text = $("text-query").value.trim();
  if (!text) { showUnderstood($("understood"), null); return; }
  try {
    const d = await getJSON(`/api/describe?q=${encodeURIComponent(text)}`);
    if ($("text-query").value.trim() === text) showUnderstood($("understood"), d);  // still what is typed
  } catch (err) {
    $("understood").textContent = err.message;
  }
}

function showResult(result) {
  setStatus("done");
  $("progress").value = 1;
  const gain = result.gain < 1 ? ` · all three scaled by ${result.gain} to avoid clipping` : "";
  $("result-summary").textContent = `“${result.query}” with model ${result.model} · ${result.seconds} s, ` +
    `${result.sample_rate} Hz, ${result.channels} channel(s)${gain} · the spectrograms share one colour scale`;
  for (const stem of STEMS) {
    const box = document.querySelector(`.stem[data-stem=${stem}]`);
    box.querySelectorAll(":scope > :not(h3)").forEach((node) => node.remove());
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.preload = "auto";
    audio.src = result.files[stem].wav;
    audio.id = `player-${stem}`;
    const link = document.createElement("a");
    link.href = result.files[stem].wav;
    link.download = `tqse_${stem}.wav`;
    link.className = "download";
    link.textContent = `download ${stem}.wav`;
    box.append(audio, link, spectrogramFigure(result.files[stem].png, result.spectrogram, stem));
  }
  showUnderstood($("result-understood"), result.understood);
  $("db-max").textContent = `${result.spectrogram.db_max.toFixed(0)} dB`;
  $("db-min").textContent = `${result.spectrogram.db_min.toFixed(0)} dB`;
  $("results").hidden = false;
}

function setUp() {
  const zone = $("drop-zone");
  ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (event) => {
    event.preventDefault();
    zone.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("over")));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    chooseFile(event.dataTransfer.files[0]);
  });
  $("mixture-file").addEventListener("change", () => chooseFile($("mixture-file").files[0]));
  $("example-select").addEventListener("change", chooseExample);
  document.querySelectorAll("input[name=query-kind]").forEach((radio) => radio.addEventListener("change", () => {
    const text = document.querySelector("input[name=query-kind]:checked").value === "text";
    $("text-query-box").hidden = !text;
    $("audio-query-box").hidden = text;
  }));
  $("text-query").addEventListener("keydown", (event) => { if (event.key === "Enter") extract(); });
  let typing;  // describe the query once typing pauses, not on every key
  $("text-query").addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(describeTyped, 300); });
  $("extract-button").addEventListener("click", extract);
  setUpRecorder({ // recorder.js; a recording then takes the upload path like a dropped file
    getLimits: async () => state.limits || loadLimits(),
    onRecorded: chooseFile,
    onMessage: setStatus,
    onBusy: (live) => { state.recording = live; $("extract-button").disabled = live; },
  });
  loadModel();
  loadLimits();
  loadExamples().catch((err) => setStatus(`examples unavailable: ${err.message}`, true));
}

setUp();
