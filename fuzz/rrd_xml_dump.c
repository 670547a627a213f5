/* libFuzzer target: the RRD dump XML reader (see rrd_fuzz.h). */
#include "rrd/rrd_parser.h"
#define RRD_FUZZ_CLASS (&xs_rrd_xml_dump_class)
#include "rrd_fuzz.h"
