/*
 * curl_dl.h - libcurl, loaded when the first HTTP client is made.
 *
 * xapistat opens libcurl at run time (dlopen of "libcurl.so.4", Debian's
 * libcurl4 package) instead of linking it: libcurl drags some thirty shared
 * libraries into every process, about 3 ms of start-up that commands which
 * never talk HTTP (rrd2csv) would pay on every run. Only http_client.c uses
 * it. The table is filled once and never changes afterwards.
 */
#ifndef XS_XAPI_CURL_DL_H
#define XS_XAPI_CURL_DL_H

#include <curl/curl.h>

#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt

struct xs_curl_api {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_global_cleanup) *global_cleanup;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_multi_init) *multi_init;
	__typeof__(curl_multi_cleanup) *multi_cleanup;
	__typeof__(curl_multi_setopt) *multi_setopt;
	__typeof__(curl_multi_add_handle) *multi_add_handle;
	__typeof__(curl_multi_remove_handle) *multi_remove_handle;
	__typeof__(curl_multi_socket_action) *multi_socket_action;
	__typeof__(curl_multi_info_read) *multi_info_read;
	__typeof__(curl_multi_assign) *multi_assign;
	__typeof__(curl_multi_strerror) *multi_strerror;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
	__typeof__(curl_url) *url;
	__typeof__(curl_url_set) *url_set;
	__typeof__(curl_url_get) *url_get;
	__typeof__(curl_url_cleanup) *url_cleanup;
	__typeof__(curl_url_strerror) *url_strerror;
	__typeof__(curl_free) *free;
};

/* The functions of libcurl, loading it on the first call; NULL with err
 * ("libcurl: ...") when it cannot be loaded. */
const struct xs_curl_api *xs_curl_load(char *err);

#endif
