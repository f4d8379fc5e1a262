// The one rule for numeric flags: a whole number within bounds, or an error naming the flag; and
// the error of a command line that cannot run as given (exit 2, like a missing flag).

/** The command line is wrong: printed once with the command's name, exit code 2. */
export class UsageError extends Error {}

export interface WholeNumberRule {
  fallback: number;
  min: number;
  max: number;
  /** What the number counts, for the error: "seconds", "days", "events". */
  unit: string;
}

/** `text` (the flag's value, "" or undefined when absent) as a whole number; throws naming `--name` otherwise. */
export function wholeNumber(name: string, text: string | undefined, rule: WholeNumberRule): number {
  if (text === undefined || text === "") return rule.fallback;
  const value = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < rule.min || value > rule.max) {
    throw new UsageError(`--${name}: a whole number of ${rule.unit} from ${rule.min} to ${rule.max}, not ${JSON.stringify(text)}`);
  }
  return value;
}
