/* libFuzzer target: format detection in front of every RRD reader (see rrd_fuzz.h). */
#include "rrd/rrd_parser.h"
#define RRD_FUZZ_CLASS NULL
#include "rrd_fuzz.h"
