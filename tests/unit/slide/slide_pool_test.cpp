#include "mcval/slide/slide_pool.h"

#include <chrono>
#include <thread>

#include "mcval/slide/openslide_source.h"
#include "test_support.h"

namespace mcval::slide {
namespace {

class FakeReader final : public SlideReader {
 public:
  explicit FakeReader(std::string contents) : contents_(std::move(contents)) {
    props_.vendor = "fake";
    props_.levels = {LevelInfo{100, 50, 1.0}};
  }
  const SlideProperties& properties() const override { return props_; }
  Result<RgbImage> read_region(std::int64_t, std::int64_t, int, int width, int height) const override {
    if (failed_) return Error{ErrorCode::slide_unreadable, "broken"};
    return RgbImage(width, height);
  }
  Result<RgbImage> read_associated(std::string_view) const override { return Error{ErrorCode::not_found}; }
  bool failed() const override { return failed_; }
  void break_handle() { failed_ = true; }
  const std::string& contents() const { return contents_; }

 private:
  SlideProperties props_;
  std::string contents_;
  std::atomic<bool> failed_{false};
};

// Opens any file whose contents start with "slide"; counts opens.
class FakeSource final : public SlideSource {
 public:
  Result<std::shared_ptr<const SlideReader>> open(const std::filesystem::path& path) const override {
    ++opens;
    std::string contents = test::read_file(path);
    if (contents.rfind("slide", 0) != 0) return Error{ErrorCode::slide_unreadable, "not a fake slide"};
    return std::shared_ptr<const SlideReader>(std::make_shared<FakeReader>(std::move(contents)));
  }
  mutable std::atomic<int> opens{0};
};

SlideFileKey key_for(const std::filesystem::path& path) { return SlideFileKey{path, 0, 0}; }

const FakeReader& fake(const std::shared_ptr<const SlideReader>& reader) {
  return dynamic_cast<const FakeReader&>(*reader);
}

TEST(SlidePool, ReusesOpenReadersAndEvictsTheLeastRecentlyUsed) {
  test::TempDir dir;
  for (const char* name : {"a", "b", "c"}) test::write_file(dir.path() / name, std::string("slide ") + name);
  FakeSource source;
  SlidePool pool(source, 2);
  EXPECT_EQ(pool.capacity(), 2u);

  auto a = pool.acquire(key_for(dir.path() / "a"));
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  auto a_again = pool.acquire(key_for(dir.path() / "a"));
  ASSERT_TRUE(a_again.ok());
  EXPECT_EQ(a->get(), a_again->get());
  EXPECT_EQ(source.opens, 1);

  ASSERT_TRUE(pool.acquire(key_for(dir.path() / "b")).ok());
  ASSERT_TRUE(pool.acquire(key_for(dir.path() / "a")).ok());  // a is now the most recent
  ASSERT_TRUE(pool.acquire(key_for(dir.path() / "c")).ok());  // evicts b
  EXPECT_EQ(pool.open_count(), 2u);
  EXPECT_EQ(source.opens, 3);
  ASSERT_TRUE(pool.acquire(key_for(dir.path() / "a")).ok());
  EXPECT_EQ(source.opens, 3);
  ASSERT_TRUE(pool.acquire(key_for(dir.path() / "b")).ok());  // reopened, evicts c
  EXPECT_EQ(source.opens, 4);
  ASSERT_TRUE(pool.acquire(key_for(dir.path() / "c")).ok());  // reopened, evicts a
  EXPECT_EQ(source.opens, 5);

  // The first reader of a was evicted from the pool but its holder can still use it.
  EXPECT_EQ(fake(*a).contents(), "slide a");
  EXPECT_TRUE((*a)->read_region(0, 0, 0, 4, 4).ok());
}

TEST(SlidePool, ReportsSlideGoneForADeletedFile) {
  test::TempDir dir;
  const auto path = dir.path() / "gone.svs";
  test::write_file(path, "slide gone");
  FakeSource source;
  SlidePool pool(source, 4);
  auto held = pool.acquire(key_for(path));
  ASSERT_TRUE(held.ok());
  std::filesystem::remove(path);
  const auto after = pool.acquire(key_for(path));
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, ErrorCode::slide_gone);
  EXPECT_EQ(pool.open_count(), 0u);
  EXPECT_TRUE((*held)->read_region(0, 0, 0, 2, 2).ok());
  EXPECT_EQ(pool.acquire(key_for(dir.path() / "never-existed")).error().code, ErrorCode::slide_gone);
}

TEST(SlidePool, ReopensAFileWhoseSizeOrMtimeChanged) {
  test::TempDir dir;
  const auto path = dir.path() / "changing.svs";
  test::write_file(path, "slide v1");
  FakeSource source;
  SlidePool pool(source, 4);
  auto first = pool.acquire(key_for(path));
  ASSERT_TRUE(first.ok());

  test::write_file(path, "slide version 2");  // size changes
  auto second = pool.acquire(key_for(path));
  ASSERT_TRUE(second.ok());
  EXPECT_NE(first->get(), second->get());
  EXPECT_EQ(fake(*second).contents(), "slide version 2");
  EXPECT_EQ(fake(*first).contents(), "slide v1");

  test::write_file(path, "slide version 3");  // same size: only the mtime tells
  std::filesystem::last_write_time(path, std::filesystem::last_write_time(path) + std::chrono::seconds(5));
  auto third = pool.acquire(key_for(path));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(fake(*third).contents(), "slide version 3");
  EXPECT_EQ(source.opens, 3);
  EXPECT_EQ(pool.open_count(), 1u);

  const auto stat = stat_slide_file(path);
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->file_bytes, 15);
  EXPECT_GT(stat->mtime_ns, 0);
}

TEST(SlidePool, ReopensAReaderWhoseHandleFailed) {
  test::TempDir dir;
  const auto path = dir.path() / "flaky.svs";
  test::write_file(path, "slide flaky");
  FakeSource source;
  SlidePool pool(source, 4);
  auto first = pool.acquire(key_for(path));
  ASSERT_TRUE(first.ok());
  const_cast<FakeReader&>(fake(*first)).break_handle();
  auto second = pool.acquire(key_for(path));
  ASSERT_TRUE(second.ok());
  EXPECT_NE(first->get(), second->get());
  EXPECT_FALSE((*second)->failed());
}

TEST(SlidePool, UnreadableFilesAreNotKept) {
  test::TempDir dir;
  test::write_file(dir.path() / "junk", "junk");
  FakeSource source;
  SlidePool pool(source, 4);
  EXPECT_EQ(pool.acquire(key_for(dir.path() / "junk")).error().code, ErrorCode::slide_unreadable);
  EXPECT_EQ(pool.open_count(), 0u);
  EXPECT_EQ(pool.acquire(key_for(dir.path())).error().code, ErrorCode::io_error);  // a directory
}

TEST(SlidePool, ServesTheCmuSlideFromManyThreads) {
  test::TempDir dir;
  std::filesystem::copy_file(test::cmu_slide(), dir.path() / "cmu.svs");
  const OpenSlideSource source;
  SlidePool pool(source, 2);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto reader = pool.acquire(key_for(dir.path() / "cmu.svs"));
        if (!reader.ok() || !(*reader)->read_region(256 * t, 256 * i, 0, 64, 64).ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(pool.open_count(), 1u);
}

}  // namespace
}  // namespace mcval::slide
