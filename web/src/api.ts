// The server's HTTP API as the dashboard uses it (docs/api.md): typed
// fetch helpers that turn every failure into an ApiError with a message a
// person can act on.

export interface Run {
  id: string;
  project: string;
  name: string;
  state: string;
  group: string;
  tags: string[];
  notes: string;
  config: Record<string, unknown>;
  summary: Record<string, unknown>;
  host: unknown;
  message: string;
  world_size: number;
  created_ms: number;
  updated_ms: number;
  heartbeat_ms: number;
  finished_ms: number | null;
  resumed: number | boolean;
  metrics?: Record<string, SeriesInfo>;
}

export interface RunPage {
  runs: Run[];
  total: number;
  limit: number;
  offset: number;
}

export interface SeriesInfo {
  metric: string;
  labels: Record<string, string>;
  count: number;
  nan_count: number;
  first_step: number;
  last_step: number;
  first_time_ms: number;
  last_time_ms: number;
  last: number | string;
  min: number | string;
  max: number | string;
}

export interface SeriesData {
  run: string;
  metric: string;
  labels: Record<string, string>;
  x: string;
  count: number;
  downsampled: boolean;
  source_points: number;
  steps: number[];
  times: number[];
  values: (number | string)[];
}

export interface RunEvent {
  seq: number;
  time_ms: number;
  kind: string;
  message: string;
}

export interface Project {
  name: string;
  runs: number;
  running: number;
  last_activity_ms: number;
}

// GET /api/v1/runs/{id}/diagnosis (docs/api.md "Diagnosis"; numbers that
// are not finite arrive as null).
export interface Band {
  low: number | null;
  mid: number | null;
  high: number | null;
}

export interface Diagnosis {
  run: string;
  state: string;
  computed_ms: number;
  bottleneck: string;
  summary: string;
  evidence: { name: string; value: number | null; unit: string; text: string }[];
  suggestions: { rank: number; kind: string; text: string; numbers: Record<string, number> }[];
  breakdown: {
    window_from: number;
    window_to: number;
    steps: number;
    step_seconds: number;
    earlier_step_seconds: number | null;
    step_source: string;
    phases: { phase: string; seconds: number; share: number; earlier_share: number | null }[];
    per_step: Record<string, number[]>; // "steps" and one array per phase
  } | null;
  health: {
    window_from: number;
    window_to: number;
    loss: number | null;
    loss_change: number | null;
    dispersion: number | null;
    dispersion_change: number | null;
    grad_param_ratio: number | null;
    alert_fraction: number | null;
    lr: number | null;
    lr_peak: number | null;
    flat_steps: number | null;
  };
  forecast: {
    loss: LossForecast | null;
    loss_error?: string;
    pace: { seconds_per_step: number; steps_per_second: number; window_first_step: number; last_step: number; last_time_ms: number } | null;
    seconds_remaining: number | null;
    eta_ms: number | null;
    memory: { gpu: string; used_bytes: number; peak_bytes: number; limit_bytes: number; growth_bytes_per_s: number; seconds_to_oom: number | null } | null;
  };
  notes: string[];
}

export interface LossForecast {
  metric: string;
  fit: {
    model: string; a: number; b: number; c: number; flat: boolean; residual_scale: number; points: number; last_step: number;
    tau?: number; k?: number; backtest_error?: number | null;
  };
  planned_last_step: number | null;
  final: Band | null;
  target: { value: number | null; reached_step: number | null; step: Band | null; time_ms: Band | null; unreachable: boolean } | null;
  curve: { steps: (number | null)[]; low: (number | null)[]; mid: (number | null)[]; high: (number | null)[] };
}

// GET /api/v1/runs/{id}/ranks (distributed runs; /work contract, docs/api.md).
export interface RankInfo {
  rank: number;
  node: string;
  state: string; // alive, silent, finished, lost
  step: number | null;
  phase: string;
  phase_ms: number | null;
  last_seen_ms: number | null;
  step_s: number | null;
  compute_s: number | null;
  slowdown: number | null;
}

export interface Ranks {
  run: string;
  world_size: number;
  known: number;
  alive: number;
  finished: number;
  hang: { since_ms: number; ranks: number[]; message: string } | null;
  stragglers: { rank: number; node: string; slowdown: number; since_step: number; hint: string }[];
  step_time: { median_s: number | null; compute_median_s: number | null };
  ranks: RankInfo[];
  nodes: { node: string; ranks: number[]; slowdown: number | null }[];
  spread: { step: number; ranks: number; min_s: number; median_s: number; max_s: number; slowest_rank: number }[];
}

// GET /api/v1/runs/{id}/ranks/heatmap: values[row][col], rows in `ranks` order.
export interface RankHeatmap {
  metric: string;
  metrics: string[];
  ranks: number[];
  nodes: string[];
  step_from: number;
  step_to: number;
  bin: number;
  steps: number[];
  values: (number | string | null)[][];
  column_median: (number | string | null)[];
  row_mean: (number | string | null)[];
}

export class ApiError extends Error {
  constructor(
    public status: number, // 0: the server could not be reached
    public code: string,
    message: string,
  ) {
    super(message);
  }
  get unreachable(): boolean {
    return this.status === 0;
  }
}

// "NaN", "Infinity", "-Infinity" (the API's spelling of non-finite values).
export function toNumber(v: number | string | null | undefined): number {
  if (typeof v === "number") return v;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  return NaN;
}

async function request(path: string, init?: RequestInit): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, "unreachable", `cannot reach the vigil server at ${location.origin}`);
  }
  if (!res.ok) {
    let code = "http_" + res.status;
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = await res.json();
      if (body?.error) {
        code = body.error.code ?? code;
        message = body.error.message ?? message;
      }
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(res.status, code, message);
  }
  return res;
}

export async function getJson<T>(path: string): Promise<T> {
  const res = await request(path);
  return (await res.json()) as T;
}

export async function getText(path: string): Promise<string> {
  const res = await request(path);
  return await res.text();
}

export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") continue;
    u.set(k, String(v));
  }
  const s = u.toString();
  return s ? "?" + s : "";
}

export const api = {
  projects: () => getJson<{ projects: Project[] }>("/api/v1/projects"),
  runs: (p: Record<string, string | number | undefined>) => getJson<RunPage>("/api/v1/runs" + qs(p)),
  run: (id: string) => getJson<Run>(`/api/v1/runs/${encodeURIComponent(id)}`),
  events: (id: string) =>
    getJson<{ events: RunEvent[] }>(`/api/v1/runs/${encodeURIComponent(id)}/events`),
  metrics: (id: string) =>
    getJson<{ run: string; series: SeriesInfo[] }>(`/api/v1/runs/${encodeURIComponent(id)}/metrics`),
  series: (
    id: string,
    metric: string,
    labels: Record<string, string>,
    opts: { x?: "step" | "time"; from?: number; to?: number; points?: number },
  ) =>
    getJson<SeriesData>(
      `/api/v1/runs/${encodeURIComponent(id)}/series` +
        qs({
          metric,
          labels: Object.keys(labels).length ? JSON.stringify(labels) : undefined,
          x: opts.x,
          from: opts.from,
          to: opts.to,
          points: opts.points,
        }),
    ),
  diagnosis: (id: string, p: { target?: number; metric?: string; max_steps?: number } = {}) =>
    getJson<Diagnosis>(`/api/v1/runs/${encodeURIComponent(id)}/diagnosis` + qs(p)),
  ranks: (id: string) => getJson<Ranks>(`/api/v1/runs/${encodeURIComponent(id)}/ranks`),
  rankHeatmap: (id: string, p: { metric?: string; steps?: number; from?: number; to?: number } = {}) =>
    getJson<RankHeatmap>(`/api/v1/runs/${encodeURIComponent(id)}/ranks/heatmap` + qs(p)),
  seriesCsvUrl: (
    id: string,
    metric: string,
    labels: Record<string, string>,
    opts: { x?: "step" | "time"; from?: number; to?: number },
  ) =>
    `/api/v1/runs/${encodeURIComponent(id)}/series` +
    qs({
      metric,
      labels: Object.keys(labels).length ? JSON.stringify(labels) : undefined,
      x: opts.x,
      from: opts.from,
      to: opts.to,
      format: "csv",
    }),
};
