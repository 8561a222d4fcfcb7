/*
 * The store: the console's database and every rule about money. It owns
 * STATE/ledger.db (schema, migrations, the one writer of ledger entries),
 * console.conf, the business calendar, the billing arithmetic (R5, R6, R7;
 * R1 itself is qh/units.h), verification of the ledger, revenue (R14) and
 * the ticket rules. It links SQLite, OpenSSL's libcrypto (hashes,
 * certificates) and libqh, and never libuv, the mux or TLS: the daemon and
 * the admin commands both build on it, and its unit tests link nothing else.
 *
 * The store is the only part that speaks SQL: the daemon and the admin
 * commands call the functions below, which bind every parameter, write
 * inside BEGIN IMMEDIATE and hand rows back as plain structs (the listings
 * through a row callback), never as statements. The same reports may be
 * answered over TLS by the daemon one day, or by another database behind
 * this header.
 *
 * This is the store's one public header. Every function runs on the
 * caller's thread; one sqlite3 connection must not be shared by threads.
 */
#ifndef QH_STORE_H
#define QH_STORE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "qh/cli.h"
#include "qh/desk.h"
#include "qh/json.h"
#include "qh/pki.h"
#include "qh/mailaddr.h"
#include "qh/ticket.h"

/* ------------------------------------------------------------ configuration */

/* console.conf, as read by conf_load(). Defaults are set by conf_defaults(). */
struct console_conf {
	char name[256];		 /* [console] name: DNS name or IP in the certificate */
	char listen[300];	 /* [console] listen: ADDR:PORT */
	long long grace_seconds; /* [session] grace: agent reconnect window (R11) */
	long long idle_seconds;	 /* [session] idle: close with no technician (R12) */
	long long
	    keepalive_seconds; /* [session] keepalive: ping interval; dead after 3 */
	/* [session] consent_timeout: an unanswered question is "no answer" then */
	long long consent_timeout;
	long long token_hours; /* [enroll] token_hours: join token lifetime */
	long long cert_days;   /* [enroll] cert_days: agent/tech certificate lifetime */
	long long server_cert_days; /* [enroll] server_cert_days: the console's */
	char log_level[16];	    /* [console] log_level */
	/* [billing] */
	char timezone[64];	 /* business time zone (R9) */
	int open_min, close_min; /* hours = 07:00-18:00, minutes after midnight */
	unsigned days;		 /* days = mon-fri: bit (1 << tm_wday) */
	char currency[8];	 /* ISO 4217 code of every price */
	struct conf_tier {
		long long min_hours;  /* purchases of at least this many hours... */
		long long unit_cents; /* ...pay this per 15-minute unit (R6) */
	} tiers[8];
	int ntiers;
	long long installation_cents; /* price of one installation (R8) */
	char notify_command[1024];    /* R5: run with a JSON document on stdin */
	/* [recordings] */
	long long retention_days; /* remove recordings older than this; 0 keeps all */
	/* [tickets] */
	int holidays[64]; /* YYYYMMDD, business-calendar days off */
	int nholidays;
	long long max_attachment_mib;  /* largest attachment accepted */
	long long max_ticket_mib;      /* largest total of a ticket's attachments */
	long long max_steps_kib;       /* longest steps to reproduce */
	long long ticket_meta_seconds; /* a ticket's description arrives within this */
	long long ticket_idle_seconds; /* an upload's idle allowance, from its start */
	/* [limits]: connections that have not authenticated yet */
	long long preauth_per_address; /* at once from one address (IPv6: one /64) */
	long long preauth_max;	       /* at once in all */
	long long join_seconds;	       /* no certificate: the JOIN arrives within this */
	/* [enroll] agent_exe: the qh-agent.exe that enroll --exe copies */
	char agent_exe[1024];
	/* [vendor] name: shown in the customer's window (else [console] name) */
	char vendor_name[256];
	/* [vendor] address: on statements, lines separated by ", " */
	char vendor_address[256];
	/* [mail]: messages to customers and staff over SMTP (daemon/outbox.c) */
	char mail_url[1024]; /* smtp://HOST[:PORT] or smtps://...; "": no mail */
	char mail_from[QH_MAIL_ADDR_MAX + 1]; /* the sender's address */
	char mail_user[256];		      /* SMTP authentication; "": none */
	char mail_password_file[1024];	      /* its password: the file's first line */
	char mail_staff[1024];		      /* staff's addresses, comma-separated */
	char mail_staff_lang[4];	      /* de | en: the language of staff's mail */
	/* [datev]: the Buchungsstapel export (ledger --format datev); SKR03 defaults */
	long long datev_consultant;	  /* Beraternummer */
	long long datev_client;		  /* Mandantennummer */
	int datev_fy_month, datev_fy_day; /* fiscal_year_start MM-DD */
	long long datev_account_length;	  /* Sachkontenlänge, 4 to 8 */
	long long datev_bank;		  /* cash received: 1200 Bank */
	long long datev_deferred;	  /* paid, not yet used: 1710 Anzahlungen */
	long long datev_revenue[3];	  /* by tax class: DE, EU reverse charge, rest */
	char datev_tax_key[3][5];	  /* BU-Schlüssel by tax class; "": none */
	int datev_book_purchases;	  /* 0: the shop books the invoices already */
};

/* The tax classes of [datev] (conf datev_revenue, datev_tax_key). */
enum datev_tax {
	DATEV_TAX_DE,	 /* Germany, or an EU customer without a VAT id: 19 % */
	DATEV_TAX_EU,	 /* an EU customer with a VAT id: reverse charge */
	DATEV_TAX_WORLD, /* outside the EU: not taxable in Germany */
};

/* Resolves the state directory: --state, else $QH_STATE, else /var/lib/quarterhour. */
const char *console_state_dir(const struct qh_cli *c);

void conf_defaults(struct console_conf *conf);
/* Reads STATE/console.conf; on error prints "FILE:LINE: reason" and returns <0. */
int conf_load(const char *state_dir, struct console_conf *conf);
/* Writes a new console.conf with the given name and listen address. */
int conf_write_new(const char *state_dir, const char *name, const char *listen);

/*
 * The address technicians and agents dial: the listen address, or the
 * console's name when the listen address is a wildcard.
 */
int console_address(const struct console_conf *conf, char *out, size_t len);

/* Loads the CA certificate and key from the state directory. */
int state_load_ca(const char *state, X509 **cap, EVP_PKEY **keyp);

/* -------------------------------------------------------- a command's state */

/*
 * What a console command runs against: its state directory, configuration
 * and database, opened by the dispatcher (console/dispatch.c) as the
 * command's entry needs.
 */
struct store_env {
	const char *state;	  /* the state directory */
	struct console_conf conf; /* its console.conf */
	sqlite3 *db;		  /* NULL unless the command needs the database */
};

/*
 * Opens env for the state directory: the configuration, and the database
 * when needs has QH_CLI_DB_READ (read-only, inside one read transaction, so
 * the command sees one snapshot while serve writes) or QH_CLI_DB_WRITE
 * (migrated; the command runs its own transactions). Prints one line saying
 * why not and returns <0 on failure.
 */
int store_env_open(struct store_env *env, const char *state, unsigned needs);

/* Rolls back what a command left open and closes the database. */
void store_env_close(struct store_env *env);

/* ----------------------------------------------------------------- database */

/*
 * STATE/ledger.db: opening it with the pragmas every connection needs,
 * creating it, and migrating its schema through PRAGMA user_version. Errors
 * are logged with sqlite3_errmsg and returned as QH_ERR_DB (QH_ERR_BUSY when
 * another process holds the lock). Writes go inside db_begin() ...
 * db_commit(), which is BEGIN IMMEDIATE: the write lock is taken up front,
 * so a transaction never fails half-way for want of it.
 */

#define DB_FILE	   "ledger.db"
#define DB_BUSY_MS 5000

/* The schema version this program writes; db_migrate() brings a database to it. */
int db_schema_version(void);

/*
 * Opens STATE/ledger.db, which must exist (QH_ERR_NOT_FOUND otherwise), and
 * sets busy_timeout, foreign_keys=ON, synchronous=FULL and (unless readonly)
 * journal_mode=WAL. A database newer than this program gives QH_ERR_DB.
 * On success *dbp is owned by the caller (db_close).
 */
int db_open(const char *state_dir, int readonly, sqlite3 **dbp);

/*
 * Creates STATE/ledger.db (mode 0600; QH_ERR_EXISTS if it is there), opens
 * it like db_open() and migrates it to the current schema.
 */
int db_create(const char *state_dir, sqlite3 **dbp);

/*
 * Applies the migration steps the database has not seen, in one
 * transaction, with foreign keys checked once at its end (a step may
 * rebuild a table); nothing changes when a step fails.
 */
int db_migrate(sqlite3 *db);

/*
 * Migrates STATE/ledger.db when it is older than this program, through a
 * connection of its own (readers call it before opening read-only).
 */
int db_migrate_if_older(const char *state_dir);

/*
 * PRAGMA data_version into *version: it changes whenever another
 * connection (an admin command, say) commits to the database, and not for
 * this connection's own commits. Cheap enough to poll once a second.
 */
int db_data_version(sqlite3 *db, int64_t *version);

/* Closes db; NULL is fine. */
void db_close(sqlite3 *db);

/* Runs SQL text that returns no rows (no parameters: constant text only). */
int db_exec(sqlite3 *db, const char *sql);

/* Prepares one statement; logs and returns QH_ERR_DB on failure. */
int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stp);

/*
 * A prepared statement kept for the connection's lifetime, for hot paths:
 * sql must be a string literal (it is found by its address). Hand it back
 * with db_done(), which resets it (and finalizes one that is not cached).
 */
int db_stmt(sqlite3 *db, const char *sql, sqlite3_stmt **stp);
void db_done(sqlite3_stmt *st);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. db_rollback is safe outside a transaction. */
int db_begin(sqlite3 *db);
int db_commit(sqlite3 *db);
void db_rollback(sqlite3 *db);

/*
 * Records a certificate the CA just issued in the certificates table
 * (serial, role, identity, subject, agent id, fingerprint, expiry, issued
 * now). Call it inside db_begin(); QH_ERR_AUTH if cert has no valid role.
 */
int db_record_cert(sqlite3 *db, X509 *cert);

/*
 * What a connection writes the ledger with, kept per connection by
 * db_open(): its state directory, the ledger's key read from
 * STATE/ledger.key, and the currency of a debit that finds no lot.
 */
const char *db_state_dir(sqlite3 *db);

/*
 * The ledger's key (LEDGER_KEY_LEN bytes, valid while db is open): 0 and
 * *key; QH_ERR_NOT_FOUND when STATE/ledger.key is missing, QH_ERR_FORMAT
 * or QH_ERR_SYSTEM when it cannot be read.
 */
int db_ledger_key(sqlite3 *db, const uint8_t **key);

/* Makes STATE/ledger.key for a database that has none (a migration step). */
int db_ledger_key_create(sqlite3 *db);

/* The currency of debits that find no lot: console.conf's, set by who opens db. */
void db_set_currency(sqlite3 *db, const char *currency);
const char *db_currency(sqlite3 *db); /* NULL until set */

/*
 * How long a write waits for another process's write lock before it fails
 * with QH_ERR_BUSY (DB_BUSY_MS after db_open). The daemon's loop uses
 * DB_LOOP_BUSY_MS and retries later instead of stalling every relay.
 */
#define DB_LOOP_BUSY_MS 100
int db_set_busy_ms(sqlite3 *db, int ms);

/*
 * Copies the database db reads into a new file path (mode 0600;
 * QH_ERR_EXISTS if it is there) with SQLite's online backup API: one
 * consistent snapshot, the one db's open read transaction sees, or the
 * newest committed state when it has none, taken while serve writes. The
 * copy is checked (PRAGMA quick_check) and complete in itself. On failure
 * nothing is left at path.
 */
int db_backup(sqlite3 *db, const char *path);

/*
 * Maps an SQLite result code to QH_ERR_*, logging sqlite3_errmsg(db) with
 * what under the caller's name. Returns 0 for SQLITE_OK, SQLITE_ROW and
 * SQLITE_DONE.
 */
#define db_error(db, rc, what) db_error_at(__func__, (db), (rc), (what))
int db_error_at(const char *func, sqlite3 *db, int rc, const char *what);

/*
 * Listings (the db_*_list and db_*_rows functions below) call their row
 * callback once per row, in the order each one states, with a struct whose
 * texts are NULL for "none" and live only until the callback returns. The
 * first nonzero value the callback returns ends the listing and is
 * returned as it is; otherwise they return 0, or a database error
 * (QH_ERR_DB, QH_ERR_BUSY). They only read: run them inside a read
 * transaction for one consistent snapshot.
 */

/* ------------------------------------------------------------------- ledger */

/*
 * The one module that writes ledger entries, purchase lots and their
 * allocations (DESIGN §3). Every function here runs inside the caller's
 * BEGIN IMMEDIATE transaction, so the previous entry's hash and the
 * customer's balance are read under the write lock.
 */

#define LEDGER_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* An entry to append; the outputs are filled by ledger_append. */
struct ledger_entry {
	const char *customer;
	const char *kind;      /* purchase, session, installation_purchase, ... */
	int64_t units;	       /* signed */
	int64_t installations; /* signed */
	int64_t session_id;    /* 0: none */
	const char *started_at, *ended_at;
	int64_t billable_seconds; /* -1: none */
	const char *technician;
	int after_hours;
	const char *reference, *note, *actor, *idem_key;
	int64_t corrects;	  /* 0: none */
	int64_t unit_price_cents; /* purchases: price of one unit (or installation) */
	const char *currency;
	/* Filled in: */
	int64_t id;
	int64_t balance_after;
	int64_t amount_cents;
	char lot_ids[512];
	char hash[65];
	int crossed_threshold, crossed_zero; /* R5 notifications written */
};

/*
 * Appends e: allocates debits to lots FIFO (R14), creates the lot of a
 * purchase (and settles earlier overdrafts from it), chains the hash and
 * writes R5 notifications for crossings. QH_ERR_EXISTS if e->idem_key was
 * used already (nothing written).
 */
int ledger_append(sqlite3 *db, struct ledger_entry *e);

/*
 * Posts the debit of a session that was just closed in this transaction
 * (R4): units by R1 (or one installation, R8), its technicians, ticket and
 * note. QH_ERR_EXISTS if the session has its entry already.
 */
int ledger_post_session(sqlite3 *db, int64_t session_id, struct ledger_entry *out);

/* Customer figures. */
struct ledger_balance {
	int64_t units; /* purchased − debited ± corrections (R3) */
	int64_t installations;
	int64_t warn_units, overdraft_units;
	int is_free; /* plan free (R7) */
};
int ledger_balance(sqlite3 *db, const char *customer, struct ledger_balance *b);

/*
 * The hash chain (chain.c). An entry written before LEDGER_KEYED_VERSION has
 * schema_version NULL and its hash is SHA-256 over the canonical encoding
 * of its columns in LEDGER_HASH_COLUMNS order (prev_hash last). From
 * LEDGER_KEYED_VERSION on, entries carry the version they were written
 * under and their hash is HMAC-SHA256 with the ledger's key over
 * LEDGER_KEYED_COLUMNS. The keyed chain starts at entry 1 or at the one
 * migration entry (kind 'migration', no customer) written when the
 * keyed version came to a ledger that held entries. docs/ledger.md.
 */
#define LEDGER_KEYED_VERSION 3 /* the first schema version with keyed entries */
#define LEDGER_KEY_FILE	     "ledger.key"
#define LEDGER_KEY_LEN	     32

/*
 * The canonical hash of an unkeyed ledger row given as the text of its
 * columns in LEDGER_HASH_COLUMNS order (NULL for SQL NULL), chained to
 * prev_hash.
 */
#define LEDGER_HASH_COLUMNS                                                              \
	"id, posted_at, customer_id, kind, units, installations, "                       \
	"balance_after, session_id, started_at, ended_at, billable_seconds, "            \
	"technician, "                                                                   \
	"after_hours, lot_id, amount_cents, currency, reference, note, corrects, "       \
	"actor, "                                                                        \
	"idem_key, prev_hash"
#define LEDGER_HASH_NCOLS 22
void ledger_hash(const char *const cols[LEDGER_HASH_NCOLS], char out[65]);

/* The keyed hash of a row of a later version: its columns and schema_version. */
#define LEDGER_KEYED_COLUMNS LEDGER_HASH_COLUMNS ", schema_version"
#define LEDGER_KEYED_NCOLS   23
void ledger_hmac(const uint8_t key[LEDGER_KEY_LEN],
    const char *const cols[LEDGER_KEYED_NCOLS], char out[65]);

/*
 * STATE/ledger.key: 64 hex digits and a newline, mode 0600. Reading gives
 * 0, QH_ERR_NOT_FOUND (missing), QH_ERR_FORMAT or QH_ERR_SYSTEM; creating
 * never replaces a file (QH_ERR_EXISTS). ledger_key_problem says in words
 * what a reading error means.
 */
int ledger_key_read(const char *state, uint8_t key[LEDGER_KEY_LEN]);
int ledger_key_create(const char *state, uint8_t key[LEDGER_KEY_LEN]);
void ledger_key_remove(const char *state);
const char *ledger_key_problem(int r);

/*
 * Warns (logged) for each of the state directory, ledger.db and ledger.key
 * that users other than its owner may read; returns how many.
 */
int store_check_private(const char *state);

/* The last entry's id and hash: 0 and LEDGER_GENESIS when there is none. */
int ledger_head(sqlite3 *db, int64_t *id, char hash[65]);

/* The keyed version's migration step (after its SQL): the key, the migration entry. */
int ledger_migrate_keyed(sqlite3 *db);

/*
 * R7 debts: a debit (units < 0) owes the units no lot has covered yet, its
 * units less its allocations less the relief of each positive correction
 * `c` of it. A correction first takes the debit's debt off, then refills
 * the lots the debit consumed, and credits the rest as a new lot; its
 * relief is the part that took the debt off. Lots that gain units settle
 * debts at once, so a customer with a debt has no units left in lots. For every customer,
 * the units left in their lots less their debts equal their balance.
 */
#define LEDGER_OWED_RELIEF                                                               \
	"c.units + coalesce((SELECT sum(a2.units) FROM allocations a2 "                  \
	"WHERE a2.entry_id = c.id), 0) - coalesce((SELECT sum(k.units) FROM lots k "     \
	"WHERE k.entry_id = c.id), 0)"

/*
 * `qh-console verify`: walks the ledger in id order and checks each entry's
 * hash under the rules of the schema version it was written under (keyed
 * from LEDGER_KEYED_VERSION on, the unkeyed part sealed by the migration
 * entry) and its link to the previous one, each customer's running
 * balance, that every closed session has exactly one entry and every
 * session entry a closed session, that no lot gives more units than it
 * holds, that lots less debts equal each balance, and for keyed entries
 * the money (amount_cents with the sign of units, worth the lots touched)
 * and the bounds of corrections. Read-only; run it inside a read
 * transaction for one consistent snapshot. Returns 0 when all holds, 1 on
 * the first problem (a sentence in why; *bad_entry is the entry's id, or 0
 * when the problem is not one entry's), 2 when all that could be checked
 * holds but keyed hashes could not be checked for want of the key (why
 * says which and why: a missing key is no sign of tampering), or a
 * negative QH_ERR_* when the database could not be read.
 */
int ledger_verify(sqlite3 *db, char *why, size_t len, int64_t *bad_entry);

/*
 * The hash of entry id recomputed from its columns (not the stored one),
 * for `verify --since-head`. QH_ERR_NOT_FOUND when there is no such entry;
 * a key error when the entry is keyed and the key cannot be read.
 */
int ledger_entry_hash(sqlite3 *db, int64_t id, char out[65]);

/* ----------------------------------------------------------------- sessions */

/* A session as it opens (R2, R9, R13). */
struct db_session {
	const char *customer, *agent_id, *code;
	const char *kind;	  /* support | installation (R8) */
	int64_t ticket;		  /* 0: none */
	const char *overdraft_by; /* login that allowed an overdraft (R7), or NULL */
	int after_hours;	  /* R9 */
	int64_t opened;		  /* UTC seconds */
};

/*
 * Records a new session and commits it (R13: before the first byte of its
 * first channel is relayed). Fills *id.
 */
int db_session_open(sqlite3 *db, const struct db_session *s, int64_t *id);

/* Persists the billable seconds of open session id (R13), in its own transaction. */
int db_session_persist(sqlite3 *db, int64_t id, int64_t secs);

/*
 * Closes session id with its final billable seconds and posts its debit,
 * in one transaction (R4); debit is filled in. closed is when it closed
 * (UTC seconds; 0: now), also when the close is written later. QH_ERR_EXISTS
 * if the session has its ledger entry already. Nothing is written on
 * failure (QH_ERR_BUSY when another process holds the write lock).
 */
int db_session_close(sqlite3 *db, int64_t id, const char *reason, const char *note,
    int64_t secs, int64_t closed, struct ledger_entry *debit);

/*
 * Closes every session a crash left open at its last persisted point and
 * debits it, never twice (R13). *closed is how many were closed.
 */
int db_session_recover(sqlite3 *db, int *closed);

/*
 * Records the staff-only note of session id (`end --internal`), in its own
 * transaction; the customer never reads it. QH_ERR_NOT_FOUND when there is
 * no such session.
 */
int db_session_internal(sqlite3 *db, int64_t id, const char *text);

/*
 * The audit rows of a session: an event from now, open (its end comes with
 * db_event_end) or closed at once. Returns the event's id, or 0 when it
 * could not be written (logged; auditing never stops a command).
 */
int64_t db_event_add(sqlite3 *db, int64_t session, const char *kind, const char *login,
    const char *command, const char *detail, int closed);
void db_event_end(sqlite3 *db, int64_t id, const char *detail);

/* ------------------------------------------------------------ who connects */

/* 1 if the certificate with this serial is on record for identity and not revoked. */
int db_cert_current(sqlite3 *db, const char *serial, const char *identity);

/* 1 if the technician exists in this role and is not revoked; fills name. */
int db_tech_current(sqlite3 *db, const char *login, const char *role, char *name,
    size_t namelen);

/* 1 if the agent is enrolled for customer and not revoked. */
int db_agent_current(sqlite3 *db, const char *agent_id, const char *customer);

/* 1 if the customer exists; fills name. */
int db_customer_name(sqlite3 *db, const char *customer, char *name, size_t namelen);

/* 1 if ticket belongs to customer. */
int db_ticket_of(sqlite3 *db, int64_t ticket, const char *customer);

/* A join token as db_token_check finds it. */
struct join_token {
	char customer[65];   /* QH_ID_MAX + 1: the customer it enrols for */
	char agent_id[65];   /* the agent its key was enrolled as; "" if none yet */
	char key_sha256[65]; /* hex SHA-256 of the bound public key; "" if none yet */
	char *cert_pem;	     /* that key's certificate, or NULL; the caller frees */
};

/*
 * Looks up a join token by the SHA-256 hex of its secret for a request
 * with the public key whose hex SHA-256 is key_sha256 (DER
 * SubjectPublicKeyInfo). Returns NULL and fills *t when the request may
 * have a certificate: the token is unbound (t->cert_pem NULL: issue one),
 * or bound to this very key and not yet spent (t->cert_pem is the
 * certificate issued before: send it again). Otherwise returns the refusal
 * for the agent: unknown, spent, expired, or bound to another key.
 */
const char *db_token_check(sqlite3 *db, const char *hash, const char *key_sha256,
    struct join_token *t);

/*
 * Binds the unbound token to key_sha256 and records the new agent and its
 * certificate (cert_pem is cert), in one transaction. The token is not
 * spent yet: db_token_spend does that at the agent's first connection.
 * QH_ERR_REFUSED when another request bound the token meanwhile.
 */
int db_join_record(sqlite3 *db, const char *hash, const char *customer, const char *agent,
    const char *host, const char *key, X509 *cert, const char *pem);

/*
 * Spends the join token that enrolled agent_id, now, if it is not spent:
 * the agent connected with its certificate, so a retry of the join has
 * nothing left to get. Returns 1 if a token was spent, 0 if none was left,
 * or a database error.
 */
int db_token_spend(sqlite3 *db, const char *agent_id);

/* Records that an agent connected now from host (logged when it fails). */
void db_agent_seen(sqlite3 *db, const char *agent_id, const char *host);

/* ----------------------------------------------------- certificates' lives */

/* Certificates one identity may be issued in 24 hours by renewals. */
#define DB_RENEWALS_PER_DAY 10

/*
 * Records a renewed certificate (as db_record_cert) in its own
 * transaction, unless its identity (role, CN, agent id) was issued
 * DB_RENEWALS_PER_DAY certificates in the last 24 hours: QH_ERR_LIMIT
 * then, and nothing is written. The certificate it renews stays valid
 * until db_cert_used sees the new one.
 */
int db_cert_record_renewal(sqlite3 *db, X509 *cert);

/*
 * A connection authenticated with the certificate id names: every older
 * certificate of the same identity that is not revoked is revoked now (a
 * renewal's new certificate is in use, so the old one retires), and an
 * agent's row names this certificate and its expiry. Reads first and
 * writes only when something changes. Returns how many were retired, or
 * a database error.
 */
int db_cert_used(sqlite3 *db, const struct qh_identity *id);

/*
 * The role ("technician" or "accounting") of login into role. Returns 1
 * when the login is active, 0 when it is revoked, QH_ERR_NOT_FOUND when
 * there is no such login, or a database error.
 */
int db_tech_role(sqlite3 *db, const char *login, char *role, size_t rolelen);

/* The file in the state directory that a running serve holds locked (flock). */
#define STORE_LOCK_FILE "serve.lock"

/*
 * Whether a serve runs on state: 1 with its pid in *pid (0 when it did
 * not write one), 0 when none holds the lock, or <0 when the lock file
 * cannot be read.
 */
int store_serve_pid(const char *state, long *pid);

/*
 * presence.c: the checks the daemon makes at every connect, each one
 * query on a statement prepared once. 1 if the agent is enrolled for
 * customer, not revoked, and its certificate serial is on record for
 * that customer and not revoked; 0 otherwise (a database error too).
 */
int db_agent_cert_current(sqlite3 *db, const char *agent_id, const char *customer,
    const char *serial);

/* The same for a technician or accountant in role; fills name when known. */
int db_tech_cert_current(sqlite3 *db, const char *login, const char *role,
    const char *serial, char *name, size_t namelen);

/* One agent's connect, as db_agents_seen records it. */
struct db_seen {
	char agent_id[65]; /* QH_ID_MAX + 1 */
	char host[257];	   /* as its HELLO said */
	int64_t at;	   /* UTC seconds */
};

/* 1 if the agent's recorded host is host (a read: no lock, no commit). */
int db_agent_host_is(sqlite3 *db, const char *agent_id, const char *host);

/* Records last_seen and host of n agents in one transaction. */
int db_agents_seen(sqlite3 *db, const struct db_seen *v, size_t n);

/* ---------------------------------------------------------------- customers */

#define CUSTOMER_NAME_MAX 256 /* bytes of a customer's name (UTF-8) */

#define CUSTOMER_EMAILS_MAX 16 /* e-mail addresses of one customer */

/* A customer to add (R5's threshold, R7's plan and overdraft allowance). */
struct customer_new {
	const char *id, *name;
	const char *plan; /* premium | free */
	int64_t warn_units, overdraft_units;
	const char *lang;	   /* de | en; NULL: de */
	const char *const *emails; /* checked with qh_mail_addr_valid() */
	int nemails;		   /* at most CUSTOMER_EMAILS_MAX */
};

/* A customer as listed. */
struct customer_row {
	const char *id, *name, *plan, *created_at;
	int64_t warn_units, overdraft_units;
	const char *lang;
};

/*
 * Adds customer c, created now, with its e-mail addresses, in its own
 * transaction. Returns 0, QH_ERR_EXISTS when the id is taken (nothing
 * written), or a database error.
 */
int db_customer_add(sqlite3 *db, const struct customer_new *c);

/*
 * What `customer set` changes: a NULL text or a negative number leaves
 * that field as it is. A new field is a member here and a line in the
 * table of customers.c.
 */
struct customer_change {
	const char *name, *plan, *lang;
	const char *country;		     /* ISO 3166-1 alpha-2, upper case */
	const char *vat_id;		     /* "" removes it */
	int64_t warn_units, overdraft_units; /* -1: unchanged */
	int64_t record_desktop;		     /* 1 or 0; -1: unchanged */
	int set_emails;			     /* replace the addresses with these: */
	const char *const *emails;	     /* checked with qh_mail_addr_valid() */
	int nemails;			     /* 0 removes them all */
};

/* A change that changes nothing: every field "as it is". */
void customer_change_init(struct customer_change *ch);

/*
 * Applies ch to customer id in one transaction. Returns 0,
 * QH_ERR_NOT_FOUND when there is no such customer, or a database error
 * (nothing written).
 */
int db_customer_set(sqlite3 *db, const char *id, const struct customer_change *ch);

/* A customer as `customer show` shows it. */
struct customer_view {
	const char *id, *name, *plan, *lang, *created_at;
	const char *country, *vat_id,
	    *disabled_at; /* vat_id, disabled_at: NULL for none */
	int64_t warn_units, overdraft_units;
	const char *const *emails; /* in the order given */
	int nemails;
	struct ledger_balance balance;
};

/*
 * Calls show once with customer id (its texts live until show returns) and
 * returns what show returned; QH_ERR_NOT_FOUND when there is no such customer.
 */
int db_customer_show(sqlite3 *db, const char *id,
    int (*show)(void *arg, const struct customer_view *c), void *arg);

/* Lists every customer, by id. */
int db_customer_list(sqlite3 *db, int (*row)(void *arg, const struct customer_row *c),
    void *arg);

/* 1 if customer id exists, 0 if not, <0 on a database error. */
int db_customer_exists(sqlite3 *db, const char *id);

/*
 * 1 if what technicians see of customer id's screen is recorded (the
 * default), 0 if the customer forbade it. A database error counts as 1
 * (logged): a recording too many is put right by deleting it, one too
 * few cannot be.
 */
int db_customer_record_desktop(sqlite3 *db, const char *id);

/*
 * `customer disable` (disable 1) and `customer enable` (0): sets or clears
 * the customer's disabled_at. Returns 0, QH_ERR_NOT_FOUND, QH_ERR_EXISTS
 * when it already was so (nothing written), or a database error.
 */
int db_customer_disable(sqlite3 *db, const char *id, int disable);

/* 1 if customer id exists and is disabled, 0 if not, <0 on a database error. */
int db_customer_disabled(sqlite3 *db, const char *id);

/* ------------------------------------------------------ agents and tokens */

/* An enrolled agent (one per PC) as listed. */
struct agent_row {
	const char *id, *customer, *host, *enrolled_at, *last_seen;
	const char *cert_not_after, *revoked_at;
};

/*
 * Records a join token, the hex SHA-256 of its secret, for customer:
 * created at and valid until the given UTC seconds. Its own transaction.
 * QH_ERR_NOT_FOUND when there is no such customer (nothing written).
 */
int db_token_add(sqlite3 *db, const char *hash, const char *customer, int64_t created,
    int64_t expires);

/*
 * Short join codes (qh/token.h): a code is good for SHORT_MINUTES unless
 * enroll --minutes says otherwise (at most SHORT_MINUTES_MAX), once, and
 * for SHORT_ATTEMPTS wrong codes that name its row.
 */
#define SHORT_MINUTES	  15
#define SHORT_MINUTES_MAX 120
#define SHORT_ATTEMPTS	  5

/*
 * Records code (qh_short_new) for customer: its join token (hash: the
 * SHA-256 of the code) and its short_codes row, valid minutes (1 to
 * SHORT_MINUTES_MAX) from now; first removes the rows of expired codes.
 * Its own transaction. QH_ERR_EXISTS when a live code has the same lookup
 * characters (make another), QH_ERR_NOT_FOUND for an unknown customer,
 * QH_ERR_ARG for minutes out of range.
 */
int db_short_add(sqlite3 *db, const char *customer, const char *code, int64_t now,
    int minutes);

/*
 * Checks a short code from a JOIN: returns NULL and its join token's hash
 * in hash (for db_token_check), or the refusal for the agent (a msgid).
 * A wrong code that names a live code's row counts against that code.
 */
const char *db_short_check(sqlite3 *db, const char *code, char hash[65]);

/* Lists the agents of customer (NULL: of all), by customer and enrolment. */
int db_agent_list(sqlite3 *db, const char *customer,
    int (*row)(void *arg, const struct agent_row *a), void *arg);

/*
 * Revokes agent id and every certificate issued to it, now, in one
 * transaction; what was revoked before keeps its time. QH_ERR_NOT_FOUND
 * when there is no such agent.
 */
int db_agent_revoke(sqlite3 *db, const char *id);

/* -------------------------------------------------------------- technicians */

/*
 * Records technician login (role technician or accounting), created now,
 * or revives the row of a revoked one; runs inside the caller's
 * transaction, so the certificate and the bundle can join it.
 * QH_ERR_EXISTS when the login is in use.
 */
int db_tech_add(sqlite3 *db, const char *login, const char *name, const char *role);

/*
 * Revokes login and every technician or accounting certificate of it not
 * revoked yet, now, in one transaction. *revoked is 1 when the login was
 * active, 0 when it had been revoked before; *certs is how many
 * certificates were revoked now. QH_ERR_NOT_FOUND when there is no such
 * login.
 */
int db_tech_revoke(sqlite3 *db, const char *login, int *revoked, int *certs);

/* A technician or accountant as `tech list` shows them. */
struct tech_row {
	const char *login, *name, *role, *created_at;
	const char *revoked_at; /* NULL while active */
	const char *not_after;	/* the latest current certificate's, or NULL */
};

/* Lists every technician and accountant, by login; stops at row's non-zero. */
/*
 * The names of logins, a list separated by ';' as a session's ledger row
 * holds it, into out joined by ", " (a login with no row stays as it is;
 * a list too long for out is cut). Returns 0 or a database error.
 */
int db_staff_names(sqlite3 *db, const char *logins, char *out, size_t len);

int db_tech_list(sqlite3 *db, int (*row)(void *arg, const struct tech_row *t), void *arg);

/* ----------------------------------------------------------------- bookings */

/*
 * The admin's ledger writes (R6, R8, R10), each in its own BEGIN IMMEDIATE
 * transaction through ledger_append().
 */

#define PURCHASE_REF_MAX 200 /* bytes of a purchase reference */

/* A purchase of units or of installations (exactly one of them positive). */
struct purchase {
	const char *customer, *reference, *actor, *currency;
	int64_t units, installations;
	int64_t unit_price_cents; /* per unit, or per installation */
};

/*
 * Books p as a new lot, idempotent on its reference. Returns 0 with *entry
 * the new entry; 1 when the reference was booked before with the same
 * content (*entry that entry; nothing written); QH_ERR_EXISTS when it was
 * booked with different content (*entry that entry); QH_ERR_NOT_FOUND when
 * there is no such customer; or another error (nothing written).
 */
int db_purchase(sqlite3 *db, const struct purchase *p, int64_t *entry);

/* A correction of an entry (R10). */
struct correction {
	int64_t corrects; /* the entry corrected */
	int64_t units;	  /* signed; positive gives back */
	const char *reason, *actor, *currency;
	const char *idem_key; /* unique per correction */
};

/*
 * The bounds of a correction (R10, docs/ledger.md): it corrects a purchase
 * or a debit that booked units, never a correction; it has the opposite
 * sign of that entry; the entry's corrections together never move more
 * than its units; a purchase's correction takes at most the units left in
 * its lot. Returns 0, QH_ERR_REFUSED with the rule broken in why, or
 * QH_ERR_NOT_FOUND when there is no entry corrects. ledger_append() refuses
 * any correction outside them.
 */
int ledger_correction_allowed(sqlite3 *db, int64_t corrects, int64_t units, char *why,
    size_t len);

/*
 * Books c for the customer of the entry it corrects. Returns 0 with *entry
 * the new entry, QH_ERR_NOT_FOUND when there is no entry c->corrects,
 * QH_ERR_REFUSED with the reason in why when c is outside the bounds of
 * ledger_correction_allowed(), or another error (nothing written).
 */
int db_correction(sqlite3 *db, const struct correction *c, int64_t *entry, char *why,
    size_t len);

/* A ledger entry as credit and correct show it. */
struct entry_view {
	int64_t id;
	char customer[65]; /* QH_ID_MAX + 1 */
	char kind[32];
	int64_t units, installations, amount_cents, balance_after;
	char currency[16];	     /* "" when none */
	char lots[512];		     /* lot ids, ';'-separated; "" when none */
	int64_t corrects;	     /* 0: none */
	int has_note;		     /* note is set (it may be empty) */
	char note[4097];	     /* the reason of a correction */
	int64_t installations_after; /* the customer's installations up to here */
};

/* Reads entry id into v. QH_ERR_NOT_FOUND when there is none. */
int db_entry_get(sqlite3 *db, int64_t id, struct entry_view *v);

/* ------------------------------------------------------------------ reports */

/*
 * What accounting reads: a customer's figures, the ledger export and its
 * allocations, and the totals verify prints. The daemon will answer the
 * same reports over TLS, so each is a plain struct or a listing.
 */

/* `balance`: a customer's figures (R3, R7, R8, R13). */
struct balance_report {
	char name[CUSTOMER_NAME_MAX + 1];
	char plan[16];
	struct ledger_balance b;
	int64_t open_sessions; /* sessions not yet closed */
	int64_t running_units; /* their units at the persisted billable time (R1) */
	int64_t available;     /* billing_available(): R7 */
};

/* Fills the figures of customer; QH_ERR_NOT_FOUND when there is none. */
int db_balance_report(sqlite3 *db, const char *customer, struct balance_report *out);

/* Which entries the export holds. */
struct ledger_filter {
	const char *customer;  /* NULL: every customer */
	const char *from, *to; /* UTC timestamp texts, from inclusive, to exclusive;
				  NULL: open */
};

/*
 * One ledger entry as exported: every column, with the customer's name.
 * A nullable integer comes with a has_ flag, a nullable text is NULL.
 */
struct ledger_row {
	int64_t id;
	const char *posted_at, *customer, *kind;
	int64_t units, balance_after;
	int has_session;
	int64_t session_id;
	const char *started_at, *ended_at;
	int has_billable;
	int64_t billable_seconds;
	const char *technician;
	int64_t after_hours;
	const char *lot_id;
	int64_t amount_cents;
	const char *currency, *reference, *note, *entry_hash;
	int64_t installations;
	const char *customer_name;
	int has_corrects;
	int64_t corrects;
	const char *actor, *prev_hash;
	int has_version;	/* 0: written before the keyed version */
	int64_t schema_version; /* the version it was written under (docs/ledger.md) */
};

/* Lists the entries f selects, by id. */
int db_ledger_rows(sqlite3 *db, const struct ledger_filter *f,
    int (*row)(void *arg, const struct ledger_row *e), void *arg);

/* Lists the newest n entries of customer, newest first (`qh-agent balance`). */
int db_ledger_last(sqlite3 *db, const char *customer, int n,
    int (*row)(void *arg, const struct ledger_row *e), void *arg);

/* One allocation of an entry to a lot (R14). */
struct allocation_row {
	int64_t lot_id, units, amount_cents;
	const char *posted_at;
};

/* Lists the allocations of entry, in the order they were written. */
int db_entry_allocations(sqlite3 *db, int64_t entry,
    int (*row)(void *arg, const struct allocation_row *a), void *arg);

/* What `verify` counts once the ledger holds. */
struct ledger_counts {
	int64_t entries, closed_sessions, customers; /* customers with entries */
};
int db_ledger_counts(sqlite3 *db, struct ledger_counts *n);

/* -------------------------------------------------------------- session log */

/*
 * What was done for the money (`qh-console sessions`): sessions with their
 * technicians, their audit rows and their recordings.
 */

/* A session as listed. */
struct session_row {
	int64_t id;
	const char *customer, *agent, *code, *kind;
	int64_t ticket; /* 0: none */
	const char *opened_at, *closed_at, *close_reason;
	int64_t billable_seconds;
	int after_hours;
	const char *overdraft_by, *note;
	int64_t debited_units;	   /* units of its ledger entry; -1 while it has none */
	const char *internal_note; /* staff only (`end --internal`) */
};

/* Lists the sessions of customer (NULL: of all), by id. */
int db_session_list(sqlite3 *db, const char *customer,
    int (*row)(void *arg, const struct session_row *s), void *arg);

/* Lists the logins that ran commands in session, first come first. */
int db_session_technicians(sqlite3 *db, int64_t session,
    int (*row)(void *arg, const char *login), void *arg);

/* One audit row of a session. */
struct event_row {
	int64_t id;
	const char *kind, *login, *command, *started_at, *ended_at;
	const char *detail_json; /* the detail, minified, when it is a JSON object */
	const char *detail;	 /* the detail as stored */
};

/* Lists the audit rows of session, by id. */
int db_session_events(sqlite3 *db, int64_t session,
    int (*row)(void *arg, const struct event_row *e), void *arg);

/* One recording of a session, as its file and its asciicast header say. */
struct recording_info {
	char name[256];	 /* EVENT-KIND.cast, or a desktop's EVENT-desktop.fbs */
	char path[4400]; /* STATE/recordings/SESSION/NAME */
	long long event; /* the audit row it belongs to */
	long long size;	 /* bytes */
	char source[16]; /* relayed | reported | unknown */
	char kind[33];	 /* "" when the header does not say */
	char technician[65];
	char target[301];
};

/*
 * Lists the recordings under STATE/recordings/SESSION in the order they
 * were made (by audit row, then name); none when the directory is not
 * there (none made, or expired). At most 4096 are listed.
 */
int db_session_recordings(sqlite3 *db, const char *state, int64_t session,
    int (*row)(void *arg, const struct recording_info *k), void *arg);

/* Lists the ids of the sessions closed before the UTC seconds before. */
int db_sessions_closed_before(sqlite3 *db, int64_t before,
    int (*row)(void *arg, int64_t session), void *arg);

/* ------------------------------------------------------------------ billing */

/* R6: the price of one unit for a purchase of `units` (the tier of units / 4 hours). */
int64_t billing_tier_price(const struct console_conf *conf, int64_t units);

/*
 * R7: the units a customer may still use: the balance, less the units
 * running in their open sessions, plus their overdraft allowance.
 */
int64_t billing_available(const struct ledger_balance *b, int64_t running_units);

/* Cents as "1100.00" (no currency). */
void billing_money_text(int64_t cents, char *out, size_t len);

/* ------------------------------------------------------------------ revenue */

#define REVENUE_MAX_CURRENCIES 16

/* One currency's figures for a month (R14). */
struct revenue {
	char currency[8];
	int64_t debited; /* units of sessions and their corrections */
	int64_t recognised_cents, recognised_units;
	int64_t deferred_cents, deferred_units;
	int64_t purchased_units, purchased_cents; /* less purchases' corrections */
	int64_t inst_purchased, inst_purchased_cents, inst_used;
	int64_t inst_used_cents; /* at the prices of the purchases they came from */
};

/*
 * The figures of the month from start to end (UTC timestamp texts), one
 * row per currency, the configured currency first; *n is the number of
 * rows. Read-only. Returns 0, QH_ERR_LIMIT past REVENUE_MAX_CURRENCIES or
 * QH_ERR_DB.
 */
int revenue_month(sqlite3 *db, const char *start, const char *end, const char *currency,
    struct revenue rows[REVENUE_MAX_CURRENCIES], int *n);

/* -------------------------------------------------------------------- DATEV */

/*
 * One booking of the DATEV export (datev.c): a purchase (revenue 0: cash
 * received against deferred revenue, negative for a purchase's
 * correction) or revenue recognised (revenue 1: an allocation of a debit to
 * a lot, or an installation used; negative when a correction gives back).
 */
struct datev_booking {
	int revenue;
	int64_t entry, allocation; /* allocation 0: none */
	const char *posted_at;	   /* UTC text: the allocation's for revenue */
	const char *customer, *customer_name, *country, *vat_id; /* vat_id NULL: none */
	int64_t amount_cents;					 /* net, signed */
	const char *currency, *reference, *kind;		 /* kind: the entry's */
	int has_session;
	int64_t session;
	int64_t quantity; /* units, or installations */
	enum datev_tax tax;
};

/* The tax class of a customer in country (ISO 3166-1) with vat_id (NULL: none). */
enum datev_tax datev_tax_class(const char *country, const char *vat_id);

/*
 * The bookings of the span from..to (UTC texts, to exclusive), by time:
 * their purchases sum to revenue_month's purchased_cents and
 * inst_purchased_cents, their revenue to recognised_cents and
 * inst_used_cents. Stops at row's non-zero and returns it.
 */
int db_datev_bookings(sqlite3 *db, const char *from, const char *to, const char *currency,
    int (*row)(void *arg, const struct datev_booking *b), void *arg);

/* ----------------------------------------------------------------- calendar */

/*
 * Support hours and days in the business time zone (R9), holidays, dates
 * for ledger filters, and due times counted in business hours. All
 * conversions go through the zoneinfo database, so daylight saving time is
 * handled wherever it falls.
 */

/*
 * Makes tz (a zoneinfo name) the process's time zone, TZ. Call once at
 * start-up, before any thread exists (store_env_open and serve do): TZ is
 * process-wide and threads read it. The functions below only read it, and
 * refuse (QH_ERR_ARG, logged) a zone other than this one. Returns 0,
 * QH_ERR_ARG or QH_ERR_SYSTEM.
 */
int calendar_set_zone(const char *tz);

/* Converts UTC seconds to local broken-down time in zone tz. */
int calendar_local(const char *tz, int64_t t, struct tm *out);

/* UTC seconds of local midnight starting day y-m-d in zone tz. */
int calendar_midnight(const char *tz, int y, int m, int d, int64_t *out);

/* 1 if t lies outside the configured support hours, days and holidays (R9). */
int calendar_after_hours(const struct console_conf *conf, int64_t t);

/* Parses YYYY-MM-DD. */
int calendar_parse_date(const char *s, int *y, int *m, int *d);

/*
 * The instant `minutes` business minutes after t: only time inside support
 * hours on business days counts. Returns 0 and *out, or QH_ERR_ARG.
 */
int calendar_add_business(const struct console_conf *conf, int64_t t, int64_t minutes,
    int64_t *out);

/*
 * The business seconds between from and to: the time inside support hours
 * on business days, as calendar_add_business counts it. 0 when to is not
 * after from. Returns 0 and *out, or QH_ERR_ARG.
 */
int calendar_business_seconds(const struct console_conf *conf, int64_t from, int64_t to,
    int64_t *out);

/*
 * The UTC timestamp text of local midnight starting y-m-d in the business
 * time zone (d and m may run past the end: the next day or month).
 */
int calendar_midnight_text(const struct console_conf *conf, int y, int m, int d,
    char *out, size_t len);

/* ------------------------------------------------------------------ tickets */

#define TICKET_PREMIUM_MINUTES 240 /* premium: due in four business hours */

/*
 * Due time and deadline of a ticket created at t (UTC seconds) by a
 * customer on plan ("free" or "premium"): free tickets are due one business
 * day after creation (the length of the configured support hours) with a
 * deadline of two; premium ones are due four business hours after it and
 * have no deadline (*deadline is 0). Returns 0 or QH_ERR_ARG.
 */
int ticket_due(const struct console_conf *conf, const char *plan, int64_t t, int64_t *due,
    int64_t *deadline);

/*
 * The console's rules for a ticket's proposed appointments, at time now:
 * none may lie in the past; an installation needs at least one; any
 * ticket needs at least two when one lies outside business hours (R9
 * with holidays; the policy's "Support Zeit"). Returns 0, or
 * QH_ERR_REFUSED with the rule stated in why.
 */
int ticket_check_slots(const struct console_conf *conf, const struct qh_ticket *t,
    int64_t now, char *why, size_t whylen);

/*
 * The ticket filed with idempotency key (hex): 1 with its id, agent and due
 * times; 0 when there is none; <0 on a database error.
 */
int db_ticket_by_key(sqlite3 *db, const char *key, int64_t *id, char *agent,
    size_t agentlen, int64_t *due, int64_t *deadline);

/*
 * Files a verified ticket of customer's agent: the ticket, its attachments
 * and proposals in one transaction, due by the customer's plan. Returns 0
 * with *id, *due and *deadline; 1 when its key was filed meanwhile (that
 * ticket's figures are returned); <0 on failure (nothing written).
 */
int db_ticket_file(sqlite3 *db, const struct console_conf *conf, const char *customer,
    const char *agent_id, const struct qh_ticket *t, int64_t *id, int64_t *due,
    int64_t *deadline);

/*
 * A ticket's status (tickets.status): open (the vendor's turn: its due
 * clock runs), waiting (for the customer, after `ticket need`: the due
 * clock is paused), answered (the vendor replied: nothing is due until the
 * customer writes again), closed.
 */
#define TICKET_OPEN	"open"
#define TICKET_WAITING	"waiting"
#define TICKET_ANSWERED "answered"
#define TICKET_CLOSED	"closed"

/* A ticket as listed. */
struct ticket_row {
	int64_t id;
	const char *customer, *customer_name, *plan, *kind, *subject, *status;
	const char *created_at, *due_at, *deadline_at;
	int64_t attachments, proposals;
	int64_t confirmed_slot;	 /* 0: none */
	const char *assigned_to; /* a technician's login, or NULL */
	const char *paused_at;	 /* waiting: since when; else NULL */
	const char *updated_at;
	int64_t messages;
};

/*
 * Lists the tickets of customer (NULL: of all), only those not closed when
 * open_only, by due time.
 */
int db_ticket_list(sqlite3 *db, const char *customer, int open_only,
    int (*row)(void *arg, const struct ticket_row *t), void *arg);

/* A ticket as `ticket show` shows it. */
struct ticket_view {
	int64_t id;
	const char *customer, *customer_name, *plan, *agent;
	const char *host; /* the agent's, NULL when unknown */
	const char *kind, *subject, *steps, *environment, *status;
	const char *created_at, *due_at, *deadline_at;
	const char *closed_at, *closed_by, *close_note;
	const char *assigned_to, *assigned_name; /* NULL: nobody */
	const char *paused_at;			 /* waiting: since when */
	const char *updated_at;
};

/*
 * Calls show once with ticket id (its texts live until show returns) and
 * returns what show returned; QH_ERR_NOT_FOUND when there is no such ticket.
 */
int db_ticket_show(sqlite3 *db, int64_t id,
    int (*show)(void *arg, const struct ticket_view *t), void *arg);

/* One attachment of a ticket. */
struct attachment_row {
	int seq;
	const char *name;
	int64_t size;
	const char *sha256; /* hex */
	int64_t message;    /* the message it came with; 0: the ticket as filed */
};

/* Lists the attachments of ticket id, in the order sent (the ticket's, then its
 * messages'). */
int db_ticket_attachments(sqlite3 *db, int64_t id,
    int (*row)(void *arg, const struct attachment_row *a), void *arg);

/* One proposed appointment of a ticket. */
struct proposal_row {
	int slot;
	const char *local_time; /* 'YYYY-MM-DDTHH:MM' on the customer's PC */
	int utc_offset;		/* its minutes east of UTC */
	const char *starts_at;	/* UTC */
	int after_hours, confirmed;
	const char *confirmed_at, *confirmed_by;
};

/* Lists the proposals of ticket id, by slot. */
int db_ticket_proposals(sqlite3 *db, int64_t id,
    int (*row)(void *arg, const struct proposal_row *p), void *arg);

/* Lists the sessions linked to ticket id (attach --ticket), by id. */
int db_ticket_sessions(sqlite3 *db, int64_t id, int (*row)(void *arg, int64_t session),
    void *arg);

/*
 * The attachment of ticket id named name: 1 with its size and hex SHA-256
 * (65 bytes); 0 when the ticket has none of that name; QH_ERR_NOT_FOUND
 * when there is no such ticket.
 */
int db_ticket_attachment(sqlite3 *db, int64_t id, const char *name, uint64_t *size,
    char sha256[65]);

/* The appointment a confirmation chose. */
struct ticket_slot {
	char local_time[32];
	int utc_offset;
	char starts_at[32];
};

/*
 * Confirms proposal slot of open ticket id, now, by actor, in one
 * transaction; a ticket has one confirmed proposal, so confirming another
 * moves it. Returns 0 with the proposal in *out; QH_ERR_NOT_FOUND (no such
 * ticket), QH_ERR_CLOSED (the ticket is closed) or QH_ERR_ARG (the ticket
 * has only *nslots proposals) with nothing written.
 */
int db_ticket_confirm(sqlite3 *db, int64_t id, int slot, const char *actor,
    struct ticket_slot *out, int *nslots);

/*
 * Closes ticket id, now, by actor with note, in one transaction, whatever
 * its status. QH_ERR_NOT_FOUND when there is no such ticket, QH_ERR_CLOSED
 * when it is closed already.
 */
int db_ticket_close(sqlite3 *db, int64_t id, const char *actor, const char *note);

/*
 * The conversation (conversation.c): replies of both sides, the vendor's
 * requests for more information and the ticket's owner. Every change is one
 * transaction that also moves the ticket's status and due clock:
 * - a staff reply answers it (answered: nothing is due);
 * - a request for information (need) makes it wait for the customer and
 *   pauses its due clock, as PSA tools pause an SLA;
 * - the customer's reply makes it open again: after a request for
 *   information the due time (and a free plan's deadline) moves on by the
 *   business time the ticket waited, so the vendor keeps what was left of
 *   it; after an answer the ticket is due afresh, as if filed now.
 * The customer's mails about staff messages are queued in the same
 * transaction (see conversation.c's ticket_mail).
 */

#define TICKET_TEXT_MAX	       QH_TICKET_CHUNK /* bytes of one message's text */
#define TICKET_MESSAGES_MAX    200	       /* messages of one ticket */
#define TICKET_ATTACHMENTS_MAX 256	       /* attachments of one ticket, in all */

/* Who acts on a ticket. */
struct ticket_actor {
	int customer;		 /* 1: the customer's PC; 0: the vendor's staff */
	const char *login;	 /* staff: the technician (or the local user) */
	const char *customer_id; /* customer: whose PC; only their tickets are theirs */
	const char *agent_id;	 /* customer: the PC */
};

/* A message to add to a ticket. */
struct ticket_post {
	int64_t ticket;
	const char *kind; /* "reply" (either side) or "need" (staff) */
	const char *text; /* UTF-8, 1..TICKET_TEXT_MAX bytes */
	size_t len;
	/* Attachments whose content is in the store already (ticket_store_path). */
	const struct qh_ticket_file *files;
	int nfiles;
	const char *key; /* hex idempotency key; NULL: none */
};

/* A ticket's state after a change. */
struct ticket_state {
	int64_t id;
	char customer[65]; /* QH_ID_MAX + 1 */
	char status[16];
	char assigned_to[65];  /* "" when nobody */
	int64_t due, deadline; /* UTC seconds; deadline 0: none */
	int64_t paused;	       /* waiting: since when; else 0 */
};

/* What a post did. */
struct ticket_posted {
	int64_t message; /* its id */
	int seq;	 /* its number in the ticket: 1, 2, ... */
	int existed;	 /* its key was sent before: that message, nothing new */
	int nfiles;	 /* attachments stored with it */
	char names[QH_TICKET_FILES_MAX][QH_TICKET_NAME_MAX + 1]; /* as kept */
	struct ticket_state state;
};

/*
 * Adds p to its ticket, now, by who, in one transaction, moving the status
 * and due clock as above. Returns 0 with *out; QH_ERR_NOT_FOUND when there
 * is no such ticket (or, for a customer, none of theirs), QH_ERR_CLOSED
 * when it is closed, QH_ERR_PERM for a customer's need, QH_ERR_LIMIT past
 * TICKET_MESSAGES_MAX or TICKET_ATTACHMENTS_MAX, QH_ERR_EXISTS when p->key
 * belongs to another ticket or sender, QH_ERR_ARG for a text out of bounds;
 * nothing is written then. An attachment whose name the ticket has already
 * is kept as "NAME (2).EXT" (out->names).
 */
int db_ticket_post(sqlite3 *db, const struct console_conf *conf,
    const struct ticket_actor *who, const struct ticket_post *p,
    struct ticket_posted *out);

/*
 * Gives ticket id to technician login (a technician's login that is not
 * revoked), now, in one transaction. Returns 0 with *out; QH_ERR_NOT_FOUND
 * (no such ticket), QH_ERR_ARG (no such technician), QH_ERR_CLOSED.
 */
int
db_ticket_assign(sqlite3 *db, int64_t id, const char *login, struct ticket_state *out);

/* Reads ticket id's state; QH_ERR_NOT_FOUND when there is none. */
int db_ticket_state(sqlite3 *db, int64_t id, struct ticket_state *out);

/* One message of a ticket. */
struct message_row {
	int64_t id;
	int seq;
	const char *kind;	 /* reply | need */
	const char *side;	 /* customer | staff */
	const char *author;	 /* the login, or the PC's agent id */
	const char *author_name; /* the technician's name, or the PC's host; NULL */
	const char *text;
	const char *created_at;
};

/* Lists the messages of ticket id, in order. */
int db_ticket_messages(sqlite3 *db, int64_t id,
    int (*row)(void *arg, const struct message_row *m), void *arg);

/*
 * The ticket desk (desk.c; qh/desk.h): runs req for who and writes its one
 * JSON document into answer: a listing, a ticket, a change's result or a
 * customer's account. A customer may list and show their own tickets and
 * read their account; staff may do the rest. Returns 0, or <0 with the
 * sentence for people in why (QH_ERR_NOT_FOUND also for another
 * customer's ticket, QH_ERR_PERM for a request not theirs to make).
 * Changes run in their own transactions; the rest only reads.
 */
int desk_run(sqlite3 *db, const struct console_conf *conf, const struct ticket_actor *who,
    const struct qh_desk_req *req, struct qh_buf *answer, char *why, size_t len);

/*
 * The attachment of ticket id named name, if who may have it: 0 with its
 * size and hex SHA-256, or <0 with the sentence in why.
 */
int desk_attachment(sqlite3 *db, const struct ticket_actor *who, int64_t id,
    const char *name, uint64_t *size, char sha256[65], char *why, size_t len);

/* What a post did (a reply, a request for information) as the desk's result object. */
void
desk_posted_json(struct qh_json *j, const char *action, const struct ticket_posted *p);

/* The sentence for db_ticket_post's failure r on ticket id into why; returns r. */
int desk_post_fail(char *why, size_t len, int r, int64_t id);

/* Writes STATE/attachments/<h[0..1]>/<hex> for the hex SHA-256 hex into out. */
int ticket_store_path(const char *state_dir, const char *hex, char *out, size_t len);

/* Lower-case hex of 32 bytes into out (65 bytes). */
void ticket_hex(const uint8_t hash[32], char out[65]);

/* ------------------------------------------------------------------ outbox */

/*
 * Messages to customers and staff (outbox.c). Every message is a row
 * written in the transaction of the event that causes it (the debit, the
 * purchase, the ticket's change), named by that event, so it is never lost
 * and never queued twice; the daemon renders each row from its data and
 * delivers it, with retries, at least once. Each audience is a row of its
 * own: the customer (a mail to the addresses they have when the event
 * happens; none when they have none), staff (a mail to [mail] staff) and
 * the command ([billing] notify_command, R5 only).
 *
 * The outbox_* writers run inside the caller's BEGIN IMMEDIATE transaction;
 * the db_outbox_* functions are the daemon's and the `outbox` command's.
 */

#define OUTBOX_TO_CUSTOMER 0x1 /* a mail to the customer's addresses */
#define OUTBOX_TO_STAFF	   0x2 /* a mail to [mail] staff */
#define OUTBOX_TO_COMMAND  0x4 /* the document to [billing] notify_command */

#define OUTBOX_DATA_MAX (256 * 1024) /* bytes of one message's data */

/*
 * A message to queue. kind is one of balance_low, balance_zero, purchase,
 * session_report, ticket_received, ticket_answered, ticket_need_info,
 * ticket_closed, appointment, ticket_due_soon, ticket_overdue (the CHECK of
 * outbox.kind; the daemon renders each).
 */
struct outbox_new {
	const char *event;    /* unique name of the event, e.g. "ticket:7:reply:3" */
	const char *kind;     /* what the message says */
	const char *customer; /* whose event; NULL: none (staff only) */
	const char *data;     /* a JSON object: what the message is rendered from */
	unsigned to;	      /* OUTBOX_TO_* */
};

/*
 * Queues m inside the caller's transaction: one row per audience in m->to,
 * named m->event plus ":customer", ":staff" or ":command". The customer's
 * row takes their language and addresses now, and is left out when they
 * have none. An event queued before is left as it is (0). Returns 0 or a
 * database error (QH_ERR_TOO_LARGE for data past OUTBOX_DATA_MAX).
 */
int outbox_add(sqlite3 *db, const struct outbox_new *m);

/*
 * The messages of the events, each inside the caller's transaction, with
 * the figures read from the rows the transaction just wrote:
 * outbox_notification: an R5 crossing (balance_low or balance_zero) to the
 *   customer, staff and notify_command; ledger_append calls it for every
 *   notification it writes, so every debit path has it.
 * outbox_purchase: the receipt of purchase entry (units or installations,
 *   the price of one, the new balance) to the customer.
 * outbox_session_report: the report of closed session to the customer
 *   (technicians, start and end, billable time, units, the note, the
 *   balance after); none when its entry debited nothing.
 * outbox_ticket: kind (ticket_received, ticket_answered, ticket_need_info,
 *   ticket_closed and appointment to the customer; ticket_due_soon and
 *   ticket_overdue to staff) about ticket, with text (the reply, the
 *   question; NULL: none, and for ticket_closed the close note). ref tells
 *   apart events of one kind on one ticket (a reply's id, the how-manieth
 *   confirmation); 0 when there is one. An appointment carries the
 *   ticket's confirmed proposal.
 * Each returns 0 or a database error.
 */
int outbox_notification(sqlite3 *db, int64_t notification);
int outbox_purchase(sqlite3 *db, int64_t entry);
int outbox_session_report(sqlite3 *db, int64_t session);
int outbox_ticket(sqlite3 *db, int64_t ticket, const char *kind, int64_t ref,
    const char *text);

/*
 * Staff's warnings about open tickets at now: ticket_due_soon when the
 * ticket is due within two business hours (calendar_add_business), then
 * ticket_overdue once it is due, each once per ticket, in one transaction.
 * Tickets that are closed or wait for the customer are left alone.
 * *queued is how many tickets got a warning.
 */
#define TICKET_DUE_SOON_MINUTES 120
int db_ticket_due_alerts(sqlite3 *db, const struct console_conf *conf, int64_t now,
    int *queued);

/* A queued message as the daemon delivers it and `outbox` lists it. */
struct outbox_row {
	int64_t id;
	const char *event, *kind, *channel, *audience;
	const char *customer;	/* NULL: none */
	const char *lang;	/* NULL: staff's */
	const char *recipients; /* addresses, one per line; NULL for staff */
	const char *data;	/* JSON object */
	const char *token;	/* random hex for the Message-ID */
	const char *created_at, *status, *next_at, *last_attempt_at;
	int64_t attempts;
	const char *answer, *message_id, *sent_to, *sent_at; /* NULL: none yet */
};

/*
 * The next message of channel ("mail" or "command") due at now: queued,
 * next_at not after now, the earliest first. Calls take with it and
 * returns 1, or returns 0 when none is due; <0 on a database error.
 */
int db_outbox_next(sqlite3 *db, const char *channel, int64_t now,
    int (*take)(void *arg, const struct outbox_row *m), void *arg);

/* The UTC seconds at which the next queued message of channel is due; 0: none. */
int db_outbox_next_due(sqlite3 *db, const char *channel, int64_t *when);

/* How one delivery attempt of a message ended. */
struct outbox_attempt {
	const char *status;	/* sent, queued (try again), failed (given up), skipped */
	int counted;		/* it was an attempt (not a channel left unconfigured) */
	const char *answer;	/* the server's answer or the error; NULL: none */
	const char *message_id; /* NULL: keep the one recorded */
	const char *sent_to;	/* where it went; NULL: keep */
	int64_t next_at;	/* queued: when to try again (UTC seconds) */
};

/* Records attempt a of message id, now, in its own transaction. */
int db_outbox_attempt(sqlite3 *db, int64_t id, const struct outbox_attempt *a);

/*
 * Makes every queued message of channel due now: the server answered again
 * after an outage, or the console started. *woken is how many.
 */
int db_outbox_wake(sqlite3 *db, const char *channel, int *woken);

/*
 * Removes the messages sent (or skipped) before the UTC seconds before, in
 * its own transaction; *pruned is how many.
 */
#define OUTBOX_KEEP_DAYS 90
int db_outbox_prune(sqlite3 *db, int64_t before, int *pruned);

/*
 * Lists the messages, newest first; only those whose last attempt failed
 * (queued for another try, or given up) when failed_only.
 */
int db_outbox_list(sqlite3 *db, int failed_only,
    int (*row)(void *arg, const struct outbox_row *m), void *arg);

#endif
