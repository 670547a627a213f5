/*
 * credentials.h - the user name and password xapistat logs in to a pool with
 * (issue 4, point 6), and the pool URL without them.
 *
 * Sources, in order of precedence for the password:
 *   1. a password file (--password-file F): its first line, the trailing
 *      "\n" or "\r\n" stripped;
 *   2. the URL's user-info (http://user:pass@host), percent-decoded;
 *   3. the environment variable XS_CRED_ENV (XAPISTAT_PASSWORD).
 * The user name: an explicit one (--user U), else the URL's, else "root".
 *
 * A password given in a URL on the command line is visible in the process
 * listing (/proc/PID/cmdline) from the moment the process starts until
 * xs_cred_mask_url() overwrites it, and in the shell's history: that window
 * cannot be closed from inside the program. Prefer the file or the
 * environment. Passwords never appear in error messages made here, and
 * xs_cred_cleanup() wipes them from memory.
 */
#ifndef XS_XAPI_CREDENTIALS_H
#define XS_XAPI_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

#define XS_CRED_ENV "XAPISTAT_PASSWORD"
#define XS_CRED_MAX 1024          /* longest user name or password accepted, bytes */
#define XS_CRED_URL_MAX 2048      /* longest pool URL accepted, bytes */
#define XS_CRED_DEFAULT_USER "root"

/* Zero-fill before use; fields are owned (heap) and freed by xs_cred_cleanup(). */
struct xs_cred {
	char *user;     /* never NULL after a successful xs_cred_resolve() */
	char *password; /* idem; "" is a valid (empty) password */
};

/*
 * Splits url ("scheme://[user[:pass]@]host[:port][/path]") into the URL
 * without user-info, written to clean (cap bytes), and the percent-decoded
 * user and password (malloc'd into *user / *password, NULL when absent; the
 * caller owns them and should wipe them, see xs_cred_cleanup()).
 * Errors: XS_ERR_ARG (no "scheme://", empty host, bad percent escape, a
 * decoded NUL), XS_ERR_TOO_LARGE (longer than cap or XS_CRED_MAX); err never
 * quotes the user-info.
 */
enum xs_err xs_cred_split_url(const char *url, char *clean, size_t cap, char **user,
			      char **password, char *err) __attribute__((warn_unused_result));

/*
 * Reads the first line of path into *password (malloc'd, caller owns it).
 * XS_ERR_IO when it cannot be read (err names the path and errno's text),
 * XS_ERR_TOO_LARGE past XS_CRED_MAX bytes.
 */
enum xs_err xs_cred_read_file(const char *path, char **password, char *err)
	__attribute__((warn_unused_result));

/*
 * The whole resolution described above. url is the --pool argument; user and
 * password_file may be NULL; env is the value of XS_CRED_ENV (getenv(), may
 * be NULL). On XS_OK clean holds the URL without user-info and c the
 * credentials; on error c is cleaned up. XS_ERR_ARG when no password is
 * found anywhere ("no password: use --password-file F or XAPISTAT_PASSWORD").
 */
enum xs_err xs_cred_resolve(const char *url, const char *user, const char *password_file,
			    const char *env, char *clean, size_t cap, struct xs_cred *c, char *err)
	__attribute__((warn_unused_result));

/* Overwrites the password of a URL's user-info in place with '*' (for argv). */
void xs_cred_mask_url(char *url);

/*
 * Whether an '@' follows url's authority (in its path, query or fragment): the mark of a
 * password holding an unencoded '/', '?' or '#', which ended the authority inside itself
 * ("https://root:ab/cd@10.0.0.1" would be host "root", port "ab"; "https://root:2024/x@h"
 * even parses, as host "root" port 2024). No pool URL has a reason for one there: such a
 * URL is refused, with XS_CRED_AT_AFTER_HOST, which does not echo it.
 */
bool xs_cred_url_at_after_host(const char *url);
#define XS_CRED_AT_AFTER_HOST \
	"an '@' after the host: a password holding '/', '?' or '#' must write them %2F, %3F and %23"


/* Wipes and frees both strings; c stays zero-filled. Accepts NULL. */
void xs_cred_cleanup(struct xs_cred *c);

#endif
