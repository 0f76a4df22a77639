// The store's behaviour, one suite run against both engines: SQLite in a temporary folder and a
// real PostgreSQL 15 (started for the tests by the `postgres` CTest fixture,
// tests/integration/postgres_server.py; its URL in MCVAL_TEST_PG_STATE/url).
#include "mcval/catalog/catalog_store.h"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "mcval/catalog/postgres_catalog.h"
#include "mcval/catalog/sqlite_catalog.h"
#include "mcval/catalog/store_copy.h"
#include "mcval/common/files.h"
#include "mcval/common/strings.h"
#include "temp_dir.h"

namespace mcval::catalog {
namespace {

using testing::TempDir;

std::string read_line(const std::filesystem::path& file) {
  auto text = read_file(file);
  return text.ok() ? std::string(trim(*text)) : std::string();
}

/// The fixture's PostgreSQL: URL and password, or empty when the fixture is not there.
struct PostgresFixture {
  std::string url;
  std::string password;
};

PostgresFixture postgres_fixture() {
  const char* state = std::getenv("MCVAL_TEST_PG_STATE");
  if (state == nullptr) return {};
  return {read_line(std::filesystem::path(state) / "url"), read_line(std::filesystem::path(state) / "password")};
}

/// Runs SQL on the fixture's database with libpq directly (test set-up, not the code under test).
void postgres_exec(const PostgresFixture& pg, const std::string& sql) {
  const char* keys[] = {"dbname", "password", nullptr};
  const char* values[] = {pg.url.c_str(), pg.password.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 1);
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PGresult* result = PQexec(conn, sql.c_str());
  const auto status = PQresultStatus(result);
  EXPECT_TRUE(status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) << PQresultErrorMessage(result);
  PQclear(result);
  PQfinish(conn);
}

SlideRecord make_record(const std::string& relative_path, SlideStatus status = SlideStatus::ok) {
  SlideRecord r;
  r.relative_path = relative_path;
  r.id = make_slide_id(relative_path);
  r.centre = relative_path.substr(0, relative_path.find('/'));
  r.file_bytes = 1000 + static_cast<std::int64_t>(relative_path.size());
  r.mtime_ns = 1'700'000'000'123'456'789;
  r.sha256 = std::string(64, 'a');
  r.status = status;
  r.status_reason = status == SlideStatus::unreadable ? "not a TIFF" : "";
  r.scanned_at = "2026-01-02T03:04:05.678Z";
  if (status == SlideStatus::ok) {
    r.properties.vendor = "aperio";
    r.properties.levels = {{46000, 32914, 1.0}, {11500, 8228, 4.000217}};
    r.properties.mpp_x = 0.49900000000000000022;
    r.properties.mpp_y = 0.1 + 0.2;  // not exactly 0.3: must survive both engines exactly
    r.properties.associated_images = {"label", "macro"};
    r.properties.level_tile_width = {240, 240};
    r.properties.level_tile_height = {240, 240};
    r.properties.background_rgb[0] = 255;
    r.properties.background_rgb[1] = 250;
    r.properties.background_rgb[2] = 245;
  }
  return r;
}

StoredSession make_session(const std::string& key, const std::string& user, std::int64_t ends) {
  return {key, user, "Dr. " + user, R"({"subject":")" + user + "\"}", "csrf-" + key, "refresh-" + key, ends - 100, ends,
          ends - 1000};
}

class CatalogStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      pg_ = postgres_fixture();
      if (pg_.url.empty()) GTEST_FAIL() << "MCVAL_TEST_PG_STATE names no running PostgreSQL fixture";
      postgres_exec(pg_, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
    }
  }

  StoreOptions options() const {
    StoreOptions o;
    o.data_folder = dir_.path();
    if (GetParam() == "postgresql") {
      o.url = pg_.url;
      o.password = pg_.password;
    }
    return o;
  }

  std::unique_ptr<CatalogStore> open() {
    auto opened = open_catalog_store(options());
    EXPECT_TRUE(opened.ok()) << opened.error().to_string();
    return opened.ok() ? std::move(opened).value() : nullptr;
  }

  /// Runs SQL on the store's database directly (to fake what another version wrote).
  void raw_sql(const std::string& sql) {
    if (GetParam() == "postgresql") {
      postgres_exec(pg_, sql);
      return;
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() / "catalog.sqlite").c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }

  TempDir dir_;
  PostgresFixture pg_;
};

TEST_P(CatalogStoreTest, MigratesOnceAndReportsItsEngine) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->engine(), GetParam());
  EXPECT_EQ(store->schema_version(), 3);
  EXPECT_TRUE(store->ping().ok());
  EXPECT_EQ(*store->catalog_version(), 0);
  store.reset();
  auto again = open();  // nothing left to migrate
  ASSERT_TRUE(again);
  EXPECT_EQ(again->schema_version(), 3);
  EXPECT_EQ(again->describe().find("password"), std::string::npos);
}

TEST_P(CatalogStoreTest, RefusesADatabaseNewerThanItself) {
  ASSERT_TRUE(open());
  raw_sql("INSERT INTO schema_migrations (version, applied_at) VALUES (99, 'later')");
  auto opened = open_catalog_store(options());
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().detail.find("schema version 99, newer than this mcval supports (3)"), std::string::npos)
      << opened.error().detail;
}

TEST_P(CatalogStoreTest, KeepsEverySlideFieldExactly) {
  auto store = open();
  ASSERT_TRUE(store);
  const auto ok = make_record("centre-a/x/1.svs");
  auto unreadable = make_record("centre-b/2.svs", SlideStatus::unreadable);
  unreadable.properties.mpp_x.reset();
  ASSERT_TRUE(store->upsert_slides({ok, unreadable}).ok());
  EXPECT_EQ(*store->catalog_version(), 1);
  auto found = store->find_slide(ok.id);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->relative_path, ok.relative_path);
  EXPECT_EQ(found->mtime_ns, ok.mtime_ns);
  EXPECT_EQ(found->properties.mpp_x, ok.properties.mpp_x);  // bit for bit
  EXPECT_EQ(found->properties.mpp_y, ok.properties.mpp_y);
  EXPECT_EQ(found->properties.levels.size(), 2u);
  EXPECT_EQ(found->properties.levels[1].downsample, 4.000217);
  EXPECT_EQ(found->properties.associated_images, ok.properties.associated_images);
  for (int c = 0; c < 3; ++c) EXPECT_EQ(found->properties.background_rgb[c], ok.properties.background_rgb[c]);
  auto other = store->find_slide(unreadable.id);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->properties.mpp_x.has_value());
  EXPECT_EQ(other->status_reason, "not a TIFF");
  EXPECT_EQ(store->find_slide("0000000000000000").error().code, ErrorCode::slide_not_found);

  auto changed = ok;
  changed.status = SlideStatus::removed;
  ASSERT_TRUE(store->upsert_slide(changed).ok());
  EXPECT_EQ(*store->catalog_version(), 2);
  EXPECT_EQ(store->list_slides(std::nullopt, false)->size(), 1u);
  EXPECT_EQ(store->list_slides(std::nullopt, true)->size(), 2u);
  const auto centres = store->list_centres();
  ASSERT_TRUE(centres.ok());
  ASSERT_EQ(centres->size(), 1u);
  EXPECT_EQ((*centres)[0].name, "centre-b");
  EXPECT_EQ((*centres)[0].unreadable_count, 1);
}

TEST_P(CatalogStoreTest, PagesByCursorInTheSameOrderInBothEngines) {
  auto store = open();
  ASSERT_TRUE(store);
  std::vector<SlideRecord> records;
  std::vector<std::string> paths;
  for (int i = 0; i < 25; ++i) {
    const std::string centre = i % 3 == 0 ? "centre-a" : i % 3 == 1 ? "Centre-B" : "centre-c";
    const std::string path = centre + "/case-" + std::to_string(100 + i) + (i == 7 ? "-Tumour" : "") + ".svs";
    records.push_back(make_record(path, i == 24 ? SlideStatus::removed : i == 23 ? SlideStatus::unreadable
                                                                                   : SlideStatus::ok));
    if (i != 24) paths.push_back(path);
  }
  ASSERT_TRUE(store->upsert_slides(records).ok());
  std::sort(paths.begin(), paths.end());  // byte order: "Centre-B" before "centre-a"

  std::vector<std::string> seen;
  SlidePageQuery query;
  query.limit = 10;
  int pages = 0;
  while (true) {
    auto page = store->list_slides_page(query);
    ASSERT_TRUE(page.ok()) << page.error().to_string();
    for (const auto& s : page->slides) seen.push_back(s.relative_path);
    ++pages;
    if (page->next_after.empty()) break;
    query.after_path = page->next_after;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, paths);

  query = {};
  query.descending = true;
  query.limit = 5;
  auto last = store->list_slides_page(query);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->slides.front().relative_path, paths.back());

  query = {};
  query.centres = std::vector<std::string>{"Centre-B"};
  query.name_contains = "TUMOUR";
  auto tumour = store->list_slides_page(query);
  ASSERT_TRUE(tumour.ok());
  ASSERT_EQ(tumour->slides.size(), 1u);
  EXPECT_EQ(tumour->slides[0].relative_path, "Centre-B/case-107-Tumour.svs");

  query = {};
  query.centres = std::vector<std::string>{};  // a caller who may see no centre sees nothing
  EXPECT_TRUE(store->list_slides_page(query)->slides.empty());

  query = {};
  query.status = SlideStatus::removed;
  auto removed = store->list_slides_page(query);
  ASSERT_TRUE(removed.ok());
  ASSERT_EQ(removed->slides.size(), 1u);
  EXPECT_EQ(removed->slides[0].status, SlideStatus::removed);

  query = {};
  query.limit = 0;
  EXPECT_EQ(store->list_slides_page(query).error().code, ErrorCode::invalid_argument);
}

TEST_P(CatalogStoreTest, DatasetsAreFrozen) {
  auto store = open();
  ASSERT_TRUE(store);
  const StoredDataset d{"truth", std::string(64, 'b'), 3, "truth.csv", "2026-01-01T00:00:00Z", R"({"rows":[]})"};
  EXPECT_TRUE(*store->save_dataset(d));
  EXPECT_FALSE(*store->save_dataset(d));
  auto other = d;
  other.sha256 = std::string(64, 'c');
  EXPECT_EQ(store->save_dataset(other).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(store->find_dataset("truth")->content_json, d.content_json);
  EXPECT_EQ(store->list_datasets()->at(0).content_json, "");
  EXPECT_EQ(store->find_dataset("nope").error().code, ErrorCode::not_found);
}

TEST_P(CatalogStoreTest, SessionsEndRenewAndRevoke) {
  auto store = open();
  ASSERT_TRUE(store);
  const std::int64_t now = 2'000'000'000;
  ASSERT_TRUE(store->put_session(make_session("aaaaaaaa11", "alice", now + 3600)).ok());
  ASSERT_TRUE(store->put_session(make_session("aaaaaaaa22", "alice", now + 3600)).ok());
  ASSERT_TRUE(store->put_session(make_session("bbbbbbbb33", "bob", now + 3600)).ok());
  ASSERT_TRUE(store->put_session(make_session("cccccccc44", "carol", now - 1)).ok());  // ended

  auto found = store->find_session("bbbbbbbb33", now);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->csrf_token, "csrf-bbbbbbbb33");
  EXPECT_EQ((*found)->refresh_token, "refresh-bbbbbbbb33");
  EXPECT_FALSE(store->find_session("cccccccc44", now)->has_value());
  EXPECT_EQ(store->list_sessions(now)->size(), 3u);

  EXPECT_TRUE(*store->update_session_tokens("bbbbbbbb33", R"({"renewed":true})", now + 600, "refresh-2"));
  EXPECT_EQ((*store->find_session("bbbbbbbb33", now))->refresh_token, "refresh-2");
  EXPECT_FALSE(*store->update_session_tokens("nobody", "{}", now, ""));

  EXPECT_EQ(*store->revoke_sessions("alice", ""), 2);
  EXPECT_EQ(store->revoke_sessions("", "bbb").error().code, ErrorCode::invalid_argument);  // too short
  EXPECT_EQ(store->revoke_sessions("alice", "bbbbbbbb").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(*store->revoke_sessions("", "bbbbbbbb"), 1);
  EXPECT_TRUE(store->list_sessions(now)->empty());
  EXPECT_EQ(*store->purge_expired(now), 1);  // carol's ended one
  ASSERT_TRUE(store->put_session(make_session("dddddddd55", "dan", now + 10)).ok());
  EXPECT_TRUE(*store->delete_session("dddddddd55"));
  EXPECT_FALSE(*store->delete_session("dddddddd55"));
}

TEST_P(CatalogStoreTest, ASignInIsTakenOnceEvenByConcurrentCallbacks) {
  auto store = open();
  ASSERT_TRUE(store);
  const std::int64_t now = 2'000'000'000;
  ASSERT_TRUE(store->put_pending_login({"state-1", "binding", "nonce", "verifier", "/viewer", now + 600}).ok());
  ASSERT_TRUE(store->put_pending_login({"state-old", "b", "n", "v", "/", now - 1}).ok());
  std::atomic<int> winners{0};
  std::vector<std::thread> callbacks;
  for (int i = 0; i < 8; ++i) {
    callbacks.emplace_back([&] {
      auto taken = store->take_pending_login("state-1", now);
      if (taken.ok() && taken->has_value() && (*taken)->code_verifier == "verifier") ++winners;
    });
  }
  for (auto& t : callbacks) t.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_FALSE(store->take_pending_login("state-old", now)->has_value());  // expired
  EXPECT_FALSE(store->take_pending_login("never", now)->has_value());
}

TEST_P(CatalogStoreTest, OneScanLeaseAcrossProcesses) {
  auto a = open();
  auto b = open();  // a second process on the same store
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(*a->acquire_scan_lease("replica-a", std::chrono::seconds(60)));
  EXPECT_FALSE(*b->acquire_scan_lease("replica-b", std::chrono::seconds(60)));
  EXPECT_TRUE(*a->acquire_scan_lease("replica-a", std::chrono::seconds(60)));  // renewed
  ASSERT_TRUE(a->release_scan_lease("replica-a").ok());
  EXPECT_TRUE(*b->acquire_scan_lease("replica-b", std::chrono::seconds(-5)));  // taken, already expired
  EXPECT_TRUE(*a->acquire_scan_lease("replica-a", std::chrono::seconds(60)));  // a dead holder's lease lapses
}

TEST_P(CatalogStoreTest, ACopyIntoAnotherStoreIsVerified) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->upsert_slides({make_record("centre-a/1.svs"), make_record("centre-b/2.svs", SlideStatus::removed)})
                  .ok());
  ASSERT_TRUE(store->save_dataset({"truth", std::string(64, 'b'), 2, "t.csv", "2026", "{}"}).ok());
  ASSERT_TRUE(store->put_session(make_session("aaaaaaaa11", "alice", 4'000'000'000)).ok());

  auto copy = SqliteCatalog::open(dir_.path() / "copy" / "backup.sqlite");
  ASSERT_TRUE(copy.ok());
  auto copied = copy_store(*store, **copy, {});
  ASSERT_TRUE(copied.ok()) << copied.error().to_string();
  ASSERT_EQ(copied->size(), 3u);
  EXPECT_EQ((*copied)[0].rows, 2);
  EXPECT_EQ((*copied)[1].rows, 1);
  EXPECT_EQ((*copied)[2].rows, 1);
  EXPECT_EQ(*digest_store(**copy), *digest_store(*store));
  EXPECT_EQ((*copy)->find_slide(make_slide_id("centre-b/2.svs"))->status, SlideStatus::removed);

  auto again = copy_store(*store, **copy, {});  // the target is no longer empty
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().detail.find("not empty"), std::string::npos);
}

TEST_P(CatalogStoreTest, ReplicasStartingTogetherMigrateOnce) {
  std::vector<std::thread> replicas;
  std::atomic<int> opened{0};
  for (int i = 0; i < 4; ++i) {
    replicas.emplace_back([&] {
      auto store = open_catalog_store(options());
      if (store.ok() && (*store)->schema_version() == 3) ++opened;
    });
  }
  for (auto& t : replicas) t.join();
  EXPECT_EQ(opened.load(), 4);
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->upsert_slide(make_record("centre-a/1.svs")).ok());  // one slides table, usable
  EXPECT_EQ(store->list_slides(std::nullopt, true)->size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(BothEngines, CatalogStoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const ::testing::TestParamInfo<std::string>& engine) { return engine.param; });

TEST(PostgresCatalog, AnUnreachableServerIsUnavailableWithinTheConnectTimeout) {
  StoreOptions options;
  options.url = "postgresql://mcval@127.0.0.1:1/mcval";  // nothing listens on port 1
  const auto started = std::chrono::steady_clock::now();
  auto opened = open_catalog_store(options);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::database_unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST(PostgresCatalog, AWrongPasswordIsRefusedWithoutEchoingIt) {
  const auto pg = postgres_fixture();
  if (pg.url.empty()) GTEST_FAIL() << "no PostgreSQL fixture";
  StoreOptions options;
  options.url = pg.url;
  options.password = "not-the-password";
  auto opened = open_catalog_store(options);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().detail.find("not-the-password"), std::string::npos);
  EXPECT_NE(opened.error().detail.find("password authentication failed"), std::string::npos)
      << opened.error().detail;
}

TEST(CatalogStore, UrlsChooseTheEngineAndNeverShowAPassword) {
  EXPECT_EQ(*store_engine(""), "sqlite");
  EXPECT_EQ(*store_engine("sqlite:///data/catalog.sqlite"), "sqlite");
  EXPECT_EQ(*store_engine("postgresql://mcval@db/mcval"), "postgresql");
  EXPECT_EQ(*store_engine("postgres://mcval@db/mcval"), "postgresql");
  EXPECT_EQ(store_engine("mysql://x").error().code, ErrorCode::config_invalid);
  EXPECT_EQ(redact_database_url("postgresql://mcval:s3cret@db:5432/mcval?sslmode=verify-full"),
            "postgresql://mcval:***@db:5432/mcval?sslmode=verify-full");
  EXPECT_EQ(redact_database_url("postgresql://db/mcval?user=a&password=s3cret&sslmode=require"),
            "postgresql://db/mcval?user=a&password=***&sslmode=require");
  EXPECT_EQ(store_engine("mysql://u:s3cret@x").error().detail.find("s3cret"), std::string::npos);
}

}  // namespace
}  // namespace mcval::catalog
