#include "mcval/http/user_limits.h"

#include <gtest/gtest.h>

namespace mcval::http {
namespace {

using namespace std::chrono_literals;
using Verdict = UserLimits::Verdict;

struct FakeClock {
  std::chrono::steady_clock::time_point now{std::chrono::seconds(1000)};
};

UserLimitOptions options(FakeClock& clock, double rate, int concurrent) {
  UserLimitOptions o;
  o.requests_per_second = rate;
  o.max_concurrent = concurrent;
  o.clock = [&clock] { return clock.now; };
  return o;
}

const auth::UserKey kAlice{"https://idp-a.example", "alice"};
const auth::UserKey kBob{"https://idp-a.example", "bob"};
const auth::UserKey kAliceElsewhere{"https://idp-b.example", "alice"};

TEST(UserLimits, TokenBucketPerUserWithABurstOfTwoSeconds) {
  FakeClock clock;
  UserLimits limits(options(clock, 10, 0));
  int allowed = 0;
  for (int i = 0; i < 50; ++i) {
    if (limits.acquire(kAlice) == Verdict::allowed) {
      ++allowed;
      limits.release(kAlice);
    }
  }
  EXPECT_EQ(allowed, 20);  // the burst: 2 s of 10 per second
  EXPECT_EQ(limits.acquire(kAlice), Verdict::too_fast);
  // Other users, and the same subject at another issuer, have their own buckets.
  EXPECT_EQ(limits.acquire(kBob), Verdict::allowed);
  EXPECT_EQ(limits.acquire(kAliceElsewhere), Verdict::allowed);
  clock.now += 100ms;  // one more token
  EXPECT_EQ(limits.acquire(kAlice), Verdict::allowed);
  EXPECT_EQ(limits.acquire(kAlice), Verdict::too_fast);
  clock.now += 1h;  // refilled, but never beyond the burst
  allowed = 0;
  for (int i = 0; i < 50; ++i) allowed += limits.acquire(kAlice) == Verdict::allowed;
  EXPECT_EQ(allowed, 20);
}

TEST(UserLimits, ConcurrencyCapReleasedBySlots) {
  FakeClock clock;
  UserLimits limits(options(clock, 0, 2));
  ASSERT_EQ(limits.acquire(kAlice), Verdict::allowed);
  {
    UserLimits::Slot first(&limits, kAlice);
    ASSERT_EQ(limits.acquire(kAlice), Verdict::allowed);
    UserLimits::Slot second(&limits, kAlice);
    EXPECT_EQ(limits.acquire(kAlice), Verdict::too_many_at_once);
    EXPECT_EQ(limits.acquire(kBob), Verdict::allowed);
    limits.release(kBob);
  }
  EXPECT_EQ(limits.acquire(kAlice), Verdict::allowed);
  limits.release(kAlice);
}

TEST(UserLimits, OffByDefaultAndBoundedMemory) {
  FakeClock clock;
  UserLimits off(options(clock, 0, 0));
  EXPECT_FALSE(off.enabled());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(off.acquire(kAlice), Verdict::allowed);
  EXPECT_EQ(off.tracked_users(), 0u);

  UserLimitOptions o = options(clock, 5, 0);
  o.max_users = 100;
  UserLimits limits(o);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(limits.acquire({"iss", "user-" + std::to_string(i)}), Verdict::allowed);
    limits.release({"iss", "user-" + std::to_string(i)});
  }
  EXPECT_LE(limits.tracked_users(), 100u);
}

TEST(UserLimits, RefusalsAreReportedOncePerInterval) {
  FakeClock clock;
  UserLimits limits(options(clock, 1, 0));
  (void)limits.acquire(kAlice);
  EXPECT_TRUE(limits.should_report(kAlice));
  EXPECT_FALSE(limits.should_report(kAlice));
  clock.now += 61s;
  EXPECT_TRUE(limits.should_report(kAlice));
}

}  // namespace
}  // namespace mcval::http
