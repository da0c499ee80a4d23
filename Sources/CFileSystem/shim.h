// statfs, which the Swift C-library overlays leave out: it tells a store's file-system type
// (DensityStore's NetworkFileSystem).
#ifdef __linux__
#include <sys/vfs.h>
#else
#include <sys/param.h>
#include <sys/mount.h>
#endif
