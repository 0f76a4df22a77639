// The shared store's benchmark: the same operations on SQLite (the baseline) and PostgreSQL,
// printed side by side. Not a test: bench/store/run_store_bench.sh starts a PostgreSQL, runs this
// and writes bench/results/store-<date>.md.
//
//   store_bench --slides 1000000 --centres 20 --postgres URL --password-file F --out F.json
//
// Measured per engine, on a fresh store: bulk load of the catalogue (batches of 10,000), find by
// id (random ids, one thread), the first page and a deep page of one centre (keyset cursor), a
// rescan of unchanged files (--scan-files real files under a temporary root, catalogued first:
// only size and mtime are compared), session lookups per second from 64 threads.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "mcval/catalog/catalog_scanner.h"
#include "mcval/catalog/catalog_store.h"
#include "mcval/common/files.h"
#include "mcval/common/strings.h"
#include "mcval/slide/openslide_source.h"

namespace {

using namespace mcval;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

catalog::SlideRecord synthetic_slide(int centre, std::int64_t n) {
  catalog::SlideRecord r;
  char name[64];
  std::snprintf(name, sizeof name, "centre-%02d/case-%07lld.svs", centre, static_cast<long long>(n));
  r.relative_path = name;
  r.id = catalog::make_slide_id(r.relative_path);
  r.centre = r.relative_path.substr(0, r.relative_path.find('/'));
  r.file_bytes = 500'000'000 + n;
  r.mtime_ns = 1'700'000'000'000'000'000 + n;
  r.sha256 = std::string(64, 'f');
  r.scanned_at = "2026-12-07T00:00:00Z";
  r.properties.vendor = "aperio";
  r.properties.levels = {{98304, 76800, 1.0}, {24576, 19200, 4.0}, {6144, 4800, 16.0}};
  r.properties.mpp_x = r.properties.mpp_y = 0.2527;
  r.properties.level_tile_width = r.properties.level_tile_height = {240, 240, 240};
  return r;
}

struct Figures {
  nlohmann::json json = nlohmann::json::object();
  void add(const std::string& name, double value, const std::string& unit) {
    json[name] = {{"value", value}, {"unit", unit}};
    std::printf("  %-38s %14.3f %s\n", name.c_str(), value, unit.c_str());
    std::fflush(stdout);
  }
};

int fail(const Error& e) {
  std::fprintf(stderr, "store_bench: %s\n", e.to_string().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The shared store's benchmark: SQLite and PostgreSQL side by side"};
  std::int64_t slides = 1'000'000;
  int centres = 20;
  int scan_files = 100'000;
  std::string postgres_url, password_file, out;
  app.add_option("--slides", slides, "Catalogued slides")->capture_default_str();
  app.add_option("--centres", centres, "Centres they are spread over")->capture_default_str();
  app.add_option("--scan-files", scan_files, "Unchanged files of the rescan")->capture_default_str();
  app.add_option("--postgres", postgres_url, "PostgreSQL URL (an empty database); empty: SQLite only");
  app.add_option("--password-file", password_file, "PostgreSQL password file");
  app.add_option("--out", out, "Write the figures as JSON here");
  CLI11_PARSE(app, argc, argv);

  const auto work = std::filesystem::temp_directory_path() / ("mcval-store-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(work);
  nlohmann::json all = {{"slides", slides}, {"centres", centres}, {"scan_files", scan_files}};

  std::vector<std::pair<std::string, catalog::StoreOptions>> engines;
  catalog::StoreOptions sqlite;
  sqlite.url = "sqlite://" + (work / "catalog.sqlite").string();
  engines.emplace_back("sqlite", sqlite);
  if (!postgres_url.empty()) {
    catalog::StoreOptions pg;
    pg.url = postgres_url;
    pg.pool_size = 64;
    pg.statement_timeout = std::chrono::milliseconds(600'000);
    if (!password_file.empty()) {
      auto text = read_file(password_file);
      if (!text.ok()) return fail(text.error());
      pg.password = std::string(trim(*text));
    }
    engines.emplace_back("postgresql", pg);
  }

  // The rescan's files: empty files named like slides, under <root>/centre-NN/.
  const auto scan_root = work / "slides";
  for (int i = 0; i < scan_files; ++i) {
    const auto file = scan_root / ("centre-" + std::to_string(i % centres)) / ("scan-" + std::to_string(i) + ".svs");
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << "x";
  }

  for (auto& [engine, options] : engines) {
    std::printf("%s\n", engine.c_str());
    Figures f;
    auto opened = catalog::open_catalog_store(options);
    if (!opened.ok()) return fail(opened.error());
    auto& store = **opened;

    auto start = Clock::now();
    const std::int64_t per_centre = slides / centres;
    std::vector<catalog::SlideRecord> batch;
    for (std::int64_t i = 0; i < slides; ++i) {
      batch.push_back(synthetic_slide(static_cast<int>(i % centres), i));
      if (batch.size() == 10'000 || i + 1 == slides) {
        if (auto s = store.upsert_slides(batch); !s.ok()) return fail(s.error());
        batch.clear();
      }
    }
    f.add("load (slides/s)", static_cast<double>(slides) / seconds_since(start), "slides/s");

    std::mt19937_64 rng(7);
    constexpr int kFinds = 20'000;
    start = Clock::now();
    for (int i = 0; i < kFinds; ++i) {
      const auto n = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(slides));
      auto found = store.find_slide(catalog::make_slide_id(synthetic_slide(static_cast<int>(n % centres), n).relative_path));
      if (!found.ok()) return fail(found.error());
    }
    f.add("find by id (1 thread)", kFinds / seconds_since(start), "lookups/s");

    catalog::SlidePageQuery query;
    query.centres = std::vector<std::string>{"centre-07"};
    query.limit = 100;
    start = Clock::now();
    constexpr int kPages = 200;
    for (int i = 0; i < kPages; ++i) {
      auto page = store.list_slides_page(query);
      if (!page.ok()) return fail(page.error());
    }
    f.add("first page of a centre (100 rows)", 1000.0 * seconds_since(start) / kPages, "ms");
    // A deep page: the cursor of the last page but one of the centre.
    char deep[64];
    std::snprintf(deep, sizeof deep, "centre-07/case-%07lld.svs", static_cast<long long>((per_centre - 150) * centres + 7));
    query.after_path = deep;
    start = Clock::now();
    for (int i = 0; i < kPages; ++i) {
      auto page = store.list_slides_page(query);
      if (!page.ok()) return fail(page.error());
      if (page->slides.empty()) return fail(Error{ErrorCode::internal, "the deep page is empty"});
    }
    f.add("deep page of a centre (100 rows)", 1000.0 * seconds_since(start) / kPages, "ms");

    // Rescan of unchanged files: catalogue them first (one scan), then time the second.
    slide::OpenSlideSource source;
    catalog::CatalogScanner scanner(store, source);
    catalog::ScanOptions scan_options;
    scan_options.threads = 2;
    scan_options.hash_files = false;
    if (auto first = scanner.scan(scan_root, scan_options); !first.ok()) return fail(first.error());
    start = Clock::now();
    auto rescan = scanner.scan(scan_root, scan_options);
    if (!rescan.ok()) return fail(rescan.error());
    f.add("rescan of unchanged files", seconds_since(start), "s");
    if (rescan->unchanged != scan_files) return fail(Error{ErrorCode::internal, "the rescan saw changes"});

    // Sessions: 10,000 stored, looked up from 64 threads for 3 s.
    const std::int64_t now = std::time(nullptr);
    for (int i = 0; i < 10'000; ++i) {
      catalog::StoredSession s{std::to_string(1'000'000 + i), "user", "name", "{}", "csrf", "", now + 3600,
                               now + 7200, now};
      if (auto put = store.put_session(s); !put.ok()) return fail(put.error());
    }
    std::atomic<std::int64_t> lookups{0};
    std::atomic<bool> stop{false};
    std::atomic<bool> failed{false};
    std::vector<std::thread> clients;
    for (int t = 0; t < 64; ++t) {
      clients.emplace_back([&, t] {
        std::mt19937 local(static_cast<unsigned>(t));
        while (!stop) {
          auto found = store.find_session(std::to_string(1'000'000 + local() % 10'000), now);
          if (!found.ok() || !*found) failed = true;
          ++lookups;
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::seconds(3));
    stop = true;
    for (auto& c : clients) c.join();
    if (failed) return fail(Error{ErrorCode::internal, "a session lookup failed"});
    f.add("session lookups (64 threads)", static_cast<double>(lookups) / 3.0, "lookups/s");
    all[engine] = f.json;
  }
  std::filesystem::remove_all(work);
  if (!out.empty()) std::ofstream(out) << all.dump(2) << "\n";
  return 0;
}
