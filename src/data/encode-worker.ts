/**
 * Worker-thread entry of `EncoderPool`: builds a `FastWordPieceEncoder` from the spec in its
 * workerData, then answers each { id, texts } message with the batch's ids and end offsets
 * (their buffers transferred, not copied).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FastWordPieceEncoder, encodeMany, type FastEncoderSpec } from './fast-encoder.js';

const enc = new FastWordPieceEncoder(workerData as FastEncoderSpec);
parentPort!.on('message', (m: { id: number; texts: string[] }) => {
  try {
    const { ids, ends } = encodeMany(enc, m.texts);
    parentPort!.postMessage({ id: m.id, ids, ends }, [ids.buffer as ArrayBuffer, ends.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message });
  }
});
