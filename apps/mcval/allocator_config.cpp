// jemalloc's settings for the mcval binary, read by the allocator before main(). Compiled only
// when the binary is linked with jemalloc (MCVAL_JEMALLOC). MALLOC_CONF in the environment is
// applied after this string, so an operator can still override any of it.
//
// Why (bench/TILES-BENCH-STATUS.md, soak at concurrency 64 with every request a cache miss and
// an eviction): the tile cache frees tiles of 16-60 KiB in random order all day, and each
// rendered tile allocates and frees 192-768 KiB of pixels, thousands a second. jemalloc's thread
// cache holds nothing above 32 KiB by default, so every one of these went to the arenas' extents.
// - tcache_max:1048576: a thread cache up to 1 MiB (at most 20 buffers per size class and
//   thread) hands the same buffers back to the thread that freed them.
// - percpu_arena:percpu: one arena per core (bound to the core a thread runs on), not four.
// - dirty_decay_ms:0: a freed extent is given back at once and joins its free neighbours, instead
//   of waiting 10 s as a dirty extent that is not merged and is split for smaller requests. With
//   the 10 s the allocator kept mapping fresh address space (about 90 MiB a minute: a larger
//   request found no free range among the split, unmerged dirty extents), its metadata grew with
//   that address space, and its dirty pages swung by several MiB: resident memory rose about
//   0.5 MiB a minute while live bytes stayed flat. With 0 it holds level
//   (+0.03 MiB a minute over the same soak) and about 30 MiB lower, for 3-10 % fewer tiles a
//   second where every request renders (the cold scenarios); warm requests allocate nothing big.
extern "C" {
// NOLINTNEXTLINE: the name and type jemalloc looks for.
__attribute__((visibility("default"), used)) const char* malloc_conf = MCVAL_MALLOC_CONF;
}
