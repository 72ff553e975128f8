// Evaluation arithmetic against hand-computed numbers.
import { expect } from "chai";
import { bestOfK, passAtK, select, SELECTORS, seededRandom, shuffled, type Candidate, type Selector } from "../../rl/index.js";

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

  // Six candidates with known scores (as the eval test's plans produce them): a correct patch
  // the verifier likes less than a wrong one, an empty patch (every regression test passes), a
  // patch that breaks everything.
  const six: Candidate[] = [
    { index: 0, reward: 0, regressionPassed: 9, empty: true, verifier: 0.99, repro: 0 },  // changed nothing
    { index: 1, reward: 0, regressionPassed: 2, verifier: 0.95, repro: 1 },               // wrong, the verifier's favourite
    { index: 2, reward: 1, regressionPassed: 9, verifier: 0.7, repro: 1 },                // correct
    { index: 3, reward: 0, regressionPassed: 9, verifier: 0.6, repro: 0 },                // wrong, regressions intact
    { index: 4, reward: 0, regressionPassed: 0, verifier: 0.1, repro: 0 },                // broke everything
    { index: 5, reward: 1, regressionPassed: 9, verifier: 0.7, repro: 1 },                // correct, a later twin of 2
  ];
  const want: Record<Selector, number> = {
    oracle: 2,      // the first correct one
    regression: 2,  // 2, 3 and 5 pass all 9 (the empty one is not eligible): the lowest index
    verifier: 1,    // the highest P(YES) among the non-empty
    repro: 1,       // 1, 2 and 5 reproduce: the lowest index
    hybrid: 2,      // top half by verifier {1, 2, 5}, most regression passes {2, 5}, repro ties, verifier ties: 2
    random: 3,      // draw 0.5 of five eligible: the third by index
  };

  it("each selector picks what its rule says, the empty patch never while another exists, ties to the lowest index", () => {
    for (const name of SELECTORS) expect(select(name, six, 0.5)?.index, name).to.equal(want[name]);
    // Nothing but an empty patch: it is what there is.
    expect(select("regression", [six[0]])?.index).to.equal(0);
    expect(select("oracle", [])).to.equal(undefined);
  });

  it("the choice does not move when the candidates arrive shuffled", () => {
    const random = seededRandom(7);
    for (let trial = 0; trial < 50; trial++) {
      const order = shuffled(six.length, random).map((i) => six[i]);
      for (const name of SELECTORS) expect(select(name, order, 0.5)?.index, `${name} over ${order.map((c) => c.index)}`).to.equal(want[name]);
    }
  });

  it("a rule that lacks its scores chooses nothing (a verifier that failed on the task); hybrid without reproduction tests still chooses", () => {
    const unscored = six.map((c, i) => (i === 3 ? { ...c, verifier: undefined } : c));
    expect(select("verifier", unscored)).to.equal(undefined);
    expect(select("hybrid", unscored)).to.equal(undefined);
    expect(select("regression", unscored)?.index).to.equal(2);
    const noRepro = six.map(({ repro: _, ...c }) => c);
    expect(select("repro", noRepro)).to.equal(undefined);
    expect(select("hybrid", noRepro)?.index).to.equal(2);
  });
});
