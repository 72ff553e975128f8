#!/usr/bin/env node
// The command line. The TypeScript sources compile into dist/ (npm install does it).
import { existsSync } from "node:fs";
const entry = new URL("./dist/driver.js", import.meta.url);
if (!existsSync(entry)) {
  console.error("troupe: dist/driver.js is missing: run `npm install` (it builds the project) in " + new URL(".", import.meta.url).pathname);
  process.exit(2);
}
await import(entry.href);
