/*
 * What an RFB update contains. The screen is cut into RFB_TILE tiles; a
 * tile is sent when the client's copy of it is unknown (stale), when the
 * client asked for it non-incrementally, or when it differs from what the
 * client was last sent (r->sent). Before that, a large change is checked
 * for a vertical move of the screen's contents (a terminal scrolling, a
 * page in a browser): rows of the new frame are hashed and matched against
 * rows of the client's copy, and the longest run that moved by the most
 * common distance goes out as one CopyRect, which costs 16 bytes instead
 * of the pixels. Dirty tiles are then sent as horizontal runs of at most
 * RFB_RECT_W pixels, clipped to what the client asked for.
 *
 * r->sent is updated as the plan is made, so it is always what the client
 * will have once the update is through.
 */
#include <stdlib.h>
#include <string.h>

#include "qh/err.h"
#include "rfb_int.h"

void
rfb_plan_free(struct rfb *r)
{
	free(r->sent);
	free(r->stale);
	free(r->maybe);
	free(r->dirty);
	free(r->hash_a);
	free(r->hash_b);
	free(r->table);
	free(r->votes);
	free(r->chain);
	free(r->rects);
	r->sent = NULL;
	r->stale = r->maybe = r->dirty = NULL;
	r->hash_a = r->hash_b = r->table = NULL;
	r->votes = NULL;
	r->chain = NULL;
	r->rects = NULL;
	r->w = r->h = r->tw = r->th = 0;
}

/* Entries in the row hash table: a power of two, at least twice the rows. */
static size_t
table_size(int h)
{
	size_t n = 64;

	while (n < 2 * (size_t)h)
		n *= 2;
	return n;
}

int
rfb_plan_resize(struct rfb *r, int w, int h)
{
	size_t tiles;

	rfb_plan_free(r);
	r->tw = (w + RFB_TILE - 1) / RFB_TILE;
	r->th = (h + RFB_TILE - 1) / RFB_TILE;
	tiles = (size_t)r->tw * r->th;
	r->rects_cap = (int)tiles + 8;
	r->sent = calloc((size_t)w * h, sizeof(uint32_t));
	r->stale = malloc(tiles);
	r->maybe = malloc(tiles);
	r->dirty = calloc(tiles, 1);
	r->hash_a = calloc((size_t)h, sizeof(uint32_t));
	r->hash_b = calloc((size_t)h, sizeof(uint32_t));
	r->table = calloc(table_size(h), sizeof(uint32_t));
	r->votes = calloc(2 * (size_t)h + 1, sizeof(int32_t));
	r->chain = calloc((size_t)h, sizeof(int));
	r->rects = calloc((size_t)r->rects_cap, sizeof(struct rfb_rect));
	if (r->sent == NULL || r->stale == NULL || r->maybe == NULL || r->dirty == NULL ||
	    r->hash_a == NULL || r->hash_b == NULL || r->table == NULL ||
	    r->votes == NULL || r->chain == NULL || r->rects == NULL) {
		rfb_plan_free(r);
		return QH_ERR_NOMEM;
	}
	memset(r->stale, 1, tiles);
	memset(r->maybe, 1, tiles);
	r->w = w;
	r->h = h;
	return 0;
}

void
rfb_plan_damage(struct rfb *r, const int (*d)[4], int nd)
{
	int i, tx0, ty0, tx1, ty1, ty;

	if (r->maybe == NULL)
		return;
	if (d == NULL) {
		memset(r->maybe, 1, (size_t)r->tw * r->th);
		return;
	}
	for (i = 0; i < nd; i++) {
		if (d[i][2] <= 0 || d[i][3] <= 0)
			continue;
		tx0 = d[i][0] < 0 ? 0 : d[i][0] / RFB_TILE;
		ty0 = d[i][1] < 0 ? 0 : d[i][1] / RFB_TILE;
		tx1 = (d[i][0] + d[i][2] + RFB_TILE - 1) / RFB_TILE;
		ty1 = (d[i][1] + d[i][3] + RFB_TILE - 1) / RFB_TILE;
		tx1 = tx1 > r->tw ? r->tw : tx1;
		ty1 = ty1 > r->th ? r->th : ty1;
		for (ty = ty0; ty < ty1; ty++)
			if (tx0 < tx1)
				memset(r->maybe + (size_t)ty * r->tw + tx0, 1,
				    (size_t)(tx1 - tx0));
	}
}

static const uint32_t *
fb_row(const struct rfb *r, int y)
{
	return r->fb.px + (size_t)y * r->fb.stride;
}

static uint32_t *
sent_row(const struct rfb *r, int y)
{
	return r->sent + (size_t)y * r->w;
}

/* The part of tile (tx, ty) inside box; 0 if none. */
static int
tile_box(int tx, int ty, const struct rfb_box *box, struct rfb_box *out)
{
	out->x0 = tx * RFB_TILE > box->x0 ? tx * RFB_TILE : box->x0;
	out->y0 = ty * RFB_TILE > box->y0 ? ty * RFB_TILE : box->y0;
	out->x1 = (tx + 1) * RFB_TILE < box->x1 ? (tx + 1) * RFB_TILE : box->x1;
	out->y1 = (ty + 1) * RFB_TILE < box->y1 ? (ty + 1) * RFB_TILE : box->y1;
	return out->x0 < out->x1 && out->y0 < out->y1;
}

/* 1 if the whole tile (as far as the screen goes) lies inside box. */
static int
tile_inside(const struct rfb *r, int tx, int ty, const struct rfb_box *box)
{
	int x1 = (tx + 1) * RFB_TILE < r->w ? (tx + 1) * RFB_TILE : r->w;
	int y1 = (ty + 1) * RFB_TILE < r->h ? (ty + 1) * RFB_TILE : r->h;

	return tx * RFB_TILE >= box->x0 && ty * RFB_TILE >= box->y0 && x1 <= box->x1 &&
	    y1 <= box->y1;
}

static int
differs(const struct rfb *r, const struct rfb_box *b)
{
	size_t n = (size_t)(b->x1 - b->x0) * 4;
	int y;

	for (y = b->y0; y < b->y1; y++)
		if (memcmp(fb_row(r, y) + b->x0, sent_row(r, y) + b->x0, n) != 0)
			return 1;
	return 0;
}

/* Marks the dirty tiles inside box; returns how many there are. */
static int
mark_dirty(struct rfb *r, const struct rfb_box *box, const struct rfb_box *full)
{
	struct rfb_box tb, fb;
	size_t i;
	int tx, ty, n = 0;

	for (ty = box->y0 / RFB_TILE; ty * RFB_TILE < box->y1; ty++) {
		for (tx = box->x0 / RFB_TILE; tx * RFB_TILE < box->x1; tx++) {
			i = (size_t)ty * r->tw + tx;
			r->dirty[i] = 0;
			if (!tile_box(tx, ty, box, &tb))
				continue;
			if (r->stale[i] || (r->maybe[i] && differs(r, &tb)) ||
			    tile_box(tx, ty, full, &fb))
				r->dirty[i] = 1;
			if (tile_inside(r, tx, ty, box))
				r->maybe[i] = 0;
			n += r->dirty[i];
		}
	}
	return n;
}

/* Rechecks the dirty tiles after a CopyRect changed r->sent. */
static void
recheck_dirty(struct rfb *r, const struct rfb_box *box, const struct rfb_box *full)
{
	struct rfb_box tb, fb;
	size_t i;
	int tx, ty;

	for (ty = box->y0 / RFB_TILE; ty * RFB_TILE < box->y1; ty++)
		for (tx = box->x0 / RFB_TILE; tx * RFB_TILE < box->x1; tx++) {
			i = (size_t)ty * r->tw + tx;
			if (r->dirty[i] && !r->stale[i] && tile_box(tx, ty, box, &tb) &&
			    !tile_box(tx, ty, full, &fb) && !differs(r, &tb))
				r->dirty[i] = 0;
		}
}

/* Hash of n pixels: four independent lanes, so the multiplies overlap. */
static uint32_t
row_hash(const uint32_t *p, int n)
{
	const uint64_t k = 0x9e3779b97f4a7c15ULL;
	uint64_t h0 = 0x243f6a8885a308d3ULL, h1 = 0x13198a2e03707344ULL;
	uint64_t h2 = 0xa4093822299f31d0ULL, h3 = 0x082efa98ec4e6c89ULL, w[4];
	int i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(w, p + i, sizeof(w));
		h0 = (h0 ^ w[0]) * k;
		h1 = (h1 ^ w[1]) * k;
		h2 = (h2 ^ w[2]) * k;
		h3 = (h3 ^ w[3]) * k;
	}
	for (; i < n; i++)
		h0 = (h0 ^ p[i]) * k;
	h0 ^= (h1 << 16 | h1 >> 48) ^ (h2 << 32 | h2 >> 32) ^ (h3 << 48 | h3 >> 16);
	h0 *= k;
	return (uint32_t)(h0 >> 32) | 1; /* never 0: 0 marks an empty table slot */
}

/*
 * The rows of the dirty tiles that differ, and the columns they differ in:
 * *area gets their bounding box. Returns the number of differing rows.
 */
static int
changed_rows(struct rfb *r, const struct rfb_box *box, struct rfb_box *area)
{
	const uint32_t *a, *b;
	int y, l, rr, tx, x0, x1, n = 0;

	*area = (struct rfb_box){ box->x1, box->y1, box->x0, box->y0 };
	for (y = box->y0; y < box->y1; y++) {
		/* Only the columns of this tile row's dirty tiles count. */
		x0 = box->x1;
		x1 = box->x0;
		for (tx = box->x0 / RFB_TILE; tx * RFB_TILE < box->x1; tx++)
			if (r->dirty[(size_t)(y / RFB_TILE) * r->tw + tx]) {
				x0 = x0 < tx * RFB_TILE ? x0 : tx * RFB_TILE;
				x1 = (tx + 1) * RFB_TILE;
			}
		x0 = x0 < box->x0 ? box->x0 : x0;
		x1 = x1 > box->x1 ? box->x1 : x1;
		if (x0 >= x1)
			continue;
		a = fb_row(r, y);
		b = sent_row(r, y);
		if (memcmp(a + x0, b + x0, (size_t)(x1 - x0) * 4) == 0)
			continue;
		for (l = x0; a[l] == b[l]; l++)
			;
		for (rr = x1 - 1; a[rr] == b[rr]; rr--)
			;
		area->x0 = l < area->x0 ? l : area->x0;
		area->x1 = rr + 1 > area->x1 ? rr + 1 : area->x1;
		area->y0 = y < area->y0 ? y : area->y0;
		area->y1 = y + 1;
		n++;
	}
	return n;
}

/* Most rows with one hash that a frame row votes for (flat areas repeat a lot). */
#define VOTE_CHAIN_MAX 8

/*
 * The slot of hash h in the table of r->sent's rows: it holds the last
 * such row + 1 (0 when none), and r->chain links each row to the previous
 * one with the same hash (-1 ends).
 */
static size_t
table_slot(const struct rfb *r, size_t mask, uint32_t h)
{
	size_t i;

	for (i = h & mask; r->table[i] != 0; i = (i + 1) & mask)
		if (r->hash_b[r->table[i] - 1] == h)
			break;
	return i;
}

/*
 * Hashes the rows of area in the frame and in sent, and returns the most
 * common distance dy such that frame row y equals sent row y + dy, with
 * its number of votes in *votes. A frame row that repeats the row above
 * does not vote, nor one whose hash more than VOTE_CHAIN_MAX sent rows
 * share; the others vote for every sent row with their hash.
 */
static int
vote_dy(struct rfb *r, const struct rfb_box *a, int *votes)
{
	int rows = a->y1 - a->y0, w = a->x1 - a->x0, y, i, n, dy, best = 0;
	size_t mask = table_size(rows) - 1, slot;

	memset(r->table, 0, (mask + 1) * sizeof(uint32_t));
	memset(r->votes, 0, (2 * (size_t)rows + 1) * sizeof(int32_t));
	for (y = a->y0; y < a->y1; y++) {
		r->hash_a[y] = row_hash(fb_row(r, y) + a->x0, w);
		r->hash_b[y] = row_hash(sent_row(r, y) + a->x0, w);
		slot = table_slot(r, mask, r->hash_b[y]);
		r->chain[y] = (int)r->table[slot] - 1;
		r->table[slot] = (uint32_t)y + 1;
	}
	*votes = 0;
	for (y = a->y0; y < a->y1; y++) {
		if (y > a->y0 && r->hash_a[y] == r->hash_a[y - 1])
			continue;
		slot = table_slot(r, mask, r->hash_a[y]);
		for (i = (int)r->table[slot] - 1, n = 0; i >= 0; i = r->chain[i])
			n++;
		if (n > VOTE_CHAIN_MAX)
			continue;
		for (i = (int)r->table[slot] - 1; i >= 0; i = r->chain[i]) {
			if ((dy = i - y) == 0)
				continue;
			if (++r->votes[dy + rows] > *votes) {
				*votes = r->votes[dy + rows];
				best = dy;
			}
		}
	}
	return best;
}

/* The longest run of frame rows in area equal to sent rows dy further down. */
static int
longest_run(const struct rfb *r, const struct rfb_box *a, int dy, int *start)
{
	size_t n = (size_t)(a->x1 - a->x0) * 4;
	int y, run = 0, best = 0;

	for (y = a->y0; y < a->y1; y++) {
		if (y + dy >= a->y0 && y + dy < a->y1 &&
		    r->hash_a[y] == r->hash_b[y + dy] &&
		    memcmp(fb_row(r, y) + a->x0, sent_row(r, y + dy) + a->x0, n) == 0) {
			if (++run > best) {
				best = run;
				*start = y - run + 1;
			}
		} else
			run = 0;
	}
	return best;
}

/* Moves rows of sent as the client will: dst rows y0..y0+h from y0+dy. */
static void
move_rows(struct rfb *r, int x, int w, int y0, int h, int dy)
{
	size_t n = (size_t)w * 4;
	int i;

	if (dy > 0)
		for (i = 0; i < h; i++)
			memcpy(sent_row(r, y0 + i) + x, sent_row(r, y0 + i + dy) + x, n);
	else
		for (i = h - 1; i >= 0; i--)
			memcpy(sent_row(r, y0 + i) + x, sent_row(r, y0 + i + dy) + x, n);
}

/*
 * Finds a vertical scroll among the dirty tiles of box and plans it as a
 * CopyRect; returns 1 if it did (r->sent then has the move applied).
 */
static int
plan_scroll(struct rfb *r, const struct rfb_box *box, int *n)
{
	struct rfb_box area;
	struct rfb_rect *rc;
	int votes, dy, len, start = 0;

	if (changed_rows(r, box, &area) < RFB_SCROLL_MIN)
		return 0;
	dy = vote_dy(r, &area, &votes);
	if (votes < RFB_SCROLL_MIN / 4 || dy == 0)
		return 0;
	if ((len = longest_run(r, &area, dy, &start)) < RFB_SCROLL_MIN)
		return 0;
	rc = &r->rects[(*n)++];
	*rc = (struct rfb_rect){ .kind = RK_COPY,
		.x = area.x0,
		.y = start,
		.w = area.x1 - area.x0,
		.h = len,
		.sx = area.x0,
		.sy = start + dy };
	move_rows(r, rc->x, rc->w, rc->y, rc->h, dy);
	r->stats.copyrects++;
	return 1;
}

static int
any_stale(const struct rfb *r)
{
	return memchr(r->stale, 1, (size_t)r->tw * r->th) != NULL;
}

/*
 * Shrinks rc to the rows and columns in which the frame differs from
 * sent; returns 0 when nothing differs at all.
 */
static int
trim(const struct rfb *r, struct rfb_rect *rc)
{
	const uint32_t *a, *b;
	int y, y0 = -1, y1 = -1, x0 = rc->x + rc->w, x1 = rc->x, l, rr;

	for (y = rc->y; y < rc->y + rc->h; y++) {
		a = fb_row(r, y);
		b = sent_row(r, y);
		if (memcmp(a + rc->x, b + rc->x, (size_t)rc->w * 4) == 0)
			continue;
		for (l = rc->x; a[l] == b[l]; l++)
			;
		for (rr = rc->x + rc->w - 1; a[rr] == b[rr]; rr--)
			;
		x0 = l < x0 ? l : x0;
		x1 = rr + 1 > x1 ? rr + 1 : x1;
		y0 = y0 < 0 ? y : y0;
		y1 = y + 1;
	}
	if (y0 < 0)
		return 0;
	*rc = (struct rfb_rect){ .kind = RK_PIXELS,
		.x = x0,
		.y = y0,
		.w = x1 - x0,
		.h = y1 - y0 };
	return 1;
}

/*
 * Plans the dirty tiles of box as horizontal runs and copies them into
 * sent. A run the client must get whole (stale, or asked for
 * non-incrementally) is sent as it is; any other is trimmed to the pixels
 * that changed.
 */
static void
plan_tiles(struct rfb *r, const struct rfb_box *box, const struct rfb_box *full, int *n)
{
	struct rfb_box tb, fbx;
	struct rfb_rect *rc;
	int tx, ty, run, y, whole;
	size_t i;

	for (ty = box->y0 / RFB_TILE; ty * RFB_TILE < box->y1; ty++) {
		for (tx = box->x0 / RFB_TILE;
		     tx * RFB_TILE<box->x1; tx += run> 0 ? run : 1) {
			i = (size_t)ty * r->tw;
			whole = 0;
			for (run = 0;
			     tx + run < r->tw && (tx + run) * RFB_TILE < box->x1 &&
			     run < RFB_RECT_W / RFB_TILE && r->dirty[i + tx + run];
			     run++) {
				whole |= r->stale[i + tx + run] ||
				    tile_box(tx + run, ty, full, &fbx);
				if (tile_inside(r, tx + run, ty, box))
					r->stale[i + tx + run] = 0;
			}
			if (run == 0 || !tile_box(tx, ty, box, &tb))
				continue;
			rc = &r->rects[*n];
			*rc = (struct rfb_rect){ .kind = RK_PIXELS,
				.x = tb.x0,
				.y = tb.y0,
				.w = ((tx + run) * RFB_TILE < box->x1
					     ? (tx + run) * RFB_TILE
					     : box->x1) -
				    tb.x0,
				.h = tb.y1 - tb.y0 };
			if (!whole && !trim(r, rc))
				continue;
			(*n)++;
			for (y = rc->y; y < rc->y + rc->h; y++)
				memcpy(sent_row(r, y) + rc->x, fb_row(r, y) + rc->x,
				    (size_t)rc->w * 4);
		}
	}
}

/* An update with only DesktopSize; the client's copy is unknown afterwards. */
static int
plan_resize_update(struct rfb *r)
{
	int e, w = r->fb.w, h = r->fb.h;

	if (!r->resize_enc)
		return rfb_fail(r, QH_ERR_REFUSED,
		    "the screen changed to %dx%d and the viewer cannot resize", w, h);
	if ((e = rfb_plan_resize(r, w, h)) != 0)
		return rfb_fail(r, e, "no memory for a %dx%d screen", w, h);
	r->rects[0] = (struct rfb_rect){ .kind = RK_DESKTOPSIZE, .w = w, .h = h };
	r->resize = 0; /* everything is stale: the next request gets it all */
	r->req = r->full = (struct rfb_box){ 0, 0, 0, 0 };
	return 1;
}

int
rfb_plan(struct rfb *r)
{
	struct rfb_box box = r->req, full = r->full;
	int n = 0;

	if (r->resize)
		return plan_resize_update(r);
	if (r->cur_dirty && r->cursor_enc)
		r->rects[n++] = (struct rfb_rect){ .kind = RK_CURSOR,
			.x = r->cur_hx,
			.y = r->cur_hy,
			.w = r->cur_w,
			.h = r->cur_h };
	if (r->ptr_dirty && r->pointer_enc)
		r->rects[n++] =
		    (struct rfb_rect){ .kind = RK_POINTER, .x = r->ptr_x, .y = r->ptr_y };
	r->cur_dirty = r->ptr_dirty = 0;
	if (box.x0 < box.x1 && box.y0 < box.y1) {
		/* A CopyRect may only read what the client is known to have. */
		if (mark_dirty(r, &box, &full) >= RFB_SCROLL_TILES && r->copyrect &&
		    !any_stale(r) && plan_scroll(r, &box, &n))
			recheck_dirty(r, &box, &full);
		plan_tiles(r, &box, &full, &n);
	}
	r->fb_new = 0;
	r->full = (struct rfb_box){ 0, 0, 0, 0 };
	return n;
}
