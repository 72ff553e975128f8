// The log readers and the grading, on short excerpts in each runner's real output format, with
// the ids SWE-bench's datasets store.
import { expect } from "chai";
import { gradeTests, isResolved, parseDjango, parseMatplotlib, parsePytest, parsePytestOptions, parsePytestV2, parseSeaborn, parseSympy } from "../../envs/index.js";

describe("log readers and grading, as SWE-bench's harness", () => {
  it("django: names old and new, docstring lines, skips, errors, FAIL headers, results pushed onto a later line", () => {
    const log = [
      "Testing against Django installed in '/testbed/django'",
      "Importing application auth_tests",
      "System check identified no issues (0 silenced).",
      "test_named_urls (auth_tests.test_views.LoginTest) ... ok",
      "test_security_check (auth_tests.test_views.LoginTest) ... FAIL",
      "test_https_login_url (auth_tests.test_views.LoginURLSettings.test_https_login_url)",
      "Login URLs that use https keep it. ... ok",
      "test_lazy (auth_tests.test_views.RedirectToLoginTests) ... skipped 'requires sqlite'",
      "test_remote (auth_tests.test_views.RemoteTest) ... ERROR",
      "test_logout (auth_tests.test_views.LogoutTest) ... Internal Server Error: /logout/",
      "ok",
      "",
      "======================================================================",
      "FAIL: test_security_check (auth_tests.test_views.LoginTest)",
      "----------------------------------------------------------------------",
      "Ran 6 tests in 0.101s",
    ].join("\n");
    expect(parseDjango(log)).to.deep.equal({
      "test_named_urls (auth_tests.test_views.LoginTest)": "PASSED",
      "test_security_check (auth_tests.test_views.LoginTest)": "FAILED",
      "Login URLs that use https keep it.": "PASSED",
      "test_lazy (auth_tests.test_views.RedirectToLoginTests)": "SKIPPED",
      "test_remote (auth_tests.test_views.RemoteTest)": "ERROR",
      "test_logout (auth_tests.test_views.LogoutTest)": "PASSED",
      "test_security_check": "FAILED",
    });
  });

  it("sympy: one line per test, and a failure's header names file and test", () => {
    const log = [
      "============================= test process starts ==============================",
      "sympy/core/tests/test_numbers.py[3] ",
      "test_igcd ok",
      "test_integer_nthroot_floor F",
      "test_mpmath_issues E",
      "",
      "________________________________________________________________________________",
      "_________ sympy/core/tests/test_numbers.py:test_integer_nthroot_floor __________",
      "Traceback (most recent call last):",
      '  File "/testbed/sympy/core/tests/test_numbers.py", line 23, in test_integer_nthroot_floor',
      "AssertionError",
      "============= tests finished: 1 passed, 1 failed, 1 exceptions, in 0.01 seconds ==============",
    ].join("\n");
    expect(parseSympy(log)).to.deep.equal({
      "sympy/core/tests/test_numbers.py:test_integer_nthroot_floor": "FAILED",
      test_igcd: "PASSED", test_integer_nthroot_floor: "FAILED", test_mpmath_issues: "ERROR",
    });
  });

  it("pytest: the first word after the status; a failure's message and a skip's count are not ids", () => {
    const log = [
      "PASSED tests/test_helpers.py::test_get_debug_flag[-False]",
      "FAILED tests/test_helpers.py::test_get_debug_flag[NO-False] - AssertionError: assert True == False",
      "SKIPPED [2] tests/test_helpers.py:40: needs dotenv",
      "ERROR tests/test_cli.py - ModuleNotFoundError: No module named 'dotenv'",
      "XFAIL tests/test_basic.py::test_later - reason: flaky",
    ].join("\n");
    expect(parsePytest(log)).to.deep.equal({
      "tests/test_helpers.py::test_get_debug_flag[-False]": "PASSED",
      "tests/test_helpers.py::test_get_debug_flag[NO-False]": "FAILED",
      "tests/test_cli.py": "ERROR",
      "tests/test_basic.py::test_later": "XFAIL",
    });
  });

  it("pytest v2 (astropy, scikit-learn, sphinx): colours dropped, ids with spaces whole, old `id STATUS` lines", () => {
    const log = [
      "\u001b[32mPASSED\u001b[0m tests/test_build.py::test_build_all[dirhtml]",
      "PASSED sklearn/tests/test_common.py::test_estimators[LogisticRegression(max_iter=5)-check_fit2d_1sample]",
      "PASSED astropy/units/tests/test_format.py::test_fits_units_available[m s]",
      "FAILED astropy/units/tests/test_format.py::test_roundtrip[unit with spaces] - AssertionError: x - y",
      "tests/test_util.py::test_old_style PASSED",
    ].join("\n");
    expect(parsePytestV2(log)).to.deep.equal({
      "tests/test_build.py::test_build_all[dirhtml]": "PASSED",
      "sklearn/tests/test_common.py::test_estimators[LogisticRegression(max_iter=5)-check_fit2d_1sample]": "PASSED",
      "astropy/units/tests/test_format.py::test_fits_units_available[m s]": "PASSED",
      "astropy/units/tests/test_format.py::test_roundtrip[unit with spaces]": "FAILED",
      "tests/test_util.py::test_old_style": "PASSED",
    });
  });

  it("pytest options (requests, pylint, pydicom): an absolute-path parameter keeps its last part", () => {
    expect(parsePytestOptions("PASSED tests/test_requests.py::test_path[/tmp/pytest-of-root/pytest-3/test_path0/file.txt]\nPASSED tests/test_requests.py::test_url[//host/x]")).to.deep.equal({
      "tests/test_requests.py::test_path[/file.txt]": "PASSED",
      "tests/test_requests.py::test_url[//host/x]": "PASSED",
    });
  });

  it("seaborn's progress lines and matplotlib's mouse buttons", () => {
    expect(parseSeaborn("tests/test_core.py::TestHue::test_a PASSED                     [ 10%]\nFAILED tests/test_core.py::TestHue::test_b - ValueError")).to.deep.equal({
      "tests/test_core.py::TestHue::test_a": "PASSED", "tests/test_core.py::TestHue::test_b": "FAILED",
    });
    expect(parseMatplotlib("PASSED lib/matplotlib/tests/test_widgets.py::test_span_selector[MouseButton.LEFT-horizontal]")).to.deep.equal({
      "lib/matplotlib/tests/test_widgets.py::test_span_selector[1-horizontal]": "PASSED",
    });
  });

  it("grading: a skipped PASS_TO_PASS test is kept, a skipped FAIL_TO_PASS test is not; ids cut inside a parameter match what they begin", () => {
    const sm = { "t.py::a": "PASSED", "t.py::b": "SKIPPED", "t.py::c": "SKIPPED", "t.py::d[log(photon s)]": "PASSED", "t.py::e": "XPASS" };
    const g = gradeTests(["t.py::a", "t.py::c", "t.py::d[log(photon", "t.py::e"], ["t.py::b", "t.py::gone"], sm);
    expect(g).to.deep.equal({
      FAIL_TO_PASS: { success: ["t.py::a", "t.py::d[log(photon"], failure: ["t.py::c"] },  // XPASS counts on neither side, as in the harness
      PASS_TO_PASS: { success: ["t.py::b"], failure: ["t.py::gone"] },
    });
    expect(isResolved(g)).to.equal(false);
    expect(isResolved(gradeTests(["t.py::a"], ["t.py::b"], sm))).to.equal(true);
  });
});
