/* libFuzzer target: the /rrd_updates JSON reader (see rrd_fuzz.h). */
#include "rrd/rrd_parser.h"
#define RRD_FUZZ_CLASS (&xs_rrd_json_updates_class)
#include "rrd_fuzz.h"
