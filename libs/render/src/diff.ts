// A unified line diff, for showing what a change would do to a device's configuration. Pure.
// Myers' algorithm (jsdiff) within an edit budget; past it — texts too different to diff in
// bounded time and memory — the changed middle is shown whole: still a correct diff, not a minimal one.
import { structuredPatch } from "diff";

/** Changed lines Myers may find before the diff falls back to the changed middle shown whole. */
export const DIFF_EDIT_BUDGET = 2_000;
/** And the time it may take for that. */
const DIFF_TIMEOUT_MS = 250;

interface Hunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  lines: string[];
}

const split = (text: string) => (text === "" ? [] : text.replace(/\n$/, "").split("\n"));

/** One hunk from the first differing line to the last, with `context` lines around it. */
function wholeMiddle(a: readonly string[], b: readonly string[], context: number): Hunk {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const start = Math.max(0, head - context);
  const after = Math.min(tail, context);
  const before = a.slice(start, head).map((l) => ` ${l}`);
  const removed = a.slice(head, a.length - tail).map((l) => `-${l}`);
  const added = b.slice(head, b.length - tail).map((l) => `+${l}`);
  const trailing = a.slice(a.length - tail, a.length - tail + after).map((l) => ` ${l}`);
  const lines = [...before, ...removed, ...added, ...trailing];
  return { oldStart: start + 1, oldLines: lines.length - added.length, newStart: start + 1, newLines: lines.length - removed.length, lines };
}

/**
 * `from` → `to` as a unified diff with `context` lines around each change; empty when equal.
 * Lines are compared without their trailing newline.
 */
export function unifiedDiff(from: string, to: string, labels: { from: string; to: string }, context = 3): string {
  if (from === to) return "";
  const a = split(from);
  const b = split(to);
  const text = (lines: readonly string[]) => (lines.length === 0 ? "" : `${lines.join("\n")}\n`);
  const patch = structuredPatch(labels.from, labels.to, text(a), text(b), undefined, undefined, { context, maxEditLength: DIFF_EDIT_BUDGET, timeout: DIFF_TIMEOUT_MS });
  const hunks: Hunk[] = patch?.hunks ?? [wholeMiddle(a, b, context)];
  // A side with no lines is addressed by the line before it (0 at the start of the file).
  const range = (start: number, count: number) => `${count === 0 ? start - 1 : start},${count}`;
  const out = [`--- ${labels.from}`, `+++ ${labels.to}`];
  for (const h of hunks) out.push(`@@ -${range(h.oldStart, h.oldLines)} +${range(h.newStart, h.newLines)} @@`, ...h.lines);
  return `${out.join("\n")}\n`;
}
