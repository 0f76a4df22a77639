#include "mcval/catalog/catalog_scanner.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fake_slide_source.h"
#include "mcval/catalog/sqlite_catalog.h"
#include "mcval/common/sha256.h"
#include "temp_dir.h"

namespace mcval::catalog {
namespace {

namespace fs = std::filesystem;
using testing::FakeSlideSource;
using testing::TempDir;

class CatalogScannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = SqliteCatalog::open(dir_.path() / "catalog.db");
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    catalog_ = std::move(*opened);
    fs::create_directories(root());
  }

  fs::path root() const { return dir_.path() / "slides"; }
  fs::path write_slide(const std::string& relative, std::string_view content) const {
    return dir_.write("slides/" + relative, content);
  }

  ScanSummary scan(ScanOptions options = {}) {
    CatalogScanner scanner(*catalog_, source_);
    auto summary = scanner.scan(root(), options);
    EXPECT_TRUE(summary.ok()) << summary.error().to_string();
    return summary.ok() ? *summary : ScanSummary{};
  }

  std::vector<SlideRecord> slides(bool include_removed = false) const {
    auto listed = catalog_->list_slides(std::nullopt, include_removed);
    EXPECT_TRUE(listed.ok());
    return listed.ok() ? *listed : std::vector<SlideRecord>{};
  }

  std::vector<std::string> paths(bool include_removed = false) const {
    std::vector<std::string> out;
    for (const auto& r : slides(include_removed)) out.push_back(r.relative_path);
    return out;
  }

  TempDir dir_;
  std::unique_ptr<SqliteCatalog> catalog_;
  FakeSlideSource source_;
};

TEST(IsSlideFile, KnowsOpenSlideExtensionsCaseInsensitively) {
  for (const char* name : {"a.svs", "a.SVS", "a.ndpi", "a.mrxs", "a.scn", "a.tif", "a.Tiff", "a.bif", "a.vms",
                           "a.svslide", "dir.with.dots/a.svs"}) {
    EXPECT_TRUE(is_slide_file(name)) << name;
  }
  for (const char* name : {"a.txt", "a.jpg", "a.dat", "svs", "a.svs.part", "a", ".svs.bak"}) {
    EXPECT_FALSE(is_slide_file(name)) << name;
  }
}

TEST_F(CatalogScannerTest, AddsNewFilesWithCentrePathSizeAndHash) {
  const std::string one = "slide one bytes";
  const std::string two = "slide two, a little longer";
  write_slide("centre-a/sub/one.svs", one);
  write_slide("centre-b/two.NDPI", two);
  write_slide("centre-a/notes.txt", "not a slide");
  write_slide("centre-a/photo.jpg", "not a slide");
  write_slide("root-level.svs", "directly in the root");

  const ScanSummary s = scan();
  EXPECT_EQ(s.seen, 2);
  EXPECT_EQ(s.added, 2);
  EXPECT_EQ(s.changed, 0);
  EXPECT_EQ(s.unchanged, 0);
  EXPECT_EQ(s.removed, 0);
  EXPECT_EQ(s.unreadable, 0);
  EXPECT_EQ(s.hashed, 2);
  EXPECT_EQ(s.bytes_hashed, static_cast<std::int64_t>(one.size() + two.size()));
  EXPECT_GE(s.seconds, 0.0);
  EXPECT_EQ(source_.opens(), 2);

  const auto records = slides();
  ASSERT_EQ(records.size(), 2u);
  const SlideRecord& a = records[0];
  EXPECT_EQ(a.centre, "centre-a");
  EXPECT_EQ(a.relative_path, "centre-a/sub/one.svs");
  EXPECT_EQ(a.id, make_slide_id("centre-a/sub/one.svs"));
  EXPECT_EQ(a.file_bytes, static_cast<std::int64_t>(one.size()));
  EXPECT_EQ(a.sha256, sha256_hex(one));
  EXPECT_EQ(a.status, SlideStatus::ok);
  EXPECT_TRUE(a.status_reason.empty());
  EXPECT_EQ(a.properties.vendor, "fake");
  ASSERT_EQ(a.properties.levels.size(), 2u);
  EXPECT_EQ(a.properties.levels[1].downsample, 4.0);
  EXPECT_EQ(a.properties.mpp_x, 0.25);
  EXPECT_FALSE(a.scanned_at.empty());
  const auto mtime = fs::last_write_time(root() / "centre-a/sub/one.svs");
  EXPECT_EQ(a.mtime_ns, std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::file_clock::to_sys(mtime).time_since_epoch())
                            .count());

  const SlideRecord& b = records[1];
  EXPECT_EQ(b.centre, "centre-b");
  EXPECT_EQ(b.relative_path, "centre-b/two.NDPI");
  EXPECT_EQ(b.sha256, sha256_hex(two));

  for (const auto& r : records) {
    EXPECT_EQ(r.id.size(), 16u);
    EXPECT_EQ(r.id.find_first_not_of("0123456789abcdef"), std::string::npos) << r.id;
  }
}

TEST_F(CatalogScannerTest, UnchangedFilesAreNeitherOpenedNorHashedAgain) {
  write_slide("a/1.svs", "one");
  write_slide("a/2.svs", "two");
  write_slide("b/3.svs", "BAD three");
  scan();
  const auto first = slides();
  ASSERT_EQ(source_.opens(), 3);

  const ScanSummary s = scan();
  EXPECT_EQ(s.seen, 3);
  EXPECT_EQ(s.unchanged, 3);
  EXPECT_EQ(s.added + s.changed + s.removed + s.unreadable, 0);
  EXPECT_EQ(s.hashed, 0);
  EXPECT_EQ(source_.opens(), 3);

  const auto second = slides();
  ASSERT_EQ(second.size(), first.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(second[i].id, first[i].id);
    EXPECT_EQ(second[i].sha256, first[i].sha256);
    EXPECT_EQ(second[i].status, first[i].status);
  }
}

TEST_F(CatalogScannerTest, FileWithNewSizeIsProbedAndHashedAgain) {
  const auto file = write_slide("a/1.svs", "first version");
  scan();
  const std::string id = slides().front().id;
  dir_.write("slides/a/1.svs", "second, longer version");

  const ScanSummary s = scan();
  EXPECT_EQ(s.changed, 1);
  EXPECT_EQ(s.unchanged, 0);
  EXPECT_EQ(s.added, 0);
  EXPECT_EQ(source_.opens(), 2);
  auto record = catalog_->find_slide(id);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->sha256, sha256_hex("second, longer version"));
  EXPECT_EQ(record->file_bytes, 22);
}

TEST_F(CatalogScannerTest, FileWithNewMtimeIsProbedAgain) {
  const auto file = write_slide("a/1.svs", "same bytes");
  scan();
  fs::last_write_time(file, fs::last_write_time(file) - std::chrono::hours(24));

  const ScanSummary s = scan();
  EXPECT_EQ(s.changed, 1);
  EXPECT_EQ(source_.opens(), 2);
  EXPECT_EQ(s.hashed, 1);
  EXPECT_EQ(slides().front().mtime_ns,
            std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::file_clock::to_sys(fs::last_write_time(file)).time_since_epoch())
                .count());
}

TEST_F(CatalogScannerTest, UnreadableBecomesOkWhenTheFileIsFixed) {
  const auto file = write_slide("a/1.svs", "BAD at first");
  scan();
  ASSERT_EQ(slides().front().status, SlideStatus::unreadable);
  dir_.write("slides/a/1.svs", "a good slide now");
  const ScanSummary s = scan();
  EXPECT_EQ(s.changed, 1);
  EXPECT_EQ(s.unreadable, 0);
  const auto record = slides().front();
  EXPECT_EQ(record.status, SlideStatus::ok);
  EXPECT_TRUE(record.status_reason.empty());
  EXPECT_EQ(record.properties.vendor, "fake");
}

TEST_F(CatalogScannerTest, DeletedFileIsMarkedRemovedAndKept) {
  write_slide("a/keep.svs", "keep");
  const auto gone = write_slide("a/gone.svs", "gone");
  scan();
  const std::string id = make_slide_id("a/gone.svs");
  fs::remove(gone);

  ScanSummary s = scan();
  EXPECT_EQ(s.removed, 1);
  EXPECT_EQ(s.seen, 1);
  EXPECT_EQ(paths(), std::vector<std::string>{"a/keep.svs"});
  EXPECT_EQ(paths(true), (std::vector<std::string>{"a/gone.svs", "a/keep.svs"}));
  auto removed = catalog_->find_slide(id);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->status, SlideStatus::removed);
  EXPECT_EQ(removed->sha256, sha256_hex("gone"));  // provenance is kept
  auto centres = catalog_->list_centres();
  ASSERT_TRUE(centres.ok());
  ASSERT_EQ(centres->size(), 1u);
  EXPECT_EQ(centres->front().slide_count, 1);

  s = scan();
  EXPECT_EQ(s.removed, 0);  // already removed

  write_slide("a/gone.svs", "gone");
  s = scan();
  EXPECT_EQ(s.added, 1);
  EXPECT_EQ(source_.opens(), 3);
  EXPECT_EQ(catalog_->find_slide(id)->status, SlideStatus::ok);
}

// Regression (issue 19): records were committed in batches of 256 only, so a scan killed while
// it probed a slow file (multi-gigabyte slides on NFS) had kept nothing of what it finished.
TEST_F(CatalogScannerTest, FinishedRecordsAreCommittedByTimeWhileASlowFileIsProbed) {
  for (const char* name : {"a/one.svs", "a/two.svs", "a/three.svs"}) write_slide(name, name);
  write_slide("a/slow.svs", "slow");
  bool others_committed = false;
  source_.on_open = [&](const fs::path& path) {
    if (path.filename() != "slow.svs") return;
    // Held until the other three are in the catalogue (they are probed by the other thread).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!others_committed && std::chrono::steady_clock::now() < deadline) {
      auto listed = catalog_->list_slides(std::nullopt, false);
      others_committed = listed.ok() && listed->size() == 3;
      if (!others_committed) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  ScanOptions options;
  options.threads = 2;
  options.commit_interval = std::chrono::milliseconds(20);
  EXPECT_EQ(scan(options).added, 4);
  EXPECT_TRUE(others_committed) << "nothing was committed while the slow file was probed";
  EXPECT_EQ(slides().size(), 4u);
}

TEST_F(CatalogScannerTest, StopEndsTheScanCancelledKeepingWhatItFinishedAndRemovingNothing) {
  write_slide("a/gone.svs", "gone");
  const auto gone = dir_.path() / "slides/a/gone.svs";
  scan();
  fs::remove(gone);
  for (const char* name : {"a/one.svs", "a/two.svs", "a/three.svs"}) write_slide(name, name);
  std::atomic<bool> stop{false};
  source_.on_open = [&stop](const fs::path&) { stop = true; };  // stopped during the first file
  ScanOptions options;
  options.stop = &stop;
  CatalogScanner scanner(*catalog_, source_);
  auto stopped = scanner.scan(root(), options);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code, ErrorCode::cancelled);
  EXPECT_EQ(slides().size(), 2u);  // gone.svs, not marked removed on a partial scan, and the file in hand
  EXPECT_EQ(catalog_->find_slide(make_slide_id("a/gone.svs"))->status, SlideStatus::ok);

  source_.on_open = nullptr;
  const ScanSummary s = scan();
  EXPECT_EQ(s.added, 2);
  EXPECT_EQ(s.unchanged, 1);
  EXPECT_EQ(s.removed, 1);
}

TEST_F(CatalogScannerTest, UnreadableFileIsRecordedWithTheReason) {
  write_slide("a/broken.svs", "BAD header");
  const ScanSummary s = scan();
  EXPECT_EQ(s.added, 1);
  EXPECT_EQ(s.unreadable, 1);
  const auto records = slides();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].status, SlideStatus::unreadable);
  EXPECT_EQ(records[0].status_reason, FakeSlideSource::kBadReason);
  EXPECT_TRUE(records[0].properties.levels.empty());
  EXPECT_EQ(records[0].sha256, sha256_hex("BAD header"));
  auto centres = catalog_->list_centres();
  ASSERT_TRUE(centres.ok());
  EXPECT_EQ(centres->front().unreadable_count, 1);
}

TEST_F(CatalogScannerTest, FileThatCannotBeHashedIsUnreadable) {
  write_slide("a/vanishing.svs", "VANISH when opened");
  const ScanSummary s = scan();
  EXPECT_EQ(s.unreadable, 1);
  EXPECT_EQ(s.hashed, 0);
  const auto records = slides();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].status, SlideStatus::unreadable);
  EXPECT_NE(records[0].status_reason.find("cannot hash"), std::string::npos) << records[0].status_reason;
  EXPECT_EQ(records[0].sha256, "");
}

TEST_F(CatalogScannerTest, SymlinksOutOfTheRootAreNotFollowed) {
  dir_.write("outside/centre-x/secret.svs", "outside");
  const auto outside_file = dir_.write("outside/file.svs", "outside");
  write_slide("a/inside.svs", "inside");
  fs::create_directory_symlink(dir_.path() / "outside", root() / "a" / "linked-folder");
  fs::create_directory_symlink(dir_.path() / "outside" / "centre-x", root() / "linked-centre");
  fs::create_symlink(outside_file, root() / "a" / "linked-file.svs");
  fs::create_symlink("inside.svs", root() / "a" / "alias.svs");
  fs::create_directories(root() / "b");
  fs::create_symlink("../../slides/a/inside.svs", root() / "b" / "alias-up.svs");

  const ScanSummary s = scan();
  EXPECT_EQ(paths(), (std::vector<std::string>{"a/alias.svs", "a/inside.svs", "b/alias-up.svs"})) << s.seen;
  for (const auto& r : slides()) EXPECT_EQ(r.relative_path.find("outside"), std::string::npos);
}

TEST_F(CatalogScannerTest, MrxsDataFolderAndHiddenFilesAreNotSlides) {
  write_slide("a/case.mrxs", "mrxs index");
  write_slide("a/case/Slidedat.ini", "ini");
  write_slide("a/case/Data0000.dat", "data");
  write_slide("a/case/stray.tif", "inside the data folder");
  write_slide("a/._case.svs", "AppleDouble");
  write_slide("a/.cache/x.svs", "hidden folder");
  write_slide(".hidden-centre/x.svs", "hidden centre");
  write_slide("a/scan.vms", "vms index");
  write_slide("a/scan.jpg", "vms tile");
  scan();
  EXPECT_EQ(paths(), (std::vector<std::string>{"a/case.mrxs", "a/scan.vms"}));
}

TEST_F(CatalogScannerTest, IdsAreStableAndNeverContainThePath) {
  write_slide("centre-a/patient-123/slide.svs", "x");
  scan();
  const std::string id = slides().front().id;
  fs::last_write_time(root() / "centre-a/patient-123/slide.svs",
                      fs::last_write_time(root() / "centre-a/patient-123/slide.svs") + std::chrono::seconds(5));
  scan();
  EXPECT_EQ(slides().front().id, id);
  EXPECT_EQ(slides(true).size(), 1u);
  EXPECT_EQ(id.find("centre"), std::string::npos);
  EXPECT_EQ(id.find("patient"), std::string::npos);
  EXPECT_EQ(id.find("slide"), std::string::npos);
}

TEST_F(CatalogScannerTest, ScanWithoutHashingLeavesHashEmptyAndALaterScanFillsIt) {
  write_slide("a/1.svs", "one");
  ScanOptions no_hash;
  no_hash.hash_files = false;
  ScanSummary s = scan(no_hash);
  EXPECT_EQ(s.hashed, 0);
  EXPECT_EQ(slides().front().sha256, "");

  s = scan();
  EXPECT_EQ(s.unchanged, 1);
  EXPECT_EQ(s.hashed, 1);
  EXPECT_EQ(source_.opens(), 1);  // hashed, not probed again
  EXPECT_EQ(slides().front().sha256, sha256_hex("one"));
}

TEST_F(CatalogScannerTest, ManyThreadsScanEveryFileOnceAndReportProgress) {
  for (int i = 0; i < 40; ++i) {
    write_slide("c" + std::to_string(i % 3) + "/s" + std::to_string(i) + ".svs",
                (i % 5 == 0 ? "BAD " : "ok ") + std::to_string(i));
  }
  std::mutex mutex;
  std::vector<ScanProgress> reports;
  ScanOptions options;
  options.threads = 4;
  options.on_progress = [&](const ScanProgress& p) {
    std::lock_guard lock(mutex);
    reports.push_back(p);
  };
  const ScanSummary s = scan(options);
  EXPECT_EQ(s.added, 40);
  EXPECT_EQ(s.unreadable, 8);
  EXPECT_EQ(s.hashed, 40);
  EXPECT_EQ(source_.opens(), 40);
  EXPECT_EQ(slides().size(), 40u);
  ASSERT_FALSE(reports.empty());
  EXPECT_EQ(reports.back().done, 40);
  EXPECT_EQ(reports.back().total, 40);
  for (std::size_t i = 1; i < reports.size(); ++i) EXPECT_GT(reports[i].done, reports[i - 1].done);
}

TEST_F(CatalogScannerTest, EmptyRootRemovesEverythingButKeepsRows) {
  write_slide("a/1.svs", "one");
  scan();
  fs::remove_all(root() / "a");
  const ScanSummary s = scan();
  EXPECT_EQ(s.seen, 0);
  EXPECT_EQ(s.removed, 1);
  EXPECT_TRUE(slides().empty());
  EXPECT_EQ(slides(true).size(), 1u);
}

TEST_F(CatalogScannerTest, MissingRootIsAnIoError) {
  CatalogScanner scanner(*catalog_, source_);
  auto missing = scanner.scan(dir_.path() / "no-such-folder", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::io_error);

  const auto file = dir_.write("a-file", "x");
  auto not_folder = scanner.scan(file, {});
  ASSERT_FALSE(not_folder.ok());
  EXPECT_EQ(not_folder.error().code, ErrorCode::io_error);
}

}  // namespace
}  // namespace mcval::catalog
