// Evaluates one packet against a ruleset as the kernel loaded it (`nft -j list ruleset`): base
// chains of a hook in priority order, rules in order, jumps and gotos. A new connection is
// evaluated (ct state new); a `limit rate` is taken as not exceeded. Any expression or statement
// this evaluator does not understand makes the verdict `unknown`, naming it — never a guess.
import { inAny, within } from "./addresses.js";

export interface NftPacket {
  iif: string;
  oif: string;
  family: 4 | 6;
  saddr: string;
  daddr: string;
  protocol: "tcp" | "udp";
  dport: number;
}

export type NftVerdict = { verdict: "accept" | "drop"; rule?: string } | { verdict: "unknown"; what: string };

interface Chain {
  family: string;
  table: string;
  name: string;
  type?: string;
  hook?: string;
  prio?: number;
  policy?: string;
}

interface Rule {
  family: string;
  table: string;
  chain: string;
  expr: unknown[];
  comment?: string;
  handle?: number;
}

type Json = Record<string, unknown>;

class Unknown extends Error {}

function value(expr: unknown, p: NftPacket): unknown {
  if (typeof expr !== "object" || expr === null) return expr;
  const e = expr as Json;
  if ("meta" in e) {
    const key = (e.meta as Json).key;
    if (key === "iifname") return p.iif;
    if (key === "oifname") return p.oif;
    if (key === "l4proto") return p.protocol;
    if (key === "nfproto") return p.family === 4 ? "ipv4" : "ipv6";
    throw new Unknown(`meta ${String(key)}`);
  }
  if ("payload" in e) {
    const { protocol, field } = e.payload as Json;
    if (protocol === "ip" || protocol === "ip6") {
      if ((protocol === "ip") !== (p.family === 4)) return undefined; // another family: no match
      if (field === "saddr") return p.saddr;
      if (field === "daddr") return p.daddr;
    }
    if (protocol === "tcp" || protocol === "udp") {
      if (protocol !== p.protocol) return undefined;
      if (field === "dport") return p.dport;
    }
    if (protocol === "icmp" || protocol === "icmpv6") return undefined;
    throw new Unknown(`payload ${String(protocol)} ${String(field)}`);
  }
  if ("ct" in e) {
    if ((e.ct as Json).key === "state") return "new";
    throw new Unknown(`ct ${String((e.ct as Json).key)}`);
  }
  throw new Unknown(JSON.stringify(expr));
}

/** Whether a packet value matches a right-hand side: a literal, a prefix, a range or a set of them. */
function matches(left: unknown, right: unknown): boolean {
  if (left === undefined) return false;
  if (Array.isArray(right)) return right.some((r) => matches(left, r));
  if (typeof right === "object" && right !== null) {
    const r = right as Json;
    if ("set" in r) return (r.set as unknown[]).some((x) => matches(left, x));
    if ("prefix" in r) {
      const { addr, len } = r.prefix as { addr: string; len: number };
      return typeof left === "string" && within(left, `${addr}/${len}`);
    }
    if ("range" in r) {
      const [lo, hi] = r.range as [unknown, unknown];
      if (typeof left === "number") return left >= Number(lo) && left <= Number(hi);
      throw new Unknown(`address range ${JSON.stringify(r.range)}`);
    }
    throw new Unknown(`match against ${JSON.stringify(right)}`);
  }
  if (typeof left === "string" && typeof right === "string" && /[:.]/.test(right) && /^[0-9a-f:.]+$/i.test(right)) return inAny(left, [right]);
  return left === right;
}

type Outcome = "next" | "accept" | "drop" | "return" | { jump: string } | { goto: string };

function evaluateRule(rule: Rule, p: NftPacket): Outcome {
  for (const statement of rule.expr) {
    const s = statement as Json;
    if ("match" in s) {
      const { op, left, right } = s.match as { op: string; left: unknown; right: unknown };
      const l = value(left, p);
      const hit = op === "==" || op === "in" ? matches(l, right) : op === "!=" ? l !== undefined && !matches(l, right) : (() => {
        throw new Unknown(`match operator ${op}`);
      })();
      if (!hit) return "next";
    } else if ("counter" in s || "log" in s) continue;
    else if ("limit" in s) {
      if ((s.limit as Json).inv) return "next"; // `limit rate over`: not exceeded by one packet
    } else if ("accept" in s) return "accept";
    else if ("drop" in s || "reject" in s) return "drop";
    else if ("return" in s) return "return";
    else if ("jump" in s) return { jump: String((s.jump as Json).target) };
    else if ("goto" in s) return { goto: String((s.goto as Json).target) };
    else throw new Unknown(`statement ${Object.keys(s)[0]}`);
  }
  return "next";
}

export class Ruleset {
  private readonly chains: Chain[] = [];
  private readonly rules = new Map<string, Rule[]>();

  constructor(json: unknown) {
    for (const item of ((json as Json)?.nftables as Json[] | undefined) ?? []) {
      if (item.chain) this.chains.push(item.chain as Chain);
      if (item.rule) {
        const r = item.rule as Rule;
        const key = `${r.family} ${r.table} ${r.chain}`;
        this.rules.set(key, [...(this.rules.get(key) ?? []), r]);
      }
    }
  }

  private run(chain: Chain, p: NftPacket, depth: number): "accept" | "drop" | "return" | { rule: Rule; verdict: "accept" | "drop" } {
    if (depth > 16) throw new Unknown("jumps nested deeper than 16");
    for (const rule of this.rules.get(`${chain.family} ${chain.table} ${chain.name}`) ?? []) {
      const outcome = evaluateRule(rule, p);
      if (outcome === "next") continue;
      if (outcome === "accept" || outcome === "drop") return { rule, verdict: outcome };
      if (outcome === "return") return "return";
      const target = this.chains.find((c) => c.family === chain.family && c.table === chain.table && c.name === ("jump" in outcome ? outcome.jump : outcome.goto));
      if (!target) throw new Unknown(`jump to a chain that does not exist`);
      const inner = this.run(target, p, depth + 1);
      if (inner !== "return") return inner;
      if ("goto" in outcome) return "return";
    }
    return "return";
  }

  /** The verdict of a filter hook (`forward`, `input`) for a new connection. */
  verdict(hook: "forward" | "input", p: NftPacket): NftVerdict {
    try {
      const bases = this.chains.filter((c) => c.hook === hook && c.type === "filter" && (c.family === "inet" || c.family === (p.family === 4 ? "ip" : "ip6"))).sort((a, b) => (a.prio ?? 0) - (b.prio ?? 0));
      let last: Rule | undefined;
      for (const chain of bases) {
        const out = this.run(chain, p, 0);
        if (out === "accept" || out === "drop") return { verdict: out };
        if (out === "return") {
          if (chain.policy === "drop") return { verdict: "drop", rule: `policy of chain ${chain.name}` };
          continue;
        }
        last = out.rule;
        if (out.verdict === "drop") return { verdict: "drop", rule: describe(out.rule) };
      }
      return { verdict: "accept", rule: last ? describe(last) : "no base chain drops it" };
    } catch (error) {
      if (error instanceof Unknown) return { verdict: "unknown", what: error.message };
      throw error;
    }
  }

  /** What source address NAT gives a packet leaving through `oif`: the rule's target, `masquerade`, or none. */
  snat(p: NftPacket): { masquerade: true } | { to: string } | undefined {
    for (const chain of this.chains.filter((c) => c.hook === "postrouting" && c.type === "nat")) {
      for (const rule of this.rules.get(`${chain.family} ${chain.table} ${chain.name}`) ?? []) {
        let all = true;
        for (const statement of rule.expr) {
          const s = statement as Json;
          if ("match" in s) {
            const { op, left, right } = s.match as { op: string; left: unknown; right: unknown };
            try {
              const l = value(left, p);
              if (!(op === "!=" ? l !== undefined && !matches(l, right) : matches(l, right))) all = false;
            } catch {
              all = false;
            }
          } else if (all && "masquerade" in s) return { masquerade: true };
          else if (all && "snat" in s) {
            const addr = (s.snat as Json).addr;
            return typeof addr === "string" ? { to: addr } : { masquerade: true };
          }
        }
      }
    }
    return undefined;
  }
}

const describe = (rule: Rule) => `${rule.chain}${rule.comment ? ` "${rule.comment}"` : ` rule ${rule.handle ?? "?"}`}`;
