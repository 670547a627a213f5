/*
 * tests/unit/xapi/topology_mem.c - what one topology object costs
 * (topology_record.c): its allocation holds the common part and its own
 * class's member of the union alone (a VBD not the size of a VM), and its
 * strings block holds its strings with no growth slack. Sizes are read with
 * malloc_usable_size, which under AddressSanitizer (as tests run) is the size
 * asked for.
 */
#include <malloc.h>
#include <stddef.h>
#include <string.h>

#include "test.h"
#include "xapi/rpc_value.h"
#include "xapi/topology_int.h"

/* Parses a record of class c with the string members k[i] = v[i]. */
static struct topo_obj *mem_parse(struct xs_rpc_arena *a, enum xs_topo_class c, const char *const *kv,
				  size_t n)
{
	struct xs_rpc_value *st = xs_rpc_struct(a);
	struct topo_obj *o = NULL;
	char err[XS_ERR_LEN] = "";

	for (size_t i = 0; i + 1 < n; i += 2)
		xs_rpc_struct_cset(a, st, kv[i], xs_rpc_cstring(a, kv[i + 1]));
	ok(topo_record_parse(c, "OpaqueRef:0b6c8f5e-2d1a-4a43-9e1d-1f0c3f6a7a10", st, &o, err) == XS_OK,
	   "parse: %s", err);
	return o;
}

static void test_object_sizes(void)
{
	static const char *const vbd[] = { "uuid", "5e4b1c2d-aaaa-4bbb-8ccc-0123456789ab", "VM",
					   "OpaqueRef:vm", "VDI", "OpaqueRef:vdi", "device", "xvda",
					   "userdevice", "0" };
	static const char *const vm[] = { "uuid", "6f4b1c2d-aaaa-4bbb-8ccc-0123456789ab", "name_label",
					  "a VM with a long enough name to grow the strings block" };
	struct xs_rpc_arena *a = xs_rpc_arena_new();
	struct topo_obj *o;
	size_t strs;

	o = mem_parse(a, XS_TOPO_VBD, vbd, sizeof(vbd) / sizeof(vbd[0]));
	fail_unless(o, "a VBD");
	ok(malloc_usable_size(o) == offsetof(struct topo_obj, u) + sizeof(struct topo_vbd) &&
		   malloc_usable_size(o) < sizeof(struct topo_obj),
	   "a VBD takes %zu bytes, not the %zu of the largest class", malloc_usable_size(o),
	   sizeof(struct topo_obj));
	strs = strlen(o->ref) + 1 + strlen(o->uuid) + 1;
	ok(malloc_usable_size(o->strs) >= strs && malloc_usable_size(o->strs) < 2 * strs,
	   "its strings block is %zu bytes for its strings (ref and uuid alone: %zu)",
	   malloc_usable_size(o->strs), strs);
	topo_obj_free(o);
	o = mem_parse(a, XS_TOPO_VM, vm, sizeof(vm) / sizeof(vm[0]));
	fail_unless(o, "a VM");
	ok(malloc_usable_size(o) == offsetof(struct topo_obj, u) + sizeof(struct topo_vm),
	   "a VM takes %zu bytes", malloc_usable_size(o));
	ok(!strcmp(o->u.vm.pub.name, vm[3]), "its name: %s", o->u.vm.pub.name);
	topo_obj_free(o);
	xs_rpc_arena_free(&a);
}

int main(void)
{
	TEST_RUN(test_object_sizes);
	return test_summary();
}
