// The offline / spool run directory shared by the Python SDK, the C++ SDK
// and `vigil sync` (docs/cpp.md, "Offline mode"). All text is UTF-8 JSON.
//
//   <root>/<run id>/
//     run.json        one JSON object: the body of POST /api/v1/runs, with
//                     "id" (the SDK makes ids client-side when offline).
//                     Replaced atomically (write run.json.tmp, rename).
//     batches.jsonl   one columnar log body per line, exactly what would be
//                     POSTed to /api/v1/runs/{id}/log, each line terminated
//                     by '\n' and written with one write(2). A last line
//                     without '\n' (a crash mid-write) is torn: readers
//                     ignore it with a warning, and a writer reopening the
//                     file first terminates it so that its own lines stay
//                     whole.
//     finish.json     optional: the body of PATCH /api/v1/runs/{id} sent at
//                     finish ({"state": "finished", "summary": {...}}).
//     synced          written by `vigil sync` after a complete upload: the
//                     time as Unix milliseconds and ISO 8601. Syncing again
//                     still works and duplicates nothing.
//
// Example batches.jsonl line:
//   {"series":[{"metric":"train/loss","labels":{},"steps":[0,1],"times":[1732800000123,1732800000124],"values":[0.5,"NaN"]}]}
#pragma once

namespace vigil::client {

inline constexpr char kRunJsonFile[] = "run.json";
inline constexpr char kBatchesFile[] = "batches.jsonl";
inline constexpr char kFinishJsonFile[] = "finish.json";
inline constexpr char kSyncedFile[] = "synced";
// Default roots when neither an option nor the environment names one.
inline constexpr char kDefaultOfflineRoot[] = "./vigil-offline";   // $VIGIL_OFFLINE_DIR
inline constexpr char kDefaultSpoolRoot[] = ".cache/vigil/spool";  // under $HOME; $VIGIL_SPOOL_DIR

}  // namespace vigil::client
