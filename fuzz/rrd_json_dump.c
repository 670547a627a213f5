/* libFuzzer target: the RRD dump JSON reader (see rrd_fuzz.h). */
#include "rrd/rrd_parser.h"
#define RRD_FUZZ_CLASS (&xs_rrd_json_dump_class)
#include "rrd_fuzz.h"
