#include "mcval/catalog/sqlite_catalog.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "temp_dir.h"

namespace mcval::catalog {
namespace {

using testing::TempDir;

SlideRecord make_record(const std::string& relative_path, SlideStatus status = SlideStatus::ok) {
  SlideRecord r;
  r.relative_path = relative_path;
  r.id = make_slide_id(relative_path);
  r.centre = relative_path.substr(0, relative_path.find('/'));
  r.file_bytes = 1000;
  r.mtime_ns = 1'700'000'000'123'456'789;
  r.sha256 = std::string(64, 'a');
  r.status = status;
  r.scanned_at = "2026-01-02T03:04:05.678Z";
  if (status == SlideStatus::ok) r.properties.levels = {{100, 80, 1.0}};
  return r;
}

// Runs one query with sqlite directly and returns the first column of the first row.
std::string query_text(const std::filesystem::path& file, const char* sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  std::string result;
  if (sqlite3_step(stmt) == SQLITE_ROW) result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

TEST(SlideRecord, StatusStringsRoundTrip) {
  for (SlideStatus s : {SlideStatus::ok, SlideStatus::unreadable, SlideStatus::removed}) {
    EXPECT_EQ(slide_status_from_string(to_string(s)), s);
  }
  EXPECT_EQ(to_string(SlideStatus::unreadable), "unreadable");
  EXPECT_FALSE(slide_status_from_string("OK").has_value());
}

TEST(SlideRecord, IdIsSixteenHexDigitsOfThePathHash) {
  const std::string id = make_slide_id("centre-a/x/1.svs");
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(id, make_slide_id("centre-a/x/1.svs"));
  EXPECT_NE(id, make_slide_id("centre-a/x/2.svs"));
  // FIPS 180-2 test vector: SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223...
  EXPECT_EQ(make_slide_id("abc"), "ba7816bf8f01cfea");
}

TEST(SqliteCatalog, CreatesParentFolderAndUsesWal) {
  TempDir dir;
  const auto file = dir.path() / "nested" / "deeper" / "catalog.db";
  auto catalog = SqliteCatalog::open(file);
  ASSERT_TRUE(catalog.ok()) << catalog.error().to_string();
  EXPECT_TRUE(std::filesystem::exists(file));
  EXPECT_EQ((*catalog)->schema_version(), 3);
  EXPECT_EQ(query_text(file, "PRAGMA journal_mode"), "wal");
}

TEST(SqliteCatalog, MigrationsAreIdempotentOnReopen) {
  TempDir dir;
  const auto file = dir.path() / "catalog.db";
  {
    auto catalog = SqliteCatalog::open(file);
    ASSERT_TRUE(catalog.ok()) << catalog.error().to_string();
    ASSERT_TRUE((*catalog)->upsert_slide(make_record("c/1.svs")).ok());
  }
  for (int i = 0; i < 2; ++i) {
    auto catalog = SqliteCatalog::open(file);
    ASSERT_TRUE(catalog.ok()) << catalog.error().to_string();
    EXPECT_EQ((*catalog)->schema_version(), 3);
    auto slides = (*catalog)->list_slides(std::nullopt, false);
    ASSERT_TRUE(slides.ok());
    ASSERT_EQ(slides->size(), 1u);
    EXPECT_EQ(slides->front().relative_path, "c/1.svs");
  }
  EXPECT_EQ(query_text(file, "SELECT COUNT(*) FROM schema_migrations"), "3");
  EXPECT_FALSE(query_text(file, "SELECT applied_at FROM schema_migrations WHERE version = 1").empty());
}

TEST(SqliteCatalog, MigratesAVersionOneDatabaseKeepingItsSlides) {
  TempDir dir;
  const auto file = dir.path() / "catalog.db";
  {
    auto catalog = SqliteCatalog::open(file);
    ASSERT_TRUE(catalog.ok());
    ASSERT_TRUE((*catalog)->upsert_slide(make_record("c/1.svs")).ok());
  }
  // Roll the file back to what version 1 of mcval left behind.
  for (const char* table : {"datasets", "sessions", "pending_logins", "catalog_state", "scan_lease"}) {
    query_text(file, (std::string("DROP TABLE ") + table).c_str());
  }
  query_text(file, "DELETE FROM schema_migrations WHERE version >= 2");
  auto catalog = SqliteCatalog::open(file);
  ASSERT_TRUE(catalog.ok()) << catalog.error().to_string();
  EXPECT_EQ((*catalog)->schema_version(), 3);
  EXPECT_EQ((*catalog)->list_slides(std::nullopt, false)->size(), 1u);
  EXPECT_TRUE((*catalog)->list_datasets()->empty());
  // Migrated step by step, the schema equals one created fresh.
  const auto fresh = dir.path() / "fresh.db";
  ASSERT_TRUE(SqliteCatalog::open(fresh).ok());
  const char* schema = "SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_master WHERE sql IS NOT NULL "
                       "AND name <> 'schema_migrations' ORDER BY name)";
  EXPECT_EQ(query_text(file, schema), query_text(fresh, schema));
}

TEST(SqliteCatalog, DatasetsAreFrozenUnderTheirName) {
  TempDir dir;
  auto catalog = SqliteCatalog::open(dir.path() / "catalog.db");
  ASSERT_TRUE(catalog.ok());
  StoredDataset d{"prostate-v1", std::string(64, 'a'), 3, "truth.csv", "2026-11-23T00:00:00Z", R"({"rows":[]})"};
  auto first = (*catalog)->save_dataset(d);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_TRUE(*first);
  auto again = (*catalog)->save_dataset(d);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);  // same content: nothing to do
  StoredDataset changed = d;
  changed.sha256 = std::string(64, 'b');
  auto refused = (*catalog)->save_dataset(changed);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::invalid_argument);
  auto found = (*catalog)->find_dataset("prostate-v1");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->sha256, d.sha256);
  EXPECT_EQ(found->content_json, d.content_json);
  EXPECT_EQ((*catalog)->find_dataset("other").error().code, ErrorCode::not_found);
  auto listed = (*catalog)->list_datasets();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE(listed->front().content_json.empty());
  EXPECT_EQ(listed->front().rows, 3);
}

TEST(SqliteCatalog, RefusesADatabaseFromANewerSchema) {
  TempDir dir;
  const auto file = dir.path() / "catalog.db";
  ASSERT_TRUE(SqliteCatalog::open(file).ok());
  query_text(file, "INSERT INTO schema_migrations (version, applied_at) VALUES (99, 'later')");
  auto catalog = SqliteCatalog::open(file);
  ASSERT_FALSE(catalog.ok());
  EXPECT_EQ(catalog.error().code, ErrorCode::database_error);
  EXPECT_NE(catalog.error().detail.find("99"), std::string::npos) << catalog.error().detail;
}

TEST(SqliteCatalog, RoundTripsEveryField) {
  TempDir dir;
  auto catalog = SqliteCatalog::open(dir.path() / "catalog.db");
  ASSERT_TRUE(catalog.ok());

  SlideRecord full = make_record("centre-a/x/it's \"quoted\"; DROP TABLE slides;.svs");
  full.centre = "centre-a";
  full.file_bytes = 5'000'000'000;
  full.mtime_ns = -1'000'000'001;  // before the epoch
  full.sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  full.status_reason = "";
  auto& p = full.properties;
  p.vendor = "aperio";
  p.levels = {{46000, 32914, 1.0}, {11500, 8228, 4.000243}, {2875, 2057, 16.0015}};
  p.mpp_x = 0.4990;
  p.mpp_y = 0.4991;
  p.objective_power = 20;
  p.associated_images = {"label", "macro", "thumbnail"};
  p.background_rgb[0] = 1;
  p.background_rgb[1] = 128;
  p.background_rgb[2] = 254;
  p.level_tile_width = {240, 240, 240};
  p.level_tile_height = {240, 240, 0};

  SlideRecord bare = make_record("centre-b/unreadable.ndpi", SlideStatus::unreadable);
  bare.status_reason = "Unsupported or missing image file";
  bare.sha256 = "";

  ASSERT_TRUE((*catalog)->upsert_slides({full, bare}).ok());

  auto got = (*catalog)->find_slide(full.id);
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  EXPECT_EQ(got->id, full.id);
  EXPECT_EQ(got->centre, full.centre);
  EXPECT_EQ(got->relative_path, full.relative_path);
  EXPECT_EQ(got->file_bytes, full.file_bytes);
  EXPECT_EQ(got->mtime_ns, full.mtime_ns);
  EXPECT_EQ(got->sha256, full.sha256);
  EXPECT_EQ(got->status, SlideStatus::ok);
  EXPECT_EQ(got->status_reason, "");
  EXPECT_EQ(got->scanned_at, full.scanned_at);
  const auto& q = got->properties;
  EXPECT_EQ(q.vendor, "aperio");
  ASSERT_EQ(q.levels.size(), 3u);
  for (std::size_t i = 0; i < q.levels.size(); ++i) {
    EXPECT_EQ(q.levels[i].width, p.levels[i].width);
    EXPECT_EQ(q.levels[i].height, p.levels[i].height);
    EXPECT_EQ(q.levels[i].downsample, p.levels[i].downsample);  // exact, not approximate
  }
  EXPECT_EQ(q.mpp_x, p.mpp_x);
  EXPECT_EQ(q.mpp_y, p.mpp_y);
  EXPECT_EQ(q.objective_power, p.objective_power);
  EXPECT_EQ(q.associated_images, p.associated_images);
  EXPECT_EQ(q.background_rgb[0], 1);
  EXPECT_EQ(q.background_rgb[1], 128);
  EXPECT_EQ(q.background_rgb[2], 254);
  EXPECT_EQ(q.level_tile_width, p.level_tile_width);
  EXPECT_EQ(q.level_tile_height, p.level_tile_height);

  auto got_bare = (*catalog)->find_slide(bare.id);
  ASSERT_TRUE(got_bare.ok());
  EXPECT_EQ(got_bare->status, SlideStatus::unreadable);
  EXPECT_EQ(got_bare->status_reason, bare.status_reason);
  EXPECT_EQ(got_bare->sha256, "");
  EXPECT_FALSE(got_bare->properties.mpp_x.has_value());
  EXPECT_FALSE(got_bare->properties.mpp_y.has_value());
  EXPECT_FALSE(got_bare->properties.objective_power.has_value());
  EXPECT_TRUE(got_bare->properties.levels.empty());
  EXPECT_TRUE(got_bare->properties.associated_images.empty());
  EXPECT_EQ(got_bare->properties.background_rgb[0], 255);
}

TEST(SqliteCatalog, UpsertReplacesTheRecordWithTheSameId) {
  TempDir dir;
  auto catalog = SqliteCatalog::open(dir.path() / "catalog.db");
  ASSERT_TRUE(catalog.ok());
  SlideRecord r = make_record("c/1.svs");
  ASSERT_TRUE((*catalog)->upsert_slide(r).ok());
  r.file_bytes = 42;
  r.status = SlideStatus::unreadable;
  r.status_reason = "truncated";
  ASSERT_TRUE((*catalog)->upsert_slide(r).ok());
  auto all = (*catalog)->list_slides(std::nullopt, true);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().file_bytes, 42);
  EXPECT_EQ(all->front().status_reason, "truncated");
}

TEST(SqliteCatalog, FailedBatchWritesNothing) {
  TempDir dir;
  auto catalog = SqliteCatalog::open(dir.path() / "catalog.db");
  ASSERT_TRUE(catalog.ok());
  SlideRecord a = make_record("c/1.svs");
  SlideRecord clash = make_record("c/1.svs");
  clash.id = "another-id";  // same relative_path, different id: violates UNIQUE
  auto written = (*catalog)->upsert_slides({a, clash});
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, ErrorCode::database_error);
  EXPECT_NE(written.error().detail.find("UNIQUE"), std::string::npos) << written.error().detail;
  auto all = (*catalog)->list_slides(std::nullopt, true);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
}

TEST(SqliteCatalog, ListsByCentreThenPathAndFiltersRemoved) {
  TempDir dir;
  auto catalog = SqliteCatalog::open(dir.path() / "catalog.db");
  ASSERT_TRUE(catalog.ok());
  ASSERT_TRUE((*catalog)
                  ->upsert_slides({make_record("b/2.svs"), make_record("a-b/z.svs"), make_record("a/2.svs"),
                                   make_record("a/1.svs"), make_record("a/0.svs", SlideStatus::removed)})
                  .ok());
  auto active = (*catalog)->list_slides(std::nullopt, false);
  ASSERT_TRUE(active.ok());
  std::vector<std::string> paths;
  for (const auto& r : *active) paths.push_back(r.relative_path);
  EXPECT_EQ(paths, (std::vector<std::string>{"a/1.svs", "a/2.svs", "a-b/z.svs", "b/2.svs"}));

  auto centre_a = (*catalog)->list_slides(std::string("a"), true);
  ASSERT_TRUE(centre_a.ok());
  paths.clear();
  for (const auto& r : *centre_a) paths.push_back(r.relative_path);
  EXPECT_EQ(paths, (std::vector<std::string>{"a/0.svs", "a/1.svs", "a/2.svs"}));

  auto none = (*catalog)->list_slides(std::string("a' OR '1'='1"), true);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(SqliteCatalog, ListCentresCountsSlidesNotRemoved) {
  TempDir dir;
  auto catalog = SqliteCatalog::open(dir.path() / "catalog.db");
  ASSERT_TRUE(catalog.ok());
  SlideRecord big = make_record("a/big.svs");
  big.file_bytes = 3'000'000'000;
  ASSERT_TRUE((*catalog)
                  ->upsert_slides({big, make_record("a/1.svs"), make_record("a/bad.svs", SlideStatus::unreadable),
                                   make_record("a/gone.svs", SlideStatus::removed), make_record("b/1.svs"),
                                   make_record("only-removed/x.svs", SlideStatus::removed)})
                  .ok());
  auto centres = (*catalog)->list_centres();
  ASSERT_TRUE(centres.ok()) << centres.error().to_string();
  ASSERT_EQ(centres->size(), 2u);
  EXPECT_EQ((*centres)[0].name, "a");
  EXPECT_EQ((*centres)[0].slide_count, 3);
  EXPECT_EQ((*centres)[0].unreadable_count, 1);
  EXPECT_EQ((*centres)[0].total_bytes, 3'000'002'000);
  EXPECT_EQ((*centres)[1].name, "b");
  EXPECT_EQ((*centres)[1].slide_count, 1);
  EXPECT_EQ((*centres)[1].unreadable_count, 0);
  EXPECT_EQ((*centres)[1].total_bytes, 1000);
}

TEST(SqliteCatalog, FindsUnknownIdAsSlideNotFound) {
  TempDir dir;
  auto catalog = SqliteCatalog::open(dir.path() / "catalog.db");
  ASSERT_TRUE(catalog.ok());
  auto found = (*catalog)->find_slide("0000000000000000");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code, ErrorCode::slide_not_found);
}

TEST(SqliteCatalog, GarbageFileIsADatabaseError) {
  TempDir dir;
  std::string garbage;
  for (int i = 0; i < 8192; ++i) garbage.push_back(static_cast<char>((i * 7919) % 251));
  const auto file = dir.write("garbage.db", garbage);
  auto catalog = SqliteCatalog::open(file);
  ASSERT_FALSE(catalog.ok());
  EXPECT_EQ(catalog.error().code, ErrorCode::database_error);
  EXPECT_NE(catalog.error().detail.find("not a database"), std::string::npos) << catalog.error().detail;

  const auto text = dir.write("short.db", "this is not sqlite");
  auto short_catalog = SqliteCatalog::open(text);
  ASSERT_FALSE(short_catalog.ok());
  EXPECT_EQ(short_catalog.error().code, ErrorCode::database_error);
}

TEST(SqliteCatalog, UnopenablePathIsADatabaseError) {
  TempDir dir;
  dir.write("a-file", "x");
  auto catalog = SqliteCatalog::open(dir.path() / "a-file" / "catalog.db");
  ASSERT_FALSE(catalog.ok());
  EXPECT_EQ(catalog.error().code, ErrorCode::database_error);
}

TEST(SqliteCatalog, CorruptJsonColumnIsADatabaseError) {
  TempDir dir;
  const auto file = dir.path() / "catalog.db";
  auto catalog = SqliteCatalog::open(file);
  ASSERT_TRUE(catalog.ok());
  const SlideRecord r = make_record("c/1.svs");
  ASSERT_TRUE((*catalog)->upsert_slide(r).ok());
  query_text(file, "UPDATE slides SET levels_json = '{not json'");
  auto found = (*catalog)->find_slide(r.id);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code, ErrorCode::database_error);
}

TEST(SqliteCatalog, SafeToUseFromManyThreads) {
  TempDir dir;
  auto catalog = SqliteCatalog::open(dir.path() / "catalog.db");
  ASSERT_TRUE(catalog.ok());
  SlideCatalog& shared = **catalog;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&shared, t] {
      for (int i = 0; i < 25; ++i) {
        EXPECT_TRUE(shared.upsert_slide(make_record("c" + std::to_string(t) + "/" + std::to_string(i) + ".svs")).ok());
        EXPECT_TRUE(shared.list_centres().ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  auto all = shared.list_slides(std::nullopt, false);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 100u);
}

}  // namespace
}  // namespace mcval::catalog
