#include <zlib.h>

/// `inflateInit2(stream, -MAX_WBITS)`: a raw deflate stream (no zlib or gzip wrapper), as ZIP
/// entries store it. `inflateInit2` is a macro, which Swift cannot call.
static inline int czlib_inflate_init_raw(z_stream *stream) {
    return inflateInit2(stream, -MAX_WBITS);
}
