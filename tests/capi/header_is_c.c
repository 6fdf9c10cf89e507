/* Compiles the C API header as C99, so JNI/FFI code in C can include it. */
#include "vigil/client.h"

size_t vigil_header_is_c_check(const VigilBatchList* list) { return vigil_batch_list_count(list); }
