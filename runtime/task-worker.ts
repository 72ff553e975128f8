// A piscina worker: runs one stateless task, `export` of `module`, on packed arguments.
// Arguments and results cross the thread boundary packed, so typed arrays and tensors keep
// their exact bytes.
import { pack, unpack } from "./codec.js";

export default async function run({ url, fn, args }: { url: string; fn: string; args: Uint8Array }): Promise<Uint8Array> {
  const mod = await import(url);
  const f = mod[fn];
  if (typeof f !== "function") throw new TypeError(`${url} exports no function '${fn}'`);
  return pack(await f(...unpack<unknown[]>(args)));
}
