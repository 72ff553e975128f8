// finish: the agent declares it is done; the trajectory ends.
import { fail, ok, type Tool } from "./types.js";

export const finish: Tool = async (_ctx, params) => {
  const c = (params.command ?? "submit").trim();
  if (c !== "submit") return fail(`finish takes --command submit, not '${c}'.`);
  return ok("<<<Finished>>>", true);
};
