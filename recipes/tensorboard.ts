// TensorBoard event files beside metrics.jsonl, so `tensorboard --logdir RUN_DIR` and
// `wandb sync --sync-tensorboard RUN_DIR` read a run as they read verl's and rLLM's. The format:
// TFRecord framing (u64 length, masked CRC-32C of it, the bytes, masked CRC-32C of them) around
// tensorflow.Event protos — the first names the file version, each next holds one step's
// scalars (Summary.Value.simple_value). The file always mirrors metrics.jsonl: a resumed run
// writes it again from the rows it keeps.
import { appendFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import protobuf from "protobufjs";
import CRC32C from "crc-32/crc32c.js";

/** The three messages of tensorflow/core/util/event.proto and summary.proto this writes. */
export const EVENT_SCHEMA = protobuf.Root.fromJSON({
  nested: {
    Event: { fields: { wall_time: { type: "double", id: 1 }, step: { type: "int64", id: 2 }, file_version: { type: "string", id: 3 }, summary: { type: "Summary", id: 5 } } },
    Summary: { fields: { value: { rule: "repeated", type: "SummaryValue", id: 1 } } },
    SummaryValue: { fields: { tag: { type: "string", id: 1 }, simple_value: { type: "float", id: 2 } } },
  },
});
const Event = EVENT_SCHEMA.lookupType("Event");

/** TFRecord's masked CRC-32C (a CRC of data holding CRCs is weak; the mask breaks that). */
export function maskedCrc(bytes: Uint8Array): number {
  const crc = CRC32C.buf(bytes) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

function record(data: Uint8Array): Buffer {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(data.length));
  const out = Buffer.alloc(8 + 4 + data.length + 4);
  len.copy(out, 0);
  out.writeUInt32LE(maskedCrc(len), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc(data), 12 + data.length);
  return out;
}

/** One event file in `dir`; earlier event files there go (the new one holds all there is). */
export class EventWriter {
  readonly file: string;

  constructor(dir: string) {
    for (const f of readdirSync(dir)) if (f.startsWith("events.out.tfevents.")) rmSync(join(dir, f), { force: true });
    this.file = join(dir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${hostname()}.${process.pid}.troupe`);
    writeFileSync(this.file, record(Event.encode({ wall_time: Date.now() / 1000, file_version: "brain.Event:2" }).finish()));
  }

  /** One step's scalars, by tag; what is not a finite number is left out. */
  scalars(step: number, values: Record<string, number>, wallTime = Date.now() / 1000): void {
    const value = Object.entries(values).filter(([, v]) => Number.isFinite(v)).map(([tag, v]) => ({ tag, simple_value: v }));
    appendFileSync(this.file, record(Event.encode({ wall_time: wallTime, step, summary: { value } }).finish()));
  }
}
