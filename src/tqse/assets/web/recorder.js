// tqse serve: record a mixture from the microphone. The page captures PCM with the Web Audio API (an
// AudioWorklet, recorder-worklet.js) and encodes a 16-bit mono WAV itself, because MediaRecorder gives
// webm/opus, which the server's decoder (soundfile) cannot read. The WAV then takes the upload path.
"use strict";

const WAV_HEADER_BYTES = 44;
const FORM_OVERHEAD_BYTES = 16384; // multipart boundaries and the query field beside the recording

// Why recording cannot work on this page, or "" when it can.
function micUnavailableReason() {
  if (!window.isSecureContext) {
    return "recording needs the page on localhost or https (browsers allow the microphone only there): " +
      "upload a file instead, or reach the server through an SSH tunnel (ssh -L 8080:localhost:8080 HOST)";
  }
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return "this browser offers no microphone access";
  if (!window.AudioWorkletNode) return "this browser cannot record here (no AudioWorklet)";
  return "";
}

// getUserMedia's DOMException names -> what the user can do about it.
function micErrorMessage(err) {
  const name = err && err.name;
  if (["NotAllowedError", "PermissionDeniedError", "SecurityError"].includes(name)) {
    return "microphone permission denied: allow it in the browser's site settings, or upload a file";
  }
  if (["NotFoundError", "DevicesNotFoundError", "OverconstrainedError"].includes(name)) {
    return "no microphone found: connect one, or upload a file";
  }
  if (["NotReadableError", "TrackStartError", "AbortError"].includes(name)) {
    return "the microphone could not be started (another program may be using it)";
  }
  return `could not record: ${(err && err.message) || err}`;
}

// The longest recording the server accepts: its duration limit, and its body limit at 2 bytes a frame.
function maxRecordFrames(limits, rate) {
  const bySeconds = Math.floor(limits.max_seconds * rate);
  const byBytes = Math.floor((limits.max_upload_mb * 1048576 - FORM_OVERHEAD_BYTES - WAV_HEADER_BYTES) / 2);
  return Math.max(0, Math.min(bySeconds, byBytes));
}

function floatToInt16(samples) {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i += 1) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    out[i] = s < 0 ? Math.round(s * 0x8000) : Math.round(s * 0x7fff);
  }
  return out;
}

// Int16 mono blocks -> a WAV Blob (RIFF, PCM format 1, 16 bits, one channel).
function encodeWav(blocks, rate) {
  const frames = blocks.reduce((n, b) => n + b.length, 0);
  const header = new DataView(new ArrayBuffer(WAV_HEADER_BYTES));
  const text = (offset, s) => [...s].forEach((c, i) => header.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF");
  header.setUint32(4, 36 + frames * 2, true);
  text(8, "WAVE");
  text(12, "fmt ");
  header.setUint32(16, 16, true); // fmt chunk size
  header.setUint16(20, 1, true); // PCM
  header.setUint16(22, 1, true); // channels
  header.setUint32(24, rate, true);
  header.setUint32(28, rate * 2, true); // bytes per second
  header.setUint16(32, 2, true); // bytes per frame
  header.setUint16(34, 16, true); // bits per sample
  text(36, "data");
  header.setUint32(40, frames * 2, true);
  return new Blob([header, ...blocks], { type: "audio/wav" });
}

// One recording: start() asks for the microphone, stop() returns {blob, frames, rate}.
class MicRecording {
  constructor(limits, onProgress, onFull) {
    this.limits = limits;
    this.onProgress = onProgress;
    this.onFull = onFull;
    this.blocks = [];
    this.frames = 0;
  }

  async start() {
    // Raw signal: the browser's speech processing would pump and gate the sounds we want to separate.
    this.stream = await navigator.mediaDevices.getUserMedia(
      { audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
    try {
      this.context = new AudioContext();
      await this.context.audioWorklet.addModule("/static/recorder-worklet.js");
      this.maxFrames = maxRecordFrames(this.limits, this.context.sampleRate);
      this.source = this.context.createMediaStreamSource(this.stream);
      this.node = new AudioWorkletNode(this.context, "tqse-recorder");
      this.node.port.onmessage = (event) => this.receive(event.data);
      this.source.connect(this.node);
      this.node.connect(this.context.destination); // pulls the node; it writes silence, so no feedback
      await this.context.resume();
    } catch (err) {
      this.release();
      throw err;
    }
    this.stream.getAudioTracks().forEach((track) => track.addEventListener("ended", () => this.onFull("ended")));
  }

  receive(data) {
    if (data.done) { this.flushed(); return; }
    const room = this.maxFrames - this.frames;
    if (room <= 0) return;
    const samples = data.samples.length > room ? data.samples.subarray(0, room) : data.samples;
    this.blocks.push(floatToInt16(samples));
    this.frames += samples.length;
    this.onProgress(this.frames / this.context.sampleRate);
    if (this.frames >= this.maxFrames) this.onFull("limit");
  }

  async stop() {
    this.source.disconnect();
    await new Promise((resolve) => {
      this.flushed = resolve;
      this.node.port.postMessage("flush");
      setTimeout(resolve, 2000); // a stalled audio thread must not leave the button stuck
    });
    const rate = this.context.sampleRate;
    this.release();
    return { blob: encodeWav(this.blocks, rate), frames: this.frames, rate };
  }

  release() {
    if (this.stream) this.stream.getTracks().forEach((track) => track.stop());
    if (this.context) this.context.close().catch(() => {});
  }
}

function formatClock(seconds) {
  const m = Math.floor(seconds / 60);
  const s = (seconds - 60 * m).toFixed(1).padStart(4, "0");
  return `${m}:${s}`;
}

// Wires the Record/Stop button. getLimits() resolves to the server's /api/health limits;
// onRecorded(file, label) takes the WAV like an uploaded file; onMessage(text, isError) shows status.
function setUpRecorder({ getLimits, onRecorded, onMessage, onBusy }) {
  const button = document.getElementById("record-button");
  const clock = document.getElementById("record-time");
  const reason = micUnavailableReason();
  if (reason) {
    button.disabled = true;
    clock.textContent = reason;
    clock.classList.add("error");
    return;
  }
  let recording = null;
  let stopping = false;

  const setButton = (live) => {
    button.textContent = live ? "■ Stop" : "● Record";
    button.classList.toggle("recording", live);
    onBusy(live);
  };

  async function stop(why) {
    if (!recording || stopping) return;
    stopping = true;
    button.disabled = true;
    try {
      const { blob, frames, rate } = await recording.stop();
      const seconds = frames / rate;
      if (!frames) throw new Error("the microphone gave no sound: nothing was recorded");
      const label = `recording: ${seconds.toFixed(1)} s at ${rate} Hz`;
      const note = why === "limit" ? " (stopped at the server's limit)" : why === "ended" ? " (the microphone stopped)" : "";
      clock.textContent = `${formatClock(seconds)} recorded${note}`;
      onRecorded(new File([blob], "recording.wav", { type: "audio/wav" }), label);
    } catch (err) {
      onMessage(micErrorMessage(err), true);
    } finally {
      recording = null;
      stopping = false;
      button.disabled = false;
      setButton(false);
    }
  }

  async function start() {
    button.disabled = true;
    try {
      const limits = await getLimits();
      if (!limits) throw new Error("the server's limits are unknown (is it still running?)");
      let maxText = "";
      recording = new MicRecording(limits, (s) => { clock.textContent = `● ${formatClock(s)} / ${maxText} max`; },
        (why) => stop(why));
      clock.classList.remove("error");
      clock.textContent = "asking for the microphone…";
      await recording.start();
      maxText = formatClock(recording.maxFrames / recording.context.sampleRate);
      clock.textContent = `● ${formatClock(0)} / ${maxText} max`;
      onMessage("recording… press Stop when done");
      setButton(true);
    } catch (err) {
      recording = null;
      clock.textContent = "";
      onMessage(micErrorMessage(err), true);
    } finally {
      button.disabled = false;
    }
  }

  button.addEventListener("click", () => (recording ? stop("button") : start()));
}
