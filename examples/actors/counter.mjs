// A counter actor: state lives in the actor, calls from one caller run in order.
export class Counter {
  constructor(start = 0) {
    this.value = start;
  }
  incr(by = 1) {
    this.value += by;
    return this.value;
  }
  get() {
    return this.value;
  }
}
