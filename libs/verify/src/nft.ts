// A closed-world reader of the nftables rulesets Bulkhead writes: tables, chains (type, hook,
// policy) and every rule as a sequence of understood statements — interface, address, protocol,
// port, conntrack, rate and NAT matches, counters, logs, verdicts and jumps. A statement outside
// that grammar is returned in `unknown` and reported.

export interface AddressMatch {
  family: 4 | 6;
  field: "saddr" | "daddr";
  negated: boolean;
  values: string[];
}

export interface NftRule {
  line: number;
  text: string;
  iifnames?: string[];
  oifnames?: string[];
  addresses: AddressMatch[];
  l4proto?: string[];
  dports?: { protocol: "tcp" | "udp"; values: string[] };
  icmp: boolean;
  nfproto?: "ipv4" | "ipv6";
  ctState?: string[];
  limit?: "under" | "over";
  verdict?: "accept" | "drop" | "reject" | "masquerade" | "snat" | "jump" | "goto" | "return";
  target?: string;
  snatTo: string[];
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

export interface Nftables {
  chains: NftChain[];
  unknown: { line: number; text: string }[];
}

/** Splits a rule into words, keeping quoted strings and `{ … }` sets whole. */
function tokens(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === " " || c === "\t") i++;
    else if (c === '"') {
      const end = text.indexOf('"', i + 1);
      out.push(text.slice(i, end < 0 ? text.length : end + 1));
      i = end < 0 ? text.length : end + 1;
    } else if (c === "{") {
      const end = text.indexOf("}", i);
      out.push(text.slice(i, end < 0 ? text.length : end + 1));
      i = end < 0 ? text.length : end + 1;
    } else {
      let j = i;
      while (j < text.length && text[j] !== " " && text[j] !== "\t") j++;
      out.push(text.slice(i, j));
      i = j;
    }
  }
  return out;
}

/** `{ "a", "b" }`, `"a"` or `a` → the items. */
const values = (token: string): string[] => (token.startsWith("{") ? token.slice(1, -1).split(",") : [token]).map((s) => s.trim().replace(/^"|"$/g, "")).filter(Boolean);

const UNITS = /^(bytes|kbytes|mbytes)\/(second|minute)$|^\d+\/(second|minute|hour)$/;

/** Reads one rule; returns undefined (and the caller reports it) at the first word outside the grammar. */
function readRule(text: string, line: number): NftRule | { unknownAt: string } {
  const w = tokens(text);
  const rule: NftRule = { line, text, addresses: [], icmp: false, snatTo: [] };
  let i = 0;
  const next = () => w[i++];
  while (i < w.length) {
    const word = next()!;
    if (word === "iifname" || word === "oifname") rule[word === "iifname" ? "iifnames" : "oifnames"] = values(next() ?? "");
    else if ((word === "ip" || word === "ip6") && (w[i] === "saddr" || w[i] === "daddr")) {
      const field = next() as "saddr" | "daddr";
      const negated = w[i] === "!=";
      if (negated) i++;
      rule.addresses.push({ family: word === "ip" ? 4 : 6, field, negated, values: values(next() ?? "") });
    } else if (word === "meta" && w[i] === "l4proto") {
      i++;
      const v = values(next() ?? "");
      if (v.some((x) => x === "icmp" || x === "ipv6-icmp")) rule.icmp = true;
      else rule.l4proto = v;
    } else if (word === "meta" && w[i] === "nfproto" && (w[i + 1] === "ipv4" || w[i + 1] === "ipv6")) {
      i++;
      rule.nfproto = next() as "ipv4" | "ipv6";
    } else if ((word === "tcp" || word === "udp") && w[i] === "dport") {
      i++;
      rule.dports = { protocol: word, values: values(next() ?? "") };
    } else if ((word === "icmp" || word === "icmpv6") && w[i] === "type") {
      i += 2;
      rule.icmp = true;
    } else if (word === "ct" && w[i] === "state") {
      i++;
      rule.ctState = values(next() ?? "").flatMap((v) => v.split(","));
    } else if (word === "limit" && w[i] === "rate") {
      i++;
      rule.limit = w[i] === "over" ? "over" : "under";
      if (w[i] === "over") i++;
      const amount = next() ?? "";
      if (/^\d+$/.test(amount) && UNITS.test(w[i] ?? "")) i++;
      else if (!UNITS.test(amount)) return { unknownAt: `limit rate ${amount}` };
      if (w[i] === "burst") i += 3;
    } else if (word === "log") {
      while (w[i] === "prefix" || w[i] === "level") i += 2;
    } else if (word === "counter") continue;
    else if (word === "comment") i++;
    else if (word === "accept" || word === "drop" || word === "reject" || word === "return") rule.verdict = word;
    else if (word === "jump" || word === "goto") {
      rule.verdict = word;
      rule.target = next();
    } else if (word === "masquerade") {
      rule.verdict = "masquerade";
      if (w[i] === "random") i++;
    } else if (word === "snat" && w[i] === "ip" && w[i + 1] === "to") {
      i += 2;
      rule.verdict = "snat";
      if (w[i] === "jhash") {
        // snat ip to jhash ip daddr mod N map { 0 : a, 1 : b }
        i += 5;
        rule.snatTo = values(next() ?? "").map((x) => x.split(":").at(-1)!.trim());
      } else rule.snatTo = [next() ?? ""];
    } else return { unknownAt: word };
  }
  return rule;
}

export function parseNft(text: string): Nftables {
  const result: Nftables = { chains: [], unknown: [] };
  let table = "";
  let chain: NftChain | undefined;
  text.split("\n").forEach((raw, i) => {
    const line = i + 1;
    const t = raw.trim();
    if (!t || t.startsWith("#")) return;
    const tableOpen = /^table\s+(inet|ip|ip6)\s+(\S+)\s*\{$/.exec(t);
    if (tableOpen) {
      table = `${tableOpen[1]} ${tableOpen[2]}`;
      return;
    }
    if (/^(table|delete table)\s+(inet|ip|ip6)\s+\S+$/.test(t)) return;
    const chainOpen = /^chain\s+(\S+)\s*\{$/.exec(t);
    if (chainOpen && table) {
      chain = { table, name: chainOpen[1]!, line, rules: [] };
      result.chains.push(chain);
      return;
    }
    if (t === "}") {
      if (chain) chain = undefined;
      else table = "";
      return;
    }
    if (!chain) {
      result.unknown.push({ line, text: t });
      return;
    }
    const base = /^type\s+(filter|nat)\s+hook\s+(\w+)\s+priority\s+[\w-]+;\s*policy\s+(accept|drop);$/.exec(t);
    if (base) {
      chain.type = base[1];
      chain.hook = base[2];
      chain.policy = base[3];
      return;
    }
    const rule = readRule(t, line);
    if ("unknownAt" in rule) result.unknown.push({ line, text: `${t} (at "${rule.unknownAt}")` });
    else chain.rules.push(rule);
  });
  return result;
}
