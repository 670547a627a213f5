/*
 * curl_dl.c - loads libcurl at run time (see curl_dl.h).
 *
 * The table below is the process's one libcurl: written once under a lock on
 * first use, read-only afterwards. The library stays loaded until exit.
 */
#include "xapi/curl_dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#include "lib/err.h"

#define CURL_SONAME "libcurl.so.4"

static struct xs_curl_api curl_table;
static const struct xs_curl_api *curl_loaded;
static char curl_error[XS_ERR_LEN];
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

/* dlsym gives an object pointer; a function pointer is copied out of it bytewise. */
static int curl_resolve(void *lib, const char *name, void *slot, size_t size)
{
	void *sym = dlsym(lib, name);

	if (!sym || size != sizeof(sym))
		return -1;
	memcpy(slot, &sym, size);
	return 0;
}

#define CURL_RESOLVE(field, name) \
	(curl_resolve(lib, name, &curl_table.field, sizeof(curl_table.field)) ? name : NULL)

static void curl_load_once(void)
{
	void *lib = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	const char *missing = NULL;

	if (!lib) {
		xs_err_set(curl_error, XS_ERR_IO, "libcurl: cannot load %s (install libcurl4): %s",
			   CURL_SONAME, dlerror());
		return;
	}
	const char *names[] = {
		CURL_RESOLVE(global_init, "curl_global_init"),
		CURL_RESOLVE(global_cleanup, "curl_global_cleanup"),
		CURL_RESOLVE(easy_init, "curl_easy_init"),
		CURL_RESOLVE(easy_cleanup, "curl_easy_cleanup"),
		CURL_RESOLVE(easy_setopt, "curl_easy_setopt"),
		CURL_RESOLVE(easy_getinfo, "curl_easy_getinfo"),
		CURL_RESOLVE(easy_strerror, "curl_easy_strerror"),
		CURL_RESOLVE(multi_init, "curl_multi_init"),
		CURL_RESOLVE(multi_cleanup, "curl_multi_cleanup"),
		CURL_RESOLVE(multi_setopt, "curl_multi_setopt"),
		CURL_RESOLVE(multi_add_handle, "curl_multi_add_handle"),
		CURL_RESOLVE(multi_remove_handle, "curl_multi_remove_handle"),
		CURL_RESOLVE(multi_socket_action, "curl_multi_socket_action"),
		CURL_RESOLVE(multi_info_read, "curl_multi_info_read"),
		CURL_RESOLVE(multi_assign, "curl_multi_assign"),
		CURL_RESOLVE(multi_strerror, "curl_multi_strerror"),
		CURL_RESOLVE(slist_append, "curl_slist_append"),
		CURL_RESOLVE(slist_free_all, "curl_slist_free_all"),
		CURL_RESOLVE(url, "curl_url"),
		CURL_RESOLVE(url_set, "curl_url_set"),
		CURL_RESOLVE(url_get, "curl_url_get"),
		CURL_RESOLVE(url_cleanup, "curl_url_cleanup"),
		CURL_RESOLVE(url_strerror, "curl_url_strerror"),
		CURL_RESOLVE(free, "curl_free"),
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !missing; i++)
		missing = names[i];
	if (missing) {
		xs_err_set(curl_error, XS_ERR_IO, "libcurl: %s lacks %s (too old?)", CURL_SONAME,
			   missing);
		dlclose(lib);
		return;
	}
	curl_loaded = &curl_table;
}

const struct xs_curl_api *xs_curl_load(char *err)
{
	pthread_once(&curl_once, curl_load_once);
	if (!curl_loaded)
		xs_err_set(err, XS_ERR_IO, "%s", curl_error);
	return curl_loaded;
}
