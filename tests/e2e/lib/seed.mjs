// Seeded runs for the diagnosis and ranks tests (and for screenshots),
// written through the real HTTP API (Server from harness.mjs). Every
// number the tests check is derived here, from the seed's parameters.

// Deterministic noise in [-1, 1) (an LCG; the same sequence every run).
export function noise(seed = 1) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

// A single-process run that is input-bound: time/data takes 60% of each
// 200 ms step, and a power-law loss a*(step+1)^-b + c with 1% noise, with
// a planned last step in the config.
export const DIAG = {
  steps: 1000,
  maxSteps: 3000,
  stepMs: 200,
  phases: { data: 0.12, forward: 0.03, backward: 0.04, optimizer: 0.01 },
  loss: { a: 2, b: 0.5, c: 0.3, noise: 0.01 },
  config: { max_steps: 3000, num_workers: 2, batch_size: 64, lr: 0.001 },
};

export function diagLossAt(step) {
  const { a, b, c } = DIAG.loss;
  return a * Math.pow(step + 1, -b) + c;
}

export async function seedDiagnosisRun(server, { project = "diag", name = "input-bound" } = {}) {
  const run = await server.createRun({ project, name, config: DIAG.config });
  const n = DIAG.steps;
  const t0 = Date.now() - n * DIAG.stepMs;
  const steps = Array.from({ length: n }, (_, i) => i);
  const times = steps.map((s) => t0 + s * DIAG.stepMs);
  const rnd = noise(7);
  const series = Object.entries(DIAG.phases).map(([phase, secs]) => ({ metric: `time/${phase}`, steps, times, values: steps.map(() => secs) }));
  series.push({ metric: "train/loss", steps, times, values: steps.map((s) => diagLossAt(s) * (1 + DIAG.loss.noise * rnd())) });
  await server.log(run.id, series);
  return run;
}

// A distributed run: `world` ranks, `perNode` per node (node "n<k>"),
// time/data, time/forward, time/comm per rank with labels rank and node;
// rank `slowRank` computes `slowFactor` times slower (forward) and the
// others wait for it in comm, as a real all-reduce would.
export const DIST = {
  world: 64,
  perNode: 8,
  steps: 300,
  slowRank: 37,
  slowFactor: 1.6,
  stepMs: 60,
  phases: { data: 0.008, forward: 0.03, comm: 0.012 },
};

export async function seedDistributedRun(server, opts = {}) {
  const o = { ...DIST, ...opts };
  const run = await server.createRun({ project: o.project ?? "dist", name: o.name ?? `ddp-${o.world}`, world_size: o.world, rank: 0, config: { max_steps: o.steps * 10 } });
  const steps = Array.from({ length: o.steps }, (_, i) => i);
  const t0 = Date.now() - o.steps * o.stepMs;
  const times = steps.map((s) => t0 + s * o.stepMs);
  const rnd = noise(11);
  const extra = o.phases.forward * (o.slowFactor - 1);
  const metrics = o.metrics ?? Object.keys(o.phases);
  let batch = [];
  const flush = async () => {
    if (batch.length) await server.log(run.id, batch);
    batch = [];
  };
  for (let r = 0; r < o.world; r++) {
    const labels = { rank: String(r), node: `n${Math.floor(r / o.perNode)}` };
    for (const phase of metrics) {
      const base = o.phases[phase];
      const values = steps.map(() => {
        const j = 1 + 0.02 * rnd();
        if (phase === "forward" && r === o.slowRank) return base * o.slowFactor * j;
        if (phase === "comm" && r !== o.slowRank) return (base + extra) * j;
        return base * j;
      });
      batch.push({ metric: `time/${phase}`, labels, steps, times, values });
    }
    if (batch.length * o.steps >= 40_000) await flush();
  }
  await flush();
  return run;
}
