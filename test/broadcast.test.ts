// One-to-many bulk transfer over a real nats-server: bit-exact delivery to every receiver, in
// order, flow control that waits for the slowest, and clear failures instead of hangs.
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { until } from "./helpers.js";
import { BroadcastError, dropReceiver, receiveBroadcast, sendBroadcast, startNatsServer, type NatsServer } from "../runtime/index.js";

describe("broadcast", () => {
  let server: NatsServer;
  let sender: NatsConnection;
  let receivers: NatsConnection[];

  before(async () => {
    server = await startNatsServer({ token: null });
    sender = await connect({ servers: server.url });
    receivers = await Promise.all([0, 1, 2].map(() => connect({ servers: server.url })));
  });
  after(async () => {
    for (const nc of [sender, ...receivers]) await nc.close();
    await server.stop();
  });

  it("delivers every blob, bit-exact and in order, to three receivers, blobs larger than max_payload included", async () => {
    const blobs = [randomBytes(10), randomBytes(3 * 1024 * 1024 + 17), new Uint8Array(0), randomBytes(700_000)];
    const got: Uint8Array[][] = [[], [], []];
    const rs = receivers.map((nc, r) => receiveBroadcast(nc, "t.one", (parts, i) => void (got[r][i] = Buffer.concat(parts))));
    const stats = await sendBroadcast(sender, "t.one", 3, blobs, { windowBytes: 2 * 1024 * 1024 });
    const done = await Promise.all(rs.map((r) => r.done));
    expect(stats.blobs).to.equal(4);
    expect(stats.bytes).to.equal(blobs.reduce((a, b) => a + b.byteLength, 0));
    for (const g of got) {
      expect(g.length).to.equal(4);
      g.forEach((b, i) => expect(Buffer.from(b).equals(Buffer.from(blobs[i])), `blob ${i}`).to.equal(true));
    }
    expect(done.map((d) => d.blobs)).to.deep.equal([4, 4, 4]);
  });

  it("finds a receiver that subscribes after the sender started", async () => {
    // Two of the sender's hellos go unanswered before the receiver exists.
    let hellos = 0;
    const watch = receivers[1].subscribe("t.late.hello", { callback: () => void hellos++ });
    await receivers[1].flush();
    const send = sendBroadcast(sender, "t.late", 1, [randomBytes(100)]);
    await until("two unanswered hellos", () => hellos >= 2);
    watch.unsubscribe();
    let n = 0;
    const r = receiveBroadcast(receivers[0], "t.late", () => void n++);
    await send;
    await r.done;
    expect(n).to.equal(1);
  });

  it("holds the sender to the window: a slow receiver's handler paces it", async () => {
    async function run(subject: string, windowBytes: number) {
      const order: string[] = [];
      const r = receiveBroadcast(receivers[0], subject, async (_b, i) => {
        await new Promise((res) => setTimeout(res, 100));
        order.push(`handled ${i}`);
      });
      // The sender asks for blob i+2 once blob i+1 is out.
      async function* blobs() {
        for (let i = 0; i < 4; i++) {
          order.push(`asked ${i}`);
          yield randomBytes(600_000);
        }
      }
      await sendBroadcast(sender, subject, 1, blobs(), { windowBytes });
      await r.done;
      return order;
    }
    // A window of one blob: blob i+1 goes out only once blob i has been handled.
    const paced = await run("t.slow", 600_000);
    expect(paced.indexOf("asked 2")).to.be.greaterThan(paced.indexOf("handled 0"));
    expect(paced.indexOf("asked 3")).to.be.greaterThan(paced.indexOf("handled 1"));
    // A window of all four: everything goes out before the first is handled.
    const free = await run("t.free", 4 * 600_000);
    expect(free.indexOf("asked 3")).to.be.lessThan(free.indexOf("handled 0"));
  });

  it("fails the sender clearly when a receiver goes away mid-stream, and the receivers when the sender aborts", async () => {
    const r = receiveBroadcast(receivers[0], "t.gone", (_b, i) => {
      if (i === 1) r.close();
    });
    const err = await sendBroadcast(sender, "t.gone", 1, Array.from({ length: 6 }, () => randomBytes(500_000)), { windowBytes: 1_000_000, idleTimeoutMs: 1000 })
      .then(() => undefined, (e) => e);
    expect(err).to.be.instanceOf(BroadcastError);
    expect(err.message).to.match(/t\.gone.*stopped acknowledging/);

    const r2 = receiveBroadcast(receivers[1], "t.abort", () => undefined);
    async function* failing() {
      yield randomBytes(10);
      throw new Error("weights unreadable");
    }
    const sent = await sendBroadcast(sender, "t.abort", 1, failing()).then(() => undefined, (e) => e);
    expect(sent.message).to.equal("weights unreadable");
    const got = await r2.done.then(() => undefined, (e) => e);
    expect(got).to.be.instanceOf(BroadcastError);
    expect(got.message).to.match(/aborted by the sender: weights unreadable/);
  });

  it("a receiver declared gone (mid-stream, or before it ever answered) is no longer waited for: the others get everything", async () => {
    // The sender's idle timeout is far longer than the test's: only the drop lets it finish.
    const blobs = Array.from({ length: 6 }, () => randomBytes(500_000));
    const got: number[] = [];
    const a = receiveBroadcast(receivers[0], "t.drop", (_b, i) => void got.push(i), { id: "a" });
    const b = receiveBroadcast(receivers[1], "t.drop", (_b, i) => {
      if (i === 1) b.close(), dropReceiver(receivers[2], "t.drop", "b");
    }, { id: "b" });
    const stats = await sendBroadcast(sender, "t.drop", 2, blobs, { windowBytes: 1_000_000, idleTimeoutMs: 600_000 });
    await a.done;
    expect(stats.blobs).to.equal(6);
    expect(got).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(await b.done.then(() => undefined, (e) => e)).to.be.instanceOf(BroadcastError);

    // Receiver "y" never comes; once it is declared gone, "x" alone is enough.
    const x = receiveBroadcast(receivers[0], "t.drop2", () => undefined, { id: "x" });
    const send = sendBroadcast(sender, "t.drop2", 2, [randomBytes(10)], { idleTimeoutMs: 600_000 });
    await new Promise((r) => setTimeout(r, 200));
    dropReceiver(receivers[2], "t.drop2", "y");
    expect((await send).blobs).to.equal(1);
    await x.done;
  });

  it("fails a sender whose receivers never come, naming how many answered", async () => {
    const err = await sendBroadcast(sender, "t.none", 2, [randomBytes(10)], { idleTimeoutMs: 400 }).then(() => undefined, (e) => e);
    expect(err).to.be.instanceOf(BroadcastError);
    expect(err.message).to.match(/0 of 2 receivers answered/);
  });
});
