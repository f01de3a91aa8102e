// tqse serve: the microphone recorder's audio-thread half (an AudioWorklet, loaded by recorder.js).
// Mixes the input down to mono and posts it to the page in blocks of about 40 ms: one message per
// 128-frame render quantum would be 375 messages a second.
"use strict";

const BLOCK = 2048;

class TqseRecorderProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.block = new Float32Array(BLOCK);
    this.filled = 0;
    this.port.onmessage = (event) => {
      if (event.data !== "flush") return;
      this.post();
      this.port.postMessage({ done: true });
    };
  }

  post() {
    if (this.filled) this.port.postMessage({ samples: this.block.slice(0, this.filled) });
    this.filled = 0;
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || !channels.length) return true; // no input connected yet: keep running
    const frames = channels[0].length;
    for (let i = 0; i < frames; i += 1) {
      let sum = 0;
      for (const channel of channels) sum += channel[i];
      this.block[this.filled] = sum / channels.length;
      this.filled += 1;
      if (this.filled === BLOCK) this.post();
    }
    return true;
  }
}

registerProcessor("tqse-recorder", TqseRecorderProcessor);
