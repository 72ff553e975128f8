// A pool worker: a pure function of its input plus where it ran.
import { hostname } from "node:os";

export class Worker {
  constructor(index) {
    this.index = index;
    this.done = 0;
  }
  work(x) {
    this.done++;
    // a little CPU work: the number of primes below x
    let count = 0;
    for (let n = 2; n < x; n++) {
      let prime = true;
      for (let d = 2; d * d <= n; d++) if (n % d === 0) { prime = false; break; }
      if (prime) count++;
    }
    return { x, primes: count, worker: this.index, pid: process.pid, host: hostname() };
  }
  stats() {
    return { worker: this.index, done: this.done };
  }
}
