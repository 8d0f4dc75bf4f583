// TensorBoard event files: `events.out.tfevents.<seconds>.<host>.<pid>.<n>`, a TFRecord stream
// (tfrecord.ts) of `tensorflow.Event` protocol buffers. Field numbers are TensorFlow's
// (tensorflow/core/util/event.proto, tensorflow/core/framework/summary.proto, tensor.proto):
//   Event           wall_time=1 double, step=2 int64, file_version=3 string, summary=5, session_log=7
//   SessionLog      status=1 (START=1)
//   Summary         value=1 (repeated Summary.Value)
//   Summary.Value   tag=1, simple_value=2 float, tensor=8 TensorProto, metadata=9 SummaryMetadata
//   SummaryMetadata plugin_data=1 {plugin_name=1, content=2}, data_class=4 (DATA_CLASS_TENSOR=2)
//   TensorProto     dtype=1 (DT_STRING=7), tensor_shape=2 (empty: a scalar), string_val=8
// The first record is the file version "brain.Event:2", as every TensorFlow writer writes it.
// Like metrics.jsonl this is an append-only log: each event is one whole-record write, so a reader
// (a live TensorBoard) sees complete records and a crash loses at most the record being written.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ProtoWriter } from './protobuf-writer.js';
import { frameRecord } from './tfrecord.js';

export const FILE_VERSION = 'brain.Event:2';
const DT_STRING = 7;
const DATA_CLASS_TENSOR = 2;
const SESSION_START = 1;

/** One summary value: a scalar (TensorBoard's Scalars tab) or a markdown text (its Text tab). */
export type SummaryValue = { tag: string; scalar: number } | { tag: string; text: string };

export interface EventInput {
  wallTime: number;
  step: number;
  fileVersion?: string;
  summary?: SummaryValue[];
  /** a SessionLog START: TensorBoard drops this run's data from `step` on that older files hold */
  sessionStart?: boolean;
}

function encodeValue(v: SummaryValue): ProtoWriter {
  const w = new ProtoWriter().string(1, v.tag);
  if ('scalar' in v) return w.float(2, v.scalar);
  const pluginData = new ProtoWriter().string(1, 'text');
  const metadata = new ProtoWriter().message(1, pluginData).varint(4, DATA_CLASS_TENSOR);
  const tensor = new ProtoWriter().varint(1, DT_STRING).message(2, new ProtoWriter()).string(8, v.text);
  return w.message(9, metadata).message(8, tensor);
}

/** The serialized `tensorflow.Event`. */
export function encodeEvent(e: EventInput): Uint8Array {
  const w = new ProtoWriter().double(1, e.wallTime);
  if (e.step !== 0) w.varint(2, e.step);
  if (e.fileVersion !== undefined) w.string(3, e.fileVersion);
  if (e.summary) {
    const s = new ProtoWriter();
    for (const v of e.summary) s.message(1, encodeValue(v));
    w.message(5, s);
  }
  if (e.sessionStart) w.message(7, new ProtoWriter().varint(1, SESSION_START));
  return w.finish();
}

let fileCounter = 0;

/** A file name no other writer uses: time, host and process, and a counter within the process. */
function openNew(dir: string, stamp: string): { fd: number; file: string } {
  for (;;) {
    const file = path.join(dir, `events.out.tfevents.${stamp}.${os.hostname()}.${process.pid}.${fileCounter++}`);
    try {
      return { fd: fs.openSync(file, 'wx'), file };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/**
 * Writes one new event file in `dir` (never appends to an existing one: a resumed run gets a new
 * file, as TensorFlow's writers do). Steps never go backwards within a file.
 */
export class EventFileWriter {
  readonly file: string;
  private fd: number | null;
  private lastStep = 0;

  constructor(
    dir: string,
    private readonly clock: () => number = () => Date.now() / 1000,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    const now = clock();
    ({ fd: this.fd, file: this.file } = openNew(dir, String(Math.floor(now)).padStart(10, '0')));
    this.write({ wallTime: now, step: 0, fileVersion: FILE_VERSION });
  }

  private write(e: EventInput): void {
    if (this.fd === null) throw new Error(`event file ${this.file} is closed`);
    if (e.step < this.lastStep) {
      throw new Error(
        `event file ${this.file}: step ${e.step} after step ${this.lastStep}; steps never go backwards within a file`,
      );
    }
    this.lastStep = e.step;
    const rec = frameRecord(encodeEvent(e));
    let off = 0;
    while (off < rec.length) off += fs.writeSync(this.fd, rec, off, rec.length - off);
  }

  /** Scalars and texts at `step`, as one event. */
  summary(step: number, values: SummaryValue[]): void {
    if (values.length > 0) this.write({ wallTime: this.clock(), step, summary: values });
  }

  /** Marks a (re)start at `step` (see EventInput.sessionStart). */
  sessionStart(step: number): void {
    this.write({ wallTime: this.clock(), step, sessionStart: true });
  }

  close(): void {
    if (this.fd === null) return;
    fs.closeSync(this.fd);
    this.fd = null;
  }
}
