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
