/*
 * estate.c - the store benches' estate (see estate.h): the world and RRD
 * model of the simulator, walked once and thrown away, leaving a flat array.
 */
#include "estate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void estate_add_rrd(struct estate *e, const struct sim_rrd *r, enum xs_obj_kind kind,
			   const char *uuid)
{
	for (size_t i = 0; i < r->nds; i++) {
		struct estate_series *x;

		if (e->n == e->cap) {
			e->cap = e->cap ? e->cap * 2 : 4096;
			e->s = realloc(e->s, e->cap * sizeof(*e->s));
			if (!e->s) {
				fprintf(stderr, "estate: out of memory\n");
				exit(1);
			}
		}
		x = &e->s[e->n++];
		x->kind = kind;
		snprintf(x->uuid, sizeof(x->uuid), "%s", uuid);
		snprintf(x->ds, sizeof(x->ds), "%s", r->ds[i].name);
		snprintf(x->unit, sizeof(x->unit), "%s", r->ds[i].units);
		x->p = r->ds[i].series;
		e->per_kind[kind]++;
	}
}

void estate_init(struct estate *e, int hosts)
{
	struct sim_world_params wp = { 1, hosts, ESTATE_VMS_PER_HOST, 1, 1, (double)ESTATE_T0 };
	struct sim_world *w = sim_world_new(&wp);
	struct sim_rrd_model *m = sim_rrd_model_new(w, ESTATE_T0, 0);
	static const enum sim_class cls[] = { SIM_HOST, SIM_VM, SIM_SR };
	static const enum xs_obj_kind kind[] = { XS_OBJ_HOST, XS_OBJ_VM, XS_OBJ_SR };

	for (int c = 0; c < 3; c++) {
		for (size_t i = 0; i < sim_world_count(w, cls[c]); i++) {
			const struct sim_rrd *r = sim_rrd_model_get(m, cls[c], (int)i);
			const struct sim_obj *o = sim_world_get(w, cls[c], (int)i);

			if (!r || !o || o->deleted)
				continue;
			if (cls[c] == SIM_VM &&
			    ((const struct sim_vm *)sim_world_get(w, SIM_VM, (int)i))->power != SIM_RUNNING)
				continue;
			estate_add_rrd(e, r, kind[c], o->uuid);
		}
	}
	sim_rrd_model_free(&m);
	sim_world_free(&w);
}

void estate_cleanup(struct estate *e)
{
	free(e->s);
	memset(e, 0, sizeof(*e));
}
