// The agent's metrics: counters, gauges (read when scraped) and samples (with histogram
// buckets), cheap enough for the hot path (an increment, a few additions), rendered in Consul's
// /v1/agent/metrics JSON shape or in the Prometheus text format. Values are cumulative since
// the agent started (Consul's in-memory sink resets them every 10 s interval).

export type Labels = Readonly<Record<string, string>>;

export interface Counter {
  inc(by?: number): void;
}

export interface Sample {
  observe(value: number): void;
}

/** Bucket upper bounds (milliseconds) of every sample's histogram. */
export const SAMPLE_BUCKETS_MS: readonly number[] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];

class Aggregate {
  count = 0;
  sum = 0;
  sumSq = 0;
  min = Infinity;
  max = -Infinity;
  readonly buckets = new Array<number>(SAMPLE_BUCKETS_MS.length).fill(0);

  add(v: number, bucketed: boolean): void {
    this.count++;
    this.sum += v;
    this.sumSq += v * v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (!bucketed) return;
    const i = SAMPLE_BUCKETS_MS.findIndex((b) => v <= b);
    if (i >= 0) this.buckets[i] = (this.buckets[i] as number) + 1;
  }

  /** Consul's AggregateSample fields. */
  json(seconds: number): { Count: number; Rate: number; Sum: number; Min: number; Max: number; Mean: number; Stddev: number } {
    const mean = this.count === 0 ? 0 : this.sum / this.count;
    const variance = this.count < 2 ? 0 : Math.max(0, (this.sumSq - this.count * mean * mean) / (this.count - 1));
    return { Count: this.count, Rate: this.sum / Math.max(1, seconds), Sum: this.sum, Min: this.count ? this.min : 0, Max: this.count ? this.max : 0, Mean: mean, Stddev: Math.sqrt(variance) };
  }
}

interface Series<T> {
  readonly name: string;
  readonly labels: Labels;
  readonly value: T;
}

export type GaugeReading = number | readonly { readonly labels: Labels; readonly value: number }[];

function key(name: string, labels: Labels): string {
  return `${name}${JSON.stringify(Object.entries(labels).sort())}`;
}

export class Metrics {
  /** `startMs`: when counting began (a counter's Rate is its Sum per second since then). */
  constructor(private readonly startMs = 0) {}

  private readonly counters = new Map<string, Series<Aggregate>>();
  private readonly samples = new Map<string, Series<Aggregate>>();
  private readonly gauges = new Map<string, { readonly name: string; readonly read: () => GaugeReading }>();

  /** The counter of this name and labels (create once, keep the handle: increments are then a few additions). */
  counter(name: string, labels: Labels = {}): Counter {
    const s = this.series(this.counters, name, labels);
    return { inc: (by = 1) => s.value.add(by, false) };
  }

  sample(name: string, labels: Labels = {}): Sample {
    const s = this.series(this.samples, name, labels);
    return { observe: (v) => s.value.add(v, true) };
  }

  /** A gauge read when the metrics are (one value, or one per label set). */
  gauge(name: string, read: () => GaugeReading): void {
    this.gauges.set(name, { name, read });
  }

  /** GET /v1/agent/metrics: Consul's shape. */
  json(nowMs: number): unknown {
    const d = new Date(nowMs).toISOString();
    const gauges = [...this.gauges.values()].flatMap((g) => readings(g.read()).map((r) => ({ Name: g.name, Value: r.value, Labels: r.labels })));
    const seconds = (nowMs - this.startMs) / 1000;
    const series = (m: Map<string, Series<Aggregate>>) => [...m.values()].sort(byName).map((s) => ({ Name: s.name, ...s.value.json(seconds), Labels: s.labels }));
    return {
      // Consul's format: "2017-08-08 02:55:10 +0000 UTC".
      Timestamp: `${d.slice(0, 10)} ${d.slice(11, 19)} +0000 UTC`,
      Gauges: gauges.sort(byName),
      Points: [],
      Counters: series(this.counters),
      Samples: series(this.samples),
    };
  }

  /** ?format=prometheus: the text exposition format (counters as `_total`, samples as histograms). */
  prometheus(): string {
    const out: string[] = [];
    const groups = <T>(m: Map<string, Series<T>>) => {
      const by = new Map<string, Series<T>[]>();
      for (const s of m.values()) by.set(s.name, [...(by.get(s.name) ?? []), s]);
      return [...by].sort(([a], [b]) => (a < b ? -1 : 1));
    };
    for (const g of [...this.gauges.values()].sort(byName)) {
      const n = promName(g.name);
      out.push(`# TYPE ${n} gauge`, ...readings(g.read()).map((r) => `${n}${promLabels(r.labels)} ${r.value}`));
    }
    for (const [name, list] of groups(this.counters)) {
      const n = `${promName(name)}_total`;
      out.push(`# TYPE ${n} counter`, ...list.map((s) => `${n}${promLabels(s.labels)} ${s.value.sum}`));
    }
    for (const [name, list] of groups(this.samples)) {
      const n = promName(name);
      out.push(`# TYPE ${n} histogram`);
      for (const s of list) {
        let cumulative = 0;
        SAMPLE_BUCKETS_MS.forEach((le, i) => {
          cumulative += s.value.buckets[i] as number;
          out.push(`${n}_bucket${promLabels({ ...s.labels, le: String(le) })} ${cumulative}`);
        });
        out.push(`${n}_bucket${promLabels({ ...s.labels, le: '+Inf' })} ${s.value.count}`, `${n}_sum${promLabels(s.labels)} ${s.value.sum}`, `${n}_count${promLabels(s.labels)} ${s.value.count}`);
      }
    }
    return `${out.join('\n')}\n`;
  }

  private series(m: Map<string, Series<Aggregate>>, name: string, labels: Labels): Series<Aggregate> {
    const k = key(name, labels);
    let s = m.get(k);
    if (!s) m.set(k, (s = { name, labels, value: new Aggregate() }));
    return s;
  }
}

function readings(r: GaugeReading): readonly { readonly labels: Labels; readonly value: number }[] {
  return typeof r === 'number' ? [{ labels: {}, value: r }] : r;
}

function byName(a: { name?: string; Name?: string }, b: { name?: string; Name?: string }): number {
  const x = a.name ?? a.Name ?? '';
  const y = b.name ?? b.Name ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

function promName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}

function promLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${promName(k)}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}
