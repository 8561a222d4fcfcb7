/*
 * The messages a page sends qh-console web on a WebSocket, the one thing
 * in console/web that reads bytes it did not make (lws parses HTTP and the
 * WebSocket framing). A message is one WebSocket message, binary: its
 * first byte says what it is.
 *
 *   0x00 DATA...            terminal input, passed on as it is
 *   0x01 ROWS:u16 COLS:u16  the terminal's size (big-endian), 1..1000 each
 *   0x02 NOTE...            end the session, NOTE (UTF-8, at most 4096
 *                           bytes) for the ledger and the customer
 *   0x03 SIZE:u64 MODE:u32 FLAGS:u8 PATH...
 *                           start an upload (/ws/push/CODE): SIZE bytes
 *                           follow as DATA messages (0x00); MODE at most
 *                           07777; FLAGS bit 0 overwrites; PATH on the
 *                           customer's PC, UTF-8, 1 to 4096 bytes
 *   0x04                    the workstation's facts (info), no payload
 *
 * Anything else, or a message of the wrong length, is refused and the
 * page's connection closed. tests/fuzz/fuzz_wsmsg.c covers web_msg_parse.
 */
#ifndef QH_WEB_WSMSG_H
#define QH_WEB_WSMSG_H

#include <stddef.h>
#include <stdint.h>

#define WEB_MSG_MAX  (16 * 1024) /* the largest message a page may send */
#define WEB_NOTE_MAX 4096	 /* QH_K_NOTE's bound on the wire */
#define WEB_SIZE_MAX 1000	 /* rows or columns */
#define WEB_PATH_MAX 4096	 /* an upload's destination */

enum web_msg_type {
	WEB_MSG_INPUT = 0,
	WEB_MSG_RESIZE = 1,
	WEB_MSG_END = 2,
	WEB_MSG_PUSH = 3,
	WEB_MSG_INFO = 4,
};

struct web_msg {
	enum web_msg_type type;
	/* INPUT: the bytes; END: the note; PUSH: the path (none terminated) */
	const uint8_t *data;
	size_t len;
	unsigned rows, cols; /* RESIZE */
	uint64_t size;	     /* PUSH */
	uint32_t mode;	     /* PUSH */
	uint8_t flags;	     /* PUSH */
};

/*
 * Reads the message of len bytes at p into m (pointing into p). Returns 0,
 * or QH_ERR_FORMAT (unknown type, bad length, a size out of range, a note
 * that is not UTF-8) or QH_ERR_TOO_LARGE (over WEB_MSG_MAX or the note's
 * bound).
 */
int web_msg_parse(const uint8_t *p, size_t len, struct web_msg *m);

#endif
