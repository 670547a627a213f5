/*
 * store_whole.h - the whole store as one translation unit, for its tests and
 * benches: they reach its internals (struct xs_store, st_* functions) and may
 * replace its clocks (ST_NOW_MINUTES, ST_NOW_SECONDS) or its system calls with
 * macros defined before including this. Never included by xapistat itself,
 * whose build compiles each file on its own.
 */
#ifndef XS_STORE_WHOLE_H
#define XS_STORE_WHOLE_H

#include "store/store.c"
#include "store/store_io.c"
#include "store/store_catalog.c"
#include "store/store_write.c"
#include "store/store_wal.c"
#include "store/store_dormant.c"
#include "store/store_segment.c"
#include "store/store_read.c"
#include "store/store_checkpoint.c"

#endif
