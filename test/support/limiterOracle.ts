/**
 * An independent check of the limiter contract: given what was admitted when, with what
 * final charge, is any sliding window over a limit? Written without the limiter's code.
 */
export interface Admission {
  at: number;
  tokens: number;
}

export interface Violation {
  window: '60s' | '1s';
  dimension: 'requests' | 'tokens';
  endAt: number;
  value: number;
  limit: number;
}

/** Every window (end − w, end] that ends at an admission: the worst windows are among them. */
export function checkWindows(admissions: Admission[], rpm: number, tpm: number): Violation[] {
  const list = [...admissions].sort((a, b) => a.at - b.at);
  const out: Violation[] = [];
  const check = (w: number, label: '60s' | '1s', reqLimit: number, tokLimit: (largest: number) => number) => {
    let start = 0;
    let sum = 0;
    for (let end = 0; end < list.length; end++) {
      sum += list[end]!.tokens;
      while (list[start]!.at + w <= list[end]!.at) sum -= list[start++]!.tokens;
      // all admissions at the same instant as `end` count too
      let last = end;
      let extra = 0;
      while (last + 1 < list.length && list[last + 1]!.at === list[end]!.at) extra += list[++last]!.tokens;
      const count = last - start + 1;
      let largest = 0;
      for (let i = start; i <= last; i++) largest = Math.max(largest, list[i]!.tokens);
      if (count > reqLimit)
        out.push({ window: label, dimension: 'requests', endAt: list[end]!.at, value: count, limit: reqLimit });
      const limit = tokLimit(largest);
      if (sum + extra > limit + 1e-9)
        out.push({ window: label, dimension: 'tokens', endAt: list[end]!.at, value: sum + extra, limit });
    }
  };
  check(60_000, '60s', rpm, () => tpm);
  check(1_000, '1s', Math.ceil(rpm / 60), (largest) => Math.max(Math.ceil(tpm / 60), largest));
  return out;
}
