// The on-disk format of alerts.sqlite (in the data directory, beside
// metadata.sqlite): alerts, the command queue of each run, and the record of
// each webhook delivery. A separate file from metadata.sqlite so that the
// alerting layer owns its schema and its write traffic (deliveries, alert
// bumps) never waits on the run metadata's lock.
//
// Versioned like metadata.sqlite: `PRAGMA user_version` is the number of the
// last migration applied; AlertStore::Open applies the newer ones, each in
// its own transaction with the new user_version. Append migrations, never
// edit a shipped one.
//
// Value columns that SQLite cannot hold exactly as the API needs them
// (doubles that may be NaN/Inf, labels, command args) are JSON text written
// by core/json_writer.h.
#pragma once

#include <iterator>
#include <string_view>

namespace vigil::alerting {

struct AlertStoreMigration {
  int version;
  std::string_view sql;
};

inline constexpr AlertStoreMigration kAlertStoreMigrations[] = {
    {1, R"sql(
-- One row per alert. An alert is opened `firing` and later `resolved`; while
-- it fires, further findings of the same (run, rule, series) only bump
-- `count` and the last_* columns (deduplication).
CREATE TABLE alerts (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  run           TEXT NOT NULL,
  project       TEXT NOT NULL DEFAULT '',
  rule          TEXT NOT NULL,              -- rule name, e.g. "builtin/spike"
  kind          TEXT NOT NULL,              -- FindingKindName
  metric        TEXT NOT NULL DEFAULT '',   -- '' for run-level alerts (stall)
  labels_json   TEXT NOT NULL DEFAULT '{}', -- JSON object of the series' labels
  series        TEXT NOT NULL DEFAULT '',   -- FormatSeriesName, the dedup key part
  step          INTEGER NOT NULL,           -- step of the first finding
  time_ms       INTEGER NOT NULL,           -- time of the first finding
  value_json    TEXT NOT NULL DEFAULT 'null', -- JSON number or "NaN"/"Infinity"
  score_json    TEXT NOT NULL DEFAULT '0',
  severity      TEXT NOT NULL,              -- info | warning | critical
  state         TEXT NOT NULL,              -- firing | resolved
  message       TEXT NOT NULL DEFAULT '',
  count         INTEGER NOT NULL DEFAULT 1, -- findings folded into this alert
  last_step     INTEGER NOT NULL,
  last_time_ms  INTEGER NOT NULL,
  resolved_step INTEGER NOT NULL DEFAULT 0,
  resolved_ms   INTEGER NOT NULL DEFAULT 0,
  created_ms    INTEGER NOT NULL            -- server wall time of the opening
);
-- Invariant: at most one firing alert per (run, rule, series).
CREATE UNIQUE INDEX alerts_firing_key ON alerts(run, rule, series) WHERE state = 'firing';
CREATE INDEX alerts_state ON alerts(state, id);
CREATE INDEX alerts_run ON alerts(run, id);

-- The command queue. seq is the command's id (as a decimal string in the
-- API). States: queued -> delivered -> acknowledged -> done | failed (an SDK
-- may go from delivered straight to done or failed).
CREATE TABLE commands (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  run          TEXT NOT NULL,
  type         TEXT NOT NULL,               -- pause|resume|stop|checkpoint|rollback|set
  args_json    TEXT NOT NULL DEFAULT '{}',  -- JSON object, validated by the caller
  state        TEXT NOT NULL,
  source       TEXT NOT NULL DEFAULT 'api', -- "api" or "rule:<name>"
  alert_id     INTEGER NOT NULL DEFAULT 0,  -- the alert whose rule queued it
  message      TEXT NOT NULL DEFAULT '',    -- the SDK's last ack message
  created_ms   INTEGER NOT NULL,
  delivered_ms INTEGER NOT NULL DEFAULT 0,
  acked_ms     INTEGER NOT NULL DEFAULT 0,
  finished_ms  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX commands_run_state ON commands(run, state, seq);
CREATE INDEX commands_state ON commands(state);

-- One row per webhook delivery attempt.
CREATE TABLE deliveries (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_id    INTEGER NOT NULL,
  event       TEXT NOT NULL,              -- "firing" | "resolved"
  webhook     TEXT NOT NULL,              -- the webhook's name
  url         TEXT NOT NULL,
  attempt     INTEGER NOT NULL,           -- 1, 2, ...
  http_status INTEGER NOT NULL DEFAULT 0, -- 0: no answer (transport error)
  ok          INTEGER NOT NULL,           -- 1 when 2xx
  error       TEXT NOT NULL DEFAULT '',
  time_ms     INTEGER NOT NULL,
  final       INTEGER NOT NULL DEFAULT 0  -- 1: no further attempt follows
);
CREATE INDEX deliveries_alert ON deliveries(alert_id, id);
)sql"},
};

inline constexpr int kAlertStoreSchemaVersion =
    kAlertStoreMigrations[std::size(kAlertStoreMigrations) - 1].version;

}  // namespace vigil::alerting
