// glibc's mallopt, which the Swift C-library overlays leave out: `density record` keeps the
// blocks of the states it frees for the next frame (DensityCLI's RecordCommand).
#ifdef __linux__
#include <malloc.h>
#endif

/// Lets blocks of up to `bytes` come from the heap and stay there once freed, instead of being
/// mapped and unmapped each time: a process that allocates and frees a state of the same width
/// for every frame then reuses the pages, without a page fault and a zero-fill each time. Returns
/// 1 when the C library took the settings, 0 when it has no such tuning (only glibc has).
static inline int cmalloc_keep_freed_blocks(int bytes) {
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    return mallopt(M_MMAP_THRESHOLD, bytes) && mallopt(M_TRIM_THRESHOLD, 4 * bytes);
#else
    (void)bytes;
    return 0;
#endif
}
