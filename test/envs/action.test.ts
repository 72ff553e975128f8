// The action parser against what models actually write, malformed replies included.
import { expect } from "chai";
import { parseAction, reminder } from "../../envs/index.js";

describe("the agent's action parser", () => {
  it("reads the first block: name, parameters, multi-line values with one layout newline trimmed", () => {
    const r = parseAction(
      "I will look at the file.\n<function=file_editor>\n<parameter=command>view</parameter>\n<parameter=path>\n/testbed/a.py\n</parameter>\n" +
      "<parameter=new_str>\n  line 1\n\n  line 3\n</parameter>\n</function>\ntrailing text",
    );
    expect(r).to.deep.equal({ call: { name: "file_editor", params: { command: "view", path: "/testbed/a.py", new_str: "  line 1\n\n  line 3" } } });
  });

  it("two blocks: only the first counts", () => {
    const r = parseAction("<function=execute_bash><parameter=cmd>ls</parameter></function> then <function=finish><parameter=command>submit</parameter></function>");
    expect(r).to.deep.equal({ call: { name: "execute_bash", params: { cmd: "ls" } } });
  });

  it("a block without parameters is a call with none", () => {
    expect(parseAction("<function=finish></function>")).to.deep.equal({ call: { name: "finish", params: {} } });
  });

  for (const [what, reply, why] of [
    ["no block", "I think the bug is in parse().", /no function call/],
    ["an unclosed function", "<function=execute_bash><parameter=cmd>ls</parameter>", /no <\/function>/],
    ["an unclosed parameter", "<function=execute_bash><parameter=cmd>ls</function>", /no <\/parameter>/],
    ["a tag without '>'", "<function=execute_bash", /not closed/],
    ["a bad function name", "<function=rm -rf /><parameter=x>1</parameter></function>", /not a function name/],
    ["a bad parameter name", "<function=search><parameter=a b>1</parameter></function>", /not a parameter name/],
    ["a second block opening inside the first", "<function=search><parameter=search_term>x</parameter><function=finish></function>", /no <\/function>/],
  ] as const) {
    it(`${what} gets an error for the reminder`, () => {
      const r = parseAction(reply);
      expect(r).to.have.property("error").that.matches(why);
      expect(reminder((r as { error: string }).error)).to.match(/<function=NAME>/);
    });
  }

  it("1 MB of text and binary bytes: an error or a call, no crash", () => {
    const big = "<function=".repeat(100_000) + "x".repeat(1_000_000);
    expect(parseAction(big)).to.have.property("error");
    const binary = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 131) % 256)).toString("latin1");
    expect(parseAction(binary)).to.have.property("error");
    const withBinaryValue = parseAction(`<function=execute_bash><parameter=cmd>echo ${binary.slice(0, 500)}</parameter></function>`);
    expect(withBinaryValue).to.have.property("call");
  });
});
