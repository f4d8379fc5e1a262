// Regenerates libs/api from proto/: protobuf-es code and the descriptor set used for reflection.
import { execFileSync } from "node:child_process";

const root = new URL("..", import.meta.url).pathname;
execFileSync("buf", ["format", "-w"], { cwd: root, stdio: "inherit" });
execFileSync("buf", ["generate"], { cwd: root, stdio: "inherit" });
execFileSync("buf", ["build", "--exclude-source-info", "-o", "libs/api/descriptors.binpb"], { cwd: root, stdio: "inherit" });
console.log("generated libs/api/src/gen and libs/api/descriptors.binpb");
