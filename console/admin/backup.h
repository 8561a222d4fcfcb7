/*
 * What `backup` writes and `restore` reads (backup.c, restore.c): a tar
 * archive whose first entry is a short manifest, then the database copy
 * as STATE_DB, then the state directory's other files by their paths in it.
 */
#ifndef QH_ADMIN_BACKUP_H
#define QH_ADMIN_BACKUP_H

/* The first entry: a text whose first line is BACKUP_MAGIC. */
#define BACKUP_MANIFEST	    "quarterhour-backup"
#define BACKUP_MAGIC	    "quarterhour backup 1"
#define BACKUP_MANIFEST_MAX 4096

/* Nested directories a backup descends into, and a restore accepts. */
#define BACKUP_MAX_DEPTH 16

#endif
