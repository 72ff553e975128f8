// Credentials never leave in what Troupe records or prints: traces (their resource carries the
// process's command line), logs, error messages and run folders get URLs without their user
// information and flags or variables that name a secret without its value.

const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@'"]+@/gi;
const SECRET_FLAG = /(--?(?:token|password|pass|nkey|seed|creds|api[-_]?key|secret)(?:=|\s+))(?!\*\*\*)[^\s'"]+/gi;
const SECRET_VARIABLE = /\b([A-Z0-9_]*(?:TOKEN|PASSWORD|SECRET|SEED|NKEY|API_KEY)[A-Z0-9_]*=)(?!\*\*\*)[^\s'"]+/g;

/** `text` with the credentials it may hold replaced by "***". */
export function redact(text: string): string {
  return text.replace(URL_USERINFO, "$1***@").replace(SECRET_FLAG, "$1***").replace(SECRET_VARIABLE, "$1***");
}

/** A recorded value (a string, or a list of them) redacted; anything else as it is. */
export function redactValue<T>(v: T): T {
  if (typeof v === "string") return redact(v) as T;
  if (Array.isArray(v)) {
    // A flag and its value may be separate arguments: the value after a secret flag goes too.
    return v.map((x, i) => (typeof x !== "string" ? x : i > 0 && typeof v[i - 1] === "string" && /^--?(?:token|password|pass|nkey|seed|creds|api[-_]?key|secret)$/i.test(v[i - 1] as string) ? "***" : redact(x))) as T;
  }
  return v;
}
