// The JSON form of a Diagnosis, as GET /api/v1/runs/{id}/diagnosis answers
// it (docs/diagnosis.md shows an example): {"bottleneck", "summary",
// "evidence": [...], "suggestions": [...], "breakdown": {...} | null,
// "health": {...}, "forecast": {...}, "notes": [...]}. Absent values are
// null; a suggestion's "numbers" leave out the ones that are not known.
//
// Thread-safety: pure function.
#pragma once

#include "analysis/diagnosis/diagnosis.h"
#include "core/json_writer.h"

namespace vigil::analysis {

// Writes the diagnosis as one JSON object value.
void WriteDiagnosisJson(const Diagnosis& d, JsonWriter* w);

}  // namespace vigil::analysis
