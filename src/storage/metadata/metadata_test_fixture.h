// Test-only: a fixture that opens a MetadataStore in a temporary directory,
// and helpers shared by the metadata store's tests.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "storage/metadata/metadata_store.h"
#include "testing/testing.h"

namespace vigil::storage {

// Fluent builders for the option structs (g++ warns about designated
// initializers that leave members without defaults unset):
//   Query().project("p").limit(10)
#define VIGIL_TEST_SETTER(field)      \
  template <typename V>               \
  auto& field(V&& v) {                \
    value.field = std::forward<V>(v); \
    return *this;                     \
  }

struct Query {
  RunQuery value;
  VIGIL_TEST_SETTER(project)
  VIGIL_TEST_SETTER(state)
  VIGIL_TEST_SETTER(tag)
  VIGIL_TEST_SETTER(group)
  VIGIL_TEST_SETTER(text)
  VIGIL_TEST_SETTER(sort)
  VIGIL_TEST_SETTER(descending)
  VIGIL_TEST_SETTER(limit)
  VIGIL_TEST_SETTER(offset)
  Query& config_equals(std::vector<std::pair<std::string, std::string>> v) {
    value.config_equals = std::move(v);
    return *this;
  }
  operator const RunQuery&() const { return value; }  // NOLINT(google-explicit-constructor)
};

struct Patch {
  RunPatch value;
  VIGIL_TEST_SETTER(name)
  VIGIL_TEST_SETTER(state)
  VIGIL_TEST_SETTER(group)
  VIGIL_TEST_SETTER(notes)
  VIGIL_TEST_SETTER(config_json)
  VIGIL_TEST_SETTER(summary_json)
  VIGIL_TEST_SETTER(host_json)
  VIGIL_TEST_SETTER(message)
  VIGIL_TEST_SETTER(world_size)
  VIGIL_TEST_SETTER(finished_ms)
  VIGIL_TEST_SETTER(heartbeat_ms)
  VIGIL_TEST_SETTER(increment_resumed)
  Patch& tags(std::vector<std::string> v) {
    value.tags = std::move(v);
    return *this;
  }
  operator const RunPatch&() const { return value; }  // NOLINT(google-explicit-constructor)
};

struct Event {
  EventRecord value;
  VIGIL_TEST_SETTER(run)
  VIGIL_TEST_SETTER(time_ms)
  VIGIL_TEST_SETTER(kind)
  VIGIL_TEST_SETTER(message)
  VIGIL_TEST_SETTER(data_json)
  operator const EventRecord&() const { return value; }  // NOLINT(google-explicit-constructor)
};

#undef VIGIL_TEST_SETTER

inline RunRecord MakeRun(std::string id, std::string project, int64_t created_ms) {
  RunRecord r;
  r.id = std::move(id);
  r.project = std::move(project);
  r.name = "name-" + r.id;
  r.created_ms = created_ms;
  r.updated_ms = created_ms;
  return r;
}

inline std::vector<std::string> Ids(const RunPage& page) {
  std::vector<std::string> ids;
  for (const auto& r : page.runs) ids.push_back(r.id);
  return ids;
}

inline void ExpectSameRun(const RunRecord& a, const RunRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.project, b.project);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.group, b.group);
  EXPECT_EQ(a.tags, b.tags);
  EXPECT_EQ(a.notes, b.notes);
  EXPECT_EQ(a.config_json, b.config_json);
  EXPECT_EQ(a.summary_json, b.summary_json);
  EXPECT_EQ(a.host_json, b.host_json);
  EXPECT_EQ(a.message, b.message);
  EXPECT_EQ(a.world_size, b.world_size);
  EXPECT_EQ(a.created_ms, b.created_ms);
  EXPECT_EQ(a.updated_ms, b.updated_ms);
  EXPECT_EQ(a.heartbeat_ms, b.heartbeat_ms);
  EXPECT_EQ(a.finished_ms, b.finished_ms);
  EXPECT_EQ(a.resumed, b.resumed);
}

// Runs one SQL statement on its own connection to the file (to look under
// the store, or to damage it) and returns the first column of the first row.
inline std::string RawQuery(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    ADD_FAILURE() << "open " << path << ": " << sqlite3_errmsg(db);
  } else {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
    } else {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
        out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
      }
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

class MetadataStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    store_.reset();
    auto opened = MetadataStore::Open({.path = path_});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
  }

  void Create(const RunRecord& run) {
    Status st = store_->CreateRun(run);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  RunPage List(const RunQuery& q) {
    auto page = store_->ListRuns(q);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    return page.ok() ? *page : RunPage{};
  }

  testing::TempDir dir_;
  std::string path_ = dir_.Join("metadata.sqlite");
  std::unique_ptr<MetadataStore> store_;
};

}  // namespace vigil::storage
