// Evaluation arithmetic against hand-computed numbers.
import { expect } from "chai";
import { bestOfK, passAtK } from "../../rl/index.js";

describe("pass@k and best-of-k", () => {
  it("pass@k: the unbiased estimator", () => {
    expect(passAtK(16, 4, 1)).to.be.closeTo(0.25, 1e-12);    // the mean
    expect(passAtK(16, 4, 16)).to.equal(1);                   // any passed
    expect(passAtK(16, 0, 16)).to.equal(0);
    expect(passAtK(4, 1, 2)).to.be.closeTo(1 - (3 / 4) * (2 / 3), 1e-12);  // 1 − C(3,2)/C(4,2) = 0.5
    expect(() => passAtK(4, 1, 5)).to.throw(RangeError);
  });

  it("best-of-k: most regression passes, ties to the lowest index, the index kept", () => {
    const c = [
      { index: 0, reward: 0, regressionPassed: 5 },
      { index: 1, reward: 1, regressionPassed: 7 },
      { index: 2, reward: 0, regressionPassed: 7 },
    ];
    expect(bestOfK(c)).to.deep.equal({ index: 1, reward: 1, regressionPassed: 7 });
    expect(bestOfK([c[2], c[1], c[0]])!.index).to.equal(1);  // order of arrival does not matter
    expect(bestOfK([])).to.equal(undefined);
  });
});
