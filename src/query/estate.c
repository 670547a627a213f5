/*
 * estate.c - finding an object by uuid across the pools of an estate (estate.h).
 */
#include <string.h>

#include "query/estate.h"

enum xs_estate_kind xs_estate_find(const struct xs_estate *e, const char *uuid, size_t *pool)
{
	for (size_t i = 0; i < e->npools; i++) {
		const struct xs_topo *t = e->pools[i].topo;
		const struct xs_topo_pool *p;
		enum xs_estate_kind k = XS_ESTATE_NONE;

		if (!t)
			continue;
		p = xs_topo_pool(t);
		if (p && !strcmp(p->uuid, uuid))
			k = XS_ESTATE_POOL;
		else if (xs_topo_host_by_uuid(t, uuid))
			k = XS_ESTATE_HOST;
		else if (xs_topo_vm_by_uuid(t, uuid))
			k = XS_ESTATE_VM;
		else if (xs_topo_sr_by_uuid(t, uuid))
			k = XS_ESTATE_SR;
		if (k != XS_ESTATE_NONE) {
			if (pool)
				*pool = i;
			return k;
		}
	}
	return XS_ESTATE_NONE;
}
