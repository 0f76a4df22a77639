// jemalloc's settings for the mcval binary, read by the allocator before main(). Compiled only
// when the binary is linked with jemalloc (MCVAL_JEMALLOC). MALLOC_CONF in the environment is
// applied after this string, so an operator can still override any of it.
//
// Why (bench/TILES-BENCH-STATUS.md, soak at concurrency 64 with every request a cache miss and
// an eviction): the tile cache frees tiles of 16-60 KiB in random order all day, and each
// rendered tile allocates and frees 192-768 KiB of pixels, thousands a second. jemalloc's thread
// cache holds nothing above 32 KiB by default, so every one of these went to the arenas' extents,
// which split and merged into odd sizes; with 4 arenas per core, live bytes stayed flat while
// resident memory and the allocator's metadata crept about 1 MiB a minute. A thread cache up to
// 1 MiB (at most 20 buffers per size class and thread) hands the same buffers back to the
// thread that freed them, and one arena per core (bound to the core a thread runs on) keeps
// what is left in fewer, fuller extents.
extern "C" {
// NOLINTNEXTLINE: the name and type jemalloc looks for.
__attribute__((visibility("default"), used)) const char* malloc_conf = MCVAL_MALLOC_CONF;
}
