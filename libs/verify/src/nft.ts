// A reader of the nftables rulesets Bulkhead writes: tables, chains (type, hook, policy) and their
// rules with what isolation depends on — interfaces, source and destination addresses, verdict,
// NAT — each with its line.

export interface NftRule {
  line: number;
  text: string;
  iifnames: string[];
  oifnames: string[];
  saddr: string[];
  daddr: string[];
  /** `accept`, `drop`, `reject`, `masquerade`, `snat`, `dnat`, `jump`, … or "" (no verdict: counter, log). */
  verdict: string;
  /** Matches only packets of established or related connections. */
  established: boolean;
}

export interface NftChain {
  table: string;
  name: string;
  line: number;
  type?: string;
  hook?: string;
  policy?: string;
  rules: NftRule[];
}

const VERDICTS = ["accept", "drop", "reject", "masquerade", "snat", "dnat", "jump", "goto", "return"];

/** `{ "a", "b" }` or `"a"` or `10.0.0.0/8` → the items. */
function items(text: string, keyword: RegExp): string[] {
  const m = keyword.exec(text);
  if (!m) return [];
  const rest = text.slice(m.index + m[0].length).trimStart();
  const raw = rest.startsWith("{") ? rest.slice(1, rest.indexOf("}")) : rest.split(/\s+/)[0]!;
  return raw
    .split(",")
    .map((s) => s.trim().replace(/^"|"$/g, ""))
    .filter(Boolean);
}

export function parseNft(text: string): NftChain[] {
  const chains: NftChain[] = [];
  let table = "";
  let chain: NftChain | undefined;
  text.split("\n").forEach((raw, i) => {
    const line = i + 1;
    const t = raw.trim();
    if (!t || t.startsWith("#")) return;
    const tableMatch = /^table\s+(\w+)\s+(\S+)\s*\{/.exec(t);
    if (tableMatch) {
      table = `${tableMatch[1]} ${tableMatch[2]}`;
      return;
    }
    const chainMatch = /^chain\s+(\S+)\s*\{/.exec(t);
    if (chainMatch) {
      chain = { table, name: chainMatch[1]!, line, rules: [] };
      chains.push(chain);
      return;
    }
    if (t === "}") {
      if (chain) chain = undefined;
      else table = "";
      return;
    }
    if (!chain) return;
    const base = /^type\s+(\w+)\s+hook\s+(\w+)\s+priority\s+[^;]+;\s*(?:policy\s+(\w+);)?/.exec(t);
    if (base) {
      chain.type = base[1];
      chain.hook = base[2];
      chain.policy = base[3] ?? "accept";
      return;
    }
    const words = t.replace(/comment\s+".*"$/, "").split(/\s+/);
    const verdict = [...words].reverse().find((w) => VERDICTS.includes(w)) ?? "";
    chain.rules.push({
      line,
      text: t,
      iifnames: items(t, /\biifname\s+/),
      oifnames: items(t, /\boifname\s+/),
      saddr: items(t, /\bip6?\s+saddr\s+(?!!=)/),
      daddr: items(t, /\bip6?\s+daddr\s+(?!!=)/),
      verdict,
      established: /\bct state\s+(established|related|established,related|\{ ?established, ?related ?\})\b/.test(t),
    });
  });
  return chains;
}
