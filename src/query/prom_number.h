/*
 * prom_number.h - numbers as /metrics writes them (prom.c): a float32 sample in
 * the shortest decimal that reads back (strtof) as the same float, a double
 * (the daemon's own figures) as an integer or its shortest round-trip %g.
 */
#ifndef XS_QUERY_PROM_NUMBER_H
#define XS_QUERY_PROM_NUMBER_H

#include <stddef.h>

#define PROM_NUM_MAX 48 /* room prom_float and prom_double may use, their NUL included */

/* f into buf (PROM_NUM_MAX bytes): "+Inf"/"-Inf"; never called with NaN. Returns its length. */
size_t prom_float(char *buf, float f);

/* d into buf (PROM_NUM_MAX bytes); its length. */
size_t prom_double(char *buf, double d);

#endif
