/** Number formatting for the one-line summaries read in `kubectl describe analysisrun`. */

export function fmtCount(n: number): string {
  return n >= 1e7 ? n.toExponential(2) : String(Math.round(n));
}

export function fmtPct(rate: number | null): string {
  if (rate === null) return 'n/a';
  const p = rate * 100;
  if (p === 0) return '0%';
  if (p >= 10) return `${p.toFixed(0)}%`;
  if (p >= 1) return `${p.toFixed(1)}%`;
  return `${Number(p.toPrecision(2))}%`;
}

export function fmtNum(x: number | null, digits = 2): string {
  if (x === null || !Number.isFinite(x)) return x === null ? 'n/a' : String(x);
  if (x !== 0 && (Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3)) return x.toExponential(1);
  return String(Number(x.toPrecision(digits)));
}

export function fmtMs(ms: number | null): string {
  if (ms === null) return 'n/a';
  return ms >= 1000 ? `${Number((ms / 1000).toPrecision(3))}s` : `${Number(ms.toPrecision(3))}ms`;
}
