/*
 * The workstation facts on POSIX systems (agent_info_json in agent.h; the
 * members are listed in qh/envinfo.h): collected from uname, /etc,
 * /proc, statvfs and getifaddrs into one JSON object. The file systems
 * holding / and the user's home are always among the disks, also in a
 * chroot or container whose /proc/mounts lists neither. Thread-safe: the
 * info action runs it in a worker thread, because a hung network file
 * system can block statvfs.
 */
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <ifaddrs.h>
#include <limits.h>
#include <mntent.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/err.h"
#include "qh/json.h"
#include "agent.h"

#define FIELD_MAX  512	/* one value read from a file */
#define VALUE_MAX  1023 /* bytes of one string value in the JSON */
#define DISKS_MAX  64
#define IFACES_MAX 64
#define ADDRS_MAX  32

/* File systems that hold data even when not backed by a /dev node. */
static const char *const data_fs[] = { "ext2", "ext3", "ext4", "xfs", "btrfs", "zfs",
	"vfat", "exfat", "ntfs", "ntfs3", "fuseblk", "f2fs", "jfs", "reiserfs", "nfs",
	"nfs4", "cifs", "smb3", "9p", "virtiofs", NULL };

/* Read-only images mounted from a device (snaps, CDs): not disks. */
static const char *const image_fs[] = { "squashfs", "iso9660", "udf", NULL };

static int
in_list(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/*
 * Appends "key":"value", the value cut to VALUE_MAX bytes so that no one
 * setting (an environment variable, say) can crowd out the rest; NULL gives
 * null. The builder writes bytes that are not UTF-8 as U+FFFD.
 */
static void
kv_value(struct qh_json *j, const char *key, const char *value)
{
	qh_json_key(j, key);
	if (value == NULL)
		qh_json_null(j);
	else
		qh_json_strn(j, value, strnlen(value, VALUE_MAX));
}

static void
chomp(char *s)
{
	size_t len = strlen(s);

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
		s[--len] = '\0';
}

/* PRETTY_NAME of os-release, unquoted; "" when unknown. */
static void
os_name(char *out, size_t len)
{
	static const char *const files[] = { "/etc/os-release", "/usr/lib/os-release",
		NULL };
	char line[FIELD_MAX], *v;
	size_t vl;
	FILE *f;
	int i;

	out[0] = '\0';
	for (i = 0; files[i] != NULL && out[0] == '\0'; i++) {
		if ((f = fopen(files[i], "re")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, "PRETTY_NAME=", 12) != 0)
				continue;
			chomp(line);
			v = line + 12;
			vl = strlen(v);
			if (vl >= 2 && (v[0] == '"' || v[0] == '\'') &&
			    v[vl - 1] == v[0]) {
				v[vl - 1] = '\0';
				v++;
			}
			snprintf(out, len, "%s", v);
			break;
		}
		fclose(f);
	}
}

/* The value after "key<spaces>:" in the first matching line of file; "" if none. */
static void
proc_field(const char *file, const char *key, char *out, size_t len)
{
	char line[FIELD_MAX], *p;
	size_t kl = strlen(key);
	FILE *f;

	out[0] = '\0';
	if ((f = fopen(file, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, kl) != 0 ||
		    (line[kl] != ' ' && line[kl] != '\t' && line[kl] != ':'))
			continue;
		if ((p = strchr(line + kl, ':')) == NULL)
			continue;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		chomp(p);
		snprintf(out, len, "%s", p);
		break;
	}
	fclose(f);
}

/* A /proc/meminfo value in bytes ("MemTotal:  1234 kB"); -1 if missing. */
static long long
meminfo(const char *key)
{
	char v[FIELD_MAX];
	long long n;

	proc_field("/proc/meminfo", key, v, sizeof(v));
	if (v[0] == '\0' || sscanf(v, "%lld", &n) != 1 || n < 0)
		return -1;
	return strstr(v, "kB") != NULL ? n * 1024 : n;
}

static void
cpu_model(char *out, size_t len)
{
	static const char *const keys[] = { "model name", "Model", "Hardware",
		"cpu model", "Processor", "cpu", NULL };
	int i;

	out[0] = '\0';
	for (i = 0; keys[i] != NULL && out[0] == '\0'; i++)
		proc_field("/proc/cpuinfo", keys[i], out, len);
}

/* The time zone: /etc/timezone, else the zoneinfo name /etc/localtime links to. */
static void
time_zone(char *out, size_t len)
{
	char link[PATH_MAX], *p;
	ssize_t n;
	FILE *f;

	out[0] = '\0';
	if ((f = fopen("/etc/timezone", "re")) != NULL) {
		if (fgets(out, (int)len, f) == NULL)
			out[0] = '\0';
		fclose(f);
		chomp(out);
		if (out[0] != '\0')
			return;
	}
	if ((n = readlink("/etc/localtime", link, sizeof(link) - 1)) > 0) {
		link[n] = '\0';
		p = strstr(link, "zoneinfo/");
		snprintf(out, len, "%s", p != NULL ? p + 9 : link);
		return;
	}
	if ((p = getenv("TZ")) != NULL)
		snprintf(out, len, "%s", p);
}

/* File system types by statfs magic, for a mount /proc/mounts does not show. */
static const struct {
	unsigned long magic;
	const char *name;
} fs_magic[] = {
	{ 0xEF53, "ext4" }, /* ext2, ext3 and ext4 share it */
	{ 0x58465342, "xfs" },
	{ 0x9123683E, "btrfs" },
	{ 0x2FC12FC1, "zfs" },
	{ 0x01021994, "tmpfs" },
	{ 0x794C7630, "overlay" },
	{ 0x6969, "nfs" },
	{ 0xFF534D42, "cifs" },
	{ 0xFE534D42, "smb3" },
	{ 0x01021997, "9p" },
	{ 0x65735546, "fuse" },
	{ 0xF2F52010, "f2fs" },
	{ 0x4D44, "vfat" },
	{ 0x2011BAB0, "exfat" },
	{ 0x5346544E, "ntfs" },
	{ 0x3153464A, "jfs" },
	{ 0x52654973, "reiserfs" },
	{ 0x858458F6, "ramfs" },
};

/*
 * The mount point of the file system holding path, as seen from here
 * (a chroot shows only its own part): the highest directory above path
 * on the same device. Writes path itself when it cannot look further.
 */
static void
mount_point(const char *path, dev_t dev, char *out, size_t len)
{
	char up[PATH_MAX];
	struct stat st;
	char *slash;

	if (realpath(path, out) == NULL || strlen(out) >= len)
		snprintf(out, len, "%s", path);
	while (strcmp(out, "/") != 0 && (slash = strrchr(out, '/')) != NULL) {
		snprintf(up, sizeof(up), "%.*s", slash == out ? 1 : (int)(slash - out),
		    out);
		if (stat(up, &st) == -1 || st.st_dev != dev)
			break;
		snprintf(out, len, "%s", up);
	}
}

/*
 * The type of the file system mounted at dir: from /proc/mounts (the last
 * mount there wins, as it hides the ones under it), else from its statfs
 * magic, else "unknown".
 */
static void
fs_type(const char *dir, char *out, size_t len)
{
	struct mntent ent, *m;
	struct statfs sf;
	char strings[4096];
	size_t i;
	FILE *f;

	out[0] = '\0';
	if ((f = setmntent("/proc/mounts", "re")) != NULL) {
		while ((m = getmntent_r(f, &ent, strings, sizeof(strings))) != NULL)
			if (strcmp(m->mnt_dir, dir) == 0)
				snprintf(out, len, "%s", m->mnt_type);
		endmntent(f);
	}
	if (out[0] != '\0')
		return;
	snprintf(out, len, "unknown");
	if (statfs(dir, &sf) == -1)
		return;
	for (i = 0; i < sizeof(fs_magic) / sizeof(fs_magic[0]); i++)
		if ((unsigned long)sf.f_type == fs_magic[i].magic)
			snprintf(out, len, "%s", fs_magic[i].name);
}

static void
put_disk(struct qh_json *j, const char *mount, const char *type, const struct statvfs *sv)
{
	qh_json_begin_object(j);
	kv_value(j, "mount", mount);
	kv_value(j, "fs", type);
	qh_json_kv_int(j, "size_bytes", (int64_t)((uint64_t)sv->f_blocks * sv->f_frsize));
	qh_json_kv_int(j, "free_bytes", (int64_t)((uint64_t)sv->f_bavail * sv->f_frsize));
	qh_json_end_object(j);
}

/*
 * The file system holding path, whatever /proc/mounts says: chroots and
 * containers are normal places for an agent, and there / is often no
 * mount point of its own. Skipped when an earlier line has its device.
 */
static void
put_disk_of(struct qh_json *j, const char *path, dev_t *seen, int *nseen)
{
	char mount[PATH_MAX], type[64];
	struct statvfs sv;
	struct stat st;
	int i;

	if (path == NULL || path[0] != '/' || *nseen >= DISKS_MAX ||
	    stat(path, &st) == -1 || statvfs(path, &sv) == -1)
		return;
	for (i = 0; i < *nseen; i++)
		if (seen[i] == st.st_dev)
			return;
	seen[(*nseen)++] = st.st_dev;
	mount_point(path, st.st_dev, mount, sizeof(mount));
	fs_type(mount, type, sizeof(type));
	put_disk(j, mount, type, &sv);
}

/*
 * The disks: first the file systems holding / and the user's home
 * (always), then every other file system that holds data, one line each.
 */
static void
put_disks(struct qh_json *j, const char *home)
{
	struct mntent ent, *m;
	struct statvfs sv;
	struct stat st;
	dev_t seen[DISKS_MAX];
	char strings[4096];
	int nseen = 0, i, dup;
	FILE *f;

	qh_json_key(j, "disks");
	qh_json_begin_array(j);
	put_disk_of(j, "/", seen, &nseen);
	put_disk_of(j, home, seen, &nseen);
	if ((f = setmntent("/proc/mounts", "re")) == NULL) {
		qh_json_end_array(j);
		return;
	}
	while (qh_json_error(j) == 0 && nseen < DISKS_MAX &&
	    (m = getmntent_r(f, &ent, strings, sizeof(strings))) != NULL) {
		if (in_list(m->mnt_type, image_fs) ||
		    (strncmp(m->mnt_fsname, "/dev/", 5) != 0 &&
			!in_list(m->mnt_type, data_fs) &&
			!(strcmp(m->mnt_type, "overlay") == 0 &&
			    strcmp(m->mnt_dir, "/") == 0)))
			continue;
		if (stat(m->mnt_dir, &st) == -1 || statvfs(m->mnt_dir, &sv) == -1 ||
		    sv.f_blocks == 0)
			continue;
		/* One line per file system, not per bind mount of it. */
		for (i = 0, dup = 0; i < nseen; i++)
			dup |= seen[i] == st.st_dev;
		if (dup)
			continue;
		seen[nseen++] = st.st_dev;
		put_disk(j, m->mnt_dir, m->mnt_type, &sv);
	}
	endmntent(f);
	qh_json_end_array(j);
}

/* One interface with all its addresses, as "ADDR/PREFIX". */
static void
put_interface(struct qh_json *j, struct ifaddrs *all, const char *name)
{
	struct ifaddrs *ifa;
	char addr[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 16];
	const void *a, *mask;
	const uint8_t *mb;
	size_t mlen, i;
	int prefix, n = 0;

	qh_json_begin_object(j);
	kv_value(j, "name", name);
	qh_json_key(j, "addresses");
	qh_json_begin_array(j);
	for (ifa = all; ifa != NULL && n < ADDRS_MAX; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL || strcmp(ifa->ifa_name, name) != 0)
			continue;
		if (ifa->ifa_addr->sa_family == AF_INET) {
			a = &((struct sockaddr_in *)ifa->ifa_addr)->sin_addr;
			mask = ifa->ifa_netmask != NULL
			    ? &((struct sockaddr_in *)ifa->ifa_netmask)->sin_addr
			    : NULL;
			mlen = 4;
		} else if (ifa->ifa_addr->sa_family == AF_INET6) {
			a = &((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr;
			mask = ifa->ifa_netmask != NULL
			    ? &((struct sockaddr_in6 *)ifa->ifa_netmask)->sin6_addr
			    : NULL;
			mlen = 16;
		} else
			continue;
		if (inet_ntop(ifa->ifa_addr->sa_family, a, addr, sizeof(addr)) == NULL)
			continue;
		prefix = 0;
		for (i = 0, mb = mask; mb != NULL && i < mlen; i++)
			prefix += __builtin_popcount(mb[i]);
		if (mask != NULL)
			snprintf(text, sizeof(text), "%s/%d", addr, prefix);
		else
			snprintf(text, sizeof(text), "%s", addr);
		qh_json_str(j, text);
		n++;
	}
	qh_json_end_array(j);
	qh_json_end_object(j);
}

static void
put_interfaces(struct qh_json *j)
{
	struct ifaddrs *all = NULL, *ifa, *o;
	int n = 0, dup;

	qh_json_key(j, "interfaces");
	qh_json_begin_array(j);
	if (getifaddrs(&all) == -1) {
		qh_json_end_array(j);
		return;
	}
	for (ifa = all; ifa != NULL && n < IFACES_MAX && qh_json_error(j) == 0;
	     ifa = ifa->ifa_next) {
		/* Each name once, in the order the kernel lists them. */
		for (o = all, dup = 0; o != ifa; o = o->ifa_next)
			dup |= strcmp(o->ifa_name, ifa->ifa_name) == 0;
		if (dup)
			continue;
		put_interface(j, all, ifa->ifa_name);
		n++;
	}
	freeifaddrs(all);
	qh_json_end_array(j);
}

int
agent_info_json(struct qh_buf *b)
{
	struct utsname u;
	struct sysinfo si;
	struct passwd pwbuf, *pw = NULL;
	struct qh_json j;
	char pwstrings[4096];
	char os[FIELD_MAX], kernel[sizeof(u.release) + sizeof(u.version) + 2];
	char host[256], cpu[FIELD_MAX], tz[PATH_MAX];
	const char *user = NULL, *home = NULL, *locale;
	long cores;
	long long total, avail, uptime = -1;

	if (uname(&u) == -1)
		memset(&u, 0, sizeof(u));
	snprintf(kernel, sizeof(kernel), "%s %s", u.release, u.version);
	os_name(os, sizeof(os));
	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	/* The _r form: this runs in a worker thread while the loop may call getpwuid. */
	if (getpwuid_r(geteuid(), &pwbuf, pwstrings, sizeof(pwstrings), &pw) == 0 &&
	    pw != NULL) {
		user = pw->pw_name;
		home = pw->pw_dir;
	} else {
		user = getenv("USER");
		home = getenv("HOME");
	}
	cpu_model(cpu, sizeof(cpu));
	if (cpu[0] == '\0')
		snprintf(cpu, sizeof(cpu), "%s", u.machine);
	cores = sysconf(_SC_NPROCESSORS_ONLN);
	total = meminfo("MemTotal");
	avail = meminfo("MemAvailable");
	if (sysinfo(&si) == 0) {
		uptime = si.uptime;
		if (total < 0)
			total = (long long)si.totalram * si.mem_unit;
		if (avail < 0)
			avail = (long long)si.freeram * si.mem_unit;
	}
	if ((locale = getenv("LC_ALL")) == NULL || *locale == '\0')
		if ((locale = getenv("LANG")) == NULL || *locale == '\0')
			locale = "C";
	time_zone(tz, sizeof(tz));

	qh_json_init(&j, b);
	qh_json_begin_object(&j);
	kv_value(&j, "os", os[0] != '\0' ? os : u.sysname);
	kv_value(&j, "kernel", kernel);
	kv_value(&j, "arch", u.machine);
	kv_value(&j, "hostname", host);
	kv_value(&j, "user", user);
	kv_value(&j, "cpu_model", cpu);
	qh_json_kv_int(&j, "cpu_cores", cores > 0 ? cores : 1);
	qh_json_kv_int(&j, "memory_total_bytes", total);
	qh_json_kv_int(&j, "memory_available_bytes", avail);
	put_disks(&j, home);
	qh_json_kv_int(&j, "uptime_seconds", uptime);
	kv_value(&j, "locale", locale);
	kv_value(&j, "timezone", tz[0] != '\0' ? tz : NULL);
	put_interfaces(&j);
	qh_json_end_object(&j);
	return qh_json_finish(&j);
}
