// TensorBoard event files as TensorBoard reads them: the records' framing and checksums, and
// the Event protos decoded from the .proto text (test/helpers.ts readEvents).
import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import CRC32C from "crc-32/crc32c.js";
import { EventWriter, maskedCrc } from "../../recipes/tensorboard.js";
import { readEvents } from "../helpers.js";

describe("TensorBoard event files", () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "troupe-tb-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("the file version, then one event per step with its scalars; non-numbers left out; a flipped byte fails its checksum", async () => {
    expect(CRC32C.str("123456789") >>> 0).to.equal(0xe3069283);  // CRC-32C's check value
    expect(maskedCrc(new Uint8Array(0))).to.equal(0xa282ead8);    // the mask of a zero CRC
    const w = new EventWriter(dir);
    w.scalars(1, { "critic/score/mean": 0.25, "actor/grad_norm": 3.5, bad: Number.NaN }, 1000.5);
    w.scalars(2, { "critic/score/mean": 0.75 }, 1001.5);
    const events = await readEvents(w.file);
    expect(events).to.deep.equal([
      { step: 0, wall_time: events[0].wall_time, file_version: "brain.Event:2", scalars: {} },
      { step: 1, wall_time: 1000.5, file_version: undefined, scalars: { "critic/score/mean": 0.25, "actor/grad_norm": 3.5 } },
      { step: 2, wall_time: 1001.5, file_version: undefined, scalars: { "critic/score/mean": 0.75 } },
    ]);
    const bytes = readFileSync(w.file);
    bytes[bytes.length - 8] ^= 1;
    writeFileSync(w.file, bytes);
    let err: Error | undefined;
    await readEvents(w.file).catch((e) => (err = e));
    expect(err?.message).to.match(/bad data checksum/);
    // A new writer replaces the folder's event files: one file mirrors the run.
    const again = new EventWriter(dir);
    expect(readdirSync(dir).filter((f) => f.startsWith("events.out.tfevents."))).to.deep.equal([again.file.split("/").pop()]);
  });
});
