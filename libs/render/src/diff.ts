// A unified line diff (longest common subsequence), for showing what a change would do to a
// device's configuration. Pure.

type Op = { kind: " " | "-" | "+"; line: string };

function operations(a: readonly string[], b: readonly string[]): Op[] {
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ kind: " ", line: a[i++]! });
      j++;
    } else if (i < a.length && (j === b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      ops.push({ kind: "-", line: a[i++]! });
    } else {
      ops.push({ kind: "+", line: b[j++]! });
    }
  }
  return ops;
}

/**
 * `from` → `to` as a unified diff with `context` lines around each change; empty when equal.
 * Lines are compared without their trailing newline.
 */
export function unifiedDiff(from: string, to: string, labels: { from: string; to: string }, context = 3): string {
  if (from === to) return "";
  const split = (text: string) => (text === "" ? [] : text.replace(/\n$/, "").split("\n"));
  const ops = operations(split(from), split(to));
  const changed = ops.map((op, k) => (op.kind !== " " ? k : -1)).filter((k) => k >= 0);
  const out = [`--- ${labels.from}`, `+++ ${labels.to}`];
  let k = 0;
  while (k < changed.length) {
    // A hunk spans changes closer than 2 × context to each other.
    const start = Math.max(0, changed[k]! - context);
    let end = changed[k]!;
    while (k < changed.length && changed[k]! - end <= 2 * context) end = changed[k++]!;
    end = Math.min(ops.length - 1, end + context);
    const before = ops.slice(0, start);
    const hunk = ops.slice(start, end + 1);
    const fromStart = before.filter((o) => o.kind !== "+").length;
    const toStart = before.filter((o) => o.kind !== "-").length;
    const fromCount = hunk.filter((o) => o.kind !== "+").length;
    const toCount = hunk.filter((o) => o.kind !== "-").length;
    out.push(`@@ -${fromStart + (fromCount > 0 ? 1 : 0)},${fromCount} +${toStart + (toCount > 0 ? 1 : 0)},${toCount} @@`);
    out.push(...hunk.map((o) => `${o.kind}${o.line}`));
  }
  return `${out.join("\n")}\n`;
}
