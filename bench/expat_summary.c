/*
 * expat_summary.c - the "what most C code would do" reader of the issue-2
 * benchmark (bench/rrd_readers.sh): an /rrd_updates XML document read with
 * expat and strtod.
 *
 * FILE (or stdin for "-") is read() in SUMMARY_CHUNK pieces and fed to
 * XML_Parse(). The character data of each <v> element is collected in a
 * growable buffer (expat may split it across callbacks) and converted with
 * strtod() at </v>. The output is the line `xapistat rrd2csv --summary`
 * prints, so the benchmark can check both agree byte for byte:
 *
 *   series=S cells=C nan=N sum=X
 *
 * S counts <entry> elements, C counts <v> elements (NaN included), N the NaN
 * values, X is the sum of the finite values in document order, "%.9e".
 *
 * usage: expat_summary FILE|-
 * Exit: 0 ok, 1 I/O, XML or number error (message with the byte offset),
 * 2 usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <expat.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUMMARY_CHUNK (1024 * 1024) /* bytes per read() */
#define SUMMARY_TEXT_INIT 64        /* first capacity of the <v> text buffer */
#define SUMMARY_TEXT_MAX 1024       /* longest <v> text accepted, bytes */

struct summary {
	XML_Parser parser;           /* owned */
	char *text;                  /* character data of the current <v>, owned */
	size_t text_len;             /* bytes in text, without the NUL */
	size_t text_cap;             /* bytes allocated for text */
	bool in_v;                   /* inside a <v> element */
	bool failed;                 /* a callback stopped the parser */
	unsigned long long series;   /* <entry> elements seen */
	unsigned long long cells;    /* <v> elements seen */
	unsigned long long nan;      /* NaN values seen */
	double sum;                  /* finite values, document order */
};

/* Report an error at the parser's current byte and stop it. */
static void summary_fail(struct summary *s, const char *what)
{
	fprintf(stderr, "expat_summary: byte %lld: %s\n",
	        (long long)XML_GetCurrentByteIndex(s->parser), what);
	s->failed = true;
	XML_StopParser(s->parser, XML_FALSE);
}

/* Append (p, len) to the <v> text, keeping room for a NUL; false when full. */
static bool summary_text_append(struct summary *s, const char *p, size_t len)
{
	if(len > SUMMARY_TEXT_MAX - s->text_len)
		return false;
	if(s->text_len + len + 1 > s->text_cap) {
		size_t cap = s->text_cap ? s->text_cap : SUMMARY_TEXT_INIT;
		char *grown;

		while(cap < s->text_len + len + 1)
			cap *= 2;
		grown = realloc(s->text, cap);
		if(!grown)
			return false;
		s->text = grown;
		s->text_cap = cap;
	}
	memcpy(s->text + s->text_len, p, len);
	s->text_len += len;
	s->text[s->text_len] = '\0';
	return true;
}

/* Convert the text of a finished <v> and add it to the summary. */
static void summary_value_end(struct summary *s)
{
	const char *text = s->text_len ? s->text : "";
	char *end;
	double x;

	x = strtod(text, &end);
	while(end != text && isspace((unsigned char)*end))
		end++;
	if(end == text || *end != '\0') {
		summary_fail(s, "<v> does not hold a number");
		return;
	}
	s->cells++;
	if(isnan(x))
		s->nan++;
	else if(isfinite(x))
		s->sum += x;
}

static void XMLCALL summary_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct summary *s = ud;

	(void)atts;
	if(strcmp(name, "v") == 0) {
		s->in_v = true;
		s->text_len = 0;
	}
	else if(strcmp(name, "entry") == 0) {
		s->series++;
	}
}

static void XMLCALL summary_end(void *ud, const XML_Char *name)
{
	struct summary *s = ud;

	if(s->in_v && strcmp(name, "v") == 0) {
		s->in_v = false;
		summary_value_end(s);
	}
}

static void XMLCALL summary_chars(void *ud, const XML_Char *p, int len)
{
	struct summary *s = ud;

	if(!s->in_v)
		return;
	if(!summary_text_append(s, p, (size_t)len))
		summary_fail(s, "<v> text too long or out of memory");
}

/* Feed fd to the parser until its end; 0 on success. */
static int summary_parse_fd(struct summary *s, int fd, const char *name)
{
	char *buf = malloc(SUMMARY_CHUNK);
	int result = -1;

	if(!buf) {
		fprintf(stderr, "expat_summary: out of memory\n");
		goto out;
	}
	for(;;) {
		ssize_t got = read(fd, buf, SUMMARY_CHUNK);
		enum XML_Status st;

		if(got < 0) {
			if(errno == EINTR)
				continue;
			fprintf(stderr, "expat_summary: read %s: %s\n", name, strerror(errno));
			goto free_buf;
		}
		st = XML_Parse(s->parser, buf, (int)got, got == 0);
		if(st != XML_STATUS_OK) {
			if(!s->failed)
				fprintf(stderr, "expat_summary: %s: byte %lld: %s\n", name,
				        (long long)XML_GetCurrentByteIndex(s->parser),
				        XML_ErrorString(XML_GetErrorCode(s->parser)));
			goto free_buf;
		}
		if(got == 0)
			break;
	}
	result = 0;
free_buf:
	free(buf);
out:
	return result;
}

int main(int argc, char **argv)
{
	struct summary s = {0};
	int fd = STDIN_FILENO;
	int status = 1;

	if(argc != 2) {
		fprintf(stderr, "usage: expat_summary FILE|-\n");
		return 2;
	}
	if(strcmp(argv[1], "-") != 0) {
		fd = open(argv[1], O_RDONLY);
		if(fd < 0) {
			fprintf(stderr, "expat_summary: open %s: %s\n", argv[1], strerror(errno));
			goto out;
		}
	}
	s.parser = XML_ParserCreate(NULL);
	if(!s.parser) {
		fprintf(stderr, "expat_summary: out of memory\n");
		goto close_fd;
	}
	XML_SetUserData(s.parser, &s);
	XML_SetElementHandler(s.parser, summary_start, summary_end);
	XML_SetCharacterDataHandler(s.parser, summary_chars);
	if(summary_parse_fd(&s, fd, argv[1]) != 0)
		goto free_parser;
	printf("series=%llu cells=%llu nan=%llu sum=%.9e\n", s.series, s.cells, s.nan, s.sum);
	status = 0;
free_parser:
	XML_ParserFree(s.parser);
	free(s.text);
close_fd:
	if(fd != STDIN_FILENO)
		close(fd);
out:
	if(fflush(stdout) != 0)
		status = 1;
	return status;
}
