// @bulkhead/cli as a library: the command table and the runner (the launcher's tests use them).
export { commands, type Command } from "./commands.js";
export { run, type Io } from "./main.js";
