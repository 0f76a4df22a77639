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

TEST(UserLimits, ChargeTakesWithoutASlotAndExhaustedOnlyLooks) {
  // The per-address limit of refused requests: a request is charged once it has been refused,
  // and the next one first asks whether anything is left.
  FakeClock clock;
  UserLimits limits(options(clock, 2, 0));  // bursts of 4
  const auto address = UserLimits::address_key("192.0.2.7");
  EXPECT_FALSE(limits.exhausted(address));  // unknown: a full bucket
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(limits.exhausted(address)) << i;
    limits.charge(address);
  }
  EXPECT_TRUE(limits.exhausted(address));
  EXPECT_TRUE(limits.exhausted(address));  // looking takes nothing
  EXPECT_FALSE(limits.exhausted(UserLimits::address_key("192.0.2.8")));
  clock.now += 500ms;  // one more
  EXPECT_FALSE(limits.exhausted(address));
  limits.charge(address);
  EXPECT_TRUE(limits.exhausted(address));
  limits.charge(address);  // nothing left to take: no harm
  clock.now += 500ms;
  EXPECT_FALSE(limits.exhausted(address));
  // Without a rate there is nothing to exhaust.
  UserLimits off(options(clock, 0, 0));
  for (int i = 0; i < 100; ++i) off.charge(address);
  EXPECT_FALSE(off.exhausted(address));
}

}  // namespace
}  // namespace mcval::http
