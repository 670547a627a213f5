/*
 * rrd_query.c - /rrd_updates parameters and archive choice (see rrd_query.h).
 */
#include "rrd_query.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/num.h"

bool sim_xapi_version_parse(const char *s, struct sim_xapi_version *v)
{
	int n = 0;
	char tail;

	if (!s || *s == 'v')
		s = s ? s + 1 : s;
	if (!s)
		return false;
	n = sscanf(s, "%d.%d.%d%c", &v->major, &v->minor, &v->patch, &tail);
	if (n == 2) {
		v->patch = 0;
		return v->major >= 0 && v->minor >= 0;
	}
	return n == 3 && v->major >= 0 && v->minor >= 0 && v->patch >= 0;
}

int sim_xapi_version_cmp(struct sim_xapi_version a, int major, int minor, int patch)
{
	if (a.major != major)
		return a.major < major ? -1 : 1;
	if (a.minor != minor)
		return a.minor < minor ? -1 : 1;
	if (a.patch != patch)
		return a.patch < patch ? -1 : 1;
	return 0;
}

void sim_rrd_query_init(struct sim_rrd_query *q)
{
	memset(q, 0, sizeof(*q));
	q->cf = -1;
	q->vms = SIM_SELECT_ALL;
	q->srs = SIM_SELECT_NONE;
}

/* vm_uuid / sr_uuid as the version reads them (SPEC §1.2). */
static void query_select(enum sim_select *sel, char (*list)[SIM_QUERY_UUID_LEN], size_t *n,
			 bool repeated, const char *val)
{
	if (!repeated) {
		*n = 0;
		if (!strcmp(val, "all")) {
			*sel = SIM_SELECT_ALL;
			return;
		}
		if (!strcmp(val, "none")) {
			*sel = SIM_SELECT_NONE;
			return;
		}
	} else if (*sel != SIM_SELECT_LIST) {
		*n = 0; /* the first value replaces the default selection */
	}
	*sel = SIM_SELECT_LIST;
	if (*n < SIM_QUERY_MAX_UUIDS)
		snprintf(list[(*n)++], SIM_QUERY_UUID_LEN, "%s", val);
}

bool sim_rrd_query_param(struct sim_rrd_query *q, struct sim_xapi_version v, const char *key,
			 const char *val, const char **err)
{
	static const char *const cfs[] = { "AVERAGE", "MIN", "MAX", "LAST" };
	bool repeated = sim_xapi_version_cmp(v, 26, 7, 0) >= 0;

	if (!strcmp(key, "start")) {
		if (!xs_num_i64_from_slice(val, strlen(val), &q->start)) {
			*err = "start is not an integer";
			return false;
		}
		q->has_start = true;
		q->start_absolute =
			sim_xapi_version_cmp(v, SIM_RELATIVE_START_MAJOR, SIM_RELATIVE_START_MINOR, 0) < 0;
	} else if (!strcmp(key, "interval")) {
		/* xcp-rrdd: try Int64.of_string ... with _ -> 0L, never a 400 */
		if (!xs_num_i64_from_slice(val, strlen(val), &q->interval))
			q->interval = 0;
	} else if (!strcmp(key, "cf")) {
		q->cf = -1; /* anything else is silently ignored */
		for (int i = 0; i < 4; i++)
			if (!strcmp(val, cfs[i]))
				q->cf = i;
	} else if (!strcmp(key, "host")) {
		q->host = !strcmp(val, "true");
	} else if (!strcmp(key, "vm_uuid")) {
		query_select(&q->vms, q->vm_uuids, &q->nvm_uuids, repeated, val);
	} else if (!strcmp(key, "sr_uuid")) {
		query_select(&q->srs, q->sr_uuids, &q->nsr_uuids, repeated, val);
	} else if (!strcmp(key, "json")) {
		q->json_key = true;
	}
	return true;
}

/* Preference of a media range in an Accept header for JSON (1) or XML (0);
 * -1 when the header names neither. Ties go to JSON (listed first by xapi). */
static int query_accept(const char *accept)
{
	double best_json = -1, best_xml = -1;
	const char *p = accept;

	while (*p) {
		char range[64];
		double qv = 1.0;
		size_t n;
		const char *end = strchr(p, ',');
		const char *semi;

		if (!end)
			end = p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		semi = memchr(p, ';', (size_t)(end - p));
		n = (size_t)((semi ? semi : end) - p);
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n >= sizeof(range))
			n = sizeof(range) - 1;
		memcpy(range, p, n);
		range[n] = '\0';
		if (semi) {
			const char *qp = strstr(semi, "q=");
			if (qp && qp < end && !xs_num_from_slice(qp + 2, (size_t)(end - qp - 2), &qv))
				qv = 1.0;
		}
		if (!strcasecmp(range, "application/json") || !strcasecmp(range, "*/*") ||
		    !strcasecmp(range, "application/*"))
			best_json = qv > best_json ? qv : best_json;
		if (!strcasecmp(range, "text/xml") || !strcasecmp(range, "*/*") ||
		    !strcasecmp(range, "text/*"))
			best_xml = qv > best_xml ? qv : best_xml;
		p = *end ? end + 1 : end;
	}
	if (best_json <= 0 && best_xml <= 0)
		return -1;
	return best_json >= best_xml ? 1 : 0;
}

void sim_rrd_query_format(struct sim_rrd_query *q, struct sim_xapi_version v,
			  const char *accept)
{
	q->json = q->json_key;
	if (accept && sim_xapi_version_cmp(v, 23, 17, 0) >= 0) {
		int pref = query_accept(accept);
		if (pref >= 0)
			q->json = pref == 1;
	}
}

static bool query_in(char (*list)[SIM_QUERY_UUID_LEN], size_t n, const char *uuid)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], uuid))
			return true;
	return false;
}

bool sim_rrd_query_wants_vm(const struct sim_rrd_query *q, const char *uuid)
{
	return q->vms == SIM_SELECT_ALL ||
	       (q->vms == SIM_SELECT_LIST && query_in((char (*)[SIM_QUERY_UUID_LEN])q->vm_uuids,
						      q->nvm_uuids, uuid));
}

bool sim_rrd_query_wants_sr(const struct sim_rrd_query *q, const char *uuid)
{
	return q->srs == SIM_SELECT_ALL ||
	       (q->srs == SIM_SELECT_LIST && query_in((char (*)[SIM_QUERY_UUID_LEN])q->sr_uuids,
						      q->nsr_uuids, uuid));
}

void sim_rrd_query_plan(const struct sim_rrd_query *q, int64_t last_update, int base_step,
			const int *pdp_per_row, const int *rows, const bool *has_cf,
			int narchives, struct sim_rrd_plan *plan)
{
	int64_t start = q->start < 0 && !q->start_absolute ? q->start + last_update : q->start;
	int64_t want = q->interval / base_step;
	int a;

	/* xapi-rrd's find_best_rras: among the archives with the CF asked for,
	 * the first that "contains" start, i.e. start is after last_pdp_time
	 * minus the archive's whole span */
	for (a = 0; a < narchives; a++) {
		int64_t last_pdp = last_update / base_step * base_step;
		int64_t span = (int64_t)base_step * pdp_per_row[a] * rows[a];

		if (has_cf[a] && pdp_per_row[a] >= want && start > last_pdp - span)
			break;
	}
	if (a == narchives) /* none: the coarsest that has the CF */
		for (a = narchives - 1; a > 0 && !has_cf[a]; a--)
			;
	plan->archive = a;
	plan->step = (int64_t)pdp_per_row[a] * base_step;
	plan->start_param = start;
	plan->end = last_update / plan->step * plan->step;
	plan->meta_start = start / plan->step * plan->step + plan->step;
	if (start < 0 && start % plan->step)
		plan->meta_start -= plan->step; /* floor, not truncation */
	{
		int64_t oldest = plan->end - (int64_t)(rows[a] - 1) * plan->step;
		int64_t first = start <= oldest ? oldest
						: (start % plan->step == 0 ? start : plan->meta_start);

		plan->first = first;
		plan->rows = first > plan->end ? 0 : (size_t)((plan->end - first) / plan->step + 1);
	}
}
