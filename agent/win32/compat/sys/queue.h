/*
 * The LIST macros of BSD's <sys/queue.h>, which glibc has and mingw-w64
 * does not, for the shared agent code built for Windows (the Makefile
 * puts agent/win32/compat on the Windows build's include path only).
 * Same names, same behaviour: a doubly linked list whose elements point
 * back at the pointer that points to them.
 */
#ifndef QH_COMPAT_SYS_QUEUE_H
#define QH_COMPAT_SYS_QUEUE_H

#define LIST_HEAD(name, type)                                                            \
	struct name {                                                                    \
		struct type *lh_first;                                                   \
	}

#define LIST_HEAD_INITIALIZER(head)                                                      \
	{                                                                                \
		NULL                                                                     \
	}

#define LIST_ENTRY(type)                                                                 \
	struct {                                                                         \
		struct type *le_next;                                                    \
		struct type **le_prev;                                                   \
	}

#define LIST_INIT(head)	      ((head)->lh_first = NULL)
#define LIST_EMPTY(head)      ((head)->lh_first == NULL)
#define LIST_FIRST(head)      ((head)->lh_first)
#define LIST_NEXT(elm, field) ((elm)->field.le_next)

#define LIST_FOREACH(var, head, field)                                                   \
	for ((var) = LIST_FIRST(head); (var) != NULL; (var) = LIST_NEXT(var, field))

#define LIST_INSERT_HEAD(head, elm, field)                                               \
	do {                                                                             \
		if (((elm)->field.le_next = (head)->lh_first) != NULL)                   \
			(head)->lh_first->field.le_prev = &(elm)->field.le_next;         \
		(head)->lh_first = (elm);                                                \
		(elm)->field.le_prev = &(head)->lh_first;                                \
	} while (0)

#define LIST_REMOVE(elm, field)                                                          \
	do {                                                                             \
		if ((elm)->field.le_next != NULL)                                        \
			(elm)->field.le_next->field.le_prev = (elm)->field.le_prev;      \
		*(elm)->field.le_prev = (elm)->field.le_next;                            \
	} while (0)

#endif
